package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

// API is the part of the DynamoDB client the store calls. Keeping it this narrow documents, and
// lets the template test check, exactly which actions the function needs.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Store reads API keys and campaigns and updates phone numbers.
type Store struct {
	db     API
	tables Tables
}

// New returns a Store using db and the given tables.
func New(db API, tables Tables) *Store {
	return &Store{db: db, tables: tables}
}

// FindAPIKey reads the key stored under secretHash. The read is strongly consistent so that a
// revocation is honoured from the moment it is written.
func (s *Store) FindAPIKey(ctx context.Context, secretHash string) (phonenumbers.APIKey, error) {
	var item APIKeyItem
	found, err := s.getItem(ctx, s.tables.APIKeys, APIKeysHashKey, secretHash, &item)
	if err != nil {
		return phonenumbers.APIKey{}, fmt.Errorf("get api key: %w", err)
	}
	if !found {
		return phonenumbers.APIKey{}, phonenumbers.ErrNotFound()
	}
	return item.apiKey(), nil
}

// FindCampaign reads the campaign with the given id, whatever its organization: the caller
// compares organizations.
func (s *Store) FindCampaign(ctx context.Context, id string) (phonenumbers.Campaign, error) {
	var item CampaignItem
	found, err := s.getItem(ctx, s.tables.Campaigns, CampaignsHashKey, id, &item)
	if err != nil {
		return phonenumbers.Campaign{}, fmt.Errorf("get campaign %s: %w", id, err)
	}
	if !found {
		return phonenumbers.Campaign{}, phonenumbers.ErrNotFound()
	}
	return item.campaign(), nil
}

// UpdatePhoneNumber applies patch to the phone number id of organization orgID in one
// conditional UpdateItem: SET for new values, REMOVE for cleared ones, and updated_at set to now.
// The condition requires the item to exist, to belong to orgID and to differ from the patch in at
// least one field, so a patch that changes nothing writes nothing. When the condition fails, the
// old item DynamoDB returns (ReturnValuesOnConditionCheckFailure) tells a no-op from a missing or
// foreign number without another round trip; engines that do not return it get one fallback read.
func (s *Store) UpdatePhoneNumber(ctx context.Context, orgID, id string, patch phonenumbers.Patch, now time.Time) (phonenumbers.PhoneNumber, error) {
	changes := patch.Changes()
	if len(changes) == 0 {
		return s.ownedPhoneNumber(ctx, orgID, id)
	}
	expr, err := updateExpression(orgID, changes, now)
	if err != nil {
		return phonenumbers.PhoneNumber{}, fmt.Errorf("build update expression: %w", err)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.tables.PhoneNumbers),
		Key:                                 stringKey(PhoneNumbersHashKey, id),
		UpdateExpression:                    expr.Update(),
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var conditionFailed *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &conditionFailed):
		if conditionFailed.Item == nil {
			return s.ownedPhoneNumber(ctx, orgID, id)
		}
		return ownedItem(conditionFailed.Item, orgID)
	case err != nil:
		return phonenumbers.PhoneNumber{}, storageError("update phone number", err)
	}
	return ownedItem(out.Attributes, orgID)
}

// updateExpression builds the SET/REMOVE update and its condition for the given changes.
func updateExpression(orgID string, changes []phonenumbers.Change, now time.Time) (expression.Expression, error) {
	update := expression.Set(expression.Name(attrUpdatedAt), expression.Value(formatTime(now)))
	var differs []expression.ConditionBuilder
	for _, c := range changes {
		name := expression.Name(fieldAttribute[c.Field])
		if c.Value == nil {
			update = update.Remove(name)
			// A NULL attribute already reads as cleared: removing it changes nothing visible.
			differs = append(differs, expression.And(
				expression.AttributeExists(name),
				expression.Not(name.AttributeType(expression.Null)),
			))
			continue
		}
		value := expression.Value(*c.Value)
		update = update.Set(name, value)
		differs = append(differs, expression.Or(expression.AttributeNotExists(name), name.NotEqual(value)))
	}
	changed := differs[0]
	if len(differs) > 1 {
		changed = expression.Or(differs[0], differs[1], differs[2:]...)
	}
	condition := expression.And(
		expression.AttributeExists(expression.Name(attrID)),
		expression.Name(attrOrgID).Equal(expression.Value(orgID)),
		changed,
	)
	return expression.NewBuilder().WithUpdate(update).WithCondition(condition).Build()
}

// fieldAttribute maps each updatable field (phonenumbers.UpdatableFields) to the attribute that
// stores it: the store's one listing of the updatable fields.
var fieldAttribute = map[phonenumbers.Field]string{
	phonenumbers.FieldInboundURL: "inbound_url",
	phonenumbers.FieldStatusURL:  "status_url",
	phonenumbers.FieldLabel:      "label",
	phonenumbers.FieldCampaignID: "campaign_id",
}

// ownedPhoneNumber reads the phone number and returns it if orgID owns it.
func (s *Store) ownedPhoneNumber(ctx context.Context, orgID, id string) (phonenumbers.PhoneNumber, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.tables.PhoneNumbers),
		Key:            stringKey(PhoneNumbersHashKey, id),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return phonenumbers.PhoneNumber{}, storageError("get phone number", err)
	}
	return ownedItem(out.Item, orgID)
}

// ownedItem decodes a phone number item, reporting a missing item and another organization's item
// with the same not-found error so that existence never leaks across organizations.
func ownedItem(item map[string]types.AttributeValue, orgID string) (phonenumbers.PhoneNumber, error) {
	// Ownership first: a missing item (no org_id at all) and a foreign one are "not found" before
	// anything else about them is looked at, so that not even a decoding failure can be observed.
	owner, ok := item[attrOrgID].(*types.AttributeValueMemberS)
	if !ok || owner.Value != orgID {
		return phonenumbers.PhoneNumber{}, phonenumbers.ErrNotFound()
	}
	var stored PhoneNumberItem
	if err := attributevalue.UnmarshalMap(item, &stored); err != nil {
		return phonenumbers.PhoneNumber{}, fmt.Errorf("decode phone number: %w", err)
	}
	number, err := stored.phoneNumber()
	if err != nil {
		return phonenumbers.PhoneNumber{}, fmt.Errorf("decode phone number %s: %w", stored.ID, err)
	}
	return number, nil
}

// getItem reads one item by its string partition key with a strongly consistent read and decodes
// it into out. It reports whether the item exists.
func (s *Store) getItem(ctx context.Context, table, hashKey, key string, out any) (bool, error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            stringKey(hashKey, key),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, storageError("get item", err)
	}
	if len(res.Item) == 0 {
		return false, nil
	}
	if err := attributevalue.UnmarshalMap(res.Item, out); err != nil {
		return false, fmt.Errorf("decode item: %w", err)
	}
	return true, nil
}

func stringKey(name, value string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{name: &types.AttributeValueMemberS{Value: value}}
}
