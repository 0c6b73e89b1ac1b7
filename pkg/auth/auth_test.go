package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sms-platform/phone-numbers/pkg/auth"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

const (
	// secret has a 32-character random part; its hash was computed outside Go with
	// printf '%s' "$secret" | sha256sum.
	secret     = "am_live_0123456789abcdefghijABCDEFGHIJ01"
	secretHash = "b3251c64a41cc6e3acc79e47a51b1cde47817dee639129d486d5914cf5117d45"
	// prefixHash is the hash of SecretPrefix alone, which a secret's hash must never equal.
	prefixHash = "2c8c864fb98f64813f03de22045ca8f2a4cb12a4c99b459dd8cfd6059734bbf7"
)

func TestHashSecret(t *testing.T) {
	t.Parallel()
	long := "am_live_" + strings.Repeat("Zz9", 21) + "Q"
	sum := sha256.Sum256([]byte(long))
	tests := []struct {
		name   string
		secret string
		want   string
	}{
		{name: "matches the sha256sum vector", secret: secret, want: secretHash},
		{name: "matches crypto/sha256 for a 64-character random part", secret: long, want: hex.EncodeToString(sum[:])},
		{name: "hashes the empty secret like sha256 of nothing", secret: "", want: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := auth.HashSecret(phonenumbers.NewSecret(tt.secret))
			if got != tt.want {
				t.Errorf("got hash %q, want %q", got, tt.want)
			}
			if got != strings.ToLower(got) || len(got) != 64 {
				t.Errorf("got hash %q, want 64 lower-case hex digits", got)
			}
		})
	}
}

func TestHashSecretCoversTheWholeSecret(t *testing.T) {
	t.Parallel()
	lastCharChanged := secret[:len(secret)-1] + "2"
	firstRandomChanged := "am_live_1" + secret[len("am_live_0"):]
	tests := []struct {
		name  string
		other string
	}{
		{name: "last character changed", other: lastCharChanged},
		{name: "first random character changed", other: firstRandomChanged},
		{name: "prefix only", other: "am_live_"},
		{name: "first twelve characters only", other: secret[:phonenumbers.KeyPrefixLength]},
	}
	base := auth.HashSecret(phonenumbers.NewSecret(secret))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := auth.HashSecret(phonenumbers.NewSecret(tt.other)); got == base {
				t.Errorf("got the same hash %q for %q and %q, want different hashes", got, tt.other, secret)
			}
		})
	}
	if base == prefixHash {
		t.Errorf("got hash of the prefix alone %q, want the hash of the whole secret", base)
	}
}

// fakeKeyFinder serves keys by hash from a map, or fails every lookup with err.
type fakeKeyFinder struct {
	err error

	mu     sync.Mutex
	keys   map[string]phonenumbers.APIKey
	hashes []string
}

func (f *fakeKeyFinder) FindAPIKey(_ context.Context, hash string) (phonenumbers.APIKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hashes = append(f.hashes, hash)
	if f.err != nil {
		return phonenumbers.APIKey{}, f.err
	}
	key, ok := f.keys[hash]
	if !ok {
		return phonenumbers.APIKey{}, phonenumbers.ErrNotFound()
	}
	return key, nil
}

func (f *fakeKeyFinder) set(hash string, key phonenumbers.APIKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[hash] = key
}

func activeKey() phonenumbers.APIKey {
	return phonenumbers.APIKey{
		ID:        "5c0ffee0-0000-4000-8000-000000000001",
		OrgID:     "0b1c2d3e-4f50-4617-8a9b-acbdcedf0011",
		Scopes:    []string{"numbers:read", phonenumbers.ScopeNumbersWrite},
		Prefix:    secret[:phonenumbers.KeyPrefixLength],
		Label:     "ops",
		CreatedAt: time.Date(2026, 4, 26, 12, 0, 0, 0, time.UTC),
	}
}

func revokedKey(at time.Time) phonenumbers.APIKey {
	k := activeKey()
	k.RevokedAt = &at
	return k
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	cause := errors.New("dynamodb: throttled")
	tests := []struct {
		name     string
		stored   map[string]phonenumbers.APIKey
		findErr  error
		want     phonenumbers.Principal
		wantKind phonenumbers.Kind // checked only when wantErr
		wantErr  bool
	}{
		{name: "active key maps to its principal",
			stored: map[string]phonenumbers.APIKey{secretHash: activeKey()},
			want: phonenumbers.Principal{
				KeyID:  "5c0ffee0-0000-4000-8000-000000000001",
				OrgID:  "0b1c2d3e-4f50-4617-8a9b-acbdcedf0011",
				Scopes: []string{"numbers:read", phonenumbers.ScopeNumbersWrite},
			}},
		{name: "key without scopes authenticates with none",
			stored: map[string]phonenumbers.APIKey{secretHash: func() phonenumbers.APIKey { k := activeKey(); k.Scopes = nil; return k }()},
			want:   phonenumbers.Principal{KeyID: "5c0ffee0-0000-4000-8000-000000000001", OrgID: "0b1c2d3e-4f50-4617-8a9b-acbdcedf0011"}},
		{name: "unknown key is unauthenticated",
			stored:  map[string]phonenumbers.APIKey{prefixHash: activeKey()},
			wantErr: true, wantKind: phonenumbers.KindUnauthenticated},
		{name: "revoked key is unauthenticated",
			stored:  map[string]phonenumbers.APIKey{secretHash: revokedKey(time.Date(2026, 4, 26, 13, 0, 0, 0, time.UTC))},
			wantErr: true, wantKind: phonenumbers.KindUnauthenticated},
		{name: "key revoked with a future timestamp is unauthenticated",
			stored:  map[string]phonenumbers.APIKey{secretHash: revokedKey(time.Now().Add(24 * time.Hour))},
			wantErr: true, wantKind: phonenumbers.KindUnauthenticated},
		{name: "unavailable storage stays unavailable, not unauthenticated",
			findErr: phonenumbers.ErrUnavailable(cause),
			wantErr: true, wantKind: phonenumbers.KindUnavailable},
		{name: "unexpected storage error is internal, not unauthenticated",
			findErr: cause,
			wantErr: true, wantKind: phonenumbers.KindInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			finder := &fakeKeyFinder{keys: tt.stored, err: tt.findErr}
			got, err := auth.NewAuthenticator(finder).Authenticate(context.Background(), phonenumbers.NewSecret(secret))

			if wantHashes := []string{secretHash}; !reflect.DeepEqual(finder.hashes, wantHashes) {
				t.Errorf("got lookups by %q, want exactly one by the secret's hash %q", finder.hashes, wantHashes)
			}
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got principal %+v, want %+v", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got principal %+v and no error, want kind %v", got, tt.wantKind)
			}
			if gotKind := phonenumbers.KindOf(err); gotKind != tt.wantKind {
				t.Errorf("got kind %v, want %v (error: %v)", gotKind, tt.wantKind, err)
			}
			if !reflect.DeepEqual(got, phonenumbers.Principal{}) {
				t.Errorf("got principal %+v alongside an error, want the zero principal", got)
			}
			if tt.findErr != nil && !errors.Is(err, cause) {
				t.Errorf("got error %v, want it to wrap the storage cause", err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("got error %q containing the secret", err.Error())
			}
		})
	}
}

// TestUnknownAndRevokedKeysFailIdentically shows that nothing in the error tells an unknown key
// from a revoked one.
func TestUnknownAndRevokedKeysFailIdentically(t *testing.T) {
	t.Parallel()
	authenticate := func(keys map[string]phonenumbers.APIKey) error {
		_, err := auth.NewAuthenticator(&fakeKeyFinder{keys: keys}).Authenticate(context.Background(), phonenumbers.NewSecret(secret))
		return err
	}
	unknown := authenticate(map[string]phonenumbers.APIKey{})
	revoked := authenticate(map[string]phonenumbers.APIKey{secretHash: revokedKey(time.Date(2026, 4, 26, 13, 0, 0, 0, time.UTC))})

	if unknown == nil || revoked == nil {
		t.Fatalf("got errors %v and %v, want both to fail", unknown, revoked)
	}
	if !reflect.DeepEqual(unknown, revoked) {
		t.Errorf("got unknown-key error %#v, revoked-key error %#v, want them identical", unknown, revoked)
	}
	if unknown.Error() != revoked.Error() {
		t.Errorf("got messages %q and %q, want them identical", unknown.Error(), revoked.Error())
	}
	if want := phonenumbers.ErrUnauthenticated(); !reflect.DeepEqual(unknown, want) {
		t.Errorf("got %#v, want %#v", unknown, want)
	}
}

// TestRevocationTakesEffectOnTheNextRequest shows that nothing is cached between calls.
func TestRevocationTakesEffectOnTheNextRequest(t *testing.T) {
	t.Parallel()
	finder := &fakeKeyFinder{keys: map[string]phonenumbers.APIKey{secretHash: activeKey()}}
	authenticator := auth.NewAuthenticator(finder)
	s := phonenumbers.NewSecret(secret)

	steps := []struct {
		name    string
		stored  phonenumbers.APIKey
		wantErr bool
	}{
		{name: "active key authenticates", stored: activeKey()},
		{name: "revoked key is refused on the very next call", stored: revokedKey(time.Date(2026, 4, 26, 13, 0, 0, 0, time.UTC)), wantErr: true},
	}
	for _, step := range steps {
		finder.set(secretHash, step.stored)
		_, err := authenticator.Authenticate(context.Background(), s)
		if gotErr := err != nil; gotErr != step.wantErr {
			t.Errorf("%s: got error %v, want error=%v", step.name, err, step.wantErr)
		}
	}
	if got := len(finder.hashes); got != len(steps) {
		t.Errorf("got %d storage reads for %d calls, want one per call", got, len(steps))
	}
}
