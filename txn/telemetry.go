package txn

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/internal/telemetry"
)

// Metric and span names of transactions begun by Do and DoWith (joined
// calls and savepoints are part of their transaction and not counted), on
// the meter and tracer "github.com/svckit/svckit/txn".
const (
	// MetricTransactions counts transactions by AttrResult: "committed"
	// or "rolled_back" (fn failed, every attempt failed, or BEGIN did).
	MetricTransactions = "svckit.txn.transactions"
	// MetricAttempts counts the runs of fn in a new transaction: one per
	// transaction plus one per retry.
	MetricAttempts = "svckit.txn.attempts"
	// MetricRetries counts retries by AttrReason: "serialization_failure",
	// "deadlock", "lock_timeout", "record_changed" or "connection_lost"
	// (a BEGIN on a lost connection).
	MetricRetries = "svckit.txn.retries"
	// SpanTransaction is the span around a transaction and its retries,
	// started under the caller's recording span; each retry adds an event
	// "retry" with AttrReason.
	SpanTransaction = "svckit.txn"

	AttrResult = "result"
	AttrReason = "reason"
)

// Telemetry holds the instruments transactions report to. Make one with
// NewTelemetry per pair of providers and put it in Options.Telemetry; a nil
// Options.Telemetry reports to the global providers of package otel. A
// Telemetry is safe for concurrent use and holds nothing to close.
type Telemetry struct {
	committed, rolledBack, attempts telemetry.Add
	retries                         map[dialect.Class]telemetry.Add
	retryEvents                     map[dialect.Class][]trace.EventOption
	tracer                          trace.Tracer
}

// NewTelemetry returns the instruments of mp and tp; a nil provider means
// otel's global one.
func NewTelemetry(mp metric.MeterProvider, tp trace.TracerProvider) *Telemetry {
	m := telemetry.Meter(mp, "txn")
	txns := telemetry.Counter(m, MetricTransactions, "{transaction}", "Transactions by result.")
	retries := telemetry.Counter(m, MetricRetries, "{retry}", "Transaction retries by reason.")
	t := &Telemetry{
		committed:   telemetry.NewAdd(txns, attribute.String(AttrResult, "committed")),
		rolledBack:  telemetry.NewAdd(txns, attribute.String(AttrResult, "rolled_back")),
		attempts:    telemetry.NewAdd(telemetry.Counter(m, MetricAttempts, "{attempt}", "Runs of a transaction's function.")),
		retries:     map[dialect.Class]telemetry.Add{},
		retryEvents: map[dialect.Class][]trace.EventOption{},
		tracer:      telemetry.Tracer(tp, "txn"),
	}
	for c, reason := range map[dialect.Class]string{
		dialect.SerializationFailure: "serialization_failure",
		dialect.Deadlock:             "deadlock",
		dialect.LockTimeout:          "lock_timeout",
		dialect.RecordChanged:        "record_changed",
		dialect.ConnectionLost:       "connection_lost",
	} {
		a := attribute.String(AttrReason, reason)
		t.retries[c] = telemetry.NewAdd(retries, a)
		t.retryEvents[c] = []trace.EventOption{trace.WithAttributes(a)}
	}
	return t
}

// globalTelemetry is the Telemetry of a nil Options.Telemetry, made on
// first use. It never changes afterwards; the global providers it holds
// delegate to whatever provider the application installs later.
var globalTelemetry = sync.OnceValue(func() *Telemetry { return NewTelemetry(nil, nil) })

func (o Options) telemetry() *Telemetry {
	if o.Telemetry != nil {
		return o.Telemetry
	}
	return globalTelemetry()
}

// start begins the transaction's span, when the caller is traced.
func (t *Telemetry) start(ctx context.Context) (context.Context, trace.Span) {
	return telemetry.Child(ctx, t.tracer, SpanTransaction)
}

// retry counts a retry after err.
func (t *Telemetry) retry(ctx context.Context, span trace.Span, err error) {
	c := dialect.Classify(err)
	t.retries[c].Inc(ctx)
	if span != nil {
		span.AddEvent("retry", t.retryEvents[c]...)
	}
}

// finish counts the transaction's outcome and ends its span.
func (t *Telemetry) finish(ctx context.Context, span trace.Span, err error) {
	if err == nil {
		t.committed.Inc(ctx)
	} else {
		t.rolledBack.Inc(ctx)
	}
	telemetry.End(span, err)
}
