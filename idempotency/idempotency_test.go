package idempotency_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/idempotency"
)

func TestKeyValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		key     idempotency.Key
		invalid bool // ErrInvalidKey
		bad     bool // another error
	}{
		{name: "one byte", key: idempotency.Key{Value: "k"}},
		{name: "uuid", key: idempotency.Key{Scope: "user-1", Value: "8e03978e-40d5-43e8-bc93-6894a57f9324"}},
		{name: "max length", key: idempotency.Key{Value: strings.Repeat("k", idempotency.MaxKeyLen)}},
		{name: "space and tilde", key: idempotency.Key{Value: " ~"}},
		{name: "utf-8 scope", key: idempotency.Key{Scope: "Jörg", Value: "k"}},
		{name: "max scope", key: idempotency.Key{Scope: strings.Repeat("s", idempotency.MaxKeyLen), Value: "k"}},
		{name: "empty", key: idempotency.Key{}, invalid: true},
		{name: "too long", key: idempotency.Key{Value: strings.Repeat("k", idempotency.MaxKeyLen+1)}, invalid: true},
		{name: "control", key: idempotency.Key{Value: "a\tb"}, invalid: true},
		{name: "delete", key: idempotency.Key{Value: "a\x7fb"}, invalid: true},
		{name: "non-ascii", key: idempotency.Key{Value: "clé"}, invalid: true},
		{name: "scope too long", key: idempotency.Key{Scope: strings.Repeat("s", idempotency.MaxKeyLen+1), Value: "k"}, bad: true},
		{name: "scope not utf-8", key: idempotency.Key{Scope: "\xff", Value: "k"}, bad: true},
		{name: "scope with NUL", key: idempotency.Key{Scope: "a\x00", Value: "k"}, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.key.Validate()
			switch {
			case tc.invalid:
				require.ErrorIs(t, err, idempotency.ErrInvalidKey, "%q", tc.key)
				assert.Equal(t, 400, render(t, err).Status, "ErrInvalidKey renders 400")
			case tc.bad:
				require.Error(t, err, "%q", tc.key)
				assert.NotErrorIs(t, err, idempotency.ErrInvalidKey, "a bad scope is the server's fault, not the client's")
			default:
				require.NoError(t, err, "%q", tc.key)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	seen := map[string]string{}
	for _, parts := range [][]string{
		nil, {""}, {"", ""}, {"ab", "c"}, {"a", "bc"}, {"abc"}, {"POST", "/v1/transfers", `{"amount":5}`},
	} {
		fp := idempotency.Fingerprint(parts...)
		assert.Len(t, fp, 64, "hex SHA-256")
		assert.Equal(t, fp, idempotency.Fingerprint(parts...), "deterministic")
		key := fmt.Sprintf("%q", parts)
		for other, prev := range seen {
			assert.NotEqual(t, prev, fp, "%s and %s must differ", key, other)
		}
		seen[key] = fp
	}
}

func TestJSON(t *testing.T) {
	o, err := idempotency.JSON(http.StatusCreated, map[string]string{"id": "t1"})
	require.NoError(t, err, "JSON")
	assert.Equal(t, http.StatusCreated, o.Status, "status")
	assert.Equal(t, `{"id":"t1"}`, string(o.Data), "data")
	require.NoError(t, o.Err(), "a success has no error")

	for _, status := range []int{0, 99, 400, 500} {
		_, err := idempotency.JSON(status, 1)
		require.Error(t, err, "status %d is not a success", status)
	}
	_, err = idempotency.JSON(http.StatusOK, math.NaN())
	require.Error(t, err, "an unencodable value")
}

func TestRefuse(t *testing.T) {
	plain := &statusOnly{status: http.StatusForbidden}
	wrapped := fmt.Errorf("transfer: %w", errInsufficientFunds)
	for _, tc := range []struct {
		name string
		err  error
		kept bool
		want idempotency.Outcome
	}{
		{"4xx with every behaviour", errInsufficientFunds, true, idempotency.Outcome{Status: 422, Code: "INSUFFICIENT_FUNDS", Message: "insufficient funds"}},
		{"wrapped", wrapped, true, idempotency.Outcome{Status: 422, Code: "INSUFFICIENT_FUNDS", Message: "insufficient funds"}},
		{"status only", plain, true, idempotency.Outcome{Status: 403}},
		{"5xx", &statusOnly{status: 503}, false, idempotency.Outcome{}},
		{"3xx", &statusOnly{status: 302}, false, idempotency.Outcome{}},
		{"no status", errBoom, false, idempotency.Outcome{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := idempotency.Refuse(tc.err)
			if !tc.kept {
				require.ErrorIs(t, err, tc.err, "not the client's fault: the error comes back")
				return
			}
			require.NoError(t, err, "the client's fault is an outcome")
			sameOutcome(t, tc.want, o, tc.name)
			assert.Same(t, tc.err, o.Err(), "Err returns the error Refuse was given")
		})
	}
	_, err := idempotency.Refuse(nil)
	require.Error(t, err, "Refuse(nil) is a mistake")
}

// statusOnly has a status and nothing else.
type statusOnly struct{ status int }

func (e *statusOnly) Error() string   { return "status only" }
func (e *statusOnly) HTTPStatus() int { return e.status }

func TestOutcomeErr(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    idempotency.Outcome
		want *rendered
	}{
		{"success", idempotency.Outcome{Status: 200}, nil},
		{"redirect", idempotency.Outcome{Status: 303}, nil},
		{"refusal", idempotency.Outcome{Status: 404, Code: "NOT_FOUND", Message: "account not found"}, &rendered{404, "NOT_FOUND", "account not found"}},
		{"bare refusal", idempotency.Outcome{Status: 409}, &rendered{409, errkind.CodeConflict, errkind.Conflict.Message()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Err()
			if tc.want == nil {
				require.NoError(t, err, "no error for a success")
				return
			}
			require.Error(t, err, "a refusal")
			assert.Equal(t, *tc.want, render(t, err), "renders as stored")
			assert.Contains(t, err.Error(), "idempotency: replayed refusal", "log text")
			assert.False(t, errors.Is(err, idempotency.ErrKeyMismatch), "a refusal is none of the sentinels")
		})
	}
}

func TestRecordPending(t *testing.T) {
	assert.True(t, idempotency.Record{}.Pending(), "no outcome yet")
	assert.False(t, idempotency.Record{Outcome: idempotency.Outcome{Status: 201, Data: json.RawMessage(`1`)}}.Pending(), "an outcome")
}

func TestSentinelMessages(t *testing.T) {
	for _, err := range []error{
		idempotency.ErrKeyMismatch, idempotency.ErrInProgress, idempotency.ErrInvalidKey,
		idempotency.ErrTaken, idempotency.ErrNotFound, idempotency.ErrNotPending,
	} {
		assert.True(t, strings.HasPrefix(err.Error(), "idempotency: "), "%q has the package prefix", err)
	}
}
