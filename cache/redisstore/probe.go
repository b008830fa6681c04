package redisstore

import (
	"context"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// probe publishes a probe every probeEvery and checks that the previous
// one came back through the subscription; when it did not, although it was
// published, the subscription is deaf: local copies are dropped and
// bypassed, and the TwoLevel subscribes again. It ends with Close.
func (t *TwoLevel[V]) probe() {
	defer close(t.probeDone)
	tick := time.NewTicker(t.probeEvery)
	defer tick.Stop()
	ctx := context.Background()
	var sent uint64
	published := false
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
		}
		if published && t.probeSeen.Load() < sent {
			t.lost(ctx, "redisstore: invalidation subscription missed its probe, bypassing local copies")
			t.resubscribe(ctx)
		}
		sent++
		msg, _ := invalidation{Origin: t.origin, Probe: sent}.encode()
		published = t.send(ctx, msg) == nil
	}
}

// lost marks the subscription broken: local copies are dropped and
// bypassed until a new subscription is confirmed. It logs once per break.
func (t *TwoLevel[V]) lost(ctx context.Context, msg string) {
	if t.degraded.CompareAndSwap(false, true) {
		t.clearLocal()
		t.log.LogAttrs(ctx, slog.LevelWarn, msg, slog.String("channel", t.channel))
	}
}

// resubscribe replaces the subscription with a new one, on the shard that
// owns the channel now (on a cluster the client's slot map is reloaded
// first; the probe's own publish has already met the redirection).
func (t *TwoLevel[V]) resubscribe(ctx context.Context) {
	if c, ok := t.rdb.(*redis.ClusterClient); ok {
		c.ReloadState(ctx)
	}
	var ns *redis.PubSub
	if t.sharded {
		ns = t.rdb.SSubscribe(ctx, t.channel)
	} else {
		ns = t.rdb.Subscribe(ctx, t.channel)
	}
	t.subMu.Lock()
	select {
	case <-t.stop:
		t.subMu.Unlock()
		ns.Close()
		return
	default:
	}
	old := t.sub
	t.sub = ns
	t.subMu.Unlock()
	old.Close()
}
