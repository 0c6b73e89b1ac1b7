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

// maxAttachAttempts bounds how often AttachCampaign writes when other writers keep changing the
// number between its read and the write. Each attempt is pinned to the version the previous one
// found, so an attempt fails only because another write to the number succeeded meanwhile: with N
// writers at once on one number, the last one needs N attempts. Three were measured to be too few
// (25 concurrent attaches among 100 PATCHes of one number answered 503); the bound is set well
// above any plausible burst on one number, and the request's deadline stops the loop first.
const maxAttachAttempts = 64

// The cancellation reason codes of a TransactionCanceledException the store acts on.
const (
	reasonNone                  = "None"
	reasonConditionalCheck      = "ConditionalCheckFailed"
	reasonTransactionConflict   = "TransactionConflict"
	reasonThrottling            = "ThrottlingError"
	reasonProvisionedThroughput = "ProvisionedThroughputExceeded"
	reasonRequestLimitExceeded  = "RequestLimitExceeded"
)

// AttachCampaign applies patch, which carries campaign_id, to current, the number of orgID as
// FindPhoneNumber read it (its version matching cond, the patch changing it), in one
// TransactWriteItems: a ConditionCheck that the campaign is orgID's and ACTIVE, and the update of
// the number pinned to the version read (see expressions.go). The transaction returns no item,
// so the number returned is current with the patch applied, updated_at now and the version one
// more, exactly what was written.
//
// A cancelled transaction is decided from its cancellation reasons, each with the item it failed
// on: the campaign's first (checks 9 and 10 come before 11), then the number's, as a failed
// UpdateItem is (decide): missing or foreign 404, its own earlier attempt 200, another version
// than cond names 412, nothing left to change 200. A number another writer changed in between
// but that the patch still changes is written again, pinned to its new version, up to
// maxAttachAttempts times in all. So a success costs one storage call here (four for the request:
// the key, campaign and number reads, two of them concurrent with the key lookup, then this), and
// nothing is read after the write.
func (s *Store) AttachCampaign(ctx context.Context, orgID string, current phonenumbers.PhoneNumber, patch phonenumbers.Patch, cond phonenumbers.Precondition, now time.Time) (phonenumbers.PhoneNumber, error) {
	if patch.CampaignID == nil {
		return phonenumbers.PhoneNumber{}, errors.New("attach campaign: the patch carries no campaign_id")
	}
	// One id for every attempt and every SDK retry of them: an attempt whose answer was lost but
	// which was applied is recognised by it.
	writeID := rand.Text()
	writtenAt := phonenumbers.FormatTime(now)
	for range maxAttachAttempts {
		if err := ctx.Err(); err != nil {
			return phonenumbers.PhoneNumber{}, storageError(err)
		}
		in, err := s.attachTransaction(orgID, current, patch, writeID, writtenAt)
		if err != nil {
			return phonenumbers.PhoneNumber{}, fmt.Errorf("build attach transaction: %w", err)
		}
		_, err = s.db.TransactWriteItems(ctx, in)
		var canceled *types.TransactionCanceledException
		switch {
		case err == nil:
			written, _ := patch.Apply(current)
			written.UpdatedAt, _ = parseTime(writtenAt)
			written.Version = current.Version + 1
			return written, nil
		case !errors.As(err, &canceled):
			return phonenumbers.PhoneNumber{}, storageError(err)
		}
		reasons := canceled.CancellationReasons
		if len(reasons) != len(in.TransactItems) {
			return phonenumbers.PhoneNumber{}, fmt.Errorf("attach campaign: %d cancellation reasons for %d items: %w", len(reasons), len(in.TransactItems), err)
		}
		campaign, number := reasons[0], reasons[1]
		if code := aws.ToString(campaign.Code); code != reasonNone {
			return phonenumbers.PhoneNumber{}, campaignRefusal(code, campaign.Item, orgID, err)
		}
		if code := aws.ToString(number.Code); code != reasonConditionalCheck {
			return phonenumbers.PhoneNumber{}, cancellation(code, err)
		}
		stored, write, err := decide(number.Item, orgID, patch, cond, writeID)
		if err != nil || !write {
			return stored, err
		}
		if stored.Version == current.Version {
			return phonenumbers.PhoneNumber{}, errors.New("attach campaign: the update's condition failed on the version it was pinned to")
		}
		current = stored
	}
	return phonenumbers.PhoneNumber{}, phonenumbers.UnavailableError(fmt.Errorf("attach campaign: the number changed under each of %d attempts", maxAttachAttempts))
}

// attachTransaction builds the TransactWriteItems of an attach: the campaign's ConditionCheck,
// then the number's update pinned to current's version, each returning the item it fails on.
func (s *Store) attachTransaction(orgID string, current phonenumbers.PhoneNumber, patch phonenumbers.Patch, writeID, now string) (*dynamodb.TransactWriteItemsInput, error) {
	update, err := pinnedPhoneNumberUpdate(orgID, patch.Changes(), current.Version, writeID, now)
	if err != nil {
		return nil, err
	}
	check := campaignCheck(orgID)
	return &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{ConditionCheck: &types.ConditionCheck{
			TableName:                           aws.String(s.tables.Campaigns),
			Key:                                 stringKey(CampaignsHashKey, *patch.CampaignID),
			ConditionExpression:                 aws.String(check.condition),
			ExpressionAttributeNames:            check.names,
			ExpressionAttributeValues:           check.values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		{Update: &types.Update{
			TableName:                           aws.String(s.tables.PhoneNumbers),
			Key:                                 stringKey(PhoneNumbersHashKey, current.ID),
			UpdateExpression:                    aws.String(update.update),
			ConditionExpression:                 aws.String(update.condition),
			ExpressionAttributeNames:            update.names,
			ExpressionAttributeValues:           update.values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
	}}, nil
}

// campaignRefusal is the answer to an attach whose campaign item was cancelled with code: decided
// from the campaign as stored (item), as checks 9 and 10 decide.
func campaignRefusal(code string, item map[string]types.AttributeValue, orgID string, cause error) error {
	if code != reasonConditionalCheck {
		return cancellation(code, cause)
	}
	if item == nil {
		return phonenumbers.CampaignNotFound()
	}
	c, err := decodeCampaign(item)
	if err != nil {
		return fmt.Errorf("attach campaign: decode campaign: %w", err)
	}
	if err := c.CheckAttachable(orgID); err != nil {
		return err
	}
	return fmt.Errorf("attach campaign: the check failed on campaign %s, which is the caller's and ACTIVE: %w", c.ID, cause)
}

// cancellation is the error of a transaction item cancelled for a reason other than its
// condition: contention and throttling are worth retrying later (503), anything else is not.
func cancellation(code string, cause error) error {
	err := fmt.Errorf("attach campaign: cancelled (%s): %w", code, cause)
	switch code {
	case reasonTransactionConflict, reasonThrottling, reasonProvisionedThroughput, reasonRequestLimitExceeded:
		return phonenumbers.UnavailableError(err)
	}
	return err
}
