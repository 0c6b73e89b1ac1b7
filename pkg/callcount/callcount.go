// Package callcount counts the storage round trips made on behalf of one request, so that the
// request log can show them without the storage layer knowing about logging.
package callcount

import (
	"context"
	"sync/atomic"
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
