package natsjs_test

import (
	"context"
	"database/sql"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/outbox"
	"github.com/svckit/svckit/outbox/natsjs"
	"github.com/svckit/svckit/txn"
)

// The relay publishes an outbox to JetStream and a durable subscription
// applies the events once each. It needs a NATS server, so it has no
// output to check; the package's tests run the same on a real one.
func Example() {
	ctx := context.Background()
	db, _ := sql.Open("pgx", "postgres://localhost/app")
	box := outbox.New(db, dialect.Postgres, outbox.Options{})
	_ = box.Migrate(ctx)

	nc, _ := nats.Connect(nats.DefaultURL, nats.ReconnectBufSize(-1), nats.MaxReconnects(-1))
	defer nc.Close()
	js, _ := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(10*time.Second))
	_, _ = natsjs.CreateStream(ctx, js, "EVENTS", natsjs.StreamOptions{})

	relay := outbox.NewRelay(box, natsjs.NewPublisher(js, natsjs.PublisherOptions{}), outbox.RelayOptions{})
	go func() { _ = relay.Run(ctx) }()

	feed := outbox.NewConsumer(box, "feed", func(ctx context.Context, m outbox.Message) error {
		_, err := txn.From(ctx, db).ExecContext(ctx, `INSERT INTO feed (event_id, type) VALUES ($1, $2)`, m.ID, m.Type)
		return err
	}, outbox.ConsumerOptions{DeadLetter: natsjs.DeadLetterTo(js, natsjs.DefaultDeadLetterPrefix+".feed")})
	sub, _ := natsjs.Subscribe(ctx, js, feed, natsjs.SubscribeOptions{Stream: "EVENTS"})
	defer sub.Close()
}
