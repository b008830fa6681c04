package natsjs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/propagation"

	"github.com/svckit/svckit/internal/telemetry/telemetrytest"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/outbox"
	"github.com/svckit/svckit/outbox/natsjs"
)

func TestEndToEnd_relayAndSubscriptionApplyEveryEventOnceInKeyOrder(t *testing.T) {
	url := testdb.NATSURL(t)
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		b := newBroker(t, url)
		s := newStore(t, db)
		pub := natsjs.NewPublisher(b.js, natsjs.PublisherOptions{Prefix: b.prefix})
		stopRelay := run(outbox.NewRelay(s.box, pub, fast).Run)
		sub, err := natsjs.Subscribe(context.Background(), b.js, outbox.NewConsumer(s.box, "feed", s.applier(), outbox.ConsumerOptions{}),
			natsjs.SubscribeOptions{Stream: b.stream, Prefix: b.prefix, AckWait: 2 * time.Second})
		require.NoError(t, err)
		want := map[string][]string{}
		for i := range 100 {
			id, key := fmt.Sprintf("e%03d", i), fmt.Sprint("k", i%7)
			rollback := i%10 == 9
			err := emit(context.Background(), s.db.DB, s.d, s.box, id, key, rollback)
			if rollback {
				require.ErrorIs(t, err, errRolledBack)
				continue
			}
			require.NoError(t, err)
			want[key] = append(want[key], id)
		}
		require.Eventually(t, func() bool { return s.count(t, `SELECT COUNT(*) FROM applied`) >= 90 }, 60*time.Second, 10*time.Millisecond)
		require.NoError(t, sub.Close())
		require.NoError(t, stopRelay())
		assert.Equal(t, want, s.appliedByKey(t), "every committed event applied once, in key order; no rolled-back one")
		assert.Equal(t, 90, b.count(t, b.prefix+".>"), "the stream holds each committed event once")
	})
}

func TestPublisher_brokerDropsARepublishedEvent(t *testing.T) {
	b := newBroker(t, testdb.NATSURL(t))
	pub := natsjs.NewPublisher(b.js, natsjs.PublisherOptions{Prefix: b.prefix})
	msgs := []outbox.Message{
		{ID: "a", Type: "x.y", Key: "k", Payload: json.RawMessage(`1`), Time: time.Now()},
		{ID: "b", Type: "x.y", Key: "k", Payload: json.RawMessage(`2`), Headers: map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}},
	}
	for range 3 {
		n, err := pub.Publish(context.Background(), msgs)
		require.NoError(t, err)
		assert.Equal(t, 2, n)
	}
	assert.Equal(t, 2, b.count(t, b.prefix+".>"), "Nats-Msg-Id is the event id: republished events are not stored again")
	s, err := b.js.Stream(context.Background(), b.stream)
	require.NoError(t, err)
	raw, err := s.GetMsg(context.Background(), 2)
	require.NoError(t, err)
	assert.Equal(t, b.prefix+".x.y", raw.Subject)
	assert.Equal(t, "b", raw.Header.Get(jetstream.MsgIDHeader))
	assert.Equal(t, "k", raw.Header.Get(natsjs.HeaderKey))
	assert.Equal(t, msgs[1].Headers["traceparent"], raw.Header.Get("traceparent"))
}

func TestPublisher_brokerDownIsAnError(t *testing.T) {
	srv := testdb.StartNATS(t)
	b := newBroker(t, srv.URL)
	pub := natsjs.NewPublisher(b.js, natsjs.PublisherOptions{Prefix: b.prefix, AckTimeout: 500 * time.Millisecond})
	srv.Stop(t)
	n, err := pub.Publish(context.Background(), []outbox.Message{{ID: "a", Type: "x.y", Payload: json.RawMessage(`1`)}})
	require.Error(t, err)
	assert.Zero(t, n)
	srv.Start(t)
}

func TestSubscribe_poisonEventGoesToTheDeadLetterSubjectAndBlocksNothingElse(t *testing.T) {
	b := newBroker(t, testdb.NATSURL(t))
	s := newStore(t, testdb.SQLite(t))
	var mu sync.Mutex
	tries := map[string]int{}
	c := outbox.NewConsumer(s.box, "feed", func(ctx context.Context, m outbox.Message) error {
		mu.Lock()
		tries[m.ID]++
		mu.Unlock()
		if m.Key == "poison" {
			return errors.New("cannot apply\nthis")
		}
		return s.applier()(ctx, m)
	}, outbox.ConsumerOptions{MaxDeliveries: 3, Backoff: func(int) time.Duration { return 10 * time.Millisecond },
		DeadLetter: natsjs.DeadLetterTo(b.js, b.dead+".feed")})
	sub, err := natsjs.Subscribe(context.Background(), b.js, c, natsjs.SubscribeOptions{Stream: b.stream, Prefix: b.prefix, AckWait: 2 * time.Second})
	require.NoError(t, err)
	stopRelay := run(outbox.NewRelay(s.box, natsjs.NewPublisher(b.js, natsjs.PublisherOptions{Prefix: b.prefix}), fast).Run)
	for i, key := range []string{"a", "poison", "b", "a", "poison", "c"} {
		require.NoError(t, emit(context.Background(), s.db.DB, s.d, s.box, fmt.Sprint("e", i), key, false))
	}
	require.Eventually(t, func() bool { return b.count(t, b.dead+".>") == 2 && s.count(t, `SELECT COUNT(*) FROM applied`) == 4 },
		60*time.Second, 10*time.Millisecond)
	require.NoError(t, stopRelay())
	require.NoError(t, sub.Close())
	assert.Equal(t, map[string][]string{"a": {"e0", "e3"}, "b": {"e2"}, "c": {"e5"}}, s.appliedByKey(t))
	mu.Lock()
	assert.Equal(t, 3, tries["e1"], "the poison event was delivered MaxDeliveries times")
	mu.Unlock()

	st, err := b.js.Stream(context.Background(), b.stream)
	require.NoError(t, err)
	dl, err := st.GetLastMsgForSubject(context.Background(), b.dead+".feed")
	require.NoError(t, err)
	assert.Equal(t, "e4", string(mustID(dl.Header.Get(jetstream.MsgIDHeader))), "the last dead letter is the second poison event")
	assert.Equal(t, "work.done", dl.Header.Get(natsjs.HeaderType))
	assert.Equal(t, "cannot apply this", dl.Header.Get(natsjs.HeaderError))
}

// mustID returns the event id of a dead letter's Nats-Msg-Id.
func mustID(msgID string) []byte {
	for i := len(msgID) - 1; i >= 0; i-- {
		if msgID[i] == ':' {
			return []byte(msgID[i+1:])
		}
	}
	return []byte(msgID)
}

func TestSubscribe_redeliveryIsAbsorbedByTheInbox(t *testing.T) {
	b := newBroker(t, testdb.NATSURL(t))
	s := newStore(t, testdb.SQLite(t))
	c := outbox.NewConsumer(s.box, "feed", s.applier(), outbox.ConsumerOptions{})
	// The event was applied once already (a consumer that died before its ack).
	_, err := c.Apply(context.Background(), outbox.Message{ID: "e0", Key: "k"})
	require.NoError(t, err)
	require.NoError(t, emit(context.Background(), s.db.DB, s.d, s.box, "e0", "k", false))
	require.NoError(t, emit(context.Background(), s.db.DB, s.d, s.box, "e1", "k", false))
	stopRelay := run(outbox.NewRelay(s.box, natsjs.NewPublisher(b.js, natsjs.PublisherOptions{Prefix: b.prefix}), fast).Run)
	sub, err := natsjs.Subscribe(context.Background(), b.js, c, natsjs.SubscribeOptions{Stream: b.stream, Prefix: b.prefix})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return s.count(t, `SELECT COUNT(*) FROM applied`) == 2 }, 60*time.Second, 10*time.Millisecond)
	require.NoError(t, sub.Close())
	require.NoError(t, stopRelay())
	assert.Equal(t, map[string][]string{"k": {"e0", "e1"}}, s.appliedByKey(t))
}

func TestRestart_jetStreamRestartedMidRunLosesNothing(t *testing.T) {
	srv := testdb.StartNATS(t)
	b := newBroker(t, srv.URL)
	s := newStore(t, testdb.SQLite(t))
	stopRelay := run(outbox.NewRelay(s.box, natsjs.NewPublisher(b.js, natsjs.PublisherOptions{Prefix: b.prefix, AckTimeout: time.Second}), fast).Run)
	c := outbox.NewConsumer(s.box, "feed", s.applier(), outbox.ConsumerOptions{})
	sub, err := natsjs.Subscribe(context.Background(), b.js, c, natsjs.SubscribeOptions{Stream: b.stream, Prefix: b.prefix, AckWait: 2 * time.Second})
	require.NoError(t, err)
	want := map[string][]string{}
	write := func(from, to int) {
		for i := from; i < to; i++ {
			id, key := fmt.Sprintf("e%03d", i), fmt.Sprint("k", i%5)
			require.NoError(t, emit(context.Background(), s.db.DB, s.d, s.box, id, key, false), "a broker that is down never fails the write")
			want[key] = append(want[key], id)
		}
	}
	write(0, 100)
	srv.Stop(t) // SIGKILL by PID, mid-run: the relay may be publishing
	write(100, 200)
	srv.Start(t)
	write(200, 300)
	require.Eventually(t, func() bool { return s.count(t, `SELECT COUNT(*) FROM applied`) == 300 }, 120*time.Second, 20*time.Millisecond,
		"every event arrives after the restart")
	require.NoError(t, sub.Close())
	require.NoError(t, stopRelay())
	assert.Equal(t, want, s.appliedByKey(t), "nothing lost, each applied once, in key order")
	assert.Equal(t, 300, b.count(t, b.prefix+".>"), "the stream holds each event once")
}

func TestInstances_fourRelayProcessesKeepKeyOrderAndApplyOnce(t *testing.T) {
	url := testdb.NATSURL(t)
	for _, open := range []func(testing.TB) *testdb.DB{testdb.Postgres, testdb.MySQL} {
		db := open(t)
		t.Run(db.Name, func(t *testing.T) {
			b := newBroker(t, url)
			s := newStore(t, db)
			for i := range 4 {
				startChild(t, "relay", db, b, fmt.Sprint("r", i), 0)
			}
			sub, err := natsjs.Subscribe(context.Background(), b.js, outbox.NewConsumer(s.box, "feed", s.applier(), outbox.ConsumerOptions{}),
				natsjs.SubscribeOptions{Stream: b.stream, Prefix: b.prefix, AckWait: 2 * time.Second})
			require.NoError(t, err)
			want := map[string][]string{}
			var mu sync.Mutex
			var wg sync.WaitGroup
			for w := range 4 { // four writers, each the only writer of its keys
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 100 {
						id, key := fmt.Sprintf("w%d-%03d", w, i), fmt.Sprintf("w%d-k%d", w, i%6)
						if err := emit(context.Background(), s.db.DB, s.d, s.box, id, key, false); err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						want[key] = append(want[key], id)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			require.Eventually(t, func() bool { return s.count(t, `SELECT COUNT(*) FROM applied`) == 400 }, 120*time.Second, 20*time.Millisecond)
			require.NoError(t, sub.Close())
			assert.Equal(t, want, s.appliedByKey(t), "four relay processes: per-key order kept, each effect once")
			assert.Equal(t, 400, b.count(t, b.prefix+".>"), "and each event stored once")
		})
	}
}

func TestCrash_writerKilledTwentyTimesAppliesExactlyTheCommittedEvents(t *testing.T) {
	url := testdb.NATSURL(t)
	db := testdb.Postgres(t)
	b := newBroker(t, url)
	s := newStore(t, db)
	sub, err := natsjs.Subscribe(context.Background(), b.js, outbox.NewConsumer(s.box, "feed", s.applier(), outbox.ConsumerOptions{}),
		natsjs.SubscribeOptions{Stream: b.stream, Prefix: b.prefix, AckWait: 2 * time.Second})
	require.NoError(t, err)
	defer sub.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		before := s.count(t, `SELECT COUNT(*) FROM work`)
		cmd := startChild(t, "writer", db, b, fmt.Sprint("c", round), 0)
		// Let it commit something, then kill it at a random point.
		require.Eventually(t, func() bool { return s.count(t, `SELECT COUNT(*) FROM work`) > before }, 60*time.Second, time.Millisecond)
		time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond) // a random kill point, not a synchronisation
		kill(cmd)
	}
	relay := startChild(t, "relay", db, b, "final", 0) // a restart that drains what the dead left
	committed := s.ids(t, `SELECT id FROM work ORDER BY id`)
	require.Eventually(t, func() bool { return s.count(t, `SELECT COUNT(*) FROM applied`) >= len(committed) }, 120*time.Second, 20*time.Millisecond)
	kill(relay)
	require.NoError(t, sub.Close())
	applied := s.ids(t, `SELECT id FROM applied ORDER BY id`)
	assert.Equal(t, committed, applied, "exactly the committed transactions' events: none missing, none rolled back, none twice")
	for _, id := range applied {
		var n int
		fmt.Sscanf(id[len(id)-6:], "%d", &n)
		assert.NotZero(t, n%7, "%s rolled back and must not be applied", id)
	}
	t.Logf("crash test: %d transactions committed over 20 kills, %d events applied, %d stored in the stream", len(committed), len(applied), b.count(t, b.prefix+".>"))

	// An outside client, the nats CLI, reads the stream: its count matches
	// the database.
	cli, err := exec.LookPath("nats")
	if err != nil {
		if testdb.Required() {
			t.Fatalf("SVCKIT_REQUIRE_SERVICES=1 but the nats CLI is not on PATH")
		}
		t.Skip("the nats CLI is not on PATH: skipping its check (go install github.com/nats-io/natscli/nats@v0.5.0)")
	}
	out, err := exec.Command(cli, "--server", url, "stream", "subjects", b.stream, b.prefix+".>", "--json").Output()
	require.NoError(t, err, "nats stream subjects")
	var subjects map[string]int
	require.NoError(t, json.Unmarshal(out, &subjects), "nats --json output: %s", out)
	total := 0
	for _, n := range subjects {
		total += n
	}
	assert.Equal(t, len(committed), total, "the nats CLI counts as many events in the stream as the database committed")
}

// TestEndToEnd_spanJoinsTheEmitterThroughJetStream: the trace context Emit
// writes into the event's headers crosses JetStream as message headers,
// so the consumer's span in another subscription is the Emit span's child,
// in the emitting request's trace.
func TestEndToEnd_spanJoinsTheEmitterThroughJetStream(t *testing.T) {
	sdk := telemetrytest.New(t)
	b := newBroker(t, testdb.NATSURL(t))
	db := testdb.SQLite(t)
	s := newStore(t, db)
	box := outbox.New(db.DB, s.d, outbox.Options{Propagator: propagation.TraceContext{}, TracerProvider: sdk.Tracers, MeterProvider: sdk.Meters})
	stopRelay := run(outbox.NewRelay(box, natsjs.NewPublisher(b.js, natsjs.PublisherOptions{Prefix: b.prefix}), fast).Run)
	sub, err := natsjs.Subscribe(context.Background(), b.js, outbox.NewConsumer(box, "traced", s.applier(), outbox.ConsumerOptions{}),
		natsjs.SubscribeOptions{Stream: b.stream, Prefix: b.prefix, AckWait: 2 * time.Second})
	require.NoError(t, err)
	ctx, end := sdk.Parent(context.Background())
	require.NoError(t, emit(ctx, db.DB, s.d, box, "traced1", "k", false))
	end()
	require.Eventually(t, func() bool { return s.count(t, `SELECT COUNT(*) FROM applied`) == 1 }, 60*time.Second, 10*time.Millisecond)
	require.NoError(t, sub.Close())
	require.NoError(t, stopRelay())
	var emitSpan, parent, trace1, trace2 string
	for _, sp := range sdk.Spans.GetSpans() {
		switch sp.Name {
		case outbox.SpanEmit:
			emitSpan, trace1 = sp.SpanContext.SpanID().String(), sp.SpanContext.TraceID().String()
		case outbox.SpanProcess:
			parent, trace2 = sp.Parent.SpanID().String(), sp.SpanContext.TraceID().String()
		}
	}
	require.NotEmpty(t, emitSpan, "Emit made a span under the request's")
	require.NotEmpty(t, parent, "the delivery from JetStream made a span")
	assert.Equal(t, emitSpan, parent, "the consumer's span is the Emit span's child, read from the NATS headers")
	assert.Equal(t, trace1, trace2, "one trace from producer to consumer")
}
