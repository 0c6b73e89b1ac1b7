// Package enginetest is the one way tests in this repository get local DynamoDB-compatible engines
// and tables: one dynalite (and one moto, where installed) per test binary, fresh uniquely named
// tables per test, seeding helpers, and an HTTP server running the real handler. Only tests import
// it.
package enginetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sms-platform/phone-numbers/local/apidocs"
	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/localapi"
	"github.com/sms-platform/phone-numbers/local/localconfig"
	"github.com/sms-platform/phone-numbers/local/openapitest"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
	"github.com/sms-platform/phone-numbers/pkg/wiring"
)

// startTimeout bounds starting the shared engines; moto takes a second or two.
const startTimeout = 60 * time.Second

// setupAttemptTimeout bounds one attempt of a set-up or inspection call (Env.setup).
const setupAttemptTimeout = 30 * time.Second

// shared holds the engines Main started for this test binary and one client for each.
var shared struct {
	engines []*engine.Engine
	clients map[*engine.Engine]*dynamodb.Client
}

// Main runs the package's tests against the shared engines: it starts one dynalite, and one moto
// when moto_server is on PATH, runs m and stops the engines. Under CI=true a missing moto_server
// fails the run, so that CI never silently tests one engine only. Call it from TestMain.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()

	dynalite, err := engine.StartDynalite(ctx, 0)
	if err != nil {
		fmt.Fprintf(os.Stderr, "enginetest: start dynalite: %v\n", err)
		return 1
	}
	defer dynalite.Stop()
	engines := []*engine.Engine{dynalite}

	moto, err := engine.StartMoto(ctx, 0)
	switch {
	case errors.Is(err, engine.ErrMotoUnavailable) && os.Getenv("CI") == "true":
		fmt.Fprintf(os.Stderr, "enginetest: CI=true requires moto, but: %v\n", err)
		return 1
	case errors.Is(err, engine.ErrMotoUnavailable):
		fmt.Fprintf(os.Stderr, "enginetest: skipping moto, tests run on dynalite only: %v\n", err)
	case err != nil:
		fmt.Fprintf(os.Stderr, "enginetest: start moto: %v\n", err)
		return 1
	default:
		defer moto.Stop()
		engines = append(engines, moto)
	}

	clients := make(map[*engine.Engine]*dynamodb.Client, len(engines))
	for _, e := range engines {
		client, err := e.Client(ctx)
		if err != nil {
			fmt.Fprintf(os.Stderr, "enginetest: client for %s: %v\n", e.Name, err)
			return 1
		}
		clients[e] = client
	}
	shared.engines = engines
	shared.clients = clients
	code := m.Run()
	if n := openapitest.Validated(); n > 0 {
		fmt.Fprintf(os.Stderr, "openapitest: %d responses validated against %s\n", n, apidocs.DocumentPath)
	}
	return code
}

// Engines returns the engines Main started: dynalite first, then moto when it is installed.
func Engines() []*engine.Engine {
	return shared.engines
}

// ForEachEngine runs fn once per shared engine, as a parallel subtest named after the engine, with
// fresh tables in that engine. It fails the test when Main did not start any engine.
func ForEachEngine(t *testing.T, fn func(t *testing.T, env *Env)) {
	t.Helper()
	engines := Engines()
	if len(engines) == 0 {
		t.Fatal("enginetest: no engines running: call enginetest.Main(m) from TestMain")
	}
	for _, e := range engines {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, NewEnv(t, e))
		})
	}
}

// Env is one test's view of an engine: a client and a set of tables that no other test uses.
type Env struct {
	// Engine is the engine holding the tables.
	Engine *engine.Engine
	// Client talks to Engine with the store's retry and timeout policy.
	Client *dynamodb.Client
	// Tables names this test's tables.
	Tables dynamostore.Tables

	// setup is Client with a per-attempt timeout as long as a test's set-up may take on a loaded
	// machine: creating tables and seeding or reading items must not fail because moto, busy with
	// every other parallel test, answers one attempt in more than the store's one second.
	setup *dynamodb.Client
	logs  LockedBuffer
}

// NewEnv creates fresh, uniquely named tables for t in e and deletes them when t ends (best
// effort: a stopped engine keeps them). e may be a shared engine or one the test started itself.
func NewEnv(t *testing.T, e *engine.Engine) *Env {
	t.Helper()
	client := shared.clients[e]
	if client == nil {
		var err error
		if client, err = e.Client(t.Context()); err != nil {
			t.Fatalf("enginetest: client for %s: %v", e.Name, err)
		}
	}
	base := tableBase(t.Name())
	env := &Env{
		Engine: e,
		Client: client,
		setup: dynamodb.New(client.Options(), func(o *dynamodb.Options) {
			o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(setupAttemptTimeout)
		}),
		Tables: dynamostore.Tables{
			APIKeys:      base + "-api-keys",
			Campaigns:    base + "-campaigns",
			PhoneNumbers: base + "-phone-numbers",
		},
	}
	if err := engine.CreateTables(t.Context(), env.setup, env.Tables); err != nil {
		t.Fatalf("enginetest: create tables on %s: %v", e.Name, err)
	}
	t.Cleanup(func() {
		// t.Context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, name := range []string{env.Tables.APIKeys, env.Tables.Campaigns, env.Tables.PhoneNumbers} {
			_, _ = env.setup.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		}
	})
	return env
}

// tableBase returns a table-name prefix made of the test's name, for whoever inspects an engine,
// and a random suffix, so that reruns and parallel tests never share tables. DynamoDB table names
// allow [A-Za-z0-9_.-] and at most 255 characters.
func tableBase(testName string) string {
	name := []byte(testName)
	for i, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			name[i] = '_'
		}
	}
	if len(name) > 150 {
		name = name[:150]
	}
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	return string(name) + "-" + hex.EncodeToString(suffix[:])
}

// PutAPIKey stores key under the hash of secret, as the store expects to find it. An empty
// key.Prefix is filled in from secret.
func (env *Env) PutAPIKey(t *testing.T, key phonenumbers.APIKey, secret string) {
	t.Helper()
	if key.Prefix == "" {
		key.Prefix = secret[:min(len(secret), phonenumbers.KeyPrefixLength)]
	}
	item := dynamostore.NewAPIKeyItem(key, phonenumbers.HashSecret(phonenumbers.NewSecret(secret)))
	env.put(t, env.Tables.APIKeys, item)
}

// PutCampaign stores c.
func (env *Env) PutCampaign(t *testing.T, c phonenumbers.Campaign) {
	t.Helper()
	env.put(t, env.Tables.Campaigns, dynamostore.NewCampaignItem(c))
}

// PutPhoneNumber stores n.
func (env *Env) PutPhoneNumber(t *testing.T, n phonenumbers.PhoneNumber) {
	t.Helper()
	env.put(t, env.Tables.PhoneNumbers, dynamostore.NewPhoneNumberItem(n))
}

func (env *Env) put(t *testing.T, table string, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := env.setup.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatalf("enginetest: put item into %s: %v", table, err)
	}
}

// GetPhoneNumberItem returns the stored phone number item id as raw attributes, read with strong
// consistency; nil when there is no such item.
func (env *Env) GetPhoneNumberItem(t *testing.T, id string) map[string]types.AttributeValue {
	t.Helper()
	out, err := env.setup.GetItem(t.Context(), &dynamodb.GetItemInput{
		TableName:      aws.String(env.Tables.PhoneNumbers),
		Key:            map[string]types.AttributeValue{dynamostore.PhoneNumbersHashKey: &types.AttributeValueMemberS{Value: id}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("enginetest: get phone number %s: %v", id, err)
	}
	if len(out.Item) == 0 {
		return nil
	}
	return out.Item
}

// EditPhoneNumberItem rewrites the stored item of number id with edit applied to it, bypassing
// the store: for items the service would never write itself but may find in its table.
func (env *Env) EditPhoneNumberItem(t *testing.T, id string, edit func(item map[string]types.AttributeValue)) {
	t.Helper()
	item := env.GetPhoneNumberItem(t, id)
	if item == nil {
		t.Fatalf("enginetest: no phone number %s to edit", id)
	}
	edit(item)
	env.put(t, env.Tables.PhoneNumbers, item)
}

// NewServer serves the real handler, wired by wiring.NewHandler to this Env's tables, over HTTP on
// 127.0.0.1 through localapi, exactly as make run does. The handler's log lines go to the test's
// output and to Logs. The server is closed when t ends.
func (env *Env) NewServer(t *testing.T) *httptest.Server {
	t.Helper()
	return env.NewServerWithClient(t, env.Client)
}

// NewServerWithClient is NewServer with the handler talking to DynamoDB through client instead of
// env.Client, for tests that put something between the handler and the engine, such as a
// fault-injecting proxy.
func (env *Env) NewServerWithClient(t *testing.T, client dynamostore.API) *httptest.Server {
	t.Helper()
	logger := slog.New(slog.NewJSONHandler(io.MultiWriter(t.Output(), &env.logs), nil))
	handler := wiring.NewHandler(client, env.Tables, logger)
	srv := httptest.NewServer(localapi.New(handler, localconfig.FunctionTimeout))
	t.Cleanup(srv.Close)
	return srv
}

// Logs returns every log line written so far by the handlers of this Env's servers, one JSON
// object per line.
func (env *Env) Logs() string {
	return env.logs.String()
}

// LockedBuffer is a bytes.Buffer safe for concurrent writers and readers, for output that servers
// and processes write while tests read it.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Leaked reports the first piece of secret found in text: the secret, its SHA-256 in hex (the
// form stored), or any 16 characters in a row of either, so that a log that truncates, slices or
// hashes a secret is caught as surely as one that prints it whole.
func Leaked(text, secret string) (string, bool) {
	sum := sha256.Sum256([]byte(secret))
	for _, s := range []string{secret, hex.EncodeToString(sum[:])} {
		if strings.Contains(text, s) {
			return s, true
		}
		for i := 0; i+16 <= len(s); i++ {
			if piece := s[i : i+16]; strings.Contains(text, piece) {
				return piece, true
			}
		}
	}
	return "", false
}
