// Command deploy-rehearsal is `make deploy-rehearsal`: it rehearses the cloud deployment of
// template.yaml with no AWS account, on moto_server, and prints every step (see package
// local/rehearsal): build as sam build does, upload, expand with the SAM translator, create the
// stack, serve a PATCH through the real bootstrap against the stack's own tables, update, delete,
// and adopt the retained tables. It exits 0 when the deployment and the code agree, 1 when they
// do not, and 2 when a tool it needs is missing.
//
//	go run ./local/cmd/deploy-rehearsal -rie local/bin/aws-lambda-rie
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/rehearsal"
)

func main() {
	rieBin := flag.String("rie", "local/bin/aws-lambda-rie", "the aws-lambda-rie executable")
	python := flag.String("python", "", "the Python interpreter that imports samtranslator (default: python3, else local/.venv's)")
	stack := flag.String("stack-name", rehearsal.DefaultStackName, "the stack's name (it names the tables)")
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	root, err := engine.RepoRoot()
	if err != nil {
		fail(2, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err = rehearsal.Run(ctx, rehearsal.Options{Root: root, Python: *python, RIE: *rieBin, StackName: *stack, Out: os.Stdout})
	switch {
	case errors.Is(err, engine.ErrMotoUnavailable), errors.Is(err, rehearsal.ErrTranslatorUnavailable):
		fail(2, err)
	case err != nil:
		fail(1, err)
	}
}

func fail(code int, err error) {
	fmt.Fprintln(os.Stderr, "make deploy-rehearsal:", err)
	os.Exit(code)
}
