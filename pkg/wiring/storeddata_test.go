package wiring_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sms-platform/phone-numbers/local/enginetest"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers/phonenumberstest"
)

// Tests of items that this service would never write itself but may find in its table: written
// by other services, by hand, or by older code.

func TestClearingANullAttributeChangesNothing(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		n := w.putNumber(t, nil)
		env.EditPhoneNumberItem(t, n.ID, func(item map[string]types.AttributeValue) {
			item["label"] = &types.AttributeValueMemberNULL{Value: true}
		})
		before := env.GetPhoneNumberItem(t, n.ID)

		r := w.patch(t, n.ID, `{"label":""}`)

		checkSuccess(t, r, before)
		if got, want := itemString(env.GetPhoneNumberItem(t, n.ID)), itemString(before); got != want {
			t.Errorf("clearing a NULL label rewrote the item:\nbefore %s\nafter  %s", want, got)
		}
	})
}

func TestForeignNumberIsNotFoundEvenWhenItsItemIsCorrupt(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		foreign := w.putNumber(t, func(n *phonenumbers.PhoneNumber) {
			n.OrgID = orgB
			n.CampaignID = ptr(w.orgBCampaign)
		})
		env.EditPhoneNumberItem(t, foreign.ID, func(item map[string]types.AttributeValue) {
			item["sms_enabled"] = &types.AttributeValueMemberS{Value: "yes"}
		})
		for _, body := range []string{`{}`, `{"label":"hijacked"}`} {
			t.Run(body, func(t *testing.T) {
				got := w.rejected(t, foreign.ID, body, want404)
				missing := w.rejected(t, phonenumberstest.NewUUID(), body, want404)
				if got.bodyWithoutRequestID() != missing.bodyWithoutRequestID() {
					t.Errorf("corrupt foreign number answered %s, a missing one %s", got.body, missing.body)
				}
			})
		}
	})
}

func TestCorruptTimestampIsAnInternalErrorNotTheZeroTime(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		n := w.putNumber(t, nil)
		env.EditPhoneNumberItem(t, n.ID, func(item map[string]types.AttributeValue) {
			item["created_at"] = &types.AttributeValueMemberS{Value: "yesterday"}
		})

		r := w.patch(t, n.ID, `{}`)

		checkError(t, r, want500)
		checkNoLeak(t, r, env)
		checkErrorLogged(t, env, r.requestID())
	})
}

// TestCorruptNumberIsRefusedBeforeTheWrite: the caller's own number with an attribute of the
// wrong type is a 500 whatever the PATCH (a change, an attach, a no-op), storage is exactly as it
// was, and the log reports the corrupt record at error level (finding 4).
func TestCorruptNumberIsRefusedBeforeTheWrite(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		for _, c := range []struct {
			name  string
			value types.AttributeValue // nil: the attribute is removed
			attr  string
		}{
			{"sms_enabled the string true", &types.AttributeValueMemberS{Value: "true"}, "sms_enabled"},
			{"version a string", &types.AttributeValueMemberS{Value: "2"}, "version"},
			{"created_at unparsable", &types.AttributeValueMemberS{Value: "yesterday"}, "created_at"},
			{"updated_at a number", &types.AttributeValueMemberN{Value: "1714000000"}, "updated_at"},
			{"mms_enabled absent", nil, "mms_enabled"},
		} {
			for _, body := range []string{`{"label":"changed"}`, `{"campaign_id":"` + w.activeCampaign2 + `"}`, `{"label":"support-line"}`, `{}`} {
				t.Run(c.name+" "+body, func(t *testing.T) {
					t.Parallel()
					n := w.putNumber(t, nil)
					env.EditPhoneNumberItem(t, n.ID, func(item map[string]types.AttributeValue) {
						if c.value == nil {
							delete(item, c.attr)
						} else {
							item[c.attr] = c.value
						}
					})
					before := itemString(env.GetPhoneNumberItem(t, n.ID))
					r := w.patch(t, n.ID, body)
					checkError(t, r, want500)
					if after := itemString(env.GetPhoneNumberItem(t, n.ID)); after != before {
						t.Errorf("a corrupt item was written:\nbefore %s\nafter  %s", before, after)
					}
					checkNoLeak(t, r, env)
					checkCorruptionLogged(t, env, r)
				})
			}
		}
	})
}

// TestRecordsWithoutOrganizationBelongToNobody: a number stored without org_id is the same 404 as
// a missing one, and a campaign stored without org_id the same 422 as a missing one; nothing is
// written, and the log reports the corrupt record at error level (finding 5).
func TestRecordsWithoutOrganizationBelongToNobody(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		t.Run("number", func(t *testing.T) {
			n := w.putNumber(t, nil)
			env.EditPhoneNumberItem(t, n.ID, func(item map[string]types.AttributeValue) { delete(item, "org_id") })
			for _, body := range []string{`{"label":"mine now"}`, `{}`, `{"campaign_id":"` + w.activeCampaign2 + `"}`} {
				r := w.rejected(t, n.ID, body, want404)
				missing := w.rejected(t, phonenumberstest.NewUUID(), body, want404)
				if r.bodyWithoutRequestID() != missing.bodyWithoutRequestID() {
					t.Errorf("an org-less number answered %s, a missing one %s", r.body, missing.body)
				}
				checkCorruptionLogged(t, env, r)
			}
		})
		t.Run("campaign", func(t *testing.T) {
			orgless := phonenumberstest.NewUUID()
			env.PutItem(t, env.Tables.Campaigns, map[string]types.AttributeValue{
				"id": &types.AttributeValueMemberS{Value: orgless}, "status": &types.AttributeValueMemberS{Value: "ACTIVE"},
			})
			n := w.putNumber(t, func(n *phonenumbers.PhoneNumber) { n.CampaignID = nil })
			r := w.rejected(t, n.ID, `{"campaign_id":"`+orgless+`"}`, want422Campaign)
			missing := w.rejected(t, n.ID, `{"campaign_id":"`+phonenumberstest.NewUUID()+`"}`, want422Campaign)
			if r.bodyWithoutRequestID() != missing.bodyWithoutRequestID() {
				t.Errorf("an org-less campaign answered %s, a missing one %s", r.body, missing.body)
			}
			checkCorruptionLogged(t, env, r)
		})
	})
}

// checkCorruptionLogged checks that the request's log line reports a corrupt record at error
// level: the client learns nothing, an operator must repair the record.
func checkCorruptionLogged(t *testing.T, env *enginetest.Env, r response) {
	t.Helper()
	entry := logEntry(t, env, r.requestID())
	if cause, _ := entry["error"].(string); entry["level"] != "ERROR" || !strings.Contains(cause, "corrupt record") {
		t.Errorf("log line %v, want ERROR with a corrupt-record cause", entry)
	}
}
