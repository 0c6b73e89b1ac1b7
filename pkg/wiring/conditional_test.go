package wiring_test

// Conditional requests (contract §8) over real HTTP on both engines: the ETag every 200 carries,
// If-Match evaluated inside the one conditional write, the 412 with the current ETag, and the
// 404 that a number of another organization still is, If-Match or not.

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/sms-platform/phone-numbers/local/enginetest"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers/phonenumberstest"
)

var want412 = wantErr{status: http.StatusPreconditionFailed, code: "PRECONDITION_FAILED", message: "precondition failed"}

func withIfMatch(value string) reqOption {
	return func(r *http.Request) { r.Header.Set("If-Match", value) }
}

// withIfMatchLines sends each value as its own If-Match header line.
func withIfMatchLines(values ...string) reqOption {
	return func(r *http.Request) { r.Header["If-Match"] = values }
}

func etagOf(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// storedVersion reads the version attribute of the number id as stored: absent is 0.
func storedVersion(t *testing.T, env *enginetest.Env, id string) int64 {
	t.Helper()
	item := env.GetPhoneNumberItem(t, id)
	if item == nil {
		t.Fatalf("number %s is not stored", id)
	}
	raw := avString(item["version"])
	if item["version"] == nil {
		return 0
	}
	v, err := strconv.ParseInt(strings.TrimPrefix(raw, "N:"), 10, 64)
	if err != nil {
		t.Fatalf("number %s has version %s, want a whole number", id, raw)
	}
	return v
}

// TestIfMatchGuardsTheWrite walks one number through contract §8: each step sends a PATCH with
// an If-Match (or none) and expects a 200 with the ETag of the version it leaves stored, or a 412
// with the current ETag and storage exactly as it was.
func TestIfMatchGuardsTheWrite(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		n := w.putNumber(t, nil) // stored without a version: version 0
		steps := []struct {
			name string
			body string
			opts []reqOption
			// wantVersion is the version stored afterwards; a 200 carries its ETag, a 412 too.
			wantVersion int64
			fail        bool
		}{
			{name: "a read (no-op without If-Match) gives the ETag of a number stored without a version", body: `{}`, wantVersion: 0},
			{name: "matching If-Match writes and gives the new ETag", body: `{"label":"one"}`, opts: []reqOption{withIfMatch(`"0"`)}, wantVersion: 1},
			{name: "the same, now stale, If-Match is 412 with the current ETag", body: `{"label":"lost update"}`, opts: []reqOption{withIfMatch(`"0"`)}, wantVersion: 1, fail: true},
			{name: "a list holding the version writes", body: `{"label":"two"}`, opts: []reqOption{withIfMatch(`"7", "1", W/"1"`)}, wantVersion: 2},
			{name: "repeated If-Match lines are one list", body: `{"inbound_url":"https://customer.example/v2/inbound"}`, opts: []reqOption{withIfMatchLines(`"9"`, `"2"`)}, wantVersion: 3},
			{name: "star writes whatever the version", body: `{"label":"three"}`, opts: []reqOption{withIfMatch(`*`)}, wantVersion: 4},
			{name: "a weak tag never matches", body: `{"label":"weak"}`, opts: []reqOption{withIfMatch(`W/"4"`)}, wantVersion: 4, fail: true},
			{name: "a tag that is not how the API writes 4 never matches", body: `{"label":"zero-padded"}`, opts: []reqOption{withIfMatch(`"04"`)}, wantVersion: 4, fail: true},
			{name: "a no-op with a matching If-Match is 200 with the unchanged ETag", body: `{"label":"three"}`, opts: []reqOption{withIfMatch(`"4"`)}, wantVersion: 4},
			{name: "an empty no-op with a matching If-Match is 200 with the unchanged ETag", body: `{}`, opts: []reqOption{withIfMatch(`"4"`)}, wantVersion: 4},
			{name: "a no-op with a stale If-Match is 412", body: `{"label":"three"}`, opts: []reqOption{withIfMatch(`"3"`)}, wantVersion: 4, fail: true},
			{name: "an empty no-op with a stale If-Match is 412", body: `{}`, opts: []reqOption{withIfMatch(`"3"`)}, wantVersion: 4, fail: true},
			{name: "clearing a field with a matching If-Match writes", body: `{"label":""}`, opts: []reqOption{withIfMatch(`"4"`)}, wantVersion: 5},
			{name: "attaching a campaign with a stale If-Match is 412", body: `{"campaign_id":"` + w.activeCampaign2 + `"}`, opts: []reqOption{withIfMatch(`"4"`)}, wantVersion: 5, fail: true},
			{name: "attaching a campaign with a matching If-Match writes", body: `{"campaign_id":"` + w.activeCampaign2 + `"}`, opts: []reqOption{withIfMatch(`"5"`)}, wantVersion: 6},
			{name: "If-None-Match is ignored", body: `{"label":"four"}`, opts: []reqOption{withRawHeader("If-None-Match", `*`)}, wantVersion: 7},
			{name: "If-Unmodified-Since is ignored", body: `{"label":"five"}`, opts: []reqOption{withRawHeader("If-Unmodified-Since", "Sat, 01 Jan 2000 00:00:00 GMT")}, wantVersion: 8},
			{name: "If-Modified-Since is ignored", body: `{"label":"six"}`, opts: []reqOption{withRawHeader("If-Modified-Since", "Sat, 01 Jan 2050 00:00:00 GMT")}, wantVersion: 9},
		}
		for _, s := range steps {
			var r response
			if s.fail {
				r = w.rejected(t, n.ID, s.body, want412, s.opts...)
			} else {
				r = w.patch(t, n.ID, s.body, s.opts...)
				checkSuccess(t, r, env.GetPhoneNumberItem(t, n.ID))
			}
			if got, want := r.header.Get("ETag"), etagOf(s.wantVersion); got != want {
				t.Errorf("%s: ETag = %q, want %s", s.name, got, want)
			}
			if got := storedVersion(t, env, n.ID); got != s.wantVersion {
				t.Errorf("%s: stored version = %d, want %d", s.name, got, s.wantVersion)
			}
			if t.Failed() {
				t.Fatalf("step %q failed (status %d, body %s); the later steps depend on it", s.name, r.status, r.body)
			}
		}
	})
}

// TestIfMatchNeverRevealsAnotherOrganizationsNumber: a number of another organization is the
// same 404 as a number that does not exist, with or without If-Match, whatever the If-Match
// says (its version, another, "*", weak), at the same storage cost; never a 412, never an ETag.
func TestIfMatchNeverRevealsAnotherOrganizationsNumber(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		foreign := w.putNumber(t, func(n *phonenumbers.PhoneNumber) { n.OrgID, n.Version = orgB, 3 })
		missing := phonenumberstest.NewUUID()
		var first response
		var firstCalls any
		for _, ifMatch := range []string{"", `"3"`, `"4"`, `*`, `W/"3"`, `"0"`} {
			for _, body := range []string{`{"label":"taken over"}`, `{}`} {
				for _, id := range []string{foreign.ID, missing} {
					var opts []reqOption
					if ifMatch != "" {
						opts = append(opts, withIfMatch(ifMatch))
					}
					r := w.rejected(t, id, body, want404, opts...)
					if etag := r.header.Get("ETag"); etag != "" {
						t.Errorf("If-Match %q, body %s: ETag %q on a 404, want none", ifMatch, body, etag)
					}
					calls := logEntry(t, env, r.requestID())["storage_calls"]
					if first.status == 0 {
						first, firstCalls = r, calls
						continue
					}
					if got, want := r.bodyWithoutRequestID(), first.bodyWithoutRequestID(); got != want {
						t.Errorf("If-Match %q, body %s, own %v: body %s, want %s", ifMatch, body, id == missing, got, want)
					}
					if calls != firstCalls {
						t.Errorf("If-Match %q, body %s, own %v: %v storage calls, want %v like every other 404", ifMatch, body, id == missing, calls, firstCalls)
					}
				}
			}
		}
	})
}

// TestMalformedIfMatchIsRefusedInItsPlace: a malformed If-Match is a 400 naming the header after
// the body's members are checked and before their values, and writes nothing.
func TestMalformedIfMatchIsRefusedInItsPlace(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		n := w.putNumber(t, nil)
		malformed := withContains(want400Input, "If-Match")
		for _, value := range []string{`7`, `"7" "8"`, `w/"7"`, `*, "7"`, ` , `, strings.Repeat(`"7",`, 17)} {
			w.rejected(t, n.ID, `{"label":"x"}`, malformed, withIfMatch(value))
			// Before the field values: a 422 body still gets the If-Match 400.
			w.rejected(t, n.ID, `{"inbound_url":"http://customer.example/in"}`, malformed, withIfMatch(value))
		}
		// After authentication, the path id, the media type and the members.
		w.rejected(t, n.ID, `{"label":"x"}`, want401, withIfMatch(`7`), withBearer(newSecret(40)))
		w.rejected(t, n.ID, `{"label":"x"}`, want403, withIfMatch(`7`), withBearer(w.readOnlySecret))
		w.rejected(t, "not-a-uuid", `{"label":"x"}`, want400ID, withIfMatch(`7`))
		w.rejected(t, n.ID, `{"label":"x"}`, want415, withIfMatch(`7`), withContentType("text/plain"))
		w.rejected(t, n.ID, `{"number":"+1"}`, withContains(want400Input, `"number"`), withIfMatch(`7`))
	})
}
