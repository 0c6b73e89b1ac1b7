package dynamostore

import (
	"fmt"
	"time"

	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

// TimeLayout is how timestamps are stored and returned: RFC 3339 in UTC, to the second.
const TimeLayout = time.RFC3339

// APIKeyItem is an API key as stored in the api-keys table.
type APIKeyItem struct {
	KeyHash   string   `dynamodbav:"key_hash"`
	ID        string   `dynamodbav:"id"`
	OrgID     string   `dynamodbav:"org_id"`
	Scopes    []string `dynamodbav:"scopes,stringset,omitempty"`
	Prefix    string   `dynamodbav:"prefix"`
	Label     string   `dynamodbav:"label,omitempty"`
	CreatedAt string   `dynamodbav:"created_at"`
	RevokedAt *string  `dynamodbav:"revoked_at,omitempty"`
}

// CampaignItem is a campaign as stored in the campaigns table.
type CampaignItem struct {
	ID     string `dynamodbav:"id"`
	OrgID  string `dynamodbav:"org_id"`
	Status string `dynamodbav:"status"`
}

// PhoneNumberItem is a phone number as stored in the phone-numbers table. Optional attributes are
// absent rather than NULL when unset, so that "cleared" has one representation.
type PhoneNumberItem struct {
	ID                            string  `dynamodbav:"id"`
	OrgID                         string  `dynamodbav:"org_id"`
	Number                        string  `dynamodbav:"number"`
	NumberType                    string  `dynamodbav:"number_type"`
	InboundURL                    *string `dynamodbav:"inbound_url,omitempty"`
	StatusURL                     *string `dynamodbav:"status_url,omitempty"`
	Label                         *string `dynamodbav:"label,omitempty"`
	CampaignID                    *string `dynamodbav:"campaign_id,omitempty"`
	CarrierLineOptionStatus       *string `dynamodbav:"carrier_line_option_status,omitempty"`
	CarrierLineOptionPropagatedAt *string `dynamodbav:"carrier_line_option_propagated_at,omitempty"`
	SMSEnabled                    bool    `dynamodbav:"sms_enabled"`
	MMSEnabled                    bool    `dynamodbav:"mms_enabled"`
	CreatedAt                     string  `dynamodbav:"created_at"`
	UpdatedAt                     string  `dynamodbav:"updated_at"`
}

// NewAPIKeyItem returns the item storing key under the hash of its secret.
func NewAPIKeyItem(key phonenumbers.APIKey, secretHash string) APIKeyItem {
	return APIKeyItem{
		KeyHash:   secretHash,
		ID:        key.ID,
		OrgID:     key.OrgID,
		Scopes:    key.Scopes,
		Prefix:    key.Prefix,
		Label:     key.Label,
		CreatedAt: formatTime(key.CreatedAt),
		RevokedAt: formatOptionalTime(key.RevokedAt),
	}
}

// NewCampaignItem returns the item storing c.
func NewCampaignItem(c phonenumbers.Campaign) CampaignItem {
	return CampaignItem{ID: c.ID, OrgID: c.OrgID, Status: string(c.Status)}
}

// NewPhoneNumberItem returns the item storing n.
func NewPhoneNumberItem(n phonenumbers.PhoneNumber) PhoneNumberItem {
	return PhoneNumberItem{
		ID:                            n.ID,
		OrgID:                         n.OrgID,
		Number:                        n.Number,
		NumberType:                    string(n.NumberType),
		InboundURL:                    n.InboundURL,
		StatusURL:                     n.StatusURL,
		Label:                         n.Label,
		CampaignID:                    n.CampaignID,
		CarrierLineOptionStatus:       n.CarrierLineOptionStatus,
		CarrierLineOptionPropagatedAt: formatOptionalTime(n.CarrierLineOptionPropagatedAt),
		SMSEnabled:                    n.SMSEnabled,
		MMSEnabled:                    n.MMSEnabled,
		CreatedAt:                     formatTime(n.CreatedAt),
		UpdatedAt:                     formatTime(n.UpdatedAt),
	}
}

// apiKey ignores timestamp parse errors on purpose: revocation goes by the presence of
// revoked_at, so a key whose revoked_at is corrupt still fails closed, as revoked.
func (i APIKeyItem) apiKey() phonenumbers.APIKey {
	var times timeParser
	return phonenumbers.APIKey{
		ID:        i.ID,
		OrgID:     i.OrgID,
		Scopes:    i.Scopes,
		Prefix:    i.Prefix,
		Label:     i.Label,
		CreatedAt: times.required("created_at", i.CreatedAt),
		RevokedAt: times.optional("revoked_at", i.RevokedAt),
	}
}

func (i CampaignItem) campaign() phonenumbers.Campaign {
	return phonenumbers.Campaign{ID: i.ID, OrgID: i.OrgID, Status: phonenumbers.CampaignStatus(i.Status)}
}

func (i PhoneNumberItem) phoneNumber() (phonenumbers.PhoneNumber, error) {
	var times timeParser
	n := phonenumbers.PhoneNumber{
		ID:                            i.ID,
		OrgID:                         i.OrgID,
		Number:                        i.Number,
		NumberType:                    phonenumbers.NumberType(i.NumberType),
		InboundURL:                    i.InboundURL,
		StatusURL:                     i.StatusURL,
		Label:                         i.Label,
		CampaignID:                    i.CampaignID,
		CarrierLineOptionStatus:       i.CarrierLineOptionStatus,
		CarrierLineOptionPropagatedAt: times.optional("carrier_line_option_propagated_at", i.CarrierLineOptionPropagatedAt),
		SMSEnabled:                    i.SMSEnabled,
		MMSEnabled:                    i.MMSEnabled,
		CreatedAt:                     times.required("created_at", i.CreatedAt),
		UpdatedAt:                     times.required("updated_at", i.UpdatedAt),
	}
	return n, times.err
}

func formatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

func formatOptionalTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := formatTime(*t)
	return &s
}

// timeParser reads stored timestamps, keeping the first failure: a timestamp that does not parse
// is corrupt data, reported rather than shown to clients as the zero time.
type timeParser struct{ err error }

func (p *timeParser) required(attr, s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("attribute %s: %w", attr, err)
	}
	return t.UTC()
}

func (p *timeParser) optional(attr string, s *string) *time.Time {
	if s == nil {
		return nil
	}
	t := p.required(attr, *s)
	return &t
}
