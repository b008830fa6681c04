package envelope

import (
	"context"
	"net/http"
	"time"

	"github.com/svckit/svckit/internal/httpstate"
)

// WithRequestID returns a context that carries the request id. The
// middleware package's RequestID sets it; Write and WriteError copy it into
// meta.requestId.
func WithRequestID(ctx context.Context, id string) context.Context {
	ctx, st := httpstate.Derive(ctx)
	st.SetRequestID(id)
	return ctx
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	return httpstate.From(ctx).RequestID()
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
