// Command seed is `make seed`: it loads a fixture file into a DynamoDB-compatible engine, creating
// the tables if missing. The file is validated before anything else happens, so a malformed one
// touches nothing; seeding the same file again changes nothing.
//
//	go run ./local/cmd/seed -endpoint http://127.0.0.1:8000 -fixtures local/fixtures/demo.json
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/fixtures"
	"github.com/sms-platform/phone-numbers/local/localconfig"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
)

// Exit codes: 2 for what the caller must fix (usage, the fixture file), 1 for the engine.
const (
	exitFailure = 1
	exitInvalid = 2
)

func main() { os.Exit(run()) }

func run() int {
	tables := localconfig.TablesFromEnv(os.Getenv)
	endpoint := flag.String("endpoint", "", "DynamoDB endpoint, e.g. http://127.0.0.1:8000 (required)")
	path := flag.String("fixtures", "", "fixture file to load (required)")
	flag.StringVar(&tables.APIKeys, "api-keys-table", tables.APIKeys, "API keys table; $"+dynamostore.EnvAPIKeysTable+", when set, replaces the default")
	flag.StringVar(&tables.Campaigns, "campaigns-table", tables.Campaigns, "campaigns table; $"+dynamostore.EnvCampaignsTable+", when set, replaces the default")
	flag.StringVar(&tables.PhoneNumbers, "phone-numbers-table", tables.PhoneNumbers, "phone numbers table; $"+dynamostore.EnvPhoneNumbersTable+", when set, replaces the default")
	flag.Parse()
	if *endpoint == "" || *path == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "seed: -endpoint and -fixtures are required, and nothing else")
		flag.Usage()
		return exitInvalid
	}

	file, err := fixtures.Load(*path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		return exitInvalid
	}

	if err := engine.CheckReachable(*endpoint); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		return exitFailure
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := seed(ctx, *endpoint, tables, file); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		return exitFailure
	}
	fmt.Printf("seeded %d api keys, %d campaigns, %d phone numbers into %s\n",
		len(file.APIKeys), len(file.Campaigns), len(file.PhoneNumbers), *endpoint)
	return 0
}

func seed(ctx context.Context, endpoint string, tables dynamostore.Tables, file *fixtures.File) error {
	client, err := engine.NewPatientClient(endpoint)
	if err != nil {
		return err
	}
	if err := engine.CreateTables(ctx, client, tables); err != nil {
		return err
	}
	return fixtures.Seed(ctx, client, tables, file)
}
