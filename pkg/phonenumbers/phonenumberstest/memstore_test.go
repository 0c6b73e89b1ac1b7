package phonenumberstest_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers/phonenumberstest"
)

// TestMemStoreKeepsTheStorageContract runs the cases dynamostore's contract test runs against
// dynalite and moto.
func TestMemStoreKeepsTheStorageContract(t *testing.T) {
	t.Parallel()
	phonenumberstest.StorageContract(t, func(*testing.T) (phonenumberstest.Store, phonenumberstest.Seeder) {
		m := phonenumberstest.NewMemStore()
		return m, m
	})
}

func TestMemStoreRecordsCallsAndRunsHooks(t *testing.T) {
	t.Parallel()
	m := phonenumberstest.NewMemStore()
	failure := errors.New("throttled")
	m.BeforeFindCampaign = func(_ context.Context, id string) error {
		if id == "fail" {
			return failure
		}
		return nil
	}
	m.PutCampaign(phonenumbers.Campaign{ID: "c1", OrgID: "o1", Status: phonenumbers.CampaignActive})
	ctx := context.Background()

	if _, err := m.FindCampaign(ctx, "fail"); !errors.Is(err, failure) {
		t.Errorf("got error %v from a failing hook, want %v", err, failure)
	}
	if c, err := m.FindCampaign(ctx, "c1"); err != nil || c.OrgID != "o1" {
		t.Errorf("got %+v, %v, want campaign c1", c, err)
	}
	_, _ = m.FindAPIKey(ctx, "h1")
	now := time.Date(2026, 4, 27, 9, 30, 0, 0, time.UTC)
	_, _ = m.UpdatePhoneNumber(ctx, "o1", "n1", phonenumbers.Patch{}, phonenumbers.Precondition{}, now)

	want := phonenumberstest.Calls{
		APIKeyHashes: []string{"h1"},
		CampaignIDs:  []string{"fail", "c1"},
		Updates:      []phonenumberstest.Update{{OrgID: "o1", ID: "n1", Now: now}},
	}
	if got := m.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("got calls %+v, want %+v", got, want)
	}
}

func TestMemStoreReturnsCopies(t *testing.T) {
	t.Parallel()
	m := phonenumberstest.NewMemStore()
	label := "original"
	m.PutPhoneNumber(phonenumbers.PhoneNumber{ID: "n1", OrgID: "o1", Label: &label})
	label = "changed by the caller"
	got, err := m.UpdatePhoneNumber(context.Background(), "o1", "n1", phonenumbers.Patch{}, phonenumbers.Precondition{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	*got.Label = "changed through the result"
	if stored := *m.PhoneNumbers()["n1"].Label; stored != "original" {
		t.Errorf("got stored label %q, want %q", stored, "original")
	}
}
