package dynamostore

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

// storageError classifies a failed DynamoDB call. Failures that a later retry may cure
// (throttling, 5xx, connection errors, write conflicts with another writer's transaction, retries
// or the deadline exhausted) become phonenumbers.KindUnavailable, so that clients get a 503 with
// Retry-After rather than a 500. It adds no words: the SDK's error already names the operation,
// and the domain, which calls the store, says what it was doing ("update phone number 123: ..."),
// so that each layer adds its context once.
func storageError(err error) error {
	if isTransient(err) {
		return phonenumbers.UnavailableError(err)
	}
	return err
}

// isTransient uses the SDK's own classification of retryable and throttling errors, so that the
// store and the retryer agree on what "try again later" means.
func isTransient(err error) bool {
	var maxAttempts *retry.MaxAttemptsError
	var quota *ratelimit.QuotaExceededError
	// Another writer's transaction on the same item: the SDK does not retry these, but the
	// caller's retry will find the item free again.
	var transactionConflict *types.TransactionConflictException
	var replicatedConflict *types.ReplicatedWriteConflictException
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return true
	case errors.As(err, &maxAttempts), errors.As(err, &quota):
		return true
	case errors.As(err, &transactionConflict), errors.As(err, &replicatedConflict):
		return true
	case retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary:
		return true
	case retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary:
		return true
	}
	return false
}
