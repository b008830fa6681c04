package app

import (
	"context"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/internal/faultproxy"
	"github.com/svckit/svckit/internal/testdb"
)

// TestInvalidationRidesTheOutbox: with Redis, a rename's invalidation is
// also written into the outbox, so when the renaming instance is cut off
// from Redis right after its commit (its own delete cannot land), another
// instance's Invalidator deletes the entry and serves the new name while
// the writer is still cut off. Without it the other instance would serve
// the old name until the writer reached Redis again.
func TestInvalidationRidesTheOutbox(t *testing.T) {
	db := testdb.Postgres(t)
	redisURL := testdb.RedisURL(t)
	_, prefix := testdb.Redis(t)
	u, err := url.Parse(redisURL)
	require.NoError(t, err)
	proxy, err := faultproxy.New(u.Host)
	require.NoError(t, err)
	t.Cleanup(func() { proxy.Close() })
	viaProxy := *u
	viaProxy.Host = proxy.Addr()
	writer := instances(t, 1, db, viaProxy.String(), prefix)[0]
	reader := instances(t, 1, db, redisURL, prefix)[0]
	require.NotNil(t, reader.userInv, "with Redis, invalidations ride the outbox")

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = reader.RunEvents(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	user, err := writer.users.Register(ctx, "ada@example.com", "password-1", "Ada")
	require.NoError(t, err)
	got, err := reader.users.Get(ctx, user.ID)
	require.NoError(t, err)
	require.Equal(t, "Ada", got.Name, "the reader caches the user")

	proxy.BlackHole()
	renamed := make(chan error, 1)
	go func() {
		_, err := writer.users.Rename(context.Background(), user.ID, "Ada Two")
		renamed <- err
	}()
	seen := false
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		got, err := reader.users.Get(ctx, user.ID)
		if err == nil && got.Name == "Ada Two" {
			seen = true
			break
		}
		time.Sleep(5 * time.Millisecond) // polling the reader, not ordering events
	}
	require.NoError(t, <-renamed, "the rename commits with its writer cut off from Redis")
	require.NoError(t, proxy.Clear())
	assert.True(t, seen, "the reader serves the new name while the writer is still cut off")
}
