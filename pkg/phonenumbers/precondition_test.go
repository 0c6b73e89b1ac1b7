package phonenumbers_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

func TestPreconditionMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		cond        phonenumbers.Precondition
		wantPresent bool
		// matches and misses are versions the precondition must and must not match.
		matches, misses []int64
	}{
		{name: "no If-Match matches every version", cond: phonenumbers.Precondition{},
			wantPresent: false, matches: []int64{0, 1, 7, 1 << 62}},
		{name: "star matches every version", cond: phonenumbers.NewPrecondition(true),
			wantPresent: true, matches: []int64{0, 1, 7, 1 << 62}},
		{name: "star as a literal is present", cond: phonenumbers.Precondition{Any: true},
			wantPresent: true, matches: []int64{0, 7}},
		{name: "one version matches only itself", cond: phonenumbers.NewPrecondition(false, 7),
			wantPresent: true, matches: []int64{7}, misses: []int64{0, 6, 8, 70}},
		{name: "version zero matches a number stored without one", cond: phonenumbers.NewPrecondition(false, 0),
			wantPresent: true, matches: []int64{0}, misses: []int64{1}},
		{name: "a list matches each version it names", cond: phonenumbers.NewPrecondition(false, 7, 8),
			wantPresent: true, matches: []int64{7, 8}, misses: []int64{0, 6, 9}},
		{name: "versions as a literal are present", cond: phonenumbers.Precondition{Versions: []int64{3}},
			wantPresent: true, matches: []int64{3}, misses: []int64{0, 4}},
		{name: "a list of unmatchable tags is present and matches nothing", cond: phonenumbers.NewPrecondition(false),
			wantPresent: true, misses: []int64{0, 1, 7, 1 << 62}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.cond.Present(); got != tt.wantPresent {
				t.Errorf("Present() = %v, want %v", got, tt.wantPresent)
			}
			for _, v := range tt.matches {
				if !tt.cond.Matches(v) {
					t.Errorf("Matches(%d) = false, want true", v)
				}
			}
			for _, v := range tt.misses {
				if tt.cond.Matches(v) {
					t.Errorf("Matches(%d) = true, want false", v)
				}
			}
		})
	}
}

func TestPreconditionFailedCarriesTheCurrentVersion(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("update phone number x: %w", phonenumbers.PreconditionFailed(12))
	if got := phonenumbers.KindOf(err); got != phonenumbers.KindPreconditionFailed {
		t.Fatalf("KindOf = %v, want %v", got, phonenumbers.KindPreconditionFailed)
	}
	var e *phonenumbers.Error
	if !errors.As(err, &e) {
		t.Fatal("errors.As found no *Error")
	}
	if e.CurrentVersion != 12 || e.Message != "precondition failed" || e.Details != nil {
		t.Errorf("got version %d, message %q, details %v; want 12, %q, none", e.CurrentVersion, e.Message, e.Details, "precondition failed")
	}
	if got := phonenumbers.KindPreconditionFailed.String(); got != "precondition failed" {
		t.Errorf("kind name = %q, want %q", got, "precondition failed")
	}
}
