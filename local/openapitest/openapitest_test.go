package openapitest_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sms-platform/phone-numbers/local/openapitest"
)

const (
	demoPath   = "/v1/phone-numbers/497f6eca-6276-4993-bfeb-53cbbbba6f08"
	demoSecret = "am_live_hHXcehB3VI3Z8RXHOOiVyw8ZGNXksFuA0Wn16LK6"
	requestID  = "01M8VM7ZPQHFATY7CTV3SKNZAE"
)

// contractStatuses is every status of contract §2 and §8.
var contractStatuses = []int{200, 400, 401, 403, 404, 409, 412, 413, 415, 422, 500, 503}

func load(t *testing.T) *openapitest.Document {
	t.Helper()
	d, err := openapitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// contractHeaders are the headers the contract puts on a response of status with requestID.
func contractHeaders(status int, requestID string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Request-Id", requestID)
	switch status {
	case http.StatusOK, http.StatusPreconditionFailed:
		h.Set("ETag", `"1"`)
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", "Bearer")
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", "1")
	}
	return h
}

func TestEveryContractStatusIsDocumentedWithAnExample(t *testing.T) {
	d := load(t)
	statuses, err := d.ResponseStatuses(http.MethodPatch, demoPath)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(statuses, contractStatuses) {
		t.Errorf("documented statuses %v, want the contract's %v", statuses, contractStatuses)
	}
	for _, status := range contractStatuses {
		examples, err := d.ResponseExamples(http.MethodPatch, demoPath, status)
		if err != nil {
			t.Errorf("%d: %v", status, err)
			continue
		}
		if len(examples) == 0 {
			t.Errorf("%d: no example", status)
		}
	}
}

// TestResponseExamplesPassTheValidator holds the validator and the examples to each other: every
// example, sent with the contract's headers, is a valid response.
func TestResponseExamplesPassTheValidator(t *testing.T) {
	d := load(t)
	for _, status := range contractStatuses {
		examples, err := d.ResponseExamples(http.MethodPatch, demoPath, status)
		if err != nil {
			t.Fatal(err)
		}
		for name, body := range examples {
			var envelope struct {
				Error struct {
					RequestID string `json:"request_id"`
				} `json:"error"`
			}
			if err := json.Unmarshal(body, &envelope); err != nil {
				t.Fatal(err)
			}
			id := envelope.Error.RequestID
			if id == "" {
				id = requestID
			}
			if err := d.CheckResponse(http.MethodPatch, demoPath, status, contractHeaders(status, id), body); err != nil {
				t.Errorf("%d example %q: %v", status, name, err)
			}
		}
	}
}

// TestBrokenResponsesAreRejected proves that the validator can fail: each case breaks one rule of
// the document in an otherwise valid response.
func TestBrokenResponsesAreRejected(t *testing.T) {
	d := load(t)
	notFound := `{"success":false,"error":{"code":"NOT_FOUND","message":"not found","request_id":"` + requestID + `"}}`
	successes, err := d.ResponseExamples(http.MethodPatch, demoPath, 200)
	if err != nil {
		t.Fatal(err)
	}
	success := string(successes["update-routing"])
	if success == "" {
		t.Fatal("no 200 example update-routing")
	}
	type response struct {
		status int
		header http.Header
		body   string
	}
	valid404 := func() response { return response{404, contractHeaders(404, requestID), notFound} }
	valid200 := func() response { return response{200, contractHeaders(200, requestID), success} }
	withHeader := func(r response, name, value string) response { r.header.Set(name, value); return r }
	withoutHeader := func(r response, name string) response { r.header.Del(name); return r }
	withBody := func(r response, old, new string) response {
		if !strings.Contains(r.body, old) {
			t.Fatalf("body %s has no %q to replace", r.body, old)
		}
		r.body = strings.Replace(r.body, old, new, 1)
		return r
	}

	for _, tc := range []struct {
		name string
		resp response
		want string // a fragment of the error
	}{
		{"undocumented status", response{418, contractHeaders(418, requestID), notFound}, "status is not supported"},
		{"wrong code for the status", withBody(valid404(), `"NOT_FOUND"`, `"FORBIDDEN"`), "code"},
		{"wrong message for the status", withBody(valid404(), `"not found"`, `"no such number"`), "message"},
		{"details where the status has none", withBody(valid404(), `"}}`, `","details":{"id":"x"}}}`), "details"},
		{"extra envelope member", withBody(valid404(), `{"success":false`, `{"success":false,"data":null`), "data"},
		{"success true on an error", withBody(valid404(), `"success":false`, `"success":true`), "success"},
		{"request id not a ULID", withHeader(withBody(valid404(), requestID, "req-1"), "X-Request-Id", "req-1"), "X-Request-Id"},
		{"request id differs from the header", withBody(valid404(), requestID, "01M8VM7ZPQHFATY7CTV3SKNZAF"), "differs from the X-Request-Id header"},
		{"missing X-Request-Id", withoutHeader(valid404(), "X-Request-Id"), "X-Request-Id"},
		{"missing Cache-Control", withoutHeader(valid404(), "Cache-Control"), "Cache-Control"},
		{"cacheable", withHeader(valid404(), "Cache-Control", "max-age=60"), "Cache-Control"},
		{"Content-Type with a charset", withHeader(valid404(), "Content-Type", "application/json; charset=utf-8"), "Content-Type"},
		{"Content-Type not JSON", withHeader(valid404(), "Content-Type", "text/plain"), "text/plain"},
		{"ETag on a 404", withHeader(valid404(), "ETag", `"1"`), "ETag is sent, but the document declares it only for other statuses"},
		{"Retry-After on a 404", withHeader(valid404(), "Retry-After", "1"), "Retry-After"},
		{"401 without WWW-Authenticate", response{401, withoutHeader(valid404(), "WWW-Authenticate").header,
			`{"success":false,"error":{"code":"UNAUTHORIZED","message":"authentication failed","request_id":"` + requestID + `"}}`}, "WWW-Authenticate"},
		{"503 Retry-After not seconds", response{503, withHeader(valid404(), "Retry-After", "soon").header,
			`{"success":false,"error":{"code":"SERVICE_UNAVAILABLE","message":"retry later","request_id":"` + requestID + `"}}`}, "Retry-After"},
		{"200 weak ETag", withHeader(valid200(), "ETag", `W/"1"`), "ETag"},
		{"200 without ETag", withoutHeader(valid200(), "ETag"), "ETag"},
		{"412 without ETag", response{412, withoutHeader(valid404(), "ETag").header,
			`{"success":false,"error":{"code":"PRECONDITION_FAILED","message":"precondition failed","request_id":"` + requestID + `"}}`}, "ETag"},
		{"200 missing a member", withBody(valid200(), `"status_url":null,`, ``), "status_url"},
		{"200 unknown number_type", withBody(valid200(), `"number_type":"local"`, `"number_type":"mobile"`), "number_type"},
		{"200 timestamp not UTC seconds", withBody(valid200(), `"created_at":"2026-04-26T12:00:00Z"`, `"created_at":"2026-04-26T14:00:00.5+02:00"`), "created_at"},
		{"200 upper-case id", withBody(valid200(), `"497f6eca-`, `"497F6ECA-`), "id"},
		{"200 extra member", withBody(valid200(), `"sms_enabled"`, `"org_id":"11111111-1111-4111-8111-111111111111","sms_enabled"`), "org_id"},
		{"not JSON", withBody(valid404(), `{"success"`, `{success`), "decode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := d.CheckResponse(http.MethodPatch, demoPath, tc.resp.status, tc.resp.header, []byte(tc.resp.body))
			if err == nil {
				t.Fatalf("accepted:\n%v\n%s", tc.resp.header, tc.resp.body)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not mention %q:\n%v", tc.want, err)
			}
		})
	}

	t.Run("unknown route", func(t *testing.T) {
		for _, path := range []string{"/v1/phone-numbers", "/v1/phone-numbers/a/b", "/v2/phone-numbers/x"} {
			if err := d.CheckResponse(http.MethodPatch, path, 404, contractHeaders(404, requestID), []byte(notFound)); err == nil {
				t.Errorf("%s: accepted", path)
			}
		}
		if err := d.CheckResponse(http.MethodGet, demoPath, 404, contractHeaders(404, requestID), []byte(notFound)); err == nil {
			t.Errorf("GET: accepted")
		}
	})

	t.Run("ValidateResponse reports through t", func(t *testing.T) {
		var rec recorder
		openapitest.ValidateResponse(&rec, http.MethodPatch, demoPath, 404, withoutHeader(valid404(), "X-Request-Id").header, []byte(notFound))
		if !rec.failed || !strings.Contains(rec.msg, "X-Request-Id") {
			t.Errorf("ValidateResponse of a broken response: failed %v, message %q", rec.failed, rec.msg)
		}
		rec = recorder{}
		r := valid404()
		openapitest.ValidateResponse(&rec, http.MethodPatch, demoPath, r.status, r.header, []byte(r.body))
		if rec.failed {
			t.Errorf("ValidateResponse of a valid response failed: %s", rec.msg)
		}
	})
}

// recorder is a testing.TB that records instead of failing.
type recorder struct {
	testing.TB
	failed bool
	msg    string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = true
	r.msg += fmt.Sprintf(format, args...)
}
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...) }

func requestHeader() http.Header {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+demoSecret)
	h.Set("Content-Type", "application/json")
	return h
}

func TestRequestExamplesMatchTheRequestSchema(t *testing.T) {
	d := load(t)
	bodies, err := d.RequestExamples(http.MethodPatch, demoPath)
	if err != nil {
		t.Fatal(err)
	}
	ifMatches, err := d.HeaderExamples(http.MethodPatch, demoPath, "If-Match")
	if err != nil {
		t.Fatal(err)
	}
	if len(bodies) == 0 || len(ifMatches) == 0 {
		t.Fatalf("%d body and %d If-Match examples, want some of each", len(bodies), len(ifMatches))
	}
	for _, name := range slices.Sorted(maps.Keys(bodies)) {
		if err := d.CheckRequest(http.MethodPatch, demoPath, requestHeader(), bodies[name]); err != nil {
			t.Errorf("body example %s %s: %v", name, bodies[name], err)
		}
	}
	// Forms RFC 9110 allows beyond the examples: empty list elements, whitespace, any etagc.
	ifMatches["empty elements"] = `"1", , "2",`
	ifMatches["weak and opaque tags"] = ` W/"1",  "abc" `
	for _, name := range slices.Sorted(maps.Keys(ifMatches)) {
		h := requestHeader()
		h.Set("If-Match", ifMatches[name])
		if err := d.CheckRequest(http.MethodPatch, demoPath, h, []byte(`{}`)); err != nil {
			t.Errorf("If-Match example %s %s: %v", name, ifMatches[name], err)
		}
	}
}

// TestBrokenRequestsAreRejected proves the request schema can fail, on each rule it encodes.
func TestBrokenRequestsAreRejected(t *testing.T) {
	d := load(t)
	for _, tc := range []struct {
		name, path, body, ifMatch, auth string
	}{
		{name: "unsupported member", body: `{"number":"+14155550100"}`},
		{name: "label not a string", body: `{"label":5}`},
		{name: "label too long", body: `{"label":"` + strings.Repeat("a", 256) + `"}`},
		{name: "label with a control character", body: `{"label":"a\u0007b"}`},
		{name: "campaign_id empty", body: `{"campaign_id":""}`},
		{name: "campaign_id not a UUID", body: `{"campaign_id":"campaign-1"}`},
		{name: "inbound_url not https", body: `{"inbound_url":"http://customer.example/in"}`},
		{name: "status_url with a space", body: `{"status_url":"https://customer.example/a b"}`},
		{name: "inbound_url too long", body: `{"inbound_url":"https://customer.example/` + strings.Repeat("a", 2030) + `"}`},
		{name: "body not an object", body: `[]`},
		{name: "path id not a UUID", path: "/v1/phone-numbers/not-a-uuid", body: `{}`},
		{name: "If-Match unquoted", body: `{}`, ifMatch: `7`},
		{name: "If-Match without a comma between tags", body: `{}`, ifMatch: `"7" "8"`},
		{name: "If-Match weak prefix without a slash", body: `{}`, ifMatch: `W"7"`},
		{name: "If-Match of commas only", body: `{}`, ifMatch: `, ,`},
		{name: "If-Match star in a list", body: `{}`, ifMatch: `*, "7"`},
		{name: "Basic authentication", body: `{}`, auth: "Basic dXNlcjpwYXNz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := demoPath
			if tc.path != "" {
				path = tc.path
			}
			h := requestHeader()
			if tc.ifMatch != "" {
				h.Set("If-Match", tc.ifMatch)
			}
			if tc.auth != "" {
				h.Set("Authorization", tc.auth)
			}
			if err := d.CheckRequest(http.MethodPatch, path, h, []byte(tc.body)); err == nil {
				t.Errorf("accepted %s with If-Match %q", tc.body, tc.ifMatch)
			}
		})
	}
}
