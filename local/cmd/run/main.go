// Command run is `make run`: it starts dynalite on loopback, creates the tables, loads the demo
// fixtures and serves the API on 127.0.0.1 through the same handler the Lambda runs, until Ctrl-C
// or SIGTERM, when it stops everything it started.
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
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/fixtures"
	"github.com/sms-platform/phone-numbers/local/localapi"
	"github.com/sms-platform/phone-numbers/local/localconfig"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
	"github.com/sms-platform/phone-numbers/pkg/wiring"
)

func main() {
	port := flag.Int("port", 3000, "port of the API on 127.0.0.1")
	dynamoPort := flag.Int("dynamodb-port", 8000, "port of dynalite on 127.0.0.1")
	fixturesPath := flag.String("fixtures", "local/fixtures/demo.json", "fixture file to load at start")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *port, *dynamoPort, *fixturesPath); err != nil {
		fmt.Fprintln(os.Stderr, "make run:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, port, dynamoPort int, fixturesPath string) error {
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

	db, err := engine.StartDynalite(ctx, dynamoPort)
	if err != nil {
		return fmt.Errorf("start dynalite on 127.0.0.1:%d (set DYNAMODB_PORT to use another): %w", dynamoPort, err)
	}
	defer db.Stop()
	client, err := db.Client(ctx)
	if err != nil {
		return err
	}
	tables := localconfig.TablesFromEnv(os.Getenv)
	if err := engine.CreateTables(ctx, client, tables); err != nil {
		return err
	}
	if err := fixtures.Seed(ctx, client, tables, file); err != nil {
		return err
	}

	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	handler := wiring.NewHandler(client, tables, logger)
	server := &http.Server{
		Handler:           localapi.New(handler.Handle, localconfig.FunctionTimeout),
		ReadHeaderTimeout: 5 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()

	printBanner(os.Stdout, "http://"+listener.Addr().String(), db.Endpoint, tables, fixturesPath, file)

	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintln(os.Stderr, "\nstopping: API server, dynalite")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down API server: %w", err)
	}
	return nil
}

// printBanner tells the newcomer where everything is and gives a request that works as pasted.
func printBanner(w *os.File, apiURL, dynamoEndpoint string, tables dynamostore.Tables, fixturesPath string, file *fixtures.File) {
	fmt.Fprintf(w, "\nPATCH /v1/phone-numbers/{id} is being served locally.\n\n")
	fmt.Fprintf(w, "  API       %s\n", apiURL)
	fmt.Fprintf(w, "  DynamoDB  %s (dynalite, in memory; tables %s, %s, %s)\n",
		dynamoEndpoint, tables.APIKeys, tables.Campaigns, tables.PhoneNumbers)
	fmt.Fprintf(w, "  Data      %s\n\n", fixturesPath)
	secret, numberID, ok := demoRequest(file)
	if !ok {
		fmt.Fprintf(w, "The fixtures have no active numbers:write key with a number of its organization to show a request for.\n")
	} else {
		fmt.Fprintf(w, "Try it:\n\n")
		fmt.Fprintf(w, "curl -sS -X PATCH %s/v1/phone-numbers/%s \\\n", apiURL, numberID)
		fmt.Fprintf(w, "  -H 'Authorization: Bearer %s' \\\n", secret)
		fmt.Fprintf(w, "  -H 'Content-Type: application/json' \\\n")
		fmt.Fprintf(w, "  -d '{\"inbound_url\": \"https://customer.example/v2/inbound\", \"label\": \"support-line\"}'\n\n")
	}
	fmt.Fprintf(w, "Press Ctrl-C to stop.\n\n")
}

// demoRequest picks an unrevoked key with the write scope and a number of the same organization.
func demoRequest(file *fixtures.File) (secret, numberID string, ok bool) {
	for _, key := range file.APIKeys {
		if key.RevokedAt != nil || !slices.Contains(key.Scopes, phonenumbers.ScopeNumbersWrite) {
			continue
		}
		for _, n := range file.PhoneNumbers {
			if n.OrgID == key.OrgID {
				return key.Secret, n.ID, true
			}
		}
	}
	return "", "", false
}
