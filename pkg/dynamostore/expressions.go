package dynamostore

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

// Expressions are plain text assembled from the constant fragments below: one name placeholder
// per attribute (#attribute), one value placeholder per value (:name), no value ever spliced into
// the text, and no brackets beyond those the logic needs (DynamoDB's precedence is NOT, then AND,
// then OR). An expression builder would write the same logic with a bracket around every operand,
// which costs dynalite's parser milliseconds per request, and costs the function about 13% of a
// request's CPU and 95 allocations.
//
// The update of a phone number, in full. A patch that sets the label and clears the status URL,
// sent with If-Match: "3", "0", is this one UpdateItem:
//
//	UpdateExpression:    SET #updated_at = :now, #version = if_not_exists(#version, :zero) + :one,
//	                         #write_id = :write_id, #label = :label REMOVE #status_url
//	ConditionExpression: attribute_exists(#id) AND #org_id = :org_id
//	                     AND <conditionStoredTypes: every attribute has the type the code reads>
//	                     AND (attribute_not_exists(#version) OR #version IN (:v0, :v1))
//	                     AND (attribute_not_exists(#label) OR #label <> :label OR
//	                          attribute_exists(#status_url) AND NOT attribute_type(#status_url, :null))
//
// Each field the patch touches adds its SET or REMOVE clause and its "differs" term, in the order
// of phonenumbers.UpdatableFields; the terms are OR'ed, so that a patch equal to what is stored
// fails the condition and writes nothing. The version term is the If-Match (versionCondition):
// none without one or with "*", an IN list of the versions it names (with
// attribute_not_exists when it names 0, the version of a number stored without one), and a term
// no item satisfies when it names nothing that can match.

// Placeholders of the values an update uses that vary from request to request.
const (
	valueOrgID   = ":org_id"
	valueNow     = ":now"
	valueWriteID = ":write_id"
	// valueReadVersion is the version the number had when it was read, for an attach.
	valueReadVersion = ":read_version"
	// valueActive is the status ACTIVE.
	valueActive = ":active"
)

// The fixed parts of the update of a phone number.
const (
	updateSet      = "SET #updated_at = :now, #version = if_not_exists(#version, :zero) + :one, #write_id = :write_id"
	conditionOwned = "attribute_exists(#id) AND #org_id = :org_id"
)

// conditionStoredTypes requires every attribute decodePhoneNumber reads to have the type it reads,
// so that a write never lands on an item that then does not decode: a corrupt item fails the
// condition, nothing is written, and the item returned with the failure is answered 500 (finding 4).
// Only operators defined on every type are used (a comparison with a value of another type is
// simply false), so that another organization's corrupt item still fails on ownership alone and is
// the same 404 as a missing one; size(), for one, is a validation error on a number. Two terms
// are longer than DynamoDB needs, so that both local engines agree with it: BETWEEN is preceded
// by the type it compares (moto fails the request with a type error where DynamoDB's comparison
// is simply false), and a boolean is "of type BOOL, or equal to false and not a number" (the local
// dynalite's attribute_type takes a BOOL false for no value; moto's equality takes the number 0
// for false). For the same dynalite quirk, an empty string fails attribute_type there, where
// DynamoDB accepts it (the store never writes one: "" clears a field).
//
// What a condition cannot check remains, and decoding still refuses it after the write (a 500,
// logged as a corrupt record, the write applied): a timestamp must be a string between :time_min
// and :time_max, which "2026-13-45T99:99:99Z" and "2026" are though they are not dates; a version
// must be a number from 0 to the int64 maximum, which 1.5 is though it is not whole.
const conditionStoredTypes = " AND #number_type IN (:local, :toll_free, :short_code) AND attribute_type(#number, :s)" +
	" AND (attribute_not_exists(#inbound_url) OR attribute_type(#inbound_url, :s) OR attribute_type(#inbound_url, :null))" +
	" AND (attribute_not_exists(#status_url) OR attribute_type(#status_url, :s) OR attribute_type(#status_url, :null))" +
	" AND (attribute_not_exists(#label) OR attribute_type(#label, :s) OR attribute_type(#label, :null))" +
	" AND (attribute_not_exists(#campaign_id) OR attribute_type(#campaign_id, :s) OR attribute_type(#campaign_id, :null))" +
	" AND (attribute_not_exists(#carrier_line_option_status) OR attribute_type(#carrier_line_option_status, :s)" +
	" OR attribute_type(#carrier_line_option_status, :null))" +
	" AND (attribute_not_exists(#carrier_line_option_propagated_at) OR attribute_type(#carrier_line_option_propagated_at, :null)" +
	" OR attribute_type(#carrier_line_option_propagated_at, :s) AND #carrier_line_option_propagated_at BETWEEN :time_min AND :time_max)" +
	" AND (attribute_type(#sms_enabled, :bool) OR #sms_enabled = :false AND NOT attribute_type(#sms_enabled, :n))" +
	" AND (attribute_type(#mms_enabled, :bool) OR #mms_enabled = :false AND NOT attribute_type(#mms_enabled, :n))" +
	" AND attribute_type(#created_at, :s) AND #created_at BETWEEN :time_min AND :time_max" +
	" AND attribute_type(#updated_at, :s) AND #updated_at BETWEEN :time_min AND :time_max" +
	" AND (attribute_not_exists(#version) OR attribute_type(#version, :n) AND #version BETWEEN :zero AND :version_max)"

// phoneNumberNames names every attribute of a phone number: conditionStoredTypes uses them all,
// so every update of a number uses exactly these. Shared by every request; never modified.
var phoneNumberNames = map[string]string{
	"#id": attrID, "#org_id": attrOrgID, "#number": attrNumber, "#number_type": attrNumberType,
	"#inbound_url": attrInboundURL, "#status_url": attrStatusURL, "#label": attrLabel, "#campaign_id": attrCampaignID,
	"#carrier_line_option_status":        attrCarrierLineOptionStatus,
	"#carrier_line_option_propagated_at": attrCarrierLineOptionPropagatedAt,
	"#sms_enabled":                       attrSMSEnabled, "#mms_enabled": attrMMSEnabled,
	"#created_at": attrCreatedAt, "#updated_at": attrUpdatedAt, "#version": attrVersion, "#write_id": attrWriteID,
}

// phoneNumberConstants are the values every update of a number uses whatever the request.
var phoneNumberConstants = map[string]types.AttributeValue{
	":zero": &types.AttributeValueMemberN{Value: "0"},
	":one":  &types.AttributeValueMemberN{Value: "1"},
	// The type names attribute_type takes.
	":s":     stringValue("S"),
	":n":     stringValue("N"),
	":null":  stringValue("NULL"),
	":bool":  stringValue("BOOL"),
	":false": &types.AttributeValueMemberBOOL{Value: false},
	// The number types.
	":local":      stringValue(string(phonenumbers.NumberTypeLocal)),
	":toll_free":  stringValue(string(phonenumbers.NumberTypeTollFree)),
	":short_code": stringValue(string(phonenumbers.NumberTypeShortCode)),
	// Every RFC 3339 timestamp from year 0000 to 9999 sorts between these two, as a string.
	":time_min":    stringValue("0000-01-01T00:00:00Z"),
	":time_max":    stringValue("9999-12-31T23:59:59Z"),
	":version_max": &types.AttributeValueMemberN{Value: strconv.FormatInt(math.MaxInt64, 10)},
}

// The version term of the condition, per kind of If-Match.
const (
	// versionInPrefix starts the list of versions an If-Match names; versionValues and ")"
	// complete it.
	versionInPrefix = " AND #version IN ("
	// versionZeroOrInPrefix is versionInPrefix when the If-Match names version 0.
	versionZeroOrInPrefix = " AND (attribute_not_exists(#version) OR #version IN ("
	// versionNeverMatches is the term of an If-Match that can match nothing (weak tags only, for
	// example): the write still makes its one round trip, and the item it fails on decides the
	// answer, so a 404 and a 412 cost the same.
	versionNeverMatches = " AND attribute_not_exists(#id)"
)

// The attach of a campaign (a patch carrying campaign_id) is one TransactWriteItems of two items:
//
//	ConditionCheck on the campaign:
//	    attribute_exists(#id) AND #org_id = :org_id AND #status = :active
//	Update of the number, the same SET and REMOVE as above, on the condition
//	    attribute_exists(#id) AND #org_id = :org_id AND <conditionStoredTypes>
//	    AND #version = :read_version
//
// The number was read first (concurrently with the key and campaign lookups) and the patch
// decided against it, so the Update is pinned to the version read (versionPinned), which the
// If-Match matched and from which the patch differs; the campaign must be the caller's and ACTIVE
// at the moment of the write, not only when it was read.
const (
	conditionCampaignActive = "attribute_exists(#id) AND #org_id = :org_id AND #status = :active"
	// versionPinned pins the Update to the version read; versionPinnedZero to version 0, which a
	// number stored without a version has.
	versionPinned     = " AND #version = :read_version"
	versionPinnedZero = " AND (attribute_not_exists(#version) OR #version = :zero)"
)

// versionValues are the placeholders of the versions an If-Match names, one per entity-tag.
var versionValues = [phonenumbers.MaxPreconditionTags]string{
	":v0", ":v1", ":v2", ":v3", ":v4", ":v5", ":v6", ":v7",
	":v8", ":v9", ":v10", ":v11", ":v12", ":v13", ":v14", ":v15",
}

// fieldExpression is how an update writes one updatable field, and how its condition tells
// whether the write would change the stored value.
type fieldExpression struct {
	field phonenumbers.Field
	// attr is the attribute that stores the field; name and value are its placeholders.
	attr, name, value string
	// set is the SET clause giving the field the patch's value.
	set string
	// differs holds when the stored value is not the patch's value.
	differs string
	// holdsValue holds when the field has a value that REMOVE would take away: an absent and a
	// NULL attribute both read as cleared.
	holdsValue string
}

// fieldExpressions is the store's table of updatable fields (phonenumbers.UpdatableFields): the
// attribute that stores each, and the expression fragments that write it.
var fieldExpressions = [...]fieldExpression{
	{
		field: phonenumbers.FieldInboundURL, attr: attrInboundURL, name: "#inbound_url", value: ":inbound_url",
		set:        "#inbound_url = :inbound_url",
		differs:    "attribute_not_exists(#inbound_url) OR #inbound_url <> :inbound_url",
		holdsValue: "attribute_exists(#inbound_url) AND NOT attribute_type(#inbound_url, :null)",
	},
	{
		field: phonenumbers.FieldStatusURL, attr: attrStatusURL, name: "#status_url", value: ":status_url",
		set:        "#status_url = :status_url",
		differs:    "attribute_not_exists(#status_url) OR #status_url <> :status_url",
		holdsValue: "attribute_exists(#status_url) AND NOT attribute_type(#status_url, :null)",
	},
	{
		field: phonenumbers.FieldLabel, attr: attrLabel, name: "#label", value: ":label",
		set:        "#label = :label",
		differs:    "attribute_not_exists(#label) OR #label <> :label",
		holdsValue: "attribute_exists(#label) AND NOT attribute_type(#label, :null)",
	},
	{
		field: phonenumbers.FieldCampaignID, attr: attrCampaignID, name: "#campaign_id", value: ":campaign_id",
		set:        "#campaign_id = :campaign_id",
		differs:    "attribute_not_exists(#campaign_id) OR #campaign_id <> :campaign_id",
		holdsValue: "attribute_exists(#campaign_id) AND NOT attribute_type(#campaign_id, :null)",
	},
}

// expressionOf returns the entry of fieldExpressions for field.
func expressionOf(field phonenumbers.Field) (fieldExpression, bool) {
	for _, f := range fieldExpressions {
		if f.field == field {
			return f, true
		}
	}
	return fieldExpression{}, false
}

// updateRequest is the expression part of a write: an UpdateItem, a transaction's Update, or (with
// no update) a transaction's ConditionCheck.
type updateRequest struct {
	update, condition string
	names             map[string]string
	values            map[string]types.AttributeValue
}

// phoneNumberUpdate assembles the update of a phone number of orgID that applies changes (at
// least one) at now, if the number's version satisfies cond, as the write writeID.
func phoneNumberUpdate(orgID string, changes []phonenumbers.Change, cond phonenumbers.Precondition, writeID, now string) (updateRequest, error) {
	req, differs, err := newPhoneNumberUpdate(orgID, changes, writeID, now)
	if err != nil {
		return updateRequest{}, err
	}
	version, err := versionCondition(cond, req.values)
	if err != nil {
		return updateRequest{}, err
	}
	req.condition = conditionOwned + conditionStoredTypes + version + " AND (" + differs + ")"
	return req, nil
}

// pinnedPhoneNumberUpdate assembles the update of an attach: changes (at least one) applied at
// now to the number of orgID, if its version is still readVersion, as the write writeID.
func pinnedPhoneNumberUpdate(orgID string, changes []phonenumbers.Change, readVersion int64, writeID, now string) (updateRequest, error) {
	req, _, err := newPhoneNumberUpdate(orgID, changes, writeID, now)
	if err != nil {
		return updateRequest{}, err
	}
	if readVersion == 0 {
		req.condition = conditionOwned + conditionStoredTypes + versionPinnedZero
	} else {
		req.condition = conditionOwned + conditionStoredTypes + versionPinned
		req.values[valueReadVersion] = &types.AttributeValueMemberN{Value: strconv.FormatInt(readVersion, 10)}
	}
	return req, nil
}

// newPhoneNumberUpdate assembles what every update of a phone number has: the update expression,
// the names (all of them) and the values it and conditionOwned and conditionStoredTypes use, and
// the "differs" terms of its fields, OR'ed, for the caller to use or not.
func newPhoneNumberUpdate(orgID string, changes []phonenumbers.Change, writeID, now string) (req updateRequest, differs string, err error) {
	values := make(map[string]types.AttributeValue, len(phoneNumberConstants)+4+len(changes))
	maps.Copy(values, phoneNumberConstants)
	values[valueOrgID] = stringValue(orgID)
	values[valueNow] = stringValue(now)
	values[valueWriteID] = stringValue(writeID)
	req = updateRequest{names: phoneNumberNames, values: values}
	var set, remove, differ strings.Builder
	set.WriteString(updateSet)
	for _, c := range changes {
		f, ok := expressionOf(c.Field)
		if !ok {
			return updateRequest{}, "", fmt.Errorf("no attribute stores the field %q", c.Field)
		}
		if differ.Len() > 0 {
			differ.WriteString(" OR ")
		}
		if c.Value == nil {
			if remove.Len() == 0 {
				remove.WriteString(" REMOVE ")
			} else {
				remove.WriteString(", ")
			}
			remove.WriteString(f.name)
			differ.WriteString(f.holdsValue)
			continue
		}
		set.WriteString(", ")
		set.WriteString(f.set)
		differ.WriteString(f.differs)
		values[f.value] = stringValue(*c.Value)
	}
	req.update = set.String() + remove.String()
	return req, differ.String(), nil
}

// campaignNames names the attributes conditionCampaignActive uses. Never modified.
var campaignNames = map[string]string{"#id": attrID, "#org_id": attrOrgID, "#status": attrStatus}

// campaignCheck is the ConditionCheck of an attach: the campaign is the caller's and ACTIVE.
func campaignCheck(orgID string) updateRequest {
	return updateRequest{
		condition: conditionCampaignActive,
		names:     campaignNames,
		values: map[string]types.AttributeValue{
			valueOrgID:  stringValue(orgID),
			valueActive: stringValue(string(phonenumbers.CampaignActive)),
		},
	}
}

// versionCondition returns the version term of the condition for cond (see the constants), and
// adds the values it uses to values.
func versionCondition(cond phonenumbers.Precondition, values map[string]types.AttributeValue) (string, error) {
	switch {
	case !cond.Present() || cond.Any:
		return "", nil
	case len(cond.Versions) == 0:
		return versionNeverMatches, nil
	case len(cond.Versions) > len(versionValues):
		return "", fmt.Errorf("if-match names %d versions, at most %d can be checked", len(cond.Versions), len(versionValues))
	}
	prefix, suffix := versionInPrefix, ")"
	if slices.Contains(cond.Versions, 0) {
		prefix, suffix = versionZeroOrInPrefix, "))"
	}
	var b strings.Builder
	b.WriteString(prefix)
	for i, v := range cond.Versions {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(versionValues[i])
		values[versionValues[i]] = &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
	}
	b.WriteString(suffix)
	return b.String(), nil
}
