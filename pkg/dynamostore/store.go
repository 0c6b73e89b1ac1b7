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
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
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
	// The hash stays out of the error: it would let a log reader test guesses of the secret.
	return findItem(ctx, s, s.tables.APIKeys, APIKeysHashKey, secretHash, "api key", decodeAPIKey)
}

// FindCampaign reads the campaign with the given id, whatever its organization: the caller
// compares organizations.
func (s *Store) FindCampaign(ctx context.Context, id string) (phonenumbers.Campaign, error) {
	return findItem(ctx, s, s.tables.Campaigns, CampaignsHashKey, id, "campaign "+id, decodeCampaign)
}

// findItem reads the item key of table and decodes it; a missing item is NotFound. what names
// the item in a decoding error.
func findItem[T any](ctx context.Context, s *Store, table, hashKey, key, what string, decode func(map[string]types.AttributeValue) (T, error)) (T, error) {
	var zero T
	item, err := s.getItem(ctx, table, hashKey, key)
	if err != nil {
		return zero, storageError(err)
	}
	if item == nil {
		return zero, phonenumbers.NotFoundError()
	}
	v, err := decode(item)
	if err != nil {
		return zero, fmt.Errorf("decode %s: %w", what, err)
	}
	return v, nil
}

// FindPhoneNumber reads the phone number id with a strongly consistent read, whatever its
// organization (the caller compares). No item, or one without an id or organization, is not
// found; an item that does not decode is an error, returned with the number's ID and OrgID.
func (s *Store) FindPhoneNumber(ctx context.Context, id string) (phonenumbers.PhoneNumber, error) {
	item, err := s.getItem(ctx, s.tables.PhoneNumbers, PhoneNumbersHashKey, id)
	if err != nil {
		return phonenumbers.PhoneNumber{}, storageError(err)
	}
	owner, err := ownerOf(item)
	if err != nil {
		return phonenumbers.PhoneNumber{}, err
	}
	number, err := decodePhoneNumber(item)
	if err != nil {
		return phonenumbers.PhoneNumber{ID: id, OrgID: owner}, fmt.Errorf("phone number %s: %w: %w", id, phonenumbers.ErrCorruptRecord, err)
	}
	return number, nil
}

// UpdatePhoneNumber applies patch to the phone number id of organization orgID, if its version
// satisfies cond, in one round trip to storage, and returns the number as stored afterwards.
//
// A patch with changes is one conditional UpdateItem: SET for new values, REMOVE for cleared
// ones, updated_at set to now, the version incremented and the write's own random id recorded.
// Its condition requires the item to exist, to belong to orgID, to satisfy cond and to differ from
// the patch in at least one field, so a patch that changes nothing writes nothing. When the
// condition fails, the item it failed on (ReturnValuesOnConditionCheckFailure; DynamoDB, moto and
// the local dynalite return it) decides the answer without another round trip: see decide.
//
// A patch without changes is one strongly consistent GetItem, decided the same way. So a missing
// number, another organization's, a no-op and a failed If-Match all cost one storage call here,
// as a success does.
func (s *Store) UpdatePhoneNumber(ctx context.Context, orgID, id string, patch phonenumbers.Patch, cond phonenumbers.Precondition, now time.Time) (phonenumbers.PhoneNumber, error) {
	changes := patch.Changes()
	if len(changes) == 0 {
		item, err := s.getItem(ctx, s.tables.PhoneNumbers, PhoneNumbersHashKey, id)
		if err != nil {
			return phonenumbers.PhoneNumber{}, storageError(err)
		}
		return notWritten(item, orgID, patch, cond, "")
	}
	if patch.CampaignID != nil {
		// The campaign's state must hold at the moment of the write: only AttachCampaign checks it.
		return phonenumbers.PhoneNumber{}, errors.New("a patch carrying campaign_id is applied by AttachCampaign")
	}
	// A fresh id per call; the SDK's retries of the call resend the same input, so a retry whose
	// first attempt was applied finds this id on the item.
	writeID := rand.Text()
	expr, err := phoneNumberUpdate(orgID, changes, cond, writeID, phonenumbers.FormatTime(now))
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
		return notWritten(conditionFailed.Item, orgID, patch, cond, writeID)
	case err != nil:
		return phonenumbers.PhoneNumber{}, storageError(err)
	}
	number, err := decodePhoneNumber(out.Attributes)
	if err != nil {
		// What conditionStoredTypes cannot check (see there): the write was applied, and is reported.
		return phonenumbers.PhoneNumber{}, fmt.Errorf("phone number %s: update applied, but the item it wrote does not decode: %w: %w", id, phonenumbers.ErrCorruptRecord, err)
	}
	return number, nil
}

// notWritten is decide for a write whose condition failed, or a patch without changes: a patch
// that still needs a write means the condition failed on something decoding accepts.
func notWritten(item map[string]types.AttributeValue, orgID string, patch phonenumbers.Patch, cond phonenumbers.Precondition, writeID string) (phonenumbers.PhoneNumber, error) {
	number, write, err := decide(item, orgID, patch, cond, writeID)
	if err == nil && write {
		return phonenumbers.PhoneNumber{}, errors.New("the update's condition failed on an item that is the caller's, matches the If-Match and differs from the patch")
	}
	return number, err
}

// decide tells what patch comes to on a number as stored (item; nil for none), when it was not
// written: the item a write's condition failed on, or the item read for a patch without changes
// or for an attach. In order:
//   - no item, another organization's, or one without an id or organization: not found, the
//     same error for all, so that existence never leaks across organizations;
//   - an item that does not decode: corrupt, an internal error (nothing was written);
//   - the item carries writeID: the write was applied by an earlier attempt of this very call,
//     and the item is its result;
//   - cond does not match the item's version: precondition failed, with that version;
//   - the patch changes nothing on the item: the item, unchanged;
//   - otherwise the patch is still to be written to this number (write is true).
func decide(item map[string]types.AttributeValue, orgID string, patch phonenumbers.Patch, cond phonenumbers.Precondition, writeID string) (number phonenumbers.PhoneNumber, write bool, err error) {
	owner, err := ownerOf(item)
	if err != nil {
		return phonenumbers.PhoneNumber{}, false, err
	}
	if owner != orgID {
		return phonenumbers.PhoneNumber{}, false, phonenumbers.NotFoundError()
	}
	number, err = decodePhoneNumber(item)
	if err != nil {
		return phonenumbers.PhoneNumber{}, false, fmt.Errorf("phone number item, left unchanged: %w: %w", phonenumbers.ErrCorruptRecord, err)
	}
	if written, ok := item[attrWriteID].(*types.AttributeValueMemberS); ok && writeID != "" && written.Value == writeID {
		return number, false, nil
	}
	if !cond.Matches(number.Version) {
		return phonenumbers.PhoneNumber{}, false, phonenumbers.PreconditionFailed(number.Version)
	}
	_, changed := patch.Apply(number)
	return number, changed, nil
}

// ownerOf returns the organization of a phone number item, and the not-found error for no item
// and for an item without an id or organization, which belongs to nobody (its corruption is the
// error's cause, for the log; the client sees the same 404). Ownership is decided before anything
// else about an item is looked at, so that not even a decoding failure of another organization's
// item can be observed.
func ownerOf(item map[string]types.AttributeValue) (string, error) {
	if item == nil {
		return "", phonenumbers.NotFoundError()
	}
	owner, _ := item[attrOrgID].(*types.AttributeValueMemberS)
	id, _ := item[attrID].(*types.AttributeValueMemberS)
	if owner == nil || owner.Value == "" || id == nil || id.Value == "" {
		notFound := phonenumbers.NotFoundError()
		r := itemReader{item: item}
		notFound.Err = fmt.Errorf("phone number item (id %q, org_id %q): %w: no id or organization",
			r.textOrEmpty(attrID), r.textOrEmpty(attrOrgID), phonenumbers.ErrCorruptRecord)
		return "", notFound
	}
	return owner.Value, nil
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
