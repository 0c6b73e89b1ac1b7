package dynamostore

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

// Items are encoded and decoded by hand, attribute by attribute, with the names of schema.go:
// no reflection on the request path (the reflective attributevalue package cost about 6% of a
// request's CPU and 23 allocations), and every type check in plain sight. A stored attribute of a
// type the code does not read is a corrupt item, reported as an error, never read as a zero value.

// NewAPIKeyItem returns the item storing key for its secret: under the secret's hash, with the
// secret's prefix (key.Prefix is not used), and never the secret itself. Scopes are a string set;
// an empty label and a nil RevokedAt are absent attributes. Local tooling seeds keys with it.
func NewAPIKeyItem(key phonenumbers.APIKey, secret phonenumbers.Secret) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		APIKeysHashKey: stringValue(phonenumbers.HashSecret(secret)),
		attrID:         stringValue(key.ID),
		attrOrgID:      stringValue(key.OrgID),
		attrPrefix:     stringValue(phonenumbers.KeyPrefix(secret)),
		attrCreatedAt:  stringValue(phonenumbers.FormatTime(key.CreatedAt)),
	}
	if len(key.Scopes) > 0 {
		item[attrScopes] = &types.AttributeValueMemberSS{Value: slices.Clone(key.Scopes)}
	}
	if key.Label != "" {
		item[attrLabel] = stringValue(key.Label)
	}
	if key.RevokedAt != nil {
		item[attrRevokedAt] = stringValue(phonenumbers.FormatTime(*key.RevokedAt))
	}
	return item
}

// NewCampaignItem returns the item storing c.
func NewCampaignItem(c phonenumbers.Campaign) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrID:     stringValue(c.ID),
		attrOrgID:  stringValue(c.OrgID),
		attrStatus: stringValue(string(c.Status)),
	}
}

// NewPhoneNumberItem returns the item storing n. Optional fields that are nil are absent
// attributes rather than NULL, so that "cleared" has one representation.
func NewPhoneNumberItem(n phonenumbers.PhoneNumber) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		attrID:         stringValue(n.ID),
		attrOrgID:      stringValue(n.OrgID),
		attrNumber:     stringValue(n.Number),
		attrNumberType: stringValue(string(n.NumberType)),
		attrSMSEnabled: &types.AttributeValueMemberBOOL{Value: n.SMSEnabled},
		attrMMSEnabled: &types.AttributeValueMemberBOOL{Value: n.MMSEnabled},
		attrCreatedAt:  stringValue(phonenumbers.FormatTime(n.CreatedAt)),
		attrUpdatedAt:  stringValue(phonenumbers.FormatTime(n.UpdatedAt)),
	}
	optional := func(name string, s *string) {
		if s != nil {
			item[name] = stringValue(*s)
		}
	}
	optional(attrInboundURL, n.InboundURL)
	optional(attrStatusURL, n.StatusURL)
	optional(attrLabel, n.Label)
	optional(attrCampaignID, n.CampaignID)
	optional(attrCarrierLineOptionStatus, n.CarrierLineOptionStatus)
	optional(attrCarrierLineOptionPropagatedAt, formatOptionalTime(n.CarrierLineOptionPropagatedAt))
	if n.Version > 0 {
		// Absent is version 0, as for numbers stored before versions existed.
		item[attrVersion] = &types.AttributeValueMemberN{Value: strconv.FormatInt(n.Version, 10)}
	}
	return item
}

// decodeAPIKey reads a key item. Absent or NULL strings read as "" (the caller refuses a key
// without an organization); timestamp parse errors are ignored on purpose: revocation goes by the
// presence of revoked_at, so a key whose revoked_at is corrupt still fails closed, as revoked.
func decodeAPIKey(item map[string]types.AttributeValue) (phonenumbers.APIKey, error) {
	r := itemReader{item: item}
	key := phonenumbers.APIKey{
		ID:     r.textOrEmpty(attrID),
		OrgID:  r.textOrEmpty(attrOrgID),
		Scopes: r.stringSet(attrScopes),
		Prefix: r.textOrEmpty(attrPrefix),
		Label:  r.textOrEmpty(attrLabel),
	}
	key.CreatedAt, _ = parseTime(r.textOrEmpty(attrCreatedAt))
	if revokedAt := r.optionalText(attrRevokedAt); revokedAt != nil {
		t, _ := parseTime(*revokedAt)
		key.RevokedAt = &t
	}
	return key, r.err
}

// decodeCampaign reads a campaign item. Absent or NULL strings read as "": a campaign without an
// organization belongs to nobody, and one without a status is not ACTIVE.
func decodeCampaign(item map[string]types.AttributeValue) (phonenumbers.Campaign, error) {
	r := itemReader{item: item}
	c := phonenumbers.Campaign{
		ID:     r.textOrEmpty(attrID),
		OrgID:  r.textOrEmpty(attrOrgID),
		Status: phonenumbers.CampaignStatus(r.textOrEmpty(attrStatus)),
	}
	return c, r.err
}

// decodePhoneNumber reads a phone number item. Every attribute the resource shows must have the
// type it is read as: a string (or, for an optional one, absent or NULL, both meaning cleared),
// a boolean, an RFC 3339 timestamp; the version is a whole number from 0, absent meaning 0.
func decodePhoneNumber(item map[string]types.AttributeValue) (phonenumbers.PhoneNumber, error) {
	r := itemReader{item: item}
	n := phonenumbers.PhoneNumber{
		ID:                            r.text(attrID),
		OrgID:                         r.text(attrOrgID),
		Number:                        r.text(attrNumber),
		NumberType:                    r.numberType(attrNumberType),
		InboundURL:                    r.optionalText(attrInboundURL),
		StatusURL:                     r.optionalText(attrStatusURL),
		Label:                         r.optionalText(attrLabel),
		CampaignID:                    r.optionalText(attrCampaignID),
		CarrierLineOptionStatus:       r.optionalText(attrCarrierLineOptionStatus),
		CarrierLineOptionPropagatedAt: r.optionalTimestamp(attrCarrierLineOptionPropagatedAt),
		SMSEnabled:                    r.boolean(attrSMSEnabled),
		MMSEnabled:                    r.boolean(attrMMSEnabled),
		CreatedAt:                     r.timestamp(attrCreatedAt),
		UpdatedAt:                     r.timestamp(attrUpdatedAt),
		Version:                       r.version(attrVersion),
	}
	return n, r.err
}

// itemReader reads attributes of one item, keeping the first problem, so that a decoder reads
// every attribute in one expression and checks one error.
type itemReader struct {
	item map[string]types.AttributeValue
	err  error
}

func (r *itemReader) fail(name, format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("attribute %s: %s", name, fmt.Sprintf(format, args...))
	}
}

// text reads a string that must be there.
func (r *itemReader) text(name string) string {
	switch v := r.item[name].(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case nil:
		r.fail(name, "absent, want a string")
	default:
		r.fail(name, "stored as %s, want a string", typeName(v))
	}
	return ""
}

// optionalText reads a string that may be absent or NULL (nil).
func (r *itemReader) optionalText(name string) *string {
	switch v := r.item[name].(type) {
	case *types.AttributeValueMemberS:
		return &v.Value
	case nil, *types.AttributeValueMemberNULL:
		return nil
	default:
		r.fail(name, "stored as %s, want a string or NULL", typeName(v))
	}
	return nil
}

// textOrEmpty reads a string that may be absent or NULL ("").
func (r *itemReader) textOrEmpty(name string) string {
	if s := r.optionalText(name); s != nil {
		return *s
	}
	return ""
}

// boolean reads a boolean that must be there.
func (r *itemReader) boolean(name string) bool {
	switch v := r.item[name].(type) {
	case *types.AttributeValueMemberBOOL:
		return v.Value
	case nil:
		r.fail(name, "absent, want a boolean")
	default:
		r.fail(name, "stored as %s, want a boolean", typeName(v))
	}
	return false
}

// stringSet reads a string set that may be absent or NULL (nil).
func (r *itemReader) stringSet(name string) []string {
	switch v := r.item[name].(type) {
	case *types.AttributeValueMemberSS:
		return v.Value
	case nil, *types.AttributeValueMemberNULL:
		return nil
	default:
		r.fail(name, "stored as %s, want a string set", typeName(v))
	}
	return nil
}

// numberType reads a number type that must be one of phonenumbers' NumberType values.
func (r *itemReader) numberType(name string) phonenumbers.NumberType {
	t := phonenumbers.NumberType(r.text(name))
	if r.err == nil && !t.Valid() {
		r.fail(name, "%q is not a number type", t)
	}
	return t
}

// version reads a whole number from 0 that may be absent (0).
func (r *itemReader) version(name string) int64 {
	switch v := r.item[name].(type) {
	case nil:
		return 0
	case *types.AttributeValueMemberN:
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil || n < 0 {
			r.fail(name, "%q is not a whole number from 0", v.Value)
		}
		return n
	default:
		r.fail(name, "stored as %s, want a number", typeName(v))
	}
	return 0
}

// timestamp reads a timestamp that must be there: a timestamp that does not parse is corrupt
// data, reported rather than shown to clients as the zero time.
func (r *itemReader) timestamp(name string) time.Time {
	s := r.text(name)
	if r.err != nil {
		return time.Time{}
	}
	t, err := parseTime(s)
	if err != nil {
		r.fail(name, "%v", err)
	}
	return t
}

// optionalTimestamp reads a timestamp that may be absent or NULL (nil).
func (r *itemReader) optionalTimestamp(name string) *time.Time {
	s := r.optionalText(name)
	if s == nil {
		return nil
	}
	t, err := parseTime(*s)
	if err != nil {
		r.fail(name, "%v", err)
		return nil
	}
	return &t
}

// parseTime reads a stored timestamp, in UTC.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err
}

func formatOptionalTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := phonenumbers.FormatTime(*t)
	return &s
}

func stringValue(s string) *types.AttributeValueMemberS {
	return &types.AttributeValueMemberS{Value: s}
}

// typeName names an attribute value's DynamoDB type, for error messages: S for
// *types.AttributeValueMemberS, and so on; the Go type for anything else.
func typeName(v types.AttributeValue) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", v), "*types.AttributeValueMember")
}
