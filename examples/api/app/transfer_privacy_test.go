package app_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTransferSaysNothingOfOthersAccounts (issue 27, broke 5): a transfer
// to an account of another user in another currency is answered exactly
// as a transfer to an account that does not exist, so nobody learns that
// the account exists or its currency; the owner of both accounts is told
// what differs.
func TestTransferSaysNothingOfOthersAccounts(t *testing.T) {
	s := startSQLite(t, nil)
	_, alice := s.newUser(t, "alice")
	_, bob := s.newUser(t, "bob")
	from := s.newAccount(t, alice, "EUR", 100)
	aliceUSD := s.newAccount(t, alice, "USD", 0)
	bobJPY := s.newAccount(t, bob, "JPY", 0)
	const missing = "0190b5e6-6a7e-7cc1-8b1e-2f1f5b5c0d9e" // a valid id of no account

	transfer := func(to string) *response {
		return s.do(t, req{Method: "POST", Path: "/v1/transfers", Token: alice,
			Body: map[string]any{"fromAccountId": from.ID, "toAccountId": to, "amount": 1}})
	}
	// anonymous is the error member with the target's id replaced.
	anonymous := func(r *response, id string) string {
		require.NotNil(t, r.Error, "an error answer: %s", r.Raw)
		raw, err := json.Marshal(r.Error)
		require.NoError(t, err, "marshal the error member")
		return strings.ReplaceAll(string(raw), id, "<id>")
	}

	others := transfer(bobJPY.ID)
	absent := transfer(missing)
	assert.Equal(t, absent.Status, others.Status, "same status as for an account that does not exist: %s", others.Raw)
	assert.Equal(t, anonymous(absent, missing), anonymous(others, bobJPY.ID), "same error as for an account that does not exist")
	assert.NotContains(t, string(others.Raw), "JPY", "the other user's currency is not named")

	own := transfer(aliceUSD.ID)
	assert.Equal(t, 400, own.Status, "the owner's own mismatch stays a validation error: %s", own.Raw)
	assert.Contains(t, string(own.Raw), "currency USD differs from the source's EUR", "and says what differs")
}
