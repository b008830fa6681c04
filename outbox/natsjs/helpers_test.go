package natsjs_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/outbox"
	"github.com/svckit/svckit/outbox/natsjs"
	"github.com/svckit/svckit/txn"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(child(role))
	}
	goleak.VerifyTestMain(m)
}

// broker is a stream of the test's own on a NATS server, with subject
// prefixes no other test uses; the stream is deleted at cleanup.
type broker struct {
	url          string
	nc           *nats.Conn
	js           jetstream.JetStream
	stream       string
	prefix, dead string
}

func connect(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url, nats.ReconnectBufSize(-1), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	require.NoError(t, err)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(5*time.Second))
	require.NoError(t, err)
	return nc, js
}

func newBroker(t testing.TB, url string) *broker {
	t.Helper()
	sfx := testdb.Suffix()
	b := &broker{url: url, stream: "SVCKIT_TEST_" + sfx, prefix: "t" + sfx + ".events", dead: "t" + sfx + ".dead"}
	b.nc, b.js = connect(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := natsjs.CreateStream(ctx, b.js, b.stream, natsjs.StreamOptions{Prefix: b.prefix, DeadLetterPrefix: b.dead})
	require.NoError(t, err)
	t.Cleanup(func() {
		defer b.nc.Close()
		// After a restart of the test's own server the connection may
		// still be reconnecting: try for a while.
		var err error
		for range 100 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err = b.js.DeleteStream(ctx, b.stream)
			cancel()
			if err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("delete stream %s: %v", b.stream, err)
	})
	return b
}

// count returns how many messages the stream holds under subject filter.
func (b *broker) count(t testing.TB, filter string) int {
	t.Helper()
	s, err := b.js.Stream(context.Background(), b.stream)
	require.NoError(t, err)
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(filter))
	require.NoError(t, err)
	n := 0
	for _, c := range info.State.Subjects {
		n += int(c)
	}
	return n
}

// store is a migrated outbox with the tables the tests write: "work"
// beside the events, "applied" by the consumers (one row per effect; a
// second would break its unique id).
type store struct {
	db  *testdb.DB
	d   dialect.Dialect
	box *outbox.Outbox
}

func newStore(t testing.TB, db *testdb.DB) *store {
	t.Helper()
	d, err := dialect.Parse(db.Dialect)
	require.NoError(t, err)
	s := &store{db: db, d: d, box: outbox.New(db.DB, d, outbox.Options{})}
	require.NoError(t, s.box.Migrate(context.Background()))
	require.NoError(t, createTables(db.DB, d))
	return s
}

func createTables(db *sql.DB, d dialect.Dialect) error {
	auto := ""
	switch d {
	case dialect.MySQL:
		auto = " AUTO_INCREMENT"
	case dialect.Postgres:
		auto = " GENERATED ALWAYS AS IDENTITY"
	}
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS work (id VARCHAR(64) PRIMARY KEY)`,
		`CREATE TABLE IF NOT EXISTS applied (n INTEGER PRIMARY KEY` + auto + `, id VARCHAR(64) NOT NULL UNIQUE, event_key VARCHAR(64) NOT NULL)`,
	} {
		if _, err := db.Exec(q); err != nil {
			return err
		}
	}
	return nil
}

// emit writes a work row and its event in one transaction.
func emit(ctx context.Context, db *sql.DB, d dialect.Dialect, box *outbox.Outbox, id, key string, rollback bool) error {
	return txn.Do(ctx, db, func(ctx context.Context) error {
		if _, err := txn.From(ctx, db).ExecContext(ctx, d.Rebind(`INSERT INTO work (id) VALUES (?)`), id); err != nil {
			return err
		}
		if err := box.Emit(ctx, outbox.Event{ID: id, Type: "work.done", Key: key, Payload: map[string]string{"id": id}}); err != nil {
			return err
		}
		if rollback {
			return errRolledBack
		}
		return nil
	})
}

var errRolledBack = fmt.Errorf("rolled back on purpose")

// applier is the consumers' handler: one applied row per event.
func (s *store) applier() outbox.Handler {
	return func(ctx context.Context, m outbox.Message) error {
		_, err := txn.From(ctx, s.db.DB).ExecContext(ctx, s.d.Rebind(`INSERT INTO applied (id, event_key) VALUES (?, ?)`), m.ID, m.Key)
		return err
	}
}

func (s *store) count(t testing.TB, q string) int {
	t.Helper()
	var n int
	require.NoError(t, s.db.DB.QueryRow(q).Scan(&n))
	return n
}

// ids returns one column of strings.
func (s *store) ids(t testing.TB, q string) []string {
	t.Helper()
	rows, err := s.db.DB.Query(q)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		out = append(out, id)
	}
	require.NoError(t, rows.Err())
	return out
}

// appliedByKey reads the applied ids by key in the order they were applied.
func (s *store) appliedByKey(t testing.TB) map[string][]string {
	t.Helper()
	rows, err := s.db.DB.Query(`SELECT id, event_key FROM applied ORDER BY n`)
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

// run starts fn on a goroutine and returns a func that cancels it and
// waits for its end.
func run(fn func(ctx context.Context) error) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	return func() error {
		cancel()
		return <-done
	}
}

// fast is the relay options of the tests: a short poll and backoff.
var fast = outbox.RelayOptions{PollInterval: 5 * time.Millisecond, Backoff: func(int) time.Duration { return 20 * time.Millisecond }}
