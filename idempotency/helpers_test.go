package idempotency_test

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/idempotency"
	"github.com/svckit/svckit/idempotency/sqlstore"
	"github.com/svckit/svckit/internal/testdb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// store is what the contract exercises: a Store that can be swept.
type store interface {
	idempotency.Store
	DeleteBefore(ctx context.Context, t time.Time) (int64, error)
}

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newStore returns a fresh, empty store and its clock.
type newStore func(t *testing.T) (store, *clock)

// eachStore runs fn against Memory and against sqlstore's Store on every engine testdb
// gives (SQLite always; PostgreSQL and MySQL when configured). On SQL every
// newStore call migrates a table of its own.
func eachStore(t *testing.T, fn func(t *testing.T, open newStore)) {
	t.Run("memory", func(t *testing.T) {
		fn(t, func(t *testing.T) (store, *clock) {
			clk := newClock()
			return idempotency.NewMemory(idempotency.MemoryOptions{Now: clk.Now}), clk
		})
	})
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		var n atomic.Int64
		fn(t, func(t *testing.T) (store, *clock) {
			clk := newClock()
			table := "idem_" + strconv.FormatInt(n.Add(1), 10)
			return openSQL(t, db, sqlstore.Options{Table: table, Now: clk.Now}), clk
		})
	})
}

// openSQL migrates a sqlstore.Store on db (twice: Migrate is idempotent). A small
// pool keeps racing goroutines queueing in database/sql rather than against
// the servers' connection limits, shared with other tests.
func openSQL(t testing.TB, db *testdb.DB, opts sqlstore.Options) *sqlstore.Store {
	t.Helper()
	d, err := dialect.Parse(db.Dialect)
	require.NoError(t, err, "dialect of %s", db.Name)
	db.DB.SetMaxOpenConns(12)
	if d == dialect.SQLite {
		db.DB.SetMaxOpenConns(4)
	}
	s := sqlstore.New(db.DB, d, opts)
	require.NoError(t, s.Migrate(context.Background()), "Migrate")
	require.NoError(t, s.Migrate(context.Background()), "Migrate again must be a no-op")
	return s
}

// apiError is an error of a service, rendered by its methods like the
// example service's errors.
type apiError struct {
	status        int
	code, message string
	details       map[string]any
}

func (e *apiError) Error() string                { return "api: " + e.message }
func (e *apiError) HTTPStatus() int              { return e.status }
func (e *apiError) ErrorCode() string            { return e.code }
func (e *apiError) PublicMessage() string        { return e.message }
func (e *apiError) ErrorDetails() map[string]any { return e.details }

var errInsufficientFunds = &apiError{http.StatusUnprocessableEntity, "INSUFFICIENT_FUNDS", "insufficient funds", map[string]any{"missing": 12345678901234567}}

// rendered is what an error renders as through the behaviour interfaces.
type rendered struct {
	Status        int
	Code, Message string
}

func render(t testing.TB, err error) rendered {
	t.Helper()
	r, ok := errkind.Inspect(err)
	require.True(t, ok, "%v must report through the errkind contract", err)
	return rendered{r.Status, r.Code, r.Message}
}

// sameOutcome asserts that got is want as stored: the same status, data
// and refusal.
func sameOutcome(t testing.TB, want, got idempotency.Outcome, msg string) {
	t.Helper()
	assert.Equal(t, want.Status, got.Status, "%s: status", msg)
	if len(want.Data) == 0 {
		assert.Empty(t, got.Data, "%s: no data", msg)
	} else {
		assert.Equal(t, string(want.Data), string(got.Data), "%s: data byte for byte", msg)
	}
	assert.Equal(t, want.Code, got.Code, "%s: code", msg)
	assert.Equal(t, want.Message, got.Message, "%s: message", msg)
}
