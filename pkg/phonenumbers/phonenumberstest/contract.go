package phonenumberstest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

// Seeder puts data into a storage under test, as the function's data would be stored.
type Seeder interface {
	PutAPIKey(key phonenumbers.APIKey, secret string)
	PutCampaign(c phonenumbers.Campaign)
	PutPhoneNumber(n phonenumbers.PhoneNumber)
}

// contractTimeout bounds each call of the contract, generously: the engines may share a loaded
// machine.
const contractTimeout = 30 * time.Second

// StorageContract runs the behaviour every Store must have, against the store and seeder open
// returns; each case uses ids of its own, so open is called once and the cases run in parallel.
// The expectations are written out, not taken from either implementation, so that MemStore and
// dynamostore.Store are each held to the contract rather than to each other.
func StorageContract(t *testing.T, open func(t *testing.T) (Store, Seeder)) {
	t.Helper()
	store, seed := open(t)
	// Times with nanoseconds and a zone: storage keeps them to the second, in UTC.
	paris := time.FixedZone("CEST", 2*60*60)
	created := time.Date(2026, 4, 26, 14, 0, 0, 123456789, paris)
	now := time.Date(2026, 4, 27, 11, 30, 5, 987654321, paris)
	ctx := func(t *testing.T) context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), contractTimeout)
		t.Cleanup(cancel)
		return ctx
	}

	t.Run("FindAPIKey returns the key stored under the hash of its secret", func(t *testing.T) {
		t.Parallel()
		secret := newSecret()
		revoked := created.Add(time.Hour)
		key := phonenumbers.APIKey{ID: NewUUID(), OrgID: NewUUID(), Scopes: []string{"numbers:write", "numbers:read"},
			Prefix: secret[:phonenumbers.KeyPrefixLength], Label: "ops", CreatedAt: created, RevokedAt: &revoked}
		seed.PutAPIKey(key, secret)

		got, err := store.FindAPIKey(ctx(t), phonenumbers.HashSecret(phonenumbers.NewSecret(secret)))
		if err != nil {
			t.Fatalf("got error %v, want the key", err)
		}
		want := key
		want.CreatedAt = time.Date(2026, 4, 26, 12, 0, 0, 0, time.UTC)
		want.RevokedAt = ptr(time.Date(2026, 4, 26, 13, 0, 0, 0, time.UTC))
		// Scopes are a set: their order is the storage's.
		slices.Sort(got.Scopes)
		want.Scopes = []string{"numbers:read", "numbers:write"}
		checkEqual(t, "key", got, want)
	})

	t.Run("FindAPIKey of a key with no scopes and no label", func(t *testing.T) {
		t.Parallel()
		secret := newSecret()
		key := phonenumbers.APIKey{ID: NewUUID(), OrgID: NewUUID(), Prefix: secret[:phonenumbers.KeyPrefixLength], CreatedAt: created.UTC().Truncate(time.Second)}
		seed.PutAPIKey(key, secret)

		got, err := store.FindAPIKey(ctx(t), phonenumbers.HashSecret(phonenumbers.NewSecret(secret)))
		if err != nil {
			t.Fatalf("got error %v, want the key", err)
		}
		if len(got.Scopes) != 0 || got.Label != "" || got.RevokedAt != nil {
			t.Errorf("got scopes %q, label %q, revoked_at %v, want none of them", got.Scopes, got.Label, got.RevokedAt)
		}
	})

	t.Run("FindAPIKey of an unknown hash is not found", func(t *testing.T) {
		t.Parallel()
		_, err := store.FindAPIKey(ctx(t), phonenumbers.HashSecret(phonenumbers.NewSecret(newSecret())))
		checkKind(t, err, phonenumbers.KindNotFound)
	})

	t.Run("FindCampaign returns the campaign whatever its organization", func(t *testing.T) {
		t.Parallel()
		for _, status := range []phonenumbers.CampaignStatus{phonenumbers.CampaignActive, phonenumbers.CampaignPending, phonenumbers.CampaignRejected, phonenumbers.CampaignExpired} {
			c := phonenumbers.Campaign{ID: NewUUID(), OrgID: NewUUID(), Status: status}
			seed.PutCampaign(c)
			got, err := store.FindCampaign(ctx(t), c.ID)
			if err != nil {
				t.Fatalf("%s: got error %v, want the campaign", status, err)
			}
			checkEqual(t, "campaign", got, c)
		}
	})

	t.Run("FindCampaign of an unknown id is not found", func(t *testing.T) {
		t.Parallel()
		_, err := store.FindCampaign(ctx(t), NewUUID())
		checkKind(t, err, phonenumbers.KindNotFound)
	})

	// full is a number with every field set; bare one with no optional field.
	full := func() phonenumbers.PhoneNumber {
		propagated := created.Add(2 * time.Hour)
		return phonenumbers.PhoneNumber{ID: NewUUID(), OrgID: NewUUID(), Number: "+18005550100", NumberType: phonenumbers.NumberTypeTollFree,
			InboundURL: ptr("https://customer.example/v2/inbound"), StatusURL: ptr("https://customer.example/status"),
			Label: ptr("support-line"), CampaignID: ptr(NewUUID()), CarrierLineOptionStatus: ptr("propagated"),
			CarrierLineOptionPropagatedAt: &propagated, SMSEnabled: true, MMSEnabled: true, CreatedAt: created, UpdatedAt: created,
			Version: 7}
	}
	bare := func() phonenumbers.PhoneNumber {
		return phonenumbers.PhoneNumber{ID: NewUUID(), OrgID: NewUUID(), Number: "+14155550123", NumberType: phonenumbers.NumberTypeLocal,
			SMSEnabled: true, CreatedAt: created, UpdatedAt: created}
	}
	// asStored is n as storage returns it: times to the second, in UTC.
	asStored := func(n phonenumbers.PhoneNumber) phonenumbers.PhoneNumber {
		n.CreatedAt, n.UpdatedAt = n.CreatedAt.UTC().Truncate(time.Second), n.UpdatedAt.UTC().Truncate(time.Second)
		if n.CarrierLineOptionPropagatedAt != nil {
			n.CarrierLineOptionPropagatedAt = ptr(n.CarrierLineOptionPropagatedAt.UTC().Truncate(time.Second))
		}
		return n
	}
	storedAt := now.UTC().Truncate(time.Second)
	// written is what a write that changes a stored value does besides the values themselves.
	written := func(n *phonenumbers.PhoneNumber) { n.UpdatedAt = storedAt; n.Version++ }
	noIfMatch := phonenumbers.Precondition{}
	// readBack is what storage holds for n now.
	readBack := func(t *testing.T, n phonenumbers.PhoneNumber) phonenumbers.PhoneNumber {
		t.Helper()
		got, err := store.FindPhoneNumber(ctx(t), n.ID)
		if err != nil {
			t.Fatalf("read back: got error %v, want the number", err)
		}
		return got
	}

	updates := []struct {
		name   string
		number func() phonenumbers.PhoneNumber
		patch  phonenumbers.Patch
		cond   phonenumbers.Precondition
		// edit turns the stored number into the expected result; nil means unchanged.
		edit func(n *phonenumbers.PhoneNumber)
	}{
		{name: "an empty patch returns the number unchanged", number: full},
		{name: "a value is set and updated_at moves", number: bare, patch: phonenumbers.Patch{Label: ptr("new-label")},
			edit: func(n *phonenumbers.PhoneNumber) { n.Label = ptr("new-label"); written(n) }},
		{name: "a value is replaced", number: full, patch: phonenumbers.Patch{InboundURL: ptr("https://customer.example/v3/inbound")},
			edit: func(n *phonenumbers.PhoneNumber) {
				n.InboundURL = ptr("https://customer.example/v3/inbound")
				written(n)
			}},
		{name: "an empty string clears the field", number: full, patch: phonenumbers.Patch{StatusURL: ptr("")},
			edit: func(n *phonenumbers.PhoneNumber) { n.StatusURL = nil; written(n) }},
		{name: "three fields at once, set and cleared", number: full,
			patch: phonenumbers.Patch{InboundURL: ptr(""), StatusURL: ptr("https://customer.example/s2"), Label: ptr("")},
			edit: func(n *phonenumbers.PhoneNumber) {
				n.InboundURL, n.StatusURL, n.Label = nil, ptr("https://customer.example/s2"), nil
				written(n)
			}},
		{name: "values equal to the stored ones change nothing", number: full,
			patch: phonenumbers.Patch{InboundURL: ptr("https://customer.example/v2/inbound"), Label: ptr("support-line")}},
		{name: "clearing fields that are not set changes nothing", number: bare,
			patch: phonenumbers.Patch{InboundURL: ptr(""), StatusURL: ptr(""), Label: ptr("")}},
		{name: "one real change among equal values moves updated_at", number: full,
			patch: phonenumbers.Patch{Label: ptr("support-line"), StatusURL: ptr("")},
			edit:  func(n *phonenumbers.PhoneNumber) { n.StatusURL = nil; written(n) }},
		{name: "an If-Match naming the stored version writes", number: full, patch: phonenumbers.Patch{Label: ptr("matched")},
			cond: phonenumbers.NewPrecondition(false, 3, 7),
			edit: func(n *phonenumbers.PhoneNumber) { n.Label = ptr("matched"); written(n) }},
		{name: "an If-Match of * writes", number: bare, patch: phonenumbers.Patch{Label: ptr("any")},
			cond: phonenumbers.NewPrecondition(true),
			edit: func(n *phonenumbers.PhoneNumber) { n.Label = ptr("any"); written(n) }},
		{name: "a matching If-Match on a no-op changes nothing", number: full, patch: phonenumbers.Patch{Label: ptr("support-line")},
			cond: phonenumbers.NewPrecondition(false, 7)},
	}
	for _, tt := range updates {
		t.Run("UpdatePhoneNumber: "+tt.name, func(t *testing.T) {
			t.Parallel()
			n := tt.number()
			seed.PutPhoneNumber(n)
			want := asStored(n)
			if tt.edit != nil {
				tt.edit(&want)
			}

			got, err := store.UpdatePhoneNumber(ctx(t), n.OrgID, n.ID, tt.patch, tt.cond, now)
			if err != nil {
				t.Fatalf("got error %v, want the number", err)
			}
			checkEqual(t, "returned number", got, want)
			// What is stored afterwards, read through an empty patch, is what was returned.
			again, err := store.UpdatePhoneNumber(ctx(t), n.OrgID, n.ID, phonenumbers.Patch{}, noIfMatch, now.Add(time.Hour))
			if err != nil {
				t.Fatalf("read back: got error %v, want the number", err)
			}
			checkEqual(t, "stored number", again, want)
		})
	}

	t.Run("UpdatePhoneNumber of a missing number is not found", func(t *testing.T) {
		t.Parallel()
		for _, patch := range []phonenumbers.Patch{{}, {Label: ptr("x")}, {Label: ptr("")}} {
			_, err := store.UpdatePhoneNumber(ctx(t), NewUUID(), NewUUID(), patch, noIfMatch, now)
			checkKind(t, err, phonenumbers.KindNotFound)
		}
	})

	t.Run("UpdatePhoneNumber of another organization's number is not found and writes nothing", func(t *testing.T) {
		t.Parallel()
		n := full()
		seed.PutPhoneNumber(n)
		for _, patch := range []phonenumbers.Patch{{}, {Label: ptr("taken-over")}, {InboundURL: ptr("")}, {Label: ptr("support-line")}} {
			// Never 412 for a number of another organization, whatever the If-Match.
			for _, cond := range []phonenumbers.Precondition{noIfMatch, phonenumbers.NewPrecondition(false, 7), phonenumbers.NewPrecondition(false, 8)} {
				_, err := store.UpdatePhoneNumber(ctx(t), NewUUID(), n.ID, patch, cond, now)
				checkKind(t, err, phonenumbers.KindNotFound)
			}
		}
		checkEqual(t, "owner's number", readBack(t, n), asStored(n))
	})

	t.Run("UpdatePhoneNumber with an If-Match that matches nothing is PreconditionFailed and writes nothing", func(t *testing.T) {
		t.Parallel()
		n := full()
		seed.PutPhoneNumber(n)
		for _, tc := range []struct {
			patch phonenumbers.Patch
			cond  phonenumbers.Precondition
		}{
			{phonenumbers.Patch{Label: ptr("lost-update")}, phonenumbers.NewPrecondition(false, 6)},
			{phonenumbers.Patch{Label: ptr("support-line")}, phonenumbers.NewPrecondition(false, 8)}, // a no-op too
			{phonenumbers.Patch{}, phonenumbers.NewPrecondition(false)},                              // only weak or odd tags
		} {
			_, err := store.UpdatePhoneNumber(ctx(t), n.OrgID, n.ID, tc.patch, tc.cond, now)
			checkKind(t, err, phonenumbers.KindPreconditionFailed)
			var e *phonenumbers.Error
			if errors.As(err, &e) && e.CurrentVersion != 7 {
				t.Errorf("got current version %d, want the stored 7", e.CurrentVersion)
			}
		}
		checkEqual(t, "stored number", readBack(t, n), asStored(n))
	})

	t.Run("UpdatePhoneNumber refuses a patch carrying campaign_id and writes nothing", func(t *testing.T) {
		t.Parallel()
		n := full()
		seed.PutPhoneNumber(n)
		if _, err := store.UpdatePhoneNumber(ctx(t), n.OrgID, n.ID, phonenumbers.Patch{CampaignID: ptr(NewUUID())}, noIfMatch, now); err == nil {
			t.Errorf("got no error, want the patch refused: only AttachCampaign checks the campaign")
		}
		checkEqual(t, "stored number", readBack(t, n), asStored(n))
	})

	t.Run("FindPhoneNumber returns the number whatever its organization", func(t *testing.T) {
		t.Parallel()
		n := full()
		seed.PutPhoneNumber(n)
		got, err := store.FindPhoneNumber(ctx(t), n.ID)
		if err != nil {
			t.Fatalf("got error %v, want the number", err)
		}
		checkEqual(t, "number", got, asStored(n))
		_, err = store.FindPhoneNumber(ctx(t), NewUUID())
		checkKind(t, err, phonenumbers.KindNotFound)
	})

	// attach seeds a number of org and a campaign of campaignOrg in status, reads the number as
	// the service does, and attaches the campaign with the label "attached".
	attach := func(t *testing.T, campaignOrg func(n phonenumbers.PhoneNumber) string, status phonenumbers.CampaignStatus, cond phonenumbers.Precondition, meanwhile func(n phonenumbers.PhoneNumber)) (phonenumbers.PhoneNumber, phonenumbers.PhoneNumber, string, error) {
		n := bare()
		seed.PutPhoneNumber(n)
		campaignID := NewUUID()
		if campaignOrg != nil {
			seed.PutCampaign(phonenumbers.Campaign{ID: campaignID, OrgID: campaignOrg(n), Status: status})
		}
		current, err := store.FindPhoneNumber(ctx(t), n.ID)
		if err != nil {
			t.Fatalf("FindPhoneNumber: got error %v, want the number", err)
		}
		if meanwhile != nil {
			meanwhile(n)
		}
		got, err := store.AttachCampaign(ctx(t), n.OrgID, current, phonenumbers.Patch{CampaignID: ptr(campaignID), Label: ptr("attached")}, cond, now)
		return n, got, campaignID, err
	}
	ownOrg := func(n phonenumbers.PhoneNumber) string { return n.OrgID }
	otherOrg := func(phonenumbers.PhoneNumber) string { return NewUUID() }

	t.Run("AttachCampaign attaches an ACTIVE campaign of the organization", func(t *testing.T) {
		t.Parallel()
		n, got, campaignID, err := attach(t, ownOrg, phonenumbers.CampaignActive, noIfMatch, nil)
		if err != nil {
			t.Fatalf("got error %v, want the number", err)
		}
		want := asStored(n)
		want.CampaignID, want.Label = ptr(campaignID), ptr("attached")
		written(&want)
		checkEqual(t, "returned number", got, want)
		checkEqual(t, "stored number", readBack(t, n), want)
	})

	for _, tc := range []struct {
		name   string
		org    func(phonenumbers.PhoneNumber) string
		status phonenumbers.CampaignStatus
		kind   phonenumbers.Kind
	}{
		{"a missing campaign is campaign not found", nil, phonenumbers.CampaignActive, phonenumbers.KindValidationFailed},
		{"another organization's ACTIVE campaign is campaign not found", otherOrg, phonenumbers.CampaignActive, phonenumbers.KindValidationFailed},
		{"another organization's PENDING campaign is campaign not found", otherOrg, phonenumbers.CampaignPending, phonenumbers.KindValidationFailed},
		{"a PENDING campaign is not active", ownOrg, phonenumbers.CampaignPending, phonenumbers.KindCampaignNotActive},
		{"an EXPIRED campaign is not active", ownOrg, phonenumbers.CampaignExpired, phonenumbers.KindCampaignNotActive},
	} {
		t.Run("AttachCampaign: "+tc.name+" and writes nothing", func(t *testing.T) {
			t.Parallel()
			n, _, _, err := attach(t, tc.org, tc.status, noIfMatch, nil)
			checkKind(t, err, tc.kind)
			if tc.kind == phonenumbers.KindValidationFailed {
				var e *phonenumbers.Error
				if errors.As(err, &e) && e.Details["campaign_id"] != "campaign not found" {
					t.Errorf("got details %v, want campaign_id: campaign not found", e.Details)
				}
			}
			checkEqual(t, "stored number", readBack(t, n), asStored(n))
		})
	}

	t.Run("AttachCampaign writes over a change made since the number was read", func(t *testing.T) {
		t.Parallel()
		n, got, campaignID, err := attach(t, ownOrg, phonenumbers.CampaignActive, noIfMatch, func(n phonenumbers.PhoneNumber) {
			if _, err := store.UpdatePhoneNumber(ctx(t), n.OrgID, n.ID, phonenumbers.Patch{InboundURL: ptr("https://customer.example/meanwhile")}, noIfMatch, now); err != nil {
				t.Fatalf("the other writer: got error %v", err)
			}
		})
		if err != nil {
			t.Fatalf("got error %v, want the number", err)
		}
		want := asStored(n)
		want.InboundURL, want.CampaignID, want.Label = ptr("https://customer.example/meanwhile"), ptr(campaignID), ptr("attached")
		want.UpdatedAt, want.Version = storedAt, n.Version+2
		checkEqual(t, "returned number", got, want)
		checkEqual(t, "stored number", readBack(t, n), want)
	})

	t.Run("AttachCampaign with the If-Match of the version read is PreconditionFailed after a change", func(t *testing.T) {
		t.Parallel()
		n, _, _, err := attach(t, ownOrg, phonenumbers.CampaignActive, phonenumbers.NewPrecondition(false, 0), func(n phonenumbers.PhoneNumber) {
			if _, err := store.UpdatePhoneNumber(ctx(t), n.OrgID, n.ID, phonenumbers.Patch{Label: ptr("meanwhile")}, noIfMatch, now); err != nil {
				t.Fatalf("the other writer: got error %v", err)
			}
		})
		checkKind(t, err, phonenumbers.KindPreconditionFailed)
		want := asStored(n)
		want.Label = ptr("meanwhile")
		written(&want)
		checkEqual(t, "stored number", readBack(t, n), want)
	})
}

func checkEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %s\n\t%s\nwant\n\t%s", what, describe(got), describe(want))
	}
}

func checkKind(t *testing.T, err error, want phonenumbers.Kind) {
	t.Helper()
	if got := phonenumbers.KindOf(err); err == nil || got != want {
		t.Errorf("got error %v (kind %v), want kind %v", err, got, want)
	}
}

// describe prints v with the values behind its pointers, so that a difference shows.
func describe(v any) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Struct {
		return fmt.Sprintf("%+v", v)
	}
	s := "{"
	for i := range rv.NumField() {
		f := rv.Field(i)
		if f.Kind() == reflect.Pointer && !f.IsNil() {
			f = f.Elem()
		}
		s += fmt.Sprintf(" %s:%v", rv.Type().Field(i).Name, f)
	}
	return s + " }"
}

func ptr[T any](v T) *T { return &v }

// NewUUID returns a random version-4 UUID in lower case, so that each test case, benchmark or
// measurement has ids of its own.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newSecret returns a random secret of the live shape.
func newSecret() string {
	return phonenumbers.SecretPrefix + rand.Text() + rand.Text()[:6]
}
