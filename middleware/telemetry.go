package middleware

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/svckit/svckit/internal/httpstate"
	"github.com/svckit/svckit/internal/telemetry"
)

// MetricRequestDuration is the histogram Telemetry records, in seconds, as
// the OpenTelemetry HTTP semantic conventions name it, with the attributes
// http.request.method, http.response.status_code, http.route (the
// ServeMux pattern, never the raw path; absent when no route matched),
// url.scheme and, for 5xx responses, error.type.
const MetricRequestDuration = "http.server.request.duration"

// TelemetryOptions configure TelemetryWithOptions. The zero value reports
// to the global providers of package otel and extracts the inbound trace
// with the global propagator.
type TelemetryOptions struct {
	// TracerProvider makes the server spans. Nil means otel's global one.
	TracerProvider trace.TracerProvider
	// MeterProvider records MetricRequestDuration. Nil means otel's
	// global one.
	MeterProvider metric.MeterProvider
	// Propagator reads the inbound trace context (W3C traceparent and
	// tracestate with propagation.TraceContext). Nil means
	// otel.GetTextMapPropagator(), which propagates nothing until the
	// application sets one.
	Propagator propagation.TextMapPropagator
	// Now is the clock durations are measured by. Nil means time.Now.
	Now func() time.Time
}

// Telemetry is TelemetryWithOptions with the zero options.
func Telemetry(next http.Handler) http.Handler {
	return TelemetryWithOptions(TelemetryOptions{})(next)
}

// TelemetryWithOptions returns a middleware that follows the OpenTelemetry
// HTTP semantic conventions for servers: one span of kind server per
// request, a child of the trace the request carries (an inbound W3C
// traceparent with the TraceContext propagator; a malformed traceparent or
// tracestate is ignored and the request starts a new trace, never an
// error), named "METHOD route", and one MetricRequestDuration measurement.
// A 5xx response marks the span as failed.
//
// Place it first in the chain, before RequestID and Logger: the context
// the rest of the chain sees carries the span, so the access line of
// Logger, written through a TraceLogHandler, carries the trace id beside
// the request id. The route is Request.Pattern, as Logger reads it.
//
// Attribute sets are cached per route, method and status (bounded: the
// routes are the mux's patterns, unknown methods are "_OTHER"), so a
// request allocates nothing for its measurement once its set was seen.
func TelemetryWithOptions(opts TelemetryOptions) func(http.Handler) http.Handler {
	tracer := telemetry.Tracer(opts.TracerProvider, "middleware")
	// The bucket boundaries the HTTP semantic conventions advise, in seconds.
	durationBounds := []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
	hist := telemetry.Histogram(telemetry.Meter(opts.MeterProvider, "middleware"), MetricRequestDuration,
		"s", "Duration of HTTP server requests.", durationBounds...)
	prop := opts.Propagator
	if prop == nil {
		prop = otel.GetTextMapPropagator()
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	sets := &durationSets{m: map[durationKey][]metric.RecordOption{}}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := now()
			method := knownMethod(r.Method)
			scheme := "http"
			if r.TLS != nil {
				scheme = "https"
			}
			ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			ctx, span := tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer))
			if span.IsRecording() {
				span.SetAttributes(
					attribute.String("http.request.method", method),
					attribute.String("url.scheme", scheme),
					attribute.String("url.path", r.URL.Path),
					attribute.String("network.protocol.version", protocolVersion(r)),
				)
			}
			// The request's state, which RequestID, ClientIP and auth's
			// middleware behind fill in without copying the request again.
			ctx, _ = httpstate.Ensure(ctx)
			rw := wrap(w)
			completed := false
			defer func() {
				status := rw.statusCode()
				if !completed {
					status = http.StatusInternalServerError
				}
				route := routeOf(rw.route(r))
				if span.IsRecording() {
					if route != "" {
						span.SetName(method + " " + route)
						span.SetAttributes(attribute.String("http.route", route))
					}
					span.SetAttributes(attribute.Int("http.response.status_code", status))
					if status >= 500 {
						span.SetAttributes(attribute.String("error.type", strconv.Itoa(status)))
						span.SetStatus(codes.Error, "")
					}
				}
				span.End()
				if hist.Enabled(ctx) {
					hist.Record(ctx, now().Sub(start).Seconds(), sets.get(durationKey{route, method, scheme, status})...)
				}
			}()
			serveDerived(next, rw, r.WithContext(ctx))
			completed = true
		})
	}
}

// durationKey identifies one attribute set of MetricRequestDuration.
type durationKey struct {
	route, method, scheme string
	status                int
}

// durationSets caches the record options of each durationKey seen, up to
// maxDurationSets; past that (a mux with thousands of patterns) the set is
// built per request.
type durationSets struct {
	mu sync.RWMutex
	m  map[durationKey][]metric.RecordOption
}

const maxDurationSets = 4096

func (s *durationSets) get(k durationKey) []metric.RecordOption {
	s.mu.RLock()
	opts, ok := s.m[k]
	s.mu.RUnlock()
	if ok {
		return opts
	}
	kv := []attribute.KeyValue{
		attribute.String("http.request.method", k.method),
		attribute.Int("http.response.status_code", k.status),
		attribute.String("url.scheme", k.scheme),
	}
	if k.route != "" {
		kv = append(kv, attribute.String("http.route", k.route))
	}
	if k.status >= 500 {
		kv = append(kv, attribute.String("error.type", strconv.Itoa(k.status)))
	}
	opts = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(kv...))}
	s.mu.Lock()
	if len(s.m) < maxDurationSets {
		s.m[k] = opts
	}
	s.mu.Unlock()
	return opts
}

// knownMethod returns m when it is one of the methods of RFC 9110 and
// PATCH, else "_OTHER", so a client cannot mint attribute values.
func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "_OTHER"
}

// routeOf returns the path part of a ServeMux pattern "[METHOD ][HOST]/PATH":
// "GET /users/{id}" gives "/users/{id}". It allocates nothing.
func routeOf(pattern string) string {
	if i := strings.IndexAny(pattern, " \t"); i >= 0 {
		pattern = strings.TrimLeft(pattern[i:], " \t")
	}
	if i := strings.IndexByte(pattern, '/'); i > 0 {
		pattern = pattern[i:]
	}
	return pattern
}

// protocolVersion returns the HTTP version as the conventions write it.
func protocolVersion(r *http.Request) string {
	switch {
	case r.ProtoMajor == 1 && r.ProtoMinor == 0:
		return "1.0"
	case r.ProtoMajor == 1:
		return "1.1"
	case r.ProtoMajor == 2:
		return "2"
	case r.ProtoMajor == 3:
		return "3"
	}
	return r.Proto
}
