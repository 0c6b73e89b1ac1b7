package wiring_test

// Fault tests of PATCH /v1/phone-numbers/{id}: the handler's DynamoDB client talks to the engine
// through faultproxy, which throttles, fails, stalls or drops requests as each test scripts it.
// They prove the 503 row of the contract's status table (§2) and that a PATCH never half-applies:
// transient faults are retried into a success, persistent ones become a 503 with Retry-After within
// the invocation's time, and a write whose answer was lost converges when the PATCH is retried.

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/enginetest"
	"github.com/sms-platform/phone-numbers/local/faultproxy"
	"github.com/sms-platform/phone-numbers/local/localapi"
	"github.com/sms-platform/phone-numbers/local/localconfig"
	"github.com/sms-platform/phone-numbers/pkg/apigw"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers/phonenumberstest"
	"github.com/sms-platform/phone-numbers/pkg/wiring"
)

// The DynamoDB operations the handler calls.
const (
	opGetItem            = "GetItem"
	opUpdateItem         = "UpdateItem"
	opTransactWriteItems = "TransactWriteItems"
)

var (
	throttle      = faultproxy.Fault{Action: faultproxy.Throttle}
	throttling    = faultproxy.Fault{Action: faultproxy.Throttling}
	internalError = faultproxy.Fault{Action: faultproxy.InternalError}
	dropped       = faultproxy.Fault{Action: faultproxy.Drop}
	droppedAfter  = faultproxy.Fault{Action: faultproxy.DropAfterForward}
)

// proxiedWorld is a world whose server's handler reaches the engine through a fault proxy.
type proxiedWorld struct {
	*world
	proxy  *faultproxy.Proxy
	client *dynamodb.Client
	// attempts and attemptTimeout are the store's retry policy (dynamostore.NewClient): attempts
	// per call, and the time one attempt may take.
	attempts       int
	attemptTimeout time.Duration
}

// proxyOption changes the client or server proxied builds.
type proxyOption func(*proxyConfig)

type proxyConfig struct {
	timedOp         string
	timeout         time.Duration
	functionTimeout time.Duration
}

// attemptTimeoutFor gives each attempt of op (such as "UpdateItem") d, and no more, for a test
// about what a per-attempt timeout does. The other operations keep the patient timeout of enginetest.NewClient, so
// that the machine's load cannot time them out.
func attemptTimeoutFor(op string, d time.Duration) proxyOption {
	return func(c *proxyConfig) { c.timedOp, c.timeout = op, d }
}

// functionTimeout gives each request d instead of the deployed function timeout.
func functionTimeout(d time.Duration) proxyOption {
	return func(c *proxyConfig) { c.functionTimeout = d }
}

// proxied returns w served by a new handler whose DynamoDB client goes through a new fault proxy
// in front of w's engine. The client retries as the store's does (dynamostore.NewClient's
// attempts and backoff, read from a client it builds), so that the tests follow the policy
// instead of copying its numbers. Its per-attempt timeout is the patient one of
// enginetest.NewClient, so that only the faults a test scripts decide the outcome and a loaded
// machine does not; attemptTimeoutFor sets one operation's. The data and keys are w's; setup and
// inspection through w.env.Client bypass the proxy.
func proxied(t *testing.T, w *world, opts ...proxyOption) *proxiedWorld {
	t.Helper()
	cfg := proxyConfig{functionTimeout: localconfig.FunctionTimeout}
	for _, opt := range opts {
		opt(&cfg)
	}
	proxy, err := faultproxy.New(w.env.Engine.Endpoint)
	if err != nil {
		t.Fatalf("start fault proxy: %v", err)
	}
	t.Cleanup(proxy.Close)
	store, err := engine.NewClient(t.Context(), proxy.URL)
	if err != nil {
		t.Fatalf("client through the fault proxy: %v", err)
	}
	pw := &proxiedWorld{proxy: proxy}
	pw.attempts, pw.attemptTimeout = retryPolicy(t, store)
	var untimed dynamodb.Options
	engine.PatientPolicy(&untimed)
	var httpClient dynamodb.HTTPClient = untimed.HTTPClient
	if cfg.timedOp != "" {
		httpClient = perOperation{op: cfg.timedOp, timed: awshttp.NewBuildableClient().WithTimeout(cfg.timeout), others: untimed.HTTPClient}
	}
	pw.client = dynamodb.New(store.Options(), func(o *dynamodb.Options) { o.HTTPClient = httpClient })
	copied := *w
	copied.srv = w.env.NewServer(t, enginetest.WithClient(pw.client), enginetest.WithFunctionTimeout(cfg.functionTimeout))
	pw.world = &copied
	return pw
}

// perOperation sends the attempts of one DynamoDB operation through a client of their own.
type perOperation struct {
	op            string
	timed, others dynamodb.HTTPClient
}

// Do sends r through timed when r is an attempt of op, named by its X-Amz-Target header
// (DynamoDB_20120810.UpdateItem), and through others otherwise.
func (c perOperation) Do(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), "."+c.op) {
		return c.timed.Do(r)
	}
	return c.others.Do(r)
}

// onDynalite runs fn with fresh tables in the shared dynalite. The faults these tests inject come
// from the proxy, not from the engine, so one engine shows them; moto, ten times slower, would
// only add time and load. TestWriteWhoseAnswerIsLostConvergesOnRetry, whose outcome depends on how
// the engine reports a failed condition, runs on every engine.
func onDynalite(t *testing.T, fn func(t *testing.T, env *enginetest.Env)) {
	t.Helper()
	fn(t, enginetest.NewEnv(t, enginetest.Dynalite(t)))
}

// retryPolicy reads the retry and timeout policy from a client dynamostore.NewClient built.
func retryPolicy(t *testing.T, client *dynamodb.Client) (attempts int, attemptTimeout time.Duration) {
	t.Helper()
	opts := client.Options()
	withTimeout, ok := opts.HTTPClient.(interface{ GetTimeout() time.Duration })
	if !ok || withTimeout.GetTimeout() <= 0 {
		t.Fatalf("the client's HTTP client %T has no per-attempt timeout", opts.HTTPClient)
	}
	if opts.Retryer == nil || opts.Retryer.MaxAttempts() < 2 {
		t.Fatalf("the client does not retry: retryer %T", opts.Retryer)
	}
	return opts.Retryer.MaxAttempts(), withTimeout.GetTimeout()
}

// checkNoProxyLeak is checkNoLeak, plus the proxy's address.
func (pw *proxiedWorld) checkNoLeak(t *testing.T, r response) {
	t.Helper()
	checkNoLeak(t, r, pw.env)
	if strings.Contains(string(r.body), strings.TrimPrefix(pw.proxy.URL, "http://")) {
		t.Errorf("body leaks the storage endpoint: %s", r.body)
	}
}

// stalledAttemptTimeout is the per-attempt timeout of an operation a test stalls on purpose, and
// so the time its retry has to pass: generous, so that only the stall times out.
const stalledAttemptTimeout = 5 * time.Second

// storeAttemptTimeout returns the store's per-attempt timeout (dynamostore.NewClient).
func storeAttemptTimeout(t *testing.T) time.Duration {
	t.Helper()
	client, err := engine.NewClient(t.Context(), "http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	_, timeout := retryPolicy(t, client)
	return timeout
}

// ---- transient faults: retried into a success ----

func TestTransientStorageFaultsAreRetried(t *testing.T) {
	t.Parallel()
	onDynalite(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		cases := []struct {
			name   string
			faults func(pw *proxiedWorld) []faultproxy.Fault
			// slow marks faults that work through the client's per-attempt timeout.
			slow bool
		}{
			{"two ProvisionedThroughputExceededExceptions", func(*proxiedWorld) []faultproxy.Fault { return []faultproxy.Fault{throttle, throttle} }, false},
			{"two ThrottlingExceptions", func(*proxiedWorld) []faultproxy.Fault { return []faultproxy.Fault{throttling, throttling} }, false},
			{"an InternalServerError", func(*proxiedWorld) []faultproxy.Fault { return []faultproxy.Fault{internalError} }, false},
			{"a dropped connection", func(*proxiedWorld) []faultproxy.Fault { return []faultproxy.Fault{dropped} }, false},
			{"a throttle then a dropped connection", func(*proxiedWorld) []faultproxy.Fault { return []faultproxy.Fault{throttle, dropped} }, false},
			// The first attempt stalls until the client gives up on it; the test, not the machine's
			// load, sets when that is.
			{"an attempt slower than the per-attempt timeout", func(pw *proxiedWorld) []faultproxy.Fault {
				return []faultproxy.Fault{faultproxy.Slow(time.Minute)}
			}, true},
		}
		for _, op := range []string{opGetItem, opUpdateItem} {
			for _, tc := range cases {
				t.Run(op+" "+tc.name, func(t *testing.T) {
					t.Parallel()
					var opts []proxyOption
					if tc.slow {
						// The stalled attempt is abandoned after stalledAttemptTimeout, and the
						// retry has as long to pass, however loaded the machine; the request may
						// take that long and more.
						opts = append(opts, attemptTimeoutFor(op, stalledAttemptTimeout), functionTimeout(time.Minute))
					}
					pw := proxied(t, w, opts...)
					faults := tc.faults(pw)
					n := w.putNumber(t, nil)
					if len(faults) >= pw.attempts {
						t.Fatalf("%d faults leave no attempt of %d to succeed", len(faults), pw.attempts)
					}
					pw.proxy.SetScript(faultproxy.Sequence(op, faults...))

					label := "retried " + op
					r := pw.patch(t, n.ID, `{"label":`+jsonString(label)+`}`)
					item := env.GetPhoneNumberItem(t, n.ID)
					checkSuccess(t, r, item)
					if got, _ := stringAttr(item, "label"); got != label {
						t.Errorf("stored label = %q, want %q", got, label)
					}
					if got, want := pw.proxy.Count(op), len(faults)+1; got != want {
						t.Errorf("proxy saw %d %s requests, want %d faulted then the retry that passed (%d)", got, op, len(faults), want)
					}
					// The key lookup and the update, however many attempts each took.
					checkStorageCalls(t, env, r, 2)
					t.Logf("%s: 200 after %s", faults, r.elapsed.Round(time.Millisecond))
				})
			}
		}
	})
}

// ---- persistent faults: a bounded 503 ----

func TestPersistentStorageFaultsAre503(t *testing.T) {
	t.Parallel()
	onDynalite(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		for _, op := range []string{opGetItem, opUpdateItem} {
			for _, fault := range []faultproxy.Fault{throttle, throttling, internalError, dropped} {
				t.Run(op+" "+fault.String(), func(t *testing.T) {
					t.Parallel()
					pw := proxied(t, w)
					n := w.putNumber(t, nil)
					before := itemString(env.GetPhoneNumberItem(t, n.ID))
					pw.proxy.SetScript(faultproxy.Always(op, fault))

					r := pw.patch(t, n.ID, `{"label":"never stored","status_url":"https://never.example/s"}`)
					checkError(t, r, want503)
					pw.checkNoLeak(t, r)
					checkErrorLogged(t, env, r.requestID())
					if r.elapsed >= localconfig.FunctionTimeout {
						t.Errorf("503 took %s, want it before the function timeout %s", r.elapsed, localconfig.FunctionTimeout)
					}
					if got := pw.proxy.Count(op); got != pw.attempts {
						t.Errorf("proxy saw %d %s requests, want the client's %d attempts per call", got, op, pw.attempts)
					}
					if op == opGetItem {
						// The key lookup failed: nothing may be attempted after it.
						if got := pw.proxy.Count(opUpdateItem); got != 0 {
							t.Errorf("proxy saw %d UpdateItem requests after the key lookup failed, want 0", got)
						}
					}
					if got := pw.proxy.Forwarded(opUpdateItem); got != 0 {
						t.Errorf("%d UpdateItem requests reached the engine, want 0", got)
					}
					if after := itemString(env.GetPhoneNumberItem(t, n.ID)); after != before {
						t.Errorf("stored item changed by a request answered 503:\nbefore %s\nafter  %s", before, after)
					}
					t.Logf("%s on every %s: 503 after %s, %d attempts", fault, op, r.elapsed.Round(time.Millisecond), pw.proxy.Count(op))
				})
			}
		}
	})
}

// TestSlowStorageIs503 stalls every attempt of a call for longer than the per-attempt timeout:
// each attempt is cut at that timeout, the call gives up after the client's attempts, and the
// request answers 503 well before the function timeout, having written nothing.
func TestSlowStorageIs503(t *testing.T) {
	t.Parallel()
	onDynalite(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		for _, op := range []string{opGetItem, opUpdateItem} {
			t.Run(op, func(t *testing.T) {
				t.Parallel()
				// The stalled operation gets the store's own per-attempt timeout: that policy is
				// under test. Its attempts never reach the engine, so the machine's load does not
				// shorten or lengthen them.
				pw := proxied(t, w, attemptTimeoutFor(op, storeAttemptTimeout(t)))
				n := w.putNumber(t, nil)
				before := itemString(env.GetPhoneNumberItem(t, n.ID))
				pw.proxy.SetScript(faultproxy.Always(op, faultproxy.Slow(time.Minute)))

				r := pw.patch(t, n.ID, `{"label":"too late"}`)
				checkError(t, r, want503)
				pw.checkNoLeak(t, r)
				if r.elapsed >= localconfig.FunctionTimeout {
					t.Errorf("503 took %s, want it before the function timeout %s", r.elapsed, localconfig.FunctionTimeout)
				}
				// Each attempt is given its timeout, until the request's deadline (the function
				// timeout less the handler's margin) ends the call, whichever comes first.
				floor := min(time.Duration(pw.attempts)*pw.attemptTimeout, localconfig.FunctionTimeout-apigw.DefaultDeadlineMargin)
				if r.elapsed < floor {
					t.Errorf("503 after %s, want each attempt given its %s until the deadline (%s)", r.elapsed, pw.attemptTimeout, floor)
				}
				if got := pw.proxy.Count(op); got != pw.attempts {
					t.Errorf("proxy saw %d %s requests, want the client's %d attempts", got, op, pw.attempts)
				}
				if got := pw.proxy.Forwarded(opUpdateItem); got != 0 {
					t.Errorf("%d UpdateItem requests reached the engine after their client gave up, want 0", got)
				}
				if after := itemString(env.GetPhoneNumberItem(t, n.ID)); after != before {
					t.Errorf("stored item changed by a request answered 503:\nbefore %s\nafter  %s", before, after)
				}
				t.Logf("every %s slower than %s: 503 after %s", op, pw.attemptTimeout, r.elapsed.Round(time.Millisecond))
			})
		}
	})
}

// ---- the invocation deadline ----

// TestHandlerAnswersBeforeTheInvocationDeadline calls the handler in-process, as the Lambda runtime
// does, with a context whose deadline is near, while storage stalls: the handler stops waiting a
// safety margin before the deadline and answers 503 itself, instead of being killed at the deadline
// with no answer at all.
func TestHandlerAnswersBeforeTheInvocationDeadline(t *testing.T) {
	t.Parallel()
	const remaining = 800 * time.Millisecond
	onDynalite(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		for _, tc := range []struct {
			name   string
			op     string
			margin *time.Duration // nil: the handler's default
			late   bool           // the control case: without a margin the answer comes too late
		}{
			{name: "key lookup stalls", op: opGetItem},
			{name: "update stalls", op: opUpdateItem},
			{name: "control: without a margin the answer comes only at the deadline", op: opUpdateItem, margin: ptr(time.Duration(0)), late: true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				pw := proxied(t, w)
				n := w.putNumber(t, nil)
				before := itemString(env.GetPhoneNumberItem(t, n.ID))
				pw.proxy.SetScript(faultproxy.Always(tc.op, faultproxy.Slow(time.Minute)))
				margin := apigw.DefaultDeadlineMargin
				var opts []apigw.Option
				if tc.margin != nil {
					margin = *tc.margin
					opts = append(opts, apigw.WithDeadlineMargin(margin))
				}
				if remaining <= margin || margin+pw.attemptTimeout <= remaining {
					t.Fatalf("the deadline %s must fall within one attempt (%s) after the margin %s", remaining, pw.attemptTimeout, margin)
				}
				handler := wiring.NewHandler(pw.client, env.Tables, slog.New(slog.NewJSONHandler(t.Output(), nil)), opts...)
				event := newEvent(t, n.ID, `{"label":"too late"}`, withBearer(w.writeSecret))

				start := time.Now()
				deadline := start.Add(remaining)
				ctx, cancel := context.WithDeadline(t.Context(), deadline)
				defer cancel()
				resp, err := handler.Handle(ctx, event)
				answered := time.Now()
				if err != nil {
					t.Fatalf("handler returned error %v, want every outcome as a response", err)
				}
				r := fromEvent(t, event, resp, answered.Sub(start))
				checkError(t, r, want503)
				pw.checkNoLeak(t, r)

				if tc.late {
					if answered.Before(deadline) {
						t.Errorf("answered %s before the deadline without a margin; the control shows nothing", deadline.Sub(answered))
					}
					t.Logf("margin 0: 503 after %s, deadline %s", r.elapsed.Round(time.Millisecond), remaining)
					return
				}
				if !answered.Before(deadline) {
					t.Errorf("answered %s after the deadline, want before it", answered.Sub(deadline))
				}
				if r.elapsed < remaining-margin {
					t.Errorf("answered after %s, want storage given until the margin (%s)", r.elapsed, remaining-margin)
				}
				if got := pw.proxy.Forwarded(opUpdateItem); got != 0 {
					t.Errorf("%d UpdateItem requests reached the engine, want 0", got)
				}
				if after := itemString(env.GetPhoneNumberItem(t, n.ID)); after != before {
					t.Errorf("stored item changed by a request answered 503:\nbefore %s\nafter  %s", before, after)
				}
				t.Logf("%s with %s left: 503 after %s, %s before the deadline", tc.op, remaining, r.elapsed.Round(time.Millisecond), deadline.Sub(answered).Round(time.Millisecond))
			})
		}
	})
}

// newEvent builds the event API Gateway would send for PATCH /v1/phone-numbers/{id} with body,
// as JSON, changed by opts.
func newEvent(t *testing.T, id, body string, opts ...reqOption) events.APIGatewayV2HTTPRequest {
	t.Helper()
	req := httptest.NewRequest(http.MethodPatch, "/v1/phone-numbers/"+url.PathEscape(id), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for _, opt := range opts {
		opt(req)
	}
	return localapi.NewEvent(req, id, []byte(body))
}

// fromEvent turns the handler's response to event into what a client receives.
func fromEvent(t *testing.T, event events.APIGatewayV2HTTPRequest, resp events.APIGatewayV2HTTPResponse, elapsed time.Duration) response {
	t.Helper()
	header := http.Header{}
	for name, value := range resp.Headers {
		header.Set(name, value)
	}
	r := response{status: resp.StatusCode, header: header, body: []byte(resp.Body), elapsed: elapsed}
	r.checkAgainstDocument(t, event.RequestContext.HTTP.Method, event.RawPath)
	return r
}

// ---- no partial writes ----

// TestWriteWhoseAnswerIsLostConvergesOnRetry drops the connection after the engine applied the
// write (the UpdateItem of a patch, the TransactWriteItems of an attach): the write happened but
// its answer is lost. Whether the client's own retry or the caller's retry of the PATCH repeats
// it, the repeat is a no-op, and the item ends holding exactly the patched values, every other
// attribute untouched, updated_at set once and the version moved once.
func TestWriteWhoseAnswerIsLostConvergesOnRetry(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		fields := `"inbound_url":"https://retry.example/in","status_url":"https://retry.example/status","label":""`
		patched := map[string]*string{
			"inbound_url": ptr("https://retry.example/in"),
			"status_url":  ptr("https://retry.example/status"),
			"label":       nil,
		}
		attached := maps.Clone(patched)
		attached["campaign_id"] = ptr(w.activeCampaign2)
		for _, tc := range []struct {
			op      string
			body    string
			patched map[string]*string
		}{
			{opUpdateItem, `{` + fields + `}`, patched},
			{opTransactWriteItems, `{` + fields + `,"campaign_id":"` + w.activeCampaign2 + `"}`, attached},
		} {
			t.Run(tc.op+": the client's retry", func(t *testing.T) {
				t.Parallel()
				pw := proxied(t, w)
				n := w.putNumber(t, nil)
				before := env.GetPhoneNumberItem(t, n.ID)
				pw.proxy.SetScript(faultproxy.Sequence(tc.op, droppedAfter))

				start := time.Now()
				r := pw.patch(t, n.ID, tc.body)
				end := time.Now()
				after := env.GetPhoneNumberItem(t, n.ID)
				checkSuccess(t, r, after)
				checkPatched(t, before, after, tc.patched, start, end)
				if got := pw.proxy.Forwarded(tc.op); got < 2 {
					t.Errorf("%d %s requests reached the engine, want 2: the one whose answer was lost and its retry", got, tc.op)
				}
				t.Logf("answer of the applied %s lost: 200 after %s", tc.op, r.elapsed.Round(time.Millisecond))
			})

			t.Run(tc.op+": the caller's retry of the PATCH", func(t *testing.T) {
				t.Parallel()
				pw := proxied(t, w)
				n := w.putNumber(t, nil)
				before := env.GetPhoneNumberItem(t, n.ID)
				pw.proxy.SetScript(faultproxy.Always(tc.op, droppedAfter))

				start := time.Now()
				r := pw.patch(t, n.ID, tc.body)
				end := time.Now()
				checkError(t, r, want503)
				if got := pw.proxy.Forwarded(tc.op); got != pw.attempts {
					t.Errorf("%d %s requests reached the engine, want the client's %d attempts", got, tc.op, pw.attempts)
				}
				// A 503 promises no rollback: the first attempt was applied, once, completely.
				applied := env.GetPhoneNumberItem(t, n.ID)
				checkPatched(t, before, applied, tc.patched, start, end)

				// Retry in a later second, so that a retry that wrote again would move updated_at.
				time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
				pw.proxy.SetScript(faultproxy.Always("", faultproxy.Fault{}))
				r = pw.patch(t, n.ID, tc.body)
				after := env.GetPhoneNumberItem(t, n.ID)
				checkSuccess(t, r, after)
				if got, want := itemString(after), itemString(applied); got != want {
					t.Errorf("the retried PATCH changed the item again:\nafter the 503 %s\nafter retry   %s", want, got)
				}
			})
		}
	})
}

// checkPatched checks that after is before with exactly the want attributes changed (nil: removed)
// and updated_at set to a time between start and end.
func checkPatched(t *testing.T, before, after map[string]types.AttributeValue, want map[string]*string, start, end time.Time) {
	t.Helper()
	checkWriteRecorded(t, before, after, 1)
	for _, name := range sortedKeys(mergeKeys(before, after)) {
		got := avString(after[name])
		var wantValue string
		switch value, patched := want[name]; {
		case name == "updated_at":
			updatedAt, _ := stringAttr(after, name)
			checkNow(t, updatedAt, start, end)
			continue
		case name == "version", name == "write_id":
			continue
		case patched && value == nil:
			wantValue = avString(nil)
		case patched:
			wantValue = avString(&types.AttributeValueMemberS{Value: *value})
		default:
			wantValue = avString(before[name])
		}
		if got != wantValue {
			t.Errorf("stored %s = %s, want %s", name, got, wantValue)
		}
	}
}

// ---- the engine stopped and restarted ----

// TestEngineRestartedOnTheSamePortServesAgain stops an engine started for this test alone, then
// starts a new one on the same port: the handler built before the stop, with its client and
// connection pool, answers 503 while the engine is down and serves again once it is back, without
// being rebuilt. (TestUnavailableStorageIs503 covers a stalled engine that resumes.)
func TestEngineRestartedOnTheSamePortServesAgain(t *testing.T) {
	t.Parallel()
	enginetest.Dynalite(t) // it restarts a dynalite of its own: it runs with the dynalite tests
	dedicated, err := engine.StartDynalite(t.Context(), 0)
	if err != nil {
		t.Fatalf("start a dedicated dynalite: %v", err)
	}
	t.Cleanup(dedicated.Stop)
	endpoint, err := url.Parse(dedicated.Endpoint)
	if err != nil {
		t.Fatalf("engine endpoint %q: %v", dedicated.Endpoint, err)
	}
	port, err := strconv.Atoi(endpoint.Port())
	if err != nil {
		t.Fatalf("engine endpoint %q has no port: %v", dedicated.Endpoint, err)
	}
	env := enginetest.NewEnv(t, dedicated)
	w := newWorld(t, env)
	n := w.putNumber(t, nil)
	checkSuccess(t, w.patch(t, n.ID, `{"label":"before stop"}`), env.GetPhoneNumberItem(t, n.ID))
	saved := dumpTables(t, env)

	dedicated.Stop()
	r := w.patch(t, n.ID, `{"label":"while stopped"}`)
	checkError(t, r, want503)
	checkNoLeak(t, r, env)
	if r.elapsed >= localconfig.FunctionTimeout {
		t.Errorf("503 took %s, want it before the function timeout %s", r.elapsed, localconfig.FunctionTimeout)
	}
	t.Logf("engine stopped: 503 after %s", r.elapsed.Round(time.Millisecond))

	restarted, err := engine.StartDynalite(t.Context(), port)
	if err != nil {
		t.Fatalf("restart dynalite on port %d: %v", port, err)
	}
	t.Cleanup(restarted.Stop)
	// dynalite keeps its data in memory: the restarted engine gets back what the stopped one had.
	restoreTables(t, env, saved)

	r = w.patch(t, n.ID, `{"status_url":"https://after.example/s"}`)
	item := env.GetPhoneNumberItem(t, n.ID)
	checkSuccess(t, r, item)
	if got, _ := stringAttr(item, "status_url"); got != "https://after.example/s" {
		t.Errorf("stored status_url = %q, want the PATCH sent after the restart applied", got)
	}
	if got, _ := stringAttr(item, "label"); got != "before stop" {
		t.Errorf("stored label = %q, want %q: the request answered 503 must not have been applied", got, "before stop")
	}
	t.Logf("engine restarted on port %d: 200 after %s", port, r.elapsed.Round(time.Millisecond))
}

// dumpTables returns every item of env's tables, by table.
func dumpTables(t *testing.T, env *enginetest.Env) map[string][]map[string]types.AttributeValue {
	t.Helper()
	dump := map[string][]map[string]types.AttributeValue{}
	for _, table := range []string{env.Tables.APIKeys, env.Tables.Campaigns, env.Tables.PhoneNumbers} {
		out, err := env.Client.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		if len(out.LastEvaluatedKey) > 0 {
			t.Fatalf("scan %s: more than one page", table)
		}
		dump[table] = out.Items
	}
	return dump
}

// restoreTables creates env's tables and puts the items of dump into them.
func restoreTables(t *testing.T, env *enginetest.Env, dump map[string][]map[string]types.AttributeValue) {
	t.Helper()
	if err := engine.CreateTables(t.Context(), env.Client, env.Tables); err != nil {
		t.Fatalf("create tables: %v", err)
	}
	for table, items := range dump {
		for _, item := range items {
			if _, err := env.Client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
				t.Fatalf("restore an item of %s: %v", table, err)
			}
		}
	}
}

// TestEveryReadIsStronglyConsistent: the local engines are always consistent, so only the requests
// themselves show whether the store asks for it. An eventually consistent key lookup could let a
// key revoked a moment ago through; a stale fallback read could answer a no-op with an old item.
func TestEveryReadIsStronglyConsistent(t *testing.T) {
	t.Parallel()
	onDynalite(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		pw := proxied(t, w)
		var mu sync.Mutex
		var reads []string
		pw.proxy.SetScript(func(r faultproxy.Request) faultproxy.Fault {
			if r.Operation == opGetItem {
				mu.Lock()
				reads = append(reads, string(r.Body))
				mu.Unlock()
			}
			return faultproxy.Fault{}
		})
		n := w.putNumber(t, nil)

		// The key lookup and the campaign lookup of an update, then those of a missing number,
		// whose failed condition returns no item: that is the answer, with no read after it.
		checkSuccess(t, pw.patch(t, n.ID, `{"campaign_id":"`+w.activeCampaign2+`"}`), env.GetPhoneNumberItem(t, n.ID))
		checkError(t, pw.patch(t, phonenumberstest.NewUUID(), `{"campaign_id":"`+w.activeCampaign2+`"}`), want404)

		mu.Lock()
		defer mu.Unlock()
		if len(reads) < 4 {
			t.Fatalf("proxy saw %d GetItem requests, want at least 4 (two key and two campaign lookups)", len(reads))
		}
		for _, body := range reads {
			var req struct{ ConsistentRead *bool }
			if err := json.Unmarshal([]byte(body), &req); err != nil {
				t.Fatalf("decode GetItem request %s: %v", body, err)
			}
			if req.ConsistentRead == nil || !*req.ConsistentRead {
				t.Errorf("GetItem without ConsistentRead: %s", body)
			}
		}
	})
}
