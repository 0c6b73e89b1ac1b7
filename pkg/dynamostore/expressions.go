package dynamostore

import (
	"fmt"
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

// Placeholders of the attributes every update names, and a campaign's status.
const (
	nameID        = "#id"
	nameOrgID     = "#org_id"
	nameUpdatedAt = "#updated_at"
	nameVersion   = "#version"
	nameWriteID   = "#write_id"
	nameStatus    = "#status"
)

// Placeholders of the values every update, or every clear, uses.
const (
	valueOrgID   = ":org_id"
	valueNow     = ":now"
	valueZero    = ":zero"
	valueOne     = ":one"
	valueWriteID = ":write_id"
	// valueNULL holds the type name NULL, for attribute_type.
	valueNULL = ":null"
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
//	    attribute_exists(#id) AND #org_id = :org_id AND #version = :read_version
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
	req.condition = conditionOwned + version + " AND (" + differs + ")"
	if strings.Contains(differs, valueNULL) {
		req.values[valueNULL] = stringValue("NULL")
	}
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
		req.condition = conditionOwned + versionPinnedZero
	} else {
		req.condition = conditionOwned + versionPinned
		req.values[valueReadVersion] = &types.AttributeValueMemberN{Value: strconv.FormatInt(readVersion, 10)}
	}
	return req, nil
}

// newPhoneNumberUpdate assembles what every update of a phone number has: the update expression,
// with the names and values it uses and those of conditionOwned, and the "differs" terms of its
// fields, OR'ed, for the caller to use or not.
func newPhoneNumberUpdate(orgID string, changes []phonenumbers.Change, writeID, now string) (req updateRequest, differs string, err error) {
	req = updateRequest{
		names: map[string]string{
			nameID: attrID, nameOrgID: attrOrgID, nameUpdatedAt: attrUpdatedAt, nameVersion: attrVersion, nameWriteID: attrWriteID,
		},
		values: map[string]types.AttributeValue{
			valueOrgID:   stringValue(orgID),
			valueNow:     stringValue(now),
			valueZero:    &types.AttributeValueMemberN{Value: "0"},
			valueOne:     &types.AttributeValueMemberN{Value: "1"},
			valueWriteID: stringValue(writeID),
		},
	}
	var set, remove, differ strings.Builder
	set.WriteString(updateSet)
	for _, c := range changes {
		f, ok := expressionOf(c.Field)
		if !ok {
			return updateRequest{}, "", fmt.Errorf("no attribute stores the field %q", c.Field)
		}
		req.names[f.name] = f.attr
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
		req.values[f.value] = stringValue(*c.Value)
	}
	req.update = set.String() + remove.String()
	return req, differ.String(), nil
}

// campaignCheck is the ConditionCheck of an attach: the campaign is the caller's and ACTIVE.
func campaignCheck(orgID string) updateRequest {
	return updateRequest{
		condition: conditionCampaignActive,
		names:     map[string]string{nameID: attrID, nameOrgID: attrOrgID, nameStatus: attrStatus},
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
