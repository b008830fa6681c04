// Package telemetry holds what svckit's packages share to report through
// OpenTelemetry: the provider defaults, instruments made once with their
// attribute sets precomputed, and child spans started only under a
// recording parent.
//
// The rules it enforces, written once here and followed by every package:
//
//   - Packages depend on the OpenTelemetry API (go.opentelemetry.io/otel,
//     .../metric, .../trace) directly, never on the SDK. A nil provider in a
//     package's options means the global one (otel.GetMeterProvider,
//     otel.GetTracerProvider), read once at construction; the global
//     providers delegate, so a provider installed later still receives the
//     measurements.
//   - Instruments are created at construction and every attribute set is
//     built there too (metric.WithAttributeSet over a prebuilt
//     attribute.Set, held in a ready []metric.AddOption), so recording a
//     measurement allocates nothing and, with no provider installed, costs
//     one atomic load.
//   - Attributes have bounded cardinality by construction: names the
//     application chose in code (a cache name, a policy name, a table) and
//     small enumerations (a result, a reason). Never an id, a key, an email
//     or a raw path.
//   - Data-layer spans (a statement, a transaction, a cache load) are
//     children: they start only when the context already carries a
//     recording span, such as the server span of an HTTP request. Without
//     one no span is made, which keeps the hot paths free of allocation
//     when tracing is off and keeps background work from producing a root
//     span per statement.
package telemetry

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
)

// ScopePrefix is the start of every instrumentation scope name: the
// package's import path follows it.
const ScopePrefix = "github.com/svckit/svckit/"

// Meter returns the meter of the svckit package pkg ("cache",
// "middleware", ...) from mp, or from the global provider when mp is nil.
func Meter(mp metric.MeterProvider, pkg string) metric.Meter {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	return mp.Meter(ScopePrefix + pkg)
}

// Tracer returns the tracer of the svckit package pkg from tp, or from the
// global provider when tp is nil.
func Tracer(tp trace.TracerProvider, pkg string) trace.Tracer {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return tp.Tracer(ScopePrefix + pkg)
}

// Counter returns the int64 counter name of m. An instrument the provider
// refuses (a malformed name, a programmer error caught by the tests)
// becomes a no-op one rather than a nil.
func Counter(m metric.Meter, name, unit, desc string) metric.Int64Counter {
	c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	if err != nil || c == nil {
		return noop.Int64Counter{}
	}
	return c
}

// Histogram returns the float64 histogram name of m, with explicit bucket
// boundaries when bounds is not empty.
func Histogram(m metric.Meter, name, unit, desc string, bounds ...float64) metric.Float64Histogram {
	opts := []metric.Float64HistogramOption{metric.WithUnit(unit), metric.WithDescription(desc)}
	if len(bounds) > 0 {
		opts = append(opts, metric.WithExplicitBucketBoundaries(bounds...))
	}
	h, err := m.Float64Histogram(name, opts...)
	if err != nil || h == nil {
		return noop.Float64Histogram{}
	}
	return h
}

// Add is a counter with one attribute set fixed at construction. Adding to
// it allocates nothing.
type Add struct {
	c    metric.Int64Counter
	opts []metric.AddOption
}

// NewAdd returns c bound to the attribute set of kv.
func NewAdd(c metric.Int64Counter, kv ...attribute.KeyValue) Add {
	return Add{c: c, opts: []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(kv...))}}
}

// Inc adds one. The zero Add does nothing.
func (a Add) Inc(ctx context.Context) {
	if a.c != nil {
		a.c.Add(ctx, 1, a.opts...)
	}
}

// Record is a histogram with one attribute set fixed at construction.
type Record struct {
	h    metric.Float64Histogram
	opts []metric.RecordOption
}

// NewRecord returns h bound to the attribute set of kv.
func NewRecord(h metric.Float64Histogram, kv ...attribute.KeyValue) Record {
	return Record{h: h, opts: []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(kv...))}}
}

// Record records v. The zero Record does nothing.
func (r Record) Record(ctx context.Context, v float64) {
	if r.h != nil {
		r.h.Record(ctx, v, r.opts...)
	}
}

// Enabled reports whether recording v would reach a provider.
func (r Record) Enabled(ctx context.Context) bool { return r.h != nil && r.h.Enabled(ctx) }

// Child starts a span named name under the recording span of ctx. When ctx
// carries none it starts nothing and returns ctx and a nil span; End and
// the other helpers below accept that nil.
func Child(ctx context.Context, t trace.Tracer, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if t == nil || !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, nil
	}
	return t.Start(ctx, name, opts...)
}

// End marks span as failed when err is not nil and ends it. A nil span is
// ignored. The failure is recorded as the status Error and the attribute
// error.type (the error's Go type), never the message, which may quote
// the values of a statement's parameters.
func End(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.SetAttributes(attribute.String("error.type", fmt.Sprintf("%T", err)))
		span.SetStatus(codes.Error, "")
	}
	span.End()
}
