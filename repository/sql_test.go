package repository_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/repository"
	"github.com/svckit/svckit/txn"
)

// countingConnector opens connections of the wrapped driver and counts the
// statements they run.
type countingConnector struct {
	drv driver.Driver
	dsn string
	n   *atomic.Int64
}

func (c *countingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, n: c.n}, nil
}

func (c *countingConnector) Driver() driver.Driver { return c.drv }

type countingConn struct {
	driver.Conn
	n *atomic.Int64
}

func (c *countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.n.Add(1)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c *countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	c.n.Add(1)
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.n.Add(1) // a statement prepared to be run counts as one query
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

// TestUsersWithOrdersQueryCount proves eager loading is not N+1: a page of
// 100 users with their orders costs 2 queries, and 1100 ids cost 3 chunks.
func TestUsersWithOrdersQueryCount(t *testing.T) {
	ctx := context.Background()
	base := testdb.SQLite(t)
	createSchema(t, base)
	var n atomic.Int64
	db := sql.OpenDB(&countingConnector{drv: base.DB.Driver(), dsn: testdb.SQLiteDSN(filepath.Join(t.TempDir(), "count.db")), n: &n})
	t.Cleanup(func() { db.Close() })
	createSchema(t, &testdb.DB{Dialect: base.Dialect, DB: db})

	users := repository.NewSQL[user, int64](db, dialect.SQLite, "users", repository.Options[int64]{})
	orders := repository.NewSQL[order, int64](db, dialect.SQLite, "orders", repository.Options[int64]{})
	seed(t, users, 100, "q")
	all, err := users.FindMany(ctx, repository.FindOptions{Limit: 100})
	require.NoError(t, err, "list users")
	for _, u := range all {
		for j := range 3 {
			o := order{UserID: u.ID, Item: "book", Cents: int64(j)}
			require.NoError(t, orders.Create(ctx, &o), "create order")
		}
	}

	n.Store(0)
	page, err := users.FindMany(ctx, repository.FindOptions{OrderBy: "email", Limit: 100})
	require.NoError(t, err, "list users")
	byUser, err := repository.LoadMany(ctx, orders, "user_id", page, func(u user) int64 { return u.ID })
	require.NoError(t, err, "load orders")
	assert.EqualValues(t, 2, n.Load(), "100 users with their orders cost 2 queries, not 101")
	require.Len(t, byUser, 100, "every user has orders")
	for _, u := range page {
		assert.Len(t, byUser[u.ID], 3, "user %d has 3 orders", u.ID)
	}

	ids := make([]int64, 0, 1100)
	for i := range 1100 {
		ids = append(ids, int64(i+1))
	}
	n.Store(0)
	found, err := users.FindByIDs(ctx, ids)
	require.NoError(t, err, "find by 1100 ids")
	assert.Len(t, found, 100, "the 100 existing users are found")
	assert.EqualValues(t, 3, n.Load(), "1100 ids run as 3 chunks of at most 500")
}

// counter is a row incremented under a row lock.
type counter struct {
	ID    int64 `db:"id,pk"`
	Value int64 `db:"value"`
}

// TestRowLocks shows FindByIDForUpdate serializes read-modify-write cycles
// on every engine, and refuses to run outside a transaction.
func TestRowLocks(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		ddl := map[string]string{
			testdb.SQLiteDialect:   "CREATE TABLE counters (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)",
			testdb.PostgresDialect: "CREATE TABLE counters (id BIGSERIAL PRIMARY KEY, value BIGINT NOT NULL)",
			testdb.MySQLDialect:    "CREATE TABLE counters (id BIGINT AUTO_INCREMENT PRIMARY KEY, value BIGINT NOT NULL)",
		}[db.Dialect]
		_, err := db.DB.ExecContext(ctx, ddl)
		require.NoError(t, err, "create counters")
		d, err := dialect.Parse(db.Dialect)
		require.NoError(t, err, "dialect")
		counters := repository.NewSQL[counter, int64](db.DB, d, "counters", repository.Options[int64]{})
		a, b := counter{}, counter{}
		require.NoError(t, counters.Create(ctx, &a), "create counter a")
		require.NoError(t, counters.Create(ctx, &b), "create counter b")

		_, err = counters.FindByIDForUpdate(ctx, a.ID)
		assert.ErrorIs(t, err, repository.ErrNotInTx, "a lock outside a transaction is refused")
		_, err = counters.LockByIDs(ctx, []int64{a.ID})
		assert.ErrorIs(t, err, repository.ErrNotInTx, "a lock outside a transaction is refused")

		const workers, rounds = 4, 5
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range rounds {
					err := txn.Do(ctx, db.DB, func(ctx context.Context) error {
						rows, err := counters.LockByIDs(ctx, []int64{b.ID, a.ID, 999})
						if err != nil {
							return err
						}
						if len(rows) != 2 || rows[0].ID != a.ID {
							return assert.AnError
						}
						c, err := counters.FindByIDForUpdate(ctx, a.ID)
						if err != nil {
							return err
						}
						_, err = counters.Update(ctx, a.ID, repository.Set{"value": c.Value + 1})
						return err
					})
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err, "every locked increment must commit")
		}
		got, err := counters.FindByID(ctx, a.ID)
		require.NoError(t, err, "read the counter")
		assert.EqualValues(t, workers*rounds, got.Value, "no increment was lost under FOR UPDATE")

		err = txn.Do(ctx, db.DB, func(ctx context.Context) error {
			_, err := counters.FindByIDForUpdate(ctx, 424242)
			return err
		})
		assert.ErrorIs(t, err, repository.ErrNotFound, "locking a missing row is not found")
	})
}

// TestTransactionPickedUp shows statements join the transaction in ctx: a
// rolled back create leaves nothing behind, a committed one stays.
func TestTransactionPickedUp(t *testing.T) {
	ctx := context.Background()
	db := testdb.SQLite(t)
	createSchema(t, db)
	users := repository.NewSQL[user, int64](db.DB, dialect.SQLite, "users", repository.Options[int64]{})
	err := txn.Do(ctx, db.DB, func(ctx context.Context) error {
		u := user{Email: "rolled@example.com", BornAt: time.Unix(0, 0)}
		if err := users.Create(ctx, &u); err != nil {
			return err
		}
		n, err := users.Count(ctx, nil)
		require.NoError(t, err, "count inside the transaction")
		assert.EqualValues(t, 1, n, "the transaction sees its own insert")
		return assert.AnError
	})
	require.ErrorIs(t, err, assert.AnError, "the function's error comes back")
	n, err := users.Count(ctx, nil)
	require.NoError(t, err, "count after rollback")
	assert.Zero(t, n, "the insert was rolled back with the transaction")
}

// TestUUIDKeys runs application-generated UUIDv7 ids through every engine.
func TestUUIDKeys(t *testing.T) {
	type note struct {
		ID   repository.UUID `db:"id,pk"`
		Body string          `db:"body"`
		At   time.Time       `db:"at"`
	}
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		ddl := "CREATE TABLE notes (id CHAR(36) PRIMARY KEY, body TEXT NOT NULL, at DATETIME NOT NULL)"
		switch db.Dialect {
		case testdb.PostgresDialect:
			ddl = "CREATE TABLE notes (id UUID PRIMARY KEY, body TEXT NOT NULL, at TIMESTAMPTZ NOT NULL)"
		case testdb.MySQLDialect:
			ddl = "CREATE TABLE notes (id CHAR(36) PRIMARY KEY, body TEXT NOT NULL, at DATETIME(6) NOT NULL)"
		}
		_, err := db.DB.ExecContext(ctx, ddl)
		require.NoError(t, err, "create notes")
		d, err := dialect.Parse(db.Dialect)
		require.NoError(t, err, "dialect")
		notes := repository.NewSQL[note, repository.UUID](db.DB, d, "notes",
			repository.Options[repository.UUID]{NewID: repository.NewUUIDv7})
		var made []repository.UUID
		for i := range 7 {
			n := note{Body: "b", At: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC)}
			require.NoError(t, notes.Create(ctx, &n), "create note")
			assert.Equal(t, uuid.Version(7), n.ID.Version(), "generated ids are v7")
			made = append(made, n.ID)
		}
		chosen := uuid.MustParse("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
		fixed := note{ID: chosen, Body: "mine", At: time.Unix(0, 0)}
		require.NoError(t, notes.Create(ctx, &fixed), "a caller-set id does not fail the create")
		assert.NotEqual(t, chosen, fixed.ID, "the caller-set id is replaced by a generated one")
		got, err := notes.FindByID(ctx, fixed.ID)
		require.NoError(t, err, "find by uuid")
		assert.Equal(t, "mine", got.Body, "the generated id finds the row")
		_, err = notes.FindByID(ctx, chosen)
		assert.ErrorIs(t, err, repository.ErrNotFound, "no row has the caller-chosen id")
		made = append(made, fixed.ID)

		var seen []repository.UUID
		cur := ""
		for {
			p, err := notes.FindPage(ctx, repository.PageOptions{Limit: 3, Cursor: cur})
			require.NoError(t, err, "page by uuid")
			for _, n := range p.Items {
				seen = append(seen, n.ID)
			}
			if !p.HasMore {
				break
			}
			cur = p.NextCursor
		}
		assert.Equal(t, made, seen, "uuid pages in id order, the oldest v7 first")
		rows, err := notes.FindMany(ctx, repository.FindOptions{Filter: repository.Filter{"id": made[2].String()}})
		require.NoError(t, err, "filter by a uuid string")
		require.Len(t, rows, 1, "one row for one uuid")
		assert.Equal(t, made[2], rows[0].ID, "the uuid parsed from its string")
	})
}
