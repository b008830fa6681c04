package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/propagation"
	"golang.org/x/sync/errgroup"

	"github.com/svckit/svckit/internal/telemetry/telemetrytest"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/outbox"
	"github.com/svckit/svckit/txn"
)

// applyToWork is a handler whose effect is a row in "applied": one per
// event, a second one would break its primary key.
func applyToWork(f *fixture) outbox.Handler {
	return func(ctx context.Context, m outbox.Message) error {
		_, err := txn.From(ctx, f.db.DB).ExecContext(ctx, f.d.Rebind(`INSERT INTO applied (id, event_key) VALUES (?, ?)`), m.ID, m.Key)
		return err
	}
}

func withApplied(t *testing.T, f *fixture) {
	_, err := f.db.DB.Exec(`CREATE TABLE applied (n INTEGER PRIMARY KEY` + autoIncrement(f) + `, id VARCHAR(64) NOT NULL UNIQUE, event_key VARCHAR(64) NOT NULL)`)
	require.NoError(t, err)
}

func autoIncrement(f *fixture) string {
	switch f.db.Dialect {
	case testdb.MySQLDialect:
		return " AUTO_INCREMENT"
	case testdb.PostgresDialect:
		return " GENERATED ALWAYS AS IDENTITY"
	}
	return ""
}

// appliedByKey reads the applied ids by key, in the order they were applied.
func appliedByKey(t *testing.T, f *fixture) map[string][]string {
	rows, err := f.db.DB.Query(`SELECT id, event_key FROM applied ORDER BY n`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var id, key string
		require.NoError(t, rows.Scan(&id, &key))
		out[key] = append(out[key], id)
	}
	require.NoError(t, rows.Err())
	return out
}

func TestConsumer_appliesOncePerEventID(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		f := newFixture(t, db, outbox.Options{})
		withApplied(t, f)
		c := outbox.NewConsumer(f.box, "feed", applyToWork(f), outbox.ConsumerOptions{})
		m := outbox.Message{ID: "e1", Type: "a.b", Key: "k"}
		tests := []struct {
			name    string
			applied bool
		}{{"first delivery applies", true}, {"second delivery is absorbed", false}, {"third too", false}}
		for _, tt := range tests {
			applied, err := c.Apply(context.Background(), m)
			require.NoError(t, err, tt.name)
			assert.Equal(t, tt.applied, applied, tt.name)
		}
		other := outbox.NewConsumer(f.box, "other", func(context.Context, outbox.Message) error { return nil }, outbox.ConsumerOptions{})
		applied, err := other.Apply(context.Background(), m)
		require.NoError(t, err)
		assert.True(t, applied, "each consumer has its own inbox entries")
		assert.Equal(t, 1, f.count(t, `SELECT COUNT(*) FROM applied`))
	})
}

func TestConsumer_concurrentDuplicatesApplyOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		f := newFixture(t, db, outbox.Options{})
		withApplied(t, f)
		c := outbox.NewConsumer(f.box, "feed", applyToWork(f), outbox.ConsumerOptions{Backoff: func(int) time.Duration { return time.Millisecond }})
		var g errgroup.Group
		for range 8 {
			g.Go(func() error {
				return c.Deliver(context.Background(), outbox.Message{ID: "same", Type: "a.b", Key: "k"}, 0, nil)
			})
		}
		require.NoError(t, g.Wait())
		assert.Equal(t, 1, f.count(t, `SELECT COUNT(*) FROM applied`), "eight racing deliveries, one effect")
	})
}

func TestConsumer_failedHandlerRollsBackItsInboxRow(t *testing.T) {
	f := newFixture(t, testdb.SQLite(t), outbox.Options{})
	withApplied(t, f)
	var calls atomic.Int32
	c := outbox.NewConsumer(f.box, "feed", func(ctx context.Context, m outbox.Message) error {
		if err := applyToWork(f)(ctx, m); err != nil {
			return err
		}
		if calls.Add(1) < 3 {
			return errors.New("flaky")
		}
		return nil
	}, outbox.ConsumerOptions{Backoff: func(int) time.Duration { return time.Millisecond }})
	require.NoError(t, c.Deliver(context.Background(), outbox.Message{ID: "e", Type: "a.b"}, 0, nil))
	assert.Equal(t, int32(3), calls.Load(), "retried until it succeeded")
	assert.Equal(t, 1, f.count(t, `SELECT COUNT(*) FROM applied`), "only the committed attempt's effect stays")
	assert.Equal(t, 1, f.count(t, `SELECT COUNT(*) FROM svckit_outbox_inbox`))
}

func TestConsumer_poisonEventIsDeadLetteredAndBlocksNothingElse(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		sdk := telemetrytest.New(t)
		f := newFixture(t, db, outbox.Options{MeterProvider: sdk.Meters, TracerProvider: sdk.Tracers})
		withApplied(t, f)
		var (
			mu      sync.Mutex
			dead    []string
			beats   int
			backoff []int
		)
		c := outbox.NewConsumer(f.box, "feed", func(ctx context.Context, m outbox.Message) error {
			if m.Key == "poison" {
				return fmt.Errorf("cannot apply %s", m.ID)
			}
			return applyToWork(f)(ctx, m)
		}, outbox.ConsumerOptions{
			MaxDeliveries: 3,
			Backoff: func(n int) time.Duration {
				mu.Lock()
				backoff = append(backoff, n)
				mu.Unlock()
				return time.Millisecond
			},
			DeadLetter: func(_ context.Context, m outbox.Message, cause error) error {
				mu.Lock()
				defer mu.Unlock()
				dead = append(dead, m.ID+": "+cause.Error())
				return nil
			},
		})
		var local outbox.Local
		local.Subscribe(c, "thing.*")
		for i, key := range []string{"a", "poison", "b", "a"} {
			require.NoError(t, f.write(context.Background(), fmt.Sprint("w", i), outbox.Event{ID: fmt.Sprint("e", i), Type: "thing.done", Key: key, Payload: i}, nil))
		}
		f.drain(t, outbox.NewRelay(f.box, &local, outbox.RelayOptions{}))
		assert.Equal(t, []string{"e1: cannot apply e1"}, dead, "the poison event is dead-lettered with its cause")
		assert.Equal(t, []int{1, 2}, backoff, "three deliveries, two waits between them")
		assert.Equal(t, map[string][]string{"a": {"e0", "e3"}, "b": {"e2"}}, appliedByKey(t, f), "every other event applied")
		sums := sdk.Sums(t)
		assert.Equal(t, int64(3), sums[outbox.MetricDeliveries+"{svckit.outbox.consumer=feed,svckit.outbox.result=applied}"])
		assert.Equal(t, int64(3), sums[outbox.MetricDeliveries+"{svckit.outbox.consumer=feed,svckit.outbox.result=failed}"])
		assert.Equal(t, int64(1), sums[outbox.MetricDeliveries+"{svckit.outbox.consumer=feed,svckit.outbox.result=dead_lettered}"])
		assert.Equal(t, int64(2), sums[outbox.MetricRedeliveries+"{svckit.outbox.consumer=feed}"])
		_ = beats
	})
}

func TestConsumer_deliverStopsWithTheContext(t *testing.T) {
	f := newFixture(t, testdb.SQLite(t), outbox.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	beat := 0
	c := outbox.NewConsumer(f.box, "feed", func(context.Context, outbox.Message) error { return errors.New("no") },
		outbox.ConsumerOptions{Backoff: func(int) time.Duration { cancel(); return time.Hour }})
	err := c.Deliver(ctx, outbox.Message{ID: "e", Type: "a.b"}, 0, func() { beat++ })
	require.ErrorIs(t, err, context.Canceled, "not acknowledged: the broker delivers it again")
	assert.Equal(t, 1, beat, "the broker was told before the wait")
}

func TestConsumer_priorDeliveriesCount(t *testing.T) {
	f := newFixture(t, testdb.SQLite(t), outbox.Options{})
	var calls int
	var dead bool
	c := outbox.NewConsumer(f.box, "feed", func(context.Context, outbox.Message) error { calls++; return errors.New("no") },
		outbox.ConsumerOptions{MaxDeliveries: 5, Backoff: func(int) time.Duration { return 0 },
			DeadLetter: func(context.Context, outbox.Message, error) error { dead = true; return nil }})
	require.NoError(t, c.Deliver(context.Background(), outbox.Message{ID: "e", Type: "a.b"}, 4, nil))
	assert.Equal(t, 1, calls, "four deliveries before this one: one try left")
	assert.True(t, dead)
}

func TestConsumer_deadLetterFailureLeavesTheEventUndelivered(t *testing.T) {
	f := newFixture(t, testdb.SQLite(t), outbox.Options{})
	broken := errors.New("dead-letter subject unreachable")
	c := outbox.NewConsumer(f.box, "feed", func(context.Context, outbox.Message) error { return errors.New("no") },
		outbox.ConsumerOptions{MaxDeliveries: 1, DeadLetter: func(context.Context, outbox.Message, error) error { return broken }})
	require.ErrorIs(t, c.Deliver(context.Background(), outbox.Message{ID: "e", Type: "a.b"}, 0, nil), broken)
}

func TestConsumer_spanJoinsTheEmitter(t *testing.T) {
	sdk := telemetrytest.New(t)
	f := newFixture(t, testdb.SQLite(t), outbox.Options{Propagator: propagation.TraceContext{}, TracerProvider: sdk.Tracers, MeterProvider: sdk.Meters})
	var local outbox.Local
	local.Subscribe(outbox.NewConsumer(f.box, "feed", func(context.Context, outbox.Message) error { return nil }, outbox.ConsumerOptions{}))
	f.tx = txn.New(f.db.DB, txn.Options{MeterProvider: sdk.Meters, TracerProvider: sdk.Tracers})
	ctx, end := sdk.Parent(context.Background())
	require.NoError(t, f.write(ctx, "w", outbox.Event{Type: "thing.done", Payload: 1}, nil))
	end()
	f.drain(t, outbox.NewRelay(f.box, &local, outbox.RelayOptions{}))
	var emit, process, parent string
	var trace1, trace2 string
	for _, s := range sdk.Spans.GetSpans() {
		switch s.Name {
		case outbox.SpanEmit:
			emit, trace1 = s.SpanContext.SpanID().String(), s.SpanContext.TraceID().String()
		case outbox.SpanProcess:
			process, parent, trace2 = s.SpanContext.SpanID().String(), s.Parent.SpanID().String(), s.SpanContext.TraceID().String()
			assert.Equal(t, "feed", telemetrytest.SpanAttrs(s)[outbox.AttrConsumer])
		}
	}
	require.NotEmpty(t, emit)
	require.NotEmpty(t, process, "the delivery made a span")
	assert.Equal(t, emit, parent, "the consumer's span is the Emit span's child")
	assert.Equal(t, trace1, trace2, "one trace from producer to consumer")
}

func TestNewConsumer_panicsOnBadArguments(t *testing.T) {
	f := newFixture(t, testdb.SQLite(t), outbox.Options{})
	h := func(context.Context, outbox.Message) error { return nil }
	assert.Panics(t, func() { outbox.NewConsumer(nil, "a", h, outbox.ConsumerOptions{}) })
	assert.Panics(t, func() { outbox.NewConsumer(f.box, "a", nil, outbox.ConsumerOptions{}) })
	assert.Panics(t, func() { outbox.NewConsumer(f.box, "a b", h, outbox.ConsumerOptions{}) })
	c := outbox.NewConsumer(f.box, "a", h, outbox.ConsumerOptions{MaxDeliveries: -3})
	assert.Equal(t, outbox.DefaultMaxDeliveries, c.MaxDeliveries())
	assert.Equal(t, "a", c.Name())
}

func TestPruneInbox(t *testing.T) {
	f := newFixture(t, testdb.SQLite(t), outbox.Options{})
	c := outbox.NewConsumer(f.box, "feed", func(context.Context, outbox.Message) error { return nil }, outbox.ConsumerOptions{})
	_, err := c.Apply(context.Background(), outbox.Message{ID: "e"})
	require.NoError(t, err)
	n, err := f.box.PruneInbox(context.Background(), time.Now().Add(-time.Hour))
	require.NoError(t, err)
	assert.Zero(t, n)
	n, err = f.box.PruneInbox(context.Background(), time.Now().Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
}

func TestConsumer_leaseHasOneHolder(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		f := newFixture(t, db, outbox.Options{})
		c := outbox.NewConsumer(f.box, "feed", func(context.Context, outbox.Message) error { return nil }, outbox.ConsumerOptions{})
		ctx := context.Background()
		tests := []struct {
			owner string
			ttl   time.Duration
			held  bool
			why   string
		}{
			{"a", time.Hour, true, "a free lease is taken"},
			{"b", time.Hour, false, "a held lease is refused"},
			{"a", time.Hour, true, "the holder renews"},
		}
		for _, tt := range tests {
			held, err := c.Lease(ctx, tt.owner, tt.ttl)
			require.NoError(t, err)
			assert.Equal(t, tt.held, held, tt.why)
		}
		require.NoError(t, c.Release(ctx, "b"), "releasing what one does not hold changes nothing")
		held, err := c.Lease(ctx, "b", time.Hour)
		require.NoError(t, err)
		assert.False(t, held)
		require.NoError(t, c.Release(ctx, "a"))
		held, err = c.Lease(ctx, "b", time.Hour)
		require.NoError(t, err)
		assert.True(t, held, "a released lease is taken at once")
	})
}
