package outbox

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/svckit/svckit/internal/telemetry"
)

// The metrics of the outbox, its relays and its consumers.
const (
	// MetricPublished counts events the relay published (the broker
	// accepted them).
	MetricPublished = "svckit.outbox.published"
	// MetricPublishFailures counts events whose publication failed; the
	// relay tries them again after a backoff.
	MetricPublishFailures = "svckit.outbox.publish_failures"
	// MetricLag is the time from Emit to the broker's acceptance, in
	// seconds: the relay's lag.
	MetricLag = "svckit.outbox.lag"
	// MetricDepth is how many events wait to be published, as the relay
	// last counted them.
	MetricDepth = "svckit.outbox.depth"
	// MetricOldestAge is the age in seconds of the oldest event waiting to
	// be published (0 when none waits), as the relay last read it.
	MetricOldestAge = "svckit.outbox.oldest_age"
	// MetricDeliveries counts the deliveries of events to a consumer by
	// AttrConsumer and AttrResult: applied, duplicate (the inbox had it:
	// no effect), failed (the handler failed; it is delivered again after
	// a backoff) and dead_lettered (given up after the last delivery).
	MetricDeliveries = "svckit.outbox.deliveries"
	// MetricRedeliveries counts deliveries of an event a consumer had
	// received before (a retry after a failure, or the broker's
	// redelivery after a crash or a lost ack), by AttrConsumer.
	MetricRedeliveries = "svckit.outbox.redeliveries"
)

// The attributes of the metrics and spans.
const (
	// AttrConsumer is the consumer's name, from ConsumerOptions.
	AttrConsumer = "svckit.outbox.consumer"
	// AttrResult is the result of a delivery (see MetricDeliveries).
	AttrResult = "svckit.outbox.result"
	// AttrType is the event type, on spans only.
	AttrType = "svckit.outbox.type"
)

// The names of the spans: one for Emit (a child of the caller's span) and
// one for each time a consumer handles an event, whose parent is the Emit
// span, read back from the message's headers.
const (
	SpanEmit    = "outbox emit"
	SpanProcess = "outbox process"
)

// instruments holds the instruments of one Outbox, made once.
type instruments struct {
	meter  metric.Meter
	tracer trace.Tracer

	published, failures telemetry.Add
	lag                 telemetry.Record
	deliveries          metric.Int64Counter
	redeliveries        metric.Int64Counter
}

func newTelemetry(mp metric.MeterProvider, tp trace.TracerProvider) *instruments {
	m := telemetry.Meter(mp, "outbox")
	t := &instruments{meter: m, tracer: telemetry.Tracer(tp, "outbox")}
	t.published = telemetry.NewAdd(telemetry.Counter(m, MetricPublished, "{event}", "Events the relay published."))
	t.failures = telemetry.NewAdd(telemetry.Counter(m, MetricPublishFailures, "{event}", "Events whose publication failed and waits for a retry."))
	t.lag = telemetry.NewRecord(telemetry.Histogram(m, MetricLag, "s", "Time from Emit to the broker's acceptance.",
		0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
	t.deliveries = telemetry.Counter(m, MetricDeliveries, "{delivery}", "Deliveries of events to a consumer, by result.")
	t.redeliveries = telemetry.Counter(m, MetricRedeliveries, "{delivery}", "Deliveries of an event the consumer had received before.")
	return t
}

// consumerTelemetry is the instruments of one consumer, their attribute
// sets built once.
type consumerTelemetry struct {
	tracer                                    trace.Tracer
	prop                                      propagation.TextMapPropagator
	applied, duplicate, failed, dead, redeliv telemetry.Add
	attrs                                     trace.SpanStartEventOption
}

func (t *instruments) consumer(name string, prop propagation.TextMapPropagator) *consumerTelemetry {
	c := attribute.String(AttrConsumer, name)
	result := func(r string) telemetry.Add {
		return telemetry.NewAdd(t.deliveries, c, attribute.String(AttrResult, r))
	}
	return &consumerTelemetry{
		tracer:    t.tracer,
		prop:      prop,
		applied:   result("applied"),
		duplicate: result("duplicate"),
		failed:    result("failed"),
		dead:      result("dead_lettered"),
		redeliv:   telemetry.NewAdd(t.redeliveries, c),
		attrs:     trace.WithAttributes(c),
	}
}

// emitSpan starts the Emit span under the caller's recording span.
func (t *instruments) emitSpan(ctx context.Context, typ string) (context.Context, trace.Span) {
	return telemetry.Child(ctx, t.tracer, SpanEmit, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String(AttrType, typ)))
}

// processSpan starts the span of one delivery, a child of the span whose
// context the message's headers carry. Without a trace context in the
// headers it starts nothing: background work makes no root spans.
func (c *consumerTelemetry) processSpan(ctx context.Context, m Message) (context.Context, trace.Span) {
	if len(m.Headers) == 0 {
		return ctx, nil
	}
	parent := c.prop.Extract(ctx, propagation.MapCarrier(m.Headers))
	if !trace.SpanContextFromContext(parent).IsValid() {
		return ctx, nil
	}
	ctx, span := c.tracer.Start(parent, SpanProcess, trace.WithSpanKind(trace.SpanKindConsumer), c.attrs,
		trace.WithAttributes(attribute.String(AttrType, m.Type)))
	return ctx, span
}

func endSpan(span trace.Span, err error) { telemetry.End(span, err) }
