// Package enginetest is the one way tests in this repository get local DynamoDB-compatible engines
// and tables: one dynalite (and one moto, where installed) per test binary, a client with a test
// policy that a loaded machine cannot time out, fresh uniquely named tables per test, seeding
// helpers, and an HTTP server running the real handler. Only tests import it.
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
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sms-platform/phone-numbers/local/apidocs"
	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/localapi"
	"github.com/sms-platform/phone-numbers/local/openapitest"
	"github.com/sms-platform/phone-numbers/local/pytools"
	"github.com/sms-platform/phone-numbers/local/testenv"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
	"github.com/sms-platform/phone-numbers/pkg/wiring"
)

// startTimeout bounds starting the shared engines; moto takes a second or two, more on a machine
// busy compiling.
const startTimeout = 2 * time.Minute

// NewClient returns a DynamoDB client for the local engine at endpoint, for tests: for set-up and
// assertions, and for the handler under test in every test that is not about timeouts. It has
// engine.PatientPolicy instead of the store's retry and timeout policy, which is sized for
// DynamoDB answering in milliseconds (2 s per attempt, 3 attempts): on a developer's machine still
// compiling the rest of the suite, a local engine can take longer than that, and a test would fail
// for the machine's load rather than for the code. Tests about timeouts build their own client
// with an explicit per-attempt timeout and control the delays themselves (a stalled proxy or
// engine, an explicit deadline).
func NewClient(endpoint string) (*dynamodb.Client, error) {
	return engine.NewPatientClient(endpoint)
}

// shared holds the engines of this test binary, started on first use, and a client for each.
var shared struct {
	once    sync.Once
	engines []*engine.Engine
	clients map[*engine.Engine]*dynamodb.Client
	// missing holds, for a selected engine that is not installed, why; failed, an engine that
	// did not start.
	missing map[string]string
	err     error
}

// Main runs the package's tests and then stops the engines they started. The engines (dynalite,
// and moto) start when a test first asks for one, so that a run of unit tests alone starts none;
// testenv.EnvEngines (ENGINETEST_ENGINES=dynalite or moto) limits them to one, as make test does
// to run each engine in a phase of its own. A missing moto_server skips the moto subtests with the
// tool's install hint, and fails them under CI=true, so that CI never silently tests one engine
// only. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	for _, e := range shared.engines {
		e.Stop()
	}
	if n := openapitest.Validated(); n > 0 {
		fmt.Fprintf(os.Stderr, "openapitest: %d responses validated against %s\n", n, apidocs.DocumentPath)
	}
	os.Exit(code)
}

// selected returns the engines the run asks for, from testenv.EnvEngines.
func selected() []string {
	value := os.Getenv(testenv.EnvEngines)
	if value == "" {
		return engine.Names
	}
	return strings.Split(value, ",")
}

// startShared starts the selected engines, once per test binary.
func startShared() {
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		shared.clients = map[*engine.Engine]*dynamodb.Client{}
		shared.missing = map[string]string{}
		for _, name := range selected() {
			e, err := engine.Start(ctx, name, 0)
			if errors.Is(err, engine.ErrMotoUnavailable) {
				shared.missing[name] = pytools.Moto.Missing()
				continue
			}
			if err != nil {
				shared.err = fmt.Errorf("enginetest: start %s (from %s): %w", name, testenv.EnvEngines, err)
				return
			}
			shared.engines = append(shared.engines, e)
			if shared.clients[e], err = NewClient(e.Endpoint); err != nil {
				shared.err = fmt.Errorf("enginetest: client for %s: %w", name, err)
				return
			}
		}
	})
}

// Engines returns the engines of this run that started, starting them if needed: dynalite
// first, then moto (when selected and installed). For tests that work across engines at once,
// such as comparing their answers; make test runs those with every engine in one binary.
func Engines() []*engine.Engine {
	startShared()
	return shared.engines
}

// EachEngine runs fn once per engine of the run, as a parallel subtest named after the engine,
// with the shared engine. An engine that is not installed gets a subtest that is skipped with its
// install hint (failed under CI=true).
func EachEngine(t *testing.T, fn func(t *testing.T, e *engine.Engine)) {
	t.Helper()
	startShared()
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	for _, name := range selected() {
		t.Run(name, func(t *testing.T) {
			if reason, ok := shared.missing[name]; ok {
				if os.Getenv("CI") == "true" {
					t.Fatalf("CI=true requires every engine, and %s", reason)
				}
				t.Skip(reason)
			}
			t.Parallel()
			fn(t, sharedEngine(name))
		})
	}
}

// ForEachEngine runs fn once per engine of the run, as EachEngine does, with fresh tables in that
// engine.
func ForEachEngine(t *testing.T, fn func(t *testing.T, env *Env)) {
	t.Helper()
	EachEngine(t, func(t *testing.T, e *engine.Engine) {
		fn(t, NewEnv(t, e))
	})
}

// Dynalite returns the shared dynalite, for a test that runs on dynalite alone; in a run without
// dynalite (make test's moto phase) it skips t, whose run is in the dynalite phase.
func Dynalite(t *testing.T) *engine.Engine {
	t.Helper()
	if !slices.Contains(selected(), "dynalite") {
		t.Skip(testenv.DynaliteOnly + " runs in the dynalite phase")
	}
	startShared()
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return sharedEngine("dynalite")
}

func sharedEngine(name string) *engine.Engine {
	for _, e := range shared.engines {
		if e.Name == name {
			return e
		}
	}
	panic("enginetest: no shared " + name)
}

// Env is one test's view of an engine: a client and a set of tables that no other test uses.
type Env struct {
	// Engine is the engine holding the tables.
	Engine *engine.Engine
	// Client talks to Engine with the patient policy of NewClient.
	Client *dynamodb.Client
	// Tables names this test's tables.
	Tables dynamostore.Tables

	logs LockedBuffer
}

// NewEnv creates fresh, uniquely named tables for t in e and deletes them when t ends (best
// effort: a stopped engine keeps them). e may be a shared engine or one the test started itself.
func NewEnv(t *testing.T, e *engine.Engine) *Env {
	t.Helper()
	client := shared.clients[e]
	if client == nil {
		var err error
		if client, err = NewClient(e.Endpoint); err != nil {
			t.Fatalf("enginetest: client for %s: %v", e.Name, err)
		}
	}
	base := tableBase(t.Name())
	env := &Env{
		Engine: e,
		Client: client,
		Tables: dynamostore.Tables{
			APIKeys:      base + "-api-keys",
			Campaigns:    base + "-campaigns",
			PhoneNumbers: base + "-phone-numbers",
		},
	}
	if err := engine.CreateTables(t.Context(), env.Client, env.Tables); err != nil {
		t.Fatalf("enginetest: create tables on %s: %v", e.Name, err)
	}
	t.Cleanup(func() {
		// t.Context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, name := range []string{env.Tables.APIKeys, env.Tables.Campaigns, env.Tables.PhoneNumbers} {
			_, _ = env.Client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
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

// PutAPIKey stores key for secret, as the store expects to find it (dynamostore.NewAPIKeyItem).
func (env *Env) PutAPIKey(t *testing.T, key phonenumbers.APIKey, secret string) {
	t.Helper()
	env.put(t, env.Tables.APIKeys, dynamostore.NewAPIKeyItem(key, phonenumbers.NewSecret(secret)))
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

// PutItem stores item in table as it is, bypassing the store: for items the service would never
// write itself but may find, such as corrupt ones.
func (env *Env) PutItem(t *testing.T, table string, item map[string]types.AttributeValue) {
	t.Helper()
	env.put(t, table, item)
}

func (env *Env) put(t *testing.T, table string, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := env.Client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatalf("enginetest: put item into %s: %v", table, err)
	}
}

// GetPhoneNumberItem returns the stored phone number item id as raw attributes, read with strong
// consistency; nil when there is no such item.
func (env *Env) GetPhoneNumberItem(t *testing.T, id string) map[string]types.AttributeValue {
	t.Helper()
	out, err := env.Client.GetItem(t.Context(), &dynamodb.GetItemInput{
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

// UnhurriedFunctionTimeout is the time NewServer gives each request unless told otherwise: far
// beyond the deployed function timeout (local/localconfig.FunctionTimeout), because a request that
// queues behind a hundred others at moto, which serves one request at a time, on a machine busy
// compiling, can take longer than that, and a test would then fail for the machine's load. Tests
// about the deadline set the deployed one with WithFunctionTimeout.
const UnhurriedFunctionTimeout = 2 * time.Minute

// NewServer serves the real handler, wired by wiring.NewHandler to this Env's tables, over HTTP on
// 127.0.0.1 through localapi, as make run does: with env.Client and UnhurriedFunctionTimeout
// unless opts say otherwise. The handler's log lines go to the test's output and to Logs. The
// server is closed when t ends.
func (env *Env) NewServer(t *testing.T, opts ...ServerOption) *httptest.Server {
	t.Helper()
	cfg := serverConfig{client: env.Client, functionTimeout: UnhurriedFunctionTimeout}
	for _, opt := range opts {
		opt(&cfg)
	}
	logger := slog.New(slog.NewJSONHandler(io.MultiWriter(t.Output(), &env.logs), nil))
	handler := wiring.NewHandler(cfg.client, env.Tables, logger)
	srv := httptest.NewServer(localapi.New(handler, cfg.functionTimeout))
	t.Cleanup(srv.Close)
	return srv
}

// ServerOption changes a server NewServer builds.
type ServerOption func(*serverConfig)

type serverConfig struct {
	client          dynamostore.API
	functionTimeout time.Duration
}

// WithClient has the handler talk to DynamoDB through client instead of env.Client: a client
// through a fault-injecting proxy, or with an explicit per-attempt timeout in a test about
// timeouts.
func WithClient(client dynamostore.API) ServerOption {
	return func(c *serverConfig) { c.client = client }
}

// WithFunctionTimeout gives each request d instead of UnhurriedFunctionTimeout: the deployed
// function timeout, for tests about what happens at the deadline.
func WithFunctionTimeout(d time.Duration) ServerOption {
	return func(c *serverConfig) { c.functionTimeout = d }
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
