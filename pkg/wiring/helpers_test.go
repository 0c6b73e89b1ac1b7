package wiring_test

// The shared helpers of this package's tests: the world each test builds (engine, tables, keys,
// organizations and the local API in front of the wired handler), requests and the checks of
// responses, and inspection of what storage holds.

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/sms-platform/phone-numbers/local/enginetest"
	"github.com/sms-platform/phone-numbers/local/openapitest"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers/phonenumberstest"
)

func TestMain(m *testing.M) { enginetest.Main(m) }

const (
	orgA = "11111111-1111-4111-8111-111111111111"
	orgB = "22222222-2222-4222-8222-222222222222"
)

var (
	createdAt    = time.Date(2026, 4, 26, 12, 0, 0, 0, time.UTC)
	propagatedAt = time.Date(2026, 4, 26, 13, 0, 0, 0, time.UTC)
	seededAt     = time.Date(2026, 4, 26, 14, 0, 0, 0, time.UTC)
)

// httpClient outlives the servers' function timeout (enginetest.UnhurriedFunctionTimeout, or
// the deployed one in tests about it), so that a late answer is measured rather than cut off.
var httpClient = &http.Client{Timeout: 2 * enginetest.UnhurriedFunctionTimeout}

// world is one test's seeded data and server: keys and campaigns of two organizations.
type world struct {
	env *enginetest.Env
	srv *httptest.Server

	writeSecret    string // org A, numbers:read and numbers:write
	readOnlySecret string // org A, numbers:read
	nearMissSecret string // org A, scopes resembling numbers:write
	revokedSecret  string // org A, numbers:write, revoked
	orgBSecret     string // org B, numbers:write

	activeCampaign   string // org A
	activeCampaign2  string // org A
	pendingCampaign  string // org A
	rejectedCampaign string // org A
	expiredCampaign  string // org A
	orgBCampaign     string // org B, ACTIVE
}

func newWorld(t *testing.T, env *enginetest.Env) *world {
	t.Helper()
	w := &world{
		env:              env,
		writeSecret:      newSecret(40),
		readOnlySecret:   newSecret(40),
		nearMissSecret:   newSecret(40),
		revokedSecret:    newSecret(40),
		orgBSecret:       newSecret(40),
		activeCampaign:   phonenumberstest.NewUUID(),
		activeCampaign2:  phonenumberstest.NewUUID(),
		pendingCampaign:  phonenumberstest.NewUUID(),
		rejectedCampaign: phonenumberstest.NewUUID(),
		expiredCampaign:  phonenumberstest.NewUUID(),
		orgBCampaign:     phonenumberstest.NewUUID(),
	}
	revokedAt := time.Date(2026, 4, 27, 8, 0, 0, 0, time.UTC)
	for _, k := range []struct {
		secret    string
		org       string
		scopes    []string
		revokedAt *time.Time
	}{
		{w.writeSecret, orgA, []string{"numbers:read", phonenumbers.ScopeNumbersWrite}, nil},
		{w.readOnlySecret, orgA, []string{"numbers:read"}, nil},
		{w.nearMissSecret, orgA, []string{"NUMBERS:WRITE", "numbers:writer", "numbers:read"}, nil},
		{w.revokedSecret, orgA, []string{phonenumbers.ScopeNumbersWrite}, &revokedAt},
		{w.orgBSecret, orgB, []string{phonenumbers.ScopeNumbersWrite}, nil},
	} {
		env.PutAPIKey(t, phonenumbers.APIKey{
			ID: phonenumberstest.NewUUID(), OrgID: k.org, Scopes: k.scopes, Label: "test", CreatedAt: createdAt, RevokedAt: k.revokedAt,
		}, k.secret)
	}
	for _, c := range []phonenumbers.Campaign{
		{ID: w.activeCampaign, OrgID: orgA, Status: phonenumbers.CampaignActive},
		{ID: w.activeCampaign2, OrgID: orgA, Status: phonenumbers.CampaignActive},
		{ID: w.pendingCampaign, OrgID: orgA, Status: phonenumbers.CampaignPending},
		{ID: w.rejectedCampaign, OrgID: orgA, Status: phonenumbers.CampaignRejected},
		{ID: w.expiredCampaign, OrgID: orgA, Status: phonenumbers.CampaignExpired},
		{ID: w.orgBCampaign, OrgID: orgB, Status: phonenumbers.CampaignActive},
	} {
		env.PutCampaign(t, c)
	}
	w.srv = env.NewServer(t)
	return w
}

// putNumber stores a fully configured number of org A (every optional field set except
// status_url), changed by edit when given.
func (w *world) putNumber(t *testing.T, edit func(n *phonenumbers.PhoneNumber)) phonenumbers.PhoneNumber {
	t.Helper()
	n := phonenumbers.PhoneNumber{
		ID:                            phonenumberstest.NewUUID(),
		OrgID:                         orgA,
		Number:                        "+14155550123",
		NumberType:                    phonenumbers.NumberTypeLocal,
		InboundURL:                    ptr("https://customer.example/v1/inbound"),
		Label:                         ptr("support-line"),
		CampaignID:                    ptr(w.activeCampaign),
		CarrierLineOptionStatus:       ptr("propagated"),
		CarrierLineOptionPropagatedAt: &propagatedAt,
		SMSEnabled:                    true,
		MMSEnabled:                    false,
		CreatedAt:                     createdAt,
		UpdatedAt:                     seededAt,
	}
	if edit != nil {
		edit(&n)
	}
	w.env.PutPhoneNumber(t, n)
	return n
}

// bare clears every optional field of a number.
func bare(n *phonenumbers.PhoneNumber) {
	n.InboundURL, n.StatusURL, n.Label, n.CampaignID = nil, nil, nil, nil
	n.CarrierLineOptionStatus, n.CarrierLineOptionPropagatedAt = nil, nil
	n.NumberType = phonenumbers.NumberTypeTollFree
	n.Number = "+18005550199"
}

// ---- requests and responses ----

type reqOption func(r *http.Request)

func withAuth(value string) reqOption {
	return func(r *http.Request) { r.Header.Set("Authorization", value) }
}

func withBearer(secret string) reqOption { return withAuth("Bearer " + secret) }

func withoutAuth() reqOption { return func(r *http.Request) { r.Header.Del("Authorization") } }

func withContentType(value string) reqOption {
	return func(r *http.Request) { r.Header.Set("Content-Type", value) }
}

func withoutContentType() reqOption { return func(r *http.Request) { r.Header.Del("Content-Type") } }

// withRawHeader sets a header under exactly the given name, bypassing canonicalization.
func withRawHeader(name, value string) reqOption {
	return func(r *http.Request) { r.Header[name] = []string{value} }
}

type response struct {
	status  int
	header  http.Header
	body    []byte
	elapsed time.Duration
}

func (r response) requestID() string { return r.header.Get("X-Request-Id") }

// bodyWithoutRequestID is the body with its request id replaced, for comparing responses that
// must be identical apart from it.
func (r response) bodyWithoutRequestID() string {
	return strings.ReplaceAll(string(r.body), r.requestID(), "<request_id>")
}

// patch sends PATCH /v1/phone-numbers/{id} with body, as org A's write key with Content-Type
// application/json unless opts say otherwise, and checks what every response must have.
func (w *world) patch(t *testing.T, id, body string, opts ...reqOption) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPatch, w.srv.URL+"/v1/phone-numbers/"+id, strings.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+w.writeSecret)
	req.Header.Set("Content-Type", "application/json")
	for _, opt := range opts {
		opt(req)
	}
	start := time.Now()
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("PATCH %s: %v", id, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("PATCH %s: read body: %v", id, err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, body: raw, elapsed: time.Since(start)}
	r.checkAgainstDocument(t, req.Method, req.URL.EscapedPath())

	for name, want := range map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"} {
		if got := r.header.Get(name); got != want {
			t.Errorf("PATCH %s: %s = %q, want %q", id, name, got, want)
		}
	}
	if _, err := ulid.ParseStrict(r.requestID()); err != nil {
		t.Errorf("PATCH %s: X-Request-Id = %q, want a ULID: %v", id, r.requestID(), err)
	}
	if !json.Valid(raw) {
		t.Errorf("PATCH %s: body is not JSON: %s", id, raw)
	}
	return r
}

// checkAgainstDocument holds a response to the OpenAPI document, pkg/apigw/openapi.yaml. Every
// response this package's tests receive passes through it: patch, sendAll and fromEvent call it.
func (r response) checkAgainstDocument(t testing.TB, method, path string) {
	t.Helper()
	openapitest.ValidateResponse(t, method, path, r.status, r.header, r.body)
}

// anyMessage in wantErr.details accepts any non-empty message for that field.
const anyMessage = "*"

type wantErr struct {
	status int
	code   string
	// message is the exact message; when empty, the message must contain every string of
	// contains and be non-empty.
	message  string
	contains []string
	// details is nil when the response must have no details.
	details map[string]string
}

// The contract's status table (§2), one row each.
var (
	want401   = wantErr{status: http.StatusUnauthorized, code: "UNAUTHORIZED", message: "authentication failed"}
	want403   = wantErr{status: http.StatusForbidden, code: "FORBIDDEN", message: "missing required scope"}
	want400ID = wantErr{status: http.StatusBadRequest, code: "VALIDATION_FAILED", message: "validation failed",
		details: map[string]string{"id": "must be a UUID"}}
	want415         = wantErr{status: http.StatusUnsupportedMediaType, code: "UNSUPPORTED_MEDIA_TYPE", contains: []string{"application/json"}}
	want413         = wantErr{status: http.StatusRequestEntityTooLarge, code: "PAYLOAD_TOO_LARGE", contains: []string{"16384"}}
	want400Input    = wantErr{status: http.StatusBadRequest, code: "INVALID_INPUT"}
	want422Campaign = want422(map[string]string{"campaign_id": "campaign not found"})
	want409         = wantErr{status: http.StatusConflict, code: "CAMPAIGN_NOT_ACTIVE", message: "campaign is not active"}
	want404         = wantErr{status: http.StatusNotFound, code: "NOT_FOUND", message: "not found"}
	want503         = wantErr{status: http.StatusServiceUnavailable, code: "SERVICE_UNAVAILABLE"}
	want500         = wantErr{status: http.StatusInternalServerError, code: "INTERNAL", message: "internal error"}
)

// updatableMembers is how an unsupported-member message must list the updatable members.
var updatableMembers = []string{`"inbound_url"`, `"status_url"`, `"label"`, `"campaign_id"`}

// internalFragments must never appear in a 5xx body.
var internalFragments = []string{"dynamodb", "DynamoDB", "unmarshal", "decode", "attribute", "127.0.0.1", "sms_enabled", "scopes"}

func want422(details map[string]string) wantErr {
	return wantErr{status: http.StatusUnprocessableEntity, code: "VALIDATION_FAILED", message: "validation failed", details: details}
}

func withContains(w wantErr, s ...string) wantErr {
	w.contains = append(slices.Clone(w.contains), s...)
	return w
}

// checkError checks that r is the error envelope want describes, with the headers its status
// requires.
func checkError(t *testing.T, r response, want wantErr) {
	t.Helper()
	if r.status != want.status {
		t.Errorf("status = %d, want %d; body %s", r.status, want.status, r.body)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &top); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	if got := sortedKeys(top); !slices.Equal(got, []string{"error", "success"}) {
		t.Errorf("body members = %v, want [error success]; body %s", got, r.body)
	}
	if got := string(top["success"]); got != "false" {
		t.Errorf("success = %s, want false", got)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(top["error"], &fields); err != nil {
		t.Fatalf("error member of %s: %v", r.body, err)
	}
	wantFields := []string{"code", "message", "request_id"}
	if want.details != nil {
		wantFields = append(wantFields, "details")
		slices.Sort(wantFields)
	}
	if got := sortedKeys(fields); !slices.Equal(got, wantFields) {
		t.Errorf("error members = %v, want %v; body %s", got, wantFields, r.body)
	}
	var e struct {
		Code      string            `json:"code"`
		Message   string            `json:"message"`
		RequestID string            `json:"request_id"`
		Details   map[string]string `json:"details"`
	}
	if err := json.Unmarshal(top["error"], &e); err != nil {
		t.Fatalf("error member of %s: %v", r.body, err)
	}
	if e.Code != want.code {
		t.Errorf("error.code = %q, want %q", e.Code, want.code)
	}
	switch {
	case want.message != "" && e.Message != want.message:
		t.Errorf("error.message = %q, want %q", e.Message, want.message)
	case e.Message == "":
		t.Errorf("error.message is empty")
	}
	for _, s := range want.contains {
		if !strings.Contains(e.Message, s) {
			t.Errorf("error.message = %q, want it to contain %q", e.Message, s)
		}
	}
	if e.RequestID != r.requestID() {
		t.Errorf("error.request_id = %q, want X-Request-Id %q", e.RequestID, r.requestID())
	}
	if want.details != nil {
		if !slices.Equal(sortedKeys(e.Details), sortedKeys(want.details)) {
			t.Errorf("error.details = %v, want fields %v", e.Details, sortedKeys(want.details))
		}
		for field, msg := range want.details {
			got, ok := e.Details[field]
			switch {
			case !ok:
			case msg == anyMessage && got == "":
				t.Errorf("error.details[%q] is empty", field)
			case msg != anyMessage && got != msg:
				t.Errorf("error.details[%q] = %q, want %q", field, got, msg)
			}
		}
	}

	wantAuthenticate := ""
	if want.status == http.StatusUnauthorized {
		wantAuthenticate = "Bearer"
	}
	if got := r.header.Get("WWW-Authenticate"); got != wantAuthenticate {
		t.Errorf("WWW-Authenticate = %q, want %q", got, wantAuthenticate)
	}
	retryAfter := r.header.Get("Retry-After")
	if want.status == http.StatusServiceUnavailable {
		if n, err := strconv.Atoi(retryAfter); err != nil || n <= 0 {
			t.Errorf("Retry-After = %q, want a positive number of seconds", retryAfter)
		}
	} else if retryAfter != "" {
		t.Errorf("Retry-After = %q on a %d, want none", retryAfter, r.status)
	}
}

// rejected sends a request that must fail as want and checks that it changed nothing stored.
func (w *world) rejected(t *testing.T, id, body string, want wantErr, opts ...reqOption) response {
	t.Helper()
	before := snapshot(t, w.env)
	r := w.patch(t, id, body, opts...)
	checkError(t, r, want)
	if after := snapshot(t, w.env); after != before {
		t.Errorf("a rejected request (%d) changed storage:\nbefore:\n%s\nafter:\n%s", r.status, before, after)
	}
	return r
}

// checkSuccess checks that r is a 200 whose data is the resource stored in item, all thirteen
// fields present, and returns the data.
func checkSuccess(t *testing.T, r response, item map[string]types.AttributeValue) map[string]any {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", r.status, r.body)
	}
	for _, name := range []string{"WWW-Authenticate", "Retry-After"} {
		if got := r.header.Get(name); got != "" {
			t.Errorf("%s = %q on a 200, want none", name, got)
		}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &top); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	if got := sortedKeys(top); !slices.Equal(got, []string{"data", "success"}) {
		t.Errorf("body members = %v, want [data success]", got)
	}
	if got := string(top["success"]); got != "true" {
		t.Errorf("success = %s, want true", got)
	}
	var data map[string]any
	if err := json.Unmarshal(top["data"], &data); err != nil {
		t.Fatalf("data of %s: %v", r.body, err)
	}
	want := resourceOf(item)
	if got := sortedKeys(data); !slices.Equal(got, sortedKeys(want)) {
		t.Errorf("data members = %v (%d), want the 13 fields %v", got, len(got), sortedKeys(want))
	}
	if !reflect.DeepEqual(data, want) {
		t.Errorf("data = %v\nwant the stored resource %v", data, want)
	}
	return data
}

// resourceOf is the resource a stored phone number item is on the wire.
func resourceOf(item map[string]types.AttributeValue) map[string]any {
	str := func(name string) any {
		if v, ok := item[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return nil
	}
	boolean := func(name string) any {
		if v, ok := item[name].(*types.AttributeValueMemberBOOL); ok {
			return v.Value
		}
		return nil
	}
	return map[string]any{
		"id": str("id"), "number": str("number"), "number_type": str("number_type"),
		"inbound_url": str("inbound_url"), "status_url": str("status_url"), "label": str("label"),
		"campaign_id":                       str("campaign_id"),
		"carrier_line_option_status":        str("carrier_line_option_status"),
		"carrier_line_option_propagated_at": str("carrier_line_option_propagated_at"),
		"sms_enabled":                       boolean("sms_enabled"), "mms_enabled": boolean("mms_enabled"),
		"created_at": str("created_at"), "updated_at": str("updated_at"),
	}
}

// ---- storage inspection ----

// snapshot renders every item of the Env's three tables, in a stable order.
func snapshot(t *testing.T, env *enginetest.Env) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{env.Tables.APIKeys, env.Tables.Campaigns, env.Tables.PhoneNumbers} {
		var items []string
		var start map[string]types.AttributeValue
		for {
			out, err := env.Client.Scan(t.Context(), &dynamodb.ScanInput{
				TableName: aws.String(table), ConsistentRead: aws.Bool(true), ExclusiveStartKey: start,
			})
			if err != nil {
				t.Fatalf("scan %s: %v", table, err)
			}
			for _, item := range out.Items {
				items = append(items, itemString(item))
			}
			if start = out.LastEvaluatedKey; len(start) == 0 {
				break
			}
		}
		slices.Sort(items)
		fmt.Fprintf(&b, "%s:\n  %s\n", table, strings.Join(items, "\n  "))
	}
	return b.String()
}

// itemString renders an item with attribute types, in a stable order, so that two renderings are
// equal exactly when the items are.
func itemString(item map[string]types.AttributeValue) string {
	if item == nil {
		return "<no item>"
	}
	parts := make([]string, 0, len(item))
	for _, name := range sortedKeys(item) {
		parts = append(parts, name+"="+avString(item[name]))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func avString(av types.AttributeValue) string {
	quoteAll := func(values []string) string {
		q := make([]string, len(values))
		for i, v := range values {
			q[i] = strconv.Quote(v)
		}
		slices.Sort(q) // sets have no order
		return strings.Join(q, ",")
	}
	switch v := av.(type) {
	case nil:
		return "<absent>"
	case *types.AttributeValueMemberS:
		return "S:" + strconv.Quote(v.Value)
	case *types.AttributeValueMemberN:
		return "N:" + v.Value
	case *types.AttributeValueMemberBOOL:
		return "BOOL:" + strconv.FormatBool(v.Value)
	case *types.AttributeValueMemberNULL:
		return "NULL"
	case *types.AttributeValueMemberB:
		return "B:" + hex.EncodeToString(v.Value)
	case *types.AttributeValueMemberSS:
		return "SS:[" + quoteAll(v.Value) + "]"
	case *types.AttributeValueMemberNS:
		return "NS:[" + quoteAll(v.Value) + "]"
	case *types.AttributeValueMemberBS:
		hexes := make([]string, len(v.Value))
		for i, b := range v.Value {
			hexes[i] = hex.EncodeToString(b)
		}
		return "BS:[" + quoteAll(hexes) + "]"
	case *types.AttributeValueMemberL:
		parts := make([]string, len(v.Value))
		for i, e := range v.Value {
			parts[i] = avString(e)
		}
		return "L:[" + strings.Join(parts, ",") + "]"
	case *types.AttributeValueMemberM:
		return "M:" + itemString(v.Value)
	default:
		return fmt.Sprintf("%T", av)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func stringAttr(item map[string]types.AttributeValue, name string) (string, bool) {
	v, ok := item[name].(*types.AttributeValueMemberS)
	if !ok {
		return "", false
	}
	return v.Value, true
}

// ---- helpers ----

func ptr[T any](v T) *T { return &v }

// newSecret returns a well-formed live secret with n random letters and digits.
func newSecret(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return phonenumbers.SecretPrefix + string(b)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
