package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sms-platform/phone-numbers/local/emfcheck"
	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/enginetest"
	"github.com/sms-platform/phone-numbers/local/fixtures"
	"github.com/sms-platform/phone-numbers/local/gobuild"
	"github.com/sms-platform/phone-numbers/local/localconfig"
	"github.com/sms-platform/phone-numbers/local/openapitest"
	"github.com/sms-platform/phone-numbers/local/rie"
	"github.com/sms-platform/phone-numbers/pkg/apigw"
)

// demoNumberID is the demo number of organization 1111… in local/fixtures/demo.json, which the
// events in events/ update.
const demoNumberID = "497f6eca-6276-4993-bfeb-53cbbbba6f08"

// outcome is what one event in events/ must produce against freshly seeded demo fixtures.
type outcome struct {
	status int
	// For 200: the fields that differ from the demo number as seeded. updated_at is checked
	// apart: every 200 event here changes a stored value, so it must become the current time.
	changes map[string]any
	// For errors: the error member of the envelope, request_id aside.
	code, message string
	details       map[string]string
}

// eventOutcomes has an entry for every file in events/: a file without one fails the test, and so
// does an entry without a file.
var eventOutcomes = map[string]outcome{
	"update-success.json": {status: 200, changes: map[string]any{
		"inbound_url": "https://customer.example/v2/inbound",
		"label":       "Support line (EU)",
	}},
	"clear-field.json":     {status: 200, changes: map[string]any{"label": nil}},
	"attach-campaign.json": {status: 200, changes: map[string]any{"campaign_id": "78614b6c-fe7c-41e2-8e25-c9b3a3c91904"}},
	"base64-body.json":     {status: 200, changes: map[string]any{"status_url": "https://customer.example/v2/status"}},
	"unsupported-field.json": {status: 400, code: "INVALID_INPUT",
		message: `unsupported members "number", "sms_enabled"; updatable members are "inbound_url", "status_url", "label", "campaign_id"`},
	"bad-url.json": {status: 422, code: "VALIDATION_FAILED", message: "validation failed", details: map[string]string{
		"inbound_url": "must use https://",
		"status_url":  "host must be publicly routable",
	}},
	"missing-key.json":     {status: 401, code: "UNAUTHORIZED", message: "authentication failed"},
	"missing-scope.json":   {status: 403, code: "FORBIDDEN", message: "missing required scope"},
	"unknown-number.json":  {status: 404, code: "NOT_FOUND", message: "not found"},
	"malformed-event.json": {status: 400, code: "INVALID_INPUT", message: "request could not be read"},
}

// TestEventsUnderTheLambdaEmulator builds the real bootstrap, runs it under aws-lambda-rie (what
// sam local invoke runs) against dynalite seeded with the demo fixtures, and invokes it with every
// event in events/, checking the response each produces.
func TestEventsUnderTheLambdaEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the bootstrap and starts dynalite and the Lambda emulator; skipped with -short")
	}
	t.Parallel()
	ctx := t.Context()
	root, err := engine.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	eventsDir := filepath.Join(root, "events")
	files := eventFiles(t, eventsDir)
	for _, name := range files {
		if _, ok := eventOutcomes[name]; !ok {
			t.Errorf("events/%s has no entry in eventOutcomes: add its expected status and body", name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(eventOutcomes)) {
		if !slices.Contains(files, name) {
			t.Errorf("eventOutcomes has %s, but events/ has no such file", name)
		}
	}

	demo, err := fixtures.Load(filepath.Join(root, "local", "fixtures", "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	demoNumber := seededNumber(t, demo, demoNumberID)

	setupStart := time.Now()
	rieBin := ensureRIE(t, root)
	bootstrap := buildBootstrap(t, root)
	built := time.Now()
	db, err := engine.StartDynalite(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Stop)
	client, err := enginetest.NewClient(db.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	tables := localconfig.Tables // a fresh dynalite: these tables are this test's alone
	if err := engine.CreateTables(ctx, client, tables); err != nil {
		t.Fatal(err)
	}

	var output enginetest.LockedBuffer
	emulatorEnv := rie.FunctionEnv(db.Endpoint, tables)
	emulator, err := rie.Start(ctx, rie.Options{
		RIE:       rieBin,
		Bootstrap: bootstrap,
		Env:       emulatorEnv,
		Output:    &output,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("setup: bootstrap built in %s, dynalite and emulator ready in %s",
		built.Sub(setupStart).Round(time.Millisecond), time.Since(built).Round(time.Millisecond))
	t.Cleanup(func() {
		emulator.Stop()
		if t.Failed() {
			t.Logf("emulator and function output:\n%s", output.String())
		}
	})

	// One subtest at a time: the emulator serves one invocation at a time.
	for _, name := range files {
		want, ok := eventOutcomes[name]
		if !ok {
			continue
		}
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			// Seeding puts every fixture item back whole, undoing what earlier events changed, so
			// each event meets the demo data as seeded, whatever the order.
			if err := fixtures.Seed(ctx, client, tables, demo); err != nil {
				t.Fatal(err)
			}
			event, err := os.ReadFile(filepath.Join(eventsDir, name))
			if err != nil {
				t.Fatal(err)
			}
			invokeCtx, cancel := context.WithTimeout(ctx, localconfig.FunctionTimeout+10*time.Second)
			defer cancel()
			before := time.Now().UTC().Truncate(time.Second)
			payload, err := emulator.Invoke(invokeCtx, event)
			if err != nil {
				t.Fatalf("invoke: %v", err)
			}
			after := time.Now().UTC()
			checkResponse(t, payload, want, demoNumber, before, after)
			validateAgainstDocument(t, event, payload)
		})
	}

	// The function's log lines reach output behind the invokes; stopping the emulator waits for
	// every one of them.
	emulator.Stop()

	t.Run("a malformed event is logged with its cause", func(t *testing.T) {
		if !strings.Contains(output.String(), `"level":"WARN","msg":"request"`) || !strings.Contains(output.String(), "malformed event: json: cannot unmarshal object") {
			t.Errorf("no WARN request line names the malformed event's cause in the function's output")
		}
	})

	// Each invoke's request log line is what CloudWatch will read the request metrics from.
	t.Run("request log lines are EMF documents", func(t *testing.T) {
		var checked int
		for _, line := range strings.Split(output.String(), "\n") {
			if !strings.Contains(line, `"msg":"request"`) {
				continue
			}
			checked++
			metrics, err := emfcheck.Check([]byte(line))
			if err != nil {
				t.Errorf("request log line is not valid EMF: %v\n%s", err, line)
				continue
			}
			for _, m := range metrics {
				if m.Namespace != apigw.MetricsNamespace || m.Dimensions[apigw.DimensionFunction] != emulatorEnv[lambdaFunctionNameVar] {
					t.Errorf("metric %s in namespace %s with dimensions %v; want namespace %s and the function's name %q",
						m.Name, m.Namespace, m.Dimensions, apigw.MetricsNamespace, emulatorEnv[lambdaFunctionNameVar])
				}
			}
		}
		if checked != len(files) {
			t.Errorf("found %d request log lines in the output, want one per event (%d)", checked, len(files))
		}
	})

	t.Run("function logs carry no secret", func(t *testing.T) {
		logs := output.String()
		for _, k := range demo.APIKeys {
			if leak, ok := enginetest.Leaked(logs, k.Secret); ok {
				t.Errorf("output contains %q, a piece of the secret of key %s or of its hash", leak, k.ID)
			}
		}
	})
}

// lambdaFunctionNameVar is the variable Lambda sets to the function's name, which the request
// metrics take as their function dimension.
const lambdaFunctionNameVar = "AWS_LAMBDA_FUNCTION_NAME"

// validateAgainstDocument holds the function's response to the OpenAPI document.
func validateAgainstDocument(t *testing.T, eventJSON, payload []byte) {
	t.Helper()
	// Only the request line: some events are malformed on purpose in other members.
	var event struct {
		RawPath        string `json:"rawPath"`
		RequestContext struct {
			Stage string `json:"stage"`
			HTTP  struct {
				Method string `json:"method"`
			} `json:"http"`
		} `json:"requestContext"`
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(eventJSON, &event); err != nil {
		t.Fatalf("event: %v", err)
	}
	if err := json.Unmarshal(payload, &resp); err != nil {
		t.Fatalf("response: %v", err)
	}
	header := http.Header{}
	for name, value := range resp.Headers {
		header.Add(name, value)
	}
	for name, values := range resp.MultiValueHeaders {
		for _, value := range values {
			header.Add(name, value)
		}
	}
	// The raw path starts with the stage's name, unless the stage is $default; the document's
	// paths are the routes'.
	path := strings.TrimPrefix(event.RawPath, "/"+event.RequestContext.Stage)
	openapitest.ValidateResponse(t, event.RequestContext.HTTP.Method, path, resp.StatusCode, header, []byte(resp.Body))
}

var requestIDPattern = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{26}$`) // a ULID

// checkResponse checks the function's response against want: status, the contract's headers, and
// the envelope.
func checkResponse(t *testing.T, payload []byte, want outcome, demoNumber map[string]any, before, after time.Time) {
	t.Helper()
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(payload, &resp); err != nil {
		t.Fatalf("response is not an HTTP API response: %v\n%s", err, payload)
	}
	if resp.StatusCode != want.status {
		t.Errorf("status: got %d, want %d; body %s", resp.StatusCode, want.status, resp.Body)
	}
	if resp.IsBase64Encoded {
		t.Errorf("isBase64Encoded: got true, want a plain JSON body")
	}
	wantHeaders := map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"}
	if want.status == 401 {
		wantHeaders["WWW-Authenticate"] = "Bearer"
	}
	if want.status == 200 {
		// Every 200 event changes the demo number, stored without a version (0): now version 1.
		wantHeaders["ETag"] = `"1"`
	} else if etag, ok := resp.Headers["ETag"]; ok {
		t.Errorf("header ETag: got %q on a %d, want none", etag, want.status)
	}
	for name, value := range wantHeaders {
		if got := resp.Headers[name]; got != value {
			t.Errorf("header %s: got %q, want %q", name, got, value)
		}
	}
	requestID := resp.Headers["X-Request-Id"]
	if !requestIDPattern.MatchString(requestID) {
		t.Errorf("header X-Request-Id: got %q, want a ULID", requestID)
	}

	var body struct {
		Success *bool          `json:"success"`
		Data    map[string]any `json:"data"`
		Error   *struct {
			Code      string            `json:"code"`
			Message   string            `json:"message"`
			RequestID string            `json:"request_id"`
			Details   map[string]string `json:"details"`
		} `json:"error"`
	}
	dec := json.NewDecoder(strings.NewReader(resp.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("body is not the contract's envelope: %v\n%s", err, resp.Body)
	}
	if body.Success == nil || *body.Success != (want.status == 200) {
		t.Errorf("success: got %v, want %v", fmtPtr(body.Success), want.status == 200)
	}

	if want.status != 200 {
		if body.Data != nil {
			t.Errorf("data: got %v, want none on an error", body.Data)
		}
		if body.Error == nil {
			t.Fatalf("error: missing; body %s", resp.Body)
		}
		if body.Error.Code != want.code || body.Error.Message != want.message {
			t.Errorf("error: got %s %q, want %s %q", body.Error.Code, body.Error.Message, want.code, want.message)
		}
		if !reflect.DeepEqual(body.Error.Details, want.details) {
			t.Errorf("error.details: got %v, want %v", body.Error.Details, want.details)
		}
		if body.Error.RequestID != requestID {
			t.Errorf("error.request_id: got %q, want the X-Request-Id header %q", body.Error.RequestID, requestID)
		}
		return
	}

	if body.Error != nil {
		t.Errorf("error: got %+v, want none on success", *body.Error)
	}
	wantData := maps.Clone(demoNumber)
	maps.Copy(wantData, want.changes)
	gotData := maps.Clone(body.Data)
	updatedAt, _ := gotData["updated_at"].(string)
	delete(gotData, "updated_at")
	if !reflect.DeepEqual(gotData, wantData) {
		t.Errorf("data:\n got %v\nwant %v", gotData, wantData)
	}
	if ts, err := time.Parse(time.RFC3339, updatedAt); err != nil || ts.Before(before) || ts.After(after) {
		t.Errorf("data.updated_at: got %q, want the time of the update, between %s and %s",
			updatedAt, before.Format(time.RFC3339), after.Format(time.RFC3339))
	}
}

// seededNumber returns the phone number id of f as the API shows it, updated_at aside: the
// fixture format uses the API's field names, plus org_id and version, which the body does not
// show.
func seededNumber(t *testing.T, f *fixtures.File, id string) map[string]any {
	t.Helper()
	for _, n := range f.PhoneNumbers {
		if n.ID != id {
			continue
		}
		encoded, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(encoded, &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "org_id")
		delete(m, "version") // sent as the ETag header, not in the body
		delete(m, "updated_at")
		return m
	}
	t.Fatalf("demo fixtures have no phone number %s, which the events update", id)
	return nil
}

func eventFiles(t *testing.T, dir string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no events in %s", dir)
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
	}
	slices.Sort(names)
	return names
}

// buildBootstrap builds this package as the Makefile's bin/local/bootstrap does: for Linux on
// this machine's architecture, as the emulator runs it.
func buildBootstrap(t *testing.T, root string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	if err := gobuild.Bootstrap(t.Context(), goTool(t), root, gobuild.FunctionPackage, runtime.GOARCH, out); err != nil {
		t.Fatalf("build bootstrap: %v", err)
	}
	return out
}

// ensureRIE returns local/bin/aws-lambda-rie, installing it first when it is missing.
func ensureRIE(t *testing.T, root string) string {
	t.Helper()
	bin, err := rie.Installed(root, goTool(t))
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if goroot := os.Getenv("GOROOT"); goroot != "" {
		return filepath.Join(goroot, "bin", "go")
	}
	t.Fatal("the go command is not on PATH")
	return ""
}

func fmtPtr[T any](p *T) string {
	if p == nil {
		return "absent"
	}
	return fmt.Sprint(*p)
}
