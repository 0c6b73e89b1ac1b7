package wiring_test

// Security tests of PATCH /v1/phone-numbers/{id} over real HTTP (and in-process where an event
// cannot come from localapi): what the request log may say, that failed authentications are all
// alike, that no non-updatable member can be written, and that hostile bodies are refused without a
// write. They add to the integration tests' cases, not repeat them.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sms-platform/phone-numbers/local/enginetest"
	"github.com/sms-platform/phone-numbers/local/faultproxy"
	"github.com/sms-platform/phone-numbers/local/localconfig"
	"github.com/sms-platform/phone-numbers/pkg/apigw"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers/phonenumberstest"
	"github.com/sms-platform/phone-numbers/pkg/wiring"
)

// ---- logs ----

// TestLogsCarryNoSecrets sends requests of every outcome, with secrets (valid, revoked, unknown,
// malformed) in the Authorization header and secrets in the body, the path, the query and other
// headers, then reads every line the handler logged: each is one JSON object with the request's
// fields, and no secret appears in any form — whole, as its SHA-256 (the stored key), or as any
// 16-character piece of either.
func TestLogsCarryNoSecrets(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		n := w.putNumber(t, nil)
		random := func(n int) string { return strings.TrimPrefix(newSecret(n), phonenumbers.SecretPrefix) }
		var (
			unknown       = newSecret(48)
			corrupt       = newSecret(40) // a key whose stored record cannot be decoded: 500
			inPath        = newSecret(40)
			inBody        = newSecret(40)
			inBody2       = newSecret(64)
			inHeader      = newSecret(40)
			inCookie      = newSecret(40)
			inUserAgent   = newSecret(40)
			inQuery       = newSecret(40)
			inContentType = newSecret(40)
			tooShort      = newSecret(31)
			tooLong       = newSecret(65)
			withSymbol    = newSecret(39) + "-"
			testMode      = "am_test_" + random(40)
			noPrefix      = random(40)
		)
		secrets := []string{
			w.writeSecret, w.readOnlySecret, w.nearMissSecret, w.revokedSecret, w.orgBSecret,
			unknown, corrupt, inPath, inBody, inBody2, inHeader, inCookie, inUserAgent, inQuery, inContentType,
			tooShort, tooLong, withSymbol, testMode, noPrefix,
		}
		putUndecodableKey(t, env, corrupt)

		throttled := proxied(t, w)
		throttled.proxy.SetScript(faultproxy.Always(opGetItem, throttle))
		lostUpdate := proxied(t, w)
		lostUpdate.proxy.SetScript(faultproxy.Always(opUpdateItem, dropped))

		type logCase struct {
			name          string
			w             *world // nil: w
			id            string // the path; phone_number_id is logged when it is a UUID
			body          string
			opts          []reqOption
			status        int
			authenticated bool
		}
		missing := phonenumberstest.NewUUID()
		cases := []logCase{
			{name: "200 update", id: n.ID, body: `{"label":"logged?"}`, status: 200, authenticated: true},
			{name: "200 no-op", id: n.ID, body: `{}`, status: 200, authenticated: true},
			{name: "200 with a secret as the label", id: n.ID, body: `{"label":` + jsonString(inBody) + `}`, status: 200, authenticated: true},
			{name: "200 with secrets in other headers and the query", id: n.ID + "?api_key=" + inQuery, body: `{"label":"headers"}`,
				opts: []reqOption{
					withRawHeader("X-Api-Key", inHeader),
					withRawHeader("Cookie", "session="+inCookie),
					withRawHeader("User-Agent", inUserAgent),
				}, status: 200, authenticated: true},
			{name: "401 no header", id: n.ID, body: `{"label":"x"}`, opts: []reqOption{withoutAuth()}, status: 401},
			{name: "401 unknown key", id: n.ID, body: `{"label":"x"}`, opts: []reqOption{withBearer(unknown)}, status: 401},
			{name: "401 revoked key", id: n.ID, body: `{"label":"x"}`, opts: []reqOption{withBearer(w.revokedSecret)}, status: 401},
			{name: "401 secret too short", id: n.ID, body: `{"label":"x"}`, opts: []reqOption{withBearer(tooShort)}, status: 401},
			{name: "401 secret too long", id: n.ID, body: `{"label":"x"}`, opts: []reqOption{withBearer(tooLong)}, status: 401},
			{name: "401 secret with a symbol", id: n.ID, body: `{"label":"x"}`, opts: []reqOption{withBearer(withSymbol)}, status: 401},
			{name: "401 test-mode secret", id: n.ID, body: `{"label":"x"}`, opts: []reqOption{withBearer(testMode)}, status: 401},
			{name: "401 secret without prefix", id: n.ID, body: `{"label":"x"}`, opts: []reqOption{withBearer(noPrefix)}, status: 401},
			{name: "401 valid secret without scheme", id: n.ID, body: `{"label":"x"}`, opts: []reqOption{withAuth(w.writeSecret)}, status: 401},
			{name: "401 valid secret with another scheme", id: n.ID, body: `{"label":"x"}`, opts: []reqOption{withAuth("Token " + w.writeSecret)}, status: 401},
			{name: "403", id: n.ID, body: `{"label":"x"}`, opts: []reqOption{withBearer(w.readOnlySecret)}, status: 403, authenticated: true},
			{name: "403 scopes resembling numbers:write", id: n.ID, body: `{}`, opts: []reqOption{withBearer(w.nearMissSecret)}, status: 403, authenticated: true},
			{name: "400 secret as the path id", id: inPath, body: `{"label":"x"}`, status: 400, authenticated: true},
			{name: "415 secret in the Content-Type", id: n.ID, body: `{"label":"x"}`, opts: []reqOption{withContentType("application/x-" + inContentType)}, status: 415, authenticated: true},
			{name: "413 secret in a large body", id: n.ID, body: `{"label":"` + inBody2 + strings.Repeat("a", apigw.MaxBodyBytes) + `"}`, status: 413, authenticated: true},
			{name: "400 secret in a truncated body", id: n.ID, body: `{"label":"` + inBody2, status: 400, authenticated: true},
			{name: "400 secret in a duplicate member", id: n.ID, body: `{"label":"a","label":"` + inBody2 + `"}`, status: 400, authenticated: true},
			{name: "400 secret as a member name", id: n.ID, body: `{` + jsonString(inBody2) + `:1}`, status: 400, authenticated: true},
			{name: "400 secret in an unsupported member", id: n.ID, body: `{"api_key":` + jsonString(inBody2) + `}`, status: 400, authenticated: true},
			{name: "422 secret in field values", id: n.ID,
				body:   `{"inbound_url":"https://user:` + inBody2 + `@hooks.example/in","label":"` + inBody2 + `\u0000","campaign_id":` + jsonString(inBody2) + `}`,
				status: 422, authenticated: true},
			{name: "422 campaign not found", id: n.ID, body: `{"campaign_id":"` + phonenumberstest.NewUUID() + `"}`, status: 422, authenticated: true},
			{name: "409", id: n.ID, body: `{"campaign_id":"` + w.pendingCampaign + `"}`, status: 409, authenticated: true},
			{name: "404", id: missing, body: `{"label":"x"}`, status: 404, authenticated: true},
			{name: "503 key lookup throttled", w: throttled.world, id: n.ID, body: `{"label":"x"}`, status: 503},
			{name: "503 update connection dropped", w: lostUpdate.world, id: n.ID, body: `{"label":"dropped"}`, status: 503, authenticated: true},
			{name: "500 key record undecodable", id: n.ID, body: `{"label":"x"}`, opts: []reqOption{withBearer(corrupt)}, status: 500},
		}

		type sent struct {
			logCase
			r response
		}
		var all []sent
		for _, tc := range cases {
			target := tc.w
			if target == nil {
				target = w
			}
			r := target.patch(t, tc.id, tc.body, tc.opts...)
			if r.status != tc.status {
				t.Errorf("%s: status %d, want %d; body %s", tc.name, r.status, tc.status, r.body)
			}
			all = append(all, sent{tc, r})
		}

		logs := env.Logs()
		entries := map[string]map[string]any{}
		for line := range strings.Lines(logs) {
			entry, err := logObject(line)
			if err != nil {
				t.Errorf("log line is not one JSON object (%v): %s", err, line)
				continue
			}
			id, _ := entry["request_id"].(string)
			if _, dup := entries[id]; dup {
				t.Errorf("request_id %q logged twice", id)
			}
			entries[id] = entry
		}
		if len(entries) != len(all) {
			t.Errorf("got %d log lines, want one per request: %d", len(entries), len(all))
		}
		for _, s := range all {
			entry, ok := entries[s.r.requestID()]
			if !ok {
				t.Errorf("%s: no log line for request %s", s.name, s.r.requestID())
				continue
			}
			checkLogEntry(t, s.name, entry, s.r, s.id, s.authenticated)
		}

		for i, secret := range secrets {
			if leak, ok := enginetest.Leaked(logs, secret); ok {
				t.Errorf("secret #%d leaks into the logs as %q", i, leak)
			}
		}
	})
}

// putUndecodableKey stores a key for secret whose scopes attribute has the wrong type.
func putUndecodableKey(t *testing.T, env *enginetest.Env, secret string) {
	t.Helper()
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	_, err := env.Client.PutItem(t.Context(), &dynamodb.PutItemInput{
		TableName: aws.String(env.Tables.APIKeys),
		Item: map[string]types.AttributeValue{
			dynamostore.APIKeysHashKey: s(phonenumbers.HashSecret(phonenumbers.NewSecret(secret))),
			"id":                       s(phonenumberstest.NewUUID()),
			"org_id":                   s(orgA),
			"scopes":                   s(phonenumbers.ScopeNumbersWrite),
			"prefix":                   s(secret[:phonenumbers.KeyPrefixLength]),
			"created_at":               s(createdAt.Format(time.RFC3339)),
		},
	})
	if err != nil {
		t.Fatalf("put undecodable key: %v", err)
	}
}

// logObject decodes a log line that must be exactly one JSON object.
func logObject(line string) (map[string]any, error) {
	line = strings.TrimSuffix(line, "\n")
	var entry map[string]any
	if !strings.HasPrefix(line, "{") || !json.Valid([]byte(line)) {
		return nil, strconv.ErrSyntax
	}
	if err := json.Unmarshal([]byte(line), &entry); err != nil {
		return nil, err
	}
	return entry, nil
}

// checkLogEntry checks the log line of response r to a request on path id.
func checkLogEntry(t *testing.T, name string, entry map[string]any, r response, id string, authenticated bool) {
	t.Helper()
	str := func(key string) (string, bool) {
		v, ok := entry[key].(string)
		return v, ok && v != ""
	}
	num := func(key string) (float64, bool) {
		v, ok := entry[key].(float64)
		return v, ok
	}
	if got, _ := str("request_id"); got != r.requestID() {
		t.Errorf("%s: log request_id = %q, want X-Request-Id %q", name, got, r.requestID())
	}
	if _, ok := str("apigw_request_id"); !ok {
		t.Errorf("%s: log line has no apigw_request_id: %v", name, entry)
	}
	if got, ok := num("status"); !ok || got != float64(r.status) {
		t.Errorf("%s: log status = %v, want %d", name, entry["status"], r.status)
	}
	if got, ok := num("duration_ms"); !ok || got < 0 {
		t.Errorf("%s: log duration_ms = %v, want a duration", name, entry["duration_ms"])
	}
	if got, ok := num("storage_calls"); !ok || got < 0 || got != float64(int(got)) {
		t.Errorf("%s: log storage_calls = %v, want a count", name, entry["storage_calls"])
	}

	orgID, hasOrg := str("org_id")
	keyID, hasKey := str("api_key_id")
	switch {
	case authenticated && (orgID != orgA || !hasKey):
		t.Errorf("%s: log org_id = %q, api_key_id = %q, want the caller's organization and key", name, orgID, keyID)
	case authenticated:
		if _, ok := phonenumbers.NormalizeUUID(keyID); !ok {
			t.Errorf("%s: log api_key_id = %q, want a key id", name, keyID)
		}
	case hasOrg || hasKey:
		t.Errorf("%s: log org_id = %q, api_key_id = %q before authentication, want neither", name, orgID, keyID)
	}

	code, hasCode := str("error_code")
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.body, &body)
	switch {
	case r.status == http.StatusOK && hasCode:
		t.Errorf("%s: log error_code = %q on a 200", name, code)
	case r.status != http.StatusOK && code != body.Error.Code:
		t.Errorf("%s: log error_code = %q, want the response's %q", name, code, body.Error.Code)
	}

	pathID, _, _ := strings.Cut(id, "?")
	numberID, hasNumber := str("phone_number_id")
	if want, valid := phonenumbers.NormalizeUUID(pathID); valid != hasNumber || numberID != want {
		t.Errorf("%s: log phone_number_id = %q, want %q (logged only when the path id is a UUID)", name, numberID, want)
	}
}

// ---- authentication failures ----

// TestUnknownAndRevokedKeysTakeTheSamePath adds to TestAuthenticationFailuresAreIndistinguishable,
// which compares 401 bodies and storage calls for one body: an unknown key and revoked keys (of
// any scope and organization) give the same status, headers and body apart from the request id,
// whatever else the request holds, and leave the same log line apart from ids and timing — the
// same storage calls, no principal.
func TestUnknownAndRevokedKeysTakeTheSamePath(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		n := w.putNumber(t, nil)
		revokedAt := time.Date(2026, 4, 27, 8, 0, 0, 0, time.UTC)
		revokedReadOnly, revokedOrgB := newSecret(40), newSecret(64)
		env.PutAPIKey(t, phonenumbers.APIKey{ID: phonenumberstest.NewUUID(), OrgID: orgA, Scopes: []string{"numbers:read"}, CreatedAt: createdAt, RevokedAt: &revokedAt}, revokedReadOnly)
		env.PutAPIKey(t, phonenumbers.APIKey{ID: phonenumberstest.NewUUID(), OrgID: orgB, Scopes: []string{phonenumbers.ScopeNumbersWrite}, CreatedAt: createdAt, RevokedAt: &revokedAt}, revokedOrgB)

		// No body names a campaign: the campaign lookup would run beside the key lookup and be
		// abandoned when authentication fails, and dynalite 4.0.0 crashes when a request to it is
		// aborted (see the report that came with these tests).
		requests := []struct {
			name, id, body string
			opts           []reqOption
		}{
			{"valid update", n.ID, `{"label":"x"}`, nil},
			{"no-op", n.ID, `{}`, nil},
			{"missing number", phonenumberstest.NewUUID(), `{"label":"x"}`, nil},
			{"unsupported member", n.ID, `{"org_id":"` + orgB + `"}`, nil},
			{"invalid path id", "not-a-uuid", `{"label":"x"}`, nil},
			{"wrong content type", n.ID, `{"label":"x"}`, []reqOption{withContentType("text/plain")}},
		}
		keys := []struct{ name, secret string }{
			{"unknown", newSecret(40)},
			{"another unknown", newSecret(64)},
			{"revoked", w.revokedSecret},
			{"revoked read-only", revokedReadOnly},
			{"revoked of another organization", revokedOrgB},
		}
		for _, req := range requests {
			t.Run(req.name, func(t *testing.T) {
				var first response
				var firstLog map[string]any
				for i, key := range keys {
					r := w.rejected(t, req.id, req.body, want401, append(slices.Clone(req.opts), withBearer(key.secret))...)
					entry := comparableLog(logEntry(t, env, r.requestID()))
					if got := entry["storage_calls"]; got != float64(1) {
						t.Errorf("%s key: storage_calls = %v, want 1: the key lookup alone", key.name, got)
					}
					if i == 0 {
						first, firstLog = r, entry
						continue
					}
					if got, want := r.bodyWithoutRequestID(), first.bodyWithoutRequestID(); got != want {
						t.Errorf("%s key: body differs from the %s key's apart from request_id:\ngot  %s\nwant %s", key.name, keys[0].name, got, want)
					}
					if got, want := comparableHeader(r.header), comparableHeader(first.header); !maps.EqualFunc(got, want, slices.Equal[[]string]) {
						t.Errorf("%s key: headers %v, want the %s key's %v", key.name, got, keys[0].name, want)
					}
					if !maps.Equal(entry, firstLog) {
						t.Errorf("%s key: log line %v, want the %s key's %v apart from ids and timing", key.name, entry, keys[0].name, firstLog)
					}
				}
			})
		}
	})
}

// TestKeyRecordsWithoutOrganizationOrIDAuthenticateNothing holds issue 11's finding 5 for keys: a
// key record whose org_id or id is absent or empty authenticated with an empty organization and
// wrote a number owned by nobody. Now it is the same 401 as an unknown key, byte for byte apart
// from the request id, nothing is written, and the log line reports the corrupt record at error
// level by its id and organization, never by the secret or its hash.
func TestKeyRecordsWithoutOrganizationOrIDAuthenticateNothing(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		n := w.putNumber(t, nil)
		// A number that belongs to nobody, which an organization-less key would have reached.
		orphan := w.putNumber(t, func(n *phonenumbers.PhoneNumber) { n.OrgID = "" })

		corrupt := []struct {
			name string
			edit func(item map[string]types.AttributeValue)
		}{
			{"no org_id", func(item map[string]types.AttributeValue) { delete(item, "org_id") }},
			{"empty org_id", func(item map[string]types.AttributeValue) { item["org_id"] = &types.AttributeValueMemberS{Value: ""} }},
			{"no id", func(item map[string]types.AttributeValue) { delete(item, "id") }},
			{"empty id", func(item map[string]types.AttributeValue) { item["id"] = &types.AttributeValueMemberS{Value: ""} }},
			{"neither", func(item map[string]types.AttributeValue) { delete(item, "id"); delete(item, "org_id") }},
		}
		unknown := w.rejected(t, n.ID, `{"label":"x"}`, want401, withBearer(newSecret(40)))
		stored := func() string {
			return itemString(env.GetPhoneNumberItem(t, n.ID)) + "\n" + itemString(env.GetPhoneNumberItem(t, orphan.ID))
		}
		before := stored()
		for _, c := range corrupt {
			t.Run(c.name, func(t *testing.T) {
				secret := newSecret(40)
				key := phonenumbers.APIKey{ID: phonenumberstest.NewUUID(), OrgID: orgA, Scopes: []string{phonenumbers.ScopeNumbersWrite},
					Prefix: secret[:phonenumbers.KeyPrefixLength], CreatedAt: createdAt}
				item := dynamostore.NewAPIKeyItem(key, phonenumbers.NewSecret(secret))
				c.edit(item)
				if _, err := env.Client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(env.Tables.APIKeys), Item: item}); err != nil {
					t.Fatalf("put corrupt key: %v", err)
				}

				for _, id := range []string{n.ID, orphan.ID} {
					r := w.rejected(t, id, `{"label":"written by a corrupt key"}`, want401, withBearer(secret))
					if got, want := r.bodyWithoutRequestID(), unknown.bodyWithoutRequestID(); got != want {
						t.Errorf("body %s, want the unknown key's %s", got, want)
					}
					if got, want := comparableHeader(r.header), comparableHeader(unknown.header); !maps.EqualFunc(got, want, slices.Equal[[]string]) {
						t.Errorf("headers %v, want the unknown key's %v", got, want)
					}
					entry := logEntry(t, env, r.requestID())
					cause, _ := entry["error"].(string)
					if entry["level"] != "ERROR" || !strings.Contains(cause, "corrupt record") {
						t.Errorf("log line %v, want an ERROR naming the corrupt record", entry)
					}
					if _, ok := entry["org_id"]; ok {
						t.Errorf("log line %v has a principal, want none", entry)
					}
				}
				if leak, ok := enginetest.Leaked(env.Logs(), secret); ok {
					t.Errorf("the corrupt key's secret leaks into the logs as %q", leak)
				}
			})
		}
		if after := stored(); after != before {
			t.Errorf("numbers changed:\nbefore %s\nafter  %s", before, after)
		}
	})
}

// comparableLog is a log entry without what differs between any two requests.
func comparableLog(entry map[string]any) map[string]any {
	out := maps.Clone(entry)
	for _, k := range []string{"time", "request_id", "apigw_request_id", "duration_ms"} {
		delete(out, k)
	}
	return out
}

// comparableHeader is a response header without what differs between any two requests.
func comparableHeader(h http.Header) http.Header {
	out := h.Clone()
	out.Del("X-Request-Id")
	out.Del("Date")
	return out
}

// ---- mass assignment ----

// TestNonUpdatableMembersCannotBeWritten sends every stored attribute that is not updatable, the
// organization, key-style names and unknown names, alone and beside valid changes: each request is
// a 400 naming the member, and storage is byte-for-byte as it was. TestUnsupportedMembersAreNamed
// covers "number" alone, the carrier fields together and a few mixtures; this covers the rest.
func TestNonUpdatableMembersCannotBeWritten(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		n := w.putNumber(t, nil)
		members := []struct{ name, value string }{
			{"id", `"` + phonenumberstest.NewUUID() + `"`},
			{"number", `"+14155550000"`},
			{"number_type", `"short_code"`},
			{"sms_enabled", `false`},
			{"mms_enabled", `true`},
			{"created_at", `"2000-01-01T00:00:00Z"`},
			{"updated_at", `"2000-01-01T00:00:00Z"`},
			{"carrier_line_option_status", `"propagated"`},
			{"carrier_line_option_propagated_at", `"2000-01-01T00:00:00Z"`},
			{"org_id", `"` + orgB + `"`},
			{"pk", `"PHONE#` + n.ID + `"`},
			{"sk", `"METADATA"`},
			{"PK", `"ORG#` + orgB + `"`},
			{"key_hash", `"` + phonenumbers.HashSecret(phonenumbers.NewSecret(w.writeSecret)) + `"`},
			{"__proto__", `{"label":"polluted","org_id":"` + orgB + `"}`},
			{"constructor", `{"prototype":{"label":"polluted"}}`},
			{"inboundUrl", `"https://camel.example/in"`},
			{"labels", `["a","b"]`},
			{"status", `"ACTIVE"`},
			{"inbound_url ", `"https://space.example/in"`},
			{"campaign", `"` + w.activeCampaign2 + `"`},
		}
		valid := `"inbound_url":"https://valid.example/in","label":"valid","status_url":"","campaign_id":"` + w.activeCampaign2 + `"`
		var all []string
		for _, m := range members {
			member := jsonString(m.name) + `:` + m.value
			all = append(all, member)
			wantNamed := withContains(want400Input, append([]string{strconv.Quote(m.name)}, updatableMembers...)...)
			if m.name != "number" { // alone: covered by TestUnsupportedMembersAreNamed
				t.Run(m.name+" alone", func(t *testing.T) {
					w.rejected(t, n.ID, `{`+member+`}`, wantNamed)
				})
			}
			t.Run(m.name+" beside valid changes", func(t *testing.T) {
				w.rejected(t, n.ID, `{`+valid+`,`+member+`}`, wantNamed)
			})
		}
		t.Run("all at once", func(t *testing.T) {
			want := want400Input
			for _, m := range members {
				want = withContains(want, strconv.Quote(m.name))
			}
			w.rejected(t, n.ID, `{`+valid+`,`+strings.Join(all, ",")+`}`, want)
		})
	})
}

// ---- hostile bodies ----

// TestHostileBodiesAreRefusedWithoutAWrite sends bodies built to break parsers over HTTP: each
// gets the contract's status and leaves storage as it was. TestMalformedBodyIsInvalidInput and
// TestBodyLargerThan16KiBIsRefused cover the plain cases (empty, not JSON, non-object values,
// trailing data, invalid UTF-8 in and after strings, duplicate members, over the limit); these are
// the rest.
func TestHostileBodiesAreRefusedWithoutAWrite(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		n := w.putNumber(t, nil)
		const limit = apigw.MaxBodyBytes
		// sized returns prefix + c repeated + suffix, size bytes in all.
		sized := func(prefix, c, suffix string, size int) string {
			return prefix + strings.Repeat(c, (size-len(prefix)-len(suffix))/len(c)) + suffix
		}
		nested := func(open, close string, depth int) string {
			return strings.Repeat(open, depth) + strings.Repeat(close, depth)
		}
		labelProblem := want422(map[string]string{"label": anyMessage})
		for _, tc := range []struct {
			name string
			body string
			want wantErr
		}{
			{"10000 open brackets", strings.Repeat("[", 10000), withContains(want400Input, "object")},
			{"10000 open braces", strings.Repeat("{", 10000), want400Input},
			{"10000 open brackets in a member", `{"label":` + strings.Repeat("[", 10000) + `}`, want400Input},
			{"8000 balanced brackets in label", `{"label":` + nested("[", "]", 8000) + `}`, want422(map[string]string{"label": "must be a string or null"})},
			{"2500 nested objects in label", `{"label":` + strings.Repeat(`{"a":`, 2500) + `1` + strings.Repeat(`}`, 2500) + `}`,
				want422(map[string]string{"label": "must be a string or null"})},
			{"8000 balanced brackets in an unknown member", `{"x":` + nested("[", "]", 8000) + `}`, withContains(want400Input, `"x"`)},
			{"label string exactly at the limit", sized(`{"label":"`, "a", `"}`, limit), labelProblem},
			{"label string one byte over the limit", sized(`{"label":"`, "a", `"}`, limit+1), want413},
			{"inbound_url string exactly at the limit", sized(`{"inbound_url":"https://a.example/`, "a", `"}`, limit), want422(map[string]string{"inbound_url": anyMessage})},
			{"member name exactly at the limit", sized(`{"`, "n", `":1}`, limit), want400Input},
			{"escaped NULs up to the limit", sized(`{"label":"`, `\u0000`, `"}`, limit), labelProblem},
			{"overlong UTF-8 encoding of /", "{\"label\":\"\xc0\xaf\"}", withContains(want400Input, "UTF-8")},
			{"UTF-8 encoded surrogate half", "{\"label\":\"\xed\xa0\x80\"}", withContains(want400Input, "UTF-8")},
			{"truncated UTF-8 sequence", "{\"label\":\"\xe2\x82\"}", withContains(want400Input, "UTF-8")},
			{"invalid UTF-8 in a member name", "{\"lab\xffel\":\"x\"}", withContains(want400Input, "UTF-8")},
			{"raw NUL inside a string", "{\"label\":\"a\x00b\"}", want400Input},
			{"raw NUL after the object", "{\"label\":\"x\"}\x00", want400Input},
			{"true", `true`, withContains(want400Input, "object")},
			{"empty array", `[]`, withContains(want400Input, "object")},
			{"object in a string", `"{\"label\":\"x\"}"`, withContains(want400Input, "object")},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if len(tc.body) > limit && tc.want.status != want413.status {
					t.Fatalf("test body of %d bytes is over the limit", len(tc.body))
				}
				w.rejected(t, n.ID, tc.body, tc.want)
			})
		}
	})
}

// TestBase64BodiesInProcess sends base64-encoded bodies to the handler in-process: localapi, like
// API Gateway, encodes only bodies that are not UTF-8, so these events are built by hand. Each
// valid body is decoded and applied; every other one gets the contract's status without a write.
func TestBase64BodiesInProcess(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		n := w.putNumber(t, nil)
		handler := wiring.NewHandler(env.Client, env.Tables, slog.New(slog.NewJSONHandler(t.Output(), nil)))
		std := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
		padded := func(size int) string {
			doc := `{"label":"padded"}`
			return doc + strings.Repeat(" ", size-len(doc))
		}
		// A label whose standard encoding has '+' or '/', so that its URL-safe encoding differs.
		urlSafeLabel := "?>?>"
		if enc := std(`{"label":"` + urlSafeLabel + `"}`); !strings.ContainsAny(enc, "+/") {
			t.Fatalf("%q encodes without + or /: %s", urlSafeLabel, enc)
		}
		invoke := func(t *testing.T, body string) response {
			t.Helper()
			event := newEvent(t, n.ID, "", withBearer(w.writeSecret))
			event.Body, event.IsBase64Encoded = body, true
			ctx, cancel := context.WithTimeout(t.Context(), localconfig.FunctionTimeout)
			defer cancel()
			start := time.Now()
			resp, err := handler.Handle(ctx, event)
			if err != nil {
				t.Fatalf("handler returned error %v, want every outcome as a response", err)
			}
			return fromEvent(t, event, resp, time.Since(start))
		}

		for _, tc := range []struct {
			name, body, label string
		}{
			{"valid document", std(`{"label":"from base64"}`), "from base64"},
			{"exactly 16 KiB decoded", std(padded(apigw.MaxBodyBytes)), "padded"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := invoke(t, tc.body)
				item := env.GetPhoneNumberItem(t, n.ID)
				checkSuccess(t, r, item)
				if got, _ := stringAttr(item, "label"); got != tc.label {
					t.Errorf("stored label = %q, want %q", got, tc.label)
				}
			})
		}

		for _, tc := range []struct {
			name, body string
			want       wantErr
		}{
			{"one byte over 16 KiB decoded", std(padded(apigw.MaxBodyBytes + 1)), want413},
			{"a megabyte encoded", std(strings.Repeat("a", 1<<20)), want413},
			{"not base64", `{"label":"x"}`, withContains(want400Input, "base64")},
			{"URL-safe alphabet", base64.URLEncoding.EncodeToString([]byte(`{"label":"` + urlSafeLabel + `"}`)), withContains(want400Input, "base64")},
			{"missing padding", base64.RawStdEncoding.EncodeToString([]byte(`{"label":"x"}`)), withContains(want400Input, "base64")},
			{"empty", "", withContains(want400Input, "empty")},
			{"invalid UTF-8", std("{\"label\":\"\xff\"}"), withContains(want400Input, "UTF-8")},
			{"deep nesting", std(strings.Repeat("[", 10000)), withContains(want400Input, "object")},
			{"unsupported member", std(`{"org_id":"` + orgB + `","label":"x"}`), withContains(want400Input, `"org_id"`)},
			{"invalid field value", std(`{"inbound_url":"http://plain.example/in"}`), want422(map[string]string{"inbound_url": "must use https://"})},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := snapshot(t, env)
				r := invoke(t, tc.body)
				checkError(t, r, tc.want)
				if after := snapshot(t, env); after != before {
					t.Errorf("a rejected request (%d) changed storage:\nbefore:\n%s\nafter:\n%s", r.status, before, after)
				}
			})
		}
	})
}
