package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/examples/api/app"
	"github.com/svckit/svckit/internal/testdb"
)

// logBuffer is an io.Writer safe for the server's concurrent log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines returns every log line that is a JSON object.
func (l *logBuffer) lines() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(l.b.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// accessLog returns the access log lines (JSON, message "http request",
// the middleware.Logger's) of method and path.
func (l *logBuffer) accessLog(method, path string) []map[string]any {
	var out []map[string]any
	for _, m := range l.lines() {
		if m["msg"] == "http request" && m["method"] == method && m["path"] == path {
			out = append(out, m)
		}
	}
	return out
}

// waitBackends waits until count backends of the service (application_name
// appName) match the condition cond on pg_stat_activity: a synchronisation
// point on the database's own state.
func waitBackends(t *testing.T, admin *sql.DB, appName, cond string, count int, what string) {
	t.Helper()
	var n int
	require.Eventually(t, func() bool {
		err := admin.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND "+cond, appName).Scan(&n)
		return err == nil && n == count
	}, 10*time.Second, 5*time.Millisecond, "%s: %d backends where %s, want %d", what, n, cond, count)
}

// TestDeadline_rowLockHeldElsewhere: another client holds a row lock for
// 45 s (issue 13's fault; 2 s under -race or -short). Transfers that wait on
// it all the while answer 504 TIMEOUT at the request deadline, the access
// log records 504, requests that find the pool's slots taken answer 503
// UNAVAILABLE with Retry-After after the pool wait, and once the lock is
// released nothing the timed-out transfers started commits: no transfer
// row, both balances as they were.
func TestDeadline_rowLockHeldElsewhere(t *testing.T) {
	hold := 45 * time.Second
	if raceEnabled || testing.Short() {
		hold = 2 * time.Second
	}
	db := testdb.Postgres(t)
	const deadline = 600 * time.Millisecond
	logs := &logBuffer{}
	cfg := testConfig()
	appName := "svckit-test-" + testdb.Suffix()
	cfg.Database = app.Database{Driver: db.Driver, Dialect: db.Dialect, DSN: db.DSN + "&application_name=" + appName}
	cfg.RequestTimeout = deadline
	cfg.Pool = app.Pool{MaxOpen: 2, Wait: 150 * time.Millisecond}
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	s := start(t, cfg)

	_, token := s.newUser(t, "locked")
	from := s.newAccount(t, token, "EUR", 10000)
	to := s.newAccount(t, token, "EUR", 0)

	// Another client holds the source row's lock.
	ctx := context.Background()
	holder, err := db.DB.BeginTx(ctx, nil)
	require.NoError(t, err, "the other client begins")
	defer holder.Rollback()
	_, err = holder.ExecContext(ctx, "SELECT balance FROM accounts WHERE id = $1 FOR UPDATE", from.ID)
	require.NoError(t, err, "the other client locks the source row")
	locked := time.Now()

	type outcome struct {
		status int
		took   time.Duration
		code   string
	}
	transfer := func() outcome {
		began := time.Now()
		r := call(s.Client, s.URL, "POST", "/v1/transfers", token,
			map[string]any{"fromAccountId": from.ID, "toAccountId": to.ID, "amount": 100})
		return outcome{r.Status, time.Since(began), r.Code}
	}
	checkTimedOut := func(o outcome) {
		t.Helper()
		assert.Equal(t, http.StatusGatewayTimeout, o.status, "a transfer stuck on the lock answers 504")
		assert.Equal(t, "TIMEOUT", o.code, "code TIMEOUT")
		assert.GreaterOrEqual(t, o.took, deadline, "not before the deadline")
		assert.Less(t, o.took, deadline+time.Second, "at the deadline, not when the lock is released")
	}
	results := make(chan outcome, 2)
	for range 2 {
		go func() { results <- transfer() }()
	}
	// Both transfers hold the two slots once both wait on the row lock.
	waitBackends(t, db.DB, appName, "wait_event_type = 'Lock'", 2, "both transfers wait on the lock")
	began := time.Now()
	busy := call(s.Client, s.URL, "GET", "/v1/users/me", token, nil)
	waited := time.Since(began)
	assert.Equal(t, http.StatusServiceUnavailable, busy.Status, "no slot within the pool wait: 503, %s", busy.Raw)
	assert.Equal(t, "UNAVAILABLE", busy.Code, "code")
	assert.Equal(t, "1", busy.Header.Get("Retry-After"), "Retry-After on 503")
	assert.GreaterOrEqual(t, waited, 150*time.Millisecond, "it waited the pool wait first")
	for range 2 {
		checkTimedOut(<-results)
	}

	// Transfers keep coming, two at a time, for as long as the lock is
	// held; each is told 504 at its deadline.
	timedOut := 2
	for time.Since(locked) < hold {
		for range 2 {
			go func() { results <- transfer() }()
		}
		for range 2 {
			checkTimedOut(<-results)
			timedOut++
		}
	}
	// Every transfer has its access log line, and each says 504. The line
	// is written when the handler returns, which may be just after the
	// client has read the answer: wait for all of them.
	var lines []map[string]any
	require.Eventually(t, func() bool {
		lines = logs.accessLog("POST", "/v1/transfers")
		return len(lines) >= timedOut
	}, 5*time.Second, 5*time.Millisecond, "one access log line per transfer")
	assert.Len(t, lines, timedOut, "one access log line per transfer, no more")
	for _, l := range lines {
		assert.EqualValues(t, 504, l["status"], "the access log records what the client got: %v", l)
	}

	require.NoError(t, holder.Rollback(), "the other client lets go")
	t.Logf("lock held %v: %d transfers told 504", time.Since(locked).Round(time.Millisecond), timedOut)
	// Anything a timed-out transfer had left running would take the lock
	// now and commit: once no backend of the service is inside a
	// transaction, whatever could commit has.
	waitBackends(t, db.DB, appName, "xact_start IS NOT NULL", 0, "no transaction of the service is left")
	var n int
	require.NoError(t, db.DB.QueryRowContext(ctx, "SELECT count(*) FROM transfers").Scan(&n), "count transfers")
	assert.Zero(t, n, "nothing a timed-out transfer started commits after the client was told it failed")
	var fromBalance, toBalance int64
	require.NoError(t, db.DB.QueryRowContext(ctx, "SELECT balance FROM accounts WHERE id = $1", from.ID).Scan(&fromBalance), "balance")
	require.NoError(t, db.DB.QueryRowContext(ctx, "SELECT balance FROM accounts WHERE id = $1", to.ID).Scan(&toBalance), "balance")
	assert.Equal(t, int64(10000), fromBalance, "the source balance is untouched")
	assert.Equal(t, int64(10000), fromBalance+toBalance, "the total is conserved")

	s.expect(t, req{Method: "POST", Path: "/v1/transfers", Token: token,
		Body: map[string]any{"fromAccountId": from.ID, "toAccountId": to.ID, "amount": 100}}, 201, "")
	assertPoolBounded(t, db.DB, appName, 2)
}

// assertPoolBounded checks that PostgreSQL holds at most max connections
// of the service (they report appName as their application_name).
func assertPoolBounded(t *testing.T, admin *sql.DB, appName string, max int) {
	t.Helper()
	var n int
	require.NoError(t, admin.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", appName).Scan(&n), "count connections")
	assert.LessOrEqual(t, n, max, "at most Pool.MaxOpen connections")
}
