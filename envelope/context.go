package envelope

import (
	"context"
	"net/http"
	"time"
)

type requestIDKey struct{}

// WithRequestID returns a context that carries the request id. The
// middleware package's RequestID sets it; Write and WriteError copy it into
// meta.requestId.
func WithRequestID(ctx context.Context, id string) context.Context {
	return &requestIDCtx{Context: ctx, id: id}
}

// requestIDCtx is what WithRequestID returns: one allocation where
// context.WithValue costs two (its node, and the string boxed in an
// interface). Every other value, the deadline and Done are the parent's,
// so contexts derived from it find the parent's cancellation as they would
// through WithValue.
type requestIDCtx struct {
	context.Context
	id string
}

// Value returns c itself for requestIDKey (a pointer, which needs no
// allocation to become an interface) and the parent's value for any other
// key.
func (c *requestIDCtx) Value(key any) any {
	if key == (requestIDKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	if c, ok := ctx.Value(requestIDKey{}).(*requestIDCtx); ok {
		return c.id
	}
	return ""
}

type clockKey struct{}

// WithClock returns a context whose responses take meta.timestamp from now
// instead of time.Now. Tests and examples use it for fixed output.
func WithClock(ctx context.Context, now func() time.Time) context.Context {
	return context.WithValue(ctx, clockKey{}, now)
}

func nowFrom(ctx context.Context) time.Time {
	if now, ok := ctx.Value(clockKey{}).(func() time.Time); ok && now != nil {
		return now()
	}
	return time.Now().UTC()
}

// requestContext returns r's context, or context.Background for a nil r.
func requestContext(r *http.Request) context.Context {
	if r == nil {
		return context.Background()
	}
	return r.Context()
}
