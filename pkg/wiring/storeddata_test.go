package wiring_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sms-platform/phone-numbers/local/enginetest"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
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
				missing := w.rejected(t, newUUID(), body, want404)
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
