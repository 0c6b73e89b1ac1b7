package wiring_test

// Integration tests of PATCH /v1/phone-numbers/{id}: real HTTP through localapi (the path make run
// uses) into the handler wiring.NewHandler wires, against every local engine enginetest runs
// (dynalite, and moto where installed), with fresh tables per test. Each test covers rows of the
// status table in §2 of the contract (../shared/spec/update-phone-number.md).

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/enginetest"
	"github.com/sms-platform/phone-numbers/local/localconfig"
	"github.com/sms-platform/phone-numbers/pkg/apigw"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers/phonenumberstest"
)

// ---- 401 ----

func TestAuthenticationFailuresAreIndistinguishable(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		n := w.putNumber(t, nil)
		body := `{"label":"attacker"}`
		// A malformed header or secret is refused without a database read; a well-formed secret
		// costs exactly the key lookup.
		cases := []struct {
			name string
			opt  reqOption
		}{
			{"missing header", withoutAuth()},
			{"empty header", withAuth("")},
			{"scheme only", withAuth("Bearer")},
			{"scheme and spaces only", withAuth("Bearer   ")},
			{"basic scheme", withAuth("Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+w.writeSecret)))},
			{"secret without scheme", withAuth(w.writeSecret)},
			{"no space after scheme", withAuth("Bearer" + w.writeSecret)},
			{"tab after scheme", withAuth("Bearer\t" + w.writeSecret)},
			{"scheme after secret", withAuth(w.writeSecret + " Bearer")},
			{"secret without prefix", withBearer(strings.TrimPrefix(w.writeSecret, phonenumbers.SecretPrefix))},
			{"test-mode prefix", withBearer("am_test_" + strings.TrimPrefix(newSecret(40), phonenumbers.SecretPrefix))},
			{"secret of 31 characters", withBearer(newSecret(31))},
			{"secret of 65 characters", withBearer(newSecret(65))},
			{"secret with a symbol", withBearer(newSecret(39) + "-")},
			{"secret with non-ASCII letter", withBearer(newSecret(39) + "é")},
			{"two secrets", withAuth("Bearer " + w.writeSecret + " " + w.writeSecret)},
			{"unknown key", withBearer(newSecret(40))},
			{"unknown key with a stored key's prefix", withBearer(w.writeSecret[:20] + strings.TrimPrefix(newSecret(20), phonenumbers.SecretPrefix))},
			{"revoked key", withBearer(w.revokedSecret)},
		}
		var first response
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := w.rejected(t, n.ID, body, want401, tc.opt)
				wantCalls := 0
				if strings.HasPrefix(tc.name, "unknown key") || tc.name == "revoked key" {
					wantCalls = 1
				}
				checkStorageCalls(t, env, r, wantCalls)
				if i == 0 {
					first = r
					return
				}
				if got, want := r.bodyWithoutRequestID(), first.bodyWithoutRequestID(); got != want {
					t.Errorf("body differs from the missing-header 401 apart from request_id:\ngot  %s\nwant %s", got, want)
				}
				if r.requestID() == first.requestID() {
					t.Errorf("request_id %q repeated across requests", r.requestID())
				}
			})
		}
		for _, secret := range []string{w.writeSecret, w.revokedSecret} {
			if strings.Contains(env.Logs(), secret) {
				t.Errorf("a secret appears in the handler's logs")
			}
		}
	})
}

func TestAuthorizationHeaderForms(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		short, long := newSecret(32), newSecret(64)
		for _, s := range []string{short, long} {
			env.PutAPIKey(t, phonenumbers.APIKey{ID: phonenumberstest.NewUUID(), OrgID: orgA, Scopes: []string{phonenumbers.ScopeNumbersWrite}, CreatedAt: createdAt}, s)
		}
		n := w.putNumber(t, nil)
		cases := []struct {
			name string
			opt  reqOption
		}{
			{"lower-case header name", withRawHeader("authorization", "Bearer "+w.writeSecret)},
			{"upper-case header name", withRawHeader("AUTHORIZATION", "Bearer "+w.writeSecret)},
			{"lower-case scheme", withAuth("bearer " + w.writeSecret)},
			{"upper-case scheme", withAuth("BEARER " + w.writeSecret)},
			{"mixed-case scheme", withAuth("bEaReR " + w.writeSecret)},
			{"several spaces", withAuth("Bearer     " + w.writeSecret)},
			{"secret of 32 characters", withBearer(short)},
			{"secret of 64 characters", withBearer(long)},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				label := fmt.Sprintf("form-%d", i)
				r := w.patch(t, n.ID, `{"label":`+jsonString(label)+`}`, withoutAuth(), tc.opt)
				item := env.GetPhoneNumberItem(t, n.ID)
				checkSuccess(t, r, item)
				if got, _ := stringAttr(item, "label"); got != label {
					t.Errorf("stored label = %q, want %q", got, label)
				}
			})
		}
		for _, secret := range []string{w.writeSecret, short, long} {
			if strings.Contains(env.Logs(), secret) {
				t.Errorf("a secret appears in the handler's logs")
			}
		}
	})
}

// ---- 403 ----

func TestKeyWithoutWriteScopeIsForbidden(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		n := w.putNumber(t, nil)
		for _, tc := range []struct{ name, secret, id, body string }{
			{"read-only key", w.readOnlySecret, n.ID, `{"label":"x"}`},
			{"scopes that only resemble numbers:write", w.nearMissSecret, n.ID, `{"label":"x"}`},
			{"read-only key with a no-op body", w.readOnlySecret, n.ID, `{}`},
			{"read-only key on a missing number", w.readOnlySecret, phonenumberstest.NewUUID(), `{"label":"x"}`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				w.rejected(t, tc.id, tc.body, want403, withBearer(tc.secret))
			})
		}
	})
}

// ---- 400 id ----

func TestPathIDMustBeUUID(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		n := w.putNumber(t, nil)
		for _, tc := range []struct{ name, id string }{
			{"word", "not-a-uuid"},
			{"one character short", n.ID[:35]},
			{"one character long", n.ID + "0"},
			{"no dashes", strings.ReplaceAll(n.ID, "-", "")},
			{"braces", "%7B" + n.ID + "%7D"},
			{"urn form", "urn:uuid:" + n.ID},
			{"non-hex digit", "g" + n.ID[1:]},
			{"dash misplaced", n.ID[:7] + "-" + n.ID[7:8] + n.ID[9:]},
			{"trailing encoded space", n.ID[:35] + "%20"},
			{"encoded newline", n.ID[:35] + "%0A"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				w.rejected(t, tc.id, `{"label":"x"}`, want400ID)
			})
		}
	})
}

// ---- 415 ----

func TestContentTypeMustBeJSON(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		n := w.putNumber(t, nil)
		for _, ct := range []string{
			"text/plain",
			"text/json",
			"application/xml",
			"application/x-www-form-urlencoded",
			"multipart/form-data; boundary=x",
			"application/jsonp",
			"application/json-patch",
			"application/+json",
			"json",
			"application/json; charset", // unparseable parameters
			"*/*",
			"", // sent, but empty: present and not JSON
		} {
			t.Run(ct, func(t *testing.T) {
				w.rejected(t, n.ID, `{"label":"x"}`, want415, withContentType(ct))
			})
		}
	})
}

// ---- 413 ----

func TestBodyLargerThan16KiBIsRefused(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		n := w.putNumber(t, nil)
		padded := func(size int) string {
			doc := `{"label":"x"}`
			return doc + strings.Repeat(" ", size-len(doc))
		}
		for _, tc := range []struct{ name, body string }{
			{"valid JSON one byte over", padded(apigw.MaxBodyBytes + 1)},
			{"long label value", `{"label":"` + strings.Repeat("a", apigw.MaxBodyBytes) + `"}`},
			{"garbage", strings.Repeat("x", 20000)},
			{"invalid UTF-8, sent base64-encoded", strings.Repeat("\xff", apigw.MaxBodyBytes+1)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				w.rejected(t, n.ID, tc.body, want413)
			})
		}
		t.Run("exactly 16 KiB is accepted", func(t *testing.T) {
			r := w.patch(t, n.ID, padded(apigw.MaxBodyBytes))
			item := env.GetPhoneNumberItem(t, n.ID)
			checkSuccess(t, r, item)
			if got, _ := stringAttr(item, "label"); got != "x" {
				t.Errorf("stored label = %q, want %q", got, "x")
			}
		})
	})
}

// ---- 400 body ----

func TestMalformedBodyIsInvalidInput(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		n := w.putNumber(t, nil)
		for _, tc := range []struct {
			name, body string
			contains   []string
		}{
			{"empty", "", []string{"empty"}},
			{"whitespace only", " \n\t ", []string{"empty"}},
			{"not JSON", "label=x", nil},
			{"truncated object", `{"label":"x"`, nil},
			{"trailing comma", `{"label":"x",}`, nil},
			{"single quotes", `{'label':'x'}`, nil},
			{"array", `[{"label":"x"}]`, []string{"object"}},
			{"string", `"label"`, []string{"object"}},
			{"number", `42`, []string{"object"}},
			{"null", `null`, []string{"object"}},
			{"two objects", `{"label":"x"}{"label":"y"}`, nil},
			{"trailing data", `{"label":"x"} x`, nil},
			{"invalid UTF-8 in a string", "{\"label\":\"a\xffb\"}", []string{"UTF-8"}},
			{"invalid UTF-8 outside strings", "{\"label\":\"x\"}\xff", nil},
			{"duplicate member", `{"label":"x","label":"y"}`, []string{"duplicate", `"label"`}},
			{"duplicate null member", `{"label":null,"label":null}`, []string{"duplicate"}},
			{"duplicate unsupported member", `{"foo":1,"foo":1}`, []string{"duplicate"}},
			{"duplicate member spelled with an escape", `{"label":"x","l\u0061bel":"y"}`, []string{"duplicate"}},
			{"byte order mark", "\ufeff{\"label\":\"x\"}", nil},
			{"no-break space after the object", "{\"label\":\"x\"}\u00a0", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				w.rejected(t, n.ID, tc.body, withContains(want400Input, tc.contains...))
			})
		}
	})
}

// ---- 400 members ----

func TestUnsupportedMembersAreNamed(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		n := w.putNumber(t, nil)
		for _, tc := range []struct {
			name, body  string
			unsupported []string
		}{
			{"read-only field", `{"number":"+14155550000"}`, []string{`"number"`}},
			{"several with a valid one", `{"id":"x","label":"ok","created_at":"2026-01-01T00:00:00Z"}`, []string{`"id"`, `"created_at"`}},
			{"carrier fields", `{"carrier_line_option_status":"propagated","carrier_line_option_propagated_at":null}`,
				[]string{`"carrier_line_option_status"`, `"carrier_line_option_propagated_at"`}},
			{"wrong case", `{"Label":"x"}`, []string{`"Label"`}},
			{"with an invalid value too", `{"inbound_url":"http://x.example","sms_enabled":false}`, []string{`"sms_enabled"`}},
			{"empty name", `{"":"x"}`, []string{`""`}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				w.rejected(t, n.ID, tc.body, withContains(want400Input, append(tc.unsupported, updatableMembers...)...))
			})
		}
	})
}

// ---- 422 field values ----

func TestInvalidFieldValuesAreAllReported(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		n := w.putNumber(t, nil)
		type details = map[string]string
		cases := []struct {
			name, body string
			details    details
		}{
			{"every field wrong at once",
				`{"inbound_url":"http://customer.example/in","status_url":42,"label":"a\u0007b","campaign_id":"not-a-uuid"}`,
				details{"inbound_url": "must use https://", "status_url": "must be a string or null", "label": anyMessage, "campaign_id": "must be a UUID"}},
			{"non-string values",
				`{"inbound_url":true,"status_url":["https://a.example"],"label":{"a":"b"},"campaign_id":1}`,
				details{"inbound_url": "must be a string or null", "status_url": "must be a string or null", "label": "must be a string or null", "campaign_id": "must be a string or null"}},
			{"one bad field beside valid ones",
				`{"inbound_url":"https://ok.example/in","label":"ok","status_url":"ftp://files.example/"}`,
				details{"status_url": "must use https://"}},
			{"empty campaign_id", `{"campaign_id":""}`, details{"campaign_id": "must not be empty"}},
			{"campaign_id with braces", `{"campaign_id":"{` + w.activeCampaign + `}"}`, details{"campaign_id": "must be a UUID"}},
			{"label of 256 characters", `{"label":` + jsonString(strings.Repeat("é", 256)) + `}`, details{"label": anyMessage}},
			{"label with newline", `{"label":"a\nb"}`, details{"label": anyMessage}},
			{"label with NUL", `{"label":"a\u0000b"}`, details{"label": anyMessage}},
			{"url without scheme", `{"inbound_url":"customer.example/in"}`, details{"inbound_url": "must use https://"}},
			{"relative url", `{"inbound_url":"/in"}`, details{"inbound_url": "must use https://"}},
			{"url without host", `{"inbound_url":"https://"}`, details{"inbound_url": anyMessage}},
			{"url with user info", `{"inbound_url":"https://user:pw@customer.example/in"}`, details{"inbound_url": anyMessage}},
			{"url with a space", `{"inbound_url":"https://customer.example/a b"}`, details{"inbound_url": anyMessage}},
			{"url with a control character", `{"status_url":"https://customer.example/\u0001"}`, details{"status_url": anyMessage}},
			{"url longer than 2048 bytes", `{"inbound_url":"https://customer.example/` + strings.Repeat("a", 2048) + `"}`, details{"inbound_url": anyMessage}},
		}
		for _, host := range []string{
			"localhost", "api.localhost", "printer.local", "metadata.google.internal",
			"127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
			"0.0.0.0", "224.0.0.1", "255.255.255.255", "240.0.0.1",
			"[::1]", "[::]", "[fe80::1]", "[fc00::1]", "[ff02::1]",
			"[::ffff:127.0.0.1]", "[::ffff:169.254.169.254]", "[::ffff:10.0.0.1]", "[::ffff:7f00:1]",
			"localhost.", "LOCALHOST", "printer.LOCAL", "127.1", "0x7f.0.0.1", "2130706433", "0177.0.0.1",
		} {
			cases = append(cases, struct {
				name, body string
				details    details
			}{"host " + host, `{"inbound_url":"https://` + host + `/in","status_url":"https://` + host + `:8443/status"}`,
				details{"inbound_url": anyMessage, "status_url": anyMessage}})
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				w.rejected(t, n.ID, tc.body, want422(tc.details))
			})
		}
	})
}

// ---- 422 campaign not found ----

func TestCampaignMustBelongToCallersOrganization(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		n := w.putNumber(t, func(n *phonenumbers.PhoneNumber) { n.CampaignID = nil })
		missing := w.rejected(t, n.ID, `{"campaign_id":"`+phonenumberstest.NewUUID()+`"}`, want422Campaign)
		foreign := w.rejected(t, n.ID, `{"campaign_id":"`+w.orgBCampaign+`"}`, want422Campaign)
		if got, want := foreign.bodyWithoutRequestID(), missing.bodyWithoutRequestID(); got != want {
			t.Errorf("another organization's campaign and a missing one answer differently:\nforeign %s\nmissing %s", got, want)
		}
		// Valid changes beside the campaign are not applied either.
		w.rejected(t, n.ID, `{"label":"new","campaign_id":"`+strings.ToUpper(w.orgBCampaign)+`"}`, want422Campaign)
	})
}

// ---- 409 ----

func TestCampaignMustBeActive(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		n := w.putNumber(t, nil)
		for _, tc := range []struct{ status, id string }{
			{"PENDING", w.pendingCampaign},
			{"REJECTED", w.rejectedCampaign},
			{"EXPIRED", w.expiredCampaign},
		} {
			t.Run(tc.status, func(t *testing.T) {
				w.rejected(t, n.ID, `{"campaign_id":"`+tc.id+`"}`, want409)
				w.rejected(t, n.ID, `{"label":"new","inbound_url":"","campaign_id":"`+tc.id+`"}`, want409)
			})
			t.Run(tc.status+" campaign already attached", func(t *testing.T) {
				attached := w.putNumber(t, func(n *phonenumbers.PhoneNumber) { n.CampaignID = ptr(tc.id) })
				w.rejected(t, attached.ID, `{"campaign_id":"`+tc.id+`"}`, want409)
			})
		}
	})
}

// ---- 404 and tenant isolation ----

func TestMissingAndForeignNumbersAreTheSame404(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		foreign := w.putNumber(t, func(n *phonenumbers.PhoneNumber) {
			n.OrgID = orgB
			n.CampaignID = ptr(w.orgBCampaign)
			n.Label = ptr("org b line")
		})
		missing := phonenumberstest.NewUUID()
		var first response
		for _, body := range []string{
			`{"label":"hijacked"}`,
			`{}`,
			`{"label":null}`,
			`{"label":"org b line"}`, // equal to the foreign number's stored value
			`{"label":""}`,
			`{"status_url":""}`, // already absent on the foreign number
			`{"inbound_url":"https://attacker.example/in","status_url":"https://attacker.example/s","label":"x","campaign_id":"` + w.activeCampaign2 + `"}`,
		} {
			for _, target := range []struct{ name, id string }{{"missing", missing}, {"foreign", foreign.ID}, {"foreign upper-case", strings.ToUpper(foreign.ID)}} {
				t.Run(target.name+" "+body, func(t *testing.T) {
					r := w.rejected(t, target.id, body, want404)
					if first.body == nil {
						first = r
						return
					}
					if got, want := r.bodyWithoutRequestID(), first.bodyWithoutRequestID(); got != want {
						t.Errorf("404 body differs apart from request_id:\ngot  %s\nwant %s", got, want)
					}
				})
			}
		}
	})
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		numberA := w.putNumber(t, nil)
		numberB := w.putNumber(t, func(n *phonenumbers.PhoneNumber) { n.OrgID = orgB; n.CampaignID = ptr(w.orgBCampaign) })
		asB := withBearer(w.orgBSecret)

		t.Run("org B's key on org A's number is a 404 like a missing number", func(t *testing.T) {
			got := w.rejected(t, numberA.ID, `{"inbound_url":"https://attacker.example/in"}`, want404, asB)
			missing := w.rejected(t, phonenumberstest.NewUUID(), `{"inbound_url":"https://attacker.example/in"}`, want404, asB)
			if got.bodyWithoutRequestID() != missing.bodyWithoutRequestID() {
				t.Errorf("foreign number body %s, missing number body %s", got.body, missing.body)
			}
		})
		t.Run("org A's key on org B's number is a 404 and leaves it unchanged", func(t *testing.T) {
			before := itemString(env.GetPhoneNumberItem(t, numberB.ID))
			w.rejected(t, numberB.ID, `{"label":"","inbound_url":""}`, want404)
			w.rejected(t, numberB.ID, `{}`, want404)
			if after := itemString(env.GetPhoneNumberItem(t, numberB.ID)); after != before {
				t.Errorf("org B's number changed:\nbefore %s\nafter  %s", before, after)
			}
		})
		t.Run("org B cannot attach org A's campaign", func(t *testing.T) {
			w.rejected(t, numberB.ID, `{"campaign_id":"`+w.activeCampaign2+`"}`, want422Campaign, asB)
		})
		t.Run("org B's key updates org B's number", func(t *testing.T) {
			r := w.patch(t, numberB.ID, `{"label":"mine"}`, asB)
			checkSuccess(t, r, env.GetPhoneNumberItem(t, numberB.ID))
		})
	})
}

// ---- order of the checks ----

func TestFirstFailingCheckDecides(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		n := w.putNumber(t, nil)
		huge := strings.Repeat("x", 20000)
		for _, tc := range []struct {
			name, id, body string
			opts           []reqOption
			want           wantErr
		}{
			{"401 before 403, 400, 415, 413", "bad", huge, []reqOption{withBearer(newSecret(40)), withContentType("text/plain")}, want401},
			{"revoked 401 before everything", "bad", huge, []reqOption{withBearer(w.revokedSecret), withContentType("text/plain")}, want401},
			{"403 before 400 id", "bad", huge, []reqOption{withBearer(w.readOnlySecret), withContentType("text/plain")}, want403},
			{"400 id before 415", "bad", huge, []reqOption{withContentType("text/plain")}, want400ID},
			{"415 before 413", n.ID, huge, []reqOption{withContentType("text/plain")}, want415},
			{"413 before 400 body", n.ID, huge, nil, want413},
			{"400 body before 400 members", n.ID, `{"foo":1,"foo":2`, nil, want400Input},
			{"400 members before 422", n.ID, `{"foo":1,"label":"\u0000"}`, nil, withContains(want400Input, `"foo"`)},
			{"422 values before campaign checks", n.ID, `{"label":"\u0000","campaign_id":"` + w.pendingCampaign + `"}`, nil,
				want422(map[string]string{"label": anyMessage})},
			{"422 campaign not found before 404", phonenumberstest.NewUUID(), `{"campaign_id":"` + phonenumberstest.NewUUID() + `"}`, nil, want422Campaign},
			{"409 before 404 on a missing number", phonenumberstest.NewUUID(), `{"campaign_id":"` + w.pendingCampaign + `"}`, nil, want409},
			{"409 before 404 on org B's number", w.putNumber(t, func(n *phonenumbers.PhoneNumber) { n.OrgID = orgB }).ID,
				`{"campaign_id":"` + w.expiredCampaign + `"}`, nil, want409},
			{"404 last", phonenumberstest.NewUUID(), `{"label":"x"}`, nil, want404},
		} {
			t.Run(tc.name, func(t *testing.T) {
				w.rejected(t, tc.id, tc.body, tc.want, tc.opts...)
			})
		}
	})
}

// ---- 200 ----

func TestSuccessfulPatchChangesExactlyThePatchedFields(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		longLabel := strings.Repeat("é", phonenumbers.MaxLabelLength)
		cases := []struct {
			name  string
			edit  func(n *phonenumbers.PhoneNumber)
			body  func(n phonenumbers.PhoneNumber) string
			opts  []reqOption
			want  map[string]*string // attribute -> new value; nil means removed
			upper bool               // send the path id in upper case
		}{
			{name: "set inbound_url on a bare number", edit: bare,
				body: func(phonenumbers.PhoneNumber) string { return `{"inbound_url":"https://hooks.example.com/in"}` },
				want: map[string]*string{"inbound_url": ptr("https://hooks.example.com/in")}},
			{name: "replace inbound_url",
				body: func(phonenumbers.PhoneNumber) string {
					return `{"inbound_url":"https://hooks.example.com:8443/v2/in?tenant=a#frag"}`
				},
				want: map[string]*string{"inbound_url": ptr("https://hooks.example.com:8443/v2/in?tenant=a#frag")}},
			{name: "set status_url and label together",
				body: func(phonenumbers.PhoneNumber) string {
					return `{"status_url":"https://hooks.example.com/status","label":"sales"}`
				},
				want: map[string]*string{"status_url": ptr("https://hooks.example.com/status"), "label": ptr("sales")}},
			{name: "clear inbound_url with an empty string",
				body: func(phonenumbers.PhoneNumber) string { return `{"inbound_url":""}` },
				want: map[string]*string{"inbound_url": nil}},
			{name: "clear label and set status_url, null leaves inbound_url",
				body: func(phonenumbers.PhoneNumber) string {
					return `{"label":"","status_url":"https://hooks.example.com/s","inbound_url":null}`
				},
				want: map[string]*string{"label": nil, "status_url": ptr("https://hooks.example.com/s")}},
			{name: "attach a campaign to a number without one", edit: bare,
				body: func(phonenumbers.PhoneNumber) string { return `{"campaign_id":"` + w.activeCampaign + `"}` },
				want: map[string]*string{"campaign_id": ptr(w.activeCampaign)}},
			{name: "replace the campaign",
				body: func(phonenumbers.PhoneNumber) string { return `{"campaign_id":"` + w.activeCampaign2 + `"}` },
				want: map[string]*string{"campaign_id": ptr(w.activeCampaign2)}},
			{name: "upper-case campaign id is stored in lower case",
				body: func(phonenumbers.PhoneNumber) string {
					return `{"campaign_id":"` + strings.ToUpper(w.activeCampaign2) + `"}`
				},
				want: map[string]*string{"campaign_id": ptr(w.activeCampaign2)}},
			{name: "all four fields at once", edit: bare,
				body: func(phonenumbers.PhoneNumber) string {
					return `{"inbound_url":"https://a.example/in","status_url":"https://a.example/s","label":"all","campaign_id":"` + w.activeCampaign + `"}`
				},
				want: map[string]*string{"inbound_url": ptr("https://a.example/in"), "status_url": ptr("https://a.example/s"),
					"label": ptr("all"), "campaign_id": ptr(w.activeCampaign)}},
			{name: "one field equal to the stored value, another new",
				body: func(n phonenumbers.PhoneNumber) string {
					return `{"label":` + jsonString(*n.Label) + `,"inbound_url":"https://b.example/in"}`
				},
				want: map[string]*string{"inbound_url": ptr("https://b.example/in")}},
			{name: "label of 255 two-byte characters",
				body: func(phonenumbers.PhoneNumber) string { return `{"label":` + jsonString(longLabel) + `}` },
				want: map[string]*string{"label": &longLabel}},
			{name: "label with escapes and emoji",
				body: func(phonenumbers.PhoneNumber) string { return `{"label":"caf\u00e9 \"line\" 📞"}` },
				want: map[string]*string{"label": ptr(`café "line" 📞`)}},
			{name: "internationalized host",
				body: func(phonenumbers.PhoneNumber) string { return `{"status_url":"https://bücher.example/s"}` },
				want: map[string]*string{"status_url": ptr("https://bücher.example/s")}},
			{name: "application/merge-patch+json", opts: []reqOption{withContentType("application/merge-patch+json")},
				body: func(phonenumbers.PhoneNumber) string { return `{"label":"merge"}` },
				want: map[string]*string{"label": ptr("merge")}},
			{name: "application/json with charset", opts: []reqOption{withContentType("application/json; charset=utf-8")},
				body: func(phonenumbers.PhoneNumber) string { return `{"label":"charset"}` },
				want: map[string]*string{"label": ptr("charset")}},
			{name: "upper-case media type", opts: []reqOption{withContentType("Application/JSON")},
				body: func(phonenumbers.PhoneNumber) string { return `{"label":"upper"}` },
				want: map[string]*string{"label": ptr("upper")}},
			{name: "no Content-Type", opts: []reqOption{withoutContentType()},
				body: func(phonenumbers.PhoneNumber) string { return `{"label":"untyped"}` },
				want: map[string]*string{"label": ptr("untyped")}},
			{name: "upper-case path id", upper: true,
				body: func(phonenumbers.PhoneNumber) string { return `{"label":"upper id"}` },
				want: map[string]*string{"label": ptr("upper id")}},
			{name: "whitespace around the document",
				body: func(phonenumbers.PhoneNumber) string { return "\n\t {\"label\" : \"spaced\"} \n" },
				want: map[string]*string{"label": ptr("spaced")}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				n := w.putNumber(t, tc.edit)
				before := env.GetPhoneNumberItem(t, n.ID)
				id := n.ID
				if tc.upper {
					id = strings.ToUpper(id)
				}
				start := time.Now()
				r := w.patch(t, id, tc.body(n), tc.opts...)
				end := time.Now()
				after := env.GetPhoneNumberItem(t, n.ID)
				data := checkSuccess(t, r, after)
				if data["id"] != n.ID {
					t.Errorf("data.id = %v, want %q", data["id"], n.ID)
				}

				updatedAt, _ := stringAttr(after, "updated_at")
				checkNow(t, updatedAt, start, end)
				// The key lookup and the conditional update; when the patch names a campaign, the
				// campaign and number reads (concurrent with the key lookup), then the transaction
				// that writes the number and checks the campaign.
				wantCalls := 2
				if _, ok := tc.want["campaign_id"]; ok {
					wantCalls = 4
				}
				checkStorageCalls(t, env, r, wantCalls)
				checkWriteRecorded(t, before, after, 1)
				for _, name := range sortedKeys(mergeKeys(before, after)) {
					got := avString(after[name])
					var want string
					switch value, patched := tc.want[name]; {
					case name == "updated_at", name == "version", name == "write_id":
						continue
					case patched && value == nil:
						want = avString(nil)
					case patched:
						want = avString(&types.AttributeValueMemberS{Value: *value})
					default:
						want = avString(before[name])
					}
					if got != want {
						t.Errorf("stored %s = %s, want %s", name, got, want)
					}
				}
			})
		}
	})
}

// checkWriteRecorded checks the bookkeeping of writes: after holds writes more changes than
// before in its version (absent: 0), and the id of the write that made the last of them.
func checkWriteRecorded(t *testing.T, before, after map[string]types.AttributeValue, writes int) {
	t.Helper()
	if got, want := version(t, after), version(t, before)+writes; got != want {
		t.Errorf("stored version = %d, want %d: one more per write that changed the number", got, want)
	}
	if id, _ := stringAttr(after, "write_id"); id == "" {
		t.Errorf("stored write_id = %s, want the id of the last write", avString(after["write_id"]))
	}
}

// version returns the stored version of a phone number item; absent is 0.
func version(t *testing.T, item map[string]types.AttributeValue) int {
	t.Helper()
	v, ok := item["version"]
	if !ok {
		return 0
	}
	n, isNumber := v.(*types.AttributeValueMemberN)
	version, err := strconv.Atoi(n.Value)
	if !isNumber || err != nil {
		t.Fatalf("stored version = %s, want a whole number", avString(v))
	}
	return version
}

func mergeKeys(a, b map[string]types.AttributeValue) map[string]bool {
	keys := make(map[string]bool, len(a)+len(b))
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

// checkNow checks that s is an RFC 3339 UTC timestamp, to the second, between start and end.
func checkNow(t *testing.T, s string, start, end time.Time) {
	t.Helper()
	got, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Errorf("updated_at = %q, want RFC 3339: %v", s, err)
		return
	}
	if canonical := got.UTC().Format(time.RFC3339); canonical != s {
		t.Errorf("updated_at = %q, want it in UTC as %q", s, canonical)
	}
	if got.Before(start.Truncate(time.Second)) || got.After(end) {
		t.Errorf("updated_at = %s, want the time of the request, between %s and %s",
			s, start.UTC().Format(time.RFC3339Nano), end.UTC().Format(time.RFC3339Nano))
	}
}

// ---- 200 no-op ----

func TestPatchThatChangesNothingLeavesTheItemUntouched(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		cases := []struct {
			name string
			edit func(n *phonenumbers.PhoneNumber)
			body func(n phonenumbers.PhoneNumber) string
		}{
			{"empty object", nil, func(phonenumbers.PhoneNumber) string { return `{}` }},
			{"empty object on a bare number", bare, func(phonenumbers.PhoneNumber) string { return `{}` }},
			{"all null", nil, func(phonenumbers.PhoneNumber) string {
				return `{"inbound_url":null,"status_url":null,"label":null,"campaign_id":null}`
			}},
			{"values equal to the stored ones", nil, func(n phonenumbers.PhoneNumber) string {
				return `{"inbound_url":` + jsonString(*n.InboundURL) + `,"label":` + jsonString(*n.Label) + `,"campaign_id":"` + *n.CampaignID + `"}`
			}},
			{"upper-case campaign id equal to the stored one", nil, func(n phonenumbers.PhoneNumber) string {
				return `{"campaign_id":"` + strings.ToUpper(*n.CampaignID) + `"}`
			}},
			{"clearing an absent field", nil, func(phonenumbers.PhoneNumber) string { return `{"status_url":""}` }},
			{"clearing every absent field of a bare number", bare, func(phonenumbers.PhoneNumber) string {
				return `{"inbound_url":"","status_url":"","label":""}`
			}},
			{"equal, cleared-absent and null together", nil, func(n phonenumbers.PhoneNumber) string {
				return `{"inbound_url":` + jsonString(*n.InboundURL) + `,"status_url":"","label":null}`
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				n := w.putNumber(t, tc.edit)
				before := env.GetPhoneNumberItem(t, n.ID)
				body := tc.body(n)
				r := w.patch(t, n.ID, body)
				checkSuccess(t, r, before)
				// The key lookup and the update, whose failed condition returns the item (as
				// DynamoDB, moto and the local dynalite do), plus the concurrent campaign lookup
				// when a campaign is sent: as many as a success, and nothing more.
				want := 2
				if strings.Contains(body, `"campaign_id":"`) {
					want++
				}
				checkStorageCalls(t, env, r, want)
				if got, want := itemString(env.GetPhoneNumberItem(t, n.ID)), itemString(before); got != want {
					t.Errorf("stored item changed:\nbefore %s\nafter  %s", want, got)
				}
			})
		}
	})
}

// ---- 503 ----

// TestUnavailableStorageIs503 stalls, then stops, an engine started for this test alone (the
// shared ones keep serving the other tests). The requests made while the engine is paused or
// stopped go through a handler with the store's own client, whose timeouts are under test; the
// others through one with enginetest.NewClient's patient policy, so that the machine's load
// cannot fail them.
func TestUnavailableStorageIs503(t *testing.T) {
	t.Parallel()
	enginetest.EachEngine(t, func(t *testing.T, shared *engine.Engine) {
		start := engine.StartDynalite
		if shared.Name == "moto" {
			start = engine.StartMoto
		}
		dedicated, err := start(t.Context(), 0)
		if err != nil {
			t.Fatalf("start a dedicated %s: %v", shared.Name, err)
		}
		t.Cleanup(dedicated.Stop)
		env := enginetest.NewEnv(t, dedicated)
		w := newWorld(t, env)
		storeClient, err := engine.NewClient(t.Context(), dedicated.Endpoint)
		if err != nil {
			t.Fatal(err)
		}
		unavailable := *w
		unavailable.srv = env.NewServer(t, enginetest.WithClient(storeClient), enginetest.WithFunctionTimeout(localconfig.FunctionTimeout))
		n := w.putNumber(t, nil)

		checkSuccess(t, w.patch(t, n.ID, `{"label":"before pause"}`), env.GetPhoneNumberItem(t, n.ID))

		if err := dedicated.Pause(); err != nil {
			t.Fatalf("pause: %v", err)
		}
		t.Cleanup(func() { _ = dedicated.Resume() })
		r := unavailable.patch(t, n.ID, `{"label":"during pause"}`)
		checkError(t, r, want503)
		checkNoLeak(t, r, env)
		if r.elapsed >= localconfig.FunctionTimeout {
			t.Errorf("503 took %s, want it before the function timeout %s", r.elapsed, localconfig.FunctionTimeout)
		}
		t.Logf("%s paused: 503 after %s", shared.Name, r.elapsed.Round(time.Millisecond))

		if err := dedicated.Resume(); err != nil {
			t.Fatalf("resume: %v", err)
		}
		r = w.patch(t, n.ID, `{"status_url":"https://after.example/s"}`)
		item := env.GetPhoneNumberItem(t, n.ID)
		checkSuccess(t, r, item)
		if got, _ := stringAttr(item, "label"); got != "before pause" {
			t.Errorf("stored label = %q, want %q: the request answered 503 must not have been applied", got, "before pause")
		}

		dedicated.Stop()
		r = unavailable.patch(t, n.ID, `{"label":"after stop"}`)
		checkError(t, r, want503)
		checkNoLeak(t, r, env)
		if r.elapsed >= localconfig.FunctionTimeout {
			t.Errorf("503 took %s, want it before the function timeout %s", r.elapsed, localconfig.FunctionTimeout)
		}
		t.Logf("%s stopped: 503 after %s", shared.Name, r.elapsed.Round(time.Millisecond))
	})
}

// checkNoLeak checks that a response names no table, endpoint or storage detail.
func checkNoLeak(t *testing.T, r response, env *enginetest.Env) {
	t.Helper()
	for _, s := range append([]string{env.Tables.APIKeys, env.Tables.Campaigns, env.Tables.PhoneNumbers, env.Engine.Endpoint}, internalFragments...) {
		if bytes.Contains(r.body, []byte(s)) {
			t.Errorf("body leaks %q: %s", s, r.body)
		}
	}
}

// ---- 500 ----

func TestMalformedStoredItemIsInternalError(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		put := func(t *testing.T, table string, item map[string]types.AttributeValue) {
			t.Helper()
			if _, err := env.Client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
				t.Fatalf("put malformed item: %v", err)
			}
		}
		// corruptNumber stores a number whose attribute name holds value, a type the store cannot
		// decode.
		corruptNumber := func(t *testing.T, name string, value types.AttributeValue) phonenumbers.PhoneNumber {
			t.Helper()
			n := w.putNumber(t, nil)
			item := env.GetPhoneNumberItem(t, n.ID)
			item[name] = value
			put(t, env.Tables.PhoneNumbers, item)
			return n
		}
		cases := []struct {
			name  string
			setup func(t *testing.T) (id, body string, opts []reqOption)
		}{
			{"sms_enabled stored as a string, patch changes a field", func(t *testing.T) (string, string, []reqOption) {
				n := corruptNumber(t, "sms_enabled", &types.AttributeValueMemberS{Value: "true"})
				return n.ID, `{"label":"changed"}`, nil
			}},
			{"sms_enabled stored as a string, empty patch", func(t *testing.T) (string, string, []reqOption) {
				n := corruptNumber(t, "sms_enabled", &types.AttributeValueMemberS{Value: "true"})
				return n.ID, `{}`, nil
			}},
			{"number stored as a map, patch equal to the stored values", func(t *testing.T) (string, string, []reqOption) {
				n := corruptNumber(t, "number", &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
					"e164": &types.AttributeValueMemberS{Value: "+14155550123"}}})
				return n.ID, `{"label":` + jsonString(*n.Label) + `}`, nil
			}},
			{"label stored as a number set, patch changes another field", func(t *testing.T) (string, string, []reqOption) {
				n := corruptNumber(t, "label", &types.AttributeValueMemberNS{Value: []string{"1", "2"}})
				return n.ID, `{"status_url":"https://hooks.example.com/s"}`, nil
			}},
			{"API key scopes stored as a string", func(t *testing.T) (string, string, []reqOption) {
				secret := newSecret(40)
				env.PutAPIKey(t, phonenumbers.APIKey{ID: phonenumberstest.NewUUID(), OrgID: orgA, Scopes: []string{phonenumbers.ScopeNumbersWrite}, CreatedAt: createdAt}, secret)
				var key map[string]types.AttributeValue
				out, err := env.Client.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(env.Tables.APIKeys)})
				if err != nil {
					t.Fatalf("scan keys: %v", err)
				}
				for _, item := range out.Items {
					if p, _ := stringAttr(item, "prefix"); p == secret[:phonenumbers.KeyPrefixLength] {
						key = item
					}
				}
				if key == nil {
					t.Fatal("seeded key not found")
				}
				key["scopes"] = &types.AttributeValueMemberS{Value: phonenumbers.ScopeNumbersWrite}
				put(t, env.Tables.APIKeys, key)
				return w.putNumber(t, nil).ID, `{"label":"x"}`, []reqOption{withBearer(secret)}
			}},
			{"campaign status stored as a boolean", func(t *testing.T) (string, string, []reqOption) {
				id := phonenumberstest.NewUUID()
				put(t, env.Tables.Campaigns, map[string]types.AttributeValue{
					"id":     &types.AttributeValueMemberS{Value: id},
					"org_id": &types.AttributeValueMemberS{Value: orgA},
					"status": &types.AttributeValueMemberBOOL{Value: true},
				})
				return w.putNumber(t, nil).ID, `{"campaign_id":"` + id + `"}`, nil
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				id, body, opts := tc.setup(t)
				r := w.patch(t, id, body, opts...)
				checkError(t, r, want500)
				checkNoLeak(t, r, env)
				if want := `{"success":false,"error":{"code":"INTERNAL","message":"internal error","request_id":"` + r.requestID() + `"}}`; string(r.body) != want {
					t.Errorf("body = %s\nwant %s", r.body, want)
				}
				checkErrorLogged(t, env, r.requestID())
			})
		}
	})
}

// checkErrorLogged checks that the handler logged the request at ERROR with its cause, since the
// response deliberately says nothing about it.
func checkErrorLogged(t *testing.T, env *enginetest.Env, requestID string) {
	t.Helper()
	entry := logEntry(t, env, requestID)
	if entry["level"] != "ERROR" {
		t.Errorf("log level = %v, want ERROR: %v", entry["level"], entry)
	}
	if cause, _ := entry["error"].(string); cause == "" {
		t.Errorf("log line has no error cause: %v", entry)
	}
}

// logEntry returns the handler's log line for the request, decoded.
func logEntry(t *testing.T, env *enginetest.Env, requestID string) map[string]any {
	t.Helper()
	for line := range strings.Lines(env.Logs()) {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) == nil && entry["request_id"] == requestID {
			return entry
		}
	}
	t.Fatalf("no log line for request %s", requestID)
	return nil
}

// checkStorageCalls checks how many DynamoDB calls the request made, as its log line counts them.
func checkStorageCalls(t *testing.T, env *enginetest.Env, r response, want int) {
	t.Helper()
	if got := logEntry(t, env, r.requestID())["storage_calls"]; got != float64(want) {
		t.Errorf("storage calls = %v, want %d", got, want)
	}
}
