package wiring_test

// Tests of the write path through the real handler, on every engine: what each outcome costs in
// storage calls (contract §2), the campaign checked at the moment of the write (§4), versions and
// If-Match (§8) under concurrency and under lost answers.

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sms-platform/phone-numbers/local/enginetest"
	"github.com/sms-platform/phone-numbers/local/faultproxy"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers/phonenumberstest"
)

// checkETag checks that r carries the ETag of version.
func checkETag(t *testing.T, r response, version int64) {
	t.Helper()
	if got, want := r.header.Get("ETag"), etagOf(version); got != want {
		t.Errorf("ETag = %s, want %s (status %d)", got, want, r.status)
	}
}

// TestEveryOutcomeCostsTheSameStorageCalls counts each request's storage calls (the callcount
// decorator's count on its log line): a missing number, another organization's, a no-op and a
// failed If-Match cost what a success costs, or less, never more, so that neither the answer nor
// its timing tells a foreign number from a missing one (contract §2). Without a campaign: the key
// lookup and the one conditional write (or, for a patch without fields, one read). With a
// campaign: the key, campaign and number reads, the last two concurrent with the key lookup, and
// the transaction only when there is something to write.
func TestEveryOutcomeCostsTheSameStorageCalls(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		foreign := w.putNumber(t, func(n *phonenumbers.PhoneNumber) { n.OrgID = orgB; n.CampaignID = ptr(w.orgBCampaign) })
		attach := `{"campaign_id":"` + w.activeCampaign2 + `"}`
		for _, tc := range []struct {
			name      string
			body      string
			target    string // "own", "foreign", "missing"
			ifMatch   string // "" for none
			want      int    // status
			wantCalls int
		}{
			{"a change", `{"label":"new"}`, "own", "", 200, 2},
			{"a change with If-Match *", `{"label":"new"}`, "own", "*", 200, 2},
			{"a change with the current ETag", `{"label":"new"}`, "own", `"0"`, 200, 2},
			{"a change with a stale ETag", `{"label":"new"}`, "own", `"7"`, 412, 2},
			{"a change with a weak ETag", `{"label":"new"}`, "own", `W/"0"`, 412, 2},
			{"a no-op", `{"label":"support-line"}`, "own", "", 200, 2},
			{"a no-op with the current ETag", `{"label":"support-line"}`, "own", `"0"`, 200, 2},
			{"a no-op with a stale ETag", `{"label":"support-line"}`, "own", `"7"`, 412, 2},
			{"a change of a foreign number", `{"label":"new"}`, "foreign", "", 404, 2},
			{"a change of a foreign number with a stale ETag", `{"label":"new"}`, "foreign", `"7"`, 404, 2},
			{"a change of a missing number", `{"label":"new"}`, "missing", "", 404, 2},
			{"a change of a missing number with If-Match *", `{"label":"new"}`, "missing", "*", 404, 2},
			{"no field", `{}`, "own", "", 200, 2},
			{"no field with a stale ETag", `{}`, "own", `"7"`, 412, 2},
			{"no field on a foreign number", `{}`, "foreign", `"0"`, 404, 2},
			{"no field on a missing number", `{}`, "missing", "", 404, 2},
			{"an attach", attach, "own", "", 200, 4},
			{"an attach with the current ETag", attach, "own", `"0"`, 200, 4},
			{"an attach with a stale ETag", attach, "own", `"7"`, 412, 3},
			{"an attach of the campaign already attached", `{"campaign_id":"` + w.activeCampaign + `"}`, "own", "", 200, 3},
			{"an attach to a foreign number", attach, "foreign", "", 404, 3},
			{"an attach to a foreign number with a stale ETag", attach, "foreign", `"7"`, 404, 3},
			{"an attach to a missing number", attach, "missing", "", 404, 3},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				id := phonenumberstest.NewUUID()
				switch tc.target {
				case "own":
					id = w.putNumber(t, nil).ID
				case "foreign":
					id = foreign.ID
				}
				var opts []reqOption
				if tc.ifMatch != "" {
					opts = append(opts, withIfMatch(tc.ifMatch))
				}
				r := w.patch(t, id, tc.body, opts...)
				if r.status != tc.want {
					t.Fatalf("status = %d, want %d; body %s", r.status, tc.want, r.body)
				}
				checkStorageCalls(t, env, r, tc.wantCalls)
			})
		}
	})
}

// flippingClient is the store's DynamoDB client with a bug-free race made certain: right after
// the campaign lookup's GetItem returns, the campaign's status is set to EXPIRED, so that the
// service saw it ACTIVE and the write must find it is not.
type flippingClient struct {
	dynamostore.API
	env        *enginetest.Env
	campaignID string

	once sync.Once
	err  error
}

func (c *flippingClient) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	out, err := c.API.GetItem(ctx, in, optFns...)
	if aws.ToString(in.TableName) == c.env.Tables.Campaigns {
		c.once.Do(func() {
			expired := dynamostore.NewCampaignItem(phonenumbers.Campaign{ID: c.campaignID, OrgID: orgA, Status: phonenumbers.CampaignExpired})
			_, c.err = c.env.Client.PutItem(context.WithoutCancel(ctx), &dynamodb.PutItemInput{TableName: aws.String(c.env.Tables.Campaigns), Item: expired})
		})
	}
	return out, err
}

// TestCampaignThatLeavesActiveBeforeTheWriteIsNeverAttached: the campaign is ACTIVE when the
// service reads it and EXPIRED a moment later, before the write: the write checks it again, in
// the same transaction, and answers 409 with nothing written (contract §4, finding 2).
func TestCampaignThatLeavesActiveBeforeTheWriteIsNeverAttached(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		for _, body := range []string{`{"campaign_id":%q}`, `{"label":"with the campaign","campaign_id":%q}`} {
			t.Run(body, func(t *testing.T) {
				campaign := phonenumbers.Campaign{ID: phonenumberstest.NewUUID(), OrgID: orgA, Status: phonenumbers.CampaignActive}
				env.PutCampaign(t, campaign)
				flipping := &flippingClient{API: env.Client, env: env, campaignID: campaign.ID}
				flipped := *w
				flipped.srv = env.NewServer(t, enginetest.WithClient(flipping))
				n := w.putNumber(t, func(n *phonenumbers.PhoneNumber) { n.CampaignID = nil })
				before := itemString(env.GetPhoneNumberItem(t, n.ID))

				r := flipped.patch(t, n.ID, fmt.Sprintf(body, campaign.ID))

				if flipping.err != nil {
					t.Fatalf("flip the campaign to EXPIRED: %v", flipping.err)
				}
				checkError(t, r, want409)
				if after := itemString(env.GetPhoneNumberItem(t, n.ID)); after != before {
					t.Errorf("a campaign that left ACTIVE before the write was attached:\nbefore %s\nafter  %s", before, after)
				}
			})
		}
	})
}

// TestConcurrentWritersHoldingTheSameETag: 20 clients read ETag "0" and each PATCHes a change of
// its own with If-Match: "0", all at once: exactly one 200 (ETag "1"), 19 412s carrying ETag "1",
// and the stored number is the winner's, version 1. Once with a label, once attaching a campaign
// (each writer its own), on both engines.
func TestConcurrentWritersHoldingTheSameETag(t *testing.T) {
	t.Parallel()
	const writers = 20
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := concurrentServer(t, newWorld(t, env))
		for _, field := range []string{"label", "campaign_id"} {
			t.Run(field, func(t *testing.T) {
				n := w.putNumber(t, bare)
				bodies := make([]string, writers)
				for i := range bodies {
					value := fmt.Sprintf("writer %02d", i)
					if field == "campaign_id" {
						c := phonenumbers.Campaign{ID: phonenumberstest.NewUUID(), OrgID: orgA, Status: phonenumbers.CampaignActive}
						env.PutCampaign(t, c)
						value = c.ID
					}
					bodies[i] = `{"` + field + `":` + jsonString(value) + `}`
				}

				responses := w.sendAll(t, n.ID, bodies, withIfMatch(`"0"`))

				winners := 0
				after := env.GetPhoneNumberItem(t, n.ID)
				for i, r := range responses {
					checkETag(t, r, 1)
					switch r.status {
					case http.StatusOK:
						winners++
						checkSuccess(t, r, after)
						if got, _ := successData(t, r)[field].(string); bodies[i] != `{"`+field+`":`+jsonString(got)+`}` {
							t.Errorf("the winner %s answered %s = %q", bodies[i], field, got)
						}
					case http.StatusPreconditionFailed:
						checkError(t, r, want412)
					default:
						t.Errorf("PATCH %s: status %d, want 200 or 412; body %s", bodies[i], r.status, r.body)
					}
				}
				if winners != 1 {
					t.Errorf("%d writers won, want exactly 1", winners)
				}
				if got := version(t, after); got != 1 {
					t.Errorf("stored version = %d, want 1", got)
				}
			})
		}
	})
}

// TestRetriedWriteAnswersItsOwnVersion drops the answer to the write after the engine applied it:
// the SDK's retry finds the number at the version this very write made (so its If-Match no longer
// matches) and recognises its own change by its write id: 200 with ETag "1", written once. For
// the UpdateItem of a change and the TransactWriteItems of an attach, on both engines.
func TestRetriedWriteAnswersItsOwnVersion(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		w := newWorld(t, env)
		for _, tc := range []struct{ op, body string }{
			{opUpdateItem, `{"label":"retried"}`},
			{opTransactWriteItems, `{"label":"retried","campaign_id":"` + w.activeCampaign2 + `"}`},
		} {
			t.Run(tc.op, func(t *testing.T) {
				t.Parallel()
				pw := proxied(t, w)
				n := w.putNumber(t, nil)
				before := env.GetPhoneNumberItem(t, n.ID)
				pw.proxy.SetScript(faultproxy.Sequence(tc.op, droppedAfter))

				r := pw.patch(t, n.ID, tc.body, withIfMatch(`"0"`))

				after := env.GetPhoneNumberItem(t, n.ID)
				checkSuccess(t, r, after)
				checkETag(t, r, 1)
				checkWriteRecorded(t, before, after, 1)
				if got := pw.proxy.Forwarded(tc.op); got != 2 {
					t.Errorf("%d %s requests reached the engine, want 2: the applied one whose answer was lost, and the retry", got, tc.op)
				}
			})
		}
	})
}
