package apigw_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sms-platform/phone-numbers/pkg/apigw"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers/phonenumberstest"
)

// The healthy store FuzzHandler runs against: two organizations, keys of every kind, campaigns
// in every status and numbers of both organizations.
const (
	fuzzOtherOrg = "f0e1d2c3-b4a5-4697-8877-665544332211"

	fuzzNumberFull  = "6a1e4c7b-2d3f-4e5a-9b8c-7d6e5f4a3b2c" // org A, every optional field set
	fuzzNumberOther = "c3d2e1f0-a9b8-4c7d-8e6f-5a4b3c2d1e0f" // org B
	fuzzUnknownID   = "00000000-0000-4000-8000-000000000000"

	fuzzCampaignPending  = "11111111-1111-4111-8111-111111111111"
	fuzzCampaignRejected = "22222222-2222-4222-8222-222222222222"
	fuzzCampaignExpired  = "33333333-3333-4333-8333-333333333333"
	fuzzCampaignOther    = "44444444-4444-4444-8444-444444444444" // org B, ACTIVE
	fuzzCampaignUnknown  = "55555555-5555-4555-8555-555555555555"
)

// The secrets the Authorization header is built from; the fuzzer picks one by index.
var fuzzCredentials = []string{
	credWrite:    eventSecret,
	credReadOnly: "am_live_" + "r3adOnlyK3y0000000000000000000000000000R",
	credRevoked:  "am_live_" + "r3vok3dK3y00000000000000000000000000000V",
	credOtherOrg: "am_live_" + "0th3rOrgK3y000000000000000000000000000000B",
	credUnknown:  "am_live_" + "unkn0wnK3y00000000000000000000000000000U",
	credShort:    "am_live_short",
	credNone:     "",
}

const (
	credWrite    = iota // org A, numbers:write
	credReadOnly        // org A, numbers:read only
	credRevoked         // org A, numbers:write, revoked
	credOtherOrg        // org B, numbers:write
	credUnknown         // well formed, not stored
	credShort           // malformed
	credNone            // the prefix alone is the header value
)

// Body modes of FuzzHandler: how the body is put in the event.
const (
	bodyPlain     = iota // as is
	bodyBase64           // base64-encoded by the harness, isBase64Encoded set
	bodyRawBase64        // isBase64Encoded set, body sent as is (usually not base64)
)

var (
	fuzzCreated = time.Date(2026, 4, 26, 12, 0, 0, 0, time.UTC)
	fuzzNow     = time.Date(2026, 4, 27, 9, 30, 0, 0, time.UTC)
)

// newMemStore returns the healthy store FuzzHandler runs against, and its campaigns by id.
func newMemStore() (*phonenumberstest.MemStore, map[string]phonenumbers.Campaign) {
	s := func(v string) *string { return &v }
	revokedAt := fuzzCreated.Add(time.Hour)
	write := []string{phonenumbers.ScopeNumbersWrite}
	m := phonenumberstest.NewMemStore()
	for cred, key := range map[int]phonenumbers.APIKey{
		credWrite:    {ID: keyID, OrgID: orgID, Scopes: write},
		credReadOnly: {ID: "5c0ffee0-0000-4000-8000-000000000002", OrgID: orgID, Scopes: []string{"numbers:read"}},
		credRevoked:  {ID: "5c0ffee0-0000-4000-8000-000000000003", OrgID: orgID, Scopes: write, RevokedAt: &revokedAt},
		credOtherOrg: {ID: "5c0ffee0-0000-4000-8000-000000000004", OrgID: fuzzOtherOrg, Scopes: write},
	} {
		secret := fuzzCredentials[cred]
		key.Prefix, key.Label, key.CreatedAt = secret[:phonenumbers.KeyPrefixLength], "fuzz", fuzzCreated
		m.PutAPIKey(key, secret)
	}
	campaigns := map[string]phonenumbers.Campaign{
		campaignID:           {ID: campaignID, OrgID: orgID, Status: phonenumbers.CampaignActive},
		fuzzCampaignPending:  {ID: fuzzCampaignPending, OrgID: orgID, Status: phonenumbers.CampaignPending},
		fuzzCampaignRejected: {ID: fuzzCampaignRejected, OrgID: orgID, Status: phonenumbers.CampaignRejected},
		fuzzCampaignExpired:  {ID: fuzzCampaignExpired, OrgID: orgID, Status: phonenumbers.CampaignExpired},
		fuzzCampaignOther:    {ID: fuzzCampaignOther, OrgID: fuzzOtherOrg, Status: phonenumbers.CampaignActive},
	}
	propagated := fuzzCreated.Add(2 * time.Hour)
	for _, c := range campaigns {
		m.PutCampaign(c)
	}
	for _, n := range []phonenumbers.PhoneNumber{
		{ID: numberID, OrgID: orgID, Number: "+14155550123", NumberType: phonenumbers.NumberTypeLocal,
			SMSEnabled: true, CreatedAt: fuzzCreated, UpdatedAt: fuzzCreated},
		{ID: fuzzNumberFull, OrgID: orgID, Number: "+18005550100", NumberType: phonenumbers.NumberTypeTollFree,
			InboundURL: s("https://customer.example/v2/inbound"), StatusURL: s("https://customer.example/status"),
			Label: s("support-line"), CampaignID: s(campaignID), CarrierLineOptionStatus: s("propagated"),
			CarrierLineOptionPropagatedAt: &propagated, SMSEnabled: true, MMSEnabled: true,
			CreatedAt: fuzzCreated, UpdatedAt: fuzzCreated, Version: 3},
		{ID: fuzzNumberOther, OrgID: fuzzOtherOrg, Number: "12345", NumberType: phonenumbers.NumberTypeShortCode,
			CreatedAt: fuzzCreated, UpdatedAt: fuzzCreated},
	} {
		m.PutPhoneNumber(n)
	}
	return m, campaigns
}

// handlerSeed is one FuzzHandler input, named for readability, with the status it must get.
type handlerSeed struct {
	authName, authPrefix  string
	credential            uint8
	ctName, contentType   string
	extraName, extraValue string
	id, body              string
	bodyMode              uint8

	want int
}

// handlerSeeds returns a valid request for every row of the contract's status table, and nasty
// ones. Each is a change to a valid request.
func handlerSeeds() []handlerSeed {
	seed := func(want int, change func(s *handlerSeed)) handlerSeed {
		s := handlerSeed{authName: "authorization", authPrefix: "Bearer ", credential: credWrite,
			ctName: "content-type", contentType: "application/json",
			id: numberID, body: `{"inbound_url":"https://customer.example/v2/inbound","label":"support-line"}`, want: want}
		change(&s)
		return s
	}
	body := func(want int, b string) handlerSeed { return seed(want, func(s *handlerSeed) { s.body = b }) }
	ifMatch := func(want int, id, value string) handlerSeed {
		return seed(want, func(s *handlerSeed) { s.id, s.extraName, s.extraValue = id, "if-match", value })
	}
	withCampaign := func(want int, id string) handlerSeed { return body(want, `{"campaign_id":"`+id+`"}`) }
	big := `{"label":"` + strings.Repeat("a", apigw.MaxBodyBytes) + `"}`
	return []handlerSeed{
		// 200.
		seed(200, func(*handlerSeed) {}),
		body(200, `{"inbound_url":"https://customer.example/in","status_url":"https://customer.example/st","label":"Zürich ☎","campaign_id":"`+strings.ToUpper(campaignID)+`"}`),
		body(200, `{}`),
		body(200, `{"inbound_url":null,"status_url":null,"label":null,"campaign_id":null}`),
		seed(200, func(s *handlerSeed) { s.id, s.body = fuzzNumberFull, `{"inbound_url":"","status_url":"","label":""}` }),
		seed(200, func(s *handlerSeed) {
			s.id, s.body = fuzzNumberFull, `{"inbound_url":"https://customer.example/v2/inbound","label":"support-line","campaign_id":"`+campaignID+`"}`
		}),
		seed(200, func(s *handlerSeed) { s.bodyMode = bodyBase64 }),
		seed(200, func(s *handlerSeed) { s.id = strings.ToUpper(numberID) }),
		seed(200, func(s *handlerSeed) {
			s.credential, s.id, s.body = credOtherOrg, fuzzNumberOther, `{"campaign_id":"`+fuzzCampaignOther+`"}`
		}),
		seed(200, func(s *handlerSeed) { s.authPrefix = "bearer   " }),
		seed(200, func(s *handlerSeed) { s.authName, s.authPrefix, s.ctName = "AUTHORIZATION", "BEARER ", "Content-Type" }),
		seed(200, func(s *handlerSeed) { s.ctName = "" }),
		seed(200, func(s *handlerSeed) { s.contentType = "application/merge-patch+json; charset=utf-8" }),
		// 401.
		seed(401, func(s *handlerSeed) { s.authName = "" }),
		seed(401, func(s *handlerSeed) { s.authPrefix, s.credential = "", credNone }),
		seed(401, func(s *handlerSeed) { s.authPrefix = "Basic " }),
		seed(401, func(s *handlerSeed) { s.authPrefix = "Bearer" }),
		seed(401, func(s *handlerSeed) { s.authPrefix = "Bearer\t" }),
		seed(401, func(s *handlerSeed) { s.credential = credShort }),
		seed(401, func(s *handlerSeed) { s.credential = credUnknown }),
		seed(401, func(s *handlerSeed) { s.credential = credRevoked }),
		seed(401, func(s *handlerSeed) { s.credential, s.body = credRevoked, `{"campaign_id":"`+campaignID+`"}` }),
		seed(401, func(s *handlerSeed) { s.credential, s.id, s.body = credUnknown, "nope", "not json" }),
		seed(401, func(s *handlerSeed) { s.authPrefix, s.credential = "Bearer "+eventSecret+" ", credNone }),
		// 403.
		seed(403, func(s *handlerSeed) { s.credential = credReadOnly }),
		seed(403, func(s *handlerSeed) { s.credential, s.id, s.body = credReadOnly, "nope", "not json" }),
		// 400 VALIDATION_FAILED on the path id.
		seed(400, func(s *handlerSeed) { s.id = "nope" }),
		seed(400, func(s *handlerSeed) { s.id = "" }),
		seed(400, func(s *handlerSeed) { s.id = "../../../../etc/passwd" }),
		seed(400, func(s *handlerSeed) { s.id = numberID[:35] + "\n" }),
		// 415.
		seed(415, func(s *handlerSeed) { s.contentType = "text/plain" }),
		seed(415, func(s *handlerSeed) { s.contentType = "application/+json" }),
		seed(415, func(s *handlerSeed) { s.contentType = "application/json; charset" }),
		// 413.
		body(413, big),
		seed(413, func(s *handlerSeed) { s.body, s.bodyMode = big, bodyBase64 }),
		// 400 INVALID_INPUT.
		body(400, ``),
		body(400, `label=support`),
		body(400, `[]`),
		body(400, `{"label":"a","l\u0061bel":"b"}`),
		body(400, `{"label":"x"} {}`),
		body(400, `{"number":"+14155550123","sms_enabled":false}`),
		body(400, `{"label":`+strings.Repeat("[", 10_001)),
		seed(400, func(s *handlerSeed) { s.bodyMode = bodyRawBase64 }),
		seed(400, func(s *handlerSeed) { s.body, s.bodyMode = "{\"label\":\"\xff\"}", bodyBase64 }),
		// 422.
		body(422, `{"inbound_url":"http://customer.example/in","status_url":"https://169.254.169.254/latest/meta-data/"}`),
		body(422, `{"label":"`+strings.Repeat("é", phonenumbers.MaxLabelLength+1)+`","campaign_id":""}`),
		body(422, `{"label":7,"campaign_id":"campaign-1"}`),
		withCampaign(422, fuzzCampaignUnknown),
		withCampaign(422, fuzzCampaignOther),
		// 409.
		withCampaign(409, fuzzCampaignPending),
		withCampaign(409, fuzzCampaignRejected),
		withCampaign(409, fuzzCampaignExpired),
		seed(409, func(s *handlerSeed) {
			s.id, s.body = fuzzNumberFull, `{"campaign_id":"`+fuzzCampaignExpired+`","label":""}`
		}),
		// 404.
		seed(404, func(s *handlerSeed) { s.id = fuzzNumberOther }),
		seed(404, func(s *handlerSeed) { s.id = fuzzUnknownID }),
		seed(404, func(s *handlerSeed) { s.credential, s.id = credOtherOrg, numberID }),
		// If-Match: a foreign or missing number is the same 404 whatever the If-Match; a malformed
		// one is a 400 after the members and before their values; a stale or weak one is a 412.
		ifMatch(200, numberID, `"0"`),
		ifMatch(200, fuzzNumberFull, `"2", "3"`),
		ifMatch(200, fuzzNumberFull, `*`),
		ifMatch(412, fuzzNumberFull, `"0"`),
		ifMatch(412, fuzzNumberFull, `W/"3"`),
		ifMatch(412, fuzzNumberFull, `"03"`),
		ifMatch(404, fuzzNumberOther, `"0"`),
		ifMatch(404, fuzzNumberOther, `"5"`),
		ifMatch(404, fuzzUnknownID, `*`),
		ifMatch(400, numberID, `3`),
		ifMatch(400, numberID, ``),
		ifMatch(400, numberID, strings.Repeat(`"1",`, phonenumbers.MaxPreconditionTags+1)),
		seed(400, func(s *handlerSeed) {
			s.extraName, s.extraValue, s.body = "if-match", "3", `{"inbound_url":"http://x","campaign_id":""}`
		}),
		seed(400, func(s *handlerSeed) { s.extraName, s.extraValue, s.body = "if-match", "3", `{"number":"+1"}` }),
		seed(401, func(s *handlerSeed) { s.extraName, s.extraValue, s.credential = "if-match", "3", credUnknown }),
		seed(403, func(s *handlerSeed) { s.extraName, s.extraValue, s.credential = "if-match", "3", credReadOnly }),
		seed(200, func(s *handlerSeed) { s.extraName, s.extraValue = "if-none-match", `"99"` }),
		seed(200, func(s *handlerSeed) {
			s.extraName, s.extraValue = "if-unmodified-since", "Sat, 01 Jan 2000 00:00:00 GMT"
		}),
		// Nasty: colliding and odd headers, secrets in the body, odd bytes everywhere. API Gateway
		// sends lower-case names, which the handler prefers over other spellings.
		seed(200, func(s *handlerSeed) {
			s.extraName, s.extraValue = "Authorization", "Bearer "+fuzzCredentials[credRevoked]
		}),
		seed(200, func(s *handlerSeed) {
			s.authName, s.extraName, s.extraValue = "Authorization", "AuThOrIzAtIoN", "Bearer "+eventSecret
		}),
		seed(200, func(s *handlerSeed) { s.extraName, s.extraValue = "CONTENT-TYPE", "text/plain" }),
		seed(200, func(s *handlerSeed) { s.extraName, s.extraValue = "x-evil\r\nset-cookie", "a\x00b\r\n\r\n" }),
		seed(401, func(s *handlerSeed) { s.authPrefix = "Bearer \x00" }),
		// A quoted parameter may hold any byte: the media type is still JSON.
		seed(200, func(s *handlerSeed) { s.contentType = "application/json; charset=\"\x00\"" }),
		body(400, `{"`+eventSecret+`":1,"`+fuzzCredentials[credOtherOrg]+`":2}`),
		body(400, `{"label":"`+eventSecret+`","label":"`+eventSecret+`"}`),
		body(200, `{"label":"`+fuzzCredentials[credRevoked]+`"}`),
		body(400, `{"meta":`+strings.Repeat("[", 5000)+strings.Repeat("]", 5000)+`}`),
		body(200, "{\"label\":\"\\ud800\"}"),
	}
}

func FuzzHandler(f *testing.F) {
	for _, s := range handlerSeeds() {
		f.Add(s.authName, s.authPrefix, s.credential, s.ctName, s.contentType, s.extraName, s.extraValue, s.id, s.body, s.bodyMode)
	}
	baseJSON := readBaseEvent(f)
	f.Fuzz(func(t *testing.T, authName, authPrefix string, credential uint8, ctName, contentType, extraName, extraValue, id, body string, bodyMode uint8) {
		serveFuzzInput(t, baseJSON, handlerSeed{authName: authName, authPrefix: authPrefix, credential: credential,
			ctName: ctName, contentType: contentType, extraName: extraName, extraValue: extraValue,
			id: id, body: body, bodyMode: bodyMode})
	})
}

// TestHandlerFuzzSeedsCoverEveryStatus keeps the seed corpus honest: each seed gets the status it
// is listed under, and together they reach every status the contract allows with healthy storage.
func TestHandlerFuzzSeedsCoverEveryStatus(t *testing.T) {
	t.Parallel()
	baseJSON := readBaseEvent(t)
	seen := map[int]bool{}
	for i, s := range handlerSeeds() {
		if got := serveFuzzInput(t, baseJSON, s); got != s.want {
			t.Errorf("seed %d (id %q, body %.60q): got status %d, want %d", i, s.id, s.body, got, s.want)
		}
		seen[s.want] = true
	}
	for status := range fuzzErrors {
		if !seen[status] {
			t.Errorf("no seed gets status %d", status)
		}
	}
	if !seen[http.StatusOK] {
		t.Errorf("no seed gets status 200")
	}
}

func readBaseEvent(tb testing.TB) []byte {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", baseEvent))
	if err != nil {
		tb.Fatalf("read base event: %v", err)
	}
	return raw
}

// serveFuzzInput builds the event in, serves it with the real service and authenticator over a
// fresh healthy store, checks every invariant of the contract and returns the status.
func serveFuzzInput(t *testing.T, baseJSON []byte, in handlerSeed) int {
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(baseJSON, &ev); err != nil {
		t.Fatalf("unmarshal base event: %v", err)
	}
	delete(ev.Headers, "authorization")
	delete(ev.Headers, "content-type")
	if in.extraName != "" {
		ev.Headers[in.extraName] = in.extraValue
	}
	if in.authName != "" {
		ev.Headers[in.authName] = in.authPrefix + fuzzCredentials[int(in.credential)%len(fuzzCredentials)]
	}
	if in.ctName != "" {
		ev.Headers[in.ctName] = in.contentType
	}
	ev.PathParameters = map[string]string{"id": in.id}
	ev.RawPath = "/v1/phone-numbers/" + in.id
	ev.RequestContext.HTTP.Path = ev.RawPath
	ev.Body = in.body
	switch in.bodyMode % 3 {
	case bodyBase64:
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(in.body)), true
	case bodyRawBase64:
		ev.IsBase64Encoded = true
	}

	store, campaigns := newMemStore()
	before := store.PhoneNumbers()
	var logs bytes.Buffer
	clock := func() time.Time { return fuzzNow }
	svc := phonenumbers.NewService(store, store, store, clock)
	h := apigw.NewHandler(svc, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))

	// invoke goes through lambda.NewHandler(h).Invoke, as lambda.Start does, and fails on a returned
	// error.
	resp := invoke(t, context.Background(), h, ev)

	checkCommonHeaders(t, resp)
	requestID, _ := header(t, resp, "X-Request-Id")
	env := decodeEnvelope(t, resp.Body)
	checkFuzzETag(t, resp, ev, before, store.PhoneNumbers())
	if resp.StatusCode == http.StatusOK {
		checkFuzzSuccess(t, resp, env, campaigns, store, before, ev)
	} else {
		checkFuzzError(t, resp, env, requestID)
		if after := store.PhoneNumbers(); !reflect.DeepEqual(after, before) {
			t.Errorf("got a %d that changed the store, want failed requests to write nothing", resp.StatusCode)
		}
	}

	// Storage is read only as the contract allows: no key lookup without a well-formed secret,
	// one at most otherwise, and the update only once every check before it passed.
	parsable := false
	for name, v := range ev.Headers {
		if _, ok := phonenumbers.ParseBearer(v); ok && strings.EqualFold(name, "authorization") {
			parsable = true
		}
	}
	calls := store.Calls()
	keyLookups := len(calls.APIKeyHashes)
	if !parsable && (resp.StatusCode != http.StatusUnauthorized || keyLookups != 0) {
		t.Errorf("got status %d after %d key lookups for a request with no well-formed secret, want 401 after none", resp.StatusCode, keyLookups)
	}
	if keyLookups > 1 {
		t.Errorf("got %d key lookups, want at most 1", keyLookups)
	}
	// Updates and attaches are writes: at most one, and none unless 200, 404 or 412. Without
	// campaign_id the one conditional write decides; with it, the number read may decide alone.
	updated := len(calls.Updates) + len(calls.Attaches)
	decided := resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusPreconditionFailed
	switch read := len(calls.PhoneNumberIDs) > 0; {
	case updated > 1, !decided && updated != 0:
		t.Errorf("got %d updates for status %d, want at most one, and none unless 200, 404 or 412", updated, resp.StatusCode)
	case decided && !read && updated != 1:
		t.Errorf("got %d updates for status %d without a number read, want 1", updated, resp.StatusCode)
	}

	checkFuzzLog(t, logs.Bytes(), resp.StatusCode, requestID)
	checkNoSecrets(t, resp, env, ev)
	return resp.StatusCode
}

// checkFuzzETag asserts contract §8 on the response: a 200 carries the stored version's ETag, a
// 412 the current version's and only for a number of the caller's organization whose version the
// request's If-Match does not match; no other response carries an ETag.
func checkFuzzETag(t *testing.T, resp events.APIGatewayV2HTTPResponse, ev events.APIGatewayV2HTTPRequest, before, after map[string]phonenumbers.PhoneNumber) {
	t.Helper()
	got, hasETag := header(t, resp, "ETag")
	id := strings.ToLower(ev.PathParameters["id"])
	switch resp.StatusCode {
	case http.StatusOK:
		if want := `"` + strconv.FormatInt(after[id].Version, 10) + `"`; got != want {
			t.Errorf("got ETag %q on a 200, want %s", got, want)
		}
		if changed := !reflect.DeepEqual(after[id], before[id]); changed && after[id].Version != before[id].Version+1 || !changed && after[id].Version != before[id].Version {
			t.Errorf("version went from %d to %d (changed %v), want +1 exactly on a change", before[id].Version, after[id].Version, changed)
		}
	case http.StatusPreconditionFailed:
		stored := before[id]
		if want := `"` + strconv.FormatInt(stored.Version, 10) + `"`; got != want {
			t.Errorf("got ETag %q on a 412, want the current %s", got, want)
		}
		value, sent := "", false
		for name, v := range ev.Headers {
			if strings.EqualFold(name, "if-match") {
				value, sent = v, true
			}
		}
		cond, err := apigw.ParseIfMatch(value)
		if !sent || err != nil || cond.Matches(stored.Version) {
			t.Errorf("got a 412 for If-Match %q (sent %v, parse error %v) on version %d, want it only when a well-formed If-Match does not match", value, sent, err, stored.Version)
		}
	default:
		if hasETag {
			t.Errorf("got ETag %q on a %d, want none", got, resp.StatusCode)
		}
	}
}

// decodeEnvelope decodes a response body strictly into the contract's envelope and checks that
// it holds exactly data or exactly error.
func decodeEnvelope(t *testing.T, body string) apigw.Envelope {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	var env apigw.Envelope
	if err := dec.Decode(&env); err != nil {
		t.Fatalf("got body %s, want the envelope: %v", body, err)
	}
	want := []string{"error", "success"}
	if env.Success {
		want = []string{"data", "success"}
	}
	if got := keys(members(t, []byte(body))); !slices.Equal(got, want) {
		t.Fatalf("got envelope members %v with success %v, want %v", got, env.Success, want)
	}
	return env
}

// fuzzErrors is the contract's status table: the code and, where fixed, the message of each
// status an error response may have with healthy storage.
var fuzzErrors = map[int][]struct{ code, message string }{
	http.StatusUnauthorized:          {{apigw.CodeUnauthorized, "authentication failed"}},
	http.StatusForbidden:             {{apigw.CodeForbidden, "missing required scope"}},
	http.StatusBadRequest:            {{apigw.CodeValidationFailed, "validation failed"}, {apigw.CodeInvalidInput, ""}},
	http.StatusUnsupportedMediaType:  {{apigw.CodeUnsupportedMediaType, ""}},
	http.StatusRequestEntityTooLarge: {{apigw.CodePayloadTooLarge, ""}},
	http.StatusUnprocessableEntity:   {{apigw.CodeValidationFailed, "validation failed"}},
	http.StatusConflict:              {{apigw.CodeCampaignNotActive, "campaign is not active"}},
	http.StatusNotFound:              {{apigw.CodeNotFound, "not found"}},
	http.StatusPreconditionFailed:    {{apigw.CodePreconditionFailed, "precondition failed"}},
}

func checkFuzzError(t *testing.T, resp events.APIGatewayV2HTTPResponse, env apigw.Envelope, requestID string) {
	t.Helper()
	rows, ok := fuzzErrors[resp.StatusCode]
	if !ok || env.Success || env.Error == nil {
		t.Fatalf("got status %d with body %s, want one of the contract's statuses (no 5xx: storage is healthy)", resp.StatusCode, resp.Body)
	}
	e := env.Error
	matched := false
	for _, row := range rows {
		if e.Code == row.code && (row.message == "" && e.Message != "" || e.Message == row.message) {
			matched = true
		}
	}
	if !matched {
		t.Errorf("got status %d with code %q and message %q, want one of %v", resp.StatusCode, e.Code, e.Message, rows)
	}
	if e.RequestID != requestID {
		t.Errorf("got error.request_id %q, want X-Request-Id %q", e.RequestID, requestID)
	}
	switch {
	case resp.StatusCode == http.StatusBadRequest && e.Code == apigw.CodeValidationFailed:
		if !maps.Equal(e.Details, map[string]string{"id": "must be a UUID"}) {
			t.Errorf("got details %v, want the path id's", e.Details)
		}
	case resp.StatusCode == http.StatusUnprocessableEntity:
		if len(e.Details) == 0 {
			t.Errorf("got a 422 without details")
		}
		for field, problem := range e.Details {
			if !isUpdatableName(field) || problem == "" {
				t.Errorf("got detail %q: %q, want an updatable field and its problem", field, problem)
			}
		}
	case e.Details != nil:
		t.Errorf("got details %v on a %d, want none", e.Details, resp.StatusCode)
	}
	wwwAuth, hasWWWAuth := header(t, resp, "WWW-Authenticate")
	if (resp.StatusCode == http.StatusUnauthorized) != hasWWWAuth || hasWWWAuth && wwwAuth != "Bearer" {
		t.Errorf("got WWW-Authenticate %q (present %v) on a %d, want Bearer exactly on 401", wwwAuth, hasWWWAuth, resp.StatusCode)
	}
	if v, ok := header(t, resp, "Retry-After"); ok {
		t.Errorf("got Retry-After %q on a %d, want none", v, resp.StatusCode)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		// Every 401 is the same bytes apart from the request id.
		want := `{"success":false,"error":{"code":"UNAUTHORIZED","message":"authentication failed","request_id":"` + requestID + `"}}`
		if resp.Body != want {
			t.Errorf("got 401 body %s, want %s", resp.Body, want)
		}
		if got := slices.Sorted(maps.Keys(resp.Headers)); !slices.Equal(got, []string{"Cache-Control", "Content-Type", "WWW-Authenticate", "X-Request-Id"}) {
			t.Errorf("got 401 headers %v", got)
		}
	}
}

func checkFuzzSuccess(t *testing.T, resp events.APIGatewayV2HTTPResponse, env apigw.Envelope, campaigns map[string]phonenumbers.Campaign, store *phonenumberstest.MemStore, before map[string]phonenumbers.PhoneNumber, ev events.APIGatewayV2HTTPRequest) {
	t.Helper()
	if !env.Success || env.Data == nil {
		t.Fatalf("got 200 with body %s, want success and data", resp.Body)
	}
	for _, name := range []string{"WWW-Authenticate", "Retry-After"} {
		if v, ok := header(t, resp, name); ok {
			t.Errorf("got %s %q on a 200, want none", name, v)
		}
	}
	data := members(t, members(t, []byte(resp.Body))["data"])
	if got, want := keys(data), slices.Sorted(slices.Values(resourceMembers)); !slices.Equal(got, want) {
		t.Errorf("got data members %v, want exactly %v", got, want)
	}
	id := strings.ToLower(ev.PathParameters["id"])
	after := store.PhoneNumbers()
	stored, ok := after[id]
	if !ok || env.Data.ID != id {
		t.Fatalf("got 200 for id %q with data id %q, want the stored number", id, env.Data.ID)
	}
	if !reflect.DeepEqual(env.Data, apigw.NewPhoneNumberJSON(stored)) {
		t.Errorf("got data %+v, want the stored number %+v", *env.Data, *apigw.NewPhoneNumberJSON(stored))
	}
	// Only the owner's write key can succeed.
	owner := map[string]string{orgID: fuzzCredentials[credWrite], fuzzOtherOrg: fuzzCredentials[credOtherOrg]}[stored.OrgID]
	authorized := false
	for name, v := range ev.Headers {
		if strings.EqualFold(name, "authorization") && owner != "" && strings.Contains(v, owner) {
			authorized = true
		}
	}
	if !authorized {
		t.Errorf("got 200 on number %s of org %s without that organization's write key", id, stored.OrgID)
	}
	// A campaign is attached only if it is an ACTIVE campaign of the number's organization.
	if c := stored.CampaignID; c != nil && !reflect.DeepEqual(c, before[id].CampaignID) {
		if campaign, ok := campaigns[*c]; !ok || campaign.OrgID != stored.OrgID || campaign.Status != phonenumbers.CampaignActive {
			t.Errorf("got campaign %s attached to a number of org %s, want an ACTIVE campaign of that org", *c, stored.OrgID)
		}
	}
	delete(after, id)
	delete(before, id)
	if !reflect.DeepEqual(after, before) {
		t.Errorf("got a 200 on %s that changed other numbers", id)
	}
}

// checkFuzzLog asserts one JSON log line per request that agrees with the response and holds no
// secret.
func checkFuzzLog(t *testing.T, logs []byte, status int, requestID string) {
	t.Helper()
	lines := bytes.Split(bytes.TrimRight(logs, "\n"), []byte("\n"))
	if len(lines) != 1 {
		t.Fatalf("got %d log lines, want 1:\n%s", len(lines), logs)
	}
	var line struct {
		Level     string  `json:"level"`
		Status    float64 `json:"status"`
		RequestID string  `json:"request_id"`
	}
	if err := json.Unmarshal(lines[0], &line); err != nil {
		t.Fatalf("got log line %s, want JSON: %v", lines[0], err)
	}
	if line.Level != "INFO" || line.Status != float64(status) || line.RequestID != requestID {
		t.Errorf("got log line %s, want level INFO, status %d and request_id %s", lines[0], status, requestID)
	}
	for _, secret := range fuzzCredentials {
		if random := strings.TrimPrefix(secret, phonenumbers.SecretPrefix); len(random) >= 32 && bytes.Contains(logs, []byte(random)) {
			t.Errorf("got log line containing a secret: %s", logs)
		}
	}
}

// checkNoSecrets asserts that no secret the harness knows reaches the log or the response. The
// one exception is text of the caller's own body that the response echoes: member names in an
// INVALID_INPUT message, and values a 200 returns as stored.
func checkNoSecrets(t *testing.T, resp events.APIGatewayV2HTTPResponse, env apigw.Envelope, ev events.APIGatewayV2HTTPRequest) {
	t.Helper()
	callerText := callerBodyText(ev)
	echoable := resp.Body
	if env.Error != nil && env.Error.Code == apigw.CodeInvalidInput {
		echoable = strings.Replace(resp.Body, jsonString(t, env.Error.Message), jsonString(t, withoutQuoted(env.Error.Message)), 1)
	}
	headers, err := json.Marshal(resp.Headers)
	if err != nil {
		t.Fatalf("marshal headers: %v", err)
	}
	for _, secret := range fuzzCredentials {
		random := strings.TrimPrefix(secret, phonenumbers.SecretPrefix)
		if len(random) < 32 {
			continue
		}
		if bytes.Contains(headers, []byte(random)) {
			t.Errorf("got response headers containing a secret: %s", headers)
		}
		if strings.Contains(echoable, random) && !(env.Success && strings.Contains(callerText, random)) {
			t.Errorf("got response body containing a secret: %s", resp.Body)
		}
	}
}

// callerBodyText returns the request body as the service reads it, followed by every string of
// it as decoded JSON, so that escaped spellings of a secret count as the caller's own text.
func callerBodyText(ev events.APIGatewayV2HTTPRequest) string {
	raw := []byte(ev.Body)
	if ev.IsBase64Encoded {
		if decoded, err := base64.StdEncoding.DecodeString(ev.Body); err == nil {
			raw = decoded
		}
	}
	var text strings.Builder
	text.Write(raw)
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := dec.Token()
		if err != nil {
			return text.String()
		}
		if s, ok := tok.(string); ok {
			text.WriteString("\x00" + s)
		}
	}
}

// withoutQuoted drops the Go-quoted strings from s: the member names an INVALID_INPUT message
// echoes from the caller's body.
func withoutQuoted(s string) string {
	var out strings.Builder
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			out.WriteString(s)
			return out.String()
		}
		out.WriteString(s[:i])
		quoted, err := strconv.QuotedPrefix(s[i:])
		if err != nil {
			out.WriteString(s[i:])
			return out.String()
		}
		s = s[i+len(quoted):]
	}
}

func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("marshal %q: %v", s, err)
	}
	return string(b)
}
