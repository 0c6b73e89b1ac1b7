package dynamostore

import (
	"context"
	"crypto/rand"
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

// UpdatePhoneNumber applies patch to the phone number id of organization orgID, if its version
// satisfies cond, in one round trip to storage, and returns the number as stored afterwards.
//
// A patch with changes is one conditional UpdateItem: SET for new values, REMOVE for cleared
// ones, updated_at set to now, the version incremented and the write's own random id recorded.
// Its condition requires the item to exist, to belong to orgID, to satisfy cond and to differ from
// the patch in at least one field, so a patch that changes nothing writes nothing. When the
// condition fails, the item it failed on (ReturnValuesOnConditionCheckFailure; DynamoDB, moto and
// the local dynalite return it) decides the answer without another round trip: see outcome.
//
// A patch without changes is one strongly consistent GetItem, decided the same way. So a missing
// number, another organization's, a no-op and a failed If-Match all cost one storage call here,
// as a success does.
func (s *Store) UpdatePhoneNumber(ctx context.Context, orgID, id string, patch phonenumbers.Patch, cond phonenumbers.Precondition, now time.Time) (phonenumbers.PhoneNumber, error) {
	changes := patch.Changes()
	if len(changes) == 0 {
		item, err := s.getItem(ctx, s.tables.PhoneNumbers, PhoneNumbersHashKey, id)
		if err != nil {
			return phonenumbers.PhoneNumber{}, storageError("get phone number", err)
		}
		return outcome(item, orgID, patch, cond, "")
	}
	// A fresh id per call; the SDK's retries of the call resend the same input, so a retry whose
	// first attempt was applied finds this id on the item.
	writeID := rand.Text()
	expr, err := phoneNumberUpdate(orgID, changes, cond, writeID, formatTime(now))
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
		return outcome(conditionFailed.Item, orgID, patch, cond, writeID)
	case err != nil:
		return phonenumbers.PhoneNumber{}, storageError("update phone number", err)
	}
	number, err := decodePhoneNumber(out.Attributes)
	if err != nil {
		return phonenumbers.PhoneNumber{}, fmt.Errorf("update applied, but the item it wrote does not decode: %w", err)
	}
	return number, nil
}

// outcome decides what a patch that was not written comes to, from the item as stored (nil for
// none): the item the write's condition failed on, or the item read for a patch without changes.
// In order:
//   - no item, another organization's, or one without an id or organization: not found, the
//     same error for all, so that existence never leaks across organizations;
//   - the item carries writeID: the write was applied by an earlier attempt of this very call, and
//     the item is its result;
//   - an item that does not decode: corrupt, an internal error (nothing was written);
//   - cond does not match the item's version: precondition failed, with that version;
//   - the patch changes nothing on the item: the item, unchanged;
//   - anything else means the condition failed on something the decoding accepts: an internal
//     error.
func outcome(item map[string]types.AttributeValue, orgID string, patch phonenumbers.Patch, cond phonenumbers.Precondition, writeID string) (phonenumbers.PhoneNumber, error) {
	if err := checkOwner(item, orgID); err != nil {
		return phonenumbers.PhoneNumber{}, err
	}
	number, err := decodePhoneNumber(item)
	if err != nil {
		return phonenumbers.PhoneNumber{}, fmt.Errorf("corrupt phone number item, left unchanged: %w", err)
	}
	if written, ok := item[attrWriteID].(*types.AttributeValueMemberS); ok && writeID != "" && written.Value == writeID {
		return number, nil
	}
	if !cond.Matches(number.Version) {
		return phonenumbers.PhoneNumber{}, phonenumbers.PreconditionFailed(number.Version)
	}
	if _, changed := patch.Apply(number); !changed {
		return number, nil
	}
	return phonenumbers.PhoneNumber{}, errors.New("the update's condition failed on an item that owns, matches and differs from the patch")
}

// checkOwner returns nil when item is a phone number of orgID, and the not-found error otherwise:
// for no item and another organization's alike, and for an item without an id or organization,
// which belongs to nobody (its corruption is the error's cause, for the log; the client sees the
// same 404). Ownership is decided before anything else about the item is looked at, so that not
// even a decoding failure of another organization's item can be observed.
func checkOwner(item map[string]types.AttributeValue, orgID string) error {
	if item == nil {
		return phonenumbers.ErrNotFound()
	}
	owner, _ := item[attrOrgID].(*types.AttributeValueMemberS)
	id, _ := item[attrID].(*types.AttributeValueMemberS)
	if owner == nil || owner.Value == "" || id == nil || id.Value == "" {
		notFound := phonenumbers.ErrNotFound()
		notFound.Err = errors.New("corrupt phone number item: no id or organization")
		return notFound
	}
	if owner.Value != orgID {
		return phonenumbers.ErrNotFound()
	}
	return nil
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
