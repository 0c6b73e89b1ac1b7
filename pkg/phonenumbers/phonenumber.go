// Package phonenumbers is the domain of the phone-number routing API: the phone number resource,
// the PATCH document and its validation rules, the error kinds of the contract, and the service
// that runs the contract's checks in order. It imports no AWS package; storage and transport
// adapters depend on it, never the reverse.
package phonenumbers

import (
	"context"
	"time"
)

// FormatTime writes t as the API returns and storage keeps every timestamp: RFC 3339, in UTC, to
// the second.
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// NumberType is the kind of number, as sold to the customer.
type NumberType string

// The number types a phone number can have.
const (
	NumberTypeLocal     NumberType = "local"
	NumberTypeTollFree  NumberType = "toll_free"
	NumberTypeShortCode NumberType = "short_code"
)

// Valid reports whether t is one of the defined number types.
func (t NumberType) Valid() bool {
	switch t {
	case NumberTypeLocal, NumberTypeTollFree, NumberTypeShortCode:
		return true
	}
	return false
}

// PhoneNumber is a number owned by an organization, with its routing configuration. Optional
// fields are pointers: nil means never set or cleared.
type PhoneNumber struct {
	ID                            string
	OrgID                         string
	Number                        string
	NumberType                    NumberType
	InboundURL                    *string
	StatusURL                     *string
	Label                         *string
	CampaignID                    *string
	CarrierLineOptionStatus       *string
	CarrierLineOptionPropagatedAt *time.Time
	SMSEnabled                    bool
	MMSEnabled                    bool
	CreatedAt                     time.Time
	UpdatedAt                     time.Time
	// Version grows by one with each write that changes a stored value; a number stored without
	// one is version 0. It is the number's entity-tag.
	Version int64
}

// CampaignStatus is the registration state of a messaging campaign.
type CampaignStatus string

// The campaign statuses; only ACTIVE campaigns can be attached to a number.
const (
	CampaignActive   CampaignStatus = "ACTIVE"
	CampaignPending  CampaignStatus = "PENDING"
	CampaignRejected CampaignStatus = "REJECTED"
	CampaignExpired  CampaignStatus = "EXPIRED"
)

// Valid reports whether s is one of the defined campaign statuses.
func (s CampaignStatus) Valid() bool {
	switch s {
	case CampaignActive, CampaignPending, CampaignRejected, CampaignExpired:
		return true
	}
	return false
}

// Campaign is a messaging campaign a phone number can be attached to.
type Campaign struct {
	ID     string
	OrgID  string
	Status CampaignStatus
}

// CampaignFinder finds campaigns by id. A missing campaign is an error of KindNotFound.
type CampaignFinder interface {
	FindCampaign(ctx context.Context, id string) (Campaign, error)
}

// PhoneNumberUpdater reads and updates the phone numbers of organizations.
//
// UpdatePhoneNumber applies a patch without campaign_id to a phone number of an organization in
// one conditional write. It returns the phone number as stored afterwards; a patch that changes no
// stored value leaves the item, updated_at and version included, untouched. A number that does
// not exist or belongs to another organization is an error of KindNotFound; a number of the
// organization whose version cond does not match is PreconditionFailed with its version, and
// nothing is written. The version check is part of the write's condition, not a read before it.
//
// A patch carrying campaign_id is applied in two steps, so that the campaign's state is checked
// in the write itself while the critical path stays "key lookup, then the write": FindPhoneNumber
// reads the number concurrently with the key and campaign lookups, the caller decides from it
// (404, 412, or a no-op), and AttachCampaign writes the patch and a check that the campaign is
// the organization's and ACTIVE, atomically, pinned to the version read.
type PhoneNumberUpdater interface {
	// FindPhoneNumber reads the number id, strongly consistent, whatever its organization: the
	// caller compares organizations. A missing number, and one stored without an id or
	// organization, is an error of KindNotFound. When the number does not decode, the error says
	// so and the returned PhoneNumber carries its ID and OrgID, so that the caller can tell
	// another organization's number (not found) from its own corrupt one.
	FindPhoneNumber(ctx context.Context, id string) (PhoneNumber, error)
	UpdatePhoneNumber(ctx context.Context, orgID, id string, patch Patch, cond Precondition, now time.Time) (PhoneNumber, error)
	// AttachCampaign applies patch, which carries campaign_id and changes current (the caller's
	// own number as FindPhoneNumber read it, its version matching cond), and returns the number
	// as written. The campaign not being orgID's is a validation error on campaign_id, its not
	// being ACTIVE is KindCampaignNotActive; a number that changed since it was read is decided
	// again as UpdatePhoneNumber decides (404, 412, no-op), nothing written in each case.
	AttachCampaign(ctx context.Context, orgID string, current PhoneNumber, patch Patch, cond Precondition, now time.Time) (PhoneNumber, error)
}
