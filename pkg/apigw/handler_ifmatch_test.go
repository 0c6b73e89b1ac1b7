package apigw_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers/phonenumberstest"
)

func TestHandleSendsTheVersionAsETagOn200(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		version int64
		want    string
	}{
		{version: 0, want: `"0"`},
		{version: 7, want: `"7"`},
		{version: 1<<63 - 1, want: `"9223372036854775807"`},
	} {
		number := phonenumbers.PhoneNumber{ID: numberID, OrgID: orgID, Number: "+14155550123", NumberType: phonenumbers.NumberTypeLocal,
			CreatedAt: time.Date(2026, 4, 26, 12, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2026, 4, 26, 12, 0, 0, 0, time.UTC), Version: tt.version}
		h, _ := newHandler(succeedWith(number))
		resp := invoke(t, context.Background(), h, loadEvent(t, baseEvent))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("got status %d, want 200 (body %s)", resp.StatusCode, resp.Body)
		}
		if got, _ := header(t, resp, "ETag"); got != tt.want {
			t.Errorf("version %d: got ETag %q, want %s", tt.version, got, tt.want)
		}
		if strings.Contains(resp.Body, "version") {
			t.Errorf("got body %s, want the version only in the ETag header", resp.Body)
		}
	}
}

func TestHandlePreconditionFailedCarriesTheCurrentETag(t *testing.T) {
	t.Parallel()
	for _, err := range []error{
		phonenumbers.PreconditionFailed(12),
		fmt.Errorf("update phone number %s: %w", numberID, phonenumbers.PreconditionFailed(12)),
	} {
		h, _ := newHandler(failWith(err))
		resp := invoke(t, context.Background(), h, loadEvent(t, baseEvent))
		checkErrorResponse(t, resp, http.StatusPreconditionFailed, "PRECONDITION_FAILED", "precondition failed", nil)
		if got, _ := header(t, resp, "ETag"); got != `"12"` {
			t.Errorf("%v: got ETag %q, want %q", err, got, `"12"`)
		}
	}
}

// TestHandleIfMatchThroughTheService runs real v2 events with If-Match through the real service:
// the If-Match reaches the store, a malformed one is reported in its place of the check order,
// and the conditional headers this route ignores change nothing.
func TestHandleIfMatchThroughTheService(t *testing.T) {
	t.Parallel()
	readOnlySecret := "am_live_" + strings.Repeat("r", 40)
	// The events' key, a read-only key, and the events' number at version 5.
	newStore := func() *phonenumberstest.MemStore {
		m := eventStore(false)
		m.PutAPIKey(phonenumbers.APIKey{ID: keyID, OrgID: orgID, Scopes: []string{"numbers:read"}}, readOnlySecret)
		n := m.PhoneNumbers()[numberID]
		n.Version = 5
		m.PutPhoneNumber(n)
		return m
	}
	const malformed = `If-Match header must be "*" or a comma-separated list of entity-tags such as "7"`
	tests := []struct {
		name        string
		mutate      func(ev *events.APIGatewayV2HTTPRequest)
		wantStatus  int
		wantCode    string
		wantMessage string
		wantDetails map[string]string
		wantETag    string
	}{
		{name: "matching If-Match is 200 with the new ETag", mutate: ifMatchIs(`"5"`), wantStatus: 200, wantETag: `"6"`},
		{name: "star is 200", mutate: ifMatchIs(`*`), wantStatus: 200, wantETag: `"6"`},
		{name: "a list holding the version is 200", mutate: ifMatchIs(`"4", "5"`), wantStatus: 200, wantETag: `"6"`},
		{name: "repeated If-Match lines joined by API Gateway", mutate: ifMatchIs(`"4","5"`), wantStatus: 200, wantETag: `"6"`},
		{name: "absent If-Match is 200", mutate: func(*events.APIGatewayV2HTTPRequest) {}, wantStatus: 200, wantETag: `"6"`},
		{name: "stale If-Match is 412 with the current ETag", mutate: ifMatchIs(`"4"`),
			wantStatus: 412, wantCode: "PRECONDITION_FAILED", wantMessage: "precondition failed", wantETag: `"5"`},
		{name: "weak tag never matches", mutate: ifMatchIs(`W/"5"`),
			wantStatus: 412, wantCode: "PRECONDITION_FAILED", wantMessage: "precondition failed", wantETag: `"5"`},
		{name: "leading zero never matches", mutate: ifMatchIs(`"05"`),
			wantStatus: 412, wantCode: "PRECONDITION_FAILED", wantMessage: "precondition failed", wantETag: `"5"`},
		{name: "foreign or missing number with If-Match is the 404", mutate: func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Headers["if-match"] = `"4"`
			ev.PathParameters["id"] = "00000000-0000-4000-8000-000000000000"
		}, wantStatus: 404, wantCode: "NOT_FOUND", wantMessage: "not found"},
		{name: "If-None-Match is ignored", mutate: func(ev *events.APIGatewayV2HTTPRequest) { ev.Headers["if-none-match"] = `"5"` },
			wantStatus: 200, wantETag: `"6"`},
		{name: "If-Unmodified-Since is ignored", mutate: func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Headers["if-unmodified-since"] = "Sat, 01 Jan 2000 00:00:00 GMT"
		}, wantStatus: 200, wantETag: `"6"`},
		{name: "If-Modified-Since is ignored", mutate: func(ev *events.APIGatewayV2HTTPRequest) { ev.Headers["if-modified-since"] = "nonsense" },
			wantStatus: 200, wantETag: `"6"`},
		{name: "malformed If-Match is 400", mutate: ifMatchIs(`5`),
			wantStatus: 400, wantCode: "INVALID_INPUT", wantMessage: malformed},
		{name: "too many tags is 400", mutate: ifMatchIs(strings.Repeat(`"5", `, 17)),
			wantStatus: 400, wantCode: "INVALID_INPUT", wantMessage: "If-Match header must list at most 16 entity-tags"},
		{name: "malformed If-Match wins over bad field values", mutate: func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Headers["if-match"] = `5`
			ev.Body = `{"inbound_url":"http://customer.example/in"}`
		}, wantStatus: 400, wantCode: "INVALID_INPUT", wantMessage: malformed},
		{name: "bad field values of a request with a good If-Match are 422", mutate: func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Headers["if-match"] = `"4"`
			ev.Body = `{"inbound_url":"http://customer.example/in"}`
		}, wantStatus: 422, wantCode: "VALIDATION_FAILED", wantMessage: "validation failed", wantDetails: map[string]string{"inbound_url": "must use https://"}},
		{name: "unsupported member wins over a malformed If-Match", mutate: func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Headers["if-match"] = `5`
			ev.Body = `{"sms_enabled":true}`
		}, wantStatus: 400, wantCode: "INVALID_INPUT",
			wantMessage: `unsupported member "sms_enabled"; updatable members are "inbound_url", "status_url", "label", "campaign_id"`},
		{name: "415 wins over a malformed If-Match", mutate: func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Headers["if-match"] = `5`
			ev.Headers["content-type"] = "text/plain"
		}, wantStatus: 415, wantCode: "UNSUPPORTED_MEDIA_TYPE", wantMessage: "Content-Type must be application/json"},
		{name: "bad path id wins over a malformed If-Match", mutate: func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Headers["if-match"] = `5`
			ev.PathParameters["id"] = "nope"
		}, wantStatus: 400, wantCode: "VALIDATION_FAILED", wantMessage: "validation failed", wantDetails: map[string]string{"id": "must be a UUID"}},
		{name: "missing scope wins over a malformed If-Match", mutate: func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Headers["if-match"] = `5`
			ev.Headers["authorization"] = "Bearer " + readOnlySecret
		}, wantStatus: 403, wantCode: "FORBIDDEN", wantMessage: "missing required scope"},
		{name: "unknown key wins over a malformed If-Match", mutate: func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Headers["if-match"] = `5`
			ev.Headers["authorization"] = "Bearer am_live_" + strings.Repeat("U", 40)
		}, wantStatus: 401, wantCode: "UNAUTHORIZED", wantMessage: "authentication failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, _ := newHandler(realService(newStore()))
			ev := loadEvent(t, baseEvent)
			tt.mutate(&ev)
			resp := invoke(t, context.Background(), h, ev)
			if tt.wantStatus == http.StatusOK {
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("got status %d, want 200 (body %s)", resp.StatusCode, resp.Body)
				}
				checkCommonHeaders(t, resp)
			} else {
				checkErrorResponse(t, resp, tt.wantStatus, tt.wantCode, tt.wantMessage, tt.wantDetails)
			}
			if etag, _ := header(t, resp, "ETag"); etag != tt.wantETag {
				t.Errorf("got ETag %q, want %q", etag, tt.wantETag)
			}
		})
	}
}

func ifMatchIs(value string) func(ev *events.APIGatewayV2HTTPRequest) {
	return func(ev *events.APIGatewayV2HTTPRequest) { ev.Headers["if-match"] = value }
}
