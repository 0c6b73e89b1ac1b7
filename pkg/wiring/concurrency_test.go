package wiring_test

// Concurrency tests of PATCH /v1/phone-numbers/{id}: many PATCHes of one number at once, over real
// HTTP, on every engine. Because each PATCH is one conditional UpdateItem touching only its own
// fields (contract §4), no write can undo another's, and a no-op never writes at all.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sms-platform/phone-numbers/local/enginetest"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers/phonenumberstest"
)

// concurrencyTimeout bounds each batch of concurrent requests.
const concurrencyTimeout = 2 * time.Minute

// unhurriedClient sends the batches: each request is bounded by the batch's context, not by
// httpClient's timeout, which is sized for one request at a time.
var unhurriedClient = &http.Client{}

// concurrentServer serves w's data through a handler with a DynamoDB client of its own (the
// patient policy of enginetest.NewClient) and enginetest's unhurried function timeout. In
// production, 100 concurrent PATCHes run in 100 Lambda instances against a DynamoDB that serves them in parallel in milliseconds; here one process and one
// single-threaded engine (dynalite, or moto at about 150 calls a second) queue them, for seconds
// on a machine busy compiling. These tests check what concurrent writes do to the item, whatever
// the machine's load; faults_test.go checks the timeouts, and make bench the latency.
func concurrentServer(t *testing.T, w *world) *world {
	t.Helper()
	client, err := enginetest.NewClient(w.env.Engine.Endpoint)
	if err != nil {
		t.Fatalf("client for %s: %v", w.env.Engine.Name, err)
	}
	copied := *w
	copied.srv = w.env.NewServer(t, enginetest.WithClient(client))
	return &copied
}

// send is patch for any goroutine: it reports a failure to send instead of failing the test, and
// leaves checking the response to the caller.
func (w *world) send(ctx context.Context, id, body string, opts ...reqOption) (response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, w.srv.URL+"/v1/phone-numbers/"+id, strings.NewReader(body))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Authorization", "Bearer "+w.writeSecret)
	req.Header.Set("Content-Type", "application/json")
	for _, opt := range opts {
		opt(req)
	}
	start := time.Now()
	resp, err := unhurriedClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, header: resp.Header, body: raw, elapsed: time.Since(start)}, nil
}

// sendAll sends every body to number id at once (each request changed by opts), released
// together, and returns the responses in the order of bodies. It fails the test if any request
// could not be sent or the batch outlived concurrencyTimeout.
func (w *world) sendAll(t *testing.T, id string, bodies []string, opts ...reqOption) []response {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), concurrencyTimeout)
	defer cancel()
	responses := make([]response, len(bodies))
	errs := make([]error, len(bodies))
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i, body := range bodies {
		wg.Go(func() {
			<-release
			responses[i], errs[i] = w.send(ctx, id, body, opts...)
		})
	}
	start := time.Now()
	close(release)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d (%s): %v", i, bodies[i], err)
		}
		responses[i].checkAgainstDocument(t, http.MethodPatch, "/v1/phone-numbers/"+id)
	}
	slowest := slices.MaxFunc(responses, func(a, b response) int { return int(a.elapsed - b.elapsed) })
	t.Logf("%s: %d concurrent PATCHes answered in %s (slowest %s)", w.env.Engine.Name, len(bodies), time.Since(start).Round(time.Millisecond), slowest.elapsed.Round(time.Millisecond))
	return responses
}

// TestConcurrentPatchesOfDifferentFieldsLoseNothing sends 100 PATCHes of one number at once, 25
// for each updatable field with a value of its own: every one succeeds, each response shows its
// own write, and the stored item ends holding, for every field, one of the values written to it,
// whatever the interleaving. A read-modify-write of the whole item would lose fields here.
func TestConcurrentPatchesOfDifferentFieldsLoseNothing(t *testing.T) {
	t.Parallel()
	const perField = 25
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := concurrentServer(t, newWorld(t, env))
		campaigns := []string{w.activeCampaign, w.activeCampaign2}
		for range 3 {
			c := phonenumbers.Campaign{ID: phonenumberstest.NewUUID(), OrgID: orgA, Status: phonenumbers.CampaignActive}
			env.PutCampaign(t, c)
			campaigns = append(campaigns, c.ID)
		}
		n := w.putNumber(t, bare)
		before := env.GetPhoneNumberItem(t, n.ID)

		type write struct{ field, value string }
		var writes []write
		written := map[string][]string{}
		for i := range perField {
			for _, wr := range []write{
				{"inbound_url", fmt.Sprintf("https://in-%02d.example/inbound", i)},
				{"status_url", fmt.Sprintf("https://status-%02d.example/status", i)},
				{"label", fmt.Sprintf("label %02d", i)},
				{"campaign_id", campaigns[i%len(campaigns)]},
			} {
				writes = append(writes, wr)
				written[wr.field] = append(written[wr.field], wr.value)
			}
		}
		bodies := make([]string, len(writes))
		for i, wr := range writes {
			bodies[i] = `{` + jsonString(wr.field) + `:` + jsonString(wr.value) + `}`
		}

		start := time.Now()
		responses := w.sendAll(t, n.ID, bodies)
		end := time.Now()

		for i, r := range responses {
			if r.status != http.StatusOK {
				t.Errorf("PATCH %s: status %d, want 200; body %s", bodies[i], r.status, r.body)
				continue
			}
			data := successData(t, r)
			for field, values := range written {
				if data[field] == nil {
					continue // not written yet when this PATCH ran: the number started bare
				}
				if got, _ := data[field].(string); !slices.Contains(values, got) {
					t.Errorf("PATCH %s answered %s = %v, want one of the values written to it", bodies[i], field, data[field])
				}
			}
			// Unique values always change the item, so the answer is the item right after this
			// very write. (A campaign may be written twice; a repeat is a no-op answered with the
			// item as it is then.) Each engine applies an item's writes one at a time, as
			// DynamoDB does (moto only behind local/moto_server.py's lock).
			if wr := writes[i]; wr.field != "campaign_id" && data[wr.field] != wr.value {
				t.Errorf("PATCH %s answered %s = %v, want its own value", bodies[i], wr.field, data[wr.field])
			}
		}

		after := env.GetPhoneNumberItem(t, n.ID)
		// Every write of a unique value changed the number; a repeated campaign may not have.
		if got, least := version(t, after), len(writes)-perField; got < least || got > len(writes) {
			t.Errorf("stored version = %d, want one per write that changed the number: %d to %d", got, least, len(writes))
		}
		for _, name := range sortedKeys(mergeKeys(before, after)) {
			got, _ := stringAttr(after, name)
			switch values, patched := written[name]; {
			case name == "updated_at":
				checkNow(t, got, start, end)
			case name == "version", name == "write_id":
			case patched:
				if !slices.Contains(values, got) {
					t.Errorf("stored %s = %s, want one of the values written to it", name, avString(after[name]))
				}
			default:
				if avString(after[name]) != avString(before[name]) {
					t.Errorf("stored %s = %s, want it untouched: %s", name, avString(after[name]), avString(before[name]))
				}
			}
		}
	})
}

// TestConcurrentNoOpPatchesChangeNothing sends 100 PATCHes at once whose values all equal the
// stored ones: every one succeeds with the stored resource, and the item, updated_at included,
// is exactly as it was.
func TestConcurrentNoOpPatchesChangeNothing(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := concurrentServer(t, newWorld(t, env))
		n := w.putNumber(t, nil)
		before := env.GetPhoneNumberItem(t, n.ID)
		noOps := []string{
			`{}`,
			`{"inbound_url":null,"status_url":null,"label":null,"campaign_id":null}`,
			`{"inbound_url":` + jsonString(*n.InboundURL) + `}`,
			`{"label":` + jsonString(*n.Label) + `}`,
			`{"campaign_id":"` + *n.CampaignID + `"}`,
			`{"campaign_id":"` + strings.ToUpper(*n.CampaignID) + `"}`,
			`{"status_url":""}`,
			`{"inbound_url":` + jsonString(*n.InboundURL) + `,"status_url":"","label":` + jsonString(*n.Label) + `,"campaign_id":"` + *n.CampaignID + `"}`,
		}
		bodies := make([]string, 100)
		for i := range bodies {
			bodies[i] = noOps[i%len(noOps)]
		}

		responses := w.sendAll(t, n.ID, bodies)

		for i, r := range responses {
			if r.status != http.StatusOK {
				t.Errorf("PATCH %s: status %d, want 200; body %s", bodies[i], r.status, r.body)
				continue
			}
			checkSuccess(t, r, before)
		}
		if got, want := itemString(env.GetPhoneNumberItem(t, n.ID)), itemString(before); got != want {
			t.Errorf("stored item changed:\nbefore %s\nafter  %s", want, got)
		}
	})
}

// successData returns the data member of a 200's body.
func successData(t *testing.T, r response) map[string]any {
	t.Helper()
	var body struct {
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	return body.Data
}
