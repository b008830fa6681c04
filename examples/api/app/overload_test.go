package app_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/examples/api/app"
)

// TestOverload_shedsAndRecovers drives the service past its capacity with
// real requests and no timing: the test holds SQLite's write lock, so that
// no deposit can finish, and sends more deposits at once than the overload
// limit admits plus its queue holds (at most the pool's 8 slots and a
// queue of 32 waiters). Each deposit past those 40 is refused at once
// (the newcomer takes the oldest waiter's place), so at least 20 of 60 are
// answered 503 UNAVAILABLE with Retry-After while the others wait. Once
// those 20 answers are in, the lock is released: every deposit still
// waiting is served, and with the load gone the service answers 2xx again.
// Bounded: 60 requests, each with a deadline of its own.
func TestOverload_shedsAndRecovers(t *testing.T) {
	const (
		sent     = 60
		capacity = 8 + 32 // the pool's slots (the limit's ceiling) and the queue's floor
		refused  = sent - capacity
	)
	dsn := "file:" + t.TempDir() + "/overload.db" +
		"?_pragma=busy_timeout(120000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	cfg := testConfig()
	cfg.Database = app.Database{Driver: "sqlite", Dialect: "sqlite", DSN: dsn}
	cfg.RequestTimeout = 2 * time.Minute // the queue waits half of it: it never runs out here
	s := start(t, cfg)
	_, token := s.newUser(t, "overload")
	acct := s.newAccount(t, token, "EUR", 100)
	deposit := req{Method: "POST", Path: "/v1/accounts/" + acct.ID + "/deposits", Token: token, Body: `{"amount":1}`}

	lock, err := sql.Open("sqlite", dsn)
	require.NoError(t, err)
	defer lock.Close()
	held, err := lock.BeginTx(context.Background(), nil) // BEGIN IMMEDIATE: SQLite's one write lock
	require.NoError(t, err)
	defer held.Rollback()

	type answer struct {
		out *response
		err error
	}
	answers := make(chan answer, sent)
	var wg sync.WaitGroup
	for range sent {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a bound, not an assertion
			defer cancel()
			hr, err := http.NewRequestWithContext(ctx, deposit.Method, s.URL+deposit.Path, strings.NewReader(deposit.Body.(string)))
			if err != nil {
				answers <- answer{err: err}
				return
			}
			hr.Header.Set("Content-Type", "application/json")
			hr.Header.Set("Authorization", "Bearer "+token)
			res, err := s.Client.Do(hr)
			if err != nil {
				answers <- answer{err: err}
				return
			}
			raw, err := io.ReadAll(res.Body)
			res.Body.Close()
			answers <- answer{out: &response{Status: res.StatusCode, Header: res.Header, Raw: raw}, err: err}
		})
	}

	var got []*response
	shed := 0
	for shed < refused { // the excess is answered while the lock is still held
		a := <-answers
		require.NoError(t, a.err, "every deposit gets an answer")
		require.Equal(t, http.StatusServiceUnavailable, a.out.Status, "with no write able to finish, only refusals come back: %s", a.out.Raw)
		got = append(got, a.out)
		shed++
	}
	require.NoError(t, held.Rollback(), "the load's cause goes away")
	wg.Wait()
	close(answers)
	for a := range answers {
		require.NoError(t, a.err, "every deposit gets an answer")
		got = append(got, a.out)
	}

	served := 0
	for _, out := range got {
		switch out.Status {
		case http.StatusOK:
			checkResponse(t, deposit, out)
			served++
		case http.StatusServiceUnavailable:
			var env struct {
				Error struct{ Code, Message string } `json:"error"`
				Meta  struct{ RequestID string }     `json:"meta"`
			}
			require.NoError(t, json.Unmarshal(out.Raw, &env), "a refusal is an envelope: %s", out.Raw)
			assert.Equal(t, "UNAVAILABLE", env.Error.Code, "a refusal's code: %s", out.Raw)
			assert.NotEmpty(t, env.Error.Message, "a refusal says why")
			assert.Equal(t, out.Header.Get("X-Request-Id"), env.Meta.RequestID, "a refusal has its request id")
			assert.Equal(t, "1", out.Header.Get("Retry-After"), "a refusal says when to come back")
		default:
			t.Errorf("a deposit under overload is served or refused, got %d: %s", out.Status, out.Raw)
		}
	}
	t.Logf("%d deposits: %d served, %d refused", sent, served, sent-served)
	assert.Len(t, got, sent)
	assert.GreaterOrEqual(t, sent-served, refused, "the excess past the limit and its queue is refused")
	assert.GreaterOrEqual(t, served, 1, "the deposits holding a slot are served once the lock is gone")

	// Recovered: with the load gone the limit admits requests again.
	var after accountView
	s.expect(t, deposit, http.StatusOK, "").into(t, &after)
	assert.Equal(t, int64(100+served+1), after.Balance, "every served deposit, and only those, was made")
	s.expect(t, req{Method: "GET", Path: "/v1/users/me", Token: token}, http.StatusOK, "")
	res, err := s.Client.Get(s.URL + "/metrics")
	require.NoError(t, err)
	metrics, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err)
	assert.Regexp(t, fmt.Sprintf(`svckit_overload_shed_total\{[^}]*svckit_overload_class="write"[^}]*\} %d\n`, sent-served), string(metrics), "every refusal counted")
}
