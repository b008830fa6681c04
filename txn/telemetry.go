package txn

import (
	"context"
	"database/sql"
	"reflect"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
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
	// or "rolled_back" (fn failed or panicked, every attempt failed, or
	// BEGIN did).
	MetricTransactions = "svckit.txn.transactions"
	// MetricAttempts counts the runs of fn in a new transaction: one per
	// transaction plus one per retry.
	MetricAttempts = "svckit.txn.attempts"
	// MetricRetries counts retries by AttrReason: "serialization_failure",
	// "deadlock", "lock_timeout", "record_changed" or "connection_lost"
	// (a BEGIN on a lost connection).
	MetricRetries = "svckit.txn.retries"
	// SpanTransaction is the span around a transaction and its retries,
	// started under the caller's recording span, with db.system.name
	// ("postgresql", "mysql", "sqlite" or "other_sql", read from the
	// package path of db's driver). Each retry adds an event "retry" with
	// AttrReason. A rolled back transaction ends with the status Error and
	// error.type: the Go type of the error, or "panic" when fn panicked.
	SpanTransaction = "svckit.txn"

	AttrResult = "result"
	AttrReason = "reason"
)

// Telemetry holds the instruments transactions report to. A Runner makes
// its own.
//
// Deprecated: use New, with Options.MeterProvider and
// Options.TracerProvider.
type Telemetry struct {
	committed, rolledBack, attempts telemetry.Add
	retries                         map[dialect.Class]telemetry.Add
	retryEvents                     map[dialect.Class][]trace.EventOption
	tracer                          trace.Tracer
}

// NewTelemetry returns the instruments of mp and tp; a nil provider means
// otel's global one.
//
// Deprecated: use New, with Options.MeterProvider and
// Options.TracerProvider.
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

// start begins the transaction's span on db, when the caller is traced
// and t is not nil.
func (t *Telemetry) start(ctx context.Context, db *sql.DB) (context.Context, trace.Span) {
	if t == nil {
		return ctx, nil
	}
	ctx, span := telemetry.Child(ctx, t.tracer, SpanTransaction)
	if span != nil {
		span.SetAttributes(attribute.String("db.system.name", system(db)))
	}
	return ctx, span
}

// system returns the db.system.name of db's driver, found in its package
// path (github.com/jackc/pgx/v5/stdlib, github.com/lib/pq,
// github.com/go-sql-driver/mysql, modernc.org/sqlite, ...).
func system(db *sql.DB) string {
	if db == nil {
		return "other_sql"
	}
	typ := reflect.TypeOf(db.Driver())
	for typ != nil && typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ == nil {
		return "other_sql"
	}
	path := typ.PkgPath()
	switch {
	case strings.Contains(path, "pgx"), strings.Contains(path, "lib/pq"), strings.Contains(path, "postgres"):
		return "postgresql"
	case strings.Contains(path, "mysql"):
		return "mysql"
	case strings.Contains(path, "sqlite"):
		return "sqlite"
	}
	return "other_sql"
}

// retry counts a retry after err.
func (t *Telemetry) retry(ctx context.Context, span trace.Span, err error) {
	if t == nil {
		return
	}
	c := dialect.Classify(err)
	t.retries[c].Inc(ctx)
	if span != nil {
		span.AddEvent("retry", t.retryEvents[c]...)
	}
}

// finish counts the transaction's outcome and ends its span: committed
// says whether the last attempt committed, err is what run returns. A
// transaction that did not commit with a nil err is one whose fn panicked.
func (t *Telemetry) finish(ctx context.Context, span trace.Span, committed bool, err error) {
	if t == nil {
		return
	}
	if committed {
		t.committed.Inc(ctx)
		telemetry.End(span, nil)
		return
	}
	t.rolledBack.Inc(ctx)
	if err == nil && span != nil {
		span.SetAttributes(attribute.String("error.type", "panic"))
		span.SetStatus(codes.Error, "")
		span.End()
		return
	}
	telemetry.End(span, err)
}

// attempted counts one run of fn; nil t counts nothing.
func (t *Telemetry) attempted(ctx context.Context) {
	if t != nil {
		t.attempts.Inc(ctx)
	}
}
