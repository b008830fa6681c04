package envelope

import "context"

type requestIDKey struct{}

// WithRequestID returns a context that carries the request id. The
// middleware package's RequestID sets it; Write and WriteError copy it into
// meta.requestId and into the log line of an unexpected error.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
