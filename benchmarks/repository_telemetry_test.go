package benchmarks

import (
	"context"
	"testing"

	"github.com/XSAM/otelsql"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/svckit/svckit/repository"
)

// BenchmarkFindByIDTelemetry reads one row by primary key with statement
// tracing: svckit's repository with no provider configured (the global
// no-op) and with the SDK on, next to github.com/XSAM/otelsql wrapping the
// same driver with the same SDK, under a query and Scan written by hand.
// The SDK samples every span and exports it to a no-op exporter; metrics go
// to a manual reader never read. Every traced case runs under one recording
// parent span, as a request's statements do (svckit starts statement spans
// only there).
//
//   - svckit-sdk: one client span per statement (the repository records no
//     metric).
//   - otelsql-sdk: otelsql's defaults: spans sql.conn.query and sql.rows
//     (and sql.conn.reset_session when a pooled connection is reused), the
//     query text as db.query.text, and its duration histograms.
//   - otelsql-sdk-lean: otelsql with only the query span, no query text.
func BenchmarkFindByIDTelemetry(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	traced, span := tp.Tracer("bench").Start(context.Background(), "request")
	defer span.End()
	for _, e := range repoEngines(b) {
		b.Run(e.name, func(b *testing.B) {
			system := map[string]string{"sqlite": "sqlite", "postgres": "postgresql"}[e.name]
			peer := func(opts otelsql.SpanOptions) func(b *testing.B) {
				return func(b *testing.B) {
					db, err := otelsql.Open(e.driver, e.dsn, otelsql.WithTracerProvider(tp), otelsql.WithMeterProvider(mp),
						otelsql.WithAttributes(attribute.String("db.system.name", system)), otelsql.WithSpanOptions(opts))
					require.NoError(b, err, "otelsql.Open")
					b.Cleanup(func() { _ = db.Close() })
					b.ReportAllocs()
					for i := 0; b.Loop(); i++ {
						var u repoBenchUser
						err := db.QueryRowContext(traced, e.byID, repoID(i)).Scan(&u.ID, &u.Email, &u.Name, &u.Age, &u.CreatedAt)
						if err != nil || u.ID != repoID(i) {
							b.Fatalf("QueryRow: %v", err)
						}
					}
				}
			}
			svckit := func(ctx context.Context, opts repository.Options[int64]) func(b *testing.B) {
				return func(b *testing.B) {
					repo := repository.NewSQL[repoBenchUser, int64](e.db, e.dialect, "bench_users", opts)
					b.ReportAllocs()
					for i := 0; b.Loop(); i++ {
						u, err := repo.FindByID(ctx, repoID(i))
						if err != nil || u.ID != repoID(i) {
							b.Fatalf("FindByID: %v", err)
						}
					}
				}
			}
			b.Run("svckit-no-provider", svckit(context.Background(), repository.Options[int64]{}))
			b.Run("svckit-sdk", svckit(traced, repository.Options[int64]{TracerProvider: tp}))
			b.Run("otelsql-sdk", peer(otelsql.SpanOptions{}))
			b.Run("otelsql-sdk-lean", peer(otelsql.SpanOptions{DisableQuery: true, OmitRows: true, OmitConnResetSession: true, OmitConnPrepare: true}))
		})
	}
}

// repoID is the id the i-th iteration of a FindByID benchmark reads.
func repoID(i int) int64 { return int64(i%repoBenchRows + 1) }
