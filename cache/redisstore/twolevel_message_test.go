package redisstore_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/cache/redisstore"
	"github.com/svckit/svckit/internal/keyhash"
	"github.com/svckit/svckit/internal/testdb"
)

// listenChannel subscribes a plain client to the invalidation channel, as
// anyone with access to Redis can, and returns its messages.
func listenChannel(t *testing.T, rdb redis.UniversalClient, channel string) <-chan *redis.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var sub *redis.PubSub
	if _, ok := rdb.(*redis.ClusterClient); ok {
		sub = rdb.SSubscribe(ctx, channel)
	} else {
		sub = rdb.Subscribe(ctx, channel)
	}
	_, err := sub.Receive(ctx)
	require.NoError(t, err, "subscribe to %s", channel)
	t.Cleanup(func() { sub.Close() })
	return sub.Channel()
}

// publishRaw publishes msg on the invalidation channel as another process
// (or an earlier version) would.
func publishRaw(t *testing.T, rdb redis.UniversalClient, channel, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	if _, ok := rdb.(*redis.ClusterClient); ok {
		err = rdb.SPublish(ctx, channel, msg).Err()
	} else {
		err = rdb.Publish(ctx, channel, msg).Err()
	}
	require.NoError(t, err, "publish %s", msg)
}

// TestTwoLevelInvalidationCarriesNoKey watches the invalidation channel
// while a TwoLevel writes and deletes a key holding an email: each message
// names the key's digest, and neither the key nor any part of it.
func TestTwoLevelInvalidationCarriesNoKey(t *testing.T) {
	const key = "user:alice@example.com"
	parts := []string{key, "user", "alice", "example", "alice@example.com", "@", "user:"}
	testdb.EachRedis(t, func(t *testing.T, rdb redis.UniversalClient, prefix string) {
		ctx := context.Background()
		tl := newTwoLevel[int](t, rdb, prefix)
		msgs := listenChannel(t, rdb, prefix+"invalidate")
		for _, tt := range []struct {
			name string
			op   func() error
		}{
			{"Set", func() error { return tl.Set(ctx, key, ent(1), time.Hour) }},
			{"Delete", func() error { return tl.Delete(ctx, key) }},
			{"SetIfAbsent", func() error { _, err := tl.SetIfAbsent(ctx, key, ent(2), time.Hour); return err }},
			{"Delete of several", func() error { return tl.Delete(ctx, "other", key) }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				require.NoError(t, tt.op(), "the operation")
				var payload string
				for payload == "" {
					m := <-msgs
					var probe struct {
						Probe uint64 `json:"p"`
					}
					if json.Unmarshal([]byte(m.Payload), &probe) == nil && probe.Probe != 0 {
						assert.NotContains(t, m.Payload, "alice", "a probe names no key")
						continue // a cluster TwoLevel's probe to itself
					}
					payload = m.Payload
				}
				for _, p := range parts {
					assert.NotContains(t, payload, p, "the message %s holds no part of the key", payload)
				}
				var msg struct {
					Keys    json.RawMessage `json:"k"`
					Digests []string        `json:"d"`
				}
				require.NoError(t, json.Unmarshal([]byte(payload), &msg), "the message decodes")
				assert.JSONEq(t, "0", string(msg.Keys), `"k" is no list of keys`)
				assert.Contains(t, msg.Digests, keyhash.Sum(key), "the message names the key's digest")
			})
		}
	})
}

// TestTwoLevelReceivedMessages publishes messages by hand beside a
// TwoLevel holding local copies of two keys: an earlier version's message
// of keys in clear and this version's of digests drop the named key's
// copy; a message the TwoLevel cannot read drops every copy.
func TestTwoLevelReceivedMessages(t *testing.T) {
	const key, other = "user:alice@example.com", "user:bob@example.com"
	testdb.EachRedis(t, func(t *testing.T, rdb redis.UniversalClient, prefix string) {
		ctx := context.Background()
		b := newTwoLevel[int](t, rdb, prefix)
		bMsgs := invalidations(b)
		behind := redisstore.New[int](rdb, testOptions(prefix))
		channel := prefix + "invalidate"
		for _, tt := range []struct {
			name     string
			msg      string
			dropsKey bool // the copy of key is dropped
			dropsAll bool // the copy of other too
		}{
			{"earlier version's keys", `{"o":"earlier","k":["` + key + `"]}`, true, false},
			{"digests", `{"o":"peer","k":0,"d":["` + keyhash.Sum(key) + `"]}`, true, false},
			{"unreadable by this version", `{"o":"later","k":0}`, true, true},
			{"not a digest", `{"o":"peer","k":0,"d":["` + key + `"]}`, true, true},
			{"not JSON", `garbage`, true, true},
			{"no origin", `{"k":["` + other + `"]}`, true, true},
		} {
			t.Run(tt.name, func(t *testing.T) {
				for _, k := range []string{key, other} {
					require.NoError(t, b.Set(ctx, k, ent(1), time.Hour), "B writes %s, keeping a local copy", k)
					<-bMsgs // B's own message
					require.NoError(t, behind.Set(ctx, k, ent(2), time.Hour), "write to Redis alone")
					v, _, _ := b.Get(ctx, k)
					require.Equal(t, 1, v.Value, "B serves its local copy of %s", k)
				}
				publishRaw(t, rdb, channel, tt.msg)
				<-bMsgs
				for _, c := range []struct {
					key     string
					dropped bool
				}{{key, tt.dropsKey}, {other, tt.dropsAll}} {
					want := 1
					if c.dropped {
						want = 2
					}
					v, ok, err := b.Get(ctx, c.key)
					require.NoError(t, err, "read %s", c.key)
					require.True(t, ok, "found %s", c.key)
					assert.Equal(t, want, v.Value, "%s: copy of %s dropped: %v", tt.msg, c.key, c.dropped)
				}
				assert.False(t, redisstore.Degraded(b), "the subscription is healthy")
			})
		}
	})
}
