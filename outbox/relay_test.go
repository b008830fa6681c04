package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"golang.org/x/sync/errgroup"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/internal/telemetry/telemetrytest"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/outbox"
)

func TestRelay_publishesCommittedEventsInKeyOrder(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		f := newFixture(t, db, outbox.Options{})
		want := f.emitted(t, 60, 7)
		require.Error(t, f.write(context.Background(), "rolled-back", outbox.Event{ID: "gone", Type: "thing.done", Key: "k1", Payload: 1}, errors.New("no")))
		pub := &recorder{}
		f.drain(t, outbox.NewRelay(f.box, pub, outbox.RelayOptions{BatchSize: 8}))
		got := pub.got()
		assert.Len(t, got, 60, "every committed event is published once")
		assert.Equal(t, want, byKey(got), "per key, in emission order; the rolled-back event never")
		for _, m := range got {
			assert.NotZero(t, m.Seq)
			assert.False(t, m.Time.IsZero())
			assert.JSONEq(t, fmt.Sprintf(`{"i":%d}`, mustIndex(m.ID)), string(m.Payload))
		}
	})
}

func mustIndex(id string) int {
	var i int
	fmt.Sscanf(id, "e%05d", &i)
	return i
}

func TestRelay_brokerDownDelaysAndLosesNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		f := newFixture(t, db, outbox.Options{})
		want := f.emitted(t, 20, 3)
		pub := &recorder{}
		down := errors.New("broker down")
		pub.setDown(down)
		r := outbox.NewRelay(f.box, pub, outbox.RelayOptions{})
		for range 3 {
			n, err := r.Round(context.Background())
			require.ErrorIs(t, err, down)
			assert.Zero(t, n)
		}
		assert.Equal(t, 20, f.pending(t), "nothing is marked published while the broker is down")
		pub.setDown(nil)
		pub.limit = 3 // then a broker that takes a few at a time
		for i := 0; f.pending(t) > 0; i++ {
			_, _ = r.Round(context.Background())
			require.Less(t, i, 100)
		}
		assert.Equal(t, want, byKey(pub.got()), "all published once, in key order")
	})
}

func TestRelay_runWakesOnCommitAndBacksOff(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		f := newFixture(t, db, outbox.Options{})
		delivered := make(chan outbox.Message, 10)
		var local outbox.Local
		local.Subscribe(outbox.NewConsumer(f.box, "probe", func(_ context.Context, m outbox.Message) error {
			delivered <- m
			return nil
		}, outbox.ConsumerOptions{}))
		// An hour's poll: only the commit's wake-up can bring the event.
		r := outbox.NewRelay(f.box, &local, outbox.RelayOptions{PollInterval: time.Hour})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		require.NoError(t, f.write(context.Background(), "w", outbox.Event{ID: "wake", Type: "thing.done", Payload: 1}, nil))
		select {
		case m := <-delivered:
			assert.Equal(t, "wake", m.ID)
		case <-time.After(30 * time.Second):
			t.Fatal("the commit did not wake the relay")
		}
		cancel()
		require.NoError(t, <-done)
	})
}

func TestRelay_runRetriesWhileTheBrokerIsDown(t *testing.T) {
	f := newFixture(t, testdb.SQLite(t), outbox.Options{})
	pub := &recorder{}
	pub.setDown(errors.New("broker down"))
	failures := make(chan int, 100)
	r := outbox.NewRelay(f.box, pub, outbox.RelayOptions{PollInterval: time.Millisecond, Backoff: func(n int) time.Duration {
		failures <- n
		return time.Millisecond
	}})
	f.emitted(t, 5, 2)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	for want := 1; want <= 3; want++ {
		assert.Equal(t, want, <-failures, "the backoff grows with the failures in a row")
	}
	st := r.Stats()
	assert.GreaterOrEqual(t, st.Failures, 3)
	require.Error(t, st.Err)
	pub.setDown(nil)
	require.Eventually(t, func() bool { return len(pub.got()) == 5 }, 30*time.Second, time.Millisecond, "published once the broker is back")
	cancel()
	require.NoError(t, <-done)
}

func TestRelay_manyRelaysShareTheWorkAndKeepKeyOrder(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		f := newFixture(t, db, outbox.Options{})
		const relays, events = 4, 400
		pub := &recorder{}
		ctx := context.Background()
		var g errgroup.Group
		var mu sync.Mutex
		want := map[string][]string{}
		for w := range 4 { // writers emit while the relays run
			g.Go(func() error {
				for i := range events / 4 {
					key := fmt.Sprintf("k%d", (i*4+w)%13)
					id := fmt.Sprintf("w%d-%04d", w, i)
					// One key's events come from one writer, so their order is defined.
					key = fmt.Sprintf("w%d-%s", w, key)
					if err := f.write(ctx, id, outbox.Event{ID: id, Type: "thing.done", Key: key, Payload: i}, nil); err != nil {
						return err
					}
					mu.Lock()
					want[key] = append(want[key], id)
					mu.Unlock()
				}
				return nil
			})
		}
		rctx, cancel := context.WithCancel(ctx)
		var rg errgroup.Group
		for i := range relays {
			box := outbox.New(open(t, db), f.d, outbox.Options{})
			r := outbox.NewRelay(box, pub, outbox.RelayOptions{BatchSize: 16, MaxPartitions: 4, PollInterval: time.Millisecond, Owner: fmt.Sprint("r", i)})
			rg.Go(func() error { return r.Run(rctx) })
		}
		require.NoError(t, g.Wait())
		require.Eventually(t, func() bool { return len(pub.got()) >= events && f.pending(t) == 0 }, 60*time.Second, 10*time.Millisecond)
		cancel()
		require.NoError(t, rg.Wait())
		got := pub.got()
		assert.Len(t, got, events, "no event published twice by relays that share a database")
		assert.Equal(t, want, byKey(got), "per key, in emission order")
	})
}

func TestRelay_sqliteLease(t *testing.T) {
	f := newFixture(t, testdb.SQLite(t), outbox.Options{})
	f.emitted(t, 3, 1)
	a, b := &recorder{}, &recorder{}
	ra := outbox.NewRelay(f.box, a, outbox.RelayOptions{LeaseTTL: time.Hour})
	rb := outbox.NewRelay(f.box, b, outbox.RelayOptions{LeaseTTL: time.Hour})
	n, err := ra.Round(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	f.emitted(t, 2, 1)
	n, err = rb.Round(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n, "a second relay waits while the lease holder lives")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, ra.Run(ctx), "Run releases the lease when it ends")
	n, err = rb.Round(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, n, "the successor takes over at once")
	assert.Len(t, b.got(), 2)
}

func TestRelay_cleanDeletesOnlyOldPublishedEvents(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		f := newFixture(t, db, outbox.Options{})
		f.emitted(t, 5, 2)
		pub := &recorder{}
		f.drain(t, outbox.NewRelay(f.box, pub, outbox.RelayOptions{}))
		_, err := db.DB.Exec(`INSERT INTO svckit_outbox (id, type, event_key, part, payload, created_at) VALUES ('p', 'a.b', '', 0, '1', 0)`)
		require.NoError(t, err)
		keep := outbox.NewRelay(f.box, pub, outbox.RelayOptions{Retention: time.Hour})
		n, err := keep.Clean(context.Background())
		require.NoError(t, err)
		assert.Zero(t, n, "events published within the retention stay")
		now := outbox.NewRelay(f.box, pub, outbox.RelayOptions{Retention: time.Nanosecond})
		n, err = now.Clean(context.Background())
		require.NoError(t, err)
		assert.Equal(t, int64(5), n, "published events past the retention go")
		assert.Equal(t, 1, f.pending(t), "a pending event is never deleted")
		never := outbox.NewRelay(f.box, pub, outbox.RelayOptions{Retention: -1})
		n, err = never.Clean(context.Background())
		require.NoError(t, err)
		assert.Zero(t, n)
	})
}

func TestRelay_statsAndMetrics(t *testing.T) {
	sdk := telemetrytest.New(t)
	f := newFixture(t, testdb.SQLite(t), outbox.Options{MeterProvider: sdk.Meters, TracerProvider: sdk.Tracers})
	f.emitted(t, 4, 2)
	pub := &recorder{}
	pub.setDown(errors.New("down"))
	r := outbox.NewRelay(f.box, pub, outbox.RelayOptions{StatsInterval: time.Nanosecond, Backoff: func(int) time.Duration { return time.Hour }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	require.Eventually(t, func() bool { return r.Stats().Failures > 0 }, 30*time.Second, time.Millisecond)
	st := r.Stats()
	assert.Equal(t, int64(4), st.Depth)
	assert.Greater(t, st.OldestAge, time.Duration(0))
	m := sdk.Collect(t)
	require.Contains(t, m, outbox.MetricDepth, "depth is observed while Run runs")
	require.Contains(t, m, outbox.MetricOldestAge)
	depth, ok := m[outbox.MetricDepth].Data.(metricdata.Gauge[int64])
	require.True(t, ok, "depth is an integer gauge")
	require.Len(t, depth.DataPoints, 1)
	assert.Equal(t, int64(4), depth.DataPoints[0].Value, "the gauge reports the events waiting")
	age, ok := m[outbox.MetricOldestAge].Data.(metricdata.Gauge[float64])
	require.True(t, ok, "the oldest age is a gauge of seconds")
	require.Len(t, age.DataPoints, 1)
	assert.Greater(t, age.DataPoints[0].Value, 0.0, "the oldest event's age, while the broker is down")
	sums := sdk.Sums(t)
	assert.Equal(t, int64(4), sums[outbox.MetricPublishFailures])
	cancel()
	require.NoError(t, <-done)

	pub.setDown(nil)
	f.drain(t, r)
	sums = sdk.Sums(t)
	assert.Equal(t, int64(4), sums[outbox.MetricPublished])
	assert.Equal(t, uint64(4), sdk.Histograms(t)[outbox.MetricLag])
}

func TestRelay_optionDefaultsNeverPanic(t *testing.T) {
	f := newFixture(t, testdb.SQLite(t), outbox.Options{})
	for _, o := range []outbox.RelayOptions{
		{},
		{BatchSize: -1, PollInterval: -1, CleanupInterval: -1, StatsInterval: -1, MaxPartitions: -1, LeaseTTL: -1, Retention: -1},
		{BatchSize: 1 << 40, MaxPartitions: 1 << 20, PollInterval: time.Duration(1 << 62)},
	} {
		r := outbox.NewRelay(f.box, &recorder{}, o)
		_, err := r.Round(context.Background())
		require.NoError(t, err)
	}
	assert.Panics(t, func() { outbox.NewRelay(nil, &recorder{}, outbox.RelayOptions{}) })
	assert.Panics(t, func() { outbox.NewRelay(f.box, nil, outbox.RelayOptions{}) })
	_ = dialect.SQLite
}
