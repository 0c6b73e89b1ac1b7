package localapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sms-platform/phone-numbers/local/localapi"
	"github.com/sms-platform/phone-numbers/local/localconfig"
)

// recorder is a handler that remembers the event and context deadline it was invoked with, and
// answers resp, or raw when that is set, or err.
type recorder struct {
	event    events.APIGatewayV2HTTPRequest
	deadline time.Time
	calls    int
	resp     events.APIGatewayV2HTTPResponse
	raw      []byte
	err      error
}

func (r *recorder) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	r.calls++
	if err := json.Unmarshal(payload, &r.event); err != nil {
		return nil, fmt.Errorf("recorder: the server sent an event that is not JSON: %w", err)
	}
	r.deadline, _ = ctx.Deadline()
	if r.err != nil || r.raw != nil {
		return r.raw, r.err
	}
	return json.Marshal(r.resp)
}

func serve(t *testing.T, rec *recorder, req *http.Request) *http.Response {
	t.Helper()
	w := httptest.NewRecorder()
	localapi.New(rec, localconfig.FunctionTimeout).ServeHTTP(w, req)
	return w.Result()
}

func TestRequestBecomesTheEventAPIGatewaySends(t *testing.T) {
	t.Parallel()
	rec := &recorder{resp: events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "{}"}}
	req := httptest.NewRequest(http.MethodPatch, "/v1/phone-numbers/497f6eca-6276-4993-bfeb-53cbbbba6f08?a=1&a=2", strings.NewReader(`{"label":"x"}`))
	req.Header.Set("Authorization", "Bearer am_live_x")
	req.Header.Add("X-Forwarded-For", "1.1.1.1")
	req.Header.Add("X-Forwarded-For", "2.2.2.2")
	req.AddCookie(&http.Cookie{Name: "c", Value: "v"})
	start := time.Now()
	serve(t, rec, req)
	end := time.Now()

	e := rec.event
	checks := []struct {
		name      string
		got, want any
	}{
		{"version", e.Version, "2.0"},
		{"route key", e.RouteKey, localapi.RouteKey},
		{"request context route key", e.RequestContext.RouteKey, localapi.RouteKey},
		{"path parameter", e.PathParameters["id"], "497f6eca-6276-4993-bfeb-53cbbbba6f08"},
		{"method", e.RequestContext.HTTP.Method, http.MethodPatch},
		{"raw path", e.RawPath, "/v1/phone-numbers/497f6eca-6276-4993-bfeb-53cbbbba6f08"},
		{"raw query", e.RawQueryString, "a=1&a=2"},
		{"query joined with commas", e.QueryStringParameters["a"], "1,2"},
		{"header names lower-cased", e.Headers["authorization"], "Bearer am_live_x"},
		{"repeated headers joined with commas", e.Headers["x-forwarded-for"], "1.1.1.1,2.2.2.2"},
		{"cookies moved out of headers", e.Headers["cookie"], ""},
		{"cookies", strings.Join(e.Cookies, ";"), "c=v"},
		{"body", e.Body, `{"label":"x"}`},
		{"text body not base64", e.IsBase64Encoded, false},
		{"request id set", e.RequestContext.RequestID != "", true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if earliest, latest := start.Add(localconfig.FunctionTimeout), end.Add(localconfig.FunctionTimeout); rec.deadline.Before(earliest) || rec.deadline.After(latest) {
		t.Errorf("deadline: got %v, want the function's timeout (%v) after the request, between %v and %v",
			rec.deadline, localconfig.FunctionTimeout, earliest, latest)
	}
}

func TestBinaryBodyArrivesBase64Encoded(t *testing.T) {
	t.Parallel()
	rec := &recorder{resp: events.APIGatewayV2HTTPResponse{StatusCode: 200}}
	body := []byte{0xff, 0xfe, '{', '}'}
	serve(t, rec, httptest.NewRequest(http.MethodPatch, "/v1/phone-numbers/x", strings.NewReader(string(body))))
	if !rec.event.IsBase64Encoded {
		t.Fatalf("IsBase64Encoded: got false, want true for a non-UTF-8 body")
	}
	if got, want := rec.event.Body, base64.StdEncoding.EncodeToString(body); got != want {
		t.Errorf("body: got %q, want %q", got, want)
	}
}

func TestResponseIsWrittenBack(t *testing.T) {
	t.Parallel()
	rec := &recorder{resp: events.APIGatewayV2HTTPResponse{
		StatusCode:        422,
		Headers:           map[string]string{"Content-Type": "application/json", "X-Request-Id": "01J"},
		MultiValueHeaders: map[string][]string{"Vary": {"a", "b"}},
		Cookies:           []string{"s=1"},
		Body:              base64.StdEncoding.EncodeToString([]byte(`{"ok":false}`)),
		IsBase64Encoded:   true,
	}}
	resp := serve(t, rec, httptest.NewRequest(http.MethodPatch, "/v1/phone-numbers/x", nil))
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 422 {
		t.Errorf("status: got %d, want 422", resp.StatusCode)
	}
	if got, want := string(body), `{"ok":false}`; got != want {
		t.Errorf("body: got %q, want %q (decoded from base64)", got, want)
	}
	if got := resp.Header.Get("X-Request-Id"); got != "01J" {
		t.Errorf("X-Request-Id: got %q, want 01J", got)
	}
	if got := resp.Header.Values("Vary"); len(got) != 2 {
		t.Errorf("Vary: got %v, want both values", got)
	}
	if got := resp.Header.Get("Set-Cookie"); got != "s=1" {
		t.Errorf("Set-Cookie: got %q, want s=1", got)
	}
}

func TestGatewayAnswersWithoutCallingTheFunction(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		method string
		target string
		body   string
		status int
	}{
		{"other method", http.MethodGet, "/v1/phone-numbers/x", "", http.StatusNotFound},
		{"other path", http.MethodPatch, "/v1/numbers/x", "", http.StatusNotFound},
		{"missing id", http.MethodPatch, "/v1/phone-numbers/", "", http.StatusNotFound},
		{"nested path", http.MethodPatch, "/v1/phone-numbers/x/y", "", http.StatusNotFound},
		{"payload over API Gateway's limit", http.MethodPatch, "/v1/phone-numbers/x", strings.Repeat("a", localapi.MaxPayloadBytes+1), http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			resp := serve(t, rec, httptest.NewRequest(c.method, c.target, strings.NewReader(c.body)))
			if resp.StatusCode != c.status {
				t.Errorf("status: got %d, want %d", resp.StatusCode, c.status)
			}
			if rec.calls != 0 {
				t.Errorf("function calls: got %d, want 0", rec.calls)
			}
		})
	}
}

func TestFunctionErrorBecomesGateway500(t *testing.T) {
	t.Parallel()
	for name, rec := range map[string]*recorder{
		"an error":            {err: errors.New("boom: table phone-numbers")},
		"a response not JSON": {raw: []byte("boom: not a response")},
	} {
		resp := serve(t, rec, httptest.NewRequest(http.MethodPatch, "/v1/phone-numbers/x", nil))
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("%s: status: got %d, want 500", name, resp.StatusCode)
		}
		if strings.Contains(string(body), "boom") {
			t.Errorf("%s: body leaks the function's output: %s", name, body)
		}
	}
}
