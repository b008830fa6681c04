package repository_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/internal/telemetry/telemetrytest"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/repository"
)

func TestSQLStatementSpans(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		createSchema(t, db)
		d, err := dialect.Parse(db.Dialect)
		require.NoError(t, err, "dialect")
		sdk := telemetrytest.New(t)
		users := repository.NewSQL[user, int64](db.DB, d, "users", repository.Options[int64]{CursorKey: cursorKey, TracerProvider: sdk.Tracers})
		ctx := context.Background()

		u := user{Email: "secret@example.com", Name: "Ann", BornAt: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)}
		require.NoError(t, users.Create(ctx, &u), "untraced create")
		assert.Empty(t, sdk.Spans.GetSpans(), "no span without a traced caller")

		pctx, endParent := sdk.Parent(ctx)
		_, err = users.FindByID(pctx, u.ID)
		require.NoError(t, err, "find")
		_, err = users.FindByID(pctx, u.ID+1000)
		require.ErrorIs(t, err, repository.ErrNotFound, "missing")
		_, err = users.Update(pctx, u.ID, repository.Set{"name": "Bea"})
		require.NoError(t, err, "update")
		_, err = users.FindMany(pctx, repository.FindOptions{Filter: repository.Filter{"email": "secret@example.com"}})
		require.NoError(t, err, "find many")
		_, err = users.Count(pctx, repository.Filter{})
		require.NoError(t, err, "count")
		dup := user{Email: "secret@example.com", Name: "Dup", BornAt: u.BornAt}
		require.ErrorIs(t, users.Create(pctx, &dup), repository.ErrConflict, "conflict")
		require.NoError(t, users.Delete(pctx, u.ID), "delete")
		endParent()

		system := map[string]string{testdb.SQLiteDialect: "sqlite", testdb.PostgresDialect: "postgresql", testdb.MySQLDialect: "mysql"}[db.Dialect]
		var got []string
		for _, s := range sdk.Spans.GetSpans() {
			if s.Name == "parent" {
				continue
			}
			attrs := telemetrytest.SpanAttrs(s)
			assert.Equal(t, trace.SpanKindClient, s.SpanKind, "%s: a client span", s.Name)
			assert.True(t, s.Parent.IsValid(), "%s: a child of the caller's span", s.Name)
			assert.Equal(t, system, attrs["db.system.name"], "%s: db.system.name", s.Name)
			assert.Equal(t, "users", attrs["db.collection.name"], "%s: db.collection.name", s.Name)
			for k, v := range attrs {
				assert.NotContains(t, v, "secret@example.com", "%s: attribute %s carries no parameter value", s.Name, k)
			}
			state := s.Name + " " + attrs["db.operation.name"]
			if s.Status.Code == codes.Error {
				state += " error " + attrs["error.type"]
			}
			got = append(got, state)
		}
		assert.Equal(t, []string{
			"SELECT users SELECT",
			"SELECT users SELECT", // not found is not a failure
			"UPDATE users UPDATE",
			"SELECT users SELECT",
			"SELECT users SELECT",
			"INSERT users INSERT error *repository.ConflictError",
			"DELETE users DELETE",
		}, got[len(got)-7:], "one span per statement, named by operation and table")
	})
}

// TestFindByIDTelemetryAllocs: a statement span costs nothing when the
// caller is not traced, with no provider or with the SDK.
func TestFindByIDTelemetryAllocs(t *testing.T) {
	db := testdb.SQLite(t)
	createSchema(t, db)
	sdk := telemetrytest.New(t)
	ctx := context.Background()
	measure := func(opts repository.Options[int64]) float64 {
		users := repository.NewSQL[user, int64](db.DB, dialect.SQLite, "users", opts)
		u := user{Email: time.Now().Format(time.RFC3339Nano) + "@example.com", Name: "A", BornAt: time.Unix(0, 0).UTC()}
		require.NoError(t, users.Create(ctx, &u), "create")
		return testing.AllocsPerRun(300, func() { _, _ = users.FindByID(ctx, u.ID) })
	}
	off := measure(repository.Options[int64]{})
	on := measure(repository.Options[int64]{TracerProvider: sdk.Tracers})
	t.Logf("allocs per FindByID: no provider %v, SDK (untraced caller) %v", off, on)
	assert.InDelta(t, off, on, 1, "the span hook adds no allocation (the driver's own count varies by one)")
}
