package dynamostore_test

// The store against the local engines: every kind of expression the store sends, run on dynalite
// and on moto, with what each must do to the item.

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/enginetest"
	"github.com/sms-platform/phone-numbers/local/faultproxy"
	"github.com/sms-platform/phone-numbers/pkg/callcount"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers/phonenumberstest"
)

func TestMain(m *testing.M) { enginetest.Main(m) }

const (
	orgA = "11111111-1111-4111-8111-111111111111"
	orgB = "22222222-2222-4222-8222-222222222222"
)

var (
	createdAt = time.Date(2026, 4, 26, 12, 0, 0, 0, time.UTC)
	seededAt  = time.Date(2026, 4, 26, 14, 0, 0, 0, time.UTC)
	patchedAt = time.Date(2026, 4, 27, 9, 30, 0, 0, time.UTC)
)

// stored is the state of one updatable attribute before a patch.
type stored int

const (
	absent stored = iota
	null          // NULL, which reads as cleared
	equal         // the value the patch sets
	other         // another value
)

func (s stored) String() string {
	return [...]string{"absent", "NULL", "equal", "other"}[s]
}

// fieldPatch is what a patch does to one field: sets value, or clears it when value is "".
type fieldPatch struct {
	field phonenumbers.Field
	value string
}

// expressionCase is one kind of update: the fields it patches, the state each field starts in,
// and whether the item must change.
type expressionCase struct {
	name      string
	patches   []fieldPatch
	before    []stored // one per patch
	wantWrite bool
}

// expressionCases are every field with every operation from every starting state, and mixes
// that would go wrong if DynamoDB's precedence (NOT, AND, OR) were not what the store relies on.
func expressionCases() []expressionCase {
	var cases []expressionCase
	for _, f := range phonenumbers.UpdatableFields {
		value := "value-of-" + string(f.Name)
		if f.Name == phonenumbers.FieldCampaignID {
			value = casesCampaign
		}
		for _, s := range []stored{absent, null, equal, other} {
			cases = append(cases,
				expressionCase{
					name:      "set " + string(f.Name) + " stored " + s.String(),
					patches:   []fieldPatch{{f.Name, value}},
					before:    []stored{s},
					wantWrite: s != equal,
				})
			if f.Name == phonenumbers.FieldCampaignID {
				continue // campaign_id cannot be cleared by PATCH
			}
			cases = append(cases, expressionCase{
				name:      "clear " + string(f.Name) + " stored " + s.String(),
				patches:   []fieldPatch{{f.Name, ""}},
				before:    []stored{s},
				wantWrite: s == equal || s == other,
			})
		}
	}
	label := fieldPatch{phonenumbers.FieldLabel, "new label"}
	clearStatus := fieldPatch{phonenumbers.FieldStatusURL, ""}
	clearInbound := fieldPatch{phonenumbers.FieldInboundURL, ""}
	setStatus := fieldPatch{phonenumbers.FieldStatusURL, "https://status.example/s"}
	return append(cases,
		// "differs(label) OR holds(status) AND NOT NULL(status)": read as (A OR B) AND NOT C it
		// would refuse this write.
		expressionCase{"set a differing label, clear a NULL status_url", []fieldPatch{label, clearStatus}, []stored{other, null}, true},
		expressionCase{"set an equal label, clear a NULL status_url", []fieldPatch{label, clearStatus}, []stored{equal, null}, false},
		expressionCase{"set an equal label, clear a stored status_url", []fieldPatch{label, clearStatus}, []stored{equal, other}, true},
		// "holds(inbound) AND NOT NULL(inbound) OR differs(status)": read as A AND (NOT B OR C)
		// it would refuse this write.
		expressionCase{"clear an absent inbound_url, set a differing status_url", []fieldPatch{clearInbound, setStatus}, []stored{absent, other}, true},
		expressionCase{"clear an absent inbound_url, set an equal status_url", []fieldPatch{clearInbound, setStatus}, []stored{absent, equal}, false},
		expressionCase{"all four, only the last differs", []fieldPatch{
			{phonenumbers.FieldInboundURL, "https://in.example/i"}, clearStatus, label,
			{phonenumbers.FieldCampaignID, casesCampaign},
		}, []stored{equal, absent, equal, other}, true},
		expressionCase{"three in one UpdateItem, only the last differs", []fieldPatch{
			{phonenumbers.FieldInboundURL, "https://in.example/i"}, clearStatus, label,
		}, []stored{equal, null, other}, true},
		expressionCase{"three in one UpdateItem, none differs", []fieldPatch{
			{phonenumbers.FieldInboundURL, "https://in.example/i"}, clearStatus, label,
		}, []stored{equal, absent, equal}, false},
		expressionCase{"all four, none differs", []fieldPatch{
			{phonenumbers.FieldInboundURL, "https://in.example/i"}, clearStatus, label,
			{phonenumbers.FieldCampaignID, casesCampaign},
		}, []stored{equal, null, equal, equal}, false},
	)
}

// casesCampaign is the campaign expressionCases attach.
const casesCampaign = "78614b6c-fe7c-41e2-8e25-c9b3a3c91904"

// update applies patch to org A's number id as the service does: UpdatePhoneNumber, or, for a
// patch carrying campaign_id, the number read, then AttachCampaign unless the patch changes
// nothing on it.
func update(t *testing.T, store *dynamostore.Store, id string, patch phonenumbers.Patch) (phonenumbers.PhoneNumber, error) {
	t.Helper()
	if patch.CampaignID == nil {
		return store.UpdatePhoneNumber(t.Context(), orgA, id, patch, phonenumbers.Precondition{}, patchedAt)
	}
	current, err := store.FindPhoneNumber(t.Context(), id)
	if err != nil {
		return current, err
	}
	if _, changed := patch.Apply(current); !changed {
		return current, nil
	}
	return store.AttachCampaign(t.Context(), orgA, current, patch, phonenumbers.Precondition{}, patchedAt)
}

// patchOf returns the Patch that applies ps.
func patchOf(ps []fieldPatch) phonenumbers.Patch {
	var p phonenumbers.Patch
	for _, fp := range ps {
		v := fp.value
		switch fp.field {
		case phonenumbers.FieldInboundURL:
			p.InboundURL = &v
		case phonenumbers.FieldStatusURL:
			p.StatusURL = &v
		case phonenumbers.FieldLabel:
			p.Label = &v
		case phonenumbers.FieldCampaignID:
			p.CampaignID = &v
		}
	}
	return p
}

func TestEveryExpressionCaseOnEveryEngine(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		store := dynamostore.New(patient(env), env.Tables)
		env.PutCampaign(t, phonenumbers.Campaign{ID: casesCampaign, OrgID: orgA, Status: phonenumbers.CampaignActive})
		for _, tc := range expressionCases() {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				n := putNumber(t, env, orgA)
				env.EditPhoneNumberItem(t, n.ID, func(item map[string]types.AttributeValue) {
					for i, fp := range tc.patches {
						switch tc.before[i] {
						case absent:
							delete(item, string(fp.field))
						case null:
							item[string(fp.field)] = &types.AttributeValueMemberNULL{Value: true}
						case equal:
							item[string(fp.field)] = &types.AttributeValueMemberS{Value: fp.value}
							if fp.value == "" {
								item[string(fp.field)] = &types.AttributeValueMemberS{Value: "a value to clear"}
							}
						case other:
							item[string(fp.field)] = &types.AttributeValueMemberS{Value: "another value"}
						}
					}
				})
				before := env.GetPhoneNumberItem(t, n.ID)

				got, err := update(t, store, n.ID, patchOf(tc.patches))
				if err != nil {
					t.Fatalf("update: %v", err)
				}
				after := env.GetPhoneNumberItem(t, n.ID)

				want := before
				if tc.wantWrite {
					want = maps.Clone(before)
					for _, fp := range tc.patches {
						if fp.value == "" {
							delete(want, string(fp.field))
						} else {
							want[string(fp.field)] = &types.AttributeValueMemberS{Value: fp.value}
						}
					}
					want["updated_at"] = &types.AttributeValueMemberS{Value: patchedAt.Format(time.RFC3339)}
					want["version"] = &types.AttributeValueMemberN{Value: "1"}
					want["write_id"] = writeIDOf(t, after)
				}
				if g, w := render(after), render(want); g != w {
					t.Errorf("stored item\n\tgot  %s\n\twant %s", g, w)
				}
				checkReturned(t, got, after)
			})
		}
	})
}

// writeIDOf returns the write id a write left on item, failing the test when there is none.
func writeIDOf(t *testing.T, item map[string]types.AttributeValue) types.AttributeValue {
	t.Helper()
	id, ok := item["write_id"].(*types.AttributeValueMemberS)
	if !ok || id.Value == "" {
		t.Errorf("write_id = %v, want the id of the write", item["write_id"])
	}
	return item["write_id"]
}

// checkReturned checks that the store returned the number stored in item.
func checkReturned(t *testing.T, got phonenumbers.PhoneNumber, item map[string]types.AttributeValue) {
	t.Helper()
	want := withoutNULL(item)
	delete(want, "write_id")
	if g, w := render(dynamostore.NewPhoneNumberItem(got)), render(want); g != w {
		t.Errorf("returned number\n\tgot  %s\n\twant the stored one %s", g, w)
	}
}

func TestMissingAndForeignNumbersAreNotFoundOnEveryEngine(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		store := dynamostore.New(patient(env), env.Tables)
		foreign := putNumber(t, env, orgB)
		label := "hijacked"
		for _, tc := range []struct {
			name  string
			id    string
			patch phonenumbers.Patch
		}{
			{"missing, with a change", "497f6eca-6276-4993-bfeb-53cbbbba6f08", phonenumbers.Patch{Label: &label}},
			{"missing, without changes", "497f6eca-6276-4993-bfeb-53cbbbba6f08", phonenumbers.Patch{}},
			{"foreign, with a change", foreign.ID, phonenumbers.Patch{Label: &label}},
			{"foreign, without changes", foreign.ID, phonenumbers.Patch{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := render(env.GetPhoneNumberItem(t, foreign.ID))
				_, err := store.UpdatePhoneNumber(t.Context(), orgA, tc.id, tc.patch, phonenumbers.Precondition{}, patchedAt)
				if kind := phonenumbers.KindOf(err); kind != phonenumbers.KindNotFound {
					t.Errorf("got error %v (%v), want not found", err, kind)
				}
				if after := render(env.GetPhoneNumberItem(t, foreign.ID)); after != before {
					t.Errorf("foreign number changed:\n\tbefore %s\n\tafter  %s", before, after)
				}
				if item := env.GetPhoneNumberItem(t, "497f6eca-6276-4993-bfeb-53cbbbba6f08"); item != nil {
					t.Errorf("an update of a missing number created %s", render(item))
				}
			})
		}
	})
}

// patient returns env's client with a per-attempt timeout long enough for a loaded machine: these
// tests check what the expressions do, not how the client copes with a slow engine.
func patient(env *enginetest.Env) *dynamodb.Client {
	return dynamodb.New(env.Client.Options(), func(o *dynamodb.Options) {
		o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(30 * time.Second)
	})
}

// putNumber stores a number of org with every field set, changed by edits.
func putNumber(t *testing.T, env *enginetest.Env, org string, edits ...func(n *phonenumbers.PhoneNumber)) phonenumbers.PhoneNumber {
	t.Helper()
	propagatedAt := seededAt.Add(-time.Hour)
	n := phonenumbers.PhoneNumber{
		ID:                            phonenumberstest.NewUUID(),
		OrgID:                         org,
		Number:                        "+14155550123",
		NumberType:                    phonenumbers.NumberTypeLocal,
		InboundURL:                    aws.String("https://customer.example/v1/inbound"),
		StatusURL:                     aws.String("https://customer.example/v1/status"),
		Label:                         aws.String("support-line"),
		CampaignID:                    aws.String("0f6b2c4a-1d3e-4f5a-8b7c-9d0e1f2a3b4c"),
		CarrierLineOptionStatus:       aws.String("propagated"),
		CarrierLineOptionPropagatedAt: &propagatedAt,
		SMSEnabled:                    true,
		CreatedAt:                     createdAt,
		UpdatedAt:                     seededAt,
	}
	for _, edit := range edits {
		edit(&n)
	}
	env.PutPhoneNumber(t, n)
	return n
}

// withoutNULL returns item without its NULL attributes, which read as cleared.
func withoutNULL(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	out := map[string]types.AttributeValue{}
	for k, v := range item {
		if _, isNull := v.(*types.AttributeValueMemberNULL); !isNull {
			out[k] = v
		}
	}
	return out
}

// render shows an item with its attribute types, in a stable order, so that two renderings are
// equal exactly when the items are (for the scalar and string set types items here hold).
func render(item map[string]types.AttributeValue) string {
	if item == nil {
		return "<no item>"
	}
	names := make([]string, 0, len(item))
	for name := range item {
		names = append(names, name)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, name := range names {
		b.WriteString(" " + name + "=")
		switch v := item[name].(type) {
		case *types.AttributeValueMemberS:
			b.WriteString("S:" + strconv.Quote(v.Value))
		case *types.AttributeValueMemberN:
			b.WriteString("N:" + v.Value)
		case *types.AttributeValueMemberBOOL:
			b.WriteString("BOOL:" + strconv.FormatBool(v.Value))
		case *types.AttributeValueMemberNULL:
			b.WriteString("NULL")
		case *types.AttributeValueMemberSS:
			b.WriteString("SS:" + strings.Join(slices.Sorted(slices.Values(v.Value)), ","))
		case *types.AttributeValueMemberM:
			b.WriteString("M:" + render(v.Value))
		default:
			fmt.Fprintf(&b, "%T%v", v, v)
		}
	}
	return "{" + strings.TrimPrefix(b.String(), " ") + "}"
}

// ---- versions and If-Match (contract §8) ----

func TestVersionsAndIfMatchOnEveryEngine(t *testing.T) {
	t.Parallel()
	none := phonenumbers.Precondition{}
	tests := []struct {
		name    string
		stored  int64 // 0: no version attribute
		patch   phonenumbers.Patch
		cond    phonenumbers.Precondition
		wantErr bool // a 412 with the stored version, nothing written
	}{
		{"a change without If-Match on a number stored without a version", 0, labelPatch("new"), none, false},
		{"a change without If-Match", 5, labelPatch("new"), none, false},
		{"a change with If-Match *", 5, labelPatch("new"), phonenumbers.NewPrecondition(true), false},
		{"a change with the stored version", 5, labelPatch("new"), phonenumbers.NewPrecondition(false, 5), false},
		{"a change with a list naming the stored version", 5, labelPatch("new"), phonenumbers.NewPrecondition(false, 3, 5, 9), false},
		{"a change with version 0 on a number stored without one", 0, labelPatch("new"), phonenumbers.NewPrecondition(false, 0), false},
		{"a change with version 0 in a list on a number stored without one", 0, labelPatch("new"), phonenumbers.NewPrecondition(false, 4, 0), false},
		{"a change with another version", 5, labelPatch("new"), phonenumbers.NewPrecondition(false, 4), true},
		{"a change with version 0 on a number stored with one", 5, labelPatch("new"), phonenumbers.NewPrecondition(false, 0), true},
		{"a change with a version on a number stored without one", 0, labelPatch("new"), phonenumbers.NewPrecondition(false, 1), true},
		{"a change with an If-Match that can match nothing", 5, labelPatch("new"), phonenumbers.NewPrecondition(false), true},
		{"a no-op without If-Match", 5, labelPatch("support-line"), none, false},
		{"a no-op with the stored version", 5, labelPatch("support-line"), phonenumbers.NewPrecondition(false, 5), false},
		{"a no-op with another version", 5, labelPatch("support-line"), phonenumbers.NewPrecondition(false, 6), true},
		{"an empty patch with the stored version", 5, phonenumbers.Patch{}, phonenumbers.NewPrecondition(false, 5), false},
		{"an empty patch with another version", 5, phonenumbers.Patch{}, phonenumbers.NewPrecondition(false, 6), true},
		{"an empty patch with an If-Match that can match nothing", 0, phonenumbers.Patch{}, phonenumbers.NewPrecondition(false), true},
	}
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		store := dynamostore.New(patient(env), env.Tables)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				n := putNumber(t, env, orgA, func(n *phonenumbers.PhoneNumber) { n.Version = tt.stored })
				before := env.GetPhoneNumberItem(t, n.ID)

				got, err := store.UpdatePhoneNumber(t.Context(), orgA, n.ID, tt.patch, tt.cond, patchedAt)
				after := env.GetPhoneNumberItem(t, n.ID)

				_, changes := tt.patch.Apply(n)
				switch {
				case tt.wantErr:
					var e *phonenumbers.Error
					if !errors.As(err, &e) || e.Kind != phonenumbers.KindPreconditionFailed || e.CurrentVersion != tt.stored {
						t.Fatalf("got %v, want precondition failed with the current version %d", err, tt.stored)
					}
					if render(after) != render(before) {
						t.Errorf("a failed precondition wrote:\n\tbefore %s\n\tafter  %s", render(before), render(after))
					}
				case err != nil:
					t.Fatalf("UpdatePhoneNumber: %v", err)
				case changes:
					if got.Version != tt.stored+1 {
						t.Errorf("returned version %d, want %d", got.Version, tt.stored+1)
					}
					checkReturned(t, got, after)
				default:
					if got.Version != tt.stored || render(after) != render(before) {
						t.Errorf("a no-op wrote or moved the version: returned %d, stored %s, want %d and %s", got.Version, render(after), tt.stored, render(before))
					}
					checkReturned(t, got, after)
				}
			})
		}
	})
}

func labelPatch(label string) phonenumbers.Patch { return phonenumbers.Patch{Label: &label} }

// TestEveryOutcomeCostsOneStorageCall counts the calls the store makes (with the decorator the
// wiring counts them with): a missing number, another organization's, a no-op, a failed If-Match
// and a success each cost one, with or without If-Match, on both engines, so that neither the
// answer nor its timing tells them apart (contract §2). The key lookup is the service's.
func TestEveryOutcomeCostsOneStorageCall(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		store := dynamostore.New(callcount.NewDynamoDB(patient(env)), env.Tables)
		foreign := putNumber(t, env, orgB)
		for _, cond := range []struct {
			name string
			cond phonenumbers.Precondition
		}{
			{"without If-Match", phonenumbers.Precondition{}},
			{"with If-Match *", phonenumbers.NewPrecondition(true)},
			{"with a matching If-Match", phonenumbers.NewPrecondition(false, 0)},
			{"with a failing If-Match", phonenumbers.NewPrecondition(false, 9)},
		} {
			for _, tc := range []struct {
				name  string
				id    func() string
				patch phonenumbers.Patch
			}{
				{"missing, a change", func() string { return phonenumberstest.NewUUID() }, labelPatch("x")},
				{"missing, an empty patch", func() string { return phonenumberstest.NewUUID() }, phonenumbers.Patch{}},
				{"foreign, a change", func() string { return foreign.ID }, labelPatch("x")},
				{"foreign, an equal value", func() string { return foreign.ID }, labelPatch("support-line")},
				{"foreign, an empty patch", func() string { return foreign.ID }, phonenumbers.Patch{}},
				{"own, a change", func() string { return putNumber(t, env, orgA).ID }, labelPatch("x")},
				{"own, an equal value", func() string { return putNumber(t, env, orgA).ID }, labelPatch("support-line")},
				{"own, an empty patch", func() string { return putNumber(t, env, orgA).ID }, phonenumbers.Patch{}},
			} {
				t.Run(cond.name+" "+tc.name, func(t *testing.T) {
					t.Parallel()
					id := tc.id()
					ctx, calls := callcount.WithCounter(t.Context())
					_, err := store.UpdatePhoneNumber(ctx, orgA, id, tc.patch, cond.cond, patchedAt)
					if kind := phonenumbers.KindOf(err); err != nil && kind != phonenumbers.KindNotFound && kind != phonenumbers.KindPreconditionFailed {
						t.Fatalf("UpdatePhoneNumber: %v", err)
					}
					if got := calls.Value(); got != 1 {
						t.Errorf("%d storage calls (outcome %v), want 1", got, err)
					}
				})
			}
		}
	})
}

// proxiedStore returns a store whose client, with the store's retry policy and a patient
// per-attempt timeout, reaches env's engine through a new fault proxy.
func proxiedStore(t *testing.T, env *enginetest.Env) (*dynamostore.Store, *faultproxy.Proxy) {
	t.Helper()
	proxy, err := faultproxy.New(env.Engine.Endpoint)
	if err != nil {
		t.Fatalf("start fault proxy: %v", err)
	}
	t.Cleanup(proxy.Close)
	client, err := engine.NewClient(t.Context(), proxy.URL)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return dynamostore.New(dynamodb.New(client.Options(), func(o *dynamodb.Options) {
		o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(30 * time.Second)
	}), env.Tables), proxy
}

// TestRetriedWriteRecognisesItsOwnChange drops the answer to an UpdateItem the engine applied:
// the SDK retries it, the retry's condition fails on the item the first attempt wrote (its
// version no longer matches the If-Match, its values no longer differ), and the store, finding
// its own write id on that item, answers with it: version 1, written once, never a 412.
func TestRetriedWriteRecognisesItsOwnChange(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		store, proxy := proxiedStore(t, env)

		for _, cond := range []phonenumbers.Precondition{{}, phonenumbers.NewPrecondition(false, 0)} {
			t.Run(fmt.Sprintf("If-Match %+v", cond), func(t *testing.T) {
				n := putNumber(t, env, orgA)
				proxy.SetScript(faultproxy.Sequence("UpdateItem", faultproxy.Fault{Action: faultproxy.DropAfterForward}))

				got, err := store.UpdatePhoneNumber(t.Context(), orgA, n.ID, labelPatch("retried"), cond, patchedAt)
				if err != nil {
					t.Fatalf("UpdatePhoneNumber: %v, want the write's own result", err)
				}
				if forwarded := proxy.Forwarded("UpdateItem"); forwarded != 2 {
					t.Errorf("%d UpdateItem requests reached the engine, want 2: the applied one whose answer was lost, and the retry", forwarded)
				}
				after := env.GetPhoneNumberItem(t, n.ID)
				if got.Version != 1 || *got.Label != "retried" {
					t.Errorf("returned version %d label %q, want version 1 and the new label", got.Version, *got.Label)
				}
				checkReturned(t, got, after)
			})
		}
	})
}

// TestConcurrentWritersHoldingTheSameVersion races 20 writers that all read version 0 and send
// If-Match "0" with a change of their own: exactly one wins, the 19 others get 412 with the
// winner's version, on both engines, 10 times over. moto applies concurrent conditional writes to
// one item without a lock (measured: 13 winners in 10 such races), so local/engine serves it one
// request at a time (local/moto_server.py), as DynamoDB applies an item's writes.
func TestConcurrentWritersHoldingTheSameVersion(t *testing.T) {
	t.Parallel()
	const writers, races = 20, 10
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		store := dynamostore.New(patient(env), env.Tables)
		for race := range races {
			n := putNumber(t, env, orgA)
			release := make(chan struct{})
			errs := make([]error, writers)
			var wg sync.WaitGroup
			for i := range writers {
				wg.Go(func() {
					<-release
					_, errs[i] = store.UpdatePhoneNumber(t.Context(), orgA, n.ID, labelPatch(fmt.Sprintf("writer %d", i)),
						phonenumbers.NewPrecondition(false, 0), patchedAt)
				})
			}
			close(release)
			wg.Wait()

			winners := 0
			for i, err := range errs {
				var e *phonenumbers.Error
				switch {
				case err == nil:
					winners++
				case errors.As(err, &e) && e.Kind == phonenumbers.KindPreconditionFailed && e.CurrentVersion == 1:
				default:
					t.Errorf("race %d, writer %d: %v, want success or precondition failed at version 1", race, i, err)
				}
			}
			if winners != 1 {
				t.Errorf("race %d: %d writers won, want exactly 1", race, winners)
			}
			if got := env.GetPhoneNumberItem(t, n.ID)["version"]; render(map[string]types.AttributeValue{"version": got}) != "{version=N:1}" {
				t.Errorf("race %d: stored version %v, want 1", race, got)
			}
		}
	})
}

// ---- the attach of a campaign (contract §4) ----

// putCampaign stores a campaign of org with the given status and returns its id.
func putCampaign(t *testing.T, env *enginetest.Env, org string, status phonenumbers.CampaignStatus) string {
	t.Helper()
	c := phonenumbers.Campaign{ID: phonenumberstest.NewUUID(), OrgID: org, Status: status}
	env.PutCampaign(t, c)
	return c.ID
}

func TestAttachCampaignOnEveryEngine(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		store := dynamostore.New(callcount.NewDynamoDB(patient(env)), env.Tables)
		active := putCampaign(t, env, orgA, phonenumbers.CampaignActive)
		campaignNotFound := phonenumbers.CampaignNotFound().Error()
		tests := []struct {
			name string
			// campaign returns the campaign to attach.
			campaign func(t *testing.T) string
			// meanwhile changes the stored number after it was read, before the attach.
			meanwhile func(item map[string]types.AttributeValue)
			cond      phonenumbers.Precondition
			label     string // also patched, when set
			// wantErr is how the error's text starts; "" for success.
			wantErr string
			// wantCorrupt is whether the error is about a corrupt record, for the log.
			wantCorrupt bool
			// wantWrite is whether the attach changes the item.
			wantWrite bool
		}{
			{name: "an active campaign of the caller is attached", campaign: func(*testing.T) string { return active }, wantWrite: true},
			{name: "with a label", campaign: func(*testing.T) string { return active }, label: "with a campaign", wantWrite: true},
			{name: "a missing campaign is campaign not found", campaign: func(t *testing.T) string { return phonenumberstest.NewUUID() }, wantErr: campaignNotFound},
			{name: "another organization's campaign is campaign not found", campaign: func(t *testing.T) string {
				return putCampaign(t, env, orgB, phonenumbers.CampaignActive)
			}, wantErr: campaignNotFound},
			{name: "a campaign stored without an organization is campaign not found", campaign: func(t *testing.T) string {
				c := putCampaign(t, env, orgA, phonenumbers.CampaignActive)
				env.PutItem(t, env.Tables.Campaigns, map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: c},
					"status": &types.AttributeValueMemberS{Value: "ACTIVE"}})
				return c
			}, wantErr: campaignNotFound, wantCorrupt: true},
			{name: "an expired campaign is not active", campaign: func(t *testing.T) string {
				return putCampaign(t, env, orgA, phonenumbers.CampaignExpired)
			}, wantErr: "campaign not active: campaign is not active"},
			{name: "a pending campaign is not active", campaign: func(t *testing.T) string {
				return putCampaign(t, env, orgA, phonenumbers.CampaignPending)
			}, wantErr: "campaign not active: campaign is not active"},
			{name: "a number changed meanwhile is written at its new version", campaign: func(*testing.T) string { return active },
				meanwhile: func(item map[string]types.AttributeValue) {
					item["status_url"] = &types.AttributeValueMemberS{Value: "https://meanwhile.example/s"}
					item["version"] = &types.AttributeValueMemberN{Value: "1"}
				}, wantWrite: true},
			{name: "a number changed meanwhile to a version the If-Match does not name is 412", campaign: func(*testing.T) string { return active },
				cond: phonenumbers.NewPrecondition(false, 0),
				meanwhile: func(item map[string]types.AttributeValue) {
					item["version"] = &types.AttributeValueMemberN{Value: "1"}
				}, wantErr: "precondition failed: precondition failed"},
			{name: "a number that meanwhile got the campaign is a no-op", campaign: func(*testing.T) string { return active },
				meanwhile: func(item map[string]types.AttributeValue) {
					item["campaign_id"] = &types.AttributeValueMemberS{Value: active}
					item["version"] = &types.AttributeValueMemberN{Value: "1"}
				}},
			{name: "a number moved meanwhile to another organization is not found", campaign: func(*testing.T) string { return active },
				meanwhile: func(item map[string]types.AttributeValue) {
					item["org_id"] = &types.AttributeValueMemberS{Value: orgB}
				}, wantErr: "not found: not found"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				n := putNumber(t, env, orgA)
				campaignID := tt.campaign(t)
				current, err := store.FindPhoneNumber(t.Context(), n.ID)
				if err != nil {
					t.Fatalf("FindPhoneNumber: %v", err)
				}
				if tt.meanwhile != nil {
					env.EditPhoneNumberItem(t, n.ID, tt.meanwhile)
				}
				before := env.GetPhoneNumberItem(t, n.ID)
				patch := phonenumbers.Patch{CampaignID: &campaignID}
				if tt.label != "" {
					patch.Label = &tt.label
				}

				ctx, calls := callcount.WithCounter(t.Context())
				got, err := store.AttachCampaign(ctx, orgA, current, patch, tt.cond, patchedAt)
				after := env.GetPhoneNumberItem(t, n.ID)

				if tt.wantErr != "" {
					if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
						t.Errorf("got error %v, want %q", err, tt.wantErr)
					}
					if corrupt := errors.Is(err, phonenumbers.ErrCorruptRecord); corrupt != tt.wantCorrupt {
						t.Errorf("got a corrupt-record error %v, want %v: %v", corrupt, tt.wantCorrupt, err)
					}
				} else if err != nil {
					t.Fatalf("AttachCampaign: %v", err)
				}
				if !tt.wantWrite {
					if render(after) != render(before) {
						t.Errorf("stored item changed:\n\tbefore %s\n\tafter  %s", render(before), render(after))
					}
					if err == nil {
						checkReturned(t, got, after)
					}
					return
				}
				want := maps.Clone(before)
				want["campaign_id"] = &types.AttributeValueMemberS{Value: campaignID}
				if tt.label != "" {
					want["label"] = &types.AttributeValueMemberS{Value: tt.label}
				}
				want["updated_at"] = &types.AttributeValueMemberS{Value: patchedAt.Format(time.RFC3339)}
				version := 0 // absent
				if v, ok := before["version"].(*types.AttributeValueMemberN); ok {
					version, _ = strconv.Atoi(v.Value)
				}
				want["version"] = &types.AttributeValueMemberN{Value: strconv.Itoa(version + 1)}
				want["write_id"] = writeIDOf(t, after)
				if g, w := render(after), render(want); g != w {
					t.Errorf("stored item\n\tgot  %s\n\twant %s", g, w)
				}
				checkReturned(t, got, after)
				// One transaction, or two when the number changed after it was read.
				if wantCalls := map[bool]int64{false: 1, true: 2}[tt.meanwhile != nil]; calls.Value() != wantCalls {
					t.Errorf("%d storage calls, want %d", calls.Value(), wantCalls)
				}
			})
		}
	})
}

// TestRetriedAttachRecognisesItsOwnChange drops the answer to a TransactWriteItems the engine
// applied: the SDK's retry (same ClientRequestToken) is answered as the applied transaction by
// DynamoDB and the local dynalite; where the retry runs again instead, its condition fails on the
// item the first attempt wrote, which carries the attach's write id. Either way: 200, version 1.
func TestRetriedAttachRecognisesItsOwnChange(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		store, proxy := proxiedStore(t, env)
		active := putCampaign(t, env, orgA, phonenumbers.CampaignActive)
		n := putNumber(t, env, orgA)
		current, err := store.FindPhoneNumber(t.Context(), n.ID)
		if err != nil {
			t.Fatalf("FindPhoneNumber: %v", err)
		}
		proxy.SetScript(faultproxy.Sequence("TransactWriteItems", faultproxy.Fault{Action: faultproxy.DropAfterForward}))

		got, err := store.AttachCampaign(t.Context(), orgA, current, phonenumbers.Patch{CampaignID: &active}, phonenumbers.NewPrecondition(false, 0), patchedAt)
		if err != nil {
			t.Fatalf("AttachCampaign: %v, want the attach's own result", err)
		}
		if forwarded := proxy.Forwarded("TransactWriteItems"); forwarded != 2 {
			t.Errorf("%d TransactWriteItems requests reached the engine, want 2: the applied one whose answer was lost, and the retry", forwarded)
		}
		after := env.GetPhoneNumberItem(t, n.ID)
		if got.Version != 1 || *got.CampaignID != active {
			t.Errorf("returned version %d campaign %q, want version 1 and the campaign", got.Version, *got.CampaignID)
		}
		checkReturned(t, got, after)
	})
}

// ---- corrupt items (finding 4) ----

// corruptions are items of the caller's own number that break the data model in one attribute
// each, as another writer or a hand edit could leave them.
var corruptions = []struct {
	name string
	edit func(item map[string]types.AttributeValue)
}{
	{"sms_enabled the string true", set("sms_enabled", &types.AttributeValueMemberS{Value: "true"})},
	{"mms_enabled a number", set("mms_enabled", &types.AttributeValueMemberN{Value: "1"})},
	{"mms_enabled the number 0", set("mms_enabled", &types.AttributeValueMemberN{Value: "0"})},
	{"sms_enabled absent", set("sms_enabled", nil)},
	{"version a string", set("version", &types.AttributeValueMemberS{Value: "3"})},
	{"version negative", set("version", &types.AttributeValueMemberN{Value: "-1"})},
	{"version NULL", set("version", &types.AttributeValueMemberNULL{Value: true})},
	{"created_at unparsable", set("created_at", &types.AttributeValueMemberS{Value: "yesterday"})},
	{"created_at a number", set("created_at", &types.AttributeValueMemberN{Value: "1714000000"})},
	{"created_at empty", set("created_at", &types.AttributeValueMemberS{Value: ""})},
	{"updated_at absent", set("updated_at", nil)},
	{"carrier_line_option_propagated_at a boolean", set("carrier_line_option_propagated_at", &types.AttributeValueMemberBOOL{Value: true})},
	{"carrier_line_option_propagated_at unparsable", set("carrier_line_option_propagated_at", &types.AttributeValueMemberS{Value: "soon"})},
	{"label a number", set("label", &types.AttributeValueMemberN{Value: "5"})},
	{"inbound_url a map", set("inbound_url", &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"url": &types.AttributeValueMemberS{Value: "x"}}})},
	{"number a number", set("number", &types.AttributeValueMemberN{Value: "14155550123"})},
	{"number_type unknown", set("number_type", &types.AttributeValueMemberS{Value: "mobile"})},
	{"number_type absent", set("number_type", nil)},
}

// set returns an edit that stores v under name, or removes name when v is nil.
func set(name string, v types.AttributeValue) func(item map[string]types.AttributeValue) {
	return func(item map[string]types.AttributeValue) {
		if v == nil {
			delete(item, name)
			return
		}
		item[name] = v
	}
}

// TestCorruptNumberIsNeverWritten: for every corruption and every kind of write (a change, an
// equal value, an empty patch, an attach whose number was read before it was corrupted), the
// store answers an internal error about a corrupt record and the item is byte for byte as it was:
// the write's condition requires the types the store reads. Another organization's corrupt
// number is not found, as any other.
func TestCorruptNumberIsNeverWritten(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		store := dynamostore.New(patient(env), env.Tables)
		active := putCampaign(t, env, orgA, phonenumbers.CampaignActive)
		for _, c := range corruptions {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				for _, write := range []struct {
					name string
					do   func(n phonenumbers.PhoneNumber) error
				}{
					{"a change", func(n phonenumbers.PhoneNumber) error {
						_, err := store.UpdatePhoneNumber(t.Context(), orgA, n.ID, labelPatch("changed"), phonenumbers.Precondition{}, patchedAt)
						return err
					}},
					{"a change with If-Match", func(n phonenumbers.PhoneNumber) error {
						_, err := store.UpdatePhoneNumber(t.Context(), orgA, n.ID, labelPatch("changed"), phonenumbers.NewPrecondition(false, 0), patchedAt)
						return err
					}},
					{"an equal value", func(n phonenumbers.PhoneNumber) error {
						_, err := store.UpdatePhoneNumber(t.Context(), orgA, n.ID, labelPatch(*n.Label), phonenumbers.Precondition{}, patchedAt)
						return err
					}},
					{"an empty patch", func(n phonenumbers.PhoneNumber) error {
						_, err := store.UpdatePhoneNumber(t.Context(), orgA, n.ID, phonenumbers.Patch{}, phonenumbers.Precondition{}, patchedAt)
						return err
					}},
					{"an attach", func(n phonenumbers.PhoneNumber) error {
						_, err := store.AttachCampaign(t.Context(), orgA, n, phonenumbers.Patch{CampaignID: &active}, phonenumbers.Precondition{}, patchedAt)
						return err
					}},
				} {
					n := putNumber(t, env, orgA)
					read, err := store.FindPhoneNumber(t.Context(), n.ID)
					if err != nil {
						t.Fatalf("FindPhoneNumber: %v", err)
					}
					env.EditPhoneNumberItem(t, n.ID, c.edit)
					before := render(env.GetPhoneNumberItem(t, n.ID))

					err = write.do(read)

					if kind := phonenumbers.KindOf(err); err == nil || kind != phonenumbers.KindInternal || !errors.Is(err, phonenumbers.ErrCorruptRecord) {
						t.Errorf("%s: got %v (%v), want an internal error about a corrupt record", write.name, err, kind)
					}
					if after := render(env.GetPhoneNumberItem(t, n.ID)); after != before {
						t.Errorf("%s wrote to a corrupt item:\n\tbefore %s\n\tafter  %s", write.name, before, after)
					}
				}
				foreign := putNumber(t, env, orgB)
				env.EditPhoneNumberItem(t, foreign.ID, c.edit)
				for _, patch := range []phonenumbers.Patch{labelPatch("hijacked"), {}} {
					if _, err := store.UpdatePhoneNumber(t.Context(), orgA, foreign.ID, patch, phonenumbers.Precondition{}, patchedAt); phonenumbers.KindOf(err) != phonenumbers.KindNotFound {
						t.Errorf("another organization's corrupt number: got %v, want not found", err)
					}
				}
			})
		}
	})
}

// TestNumberWithoutIDOrOrganizationIsNotFound: a number item without an organization (its id is
// its key, so it always has one) belongs to nobody: not found, with a corrupt-record cause for the log, and never written.
func TestNumberWithoutIDOrOrganizationIsNotFound(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		store := dynamostore.New(patient(env), env.Tables)
		for _, edit := range []struct {
			name string
			edit func(item map[string]types.AttributeValue)
		}{
			{"org_id absent", set("org_id", nil)},
			{"org_id empty", set("org_id", &types.AttributeValueMemberS{Value: ""})},
			{"org_id a number", set("org_id", &types.AttributeValueMemberN{Value: "1"})},
		} {
			t.Run(edit.name, func(t *testing.T) {
				n := putNumber(t, env, orgA)
				// The id is the key, so an item always has one; the organization may be missing.
				env.EditPhoneNumberItem(t, n.ID, edit.edit)
				before := render(env.GetPhoneNumberItem(t, n.ID))
				for _, patch := range []phonenumbers.Patch{labelPatch("mine now"), {}} {
					_, err := store.UpdatePhoneNumber(t.Context(), orgA, n.ID, patch, phonenumbers.Precondition{}, patchedAt)
					if phonenumbers.KindOf(err) != phonenumbers.KindNotFound || !errors.Is(err, phonenumbers.ErrCorruptRecord) {
						t.Errorf("got %v, want not found caused by a corrupt record", err)
					}
				}
				if _, err := store.FindPhoneNumber(t.Context(), n.ID); phonenumbers.KindOf(err) != phonenumbers.KindNotFound || !errors.Is(err, phonenumbers.ErrCorruptRecord) {
					t.Errorf("FindPhoneNumber: got %v, want not found caused by a corrupt record", err)
				}
				if after := render(env.GetPhoneNumberItem(t, n.ID)); after != before {
					t.Errorf("an item without an organization was written:\n\tbefore %s\n\tafter  %s", before, after)
				}
			})
		}
	})
}

// TestCorruptionNoConditionCanSeeIsReported: a timestamp that sorts like one but is no date is
// what the write's condition cannot refuse (see conditionStoredTypes): the write is applied, and
// the answer is an internal error that says so, about a corrupt record, never a 200.
func TestCorruptionNoConditionCanSeeIsReported(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		store := dynamostore.New(patient(env), env.Tables)
		n := putNumber(t, env, orgA)
		env.EditPhoneNumberItem(t, n.ID, set("created_at", &types.AttributeValueMemberS{Value: "2026-13-45T99:99:99Z"}))

		_, err := store.UpdatePhoneNumber(t.Context(), orgA, n.ID, labelPatch("changed"), phonenumbers.Precondition{}, patchedAt)

		if err == nil || !errors.Is(err, phonenumbers.ErrCorruptRecord) || !strings.Contains(err.Error(), "update applied") {
			t.Errorf("got %v, want an error that reports the applied write to a corrupt record", err)
		}
	})
}
