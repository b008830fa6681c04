package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/idempotency"
)

func TestSweep(t *testing.T) {
	ctx := context.Background()
	a, err := New(ctx, Config{
		Database:     Database{Driver: "sqlite", Dialect: "sqlite", DSN: SQLiteDSN(t.TempDir() + "/sweep.db")},
		JWTSecret:    []byte("sweep-secret-sweep-secret-sweep-secret"),
		Logger:       slog.New(slog.DiscardHandler),
		PasswordCost: 64,
	})
	require.NoError(t, err, "New")
	defer a.Close()

	idem := a.idem // the store the accounts' Runner runs on
	k := idempotency.Key{Scope: "u1", Value: "k1"}
	require.NoError(t, idem.Claim(ctx, k, "hash"), "claim a key")
	require.NoError(t, idem.Finish(ctx, k, idempotency.Outcome{Status: 201, Data: json.RawMessage(`{"id":"t1"}`)}), "finish it")
	got, err := idem.Load(ctx, k)
	require.NoError(t, err, "the key is stored")
	assert.JSONEq(t, `{"id":"t1"}`, string(got.Outcome.Data), "with its outcome")

	a.sweep(ctx, time.Now())
	_, err = idem.Load(ctx, k)
	require.NoError(t, err, "a fresh key survives a sweep")

	a.sweep(ctx, time.Now().Add(IdempotencyKeyTTL+time.Minute))
	_, err = idem.Load(ctx, k)
	assert.ErrorIs(t, err, idempotency.ErrNotFound, "an expired key is deleted")
}
