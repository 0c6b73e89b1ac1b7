package dynamostore_test

// The store against the local engines: every kind of expression the store sends, run on dynalite
// and on moto, with what each must do to the item.

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sms-platform/phone-numbers/local/enginetest"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
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
			value = "78614b6c-fe7c-41e2-8e25-c9b3a3c91904"
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
			{phonenumbers.FieldCampaignID, "78614b6c-fe7c-41e2-8e25-c9b3a3c91904"},
		}, []stored{equal, absent, equal, other}, true},
		expressionCase{"all four, none differs", []fieldPatch{
			{phonenumbers.FieldInboundURL, "https://in.example/i"}, clearStatus, label,
			{phonenumbers.FieldCampaignID, "78614b6c-fe7c-41e2-8e25-c9b3a3c91904"},
		}, []stored{equal, null, equal, equal}, false},
	)
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

				got, err := store.UpdatePhoneNumber(t.Context(), orgA, n.ID, patchOf(tc.patches), phonenumbers.Precondition{}, patchedAt)
				if err != nil {
					t.Fatalf("UpdatePhoneNumber: %v", err)
				}
				after := env.GetPhoneNumberItem(t, n.ID)

				want := before
				if tc.wantWrite {
					want = map[string]types.AttributeValue{}
					for k, v := range before {
						want[k] = v
					}
					for _, fp := range tc.patches {
						if fp.value == "" {
							delete(want, string(fp.field))
						} else {
							want[string(fp.field)] = &types.AttributeValueMemberS{Value: fp.value}
						}
					}
					want["updated_at"] = &types.AttributeValueMemberS{Value: patchedAt.Format(time.RFC3339)}
				}
				if g, w := render(after), render(want); g != w {
					t.Errorf("stored item\n\tgot  %s\n\twant %s", g, w)
				}
				if g, w := render(dynamostore.NewPhoneNumberItem(got)), render(withoutNULL(after)); g != w {
					t.Errorf("returned number\n\tgot  %s\n\twant the stored one %s", g, w)
				}
			})
		}
	})
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

// putNumber stores a number of org with every field set.
func putNumber(t *testing.T, env *enginetest.Env, org string) phonenumbers.PhoneNumber {
	t.Helper()
	propagatedAt := seededAt.Add(-time.Hour)
	n := phonenumbers.PhoneNumber{
		ID:                            newUUID(t),
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
		default:
			fmt.Fprintf(&b, "%T%v", v, v)
		}
	}
	return "{" + strings.TrimPrefix(b.String(), " ") + "}"
}

func newUUID(t *testing.T) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
