package middleware

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// TraceLogHandler is a slog.Handler that adds the attributes trace_id and
// span_id (lower-case hex, as W3C traceparent writes them) to every record
// logged with a context carrying a valid span context (one that Telemetry
// started or extracted), and passes the records to the handler it wraps.
// Records logged without one pass unchanged.
//
// Wrap the handler of the logger given to Logger, and the access line
// carries the request id and the trace id together:
//
//	logger := slog.New(middleware.NewTraceLogHandler(slog.NewJSONHandler(os.Stdout, nil)))
//
// It is safe for concurrent use when the wrapped handler is.
type TraceLogHandler struct {
	h slog.Handler
}

var _ slog.Handler = (*TraceLogHandler)(nil)

// NewTraceLogHandler returns a TraceLogHandler passing records to h. It
// panics when h is nil.
func NewTraceLogHandler(h slog.Handler) *TraceLogHandler {
	if h == nil {
		panic("middleware: NewTraceLogHandler with a nil handler")
	}
	return &TraceLogHandler{h: h}
}

// Enabled reports whether the wrapped handler handles records of level.
func (t *TraceLogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return t.h.Enabled(ctx, level)
}

// Handle adds trace_id and span_id when ctx carries a valid span context,
// then passes r on.
func (t *TraceLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return t.h.Handle(ctx, r)
}

// WithAttrs returns a TraceLogHandler over the wrapped handler's WithAttrs.
func (t *TraceLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &TraceLogHandler{h: t.h.WithAttrs(attrs)}
}

// WithGroup returns a TraceLogHandler over the wrapped handler's WithGroup.
// The trace attributes then go into the group, as every attribute added
// by Handle does.
func (t *TraceLogHandler) WithGroup(name string) slog.Handler {
	return &TraceLogHandler{h: t.h.WithGroup(name)}
}
