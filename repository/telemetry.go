package repository

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/internal/telemetry"
)

// SQL statement spans follow the OpenTelemetry database semantic
// conventions: a span of kind client named "OPERATION table" (for example
// "SELECT users") with db.system.name ("postgresql", "mysql", "sqlite"),
// db.operation.name and db.collection.name, started on the tracer
// "github.com/svckit/svckit/repository" under the caller's recording span
// only. Neither the query text's values nor any parameter is recorded; a
// failure records its error type, and "not found" is no failure.

// Operations of a statement span.
const (
	opSelect = iota
	opInsert
	opUpdate
	opDelete
	opCount
)

// sqlTelemetry holds a SQL repository's tracer and, per operation, its span
// name and start options, made at construction.
type sqlTelemetry struct {
	tracer trace.Tracer
	names  [opCount]string
	opts   [opCount][]trace.SpanStartOption
}

func newSQLTelemetry(tp trace.TracerProvider, d dialect.Dialect, table string) sqlTelemetry {
	system := map[dialect.Dialect]string{dialect.Postgres: "postgresql", dialect.MySQL: "mysql", dialect.SQLite: "sqlite"}[d]
	t := sqlTelemetry{tracer: telemetry.Tracer(tp, "repository")}
	for op, name := range [opCount]string{"SELECT", "INSERT", "UPDATE", "DELETE"} {
		t.names[op] = name + " " + table
		t.opts[op] = []trace.SpanStartOption{
			trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(
				attribute.String("db.system.name", system),
				attribute.String("db.operation.name", name),
				attribute.String("db.collection.name", table),
			),
		}
	}
	return t
}

// start begins the span of a statement of op, when the caller is traced.
func (t *sqlTelemetry) start(ctx context.Context, op int) (context.Context, trace.Span) {
	return telemetry.Child(ctx, t.tracer, t.names[op], t.opts[op]...)
}

// end ends span; a not-found answer is not a failure.
func end(span trace.Span, err error) {
	if span == nil {
		return
	}
	if errors.Is(err, ErrNotFound) {
		err = nil
	}
	telemetry.End(span, err)
}
