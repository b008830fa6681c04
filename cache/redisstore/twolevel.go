package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/internal/keyhash"
	"github.com/svckit/svckit/internal/opt"
)

// DefaultLocalTTL bounds how long a TwoLevel keeps its local copy of an entry.
const DefaultLocalTTL = time.Minute

// TwoLevelOptions configure a TwoLevel store. The zero value keeps local
// copies for DefaultLocalTTL in a cache.Memory with its default bound, and
// publishes invalidations on "<Prefix>invalidate".
type TwoLevelOptions[V any] struct {
	Options // the Redis store's prefix and codec
	// Channel is the pub/sub channel invalidations travel on. Every
	// process sharing the keys must use the same one. Empty means
	// Prefix + "invalidate".
	Channel string
	// LocalTTL bounds how long a local copy lives, whatever the entry's
	// TTL in Redis. Zero means DefaultLocalTTL.
	LocalTTL time.Duration
	// Local bounds the local copies; its Now field is ignored.
	Local cache.MemoryOptions[V]
	// Logger receives one record when the subscription breaks and one
	// when it is back. Nil discards them.
	Logger *slog.Logger
	// ProbeInterval is how often the TwoLevel publishes a probe to itself
	// and checks that the previous one came back; a probe that did not
	// means the subscription no longer hears the channel (on a cluster,
	// the channel's slot moved to another shard, which does not tell its
	// old subscribers), so local copies are dropped and bypassed and the
	// TwoLevel subscribes again. Zero means one second on a
	// *redis.ClusterClient and no probes on other clients; negative
	// means no probes.
	ProbeInterval time.Duration
}

// TwoLevel is a cache.Store and cache.Leaser that keeps in-process copies
// of a Redis store's entries in front of it. Writes and deletes go to
// Redis, then to the local copy, then are published on a Redis pub/sub
// channel; every TwoLevel on the channel drops its local copies of the
// published keys. A hit on a local copy costs no round trip.
//
// Local copies are kept under the key's digest, as in Redis (see the
// package documentation), and an invalidation names digests only, never a
// cache key, so that whoever subscribes to the channel learns no key:
//
//	{"o":"<origin>","k":0,"d":["<digest>",...]}
//
// "o" tells the publisher its own messages; "k" was the list of keys in
// clear of earlier versions, which still receive these messages: they
// cannot read 0 as a list of keys, and drop all their local copies, as for
// any message they do not understand. A message of an earlier version
// ({"o":...,"k":["<key>",...]}) is still applied, by digesting its keys.
// A message this package cannot read, from anyone, drops every local copy. Fills under a
// lease go to Redis and the local copy; they need no message, as no
// process holds a copy of a key that was leased.
//
// Other processes see a write or delete once its invalidation reaches them:
// until then they may serve their old copy (the package tests measure the
// delay; see the cache package documentation for the figures). While the
// subscription is broken, local copies are dropped and bypassed, so reads
// go to Redis; they are used again once it is back, and dropped again then,
// as messages published meanwhile are lost. Values are shared by the
// readers of one process: do not mutate them.
//
// On Redis Cluster (a *redis.ClusterClient) invalidations travel by sharded
// pub/sub, SPUBLISH and SSUBSCRIBE (Redis 7): the channel lives in its
// slot's shard, so a message goes to that shard alone. Classic PUBLISH on
// a cluster is forwarded to every node over the cluster bus, so its cost
// grows with the cluster, and a subscriber may sit on any node. When the
// channel's slot moves to another shard, the old shard keeps the
// subscription open but hears nothing more; so on a cluster the TwoLevel
// publishes a probe to itself every second (TwoLevelOptions.ProbeInterval)
// and, when one does not come back, bypasses and drops its local copies as
// for a broken subscription and subscribes again on the slot's new shard.
// Other clients use PUBLISH and SUBSCRIBE, which every Redis version has.
//
// Use NewTwoLevel. A TwoLevel is safe for concurrent use. It owns a
// goroutine and a pub/sub connection: call Close. It does not own the client.
type TwoLevel[V any] struct {
	remote   *Store[V]
	local    *cache.Memory[V]
	rdb      redis.UniversalClient
	channel  string
	sharded  bool // SPUBLISH/SSUBSCRIBE, on Redis Cluster
	origin   string
	localTTL time.Duration
	log      *slog.Logger

	subMu    sync.Mutex // guards sub, replaced by resubscribe
	sub      *redis.PubSub
	done     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	degraded atomic.Bool // subscription broken: bypass local copies

	seed  maphash.Seed
	gens  [256]localStripe
	epoch atomic.Uint64 // bumped by clearLocal, under every stripe's lock

	probeEvery time.Duration
	probeSeen  atomic.Uint64 // the latest own probe heard on the channel
	probeDone  chan struct{}

	onMsg atomic.Pointer[func()] // test hook, called after each message is applied
}

var (
	_ cache.Store[int]        = (*TwoLevel[int])(nil)
	_ cache.AbsentSetter[int] = (*TwoLevel[int])(nil)
	_ cache.Leaser[int]       = (*TwoLevel[int])(nil)
)

// localStripe orders filling local copies against invalidations: a fill
// read from Redis is kept only if no invalidation of its stripe happened
// since the read began.
type localStripe struct {
	mu  sync.RWMutex
	gen atomic.Uint64
}

// invalidation is a message on the channel, decoded.
type invalidation struct {
	Origin  string
	Digests []string // keyhash.Sum of the invalidated keys
	Probe   uint64   // a probe of Origin's, not an invalidation
}

// wireInvalidation is an invalidation as JSON, as parseInvalidation reads
// it. Keys is a list of keys in an earlier version's messages.
type wireInvalidation struct {
	Origin  string          `json:"o"`
	Keys    json.RawMessage `json:"k"`
	Digests []string        `json:"d"`
	Probe   uint64          `json:"p"`
}

// encode returns the message for inv. An invalidation's "k" is 0, so that
// an earlier version, which read "k" as the list of keys, fails to decode
// it and drops all its copies; a probe has no "k", which an earlier version
// reads as no keys, as it did its own probes.
func (inv invalidation) encode() ([]byte, error) {
	if inv.Probe != 0 {
		return json.Marshal(struct {
			Origin string `json:"o"`
			Probe  uint64 `json:"p"`
		}{inv.Origin, inv.Probe})
	}
	digests := inv.Digests
	if digests == nil {
		digests = []string{}
	}
	return json.Marshal(struct {
		Origin  string   `json:"o"`
		Keys    int      `json:"k"`
		Digests []string `json:"d"`
	}{inv.Origin, 0, digests})
}

// NewTwoLevel subscribes to the invalidation channel on rdb and returns the
// store once the subscription is confirmed, so that it sees every
// invalidation published after it returns. It fails if Redis cannot be
// reached within ctx.
func NewTwoLevel[V any](ctx context.Context, rdb redis.UniversalClient, opts TwoLevelOptions[V]) (*TwoLevel[V], error) {
	if rdb == nil {
		panic("redisstore: NewTwoLevel with a nil client")
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	local := opts.Local
	local.Now = nil
	t := &TwoLevel[V]{
		remote:   New[V](rdb, opts.Options),
		local:    cache.NewMemory(local),
		rdb:      rdb,
		channel:  opts.Channel,
		origin:   hex.EncodeToString(id[:]),
		localTTL: opt.PositiveOr(opts.LocalTTL, DefaultLocalTTL),
		log:      opts.Logger,
		done:     make(chan struct{}),
		stop:     make(chan struct{}),
		seed:     maphash.MakeSeed(),
	}
	if t.channel == "" {
		t.channel = opts.Prefix + "invalidate"
	}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	if _, t.sharded = rdb.(*redis.ClusterClient); t.sharded {
		t.sub = rdb.SSubscribe(ctx, t.channel)
	} else {
		t.sub = rdb.Subscribe(ctx, t.channel)
	}
	if _, err := t.sub.Receive(ctx); err != nil {
		t.sub.Close()
		t.local.Close()
		return nil, fmt.Errorf("redisstore: subscribe %q: %w", t.channel, err)
	}
	t.probeEvery = opts.ProbeInterval
	if t.probeEvery == 0 && t.sharded {
		t.probeEvery = time.Second
	}
	go t.listen()
	if t.probeEvery > 0 {
		t.probeDone = make(chan struct{})
		go t.probe()
	}
	return t, nil
}

// Get returns the local copy of key, or reads Redis and keeps a copy.
func (t *TwoLevel[V]) Get(ctx context.Context, key string) (v cache.Entry[V], ok bool, err error) {
	degraded, d := t.degraded.Load(), keyhash.Sum(key)
	if !degraded {
		if v, ok, _ := t.local.Get(ctx, d); ok {
			return v, true, nil
		}
	}
	s := t.stripe(d)
	gen, epoch := s.gen.Load(), t.epoch.Load()
	v, ok, err = t.remote.Get(ctx, key)
	if err != nil || !ok || degraded {
		return v, ok, err
	}
	t.keep(ctx, s, gen, epoch, d, v)
	return v, true, nil
}

// keep stores a copy of an entry read from Redis under its key's digest d,
// unless an invalidation of its stripe happened since the read began.
func (t *TwoLevel[V]) keep(ctx context.Context, s *localStripe, gen, epoch uint64, d string, e cache.Entry[V]) {
	s.mu.RLock()
	if s.gen.Load() == gen && t.epoch.Load() == epoch && !t.degraded.Load() {
		_ = t.local.Set(ctx, d, e, t.localTTL)
	}
	s.mu.RUnlock()
}

// Lease asks Redis for key's entry or its fill lease (see cache.Leaser),
// keeping a copy of an entry it finds.
func (t *TwoLevel[V]) Lease(ctx context.Context, key string, ttl time.Duration) (e cache.Entry[V], found bool, token uint64, err error) {
	d := keyhash.Sum(key)
	s := t.stripe(d)
	gen, epoch := s.gen.Load(), t.epoch.Load()
	e, found, token, err = t.remote.Lease(ctx, key, ttl)
	if err == nil && found && !t.degraded.Load() {
		t.keep(ctx, s, gen, epoch, d, e)
	}
	return e, found, token, err
}

// Fill stores e in Redis under the lease or version token (see
// cache.Leaser) and keeps a local copy; a fill that replaced an entry (a
// refresh) invalidates the other processes' copies.
func (t *TwoLevel[V]) Fill(ctx context.Context, key string, token uint64, e cache.Entry[V], ttl time.Duration) (bool, error) {
	stored, version, replaced, err := t.remote.fill(ctx, key, token, e, ttl)
	if err != nil || !stored {
		return stored, err
	}
	e.Version = version
	d := keyhash.Sum(key)
	t.replaceLocal(ctx, d, e, ttl)
	if replaced {
		return true, t.publish(ctx, d)
	}
	return true, nil
}

// LeaseRefresh takes the refresh lease of e in Redis (see cache.Leaser).
// When it does, the local copy becomes what Redis now holds, fresh until
// until; when it does not, the local copy is behind Redis and is dropped,
// so that the next read fetches the entry the lease holder left.
func (t *TwoLevel[V]) LeaseRefresh(ctx context.Context, key string, e cache.Entry[V], until int64) (bool, error) {
	d := keyhash.Sum(key)
	s := t.stripe(d)
	gen, epoch := s.gen.Load(), t.epoch.Load()
	leased, err := t.remote.LeaseRefresh(ctx, key, e, until)
	switch {
	case err != nil:
		return false, err
	case leased:
		e.RefreshAt = until
		t.keep(ctx, s, gen, epoch, d, e)
	default:
		t.dropLocal([]string{d})
	}
	return leased, nil
}

// Release gives up the lease token on key (see cache.Leaser).
func (t *TwoLevel[V]) Release(ctx context.Context, key string, token uint64) error {
	return t.remote.Release(ctx, key, token)
}

// Set writes v to Redis, keeps a local copy and invalidates the other
// processes' copies.
func (t *TwoLevel[V]) Set(ctx context.Context, key string, v cache.Entry[V], ttl time.Duration) error {
	version, err := t.remote.set(ctx, key, v, ttl)
	if err != nil {
		return err
	}
	v.Version = version
	d := keyhash.Sum(key)
	t.replaceLocal(ctx, d, v, ttl)
	return t.publish(ctx, d)
}

// SetIfAbsent writes v to Redis unless the key exists (SET NX); when it
// did, it keeps a local copy and invalidates the other processes' copies.
func (t *TwoLevel[V]) SetIfAbsent(ctx context.Context, key string, v cache.Entry[V], ttl time.Duration) (bool, error) {
	version, err := t.remote.setIfAbsent(ctx, key, v, ttl)
	if err != nil || version == 0 {
		return false, err
	}
	v.Version = version
	d := keyhash.Sum(key)
	t.replaceLocal(ctx, d, v, ttl)
	return true, t.publish(ctx, d)
}

// Delete removes the keys from Redis and from every process's local copies.
func (t *TwoLevel[V]) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	if err := t.remote.Delete(ctx, keys...); err != nil {
		return err
	}
	digests := make([]string, len(keys))
	for i, k := range keys {
		digests[i] = keyhash.Sum(k)
	}
	t.dropLocal(digests)
	return t.publish(ctx, digests...)
}

// Close stops listening for invalidations, waits for the goroutine to end
// and drops the local copies. It returns nil; later calls do nothing.
func (t *TwoLevel[V]) Close() error {
	t.stopOnce.Do(func() {
		close(t.stop)
		t.subMu.Lock()
		t.sub.Close()
		t.subMu.Unlock()
		<-t.done
		if t.probeDone != nil {
			<-t.probeDone
		}
		t.local.Clear()
		t.local.Close()
	})
	return nil
}

// stripe returns the stripe of the key whose digest is d.
func (t *TwoLevel[V]) stripe(d string) *localStripe {
	return &t.gens[maphash.String(t.seed, d)%uint64(len(t.gens))]
}

// replaceLocal puts this process's own write in its local copy, under the
// key's digest d, ordered against invalidations like a fill.
func (t *TwoLevel[V]) replaceLocal(ctx context.Context, d string, v cache.Entry[V], ttl time.Duration) {
	s := t.stripe(d)
	s.mu.Lock()
	s.gen.Add(1)
	if !t.degraded.Load() {
		local := t.localTTL
		if ttl > 0 {
			local = min(local, ttl)
		}
		_ = t.local.Set(ctx, d, v, local)
	}
	s.mu.Unlock()
}

// clearLocal drops every local copy; fills begun before it are not kept.
func (t *TwoLevel[V]) clearLocal() {
	for i := range t.gens {
		t.gens[i].mu.Lock()
	}
	t.epoch.Add(1)
	t.local.Clear()
	for i := range t.gens {
		t.gens[i].mu.Unlock()
	}
}

// dropLocal removes the local copies of the keys whose digests are given;
// fills begun before it are not kept.
func (t *TwoLevel[V]) dropLocal(digests []string) {
	for _, d := range digests {
		s := t.stripe(d)
		s.mu.Lock()
		s.gen.Add(1)
		_ = t.local.Delete(context.Background(), d)
		s.mu.Unlock()
	}
}

// parseInvalidation decodes a message from the channel, which anyone with
// access to Redis can publish on; ok is false for anything this package did
// not write, this version or an earlier one: no origin, a digest of the
// wrong size, no list of digests or keys. The keys of an earlier version's
// message are returned digested.
func parseInvalidation(payload string) (inv invalidation, ok bool) {
	var w wireInvalidation
	if err := json.Unmarshal([]byte(payload), &w); err != nil || w.Origin == "" {
		return invalidation{}, false
	}
	inv = invalidation{Origin: w.Origin, Probe: w.Probe}
	switch {
	case w.Probe != 0:
		return inv, true
	case w.Digests != nil:
		for _, d := range w.Digests {
			if len(d) != keyhash.SumLen {
				return invalidation{}, false
			}
		}
		inv.Digests = w.Digests
		return inv, true
	}
	var keys []string
	if err := json.Unmarshal(w.Keys, &keys); err != nil || keys == nil {
		return invalidation{}, false
	}
	inv.Digests = make([]string, len(keys))
	for i, k := range keys {
		inv.Digests[i] = keyhash.Sum(k)
	}
	return inv, true
}

// publish tells the other processes to drop the keys whose digests are
// given.
func (t *TwoLevel[V]) publish(ctx context.Context, digests ...string) error {
	msg, err := invalidation{Origin: t.origin, Digests: digests}.encode()
	if err != nil {
		return fmt.Errorf("redisstore: encode invalidation: %w", err)
	}
	if err := t.send(ctx, msg); err != nil {
		return fmt.Errorf("redisstore: publish invalidation: %w", err)
	}
	return nil
}

// send publishes msg on the invalidation channel (SPUBLISH on a sharded
// one), as one Redis write with its own deadline, behind the breaker (on a
// cluster, that of the master serving the channel's slot).
func (t *TwoLevel[V]) send(ctx context.Context, msg []byte) error {
	key := ""
	if t.sharded {
		key = t.channel
	}
	cctx, call, err := t.remote.begin(ctx, key, t.remote.write)
	if err != nil {
		return err
	}
	if t.sharded {
		err = t.rdb.SPublish(cctx, t.channel, msg).Err()
	} else {
		err = t.rdb.Publish(cctx, t.channel, msg).Err()
	}
	t.remote.end(ctx, call, err)
	return err
}

// listen applies invalidations until Close. go-redis reconnects a broken
// subscription and subscribes again; messages published meanwhile are lost,
// so local copies are bypassed from the break until the new subscription is
// confirmed, and dropped.
func (t *TwoLevel[V]) listen() {
	defer close(t.done)
	ctx := context.Background()
	backoff := 50 * time.Millisecond
	for {
		t.subMu.Lock()
		sub := t.sub
		t.subMu.Unlock()
		msg, err := sub.Receive(ctx)
		select {
		case <-t.stop:
			return
		default:
		}
		if err != nil {
			if errors.Is(err, redis.ErrClosed) {
				continue // replaced by resubscribe
			}
			if t.degraded.CompareAndSwap(false, true) {
				t.clearLocal()
				t.log.LogAttrs(ctx, slog.LevelWarn, "redisstore: invalidation subscription broken, bypassing local copies",
					slog.String("channel", t.channel), slog.Any("error", err))
			}
			select {
			case <-t.stop:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := msg.(type) {
		case *redis.Subscription:
			switch m.Kind {
			case "subscribe", "ssubscribe":
				if t.degraded.CompareAndSwap(true, false) {
					t.clearLocal()
					t.log.LogAttrs(ctx, slog.LevelInfo, "redisstore: invalidation subscription restored",
						slog.String("channel", t.channel))
				}
			case "sunsubscribe":
				// The shard dropped the channel (its slot moved): messages
				// may be lost until the subscription is back.
				t.lost(ctx, "redisstore: invalidation subscription dropped by the shard, bypassing local copies")
				t.resubscribe(ctx)
			}
		case *redis.Message:
			inv, ok := parseInvalidation(m.Payload)
			if ok && inv.Probe != 0 {
				if inv.Origin == t.origin && inv.Probe > t.probeSeen.Load() {
					t.probeSeen.Store(inv.Probe)
				}
				continue
			}
			if !ok {
				// Not ours: the safe answer is to forget everything.
				t.clearLocal()
			} else if inv.Origin != t.origin {
				t.dropLocal(inv.Digests)
			}
			if f := t.onMsg.Load(); f != nil {
				(*f)()
			}
		}
	}
}
