package txn_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/txn"
)

// TestConcurrentTransfers runs 50 goroutines × 40 random transfers among 10
// accounts: money is conserved, no balance goes below zero, and the only
// error that reaches a caller is insufficient funds.
func TestConcurrentTransfers(t *testing.T) {
	const (
		workers   = 50
		perWorker = 40
		accounts  = 10
		initial   = 100
	)
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		createSchema(t, db, accounts, initial)
		// SQLite has one writer: more connections only queue on the file
		// lock (and its sleeping busy handler) instead of in the pool.
		db.DB.SetMaxOpenConns(10)
		if db.Dialect == testdb.SQLiteDialect {
			db.DB.SetMaxOpenConns(2)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		opts := txn.Options{MaxAttempts: 10, Backoff: func(n int) time.Duration { return time.Duration(n) * time.Millisecond }}

		var (
			attempts, hooks, ok, insufficient atomic.Int64
			wg                                sync.WaitGroup
			mu                                sync.Mutex
			unexpected                        []error
		)
		start := time.Now()
		for w := range workers {
			wg.Go(func() {
				rnd := rand.New(rand.NewPCG(uint64(w), 42))
				for range perWorker {
					from := rnd.Int64N(accounts) + 1
					to := (from+rnd.Int64N(accounts-1))%accounts + 1
					err := transfer(ctx, db, opts, from, to, rnd.Int64N(60)+1, &attempts, func() { hooks.Add(1) })
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, errInsufficientFunds):
						insufficient.Add(1)
					default:
						mu.Lock()
						unexpected = append(unexpected, err)
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		t.Logf("%s: %d ok, %d insufficient funds, %d attempts for %d calls, in %v",
			db.Name, ok.Load(), insufficient.Load(), attempts.Load(), workers*perWorker, time.Since(start))

		require.Empty(t, unexpected, "only insufficient funds may reach the caller")
		assert.Equal(t, int64(workers*perWorker), ok.Load()+insufficient.Load(), "every transfer either commits or lacks funds")
		assert.Equal(t, ok.Load(), hooks.Load(), "one after-commit hook per committed transfer")
		assert.Equal(t, int(ok.Load()), count(t, db, "transfers"), "one transfer row per committed transfer")
		all, sum := balances(t, db.DB)
		assert.Equal(t, int64(accounts*initial), sum, "the total is conserved")
		for id, b := range all {
			assert.GreaterOrEqual(t, b, int64(0), "account %d must not go below zero", id)
		}
		assert.Zero(t, db.DB.Stats().InUse, "every connection is back in the pool")
	})
}
