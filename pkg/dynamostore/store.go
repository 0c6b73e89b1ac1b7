package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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
	item, err := s.getItem(ctx, s.tables.APIKeys, APIKeysHashKey, secretHash)
	if err != nil {
		return phonenumbers.APIKey{}, storageError("get api key", err)
	}
	if item == nil {
		return phonenumbers.APIKey{}, phonenumbers.ErrNotFound()
	}
	key, err := decodeAPIKey(item)
	if err != nil {
		return phonenumbers.APIKey{}, fmt.Errorf("decode api key: %w", err)
	}
	return key, nil
}

// FindCampaign reads the campaign with the given id, whatever its organization: the caller
// compares organizations.
func (s *Store) FindCampaign(ctx context.Context, id string) (phonenumbers.Campaign, error) {
	item, err := s.getItem(ctx, s.tables.Campaigns, CampaignsHashKey, id)
	if err != nil {
		return phonenumbers.Campaign{}, storageError("get campaign "+id, err)
	}
	if item == nil {
		return phonenumbers.Campaign{}, phonenumbers.ErrNotFound()
	}
	c, err := decodeCampaign(item)
	if err != nil {
		return phonenumbers.Campaign{}, fmt.Errorf("decode campaign %s: %w", id, err)
	}
	return c, nil
}

// UpdatePhoneNumber applies patch to the phone number id of organization orgID in one
// conditional UpdateItem: SET for new values, REMOVE for cleared ones, and updated_at set to now.
// The condition requires the item to exist, to belong to orgID and to differ from the patch in at
// least one field, so a patch that changes nothing writes nothing. When the condition fails, the
// old item DynamoDB returns (ReturnValuesOnConditionCheckFailure) tells a no-op from a missing or
// foreign number without another round trip; engines that do not return it get one fallback read.
func (s *Store) UpdatePhoneNumber(ctx context.Context, orgID, id string, patch phonenumbers.Patch, cond phonenumbers.Precondition, now time.Time) (phonenumbers.PhoneNumber, error) {
	changes := patch.Changes()
	if len(changes) == 0 {
		return s.ownedPhoneNumber(ctx, orgID, id)
	}
	expr, err := phoneNumberUpdate(orgID, changes, formatTime(now))
	if err != nil {
		return phonenumbers.PhoneNumber{}, fmt.Errorf("build update expression: %w", err)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.tables.PhoneNumbers),
		Key:                                 stringKey(PhoneNumbersHashKey, id),
		UpdateExpression:                    aws.String(expr.update),
		ConditionExpression:                 aws.String(expr.condition),
		ExpressionAttributeNames:            expr.names,
		ExpressionAttributeValues:           expr.values,
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

// ownedPhoneNumber reads the phone number and returns it if orgID owns it.
func (s *Store) ownedPhoneNumber(ctx context.Context, orgID, id string) (phonenumbers.PhoneNumber, error) {
	item, err := s.getItem(ctx, s.tables.PhoneNumbers, PhoneNumbersHashKey, id)
	if err != nil {
		return phonenumbers.PhoneNumber{}, storageError("get phone number", err)
	}
	return ownedItem(item, orgID)
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
	number, err := decodePhoneNumber(item)
	if err != nil {
		return phonenumbers.PhoneNumber{}, fmt.Errorf("decode phone number %s: %w", number.ID, err)
	}
	return number, nil
}

// getItem reads one item by its string partition key with a strongly consistent read; nil when
// there is none. Its error is the SDK's, for the caller to wrap with what it was reading.
func (s *Store) getItem(ctx context.Context, table, hashKey, key string) (map[string]types.AttributeValue, error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            stringKey(hashKey, key),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	if len(res.Item) == 0 {
		return nil, nil
	}
	return res.Item, nil
}

func stringKey(name, value string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{name: stringValue(value)}
}
