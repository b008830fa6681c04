package app_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// balance reads an account's balance as its owner (or an admin).
func (s *server) balance(t testing.TB, token, id string) int64 {
	t.Helper()
	var a accountView
	s.expect(t, req{Method: "GET", Path: "/v1/accounts/" + id, Token: token}, 200, "").into(t, &a)
	return a.Balance
}

func transfers(t *testing.T, s *server, admin, aliceToken, bobToken string, aliceUSD, aliceEUR, bobUSD accountView) {
	post := func(token, key string, body any) req {
		rq := req{Method: "POST", Path: "/v1/transfers", Token: token, Body: body}
		if key != "" {
			rq.Header = map[string]string{"Idempotency-Key": key}
		}
		return rq
	}
	body := func(from, to string, amount int64) map[string]any {
		return map[string]any{"fromAccountId": from, "toAccountId": to, "amount": amount}
	}
	start := s.balance(t, aliceToken, aliceUSD.ID)
	require.Equal(t, int64(100_000_000), start, "alice's USD account was funded")

	t.Run("refusals", func(t *testing.T) {
		s.expect(t, post(aliceToken, "", body(aliceUSD.ID, aliceUSD.ID, 5)), 400, "VALIDATION_ERROR")
		s.expect(t, post(aliceToken, "", body(aliceUSD.ID, bobUSD.ID, 0)), 400, "VALIDATION_ERROR")
		s.expect(t, post(aliceToken, "", body(aliceUSD.ID, bobUSD.ID, -1)), 400, "VALIDATION_ERROR")
		s.expect(t, post(aliceToken, "", body(aliceUSD.ID, aliceEUR.ID, 5)), 400, "VALIDATION_ERROR")
		s.expect(t, post(bobToken, "", body(aliceUSD.ID, bobUSD.ID, 5)), 403, "FORBIDDEN")
		s.expect(t, post(aliceToken, "", body("acc_missing", bobUSD.ID, 5)), 404, "NOT_FOUND")
		s.expect(t, post(aliceToken, "", body(aliceUSD.ID, "acc_missing", 5)), 404, "NOT_FOUND")
		s.expect(t, post(bobToken, "", body(bobUSD.ID, aliceUSD.ID, 1)), 422, "INSUFFICIENT_FUNDS")
		s.expect(t, post("", "", body(aliceUSD.ID, bobUSD.ID, 5)), 401, "UNAUTHORIZED")
		s.expect(t, post(aliceToken, strings.Repeat("k", 256), body(aliceUSD.ID, bobUSD.ID, 5)), 400, "BAD_REQUEST")
		assert.Equal(t, start, s.balance(t, aliceToken, aliceUSD.ID), "refused transfers move nothing")
		assert.Equal(t, int64(0), s.balance(t, bobToken, bobUSD.ID), "refused transfers move nothing")
	})

	t.Run("transfer", func(t *testing.T) {
		var tr transferView
		s.expect(t, post(aliceToken, "", body(aliceUSD.ID, bobUSD.ID, 250)), 201, "").into(t, &tr)
		assert.Equal(t, aliceUSD.ID, tr.FromAccountID, "fromAccountId")
		assert.Equal(t, bobUSD.ID, tr.ToAccountID, "toAccountId")
		assert.Equal(t, int64(250), tr.Amount, "amount")
		assert.NotEmpty(t, tr.ID, "a transfer has an id")
		assert.False(t, tr.CreatedAt.IsZero(), "createdAt is set")
		assert.Equal(t, start-250, s.balance(t, aliceToken, aliceUSD.ID), "the source is debited")
		assert.Equal(t, int64(250), s.balance(t, bobToken, bobUSD.ID), "the destination is credited")
		s.expect(t, post(bobToken, "", body(bobUSD.ID, aliceUSD.ID, 251)), 422, "INSUFFICIENT_FUNDS")
		s.expect(t, post(bobToken, "", body(bobUSD.ID, aliceUSD.ID, 250)), 201, "")
		assert.Equal(t, int64(0), s.balance(t, bobToken, bobUSD.ID), "a balance may reach zero")
	})

	t.Run("idempotency", func(t *testing.T) {
		before := s.balance(t, aliceToken, aliceUSD.ID)
		first := s.expect(t, post(aliceToken, "key-1", body(aliceUSD.ID, bobUSD.ID, 100)), 201, "")
		again := s.expect(t, post(aliceToken, "key-1", body(aliceUSD.ID, bobUSD.ID, 100)), 201, "")
		assert.JSONEq(t, string(first.Data), string(again.Data), "a retry gets the same body")
		assert.Equal(t, "true", again.Header.Get("Idempotent-Replayed"), "a replay is marked")
		assert.Equal(t, before-100, s.balance(t, aliceToken, aliceUSD.ID), "a retry moves no money")
		s.expect(t, post(aliceToken, "key-1", body(aliceUSD.ID, bobUSD.ID, 101)), 409, "CONFLICT")
		// Another user's key space is separate.
		s.expect(t, post(bobToken, "key-1", body(bobUSD.ID, aliceUSD.ID, 100)), 201, "")

		// A refusal is replayed too: funding the account later does not
		// turn the retry into a transfer.
		refused := s.expect(t, post(bobToken, "key-2", body(bobUSD.ID, aliceUSD.ID, 5)), 422, "INSUFFICIENT_FUNDS")
		s.expect(t, req{Method: "POST", Path: "/v1/accounts/" + bobUSD.ID + "/deposits", Token: bobToken, Body: map[string]int64{"amount": 10}}, 200, "")
		retry := s.expect(t, post(bobToken, "key-2", body(bobUSD.ID, aliceUSD.ID, 5)), 422, "INSUFFICIENT_FUNDS")
		assert.Equal(t, refused.Error.Message, retry.Error.Message, "the refusal is replayed")
		assert.Equal(t, int64(10), s.balance(t, bobToken, bobUSD.ID), "the replayed refusal moved nothing")

		// Racing retries: exactly one transfer, every answer the same.
		before = s.balance(t, aliceToken, aliceUSD.ID)
		const racers = 8
		results := make([]*response, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() { results[i] = s.do(t, post(aliceToken, "key-race", body(aliceUSD.ID, bobUSD.ID, 7))) })
		}
		wg.Wait()
		for i, r := range results {
			require.Equal(t, 201, r.Status, "racer %d: status %s", i, r.Raw)
			assert.JSONEq(t, string(results[0].Data), string(r.Data), "racer %d gets the same transfer", i)
		}
		assert.Equal(t, before-7, s.balance(t, aliceToken, aliceUSD.ID), "racing retries move the money once")
	})

	t.Run("list transfers", func(t *testing.T) {
		var seen []transferView
		path := "/v1/accounts/" + bobUSD.ID + "/transfers?limit=2"
		var last *response
		for range 20 {
			var items []transferView
			last = s.expect(t, req{Method: "GET", Path: path, Token: bobToken}, 200, "")
			last.into(t, &items)
			require.NotNil(t, last.Meta.Cursor, "transfers are cursor pages")
			seen = append(seen, items...)
			if !last.Meta.Cursor.HasMore {
				break
			}
			path = "/v1/accounts/" + bobUSD.ID + "/transfers?limit=2&cursor=" + *last.Meta.Cursor.Next
		}
		assert.Nil(t, last.Meta.Cursor.Next, "next is null on the last page")
		// bob's account: +250, -250, +100, -100 (bob's key-1), +7.
		assert.Len(t, seen, 5, "every transfer in and out of the account, once")
		for i := 1; i < len(seen); i++ {
			assert.False(t, seen[i].CreatedAt.After(seen[i-1].CreatedAt), "newest first")
		}
		s.expect(t, req{Method: "GET", Path: "/v1/accounts/" + bobUSD.ID + "/transfers", Token: admin}, 200, "")
		s.expect(t, req{Method: "GET", Path: "/v1/accounts/" + bobUSD.ID + "/transfers", Token: aliceToken}, 403, "FORBIDDEN")
		s.expect(t, req{Method: "GET", Path: "/v1/accounts/acc_missing/transfers", Token: aliceToken}, 404, "NOT_FOUND")
		s.expect(t, req{Method: "GET", Path: "/v1/accounts/" + bobUSD.ID + "/transfers?cursor=bogus", Token: bobToken}, 400, "BAD_REQUEST")
		s.expect(t, req{Method: "GET", Path: "/v1/accounts/" + bobUSD.ID + "/transfers?limit=101", Token: bobToken}, 400, "BAD_REQUEST")
	})
}
