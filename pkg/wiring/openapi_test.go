package wiring_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/enginetest"
	"github.com/sms-platform/phone-numbers/local/fixtures"
	"github.com/sms-platform/phone-numbers/local/openapitest"
)

// The demo number and the demo read-write key of local/fixtures/demo.json, which the OpenAPI
// document's examples use.
const (
	demoNumberID = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
	demoSecret   = "am_live_hHXcehB3VI3Z8RXHOOiVyw8ZGNXksFuA0Wn16LK6"
)

// TestDocumentRequestExamplesRunThroughTheHandler sends each request example of the OpenAPI
// document to the demo number as freshly seeded from the demo fixtures. Each must be a 200 (valid
// against the document, like every response here), and the 200 example of the same name must be
// exactly the handler's answer, updated_at aside: the examples are real answers, and stay so.
func TestDocumentRequestExamplesRunThroughTheHandler(t *testing.T) {
	t.Parallel()
	doc, err := openapitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	path := "/v1/phone-numbers/" + demoNumberID
	requests, err := doc.RequestExamples(http.MethodPatch, path)
	if err != nil {
		t.Fatal(err)
	}
	answers, err := doc.ResponseExamples(http.MethodPatch, path, http.StatusOK)
	if err != nil {
		t.Fatal(err)
	}
	for name := range answers {
		if _, ok := requests[name]; !ok {
			t.Errorf("the 200 example %q has no request example of the same name to check it with", name)
		}
	}
	root, err := engine.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	demo, err := fixtures.Load(filepath.Join(root, "local", "fixtures", "demo.json"))
	if err != nil {
		t.Fatal(err)
	}

	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		// Generous storage timeouts: this test is about the examples, not about a loaded machine.
		w := concurrentServer(t, &world{env: env, writeSecret: demoSecret})
		// One at a time: each example meets the demo number as seeded.
		for _, name := range slices.Sorted(maps.Keys(requests)) {
			t.Run(name, func(t *testing.T) {
				if err := fixtures.Seed(t.Context(), env.Client, env.Tables, demo); err != nil {
					t.Fatal(err)
				}
				r := w.patch(t, demoNumberID, string(requests[name]))
				if r.status != http.StatusOK {
					t.Fatalf("status %d, want 200; body %s", r.status, r.body)
				}
				want, ok := answers[name]
				if !ok {
					return
				}
				got, wantData := withoutUpdatedAt(t, r.body), withoutUpdatedAt(t, want)
				if !reflect.DeepEqual(got, wantData) {
					t.Errorf("the handler answers\n%s\nbut the document's 200 example %q is\n%s", r.body, name, want)
				}
			})
		}
	})
}

// withoutUpdatedAt decodes a success envelope and drops data.updated_at, the time of the run.
func withoutUpdatedAt(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var envelope map[string]any
	if err := json.Unmarshal(body, &envelope); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if data, ok := envelope["data"].(map[string]any); ok {
		delete(data, "updated_at")
	}
	return envelope
}
