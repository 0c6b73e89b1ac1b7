// Package auth authenticates API keys: it hashes the presented secret, finds the key stored under
// that hash and refuses revoked keys. Secrets are never stored, only their SHA-256.
package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

// KeyFinder finds a stored API key by the hash of its secret. A missing key is an error of kind
// phonenumbers.KindNotFound.
type KeyFinder interface {
	FindAPIKey(ctx context.Context, secretHash string) (phonenumbers.APIKey, error)
}

// HashSecret returns the lowercase hex SHA-256 of the whole secret: the only form in which a
// secret is stored or looked up.
func HashSecret(secret phonenumbers.Secret) string {
	sum := sha256.Sum256([]byte(secret.Reveal()))
	return hex.EncodeToString(sum[:])
}

// Authenticator resolves secrets to principals through a KeyFinder. It caches nothing, so a
// revocation takes effect on the next request.
type Authenticator struct {
	keys KeyFinder
}

var _ phonenumbers.Authenticator = (*Authenticator)(nil)

// NewAuthenticator returns an Authenticator reading keys from keys.
func NewAuthenticator(keys KeyFinder) *Authenticator {
	return &Authenticator{keys: keys}
}

// Authenticate returns the principal of the key whose secret is secret. An unknown key and a
// revoked key fail through the same branch with the same error.
func (a *Authenticator) Authenticate(ctx context.Context, secret phonenumbers.Secret) (phonenumbers.Principal, error) {
	key, err := a.keys.FindAPIKey(ctx, HashSecret(secret))
	if err != nil && phonenumbers.KindOf(err) != phonenumbers.KindNotFound {
		return phonenumbers.Principal{}, fmt.Errorf("find api key: %w", err)
	}
	if err != nil || key.RevokedAt != nil {
		return phonenumbers.Principal{}, phonenumbers.ErrUnauthenticated()
	}
	return phonenumbers.Principal{KeyID: key.ID, OrgID: key.OrgID, Scopes: key.Scopes}, nil
}
