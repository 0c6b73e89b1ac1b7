// Package engine starts and stops the local DynamoDB-compatible engines (dynalite from npm,
// moto_server where installed) on loopback, and prepares tables in them. It is local-only tooling,
// used by make run, make seed and the tests; the deployed function never imports it.
package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sms-platform/phone-numbers/local/pytools"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
)

// ErrMotoUnavailable is returned by StartMoto when moto_server is not installed; the error
// wrapping it says how to install it.
var ErrMotoUnavailable = errors.New("moto unavailable")

// NodeHint says which Node.js dynalite needs and how to get it.
const NodeHint = "Node.js 18 or newer with npm (Debian/Ubuntu: apt-get install nodejs npm; macOS: brew install node)"

// Engine is a DynamoDB-compatible server process listening on 127.0.0.1.
type Engine struct {
	// Name is "dynalite" or "moto".
	Name string
	// Endpoint is the engine's base URL, e.g. http://127.0.0.1:8000.
	Endpoint string
	cmd      *exec.Cmd
	exited   chan struct{}
	stopOnce sync.Once
}

// RepoRoot returns the directory holding go.mod, searching upwards from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// DynaliteScript returns the script that starts dynalite (local/dynalite.js), installing dynalite
// first (npm ci, from the committed lock file) when it is missing.
func DynaliteScript() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	if err := InstallNodeTools(root, "dynalite"); err != nil {
		return "", err
	}
	return filepath.Join(root, "local", "dynalite.js"), nil
}

// InstallNodeTools installs the npm packages of local/package-lock.json (npm ci) when any of the
// named packages is missing from local/node_modules.
func InstallNodeTools(root string, packages ...string) error {
	localDir := filepath.Join(root, "local")
	installed := func() bool {
		for _, p := range packages {
			if _, err := os.Stat(filepath.Join(localDir, "node_modules", p, "package.json")); err != nil {
				return false
			}
		}
		return true
	}
	if installed() {
		return nil
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return fmt.Errorf("npm is missing: %s is installed with npm; install %s", strings.Join(packages, ", "), NodeHint)
	}
	// `go test ./...` runs test binaries in parallel, and two concurrent `npm ci` runs in one
	// folder break each other: install under an exclusive lock, and only if nobody did meanwhile.
	lock, err := os.OpenFile(filepath.Join(localDir, ".install.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("install %s: %w", strings.Join(packages, ", "), err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("install %s: lock: %w", strings.Join(packages, ", "), err)
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	if installed() {
		return nil
	}
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = localDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("install %s with npm ci in %s: %w\n%s", strings.Join(packages, ", "), localDir, err, out)
	}
	return nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Names are the engines Start knows, the default first: what make run's ENGINE, make attempts'
// -engine and the tests' engine list (testenv.EnvEngines) may name.
var Names = []string{"dynalite", "moto"}

// Start starts the engine called name, one of Names, on 127.0.0.1:port (a free port when port
// is 0); see StartDynalite and StartMoto.
func Start(ctx context.Context, name string, port int) (*Engine, error) {
	switch name {
	case "dynalite":
		return StartDynalite(ctx, port)
	case "moto":
		return StartMoto(ctx, port)
	}
	return nil, fmt.Errorf("unknown engine %q: want one of %s", name, strings.Join(Names, ", "))
}

// StartDynalite starts an in-memory dynalite on 127.0.0.1:port (a free port when port is 0) with
// instant table creation, through local/dynalite.js, and waits until it answers.
func StartDynalite(ctx context.Context, port int) (*Engine, error) {
	script, err := DynaliteScript()
	if err != nil {
		return nil, err
	}
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("node is missing: dynalite runs on it; install %s", NodeHint)
	}
	cmd := exec.Command(node, script, "127.0.0.1", strconv.Itoa(port))
	return start(ctx, "dynalite", cmd, port)
}

// StartMoto starts moto (the moto_server from PATH, or else from the project's virtualenv
// local/.venv, run one request at a time by local/moto_server.py) on 127.0.0.1:port (a free port
// when port is 0) and waits until it answers. It returns an error
// wrapping ErrMotoUnavailable, with the install hint, when moto_server is not installed.
func StartMoto(ctx context.Context, port int) (*Engine, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	bin, err := pytools.Find(root, pytools.Moto)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMotoUnavailable, err)
	}
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	cmd, err := motoCommand(root, bin, port)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMotoUnavailable, err)
	}
	return start(ctx, "moto", cmd, port)
}

func start(ctx context.Context, name string, cmd *exec.Cmd, port int) (*Engine, error) {
	// Readiness is "something answers on the port", so a port someone else already serves would
	// look ready: refuse it up front with a clear message.
	probe, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("start %s: port %d on 127.0.0.1 is in use: %w", name, port, err)
	}
	probe.Close()
	// Its own process group, so that stopping it also stops anything it spawned (npm shims,
	// Python wrappers); and ended with its parent, so that a test binary that panics or times out,
	// or a make run killed with SIGKILL, leaves no engine behind.
	cmd, err = dieWithParent(cmd)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	e := &Engine{
		Name:     name,
		Endpoint: "http://127.0.0.1:" + strconv.Itoa(port),
		cmd:      cmd,
		exited:   make(chan struct{}),
	}
	go func() {
		_ = cmd.Wait()
		close(e.exited)
	}()
	if err := e.waitReady(ctx, 30*time.Second); err != nil {
		e.Stop()
		return nil, err
	}
	return e, nil
}

// waitReady polls the engine until it answers an HTTP request, it exits, or the timeout passes.
func (e *Engine) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.Endpoint, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			select {
			case <-e.exited:
				return fmt.Errorf("%s exited, and something else answers at %s", e.Name, e.Endpoint)
			default:
				return nil
			}
		}
		select {
		case <-e.exited:
			return fmt.Errorf("%s exited before it was ready (is the port %s free?)", e.Name, e.Endpoint)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s after %s: %w", e.Name, e.Endpoint, timeout, ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// Stop terminates the engine and waits for it to exit. It is safe to call more than once.
func (e *Engine) Stop() {
	e.stopOnce.Do(func() {
		pgid := -e.cmd.Process.Pid
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		select {
		case <-e.exited:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(pgid, syscall.SIGKILL)
			<-e.exited
		}
	})
}

// Pause stops the engine process without ending it (SIGSTOP): it keeps its port and accepts
// connections but never answers, like a stalled server. Resume undoes it.
func (e *Engine) Pause() error { return syscall.Kill(-e.cmd.Process.Pid, syscall.SIGSTOP) }

// Resume continues an engine stopped by Pause.
func (e *Engine) Resume() error { return syscall.Kill(-e.cmd.Process.Pid, syscall.SIGCONT) }

// Client returns a DynamoDB client for the engine.
func (e *Engine) Client(ctx context.Context) (*dynamodb.Client, error) {
	return NewClient(ctx, e.Endpoint)
}

// NewClient returns a DynamoDB client for a local engine at endpoint, with the store's retry and
// timeout policy and dummy static credentials (local engines accept any).
func NewClient(_ context.Context, endpoint string) (*dynamodb.Client, error) {
	return dynamostore.NewClient(func(o *dynamodb.Options) {
		o.Region = "us-east-1"
		o.Credentials = credentials.NewStaticCredentialsProvider("local", "local", "")
		o.BaseEndpoint = aws.String(endpoint)
	})
}

// The patient policy (see PatientPolicy): an attempt is abandoned only when something is really
// stuck, and a failed one is retried a few times at a short interval.
const (
	patientAttemptTimeout = 30 * time.Second
	patientDialTimeout    = 10 * time.Second
	patientMaxAttempts    = 5
	patientMaxBackoff     = 500 * time.Millisecond
)

// NewPatientClient returns a DynamoDB client for a local engine at endpoint with PatientPolicy:
// for creating tables and seeding (make run, make seed) and for tests (enginetest.NewClient).
func NewPatientClient(endpoint string) (*dynamodb.Client, error) {
	client, err := NewClient(context.Background(), endpoint)
	if err != nil {
		return nil, err
	}
	return dynamodb.New(client.Options(), PatientPolicy), nil
}

// PatientPolicy replaces a client's retry and timeout policy with one for a local engine on a
// busy machine: 30 s per attempt, 5 attempts, no retry quota (so that many parallel callers
// sharing a client never run out of retries). The store's own policy (2 s per attempt, 3
// attempts) is sized for DynamoDB, which answers in milliseconds; a local engine on a machine
// busy compiling, moto creating tables above all, can take seconds.
func PatientPolicy(o *dynamodb.Options) {
	o.HTTPClient = awshttp.NewBuildableClient().
		WithTimeout(patientAttemptTimeout).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = patientDialTimeout })
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = patientMaxAttempts
		so.MaxBackoff = patientMaxBackoff
		so.RateLimiter = ratelimit.None
	})
}

// CreateTables creates the store's tables in db, skipping those that already exist, and waits
// until each is active.
func CreateTables(ctx context.Context, db *dynamodb.Client, tables dynamostore.Tables) error {
	for _, in := range dynamostore.CreateTableInputs(tables) {
		_, err := db.CreateTable(ctx, in)
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			return fmt.Errorf("create table %s: %w", aws.ToString(in.TableName), err)
		}
		waiter := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) {
			o.MinDelay = 10 * time.Millisecond
			o.MaxDelay = 200 * time.Millisecond
		})
		if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName}, 30*time.Second); err != nil {
			return fmt.Errorf("wait for table %s: %w", aws.ToString(in.TableName), err)
		}
	}
	return nil
}

// CheckReachable fails fast, saying how to fix it, when nothing listens at endpoint: a client
// would otherwise spend its retries and end with the SDK's retry text, which hides the cause.
func CheckReachable(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return fmt.Errorf("DynamoDB endpoint %q is not a URL such as http://127.0.0.1:8000", endpoint)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		return fmt.Errorf("no DynamoDB answers at %s: start the local stack with `make run` in another terminal "+
			"(or set DYNAMODB_ENDPOINT to a running engine)", endpoint)
	}
	conn.Close()
	return nil
}
