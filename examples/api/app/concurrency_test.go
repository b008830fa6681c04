package app_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/examples/api/app"
	"github.com/svckit/svckit/internal/testdb"
)

// TestConcurrentTransfers runs 20 clients × 50 random transfers among 10
// accounts over HTTP: the total is conserved, no balance goes below zero and
// no request fails with a 5xx.
func TestConcurrentTransfers(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { concurrentTransfers(t, startSQLite(t, nil)) })
	t.Run("postgres+redis", func(t *testing.T) { concurrentTransfers(t, startPostgresRedis(t, testdb.Postgres(t), nil)) })
	t.Run("mysql", func(t *testing.T) {
		db := testdb.MySQL(t)
		cfg := testConfig()
		cfg.DB = db.DB
		cfg.Database = app.Database{Dialect: db.Dialect}
		concurrentTransfers(t, start(t, cfg))
	})
}

func concurrentTransfers(t *testing.T, s *server) {
	const (
		accounts  = 10
		clients   = 20
		transfers = 50
		funding   = 10_000
	)
	type owner struct {
		token   string
		account string
	}
	owners := make([]owner, accounts)
	for i := range owners {
		_, token := s.newUser(t, fmt.Sprintf("racer%d", i))
		owners[i] = owner{token: token, account: s.newAccount(t, token, "USD", funding).ID}
	}

	var moved, refused atomic.Int64
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 42))
			me := owners[c%accounts]
			for range transfers {
				to := owners[rng.IntN(accounts)]
				if to.account == me.account {
					to = owners[(c+1)%accounts]
				}
				r := s.do(t, req{Method: "POST", Path: "/v1/transfers", Token: me.token, Body: map[string]any{
					"fromAccountId": me.account, "toAccountId": to.account, "amount": 1 + rng.IntN(3000),
				}})
				switch r.Status {
				case 201:
					moved.Add(1)
				case 422:
					refused.Add(1)
				default:
					t.Errorf("transfer: status %d, body %s", r.Status, r.Raw)
				}
			}
		})
	}
	wg.Wait()

	var total int64
	for i, o := range owners {
		b := s.balance(t, o.token, o.account)
		assert.GreaterOrEqual(t, b, int64(0), "account %d never goes below zero", i)
		total += b
	}
	require.Equal(t, int64(accounts*funding), total, "the total across accounts is conserved")
	assert.Equal(t, int64(clients*transfers), moved.Load()+refused.Load(), "every transfer was answered 201 or 422")
	assert.Positive(t, moved.Load(), "some transfers went through")
	t.Logf("%d transfers moved money, %d refused for insufficient funds", moved.Load(), refused.Load())
}
