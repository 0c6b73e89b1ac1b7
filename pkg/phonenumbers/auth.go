package phonenumbers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// This file is authentication, all of it: the shape of a secret and how it is kept out of logs,
// the Bearer header, the stored key record, its hash, the principal a key stands for, and the
// rules that turn a presented secret into a principal.

// SecretPrefix starts every live API key secret.
const SecretPrefix = "am_live_"

// Lengths of the random part of a secret, after SecretPrefix.
const (
	minSecretRandomLength = 32
	maxSecretRandomLength = 64
)

// KeyPrefixLength is how many leading characters of a secret are stored in clear, so that
// operators and customers can tell keys apart.
const KeyPrefixLength = 12

// ScopeNumbersWrite is the scope a key needs to update phone numbers.
const ScopeNumbersWrite = "numbers:write"

// Secret is an API key secret as presented by a caller. It formats as "[redacted]" everywhere
// (fmt, slog, JSON) so that it cannot reach logs or responses by accident; Reveal gives the value
// to the one place that needs it, the hashing. The value sits behind a pointer because fmt prints
// a struct's fields by reflection, bypassing String, whenever the verb is not %v/%s/%q/%x or the
// Secret is an unexported field of another struct (which is also how slog's text handler prints
// it): reflection then shows an address, never the secret.
type Secret struct{ value *string }

// NewSecret wraps s; it does not check the format (see ParseSecret).
func NewSecret(s string) Secret { return Secret{value: &s} }

// Reveal returns the secret itself. Only hashing should call it.
func (s Secret) Reveal() string {
	if s.value == nil {
		return ""
	}
	return *s.value
}

// String redacts the secret.
func (Secret) String() string { return "[redacted]" }

// GoString redacts the secret in %#v.
func (Secret) GoString() string { return "[redacted]" }

// LogValue redacts the secret in structured logs.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// MarshalJSON redacts the secret in JSON.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// ParseSecret reports whether s has the shape of a live secret: SecretPrefix followed by 32 to 64
// ASCII letters and digits.
func ParseSecret(s string) (Secret, bool) {
	random, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok || len(random) < minSecretRandomLength || len(random) > maxSecretRandomLength {
		return Secret{}, false
	}
	for i := 0; i < len(random); i++ {
		c := random[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return Secret{}, false
		}
	}
	return NewSecret(s), true
}

// wellFormed reports whether s has the shape of a live secret; the zero Secret has not.
func (s Secret) wellFormed() bool {
	_, ok := ParseSecret(s.Reveal())
	return ok
}

// ParseBearer extracts the secret from an Authorization header value of the form
// "Bearer <secret>": the scheme is case-insensitive and one or more spaces separate it from the
// secret. It reports false for anything else, including a well-formed header whose secret does not
// have the shape of a live secret.
func ParseBearer(header string) (Secret, bool) {
	scheme, rest, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return Secret{}, false
	}
	return ParseSecret(strings.TrimLeft(rest, " "))
}

// HashSecret returns the lowercase hex SHA-256 of the whole secret: the only form in which a
// secret is stored or looked up.
func HashSecret(secret Secret) string {
	sum := sha256.Sum256([]byte(secret.Reveal()))
	return hex.EncodeToString(sum[:])
}

// KeyPrefix returns the part of secret stored in clear with its key: its first KeyPrefixLength
// characters.
func KeyPrefix(secret Secret) string {
	s := secret.Reveal()
	return s[:min(len(s), KeyPrefixLength)]
}

// APIKey is the stored record of an API key. The secret itself is never stored: only its hash,
// which the storage layer keys the record by, and its first KeyPrefixLength characters.
type APIKey struct {
	ID        string
	OrgID     string
	Scopes    []string
	Prefix    string
	Label     string
	CreatedAt time.Time
	// RevokedAt is set once the key is revoked; a revoked key authenticates nothing.
	RevokedAt *time.Time
}

// Principal is the authenticated caller: the API key and the organization it acts for.
type Principal struct {
	KeyID  string
	OrgID  string
	Scopes []string
}

// HasScope reports whether the principal was granted scope.
func (p Principal) HasScope(scope string) bool {
	for _, s := range p.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// APIKeyFinder finds a stored API key by the hash of its secret (HashSecret). A missing key is an
// error of KindNotFound.
type APIKeyFinder interface {
	FindAPIKey(ctx context.Context, secretHash string) (APIKey, error)
}

// Authenticate returns the principal of the key whose secret is secret, read through keys. It
// caches nothing, so a revocation takes effect on the next request. An unknown key and a revoked
// key fail through the same branch with the same error, UnauthenticatedError; a storage failure
// keeps its own kind, so that an outage is a 503 and not a 401.
//
// A key record without an id or an organization is corrupt: it would act for nobody, or write
// numbers that belong to nobody. It authenticates nothing, with the same 401 to the client; the
// error's cause (for the log, never the client) says which record is corrupt, by its id and
// organization, never by the secret or its hash.
func Authenticate(ctx context.Context, keys APIKeyFinder, secret Secret) (Principal, error) {
	key, err := keys.FindAPIKey(ctx, HashSecret(secret))
	if err != nil && KindOf(err) != KindNotFound {
		return Principal{}, fmt.Errorf("find api key: %w", err)
	}
	if err != nil || key.RevokedAt != nil {
		return Principal{}, UnauthenticatedError()
	}
	if key.ID == "" || key.OrgID == "" {
		refused := UnauthenticatedError()
		refused.Err = fmt.Errorf("api key record (id %q, org_id %q): %w: empty id or org_id", key.ID, key.OrgID, ErrCorruptRecord)
		return Principal{}, refused
	}
	return Principal{KeyID: key.ID, OrgID: key.OrgID, Scopes: key.Scopes}, nil
}
