package phonenumbers_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers/phonenumberstest"
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
			got := phonenumbers.HashSecret(phonenumbers.NewSecret(tt.secret))
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
	base := phonenumbers.HashSecret(phonenumbers.NewSecret(secret))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := phonenumbers.HashSecret(phonenumbers.NewSecret(tt.other)); got == base {
				t.Errorf("got the same hash %q for %q and %q, want different hashes", got, tt.other, secret)
			}
		})
	}
	if base == prefixHash {
		t.Errorf("got hash of the prefix alone %q, want the hash of the whole secret", base)
	}
}

// keyStore holds each key under the hash of its secret (the map's key), and fails every lookup
// with err when that is set.
func keyStore(bySecret map[string]phonenumbers.APIKey, err error) *phonenumberstest.MemStore {
	m := phonenumberstest.NewMemStore()
	for secret, key := range bySecret {
		m.PutAPIKey(key, secret)
	}
	if err != nil {
		m.BeforeFindAPIKey = func(context.Context, string) error { return err }
	}
	return m
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
		stored   map[string]phonenumbers.APIKey // by secret
		findErr  error
		want     phonenumbers.Principal
		wantKind phonenumbers.Kind // checked only when wantErr
		wantErr  bool
	}{
		{name: "active key maps to its principal",
			stored: map[string]phonenumbers.APIKey{secret: activeKey()},
			want: phonenumbers.Principal{
				KeyID:  "5c0ffee0-0000-4000-8000-000000000001",
				OrgID:  "0b1c2d3e-4f50-4617-8a9b-acbdcedf0011",
				Scopes: []string{"numbers:read", phonenumbers.ScopeNumbersWrite},
			}},
		{name: "key without scopes authenticates with none",
			stored: map[string]phonenumbers.APIKey{secret: func() phonenumbers.APIKey { k := activeKey(); k.Scopes = nil; return k }()},
			want:   phonenumbers.Principal{KeyID: "5c0ffee0-0000-4000-8000-000000000001", OrgID: "0b1c2d3e-4f50-4617-8a9b-acbdcedf0011"}},
		{name: "unknown key is unauthenticated",
			stored:  map[string]phonenumbers.APIKey{phonenumbers.SecretPrefix: activeKey()}, // under prefixHash
			wantErr: true, wantKind: phonenumbers.KindUnauthenticated},
		{name: "revoked key is unauthenticated",
			stored:  map[string]phonenumbers.APIKey{secret: revokedKey(time.Date(2026, 4, 26, 13, 0, 0, 0, time.UTC))},
			wantErr: true, wantKind: phonenumbers.KindUnauthenticated},
		{name: "key revoked with a future timestamp is unauthenticated",
			stored:  map[string]phonenumbers.APIKey{secret: revokedKey(time.Now().Add(24 * time.Hour))},
			wantErr: true, wantKind: phonenumbers.KindUnauthenticated},
		{name: "unavailable storage stays unavailable, not unauthenticated",
			findErr: phonenumbers.UnavailableError(cause),
			wantErr: true, wantKind: phonenumbers.KindUnavailable},
		{name: "unexpected storage error is internal, not unauthenticated",
			findErr: cause,
			wantErr: true, wantKind: phonenumbers.KindInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			finder := keyStore(tt.stored, tt.findErr)
			got, err := phonenumbers.Authenticate(context.Background(), finder, phonenumbers.NewSecret(secret))

			if hashes, wantHashes := finder.Calls().APIKeyHashes, []string{secretHash}; !reflect.DeepEqual(hashes, wantHashes) {
				t.Errorf("got lookups by %q, want exactly one by the secret's hash %q", hashes, wantHashes)
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
		_, err := phonenumbers.Authenticate(context.Background(), keyStore(keys, nil), phonenumbers.NewSecret(secret))
		return err
	}
	unknown := authenticate(map[string]phonenumbers.APIKey{})
	revoked := authenticate(map[string]phonenumbers.APIKey{secret: revokedKey(time.Date(2026, 4, 26, 13, 0, 0, 0, time.UTC))})

	if unknown == nil || revoked == nil {
		t.Fatalf("got errors %v and %v, want both to fail", unknown, revoked)
	}
	if !reflect.DeepEqual(unknown, revoked) {
		t.Errorf("got unknown-key error %#v, revoked-key error %#v, want them identical", unknown, revoked)
	}
	if unknown.Error() != revoked.Error() {
		t.Errorf("got messages %q and %q, want them identical", unknown.Error(), revoked.Error())
	}
	if want := phonenumbers.UnauthenticatedError(); !reflect.DeepEqual(unknown, want) {
		t.Errorf("got %#v, want %#v", unknown, want)
	}
}

// TestKeyRecordsWithoutOrganizationOrIDAuthenticateNothing: a key record with an empty id or
// organization is corrupt. It fails as every other key failure does to the client (the same
// kind, message and details), while the cause names the record by its id and organization for
// the log, never by the secret or its hash.
func TestKeyRecordsWithoutOrganizationOrIDAuthenticateNothing(t *testing.T) {
	t.Parallel()
	unknownErr := phonenumbers.UnauthenticatedError()
	tests := []struct {
		name    string
		edit    func(k *phonenumbers.APIKey)
		corrupt bool
	}{
		{name: "empty organization", edit: func(k *phonenumbers.APIKey) { k.OrgID = "" }, corrupt: true},
		{name: "empty id", edit: func(k *phonenumbers.APIKey) { k.ID = "" }, corrupt: true},
		{name: "empty id and organization", edit: func(k *phonenumbers.APIKey) { k.ID, k.OrgID = "", "" }, corrupt: true},
		{name: "empty id and organization, revoked", edit: func(k *phonenumbers.APIKey) {
			revokedAt := time.Date(2026, 4, 26, 13, 0, 0, 0, time.UTC)
			k.ID, k.OrgID, k.RevokedAt = "", "", &revokedAt
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key := activeKey()
			tt.edit(&key)
			got, err := phonenumbers.Authenticate(context.Background(), keyStore(map[string]phonenumbers.APIKey{secret: key}, nil), phonenumbers.NewSecret(secret))
			if err == nil {
				t.Fatalf("got principal %+v, want the key refused", got)
			}
			var e *phonenumbers.Error
			if !errors.As(err, &e) || e.Kind != unknownErr.Kind || e.Message != unknownErr.Message || e.Details != nil {
				t.Errorf("got %#v, want the client-facing face of %#v", err, unknownErr)
			}
			if !reflect.DeepEqual(got, phonenumbers.Principal{}) {
				t.Errorf("got principal %+v, want the zero principal", got)
			}
			if errors.Is(err, phonenumbers.ErrCorruptRecord) != tt.corrupt {
				t.Errorf("got error %v, want errors.Is(ErrCorruptRecord) %v", err, tt.corrupt)
			}
			for _, forbidden := range []string{secret, secretHash, secret[len(phonenumbers.SecretPrefix):]} {
				if strings.Contains(err.Error(), forbidden) || strings.Contains(fmt.Sprintf("%+v", err), forbidden) {
					t.Errorf("got error %q holding the secret or its hash", err)
				}
			}
			if tt.corrupt && key.ID != "" && !strings.Contains(err.Error(), key.ID) {
				t.Errorf("got error %q, want it to name the record by its id %s", err, key.ID)
			}
		})
	}
}

// TestRevocationTakesEffectOnTheNextRequest shows that nothing is cached between calls.
func TestRevocationTakesEffectOnTheNextRequest(t *testing.T) {
	t.Parallel()
	finder := keyStore(map[string]phonenumbers.APIKey{secret: activeKey()}, nil)
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
		finder.PutAPIKey(step.stored, secret)
		_, err := phonenumbers.Authenticate(context.Background(), finder, s)
		if gotErr := err != nil; gotErr != step.wantErr {
			t.Errorf("%s: got error %v, want error=%v", step.name, err, step.wantErr)
		}
	}
	if got := len(finder.Calls().APIKeyHashes); got != len(steps) {
		t.Errorf("got %d storage reads for %d calls, want one per call", got, len(steps))
	}
}

// random returns n characters of the secret alphabet [A-Za-z0-9].
func random(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var b strings.Builder
	for i := range n {
		b.WriteByte(alphabet[(i*7+3)%len(alphabet)])
	}
	return b.String()
}

func TestParseBearer(t *testing.T) {
	t.Parallel()
	secret32 := "am_live_" + random(32)
	secret64 := "am_live_" + random(64)
	tests := []struct {
		name       string
		header     string
		wantSecret string // "" means the header must be refused
	}{
		// Well-formed headers.
		{name: "accepts Bearer with one space", header: "Bearer " + secret32, wantSecret: secret32},
		{name: "accepts lower-case scheme", header: "bearer " + secret32, wantSecret: secret32},
		{name: "accepts upper-case scheme", header: "BEARER " + secret32, wantSecret: secret32},
		{name: "accepts mixed-case scheme", header: "bEaReR " + secret32, wantSecret: secret32},
		{name: "accepts several spaces after the scheme", header: "Bearer    " + secret32, wantSecret: secret32},
		{name: "accepts 32-character random part", header: "Bearer " + secret32, wantSecret: secret32},
		{name: "accepts 64-character random part", header: "Bearer " + secret64, wantSecret: secret64},
		{name: "accepts all-digit random part", header: "Bearer am_live_" + strings.Repeat("7", 40), wantSecret: "am_live_" + strings.Repeat("7", 40)},

		// Scheme and separator.
		{name: "refuses empty header", header: ""},
		{name: "refuses secret without scheme", header: secret32},
		{name: "refuses scheme without secret", header: "Bearer"},
		{name: "refuses scheme and space without secret", header: "Bearer "},
		{name: "refuses scheme and spaces without secret", header: "Bearer    "},
		{name: "refuses tab as separator", header: "Bearer\t" + secret32},
		{name: "refuses space then tab as separator", header: "Bearer \t" + secret32},
		{name: "refuses no separator", header: "Bearer" + secret32},
		{name: "refuses colon separator", header: "Bearer:" + secret32},
		{name: "refuses Basic scheme with a secret", header: "Basic " + secret32},
		{name: "refuses Basic credentials", header: "Basic YW1fbGl2ZV86cGFzc3dvcmQ="},
		{name: "refuses Token scheme", header: "Token " + secret32},
		{name: "refuses scheme prefix lookalike", header: "Bearerx " + secret32},
		{name: "refuses non-breaking space as separator", header: "Bearer\u00a0" + secret32},

		// Secret shape.
		{name: "refuses 31-character random part", header: "Bearer am_live_" + random(31)},
		{name: "refuses 65-character random part", header: "Bearer am_live_" + random(65)},
		{name: "refuses prefix alone", header: "Bearer am_live_"},
		{name: "refuses test prefix", header: "Bearer am_test_" + random(32)},
		{name: "refuses upper-case prefix", header: "Bearer AM_LIVE_" + random(32)},
		{name: "refuses prefix without underscore", header: "Bearer am_live" + random(33)},
		{name: "refuses foreign prefix", header: "Bearer sk_live_" + random(32)},
		{name: "refuses hyphen in random part", header: "Bearer am_live_" + random(31) + "-"},
		{name: "refuses underscore in random part", header: "Bearer am_live_" + random(16) + "_" + random(16)},
		{name: "refuses base64 characters in random part", header: "Bearer am_live_" + random(30) + "+/"},
		{name: "refuses non-ASCII letter in random part", header: "Bearer am_live_" + random(31) + "é"},
		{name: "refuses fullwidth digit in random part", header: "Bearer am_live_" + random(31) + "１"},
		{name: "refuses quoted secret", header: `Bearer "` + secret32 + `"`},

		// Junk around the credentials.
		{name: "refuses leading space", header: " Bearer " + secret32},
		{name: "refuses leading junk", header: "x Bearer " + secret32},
		{name: "refuses trailing space", header: "Bearer " + secret32 + " "},
		{name: "refuses trailing newline", header: "Bearer " + secret32 + "\n"},
		{name: "refuses trailing CRLF", header: "Bearer " + secret32 + "\r\n"},
		{name: "refuses trailing word", header: "Bearer " + secret32 + " extra"},
		{name: "refuses trailing semicolon", header: "Bearer " + secret32 + ";"},
		{name: "refuses NUL inside", header: "Bearer " + secret32[:20] + "\x00" + secret32[20:]},
		{name: "refuses comma-joined duplicate headers", header: "Bearer " + secret32 + ", Bearer " + secret64},
		{name: "refuses comma-joined duplicates without space", header: "Bearer " + secret32 + ",Bearer " + secret32},
		{name: "refuses two secrets", header: "Bearer " + secret32 + " " + secret64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := phonenumbers.ParseBearer(tt.header)
			if tt.wantSecret == "" {
				if ok {
					t.Errorf("ParseBearer(%q) accepted the header, want it refused", tt.header)
				}
				if got.Reveal() != "" {
					t.Errorf("got secret of length %d from a refused header, want the zero Secret", len(got.Reveal()))
				}
				return
			}
			if !ok {
				t.Fatalf("ParseBearer(%q) refused the header, want it accepted", tt.header)
			}
			if got.Reveal() != tt.wantSecret {
				t.Errorf("got secret %q, want %q", got.Reveal(), tt.wantSecret)
			}
		})
	}
}

// credentials holds a secret the way request-scoped structs might, exported and not.
type credentials struct {
	Key    phonenumbers.Secret `json:"key"`
	hidden phonenumbers.Secret
	Ptr    *phonenumbers.Secret `json:"ptr"`
}

func TestSecretNeverPrintsItsValue(t *testing.T) {
	t.Parallel()
	raw := "am_live_" + random(40)
	secret, ok := phonenumbers.ParseSecret(raw)
	if !ok {
		t.Fatalf("ParseSecret(%q) refused a well-formed secret", raw)
	}
	holder := credentials{Key: secret, hidden: secret, Ptr: &secret}
	// The random part alone must not appear either: a printer may drop or escape the prefix.
	needles := []string{raw, raw[len(phonenumbers.SecretPrefix):], raw[len(phonenumbers.SecretPrefix) : len(phonenumbers.SecretPrefix)+12]}

	jsonLog := func(args ...any) string {
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("request", args...)
		return buf.String()
	}
	textLog := func(args ...any) string {
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("request", args...)
		return buf.String()
	}
	marshal := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal: %v", err)
		}
		return string(b)
	}

	tests := []struct {
		name     string
		output   string
		wantText string // a fragment the output must contain, "" for none
	}{
		{name: "fmt %v", output: fmt.Sprintf("%v", secret), wantText: "[redacted]"},
		//lint:ignore S1025 the point: what fmt's %s verb prints, not what String returns
		{name: "fmt %s", output: fmt.Sprintf("%s", secret), wantText: "[redacted]"},
		{name: "fmt %+v", output: fmt.Sprintf("%+v", secret), wantText: "[redacted]"},
		{name: "fmt %#v", output: fmt.Sprintf("%#v", secret), wantText: "[redacted]"},
		{name: "fmt %q", output: fmt.Sprintf("%q", secret), wantText: "[redacted]"},
		{name: "fmt Sprint", output: fmt.Sprint(secret), wantText: "[redacted]"},
		{name: "fmt Println", output: fmt.Sprintln(secret), wantText: "[redacted]"},
		{name: "fmt %d", output: fmt.Sprintf(verbD, secret)},
		{name: "fmt %x", output: fmt.Sprintf(verbX, secret)},
		{name: "fmt %d of struct holding it", output: fmt.Sprintf(verbD, holder)},
		{name: "fmt %v of pointer", output: fmt.Sprintf("%v", &secret), wantText: "[redacted]"},
		{name: "fmt %v of struct holding it", output: fmt.Sprintf("%v", holder), wantText: "[redacted]"},
		{name: "fmt %+v of struct holding it", output: fmt.Sprintf("%+v", holder), wantText: "[redacted]"},
		{name: "fmt %#v of struct holding it", output: fmt.Sprintf("%#v", holder), wantText: "[redacted]"},
		{name: "fmt %+v of pointer to struct holding it", output: fmt.Sprintf("%+v", &holder), wantText: "[redacted]"},
		{name: "fmt %v of slice", output: fmt.Sprintf("%v", []phonenumbers.Secret{secret}), wantText: "[redacted]"},
		{name: "fmt %v of map", output: fmt.Sprintf("%v", map[string]phonenumbers.Secret{"k": secret}), wantText: "[redacted]"},
		{name: "error wrapping it", output: fmt.Errorf("authenticate %v: %w", secret, errors.New("boom")).Error(), wantText: "[redacted]"},
		{name: "slog JSON handler attribute", output: jsonLog("secret", secret), wantText: `"secret":"[redacted]"`},
		{name: "slog JSON handler slog.Any", output: jsonLog(slog.Any("secret", secret)), wantText: `"secret":"[redacted]"`},
		{name: "slog JSON handler struct holding it", output: jsonLog("creds", holder), wantText: `"key":"[redacted]"`},
		{name: "slog JSON handler group", output: jsonLog(slog.Group("auth", slog.Any("secret", secret))), wantText: `"auth":{"secret":"[redacted]"}`},
		{name: "slog text handler attribute", output: textLog("secret", secret), wantText: "secret=[redacted]"},
		{name: "slog text handler struct holding it", output: textLog("creds", holder)},
		{name: "json.Marshal of the secret", output: marshal(secret), wantText: `"[redacted]"`},
		{name: "json.Marshal of struct holding it", output: marshal(holder), wantText: `{"key":"[redacted]","ptr":"[redacted]"}`},
		{name: "json.Marshal of map", output: marshal(map[string]phonenumbers.Secret{"k": secret}), wantText: `{"k":"[redacted]"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, needle := range needles {
				if strings.Contains(tt.output, needle) {
					t.Errorf("output %q contains the secret (%q)", tt.output, needle)
				}
			}
			if !strings.Contains(tt.output, tt.wantText) {
				t.Errorf("got output %q, want it to contain %q", tt.output, tt.wantText)
			}
		})
	}
}

// Formats that do not suit a Secret are variables, not constants, so that vet's printf check lets
// the tests try them: a careless caller may well use them.
var verbD, verbX = "%d", "%x"

func TestSecretRevealReturnsTheValue(t *testing.T) {
	t.Parallel()
	raw := "am_live_" + random(32)
	tests := []struct {
		name   string
		secret phonenumbers.Secret
		want   string
	}{
		{name: "parsed secret reveals its value", secret: mustParseSecret(t, raw), want: raw},
		{name: "wrapped secret reveals its value", secret: phonenumbers.NewSecret(raw), want: raw},
		{name: "zero secret reveals nothing", secret: phonenumbers.Secret{}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.secret.Reveal(); got != tt.want {
				t.Errorf("got Reveal() %q, want %q", got, tt.want)
			}
			if got := tt.secret.String(); got != "[redacted]" {
				t.Errorf("got String() %q, want %q", got, "[redacted]")
			}
		})
	}
}

func mustParseSecret(t *testing.T, raw string) phonenumbers.Secret {
	t.Helper()
	s, ok := phonenumbers.ParseSecret(raw)
	if !ok {
		t.Fatalf("ParseSecret(%q) refused a well-formed secret", raw)
	}
	return s
}
