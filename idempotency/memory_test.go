package idempotency_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/idempotency"
)

func TestMemoryZeroValue(t *testing.T) {
	var m idempotency.Memory
	ctx := context.Background()
	k := idempotency.Key{Value: "k"}
	before := time.Now()
	o, replayed, err := idempotency.Do(ctx, &m, k, "fp", func(context.Context) (idempotency.Outcome, error) {
		return idempotency.JSON(http.StatusOK, "ok")
	})
	require.NoError(t, err, "Do on the zero Memory")
	assert.False(t, replayed, "first request")
	assert.Equal(t, `"ok"`, string(o.Data), "outcome")
	r, err := m.Load(ctx, k)
	require.NoError(t, err, "Load")
	assert.False(t, r.CreatedAt.Before(before), "the zero Memory stamps claims with time.Now")
}

func TestMemoryClaimWaitEndsWithContext(t *testing.T) {
	m := idempotency.NewMemory(idempotency.MemoryOptions{})
	k := idempotency.Key{Value: "k"}
	claimed, release := make(chan struct{}), make(chan struct{})
	holder := make(chan error, 1)
	go func() {
		holder <- m.Atomic(context.Background(), func(ctx context.Context) error {
			if err := m.Claim(ctx, k, "fp"); err != nil {
				return err
			}
			close(claimed)
			<-release
			return nil
		})
	}()
	<-claimed
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, m.Claim(ctx, k, "fp"), context.Canceled, "a waiting claim ends with its context")
	require.ErrorIs(t, m.Finish(ctx, k, idempotency.Outcome{Status: 200}), context.Canceled, "so does a waiting finish")
	_, err := m.Load(context.Background(), k)
	require.ErrorIs(t, err, idempotency.ErrNotFound, "Load does not see, nor wait for, a claim not committed")
	n, err := m.DeleteBefore(context.Background(), time.Now().Add(time.Hour))
	require.NoError(t, err, "DeleteBefore")
	assert.Zero(t, n, "DeleteBefore leaves a claim not committed alone")
	_, err = m.DeleteBefore(ctx, time.Now())
	require.ErrorIs(t, err, context.Canceled, "DeleteBefore with a cancelled context")
	close(release)
	require.NoError(t, <-holder, "the holder commits")
	_, err = m.Load(context.Background(), k)
	require.NoError(t, err, "visible once committed")
}

func TestMemoryAtomicJoins(t *testing.T) {
	m := idempotency.NewMemory(idempotency.MemoryOptions{})
	ctx := context.Background()
	k := idempotency.Key{Value: "k"}
	err := m.Atomic(ctx, func(ctx context.Context) error {
		_, _, err := idempotency.Do(ctx, m, k, "fp", func(context.Context) (idempotency.Outcome, error) {
			return idempotency.Outcome{Status: http.StatusNoContent}, nil
		})
		require.NoError(t, err, "Do joins the outer unit of work")
		o, replayed, err := idempotency.Do(ctx, m, k, "fp", nil)
		require.NoError(t, err, "a retry in the same unit of work")
		assert.True(t, replayed, "replays")
		assert.Equal(t, http.StatusNoContent, o.Status, "the outcome")
		return errBoom
	})
	require.ErrorIs(t, err, errBoom, "the outer unit of work fails")
	_, err = m.Load(ctx, k)
	require.ErrorIs(t, err, idempotency.ErrNotFound, "the joined claim rolled back with it")
}

func TestMemoryStoresOnlyCopies(t *testing.T) {
	m := idempotency.NewMemory(idempotency.MemoryOptions{})
	ctx := context.Background()
	k := idempotency.Key{Value: "k"}
	data := []byte(`{"a":1}`)
	require.NoError(t, m.Claim(ctx, k, "fp"), "claim")
	require.NoError(t, m.Finish(ctx, k, idempotency.Outcome{Status: 200, Data: data}), "finish")
	data[2] = 'b'
	r, err := m.Load(ctx, k)
	require.NoError(t, err, "load")
	assert.Equal(t, `{"a":1}`, string(r.Outcome.Data), "the caller's slice is not kept")
	r.Outcome.Data[2] = 'c'
	again, err := m.Load(ctx, k)
	require.NoError(t, err, "load again")
	assert.Equal(t, `{"a":1}`, string(again.Outcome.Data), "a loaded slice is the caller's own")
}
