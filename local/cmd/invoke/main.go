// Command invoke is `make invoke`: it runs the function's bootstrap under the Lambda Runtime
// Interface Emulator (what `sam local invoke` runs in its container) with the environment the
// deployed function has, pointed at a local DynamoDB, sends it one event and prints the Lambda's
// response JSON on stdout; the emulator's and the function's log lines go to stderr.
//
//	go run ./local/cmd/invoke -bootstrap bin/local/bootstrap -rie local/bin/aws-lambda-rie \
//	    -endpoint http://127.0.0.1:8000 -event events/update-success.json
//
// It exits 0 whatever status the response carries, and non-zero only when the invocation itself
// failed.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/localconfig"
	"github.com/sms-platform/phone-numbers/local/rie"
)

// Exit codes: 2 for what the caller must fix (usage, missing files), 1 for a failed invocation.
const (
	exitFailure = 1
	exitUsage   = 2
)

// invokeTimeout bounds one invocation: the function's own timeout, plus its cold start.
const invokeTimeout = localconfig.FunctionTimeout + 10*time.Second

func main() {
	bootstrap := flag.String("bootstrap", "bin/local/bootstrap", "the function's bootstrap, built for this machine")
	rieBin := flag.String("rie", "local/bin/aws-lambda-rie", "the aws-lambda-rie executable")
	endpoint := flag.String("endpoint", "http://127.0.0.1:8000", "DynamoDB endpoint the function uses (make run's dynalite)")
	eventPath := flag.String("event", "", "HTTP API v2 event JSON file, e.g. events/update-success.json (required)")
	logLevel := flag.String("log-level", "INFO", "the function's LOG_LEVEL")
	flag.Parse()
	if *eventPath == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "invoke: -event is required, and nothing else")
		flag.Usage()
		os.Exit(exitUsage)
	}
	event, err := os.ReadFile(*eventPath)
	if err != nil {
		fail(exitUsage, err)
	}
	if !json.Valid(event) {
		fail(exitUsage, fmt.Errorf("%s is not valid JSON", *eventPath))
	}
	if err := engine.CheckReachable(*endpoint); err != nil {
		fail(exitFailure, err)
	}

	// Same table names as make run and make seed, including their environment overrides.
	env := rie.FunctionEnv(*endpoint, localconfig.TablesFromEnv(os.Getenv))
	env["LOG_LEVEL"] = *logLevel

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	response, err := invoke(ctx, rie.Options{RIE: *rieBin, Bootstrap: *bootstrap, Env: env, Output: os.Stderr}, event)
	if err != nil {
		fail(exitFailure, err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, response, "", "  "); err != nil {
		pretty.Reset()
		pretty.Write(response)
	}
	pretty.WriteByte('\n')
	_, _ = os.Stdout.Write(pretty.Bytes())
}

func invoke(ctx context.Context, opts rie.Options, event []byte) ([]byte, error) {
	emulator, err := rie.Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer emulator.Stop()
	ctx, cancel := context.WithTimeout(ctx, invokeTimeout)
	defer cancel()
	return emulator.Invoke(ctx, event)
}

func fail(code int, err error) {
	fmt.Fprintln(os.Stderr, "make invoke:", err)
	os.Exit(code)
}
