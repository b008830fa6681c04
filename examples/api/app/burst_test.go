package app_test

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/examples/api/app"
	"github.com/svckit/svckit/internal/testdb"
)

// TestBurst_thousandConcurrentTransfers sends 1 000 transfers at the same
// moment to one instance with the default pool (DefaultMaxOpenConns, its
// DefaultPoolWait and DefaultRequestTimeout), on PostgreSQL and on MariaDB:
// the overload limit serves what the service can finish and refuses the
// rest with 503 UNAVAILABLE and Retry-After, and clients that come back
// after Retry-After get every transfer made; no other 5xx, the database
// never holds more of the service's connections than the pool allows (so
// its own connection slots are never exhausted), and the balance total is
// conserved.
func TestBurst_thousandConcurrentTransfers(t *testing.T) {
	if testing.Short() {
		t.Skip("1 000 concurrent requests")
	}
	if raceEnabled {
		t.Skip("a burst's timing means nothing under the race detector: .ci/run runs this test in its fault step, without -race")
	}
	const (
		transfers = 1000
		users     = 40
		deposit   = 1_000_000
	)
	for _, open := range []struct {
		name string
		open func(testing.TB) *testdb.DB
		// conns counts the service's connections to the test's database,
		// from the test's own pool (which holds at most the one asking).
		conns func(db *sql.DB, appName string) (int, error)
		// own is how many connections of the test's pool conns counts.
		own int
	}{
		{"postgres", testdb.Postgres, func(db *sql.DB, appName string) (n int, err error) {
			err = db.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", appName).Scan(&n)
			return n, err
		}, 0},
		{"mysql", testdb.MySQL, func(db *sql.DB, _ string) (n int, err error) {
			err = db.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE()").Scan(&n)
			return n, err
		}, 1},
	} {
		t.Run(open.name, func(t *testing.T) {
			db := open.open(t)
			db.DB.SetMaxOpenConns(1)
			appName := "svckit-burst-" + testdb.Suffix()
			dsn := db.DSN
			if db.Driver == "pgx" {
				dsn = viaProxy(t, dsn, hostOf(t, dsn), "application_name", appName)
			}
			cfg := testConfig()
			cfg.Database = app.Database{Driver: db.Driver, Dialect: db.Dialect, DSN: dsn}
			// Room for every client's connection and the set-up's idle
			// ones: this test is about the database pool, and a full
			// listener would evict an idle connection a client may be
			// reusing for its POST at that very moment
			// (TestServe_idleConnectionsDoNotLockOut tests the cap). The
			// clients stand for a thousand people but all come from
			// 127.0.0.1, so the per-address cap is the whole listener's
			// (TestStalledConnectionsDoNotFillTheServer tests that cap).
			cfg.HTTP.MaxConns = 4 * transfers
			cfg.HTTP.MaxConnsPerIP = cfg.HTTP.MaxConns
			s := serveWith(t, cfg)

			type pair struct{ token, from, to string }
			pairs := make([]pair, users)
			for i := range pairs {
				_, token := s.newUser(t, fmt.Sprintf("burst%d", i))
				pairs[i] = pair{token, s.newAccount(t, token, "EUR", deposit).ID, s.newAccount(t, token, "EUR", 0).ID}
			}

			// Sample the service's connections while the burst runs.
			stop := make(chan struct{})
			var peak atomic.Int64
			var sampler sync.WaitGroup
			sampler.Go(func() {
				for {
					if n, err := open.conns(db.DB, appName); err == nil && int64(n-open.own) > peak.Load() {
						peak.Store(int64(n - open.own))
					}
					select {
					case <-stop:
						return
					case <-time.After(10 * time.Millisecond):
					}
				}
			})

			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: transfers}, Timeout: 60 * time.Second}
			defer client.CloseIdleConnections()
			var wg sync.WaitGroup
			start := make(chan struct{})
			results := make([]outcome, transfers)
			var retries atomic.Int64
			for i := range transfers {
				wg.Go(func() {
					p := pairs[i%users]
					<-start
					// A client that is refused by the overload limit (503
					// UNAVAILABLE with Retry-After: the request never reached
					// the handler) comes back after Retry-After, spread by up
					// to a second as a well-behaved client spreads retries.
					for attempt := 0; ; attempt++ {
						results[i] = call(client, s.URL, "POST", "/v1/transfers", p.token,
							map[string]any{"fromAccountId": p.from, "toAccountId": p.to, "amount": 1})
						o := results[i]
						if o.Status != http.StatusServiceUnavailable || o.Code != "UNAVAILABLE" || attempt == 30 {
							return
						}
						secs, err := strconv.Atoi(o.Header.Get("Retry-After"))
						if err != nil || secs < 1 {
							return // a 503 without Retry-After: counted below as a failure
						}
						retries.Add(1)
						time.Sleep(time.Duration(secs)*time.Second + rand.N(time.Second))
					}
				})
			}
			began := time.Now()
			close(start)
			wg.Wait()
			took := time.Since(began)
			close(stop)
			sampler.Wait()

			var st routeStats
			for _, o := range results {
				st.add(o)
			}
			t.Logf("%s: %d concurrent transfers in %v: %s after %d refusals retried, p50 %v, p99 %v of the last attempts, peak %d service connections (pool %d)",
				open.name, transfers, took.Round(time.Millisecond), st.statusText(), retries.Load(),
				st.quantile(0.5).Round(time.Millisecond), st.quantile(0.99).Round(time.Millisecond), peak.Load(), app.DefaultMaxOpenConns)
			for code := range st.statuses {
				assert.True(t, code > 0 && code < 500, "no 5xx and no lost answer: %s; errors %.300q", st.statusText(), st.errs)
			}
			assert.Equal(t, transfers, st.statuses[http.StatusCreated], "every transfer is made")
			assert.LessOrEqual(t, peak.Load(), int64(app.DefaultMaxOpenConns), "the database holds at most the pool's connections")

			var total, moved int64
			require.NoError(t, db.DB.QueryRow("SELECT COALESCE(SUM(balance), 0) FROM accounts").Scan(&total), "sum balances")
			assert.Equal(t, int64(users*deposit), total, "the balance total is conserved")
			require.NoError(t, db.DB.QueryRow("SELECT COALESCE(SUM(amount), 0) FROM transfers").Scan(&moved), "sum transfers")
			assert.Equal(t, int64(st.statuses[http.StatusCreated]), moved, "exactly the answered transfers moved money")
		})
	}
}
