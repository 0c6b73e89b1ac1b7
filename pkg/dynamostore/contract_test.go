package dynamostore_test

import (
	"testing"

	"github.com/sms-platform/phone-numbers/local/enginetest"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers/phonenumberstest"
)

// TestStoreKeepsTheStorageContract runs, against the store on every local engine, the cases the
// in-memory fake of the tests above storage (phonenumberstest.MemStore) runs too: the fake
// cannot drift from what the store does.
func TestStoreKeepsTheStorageContract(t *testing.T) {
	t.Parallel()
	enginetest.ForEachEngine(t, func(t *testing.T, env *enginetest.Env) {
		phonenumberstest.StorageContract(t, func(t *testing.T) (phonenumberstest.Store, phonenumberstest.Seeder) {
			// env.Client is patient: the contract is about what the store does, not about its
			// timeouts (those are the fault tests' subject, in pkg/wiring).
			return dynamostore.New(env.Client, env.Tables), envSeeder{t: t, env: env}
		})
	})
}

// envSeeder puts data through an enginetest.Env, which stores it as the store's own item types.
type envSeeder struct {
	t   *testing.T
	env *enginetest.Env
}

func (s envSeeder) PutAPIKey(key phonenumbers.APIKey, secret string) {
	s.env.PutAPIKey(s.t, key, secret)
}
func (s envSeeder) PutCampaign(c phonenumbers.Campaign)       { s.env.PutCampaign(s.t, c) }
func (s envSeeder) PutPhoneNumber(n phonenumbers.PhoneNumber) { s.env.PutPhoneNumber(s.t, n) }
