package repository_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/repository"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// user is the contract suite's row type: one field of each kind the
// repository must order, filter and round-trip.
type user struct {
	ID        int64     `db:"id,pk" json:"id"`
	Email     string    `db:"email,unique" json:"email"`
	Name      string    `db:"name" json:"name"`
	Age       int       `db:"age" json:"age"`
	Score     float64   `db:"score" json:"score"`
	Active    bool      `db:"active" json:"active"`
	Nick      *string   `db:"nick" json:"nick"`
	BornAt    time.Time `db:"born_at" json:"bornAt"`
	CreatedAt time.Time `db:"created_at,created" json:"createdAt"`
	UpdatedAt time.Time `db:"updated_at,updated" json:"updatedAt"`
	Ignored   string    // untagged: not mapped
}

// order is the child row of users-with-orders.
type order struct {
	ID     int64  `db:"id,pk"`
	UserID int64  `db:"user_id"`
	Item   string `db:"item"`
	Cents  int64  `db:"cents"`
}

// columns lists every mapped column of user, for the ordering test.
var columns = []string{"id", "email", "name", "age", "score", "active", "nick", "born_at", "created_at", "updated_at"}

var schemas = map[string][]string{
	testdb.SQLiteDialect: {
		`CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL UNIQUE,
			name TEXT NOT NULL, age INTEGER NOT NULL, score REAL NOT NULL, active BOOLEAN NOT NULL,
			nick TEXT, born_at DATETIME NOT NULL, created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL)`,
		`CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL,
			item TEXT NOT NULL, cents INTEGER NOT NULL)`,
		`CREATE INDEX orders_user_id ON orders (user_id)`,
	},
	testdb.PostgresDialect: {
		`CREATE TABLE users (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE,
			name TEXT NOT NULL, age INTEGER NOT NULL, score DOUBLE PRECISION NOT NULL, active BOOLEAN NOT NULL,
			nick TEXT, born_at TIMESTAMPTZ NOT NULL, created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL)`,
		`CREATE TABLE orders (id BIGSERIAL PRIMARY KEY, user_id BIGINT NOT NULL,
			item TEXT NOT NULL, cents BIGINT NOT NULL)`,
		`CREATE INDEX orders_user_id ON orders (user_id)`,
	},
	testdb.MySQLDialect: {
		`CREATE TABLE users (id BIGINT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(191) NOT NULL UNIQUE,
			name VARCHAR(100) NOT NULL, age INT NOT NULL, score DOUBLE NOT NULL, active BOOLEAN NOT NULL,
			nick VARCHAR(100) NULL, born_at DATETIME(6) NOT NULL, created_at DATETIME(6) NOT NULL, updated_at DATETIME(6) NOT NULL)`,
		`CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, user_id BIGINT NOT NULL,
			item VARCHAR(100) NOT NULL, cents BIGINT NOT NULL, INDEX orders_user_id (user_id))`,
	},
}

// createSchema creates the users and orders tables for db's dialect.
func createSchema(t testing.TB, db *testdb.DB) {
	t.Helper()
	for _, stmt := range schemas[db.Dialect] {
		_, err := db.DB.ExecContext(context.Background(), stmt)
		require.NoError(t, err, "schema statement must run on %s", db.Dialect)
	}
}

// clock is an injected clock that moves one second per reading.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

// cursorKey signs the cursors in the contract suite.
var cursorKey = []byte("0123456789abcdef0123456789abcdef")

// repos builds the users and orders repositories under test.
type repos func(t *testing.T, clk *clock) (repository.Repository[user, int64], repository.Repository[order, int64], repository.Loader[order])

func memoryRepos(_ *testing.T, clk *clock) (repository.Repository[user, int64], repository.Repository[order, int64], repository.Loader[order]) {
	users := repository.NewMemory[user, int64](repository.MemoryOptions[int64]{Name: "users", Options: repository.Options[int64]{CursorKey: cursorKey, Now: clk.Now}})
	orders := repository.NewMemory[order, int64](repository.MemoryOptions[int64]{Name: "orders"})
	return users, orders, orders
}

func sqlRepos(db *testdb.DB) repos {
	return func(t *testing.T, clk *clock) (repository.Repository[user, int64], repository.Repository[order, int64], repository.Loader[order]) {
		d, err := dialect.Parse(db.Dialect)
		require.NoError(t, err, "testdb dialect must parse")
		users := repository.NewSQL[user, int64](db.DB, d, "users", repository.Options[int64]{CursorKey: cursorKey, Now: clk.Now})
		orders := repository.NewSQL[order, int64](db.DB, d, "orders", repository.Options[int64]{})
		return users, orders, orders
	}
}

func ptr[V any](v V) *V { return &v }

// seed inserts n users with values that order differently per column
// (ages repeat, so ties are broken by id) and returns them as stored.
func seed(t *testing.T, users repository.Repository[user, int64], n int, prefix string) []user {
	t.Helper()
	ctx := context.Background()
	out := make([]user, 0, n)
	for i := range n {
		k := (i*7 + 3) % n // a permutation of 0..n-1 unrelated to insertion order
		u := user{
			Email:  fmt.Sprintf("%s%03d@example.com", prefix, k),
			Name:   fmt.Sprintf("n%03d", (k*11+5)%n),
			Age:    20 + i%5,
			Score:  float64(k) * 1.5,
			Active: i%3 == 0,
			Nick:   ptr(fmt.Sprintf("k%03d", (k*13+1)%n)),
			BornAt: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(k)*time.Hour + 1500*time.Nanosecond),
		}
		require.NoError(t, users.Create(ctx, &u), "seed row %d must insert", i)
		out = append(out, u)
	}
	return out
}

func ids(rows []user) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	return out
}
