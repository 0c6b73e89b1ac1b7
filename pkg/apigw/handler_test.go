package apigw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/oklog/ulid/v2"

	"github.com/sms-platform/phone-numbers/pkg/apigw"
	"github.com/sms-platform/phone-numbers/pkg/callcount"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers/phonenumberstest"
)

const (
	baseEvent    = "update-phone-number.json"
	base64Event  = "update-phone-number-base64.json"
	noBodyEvent  = "update-phone-number-no-body.json"
	stageEvent   = "update-phone-number-stage-query-cookies.json"
	numberID     = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
	campaignID   = "78614b6c-fe7c-41e2-8e25-c9b3a3c91904"
	orgID        = "0b1c2d3e-4f50-4617-8a9b-acbdcedf0011"
	keyID        = "5c0ffee0-0000-4000-8000-000000000001"
	eventSecret  = "am_live_Q7x2Lm9Pz4Kd8Rt1Vb6Nc3Hs5Jw0Ye2Ua4" // the secret in the testdata events
	eventBody    = `{"inbound_url":"https://customer.example/v2/inbound","label":"support-line"}`
	apigwRequest = "XKz1ZhG4DoEEMyQ=" // requestContext.requestId of the base event
)

// The thirteen members of the phone number resource, as the contract lists them.
var resourceMembers = []string{
	"id", "number", "number_type", "inbound_url", "status_url", "label", "campaign_id",
	"carrier_line_option_status", "carrier_line_option_propagated_at",
	"sms_enabled", "mms_enabled", "created_at", "updated_at",
}

// fakeUpdater records each request and answers through respond.
type fakeUpdater struct {
	respond func(ctx context.Context, req phonenumbers.UpdateRequest) (phonenumbers.UpdateResult, error)

	mu   sync.Mutex
	reqs []phonenumbers.UpdateRequest
}

func (f *fakeUpdater) UpdatePhoneNumber(ctx context.Context, req phonenumbers.UpdateRequest) (phonenumbers.UpdateResult, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	return f.respond(ctx, req)
}

func (f *fakeUpdater) requests() []phonenumbers.UpdateRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

func failWith(err error) *fakeUpdater {
	return &fakeUpdater{respond: func(context.Context, phonenumbers.UpdateRequest) (phonenumbers.UpdateResult, error) {
		return phonenumbers.UpdateResult{}, err
	}}
}

func succeedWith(n phonenumbers.PhoneNumber) *fakeUpdater {
	return &fakeUpdater{respond: func(context.Context, phonenumbers.UpdateRequest) (phonenumbers.UpdateResult, error) {
		return phonenumbers.UpdateResult{Principal: &phonenumbers.Principal{KeyID: keyID, OrgID: orgID}, PhoneNumber: n}, nil
	}}
}

// newHandler returns a handler serving u whose log lines go to the returned buffer.
func newHandler(u apigw.Updater, opts ...apigw.Option) (*apigw.Handler, *bytes.Buffer) {
	var logs bytes.Buffer
	return apigw.NewHandler(u, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), opts...), &logs
}

// loadEvent reads a testdata event into the type the handler takes.
func loadEvent(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read event: %v", err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("unmarshal event %s: %v", name, err)
	}
	return ev
}

// invoke runs the event through the JSON path the Lambda runtime takes in production
// (lambda.Start wraps the handler's own Invoke), and fails the test if the handler returns an
// error: that would be a bare 502 at API Gateway.
func invoke(t *testing.T, ctx context.Context, h *apigw.Handler, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("marshal event: %v", err)
	}
	out, err := lambda.NewHandler(h).Invoke(ctx, payload)
	if err != nil {
		t.Fatalf("got handler error %v, want nil: every outcome must be a response", err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("unmarshal response %s: %v", out, err)
	}
	return resp
}

// header returns the response header name, matched case-insensitively, and fails the test if it
// is there twice in different cases.
func header(t *testing.T, resp events.APIGatewayV2HTTPResponse, name string) (string, bool) {
	t.Helper()
	var value string
	found := 0
	for k, v := range resp.Headers {
		if strings.EqualFold(k, name) {
			value = v
			found++
		}
	}
	if found > 1 {
		t.Errorf("response has header %s %d times", name, found)
	}
	return value, found > 0
}

// members decodes a JSON object into its raw members.
func members(t *testing.T, raw []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("got body %s, want a JSON object: %v", raw, err)
	}
	return m
}

func keys(m map[string]json.RawMessage) []string {
	return slices.Sorted(maps.Keys(m))
}

type errorBody struct {
	Code      string            `json:"code"`
	Message   string            `json:"message"`
	RequestID string            `json:"request_id"`
	Details   map[string]string `json:"details"`
}

// checkErrorResponse asserts the contract's error envelope, headers and status, and returns the
// error member.
func checkErrorResponse(t *testing.T, resp events.APIGatewayV2HTTPResponse, wantStatus int, wantCode, wantMessage string, wantDetails map[string]string) errorBody {
	t.Helper()
	if resp.StatusCode != wantStatus {
		t.Errorf("got status %d, want %d (body %s)", resp.StatusCode, wantStatus, resp.Body)
	}
	checkCommonHeaders(t, resp)
	top := members(t, []byte(resp.Body))
	if got, want := keys(top), []string{"error", "success"}; !slices.Equal(got, want) {
		t.Errorf("got envelope members %v, want %v", got, want)
	}
	if got := string(top["success"]); got != "false" {
		t.Errorf("got success %s, want false", got)
	}
	errMembers := members(t, top["error"])
	wantKeys := []string{"code", "message", "request_id"}
	if wantDetails != nil {
		wantKeys = []string{"code", "details", "message", "request_id"}
	}
	if got := keys(errMembers); !slices.Equal(got, wantKeys) {
		t.Errorf("got error members %v, want %v", got, wantKeys)
	}
	var e errorBody
	if err := json.Unmarshal(top["error"], &e); err != nil {
		t.Fatalf("decode error member: %v", err)
	}
	if e.Code != wantCode {
		t.Errorf("got code %q, want %q", e.Code, wantCode)
	}
	if e.Message != wantMessage {
		t.Errorf("got message %q, want %q", e.Message, wantMessage)
	}
	if !maps.Equal(e.Details, wantDetails) {
		t.Errorf("got details %v, want %v", e.Details, wantDetails)
	}
	if id, _ := header(t, resp, "X-Request-Id"); e.RequestID != id {
		t.Errorf("got error.request_id %q, want it equal to X-Request-Id %q", e.RequestID, id)
	}
	wwwAuth, hasWWWAuth := header(t, resp, "WWW-Authenticate")
	if wantStatus == http.StatusUnauthorized {
		if wwwAuth != "Bearer" {
			t.Errorf("got WWW-Authenticate %q, want %q", wwwAuth, "Bearer")
		}
	} else if hasWWWAuth {
		t.Errorf("got WWW-Authenticate %q on a %d, want none", wwwAuth, wantStatus)
	}
	retryAfter, hasRetryAfter := header(t, resp, "Retry-After")
	if wantStatus == http.StatusServiceUnavailable {
		if retryAfter != apigw.RetryAfterSeconds {
			t.Errorf("got Retry-After %q, want %q", retryAfter, apigw.RetryAfterSeconds)
		}
	} else if hasRetryAfter {
		t.Errorf("got Retry-After %q on a %d, want none", retryAfter, wantStatus)
	}
	// Only a 412 carries an ETag, the current one: the caller checks its value.
	if etag, hasETag := header(t, resp, "ETag"); hasETag != (wantStatus == http.StatusPreconditionFailed) {
		t.Errorf("got ETag %q (present %v) on a %d, want one exactly on 412", etag, hasETag, wantStatus)
	}
	return e
}

// checkCommonHeaders asserts the headers every response carries.
func checkCommonHeaders(t *testing.T, resp events.APIGatewayV2HTTPResponse) {
	t.Helper()
	if got, _ := header(t, resp, "Content-Type"); got != "application/json" {
		t.Errorf("got Content-Type %q, want %q", got, "application/json")
	}
	if got, _ := header(t, resp, "Cache-Control"); got != "no-store" {
		t.Errorf("got Cache-Control %q, want %q", got, "no-store")
	}
	id, ok := header(t, resp, "X-Request-Id")
	if !ok {
		t.Fatalf("got no X-Request-Id header")
	}
	if _, err := ulid.ParseStrict(id); err != nil {
		t.Errorf("got X-Request-Id %q, want a ULID: %v", id, err)
	}
	if resp.IsBase64Encoded {
		t.Errorf("got a base64-encoded response, want plain JSON")
	}
	if !json.Valid([]byte(resp.Body)) {
		t.Errorf("got body %q, want JSON", resp.Body)
	}
}

func TestHandleMapsEveryErrorKindToItsStatus(t *testing.T) {
	t.Parallel()
	cause := errors.New("operation error DynamoDB: UpdateItem, table sms-prod-phone-numbers")
	tests := []struct {
		name        string
		err         error
		wantStatus  int
		wantCode    string
		wantMessage string
		wantDetails map[string]string
	}{
		{name: "unauthenticated is 401", err: phonenumbers.UnauthenticatedError(),
			wantStatus: 401, wantCode: "UNAUTHORIZED", wantMessage: "authentication failed"},
		{name: "forbidden is 403", err: &phonenumbers.Error{Kind: phonenumbers.KindForbidden, Message: "missing required scope"},
			wantStatus: 403, wantCode: "FORBIDDEN", wantMessage: "missing required scope"},
		{name: "bad path id is 400 VALIDATION_FAILED with details",
			err:        &phonenumbers.Error{Kind: phonenumbers.KindInvalidParameter, Message: "validation failed", Details: map[string]string{"id": "must be a UUID"}},
			wantStatus: 400, wantCode: "VALIDATION_FAILED", wantMessage: "validation failed", wantDetails: map[string]string{"id": "must be a UUID"}},
		{name: "unsupported media type is 415", err: phonenumbers.Errorf(phonenumbers.KindUnsupportedMediaType, "Content-Type must be application/json"),
			wantStatus: 415, wantCode: "UNSUPPORTED_MEDIA_TYPE", wantMessage: "Content-Type must be application/json"},
		{name: "payload too large is 413", err: phonenumbers.Errorf(phonenumbers.KindPayloadTooLarge, "request body must be at most 16384 bytes"),
			wantStatus: 413, wantCode: "PAYLOAD_TOO_LARGE", wantMessage: "request body must be at most 16384 bytes"},
		{name: "invalid input is 400 INVALID_INPUT", err: phonenumbers.Errorf(phonenumbers.KindInvalidInput, "request body is not valid JSON"),
			wantStatus: 400, wantCode: "INVALID_INPUT", wantMessage: "request body is not valid JSON"},
		{name: "field values are 422 with one detail per field",
			err: &phonenumbers.Error{Kind: phonenumbers.KindValidationFailed, Message: "validation failed",
				Details: map[string]string{"inbound_url": "must use https://", "label": "must not contain control characters"}},
			wantStatus: 422, wantCode: "VALIDATION_FAILED", wantMessage: "validation failed",
			wantDetails: map[string]string{"inbound_url": "must use https://", "label": "must not contain control characters"}},
		{name: "campaign not active is 409", err: &phonenumbers.Error{Kind: phonenumbers.KindCampaignNotActive, Message: "campaign is not active"},
			wantStatus: 409, wantCode: "CAMPAIGN_NOT_ACTIVE", wantMessage: "campaign is not active"},
		{name: "not found is 404", err: phonenumbers.NotFoundError(),
			wantStatus: 404, wantCode: "NOT_FOUND", wantMessage: "not found"},
		{name: "wrapped not found is still 404", err: fmt.Errorf("update phone number %s: %w", numberID, phonenumbers.NotFoundError()),
			wantStatus: 404, wantCode: "NOT_FOUND", wantMessage: "not found"},
		{name: "precondition failed is 412", err: phonenumbers.PreconditionFailed(4),
			wantStatus: 412, wantCode: "PRECONDITION_FAILED", wantMessage: "precondition failed"},
		{name: "unavailable is 503 with a generic message", err: phonenumbers.UnavailableError(cause),
			wantStatus: 503, wantCode: "SERVICE_UNAVAILABLE", wantMessage: "service temporarily unavailable, retry later"},
		{name: "wrapped unavailable is still 503", err: fmt.Errorf("find api key: %w", phonenumbers.UnavailableError(cause)),
			wantStatus: 503, wantCode: "SERVICE_UNAVAILABLE", wantMessage: "service temporarily unavailable, retry later"},
		{name: "unavailable with details shows none", err: &phonenumbers.Error{Kind: phonenumbers.KindUnavailable, Message: "table throttled", Details: map[string]string{"table": "x"}},
			wantStatus: 503, wantCode: "SERVICE_UNAVAILABLE", wantMessage: "service temporarily unavailable, retry later"},
		{name: "unclassified error is 500", err: cause,
			wantStatus: 500, wantCode: "INTERNAL", wantMessage: "internal error"},
		{name: "internal kind is 500 with the generic message", err: &phonenumbers.Error{Kind: phonenumbers.KindInternal, Message: "decode item failed", Details: map[string]string{"x": "y"}, Err: cause},
			wantStatus: 500, wantCode: "INTERNAL", wantMessage: "internal error"},
		{name: "unknown kind is 500", err: &phonenumbers.Error{Kind: phonenumbers.Kind(99), Message: "mystery"},
			wantStatus: 500, wantCode: "INTERNAL", wantMessage: "internal error"},
		{name: "context deadline nobody classified is 500", err: context.DeadlineExceeded,
			wantStatus: 500, wantCode: "INTERNAL", wantMessage: "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, _ := newHandler(failWith(tt.err))
			resp := invoke(t, context.Background(), h, loadEvent(t, baseEvent))
			checkErrorResponse(t, resp, tt.wantStatus, tt.wantCode, tt.wantMessage, tt.wantDetails)
		})
	}
}

func TestHandleSuccessEnvelope(t *testing.T) {
	t.Parallel()
	s := func(v string) *string { return &v }
	propagated := time.Date(2026, 4, 27, 11, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	tests := []struct {
		name   string
		number phonenumbers.PhoneNumber
		want   string
	}{
		{
			name: "every field set",
			number: phonenumbers.PhoneNumber{
				ID: numberID, OrgID: orgID, Number: "+14155550123", NumberType: phonenumbers.NumberTypeLocal,
				InboundURL: s("https://customer.example/v2/inbound"), StatusURL: s("https://customer.example/status"),
				Label: s("support-line"), CampaignID: s(campaignID), CarrierLineOptionStatus: s("propagated"),
				CarrierLineOptionPropagatedAt: &propagated, SMSEnabled: true, MMSEnabled: true,
				CreatedAt: time.Date(2026, 4, 26, 12, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2026, 4, 27, 9, 30, 0, 0, time.UTC),
			},
			want: `{"id":"497f6eca-6276-4993-bfeb-53cbbbba6f08","number":"+14155550123","number_type":"local",
				"inbound_url":"https://customer.example/v2/inbound","status_url":"https://customer.example/status",
				"label":"support-line","campaign_id":"78614b6c-fe7c-41e2-8e25-c9b3a3c91904",
				"carrier_line_option_status":"propagated","carrier_line_option_propagated_at":"2026-04-27T09:00:00Z",
				"sms_enabled":true,"mms_enabled":true,"created_at":"2026-04-26T12:00:00Z","updated_at":"2026-04-27T09:30:00Z"}`,
		},
		{
			name: "unset fields are present as null",
			number: phonenumbers.PhoneNumber{
				ID: numberID, OrgID: orgID, Number: "+18005550100", NumberType: phonenumbers.NumberTypeTollFree,
				CreatedAt: time.Date(2026, 4, 26, 12, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2026, 4, 26, 12, 0, 0, 0, time.UTC),
			},
			want: `{"id":"497f6eca-6276-4993-bfeb-53cbbbba6f08","number":"+18005550100","number_type":"toll_free",
				"inbound_url":null,"status_url":null,"label":null,"campaign_id":null,
				"carrier_line_option_status":null,"carrier_line_option_propagated_at":null,
				"sms_enabled":false,"mms_enabled":false,"created_at":"2026-04-26T12:00:00Z","updated_at":"2026-04-26T12:00:00Z"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, _ := newHandler(succeedWith(tt.number))
			resp := invoke(t, context.Background(), h, loadEvent(t, baseEvent))

			if resp.StatusCode != http.StatusOK {
				t.Fatalf("got status %d, want 200 (body %s)", resp.StatusCode, resp.Body)
			}
			checkCommonHeaders(t, resp)
			for _, name := range []string{"WWW-Authenticate", "Retry-After"} {
				if v, ok := header(t, resp, name); ok {
					t.Errorf("got %s %q on a 200, want none", name, v)
				}
			}
			top := members(t, []byte(resp.Body))
			if got, want := keys(top), []string{"data", "success"}; !slices.Equal(got, want) {
				t.Errorf("got envelope members %v, want %v", got, want)
			}
			if got := string(top["success"]); got != "true" {
				t.Errorf("got success %s, want true", got)
			}
			data := members(t, top["data"])
			if got, want := keys(data), slices.Sorted(slices.Values(resourceMembers)); !slices.Equal(got, want) {
				t.Errorf("got data members %v, want exactly %v", got, want)
			}
			if got, want := canonicalJSON(t, top["data"]), canonicalJSON(t, []byte(tt.want)); got != want {
				t.Errorf("got data\n\t%s\nwant\n\t%s", got, want)
			}
			if _, leaked := data["org_id"]; leaked {
				t.Errorf("got org_id in the resource, want it kept internal")
			}
		})
	}
}

func canonicalJSON(t *testing.T, raw []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return string(out)
}

func TestHandleGivesEachRequestItsOwnULID(t *testing.T) {
	t.Parallel()
	h, _ := newHandler(failWith(phonenumbers.NotFoundError()))
	seen := map[string]bool{}
	for i := range 20 {
		resp := invoke(t, context.Background(), h, loadEvent(t, baseEvent))
		e := checkErrorResponse(t, resp, 404, "NOT_FOUND", "not found", nil)
		if seen[e.RequestID] {
			t.Fatalf("request %d got request id %q again, want a new one per request", i, e.RequestID)
		}
		seen[e.RequestID] = true
	}
}

func TestHandleDecodesTheTransportIntoATypedRequest(t *testing.T) {
	t.Parallel()
	secret := phonenumbers.NewSecret(eventSecret)
	body := []byte(eventBody)
	tests := []struct {
		name   string
		event  string
		mutate func(ev *events.APIGatewayV2HTTPRequest)
		want   phonenumbers.UpdateRequest
	}{
		{name: "base event as API Gateway sends it", event: baseEvent,
			want: phonenumbers.UpdateRequest{Secret: secret, PhoneNumberID: numberID, Body: body}},
		{name: "base64 body is decoded", event: base64Event,
			want: phonenumbers.UpdateRequest{Secret: secret, PhoneNumberID: numberID, Body: body}},
		{name: "no body and no Content-Type", event: noBodyEvent,
			want: phonenumbers.UpdateRequest{Secret: secret, PhoneNumberID: numberID, Body: []byte{}}},
		{name: "event behind a stage with query string and cookies", event: stageEvent,
			want: phonenumbers.UpdateRequest{Secret: secret, PhoneNumberID: numberID, Body: body}},
		{name: "upper-case header names are matched", event: baseEvent,
			mutate: func(ev *events.APIGatewayV2HTTPRequest) {
				renameHeader(ev, "authorization", "AUTHORIZATION")
				renameHeader(ev, "content-type", "CONTENT-TYPE")
			},
			want: phonenumbers.UpdateRequest{Secret: secret, PhoneNumberID: numberID, Body: body}},
		{name: "canonical header names are matched", event: baseEvent,
			mutate: func(ev *events.APIGatewayV2HTTPRequest) {
				renameHeader(ev, "authorization", "Authorization")
				renameHeader(ev, "content-type", "Content-Type")
			},
			want: phonenumbers.UpdateRequest{Secret: secret, PhoneNumberID: numberID, Body: body}},
		{name: "scheme and media type are matched case-insensitively", event: baseEvent,
			mutate: func(ev *events.APIGatewayV2HTTPRequest) {
				ev.Headers["authorization"] = "BEARER   " + eventSecret
				ev.Headers["content-type"] = "Application/JSON; charset=UTF-8"
			},
			want: phonenumbers.UpdateRequest{Secret: secret, PhoneNumberID: numberID, Body: body}},
		{name: "missing Authorization header gives the zero Secret", event: baseEvent,
			mutate: func(ev *events.APIGatewayV2HTTPRequest) { delete(ev.Headers, "authorization") },
			want:   phonenumbers.UpdateRequest{PhoneNumberID: numberID, Body: body}},
		{name: "malformed Authorization header gives the zero Secret", event: baseEvent,
			mutate: func(ev *events.APIGatewayV2HTTPRequest) { ev.Headers["authorization"] = "Basic " + eventSecret },
			want:   phonenumbers.UpdateRequest{PhoneNumberID: numberID, Body: body}},
		{name: "no headers at all", event: baseEvent,
			mutate: func(ev *events.APIGatewayV2HTTPRequest) { ev.Headers = nil },
			want:   phonenumbers.UpdateRequest{PhoneNumberID: numberID, Body: body}},
		{name: "path id is passed as sent", event: baseEvent,
			mutate: func(ev *events.APIGatewayV2HTTPRequest) { ev.PathParameters["id"] = strings.ToUpper(numberID) },
			want:   phonenumbers.UpdateRequest{Secret: secret, PhoneNumberID: strings.ToUpper(numberID), Body: body}},
		{name: "missing path parameters give an empty id", event: baseEvent,
			mutate: func(ev *events.APIGatewayV2HTTPRequest) { ev.PathParameters = nil },
			want:   phonenumbers.UpdateRequest{Secret: secret, Body: body}},
		{name: "a media type that is not JSON is carried as the body's error", event: baseEvent,
			mutate: func(ev *events.APIGatewayV2HTTPRequest) { ev.Headers["content-type"] = "text/plain" },
			want: phonenumbers.UpdateRequest{Secret: secret, PhoneNumberID: numberID,
				BodyErr: phonenumbers.Errorf(phonenumbers.KindUnsupportedMediaType, "Content-Type must be application/json")}},
		{name: "a body marked base64 that is not is carried as the body's error", event: baseEvent,
			mutate: func(ev *events.APIGatewayV2HTTPRequest) { ev.IsBase64Encoded = true },
			want: phonenumbers.UpdateRequest{Secret: secret, PhoneNumberID: numberID,
				BodyErr: phonenumbers.Errorf(phonenumbers.KindInvalidInput, "request body is marked base64-encoded but is not valid base64")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := loadEvent(t, tt.event)
			if tt.mutate != nil {
				tt.mutate(&ev)
			}
			u := succeedWith(phonenumbers.PhoneNumber{ID: numberID})
			h, _ := newHandler(u)
			invoke(t, context.Background(), h, ev)

			got := u.requests()
			if len(got) != 1 {
				t.Fatalf("got %d calls to the updater, want 1", len(got))
			}
			if got[0].Secret.Reveal() != tt.want.Secret.Reveal() {
				t.Errorf("got a secret of %d characters, want %d", len(got[0].Secret.Reveal()), len(tt.want.Secret.Reveal()))
			}
			if got[0].PhoneNumberID != tt.want.PhoneNumberID || !bytes.Equal(got[0].Body, tt.want.Body) || (got[0].Body == nil) != (tt.want.Body == nil) {
				t.Errorf("got id %q and body %q, want %q and %q", got[0].PhoneNumberID, got[0].Body, tt.want.PhoneNumberID, tt.want.Body)
			}
			if !reflect.DeepEqual(got[0].BodyErr, tt.want.BodyErr) {
				t.Errorf("got body error %v, want %v", got[0].BodyErr, tt.want.BodyErr)
			}
		})
	}
}

func renameHeader(ev *events.APIGatewayV2HTTPRequest, from, to string) {
	v := ev.Headers[from]
	delete(ev.Headers, from)
	ev.Headers[to] = v
}

// eventStore holds the number the testdata events update and, unless withoutKey, the key of their
// secret: with it, the real service runs behind the handler.
func eventStore(withoutKey bool) *phonenumberstest.MemStore {
	m := phonenumberstest.NewMemStore()
	if !withoutKey {
		m.PutAPIKey(phonenumbers.APIKey{ID: keyID, OrgID: orgID, Scopes: []string{phonenumbers.ScopeNumbersWrite}}, eventSecret)
	}
	created := time.Date(2026, 4, 26, 12, 0, 0, 0, time.UTC)
	m.PutPhoneNumber(phonenumbers.PhoneNumber{ID: numberID, OrgID: orgID, Number: "+14155550123", NumberType: phonenumbers.NumberTypeLocal,
		CreatedAt: created, UpdatedAt: created})
	return m
}

func realService(m *phonenumberstest.MemStore) *phonenumbers.Service {
	return phonenumbers.NewService(m, m, m, nil)
}

// TestHandleUnauthorizedResponsesAreIdentical runs the real service and authenticator: whatever
// made authentication fail, the 401 is the same bytes apart from the request id.
func TestHandleUnauthorizedResponsesAreIdentical(t *testing.T) {
	t.Parallel()
	revoked := "am_live_" + strings.Repeat("R", 40)
	noOrg := "am_live_" + strings.Repeat("O", 40)
	noID := "am_live_" + strings.Repeat("I", 40)
	revokedAt := time.Date(2026, 4, 26, 13, 0, 0, 0, time.UTC)
	keys := eventStore(false)
	keys.PutAPIKey(phonenumbers.APIKey{ID: keyID, OrgID: orgID, Scopes: []string{phonenumbers.ScopeNumbersWrite}, RevokedAt: &revokedAt}, revoked)
	keys.PutAPIKey(phonenumbers.APIKey{ID: keyID, Scopes: []string{phonenumbers.ScopeNumbersWrite}}, noOrg)
	keys.PutAPIKey(phonenumbers.APIKey{OrgID: orgID, Scopes: []string{phonenumbers.ScopeNumbersWrite}}, noID)
	tests := []struct {
		name   string
		mutate func(ev *events.APIGatewayV2HTTPRequest)
	}{
		{name: "missing header", mutate: func(ev *events.APIGatewayV2HTTPRequest) { delete(ev.Headers, "authorization") }},
		{name: "empty header", mutate: func(ev *events.APIGatewayV2HTTPRequest) { ev.Headers["authorization"] = "" }},
		{name: "wrong scheme", mutate: func(ev *events.APIGatewayV2HTTPRequest) { ev.Headers["authorization"] = "Basic " + eventSecret }},
		{name: "malformed secret", mutate: func(ev *events.APIGatewayV2HTTPRequest) { ev.Headers["authorization"] = "Bearer am_live_short" }},
		{name: "unknown key", mutate: func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Headers["authorization"] = "Bearer am_live_" + strings.Repeat("U", 40)
		}},
		{name: "revoked key", mutate: func(ev *events.APIGatewayV2HTTPRequest) { ev.Headers["authorization"] = "Bearer " + revoked }},
		{name: "key record without organization", mutate: func(ev *events.APIGatewayV2HTTPRequest) { ev.Headers["authorization"] = "Bearer " + noOrg }},
		{name: "key record without id", mutate: func(ev *events.APIGatewayV2HTTPRequest) { ev.Headers["authorization"] = "Bearer " + noID }},
		{name: "unknown key with bad path id and bad body", mutate: func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Headers["authorization"] = "Bearer am_live_" + strings.Repeat("U", 40)
			ev.PathParameters["id"] = "nope"
			ev.Body = "not json"
		}},
		{name: "revoked key with a campaign to look up", mutate: func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Headers["authorization"] = "Bearer " + revoked
			ev.Body = `{"campaign_id":"` + campaignID + `"}`
		}},
	}
	h, _ := newHandler(realService(keys))
	// The valid key proves the fixture: the same event with it is not a 401.
	if resp := invoke(t, context.Background(), h, loadEvent(t, baseEvent)); resp.StatusCode != http.StatusOK {
		t.Fatalf("got status %d for the valid key, want 200 (body %s)", resp.StatusCode, resp.Body)
	}
	type normalised struct {
		body    string
		headers map[string]string
	}
	var first *normalised
	for _, tt := range tests {
		ev := loadEvent(t, baseEvent)
		tt.mutate(&ev)
		resp := invoke(t, context.Background(), h, ev)
		e := checkErrorResponse(t, resp, 401, "UNAUTHORIZED", "authentication failed", nil)

		got := normalised{body: strings.Replace(resp.Body, e.RequestID, "<request_id>", 1), headers: maps.Clone(resp.Headers)}
		for k, v := range got.headers {
			if v == e.RequestID {
				got.headers[k] = "<request_id>"
			}
		}
		if first == nil {
			first = &got
			continue
		}
		if got.body != first.body {
			t.Errorf("%s: got body %s, want the same as %s", tt.name, got.body, first.body)
		}
		if !maps.Equal(got.headers, first.headers) {
			t.Errorf("%s: got headers %v, want the same as %v", tt.name, got.headers, first.headers)
		}
	}
}

// TestHandleServesTestdataEvents runs each testdata event through the real service.
func TestHandleServesTestdataEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		event      string
		wantStatus int
		wantLabel  string
	}{
		{event: baseEvent, wantStatus: 200, wantLabel: `"support-line"`},
		{event: base64Event, wantStatus: 200, wantLabel: `"support-line"`},
		{event: stageEvent, wantStatus: 200, wantLabel: `"support-line"`},
		{event: noBodyEvent, wantStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			t.Parallel()
			h, _ := newHandler(realService(eventStore(false)))
			resp := invoke(t, context.Background(), h, loadEvent(t, tt.event))
			if tt.wantStatus != 200 {
				checkErrorResponse(t, resp, tt.wantStatus, "INVALID_INPUT", "request body is empty; send a JSON object", nil)
				return
			}
			if resp.StatusCode != 200 {
				t.Fatalf("got status %d, want 200 (body %s)", resp.StatusCode, resp.Body)
			}
			data := members(t, members(t, []byte(resp.Body))["data"])
			if got := string(data["label"]); got != tt.wantLabel {
				t.Errorf("got label %s, want %s", got, tt.wantLabel)
			}
		})
	}
}

// sensitive lists text of internal causes that must never reach a client.
var sensitive = []string{"dynamodb", "sms-prod-phone-numbers", "validationexception", "arn:aws", "panic", "goroutine", "handler_test.go", "runtime/"}

func TestHandleInternalErrorsLeakNothing(t *testing.T) {
	t.Parallel()
	cause := errors.New("operation error DynamoDB: UpdateItem, https response error StatusCode: 400, RequestID: 7Q3, " +
		"api error ValidationException: arn:aws:dynamodb:eu-west-1:123456789012:table/sms-prod-phone-numbers")
	tests := []struct {
		name       string
		updater    *fakeUpdater
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{name: "unclassified error", updater: failWith(cause), wantStatus: 500, wantCode: "INTERNAL", wantMsg: "internal error"},
		{name: "internal domain error with a message", updater: failWith(&phonenumbers.Error{Kind: phonenumbers.KindInternal, Message: "DynamoDB table sms-prod-phone-numbers", Err: cause}),
			wantStatus: 500, wantCode: "INTERNAL", wantMsg: "internal error"},
		{name: "unavailable with a cause", updater: failWith(phonenumbers.UnavailableError(cause)), wantStatus: 503, wantCode: "SERVICE_UNAVAILABLE", wantMsg: "service temporarily unavailable, retry later"},
		{name: "panic with a string", updater: &fakeUpdater{respond: func(context.Context, phonenumbers.UpdateRequest) (phonenumbers.UpdateResult, error) {
			panic("dynamodb table sms-prod-phone-numbers exploded")
		}}, wantStatus: 500, wantCode: "INTERNAL", wantMsg: "internal error"},
		{name: "panic with an error", updater: &fakeUpdater{respond: func(context.Context, phonenumbers.UpdateRequest) (phonenumbers.UpdateResult, error) {
			panic(cause)
		}}, wantStatus: 500, wantCode: "INTERNAL", wantMsg: "internal error"},
		{name: "panic carrying a domain error is still internal", updater: &fakeUpdater{respond: func(context.Context, phonenumbers.UpdateRequest) (phonenumbers.UpdateResult, error) {
			panic(phonenumbers.NotFoundError())
		}}, wantStatus: 500, wantCode: "INTERNAL", wantMsg: "internal error"},
		{name: "nil map write panic", updater: &fakeUpdater{respond: func(context.Context, phonenumbers.UpdateRequest) (phonenumbers.UpdateResult, error) {
			var m map[string]int
			//lint:ignore SA5000 the point: a real nil-map panic inside the service
			m["dynamodb"]++
			return phonenumbers.UpdateResult{}, nil
		}}, wantStatus: 500, wantCode: "INTERNAL", wantMsg: "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, logs := newHandler(tt.updater)
			// Handle is also called directly: its own error result must be nil too.
			direct, err := h.Handle(context.Background(), loadEvent(t, baseEvent))
			if err != nil {
				t.Fatalf("got Handle error %v, want nil", err)
			}
			resp := invoke(t, context.Background(), h, loadEvent(t, baseEvent))
			for _, r := range []events.APIGatewayV2HTTPResponse{direct, resp} {
				e := checkErrorResponse(t, r, tt.wantStatus, tt.wantCode, tt.wantMsg, nil)
				lower := strings.ToLower(r.Body + fmt.Sprint(r.Headers))
				for _, s := range sensitive {
					if strings.Contains(lower, s) {
						t.Errorf("got response containing %q: %s", s, r.Body)
					}
				}
				want := `{"success":false,"error":{"code":"` + tt.wantCode + `","message":"` + tt.wantMsg + `","request_id":"` + e.RequestID + `"}}`
				if r.Body != want {
					t.Errorf("got body %s, want %s", r.Body, want)
				}
			}
			// The cause belongs in the log, at error level, for the operator.
			lines := logLines(t, logs)
			if len(lines) != 2 {
				t.Fatalf("got %d log lines for 2 requests, want 2", len(lines))
			}
			for _, line := range lines {
				if line["level"] != "ERROR" {
					t.Errorf("got level %v, want ERROR", line["level"])
				}
				if msg, _ := line["error"].(string); msg == "" {
					t.Errorf("got log line %v without the error, want the cause logged", line)
				}
			}
		})
	}
}

// logLines splits the buffer into JSON log records.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("got log line %q, want JSON: %v", line, err)
		}
		out = append(out, rec)
	}
	return out
}

func TestHandleLogsOneLinePerRequest(t *testing.T) {
	t.Parallel()
	principal := &phonenumbers.Principal{KeyID: keyID, OrgID: orgID, Scopes: []string{phonenumbers.ScopeNumbersWrite}}
	withPrincipal := func(err error) *fakeUpdater {
		return &fakeUpdater{respond: func(context.Context, phonenumbers.UpdateRequest) (phonenumbers.UpdateResult, error) {
			return phonenumbers.UpdateResult{Principal: principal}, err
		}}
	}
	tests := []struct {
		name          string
		updater       apigw.Updater
		mutate        func(ev *events.APIGatewayV2HTTPRequest)
		wantStatus    float64
		wantCode      string // "" means no error_code attribute
		wantLevel     string
		wantPrincipal bool
		wantNumberID  string // "" means no phone_number_id attribute
	}{
		{name: "success", updater: succeedWith(phonenumbers.PhoneNumber{ID: numberID}),
			wantStatus: 200, wantLevel: "INFO", wantPrincipal: true, wantNumberID: numberID},
		{name: "unauthenticated", updater: failWith(phonenumbers.UnauthenticatedError()),
			wantStatus: 401, wantCode: "UNAUTHORIZED", wantLevel: "INFO", wantNumberID: numberID},
		{name: "unauthenticated by a corrupt key record is an error for the operator",
			updater: failWith(&phonenumbers.Error{Kind: phonenumbers.KindUnauthenticated, Message: "authentication failed",
				Err: fmt.Errorf("api key record (id %q, org_id %q): %w", keyID, "", phonenumbers.ErrCorruptRecord)}),
			wantStatus: 401, wantCode: "UNAUTHORIZED", wantLevel: "ERROR", wantNumberID: numberID},
		{name: "validation failure after authentication", updater: withPrincipal(&phonenumbers.Error{Kind: phonenumbers.KindValidationFailed, Message: "validation failed", Details: map[string]string{"label": "x"}}),
			wantStatus: 422, wantCode: "VALIDATION_FAILED", wantLevel: "INFO", wantPrincipal: true, wantNumberID: numberID},
		{name: "unavailable", updater: withPrincipal(phonenumbers.UnavailableError(errors.New("throttled"))),
			wantStatus: 503, wantCode: "SERVICE_UNAVAILABLE", wantLevel: "ERROR", wantPrincipal: true, wantNumberID: numberID},
		{name: "internal", updater: withPrincipal(errors.New("boom")),
			wantStatus: 500, wantCode: "INTERNAL", wantLevel: "ERROR", wantPrincipal: true, wantNumberID: numberID},
		{name: "caller-controlled path id is not logged", updater: failWith(phonenumbers.UnauthenticatedError()),
			mutate:     func(ev *events.APIGatewayV2HTTPRequest) { ev.PathParameters["id"] = "x\n{\"forged\":true}" },
			wantStatus: 401, wantCode: "UNAUTHORIZED", wantLevel: "INFO"},
		{name: "upper-case path id is logged normalised", updater: failWith(phonenumbers.NotFoundError()),
			mutate:     func(ev *events.APIGatewayV2HTTPRequest) { ev.PathParameters["id"] = strings.ToUpper(numberID) },
			wantStatus: 404, wantCode: "NOT_FOUND", wantLevel: "INFO", wantNumberID: numberID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, logs := newHandler(tt.updater)
			ev := loadEvent(t, baseEvent)
			if tt.mutate != nil {
				tt.mutate(&ev)
			}
			ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"})
			resp := invoke(t, ctx, h, ev)

			lines := logLines(t, logs)
			if len(lines) != 1 {
				t.Fatalf("got %d log lines, want 1:\n%s", len(lines), logs.String())
			}
			line := lines[0]
			requestID, _ := header(t, resp, "X-Request-Id")
			wantAttrs := map[string]any{
				"msg":               "request",
				"level":             tt.wantLevel,
				"request_id":        requestID,
				"status":            tt.wantStatus,
				"apigw_request_id":  apigwRequest,
				"lambda_request_id": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
			}
			for k, want := range wantAttrs {
				if got := line[k]; got != want {
					t.Errorf("got log %s %v, want %v", k, got, want)
				}
			}
			if got := line["status"]; got != float64(resp.StatusCode) {
				t.Errorf("got log status %v, want the response's %d", got, resp.StatusCode)
			}
			checkOptional(t, line, "error_code", tt.wantCode)
			checkOptional(t, line, "phone_number_id", tt.wantNumberID)
			wantOrg, wantKey := "", ""
			if tt.wantPrincipal {
				wantOrg, wantKey = orgID, keyID
			}
			checkOptional(t, line, "org_id", wantOrg)
			checkOptional(t, line, "api_key_id", wantKey)
			for _, k := range []string{"duration_ms", "storage_calls", "time"} {
				if _, ok := line[k]; !ok {
					t.Errorf("got log line without %s: %v", k, line)
				}
			}
			out := logs.String()
			for _, secret := range []string{eventSecret, eventSecret[len("am_live_"):], "support-line", "forged"} {
				if strings.Contains(out, secret) {
					t.Errorf("got log containing %q, want credentials, bodies and raw paths kept out:\n%s", secret, out)
				}
			}
		})
	}
}

func checkOptional(t *testing.T, line map[string]any, key, want string) {
	t.Helper()
	got, ok := line[key]
	switch {
	case want == "" && ok:
		t.Errorf("got log %s %v, want none", key, got)
	case want != "" && got != want:
		t.Errorf("got log %s %v, want %q", key, got, want)
	}
}

// TestHandleKeepsSecretsOutOfLogsThroughTheService sends a real secret through the real service to
// a key finder whose failure message mentions it, as a careless storage error might.
func TestHandleKeepsSecretsOutOfLogsThroughTheService(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		keys *phonenumberstest.MemStore
	}{
		{name: "internal failure naming the secret", keys: func() *phonenumberstest.MemStore {
			m := eventStore(false)
			m.BeforeFindAPIKey = func(context.Context, string) error {
				return fmt.Errorf("find key for %v (%s, %+v, %#v): boom",
					phonenumbers.NewSecret(eventSecret), phonenumbers.NewSecret(eventSecret), phonenumbers.NewSecret(eventSecret), phonenumbers.NewSecret(eventSecret))
			}
			return m
		}()},
		{name: "unknown key", keys: eventStore(true)},
		{name: "known key", keys: eventStore(false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, logs := newHandler(realService(tt.keys))
			invoke(t, context.Background(), h, loadEvent(t, baseEvent))
			if len(logLines(t, logs)) != 1 {
				t.Errorf("got log %s, want one line", logs.String())
			}
			if out := logs.String(); strings.Contains(out, eventSecret[len("am_live_"):]) {
				t.Errorf("got log containing the secret:\n%s", out)
			}
		})
	}
}

func TestHandleCountsStorageCallsInTheLog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		calls int
	}{
		{name: "no storage call", calls: 0},
		{name: "key lookup and update", calls: 2},
		{name: "key, campaign and update", calls: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := &fakeUpdater{respond: func(ctx context.Context, _ phonenumbers.UpdateRequest) (phonenumbers.UpdateResult, error) {
				for range tt.calls {
					callcount.Add(ctx)
				}
				return phonenumbers.UpdateResult{}, phonenumbers.NotFoundError()
			}}
			h, logs := newHandler(u)
			invoke(t, context.Background(), h, loadEvent(t, baseEvent))
			lines := logLines(t, logs)
			if len(lines) != 1 {
				t.Fatalf("got %d log lines, want 1", len(lines))
			}
			if got := lines[0]["storage_calls"]; got != float64(tt.calls) {
				t.Errorf("got storage_calls %v, want %d", got, tt.calls)
			}
		})
	}
}

// TestHandleStopsStorageBeforeTheInvocationDeadline shows that the updater gets a context that
// ends the margin before the invocation's, so the handler still has time to answer 503 itself.
func TestHandleStopsStorageBeforeTheInvocationDeadline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		remaining   time.Duration
		margin      time.Duration
		wantExpired bool
	}{
		{name: "deadline moved earlier by the margin", remaining: time.Minute, margin: 2 * time.Second},
		{name: "deadline already within the margin", remaining: 100 * time.Millisecond, margin: time.Second, wantExpired: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			type seen struct {
				deadline time.Time
				ok       bool
				err      error
			}
			got := make(chan seen, 1)
			u := &fakeUpdater{respond: func(ctx context.Context, _ phonenumbers.UpdateRequest) (phonenumbers.UpdateResult, error) {
				d, ok := ctx.Deadline()
				got <- seen{deadline: d, ok: ok, err: ctx.Err()}
				if ctx.Err() != nil {
					return phonenumbers.UpdateResult{}, phonenumbers.UnavailableError(ctx.Err())
				}
				return phonenumbers.UpdateResult{}, phonenumbers.NotFoundError()
			}}
			h, _ := newHandler(u, apigw.WithDeadlineMargin(tt.margin))
			deadline := time.Now().Add(tt.remaining)
			ctx, cancel := context.WithDeadline(context.Background(), deadline)
			defer cancel()

			resp := invoke(t, ctx, h, loadEvent(t, baseEvent))

			s := <-got
			if !s.ok || !s.deadline.Equal(deadline.Add(-tt.margin)) {
				t.Errorf("got updater deadline %v (set=%v), want %v", s.deadline, s.ok, deadline.Add(-tt.margin))
			}
			if (s.err != nil) != tt.wantExpired {
				t.Errorf("got updater context error %v, want expired=%v", s.err, tt.wantExpired)
			}
			wantStatus := 404
			if tt.wantExpired {
				wantStatus = 503
			}
			if resp.StatusCode != wantStatus {
				t.Errorf("got status %d, want %d", resp.StatusCode, wantStatus)
			}
		})
	}
}

// TestTestdataEventsRoundTrip shows that the testdata events are what the handler's event type
// models: unmarshalling and re-marshalling loses and changes nothing. The only additions allowed
// are zero values of members the type always writes (such as an empty authentication block).
func TestTestdataEventsRoundTrip(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("got testdata files %v (%v), want some", files, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			again, err := json.Marshal(ev)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			var original, remarshalled any
			if err := json.Unmarshal(raw, &original); err != nil {
				t.Fatalf("decode original: %v", err)
			}
			if err := json.Unmarshal(again, &remarshalled); err != nil {
				t.Fatalf("decode re-marshalled: %v", err)
			}
			compareJSON(t, "$", original, remarshalled)

			// And it looks like what API Gateway sends for this route.
			if ev.Version != "2.0" || ev.RouteKey != "PATCH /v1/phone-numbers/{id}" || ev.RequestContext.RouteKey != ev.RouteKey {
				t.Errorf("got version %q and route keys %q/%q, want 2.0 and PATCH /v1/phone-numbers/{id}", ev.Version, ev.RouteKey, ev.RequestContext.RouteKey)
			}
			if ev.RequestContext.HTTP.Method != http.MethodPatch || ev.RequestContext.HTTP.Path != ev.RawPath {
				t.Errorf("got method %q path %q, want PATCH %q", ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path, ev.RawPath)
			}
			if !strings.HasSuffix(ev.RawPath, "/v1/phone-numbers/"+ev.PathParameters["id"]) {
				t.Errorf("got rawPath %q and id %q, want the path to end in the id", ev.RawPath, ev.PathParameters["id"])
			}
			for name := range ev.Headers {
				if name != strings.ToLower(name) {
					t.Errorf("got header name %q, want lower case as API Gateway sends it", name)
				}
			}
		})
	}
}

// compareJSON fails where got differs from want, allowing got extra members only when they hold
// zero values.
func compareJSON(t *testing.T, path string, want, got any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: got %v, want an object", path, got)
			return
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				t.Errorf("%s.%s: dropped by the round trip", path, k)
				continue
			}
			compareJSON(t, path+"."+k, wv, gv)
		}
		for k, gv := range g {
			if _, ok := w[k]; !ok && !isZeroJSON(gv) {
				t.Errorf("%s.%s: round trip added %v", path, k, gv)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Errorf("%s: got %v, want %v", path, got, want)
			return
		}
		for i := range w {
			compareJSON(t, fmt.Sprintf("%s[%d]", path, i), w[i], g[i])
		}
	default:
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: got %v, want %v", path, got, want)
		}
	}
}

func isZeroJSON(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case float64:
		return v == 0
	case bool:
		return !v
	case []any:
		return len(v) == 0
	case map[string]any:
		for _, e := range v {
			if !isZeroJSON(e) {
				return false
			}
		}
		return true
	}
	return false
}
