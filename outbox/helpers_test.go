package outbox_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/outbox"
	"github.com/svckit/svckit/txn"
)

func TestMain(m *testing.M) {
	if os.Getenv(cacheChildEnv) != "" {
		os.Exit(cacheChild())
	}
	goleak.VerifyTestMain(m)
}

// fixture is a migrated outbox on a fresh database with a table "work"
// that transactions write beside their events.
type fixture struct {
	db  *testdb.DB
	d   dialect.Dialect
	box *outbox.Outbox
	tx  *txn.Runner // of the transactions write begins
	n   int         // events emitted by emitted
}

func newFixture(t *testing.T, db *testdb.DB, opts outbox.Options) *fixture {
	t.Helper()
	d, err := dialect.Parse(db.Dialect)
	require.NoError(t, err)
	box := outbox.New(db.DB, d, opts)
	require.NoError(t, box.Migrate(context.Background()), "the outbox schema migrates")
	_, err = db.DB.Exec(`CREATE TABLE work (id VARCHAR(64) PRIMARY KEY)`)
	require.NoError(t, err)
	return &fixture{db: db, d: d, box: box, tx: txn.New(db.DB, txn.Options{})}
}

// write inserts a work row and emits e in one transaction; fail makes the
// transaction roll back after both.
func (f *fixture) write(ctx context.Context, id string, e outbox.Event, fail error) error {
	return f.tx.Do(ctx, func(ctx context.Context) error {
		if _, err := txn.From(ctx, f.db.DB).ExecContext(ctx, f.d.Rebind(`INSERT INTO work (id) VALUES (?)`), id); err != nil {
			return err
		}
		if err := f.box.Emit(ctx, e); err != nil {
			return err
		}
		return fail
	})
}

func (f *fixture) count(t *testing.T, query string) int {
	t.Helper()
	var n int
	require.NoError(t, f.db.DB.QueryRow(query).Scan(&n))
	return n
}

func (f *fixture) pending(t *testing.T) int {
	return f.count(t, `SELECT COUNT(*) FROM svckit_outbox WHERE published_at IS NULL`)
}

// drain runs rounds of r until one publishes nothing and nothing is
// pending.
func (f *fixture) drain(t *testing.T, r *outbox.Relay) {
	t.Helper()
	for i := 0; ; i++ {
		n, err := r.Round(context.Background())
		require.NoError(t, err)
		if n == 0 && f.pending(t) == 0 {
			return
		}
		require.Less(t, i, 10_000, "the relay drains the outbox")
	}
}

// recorder is a Publisher that keeps what it accepted, failing while
// down is set, and accepting at most limit messages of a call when limit
// is positive. It stands for a broker in tests of the relay's own logic;
// the real broker's tests are in natsjs.
type recorder struct {
	mu    sync.Mutex
	msgs  []outbox.Message
	down  error
	limit int
	calls int
}

func (p *recorder) Publish(_ context.Context, msgs []outbox.Message) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.down != nil {
		return 0, p.down
	}
	n := len(msgs)
	var err error
	if p.limit > 0 && n > p.limit {
		n, err = p.limit, errors.New("recorder: partial")
	}
	p.msgs = append(p.msgs, msgs[:n]...)
	return n, err
}

func (p *recorder) setDown(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = err
}

func (p *recorder) got() []outbox.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]outbox.Message(nil), p.msgs...)
}

// byKey groups the ids of msgs by key, in order.
func byKey(msgs []outbox.Message) map[string][]string {
	out := map[string][]string{}
	for _, m := range msgs {
		out[m.Key] = append(out[m.Key], m.ID)
	}
	return out
}

// emitted emits n events over keys keys, each in its own transaction, and
// returns their ids by key in emission order.
func (f *fixture) emitted(t *testing.T, n, keys int) map[string][]string {
	t.Helper()
	want := map[string][]string{}
	for range n {
		i := f.n
		f.n++
		key := fmt.Sprintf("k%d", i%keys)
		id := fmt.Sprintf("e%05d", i)
		require.NoError(t, f.write(context.Background(), id, outbox.Event{ID: id, Type: "thing.done", Key: key, Payload: map[string]int{"i": i}}, nil))
		want[key] = append(want[key], id)
	}
	return want
}

// open opens another pool on db, as another process would.
func open(t *testing.T, db *testdb.DB) *sql.DB {
	t.Helper()
	p, err := sql.Open(db.Driver, db.DSN)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}
