package redisstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/internal/keyhash"
	"github.com/svckit/svckit/internal/testdb"
)

// TestTwoLevelInvalidationsNameDigests subscribes to a TwoLevel's channel as
// anyone with access to Redis can, and reads the invalidation of every
// write: each names the cache key's digest, never the key, which may hold
// what a client chose (an email). Another process still drops its copy.
func TestTwoLevelInvalidationsNameDigests(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := testdb.Redis(t)
	a := newTwoLevel[int](t, rdb, prefix)
	b := newTwoLevel[int](t, secondClient(t), prefix)
	bMsgs := invalidations(b)
	sub := rdb.Subscribe(ctx, prefix+"invalidate")
	t.Cleanup(func() { sub.Close() })
	_, err := sub.Receive(ctx)
	require.NoError(t, err, "subscribe to the invalidation channel")

	const key = "user:alice@example.com"
	for _, tc := range []struct {
		name  string
		write func() error
	}{
		{"set", func() error { return a.Set(ctx, key, ent(1), time.Hour) }},
		{"set if absent", func() error {
			if err := a.Delete(ctx, key); err != nil {
				return err
			}
			<-bMsgs
			if _, err := sub.ReceiveMessage(ctx); err != nil { // the delete's
				return err
			}
			_, err := a.SetIfAbsent(ctx, key, ent(2), time.Hour)
			return err
		}},
		{"delete", func() error {
			_, _, err := b.Get(ctx, key) // B keeps a local copy
			if err != nil {
				return err
			}
			return a.Delete(ctx, key)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, tc.write(), "A writes")
			mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			msg, err := sub.ReceiveMessage(mctx)
			require.NoError(t, err, "the invalidation is published")
			assert.NotContains(t, msg.Payload, "alice", "the message does not carry the key: %s", msg.Payload)
			assert.True(t, strings.Contains(msg.Payload, keyhash.Sum(key)), "the message names the key's digest: %s", msg.Payload)
			<-bMsgs
		})
	}
	_, ok, err := b.Get(ctx, key)
	require.NoError(t, err, "B reads")
	assert.False(t, ok, "B dropped its local copy on a message naming the digest")
}
