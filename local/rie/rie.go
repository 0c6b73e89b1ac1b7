// Package rie runs a Lambda bootstrap under the AWS Lambda Runtime Interface Emulator
// (aws-lambda-rie), the emulator `sam local invoke` runs inside its container, and invokes it with
// event JSON. It is local-only tooling, shared by make invoke, the emulator tests and benchmarks;
// the deployed function never imports it.
package rie

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/localconfig"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
)

// InvocationsPath is the emulator's endpoint for invoking the function, the Lambda Invoke API's
// path for the one function the emulator serves.
const InvocationsPath = "/2015-03-31/functions/function/invocations"

// DefaultStartTimeout bounds the wait for the emulator to listen when Options.StartTimeout is zero.
const DefaultStartTimeout = 10 * time.Second

// stopGrace is how long Stop waits after SIGTERM before it kills.
const stopGrace = 3 * time.Second

// Options configures Start.
type Options struct {
	// RIE is the path of the aws-lambda-rie executable.
	RIE string
	// Bootstrap is the path of the function's bootstrap, built for this machine.
	Bootstrap string
	// Env is the whole environment of the emulator, which passes it on to the bootstrap (see
	// FunctionEnv). Nothing of the caller's environment is inherited, so the developer's own AWS
	// credentials, profile or region can never reach the function.
	Env map[string]string
	// Output receives the emulator's output: its own log lines, the START/END/REPORT lines and
	// the function's log lines. Nil discards it. The copy into Output runs behind the invokes:
	// a line the function logged may arrive after Invoke returns, so read Output after Stop.
	Output io.Writer
	// LogLevel is the emulator's own log level (debug, info, warn, error); empty means info.
	// Without it the emulator would take the function's LOG_LEVEL.
	LogLevel string
	// StartTimeout bounds the wait for the emulator to listen; zero means DefaultStartTimeout.
	StartTimeout time.Duration
}

// Emulator is a running aws-lambda-rie serving one bootstrap on 127.0.0.1. Its methods are safe
// for concurrent use; invokes are serialized, because the emulator panics on concurrent ones.
type Emulator struct {
	// Endpoint is the emulator's base URL, e.g. http://127.0.0.1:41234.
	Endpoint string

	cmd       *exec.Cmd
	bootstrap string
	exited    chan struct{}
	invokeMu  sync.Mutex
	client    *http.Client
	stopOnce  sync.Once
}

// FunctionEnv returns the environment the deployed function has (template.yaml and the Lambda
// service's own variables) for running it locally against the DynamoDB-compatible engine at
// endpoint, with the given tables, dummy static credentials and the deployed timeout and memory.
// Callers may change entries (LOG_LEVEL, say) before passing it to Start.
func FunctionEnv(endpoint string, tables dynamostore.Tables) map[string]string {
	const functionName = "phone-numbers-update-phone-number"
	return map[string]string{
		// Set by template.yaml.
		dynamostore.EnvAPIKeysTable:      tables.APIKeys,
		dynamostore.EnvCampaignsTable:    tables.Campaigns,
		dynamostore.EnvPhoneNumbersTable: tables.PhoneNumbers,
		"LOG_LEVEL":                      "INFO",
		// Set by the Lambda service.
		"AWS_REGION":                      "us-east-1",
		"AWS_DEFAULT_REGION":              "us-east-1",
		"AWS_ACCESS_KEY_ID":               "local",
		"AWS_SECRET_ACCESS_KEY":           "local",
		"AWS_SESSION_TOKEN":               "local",
		"AWS_LAMBDA_FUNCTION_NAME":        functionName,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", // template.yaml, Globals.Function.MemorySize
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + functionName,
		"AWS_LAMBDA_LOG_STREAM_NAME":      "local",
		"AWS_LAMBDA_LOG_FORMAT":           "JSON",
		"AWS_LAMBDA_LOG_LEVEL":            "INFO",
		"_HANDLER":                        "bootstrap",
		"TZ":                              ":UTC",
		// Read by the emulator: the deadline it gives each invocation.
		"AWS_LAMBDA_FUNCTION_TIMEOUT": strconv.Itoa(int(localconfig.FunctionTimeout / time.Second)),
		// Local only: the standard SDK variable pointing the DynamoDB client at the engine.
		"AWS_ENDPOINT_URL_DYNAMODB": endpoint,
	}
}

// Start starts the emulator on two free loopback ports (its invoke API and the Runtime API the
// bootstrap polls) and waits until it listens. The emulator starts the bootstrap itself, on the
// first invoke, as Lambda does. Stop it with Stop.
func Start(ctx context.Context, opts Options) (*Emulator, error) {
	for _, f := range []struct{ what, path string }{{"aws-lambda-rie", opts.RIE}, {"bootstrap", opts.Bootstrap}} {
		if f.path == "" {
			return nil, fmt.Errorf("start emulator: no %s path given", f.what)
		}
		if info, err := os.Stat(f.path); err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
			return nil, fmt.Errorf("start emulator: %s %s is not an executable file", f.what, f.path)
		}
	}
	// Absolute, because the emulator runs in the bootstrap's directory (Lambda's /var/task).
	rieBin, err := filepath.Abs(opts.RIE)
	if err != nil {
		return nil, fmt.Errorf("start emulator: %w", err)
	}
	bootstrap, err := filepath.Abs(opts.Bootstrap)
	if err != nil {
		return nil, fmt.Errorf("start emulator: %w", err)
	}
	invokePort, apiPort, err := twoFreePorts()
	if err != nil {
		return nil, fmt.Errorf("start emulator: %w", err)
	}
	invokeAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(invokePort))
	// The emulator has no --help and defaults to 0.0.0.0:8080 and a fixed Runtime API port, so
	// both addresses are always given explicitly, on loopback.
	logLevel := opts.LogLevel
	if logLevel == "" {
		logLevel = "info"
	}
	cmd := exec.Command(rieBin,
		"--log-level", logLevel,
		"--runtime-interface-emulator-address", invokeAddr,
		"--runtime-api-address", net.JoinHostPort("127.0.0.1", strconv.Itoa(apiPort)),
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = envList(opts.Env)
	// Its own process group, so that Stop reaches everything it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if opts.Output != nil {
		cmd.Stdout = opts.Output
		cmd.Stderr = opts.Output
		// Wait returns once the output is copied, which needs every writer of the pipe gone;
		// a bootstrap outliving the emulator must not hold Stop forever.
		cmd.WaitDelay = stopGrace
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start emulator %s: %w", rieBin, err)
	}
	e := &Emulator{
		Endpoint:  "http://" + invokeAddr,
		cmd:       cmd,
		bootstrap: bootstrap,
		exited:    make(chan struct{}),
		// No client timeout: each invoke is bounded by its context, and the emulator itself ends
		// an invocation at the function timeout.
		client: &http.Client{},
	}
	go func() {
		_ = cmd.Wait()
		close(e.exited)
	}()
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = DefaultStartTimeout
	}
	if err := e.waitListening(ctx, invokeAddr, timeout); err != nil {
		e.Stop()
		return nil, err
	}
	return e, nil
}

// twoFreePorts returns two distinct ports that were free a moment ago.
func twoFreePorts() (int, int, error) {
	a, err := engine.FreePort()
	if err != nil {
		return 0, 0, err
	}
	for range 10 {
		b, err := engine.FreePort()
		if err != nil {
			return 0, 0, err
		}
		if b != a {
			return a, b, nil
		}
	}
	return 0, 0, errors.New("find two distinct free ports")
}

func envList(env map[string]string) []string {
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	return list
}

// waitListening polls addr until it accepts a connection, the emulator exits, or timeout passes.
func (e *Emulator) waitListening(ctx context.Context, addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var dialer net.Dialer
	for {
		if conn, err := dialer.DialContext(ctx, "tcp", addr); err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-e.exited:
			return fmt.Errorf("emulator exited before listening on %s (%s)", addr, e.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("emulator not listening on %s after %s: %w", addr, timeout, ctx.Err())
		// Fine-grained, because make bench times cold starts from here.
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// Invoke sends event to the function and returns the function's response payload: for an HTTP
// API handler, the JSON of an APIGatewayV2HTTPResponse. It fails when the invocation itself
// fails: the emulator is gone, the function returned an error, crashed or timed out. Invokes are
// serialized.
func (e *Emulator) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	e.invokeMu.Lock()
	defer e.invokeMu.Unlock()
	select {
	case <-e.exited:
		return nil, errors.New("invoke: the emulator is not running")
	default:
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.Endpoint+InvocationsPath, bytes.NewReader(event))
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	payload, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("invoke: read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return payload, fmt.Errorf("invoke: emulator answered %s: %s", resp.Status, strings.TrimSpace(string(payload)))
	}
	if resp.Header.Get("X-Amz-Function-Error") != "" || isFunctionError(payload) {
		return payload, fmt.Errorf("invoke: the function failed: %s", strings.TrimSpace(string(payload)))
	}
	return payload, nil
}

// isFunctionError reports whether payload is the runtime's error document ({"errorMessage":
// ..., "errorType": ...}), which the emulator returns with status 200 when the handler returns an
// error, panics or cannot decode the event. An APIGatewayV2HTTPResponse has neither member.
func isFunctionError(payload []byte) bool {
	var doc struct {
		ErrorMessage *string `json:"errorMessage"`
		ErrorType    *string `json:"errorType"`
		StatusCode   *int    `json:"statusCode"`
	}
	if err := json.Unmarshal(payload, &doc); err != nil {
		return false
	}
	return doc.ErrorType != nil && doc.ErrorMessage != nil && doc.StatusCode == nil
}

// Stop stops the emulator and the bootstrap it started, and waits for the emulator to exit and
// its output to be copied into Options.Output, so that Output is complete when Stop returns. It
// is safe to call more than once.
func (e *Emulator) Stop() {
	e.stopOnce.Do(func() {
		// The emulator starts the bootstrap in a process group of its own and kills it when it
		// gets SIGTERM; in case it does not, the bootstrap is found before the emulator goes and
		// killed if it outlives it.
		children := childPIDs(e.cmd.Process.Pid)
		pgid := -e.cmd.Process.Pid
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		select {
		case <-e.exited:
		case <-time.After(stopGrace):
			_ = syscall.Kill(pgid, syscall.SIGKILL)
			<-e.exited
		}
		for _, pid := range children {
			// Only a process still running our bootstrap: the pid may have been reused.
			if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && exe == e.bootstrap {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
}

// childPIDs returns the children of process pid, from /proc (Linux, where the emulator runs).
func childPIDs(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var pids []int
	for _, f := range tasks {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, field := range strings.Fields(string(data)) {
			if child, err := strconv.Atoi(field); err == nil {
				pids = append(pids, child)
			}
		}
	}
	return pids
}
