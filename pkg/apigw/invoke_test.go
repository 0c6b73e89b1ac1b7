package apigw_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sms-platform/phone-numbers/pkg/apigw"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

// lambda.Start runs a lambda.Handler through its Invoke, raw bytes in and out.
var _ lambda.Handler = (*apigw.Handler)(nil)

// TestInvokeAnswersMalformedEventsInTheEnvelope holds issue 11's finding 7: an event that the
// runtime's own decoding would refuse before any handler ran (a bare 502 at API Gateway, and
// nothing logged) is a 400 INVALID_INPUT in the contract's envelope, with one log line naming the
// cause, and the service is never asked.
func TestInvokeAnswersMalformedEventsInTheEnvelope(t *testing.T) {
	t.Parallel()
	valid, err := os.ReadFile(filepath.Join("testdata", baseEvent))
	if err != nil {
		t.Fatal(err)
	}
	// withMember replaces one top-level member of the valid event with raw JSON.
	withMember := func(name, raw string) string {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(valid, &m); err != nil {
			t.Fatal(err)
		}
		m[name] = json.RawMessage(raw)
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	tests := []struct {
		name    string
		payload string
	}{
		{name: "body as an object", payload: withMember("body", `{"label":"support-line"}`)},
		{name: "body as a number", payload: withMember("body", `42`)},
		{name: "isBase64Encoded as a string", payload: withMember("isBase64Encoded", `"true"`)},
		{name: "headers as an array", payload: withMember("headers", `["authorization"]`)},
		{name: "a header value as a number", payload: withMember("headers", `{"authorization":7}`)},
		{name: "pathParameters as a string", payload: withMember("pathParameters", `"497f6eca-6276-4993-bfeb-53cbbbba6f08"`)},
		{name: "requestContext as a string", payload: withMember("requestContext", `"ctx"`)},
		{name: "an array", payload: `[` + string(valid) + `]`},
		{name: "a string", payload: `"PATCH /v1/phone-numbers"`},
		{name: "a number", payload: `42`},
		{name: "null", payload: `null`},
		{name: "empty", payload: ``},
		{name: "whitespace", payload: " \n"},
		{name: "invalid JSON", payload: `{"version":"2.0",`},
		{name: "data after the event", payload: string(valid) + `{}`},
		{name: "not UTF-8 nor JSON", payload: "\xff\xfe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			updater := failWith(phonenumbers.NotFoundError())
			h, logs := newHandler(updater)
			out, err := lambda.NewHandler(h).Invoke(context.Background(), []byte(tt.payload))
			if err != nil {
				t.Fatalf("got error %v, want nil: an error is a bare 502 at API Gateway", err)
			}
			var resp events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatalf("got response %s, want an HTTP API response: %v", out, err)
			}
			checkErrorResponse(t, resp, http.StatusBadRequest, "INVALID_INPUT", "request could not be read", nil)
			for _, internal := range []string{"json", "unmarshal", "Go struct", "APIGatewayV2HTTPRequest", "decode", "event"} {
				if strings.Contains(strings.ToLower(resp.Body), strings.ToLower(internal)) {
					t.Errorf("got body %s, want nothing of the decoding's internals (%q)", resp.Body, internal)
				}
			}
			if n := len(updater.requests()); n != 0 {
				t.Errorf("the service was asked %d times, want never", n)
			}
			lines := logLines(t, logs)
			if len(lines) != 1 {
				t.Fatalf("got %d log lines, want 1:\n%s", len(lines), logs)
			}
			line := lines[0]
			requestID, _ := header(t, resp, "X-Request-Id")
			if line["level"] != "WARN" || line["status"] != float64(400) || line["error_code"] != "INVALID_INPUT" || line["request_id"] != requestID {
				t.Errorf("got log line %v, want WARN, status 400, INVALID_INPUT and request_id %s", line, requestID)
			}
			if cause, _ := line["error"].(string); !strings.Contains(cause, "malformed event") {
				t.Errorf("got log error %q, want the decoding's cause", cause)
			}
			if strings.Contains(logs.String(), eventSecret[len("am_live_"):]) {
				t.Errorf("got log holding the event's secret:\n%s", logs)
			}
		})
	}
}

// TestInvokeServesAWellFormedEventAsHandleDoes: the raw path and the typed path give the same
// answer, encoded with the runtime's JSON conventions (no HTML escaping).
func TestInvokeServesAWellFormedEventAsHandleDoes(t *testing.T) {
	t.Parallel()
	payload, err := os.ReadFile(filepath.Join("testdata", baseEvent))
	if err != nil {
		t.Fatal(err)
	}
	number := phonenumbers.PhoneNumber{ID: numberID, OrgID: orgID, Number: "+14155550123", NumberType: phonenumbers.NumberTypeLocal,
		Label: ptr("<b>&</b>"), Version: 2}
	h, _ := newHandler(succeedWith(number))
	raw, err := h.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("Invoke: got error %v", err)
	}
	viaRuntime, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("runtime decoding: got error %v", err)
	}
	// The same bytes, the request ids aside (they differ by design).
	var got, want events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(viaRuntime, &want); err != nil {
		t.Fatal(err)
	}
	gotBytes := strings.ReplaceAll(string(raw), got.Headers["X-Request-Id"], "<id>")
	wantBytes := strings.ReplaceAll(string(viaRuntime), want.Headers["X-Request-Id"], "<id>")
	if got.StatusCode != http.StatusOK || got.Headers["ETag"] != `"2"` || gotBytes != wantBytes {
		t.Errorf("Invoke gave\n\t%s\nwant what the runtime's decoding gives, a 200 with ETag \"2\":\n\t%s", gotBytes, wantBytes)
	}
}
