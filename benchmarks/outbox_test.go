package benchmarks

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/components/forwarder"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/outbox"
	"github.com/svckit/svckit/outbox/natsjs"
	"github.com/svckit/svckit/txn"
)

// BenchmarkOutboxTransfer is what an event costs a write: the same
// transfer (lock two account rows in key order, two UPDATEs, an INSERT of
// the transfer) on PostgreSQL, without an event and with one
// outbox.Emit in its transaction. The two run in alternating blocks
// (ABBA) on the same rows, so machine noise hits both alike; ratio is
// with/without.
func BenchmarkOutboxTransfer(b *testing.B) {
	db := testdb.Postgres(b)
	ctx := context.Background()
	box := outbox.New(db.DB, dialect.Postgres, outbox.Options{})
	must(b, box.Migrate(ctx))
	for _, q := range []string{
		`CREATE TABLE accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL)`,
		`CREATE TABLE transfers (id BIGSERIAL PRIMARY KEY, from_id INT NOT NULL, to_id INT NOT NULL, amount BIGINT NOT NULL)`,
		`INSERT INTO accounts VALUES (1, 1000000000), (2, 1000000000)`,
	} {
		_, err := db.DB.Exec(q)
		must(b, err)
	}
	transfer := func(event bool) error {
		return txn.Do(ctx, db.DB, func(ctx context.Context) error {
			q := txn.From(ctx, db.DB)
			rows, err := q.QueryContext(ctx, `SELECT id FROM accounts WHERE id IN (1, 2) ORDER BY id FOR UPDATE`)
			if err != nil {
				return err
			}
			rows.Close()
			if _, err := q.ExecContext(ctx, `UPDATE accounts SET balance = balance - 1 WHERE id = 1`); err != nil {
				return err
			}
			if _, err := q.ExecContext(ctx, `UPDATE accounts SET balance = balance + 1 WHERE id = 2`); err != nil {
				return err
			}
			var id int64
			if err := q.QueryRowContext(ctx, `INSERT INTO transfers (from_id, to_id, amount) VALUES (1, 2, 1) RETURNING id`).Scan(&id); err != nil {
				return err
			}
			if !event {
				return nil
			}
			return box.Emit(ctx, outbox.Event{Type: "transfer.completed", Key: "1", Payload: map[string]int64{"transferId": id, "from": 1, "to": 2, "amount": 1}})
		})
	}
	const block = 32
	var took [2]time.Duration
	var count [2]int
	order := []bool{false, true, true, false}
	for i := 0; b.Loop(); i++ {
		k := order[(i/block)%4]
		start := time.Now()
		must(b, transfer(k))
		idx := 0
		if k {
			idx = 1
		}
		took[idx] += time.Since(start)
		count[idx]++
	}
	if count[0] > 0 && count[1] > 0 {
		without := float64(took[0]) / float64(count[0])
		with := float64(took[1]) / float64(count[1])
		b.ReportMetric(without/1e3, "µs/without")
		b.ReportMetric(with/1e3, "µs/with")
		b.ReportMetric(with/without, "ratio")
	}
}

// BenchmarkOutboxRelay moves b.N events, committed beforehand, from
// PostgreSQL to one JetStream stream, and reports events/s from the first
// poll to the last acknowledgement:
//
//   - svckit: outbox.Relay with natsjs.Publisher (batches of 500 published
//     asynchronously, marked published in the batch's transaction);
//   - watermill: watermill-sql's PostgreSQL subscriber under watermill's
//     forwarder, which publishes each message to JetStream and waits for
//     its acknowledgement before it acks the row (watermill has no
//     JetStream publisher in the modules served here; the one below does
//     what watermill-nats's does: a synchronous publish with the message's
//     UUID as Nats-Msg-Id).
//
// Same broker, same payloads, same de-duplication header; the events are
// written through each library's own producer (outbox.Emit; the
// forwarder's enveloping publisher over watermill-sql's).
func BenchmarkOutboxRelay(b *testing.B) {
	url := natsURL(b)
	for _, impl := range []string{"svckit", "watermill"} {
		b.Run(impl, func(b *testing.B) {
			db := testdb.Postgres(b)
			js, stream, prefix := benchStream(b, url)
			ctx := context.Background()
			payload := map[string]any{"transferId": "01900000-0000-7000-8000-000000000001", "amount": 40, "from": "a", "to": "b"}
			n := b.N
			var run func(ctx context.Context) error
			switch impl {
			case "svckit":
				box := outbox.New(db.DB, dialect.Postgres, outbox.Options{})
				must(b, box.Migrate(ctx))
				for i := 0; i < n; i += 100 {
					must(b, txn.Do(ctx, db.DB, func(ctx context.Context) error {
						for j := i; j < min(i+100, n); j++ {
							if err := box.Emit(ctx, outbox.Event{Type: "transfer.completed", Key: fmt.Sprint("k", j%64), Payload: payload}); err != nil {
								return err
							}
						}
						return nil
					}))
				}
				relay := outbox.NewRelay(box, natsjs.NewPublisher(js, natsjs.PublisherOptions{Prefix: prefix}), outbox.RelayOptions{PollInterval: time.Millisecond})
				run = relay.Run
			case "watermill":
				logger := watermill.NopLogger{}
				schema, offsets := wsql.DefaultPostgreSQLSchema{}, wsql.DefaultPostgreSQLOffsetsAdapter{}
				sqlPub, err := wsql.NewPublisher(wsql.BeginnerFromStdSQL(db.DB), wsql.PublisherConfig{SchemaAdapter: schema, AutoInitializeSchema: true}, logger)
				must(b, err)
				pub := forwarder.NewPublisher(sqlPub, forwarder.PublisherConfig{ForwarderTopic: "forwarder"})
				body := []byte(`{"transferId":"01900000-0000-7000-8000-000000000001","amount":40,"from":"a","to":"b"}`)
				for i := 0; i < n; i += 100 {
					var msgs []*message.Message
					for j := i; j < min(i+100, n); j++ {
						m := message.NewMessage(watermill.NewUUID(), body)
						m.Metadata.Set(natsjs.HeaderKey, fmt.Sprint("k", j%64))
						msgs = append(msgs, m)
					}
					must(b, pub.Publish("transfer.completed", msgs...))
				}
				sub, err := wsql.NewSubscriber(wsql.BeginnerFromStdSQL(db.DB), wsql.SubscriberConfig{
					SchemaAdapter: schema, OffsetsAdapter: offsets, InitializeSchema: true,
					ConsumerGroup: "bench", PollInterval: time.Millisecond,
				}, logger)
				must(b, err)
				fwd, err := forwarder.NewForwarder(sub, jsPublisher{js: js, prefix: prefix}, logger, forwarder.Config{ForwarderTopic: "forwarder"})
				must(b, err)
				run = fwd.Run
			}
			b.ResetTimer()
			start := time.Now()
			ctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- run(ctx) }()
			for streamCount(b, js, stream) < n {
				time.Sleep(time.Millisecond)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			cancel()
			<-done
			b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
		})
	}
}

// BenchmarkOutboxLag emits 500 events/s (open loop: a transaction begins
// every 2ms whatever the others take, on a pool of 32 connections), each
// in its own transaction, for b.N events, with a relay publishing to
// JetStream, and reports the commit-to-publish lag a subscriber sees: the
// time it receives each event minus the time its transaction's commit
// returned (an after-commit hook), p50 and p99, and the rate the loop
// reached. "wake" emits through the relay's Outbox (the commit wakes it);
// "poll" through another instance's Outbox, so only the relay's poll
// (RelayOptions.PollInterval, 100ms) finds the event, as for events
// committed by other processes.
func BenchmarkOutboxLag(b *testing.B) {
	url := natsURL(b)
	for _, mode := range []string{"wake", "poll"} {
		b.Run(mode, func(b *testing.B) {
			db := testdb.Postgres(b)
			db.DB.SetMaxOpenConns(32)
			js, _, prefix := benchStream(b, url)
			ctx := context.Background()
			box := outbox.New(db.DB, dialect.Postgres, outbox.Options{})
			must(b, box.Migrate(ctx))
			emitter := box
			if mode == "poll" {
				emitter = outbox.New(db.DB, dialect.Postgres, outbox.Options{})
			}
			nc, err := nats.Connect(url)
			must(b, err)
			defer nc.Close()
			var (
				mu        sync.Mutex
				received  = make(map[string]time.Time, b.N)
				committed = make(map[string]time.Time, b.N)
				all       = make(chan struct{})
			)
			sub, err := nc.Subscribe(prefix+".>", func(m *nats.Msg) {
				now := time.Now()
				mu.Lock()
				defer mu.Unlock()
				received[m.Header.Get(jetstream.MsgIDHeader)] = now
				if len(received) == b.N {
					close(all)
				}
			})
			must(b, err)
			defer sub.Unsubscribe()
			relay := outbox.NewRelay(box, natsjs.NewPublisher(js, natsjs.PublisherOptions{Prefix: prefix}), outbox.RelayOptions{})
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- relay.Run(rctx) }()
			b.ResetTimer()
			// 500 events/s, each in its own transaction begun on the tick,
			// whatever the time the previous ones take (an open loop).
			tick := time.NewTicker(2 * time.Millisecond)
			var wg sync.WaitGroup
			var failed atomic.Value
			began := time.Now()
			for i := 0; i < b.N; i++ {
				<-tick.C
				wg.Go(func() {
					id := fmt.Sprintf("lag-%08d", i)
					if err := txn.Do(ctx, db.DB, func(ctx context.Context) error {
						txn.AfterCommit(ctx, func(context.Context) {
							now := time.Now()
							mu.Lock()
							committed[id] = now
							mu.Unlock()
						})
						return emitter.Emit(ctx, outbox.Event{ID: id, Type: "transfer.completed", Key: fmt.Sprint("k", i%64), Payload: map[string]int{"i": i}})
					}); err != nil {
						failed.Store(err)
					}
				})
			}
			tick.Stop()
			wg.Wait()
			rate := float64(b.N) / time.Since(began).Seconds()
			if err, ok := failed.Load().(error); ok {
				b.Fatal(err)
			}
			select {
			case <-all:
			case <-time.After(time.Minute):
				b.Fatal("not every event reached the subscriber within a minute")
			}
			b.StopTimer()
			cancel()
			<-done
			mu.Lock()
			defer mu.Unlock()
			lags := make([]time.Duration, 0, b.N)
			for id, c := range committed {
				lags = append(lags, max(0, received[id].Sub(c)))
			}
			slices.Sort(lags)
			b.ReportMetric(float64(lags[len(lags)/2].Microseconds())/1e3, "ms-p50")
			b.ReportMetric(float64(lags[len(lags)*99/100].Microseconds())/1e3, "ms-p99")
			b.ReportMetric(rate, "tx/s")
		})
	}
}

// jsPublisher is a watermill message.Publisher to JetStream: one
// synchronous publish per message, the message's UUID as Nats-Msg-Id and
// its metadata as headers, the subject prefix + "." + topic.
type jsPublisher struct {
	js     jetstream.JetStream
	prefix string
}

func (p jsPublisher) Publish(topic string, msgs ...*message.Message) error {
	for _, m := range msgs {
		nm := nats.NewMsg(p.prefix + "." + topic)
		nm.Data = m.Payload
		for k, v := range m.Metadata {
			nm.Header.Set(k, v)
		}
		if _, err := p.js.PublishMsg(m.Context(), nm, jetstream.WithMsgID(m.UUID)); err != nil {
			return err
		}
	}
	return nil
}

func (jsPublisher) Close() error { return nil }

// natsURL returns SVCKIT_NATS_URL or skips.
func natsURL(b *testing.B) string { return testdb.NATSURL(b) }

// benchStream makes a stream of the benchmark's own, deleted at cleanup.
func benchStream(b *testing.B, url string) (jetstream.JetStream, string, string) {
	nc, err := nats.Connect(url, nats.ReconnectBufSize(-1))
	must(b, err)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(10*time.Second), jetstream.WithPublishAsyncMaxPending(5000))
	must(b, err)
	sfx := testdb.Suffix()
	stream, prefix := "BENCH_"+sfx, "b"+sfx+".events"
	_, err = natsjs.CreateStream(context.Background(), js, stream, natsjs.StreamOptions{Prefix: prefix, DeadLetterPrefix: "b" + sfx + ".dead"})
	must(b, err)
	b.Cleanup(func() {
		_ = js.DeleteStream(context.Background(), stream)
		nc.Close()
	})
	return js, stream, prefix
}

func streamCount(b *testing.B, js jetstream.JetStream, stream string) int {
	s, err := js.Stream(context.Background(), stream)
	must(b, err)
	info, err := s.Info(context.Background())
	must(b, err)
	return int(info.State.Msgs)
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
