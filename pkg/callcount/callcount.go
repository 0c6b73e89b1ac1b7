// Package callcount counts the storage round trips made on behalf of one request, so that the
// request log can show them without the storage layer knowing about logging: the wiring wraps the
// DynamoDB client in a DynamoDB decorator, and the handler reads the request's Counter.
package callcount

import (
	"context"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
)

type counterKey struct{}

// Counter is a request's count of storage calls. It is safe for concurrent use, since lookups of
// one request run concurrently.
type Counter struct{ n atomic.Int64 }

// Value returns the number of calls counted so far.
func (c *Counter) Value() int64 { return c.n.Load() }

// WithCounter returns a context that carries a fresh counter, and the counter.
func WithCounter(ctx context.Context) (context.Context, *Counter) {
	c := &Counter{}
	return context.WithValue(ctx, counterKey{}, c), c
}

// Add counts one call against the counter in ctx, if any.
func Add(ctx context.Context) {
	if c, ok := ctx.Value(counterKey{}).(*Counter); ok {
		c.n.Add(1)
	}
}

// DynamoDB is a DynamoDB client that counts each call against the counter in the call's context
// before passing it on. It counts calls the store makes, not the SDK's retries of them. It
// implements every method of dynamostore.API itself, without embedding, so that a method added
// to that interface fails to compile here instead of going uncounted.
type DynamoDB struct{ client dynamostore.API }

var _ dynamostore.API = (*DynamoDB)(nil)

// NewDynamoDB returns client wrapped in a counting DynamoDB.
func NewDynamoDB(client dynamostore.API) *DynamoDB { return &DynamoDB{client: client} }

// GetItem counts the call and passes it on.
func (d *DynamoDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	Add(ctx)
	return d.client.GetItem(ctx, in, optFns...)
}

// UpdateItem counts the call and passes it on.
func (d *DynamoDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	Add(ctx)
	return d.client.UpdateItem(ctx, in, optFns...)
}

// TransactWriteItems counts the call and passes it on.
func (d *DynamoDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	Add(ctx)
	return d.client.TransactWriteItems(ctx, in, optFns...)
}
