// Command run is `make run`: it starts a local DynamoDB engine (dynalite, or moto with -engine
// moto) on loopback, creates the tables, loads the demo fixtures and serves the API on 127.0.0.1
// through the same handler the Lambda runs. It stops everything it started, and exits 0, on
// Ctrl-C, SIGTERM or SIGHUP (the terminal closing), when its parent (make) goes away, and on
// Linux when make alone gets SIGINT or SIGHUP.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/sms-platform/phone-numbers/local/apidocs"
	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/fixtures"
	"github.com/sms-platform/phone-numbers/local/localapi"
	"github.com/sms-platform/phone-numbers/local/localconfig"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
	"github.com/sms-platform/phone-numbers/pkg/wiring"
)

func main() {
	port := flag.Int("port", 3000, "port of the API on 127.0.0.1")
	dynamoPort := flag.Int("dynamodb-port", 8000, "port of the DynamoDB engine on 127.0.0.1")
	engineName := flag.String("engine", "dynalite", "the DynamoDB engine: dynalite or moto")
	fixturesPath := flag.String("fixtures", "local/fixtures/demo.json", "fixture file to load at start")
	flag.Parse()
	if !slices.Contains(engine.Names, *engineName) || flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "make run: ENGINE must be dynalite or moto, not %q\n", *engineName)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	release := takeTerminal()
	defer release()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go watchParent(ctx, cancel)
	if err := run(ctx, *port, *dynamoPort, *engineName, *fixturesPath); err != nil {
		fmt.Fprintln(os.Stderr, "make run:", err)
		release()
		os.Exit(1)
	}
}

// watchParent cancels ctx when this process's parent exits, so that a make killed with SIGKILL,
// or a terminal gone without a SIGHUP, does not leave the API server and the engine running. A
// process whose parent exits is adopted by another (init, launchd or a subreaper), so its parent
// pid changes: polling it works on Linux and macOS alike. It also cancels ctx when make is
// handling a SIGINT or SIGHUP sent to it alone (parentStopping), which make does not forward.
func watchParent(ctx context.Context, cancel context.CancelCauseFunc) {
	parent := os.Getppid()
	ticker := time.NewTicker(250 * time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if os.Getppid() != parent {
				cancel(errors.New("parent process exited"))
				return
			}
			if parentStopping(parent) {
				cancel(errors.New("make is stopping"))
				return
			}
		}
	}
}

func run(ctx context.Context, port, dynamoPort int, engineName, fixturesPath string) error {
	// Refuse a bad fixture file before starting anything.
	file, err := fixtures.Load(fixturesPath)
	if err != nil {
		return err
	}
	// Claim the API port first, so that a busy port fails fast and leaves nothing running.
	listener, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("listen on 127.0.0.1:%d (set PORT to use another): %w", port, err)
	}
	defer listener.Close()

	db, err := engine.Start(ctx, engineName, dynamoPort)
	if err != nil {
		return fmt.Errorf("start %s on 127.0.0.1:%d (set DYNAMODB_PORT to use another): %w", engineName, dynamoPort, err)
	}
	defer db.Stop()
	// Set-up is patient, since moto can take seconds to create a table on a busy machine; the
	// API serves with the store's own client, as deployed.
	setup, err := engine.NewPatientClient(db.Endpoint)
	if err != nil {
		return err
	}
	tables := localconfig.TablesFromEnv(os.Getenv)
	if err := engine.CreateTables(ctx, setup, tables); err != nil {
		return err
	}
	if err := fixtures.Seed(ctx, setup, tables, file); err != nil {
		return err
	}
	client, err := db.Client(ctx)
	if err != nil {
		return err
	}

	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	handler := wiring.NewHandler(client, tables, logger)
	root, err := engine.RepoRoot()
	if err != nil {
		return err
	}
	server := &http.Server{
		// The API, and beside it the OpenAPI document at /openapi.yaml and its reference at /docs.
		Handler:           apidocs.Handler(localapi.New(handler, localconfig.FunctionTimeout), root, filepath.Join(root, apidocs.PagePath)),
		ReadHeaderTimeout: 5 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()

	printBanner(os.Stdout, "http://"+listener.Addr().String(), db.Endpoint, db.Name, tables, fixturesPath, file)

	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintf(os.Stderr, "\nstopping: API server, %s\n", db.Name)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down API server: %w", err)
	}
	return nil
}

// printBanner tells the newcomer where everything is and gives a request that works as pasted.
func printBanner(w *os.File, apiURL, dynamoEndpoint, engineName string, tables dynamostore.Tables, fixturesPath string, file *fixtures.File) {
	fmt.Fprintf(w, "\nPATCH /v1/phone-numbers/{id} is being served locally.\n\n")
	fmt.Fprintf(w, "  API       %s\n", apiURL)
	fmt.Fprintf(w, "  DynamoDB  %s (%s, in memory; tables %s, %s, %s)\n",
		dynamoEndpoint, engineName, tables.APIKeys, tables.Campaigns, tables.PhoneNumbers)
	fmt.Fprintf(w, "  Data      %s\n", fixturesPath)
	fmt.Fprintf(w, "  Reference %s%s (OpenAPI: %s%s)\n\n", apiURL, apidocs.PageRoute, apiURL, apidocs.DocumentRoute)
	secret, number, ok := file.DemoRequest()
	if !ok {
		fmt.Fprintf(w, "The fixtures have no active numbers:write key with a number of its organization to show a request for.\n")
	} else {
		fmt.Fprintf(w, "Try it:\n\n")
		fmt.Fprintf(w, "curl -sS -X PATCH %s/v1/phone-numbers/%s \\\n", apiURL, number.ID)
		fmt.Fprintf(w, "  -H 'Authorization: Bearer %s' \\\n", secret)
		fmt.Fprintf(w, "  -H 'Content-Type: application/json' \\\n")
		fmt.Fprintf(w, "  -d '{\"inbound_url\": \"https://customer.example/v2/inbound\", \"label\": \"support-line\"}'\n\n")
	}
	fmt.Fprintf(w, "Press Ctrl-C to stop.\n\n")
}
