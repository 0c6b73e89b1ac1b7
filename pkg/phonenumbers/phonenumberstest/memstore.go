// Package phonenumberstest is test support for the layers above storage: MemStore, the one
// in-memory fake of the domain's storage interfaces, and StorageContract, the cases that hold
// MemStore and the DynamoDB store (pkg/dynamostore) to the same behaviour, so the fake cannot
// drift from what the function really does.
package phonenumberstest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

// Store is the domain's three storage interfaces together: what StorageContract is about.
type Store interface {
	phonenumbers.APIKeyFinder
	phonenumbers.CampaignFinder
	phonenumbers.PhoneNumberUpdater
}

var _ Store = (*MemStore)(nil)

// MemStore holds API keys, campaigns and phone numbers in memory and answers as dynamostore.Store
// does (StorageContract checks it): a missing key, campaign or number, and another
// organization's number, are errors of kind NotFound; a patch that changes nothing writes
// nothing; timestamps are kept to the second, in UTC, as the store keeps them. It records every
// call. It is safe for concurrent use.
type MemStore struct {
	// The hooks, when set, run at the start of the matching method, outside any lock, so they
	// may block; a non-nil error becomes the method's result and nothing is read or written.
	// They let tests inject storage failures and observe or order concurrent calls.
	BeforeFindAPIKey        func(ctx context.Context, secretHash string) error
	BeforeFindCampaign      func(ctx context.Context, id string) error
	BeforeFindPhoneNumber   func(ctx context.Context, id string) error
	BeforeUpdatePhoneNumber func(ctx context.Context, u Update) error
	BeforeAttachCampaign    func(ctx context.Context, u Update) error

	mu        sync.Mutex
	keys      map[string]phonenumbers.APIKey
	campaigns map[string]phonenumbers.Campaign
	numbers   map[string]phonenumbers.PhoneNumber
	calls     Calls
}

// Update is one call of UpdatePhoneNumber or AttachCampaign, as it was made.
type Update struct {
	OrgID string
	ID    string
	// Current is the number AttachCampaign was given (zero for UpdatePhoneNumber).
	Current      phonenumbers.PhoneNumber
	Patch        phonenumbers.Patch
	Precondition phonenumbers.Precondition
	Now          time.Time
}

// Calls is every call a MemStore served, in order of arrival.
type Calls struct {
	// APIKeyHashes are the hashes FindAPIKey was asked for.
	APIKeyHashes []string
	// CampaignIDs are the ids FindCampaign was asked for.
	CampaignIDs []string
	// PhoneNumberIDs are the ids FindPhoneNumber was asked for.
	PhoneNumberIDs []string
	// Updates are the calls of UpdatePhoneNumber.
	Updates []Update
	// Attaches are the calls of AttachCampaign, with the ID of the number they were given.
	Attaches []Update
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{
		keys:      map[string]phonenumbers.APIKey{},
		campaigns: map[string]phonenumbers.Campaign{},
		numbers:   map[string]phonenumbers.PhoneNumber{},
	}
}

// PutAPIKey stores key for secret, as dynamostore.NewAPIKeyItem does: under the secret's hash and
// with the secret's prefix, replacing any key stored under that hash.
func (m *MemStore) PutAPIKey(key phonenumbers.APIKey, secret string) {
	key.Prefix = phonenumbers.KeyPrefix(phonenumbers.NewSecret(secret))
	key.Scopes = slices.Clone(key.Scopes)
	if len(key.Scopes) == 0 {
		key.Scopes = nil // DynamoDB stores no empty set
	}
	key.CreatedAt = stored(key.CreatedAt)
	key.RevokedAt = storedPtr(key.RevokedAt)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys[phonenumbers.HashSecret(phonenumbers.NewSecret(secret))] = key
}

// PutCampaign stores c, replacing any campaign with its id.
func (m *MemStore) PutCampaign(c phonenumbers.Campaign) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.campaigns[c.ID] = c
}

// PutPhoneNumber stores n, replacing any number with its id.
func (m *MemStore) PutPhoneNumber(n phonenumbers.PhoneNumber) {
	n = clone(n)
	n.CarrierLineOptionPropagatedAt = storedPtr(n.CarrierLineOptionPropagatedAt)
	n.CreatedAt, n.UpdatedAt = stored(n.CreatedAt), stored(n.UpdatedAt)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.numbers[n.ID] = n
}

// PhoneNumbers returns every stored number, by id.
func (m *MemStore) PhoneNumbers() map[string]phonenumbers.PhoneNumber {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]phonenumbers.PhoneNumber, len(m.numbers))
	for id, n := range m.numbers {
		out[id] = clone(n)
	}
	return out
}

// Calls returns the calls served so far.
func (m *MemStore) Calls() Calls {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Calls{
		APIKeyHashes:   slices.Clone(m.calls.APIKeyHashes),
		CampaignIDs:    slices.Clone(m.calls.CampaignIDs),
		PhoneNumberIDs: slices.Clone(m.calls.PhoneNumberIDs),
		Updates:        slices.Clone(m.calls.Updates),
		Attaches:       slices.Clone(m.calls.Attaches),
	}
}

// FindAPIKey returns the key stored under secretHash.
func (m *MemStore) FindAPIKey(ctx context.Context, secretHash string) (phonenumbers.APIKey, error) {
	m.record(func(c *Calls) { c.APIKeyHashes = append(c.APIKeyHashes, secretHash) })
	key, err := find(ctx, m, m.BeforeFindAPIKey, m.keys, secretHash)
	key.Scopes = slices.Clone(key.Scopes)
	return key, err
}

// FindCampaign returns the campaign with the given id, whatever its organization.
func (m *MemStore) FindCampaign(ctx context.Context, id string) (phonenumbers.Campaign, error) {
	m.record(func(c *Calls) { c.CampaignIDs = append(c.CampaignIDs, id) })
	return find(ctx, m, m.BeforeFindCampaign, m.campaigns, id)
}

// find runs the lookup's hook, then returns what stored holds under key: the one lookup behind
// FindAPIKey and FindCampaign.
func find[V any](ctx context.Context, m *MemStore, hook func(context.Context, string) error, stored map[string]V, key string) (V, error) {
	var zero V
	if hook != nil {
		if err := hook(ctx, key); err != nil {
			return zero, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := stored[key]
	if !ok {
		return zero, phonenumbers.NotFoundError()
	}
	return v, nil
}

// FindPhoneNumber returns the number with the given id, whatever its organization. When its hook
// fails, the error comes with the stored number's ID and OrgID, as the store returns them with a
// number that does not decode.
func (m *MemStore) FindPhoneNumber(ctx context.Context, id string) (phonenumbers.PhoneNumber, error) {
	m.record(func(c *Calls) { c.PhoneNumberIDs = append(c.PhoneNumberIDs, id) })
	if m.BeforeFindPhoneNumber != nil {
		if err := m.BeforeFindPhoneNumber(ctx, id); err != nil {
			m.mu.Lock()
			defer m.mu.Unlock()
			n := m.numbers[id]
			return phonenumbers.PhoneNumber{ID: n.ID, OrgID: n.OrgID}, err
		}
	}
	n, err := find(ctx, m, nil, m.numbers, id)
	return clone(n), err
}

// UpdatePhoneNumber applies patch, which carries no campaign_id, to the number id of
// organization orgID, atomically: another organization's number is not found, a version cond does
// not match is PreconditionFailed with nothing written, and updated_at and the version move only
// when a stored value changes.
func (m *MemStore) UpdatePhoneNumber(ctx context.Context, orgID, id string, patch phonenumbers.Patch, cond phonenumbers.Precondition, now time.Time) (phonenumbers.PhoneNumber, error) {
	u := Update{OrgID: orgID, ID: id, Patch: patch, Precondition: cond, Now: now}
	m.record(func(c *Calls) { c.Updates = append(c.Updates, u) })
	if m.BeforeUpdatePhoneNumber != nil {
		if err := m.BeforeUpdatePhoneNumber(ctx, u); err != nil {
			return phonenumbers.PhoneNumber{}, err
		}
	}
	if patch.CampaignID != nil {
		return phonenumbers.PhoneNumber{}, errors.New("a patch carrying campaign_id is applied by AttachCampaign")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.write(orgID, id, patch, cond, now)
}

// AttachCampaign applies patch, which carries campaign_id, to the number current names, with the
// campaign's check in the same atomic step: a campaign that is not orgID's is CampaignNotFound,
// one that is not ACTIVE is KindCampaignNotActive, and then the number is decided as
// UpdatePhoneNumber decides it, whatever changed since current was read.
func (m *MemStore) AttachCampaign(ctx context.Context, orgID string, current phonenumbers.PhoneNumber, patch phonenumbers.Patch, cond phonenumbers.Precondition, now time.Time) (phonenumbers.PhoneNumber, error) {
	u := Update{OrgID: orgID, ID: current.ID, Current: current, Patch: patch, Precondition: cond, Now: now}
	m.record(func(c *Calls) { c.Attaches = append(c.Attaches, u) })
	if m.BeforeAttachCampaign != nil {
		if err := m.BeforeAttachCampaign(ctx, u); err != nil {
			return phonenumbers.PhoneNumber{}, err
		}
	}
	if patch.CampaignID == nil {
		return phonenumbers.PhoneNumber{}, errors.New("attach campaign: the patch carries no campaign_id")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	campaign, ok := m.campaigns[*patch.CampaignID]
	if !ok {
		return phonenumbers.PhoneNumber{}, phonenumbers.CampaignNotFound()
	}
	if err := campaign.CheckAttachable(orgID); err != nil {
		return phonenumbers.PhoneNumber{}, err
	}
	return m.write(orgID, current.ID, patch, cond, now)
}

// write applies patch to the number id of orgID under m.mu, as the store's conditional write does.
func (m *MemStore) write(orgID, id string, patch phonenumbers.Patch, cond phonenumbers.Precondition, now time.Time) (phonenumbers.PhoneNumber, error) {
	n, ok := m.numbers[id]
	if !ok || n.OrgID != orgID {
		return phonenumbers.PhoneNumber{}, phonenumbers.NotFoundError()
	}
	if !cond.Matches(n.Version) {
		return phonenumbers.PhoneNumber{}, phonenumbers.PreconditionFailed(n.Version)
	}
	if updated, changed := patch.Apply(n); changed {
		updated.UpdatedAt = stored(now)
		updated.Version++
		m.numbers[id] = updated
		n = updated
	}
	return clone(n), nil
}

func (m *MemStore) record(add func(*Calls)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	add(&m.calls)
}

// stored is t as the store keeps it: RFC 3339 to the second, in UTC.
func stored(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

func storedPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	s := stored(*t)
	return &s
}

// clone copies n's optional values, so that callers cannot change what is stored through them.
func clone(n phonenumbers.PhoneNumber) phonenumbers.PhoneNumber {
	for _, p := range []**string{&n.InboundURL, &n.StatusURL, &n.Label, &n.CampaignID, &n.CarrierLineOptionStatus} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	n.CarrierLineOptionPropagatedAt = storedPtr(n.CarrierLineOptionPropagatedAt)
	return n
}
