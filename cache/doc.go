// Package cache implements cache-aside reads that are safe under load and
// coherent across processes: one load per key at a time (per process, and
// across processes on Redis), negative caching of "not found" that never
// overwrites a real value, TTL jitter, invalidation after the database
// commit, and reads that fall through to the loader when the store is down.
//
// Build a store and an Aside over it once, at start-up; read through Get
// with the loader of the value; delete after the write commits:
//
//	store := cache.NewMemory(cache.MemoryOptions[User]{}) // or redisstore.New[User](client, …)
//	defer store.Close()
//	users := cache.NewAside[int64, User](store, cache.Options[int64]{Prefix: "user:"})
//	defer users.Close()
//
//	u, err := users.Get(ctx, id, func(ctx context.Context) (User, error) {
//		return repo.FindByID(ctx, id)
//	})
//	…
//	err = users.Delete(ctx, id) // once the update has committed
//
// The defaults suit most services; what follows is how it works.
//
// Aside is the typed layer services use. It keeps its entries in a Store:
// Memory, in this package, or the stores of the redisstore sub-package
// (importing this package does not compile a Redis client): Redis alone, or
// TwoLevel, process memory in front of Redis with invalidation across
// processes over pub/sub. Options.RefreshAfter adds stale-while-revalidate.
// A user names the value type only (NewMemory[User], redisstore.New[User]);
// how a store encodes an entry is its own, private, versioned format.
//
// Invalidate with Aside.Delete after the write has committed, or with
// txn.DeleteAfterCommit inside a transaction of package txn.
//
// # Coherence across processes
//
// The hazard of cache-aside with many processes is the stale fill: process
// B misses, reads the old row, process A commits an update and deletes the
// key, then B stores the old row, and every process serves it until its TTL.
// Aside closes it with the leases of memcache ("Scaling Memcache at
// Facebook", NSDI 2013), made atomic by Redis scripts (see Leaser; each
// operation touches one key, so it runs on Redis Cluster):
//
//   - A hit is one GET, as without leases.
//   - A miss asks for the key's lease: one script that returns the entry if
//     one has landed meanwhile, or else stores a lease marker holding a
//     random 64-bit token, with the lease timeout as its expiry
//     (Options.LeaseTimeout, DefaultLeaseTimeout).
//   - The lease holder loads, then fills: one script that stores the entry
//     only if the key still holds its marker. An invalidation is a DEL,
//     which removes a marker as well as an entry, so a fill whose load
//     began before the invalidation finds no marker and is dropped
//     (Stats.LostFills); the next reader takes a new lease and loads the
//     committed row.
//   - A caller that finds another's marker waits (1 ms, growing to 50 ms,
//     jittered; Stats.LeaseWaits) and asks again, until it finds the entry
//     or the marker expires and it takes the lease itself. So concurrent
//     misses for a key in every process cause one load, and a filler that
//     died blocks its key for at most the lease timeout. A load that fails
//     releases its lease at once.
//   - Within a process callers share the fill through a dedupe.Group. When
//     the fill is dropped, nobody takes its result, not even the caller that
//     ran it: that caller and those that joined fill again (a new lease,
//     which finds the entry another process stored meanwhile, or loads).
//     The dropped load may have read an update that has committed but not
//     yet invalidated the key, while another process's lease, granted
//     after an earlier invalidation, fills the older row: serving it would
//     let a later read go back in time. Each try after the first follows
//     an invalidation of the key during the read; after 8 tries a read
//     serves a load of its own without storing it.
//   - Entries carry a version; a stale-while-revalidate refresh replaces an
//     entry only while it still holds the version the refresh read, so a
//     refresh never overwrites an invalidation or a newer refresh.
//   - Refreshes are one per key across processes: before its background
//     load, the process that found the entry stale takes the entry's
//     refresh lease (Leaser.LeaseRefresh, one script, on a stale hit only:
//     a fresh hit stays one GET). The script compares the entry's kind,
//     version and refresh time with what the process read and, if they
//     match, moves the refresh time LeaseTimeout ahead. Every other process
//     then reads the entry as fresh, and serves it, until the refresh
//     lands or the lease runs out; one that had read it before the move
//     finds the header changed and skips the refresh
//     (Stats.RefreshSkips). A refresher that died blocks nothing: at the
//     lease's end the entry is stale again and the next reader leases it.
//     A failed refresh is tried again then, not at every stale hit.
//
// The refresh lease lives in the entry itself rather than in a key of its
// own, and is not the fill lease's marker either, which takes the place of
// an absent entry while a stale one must stay readable. In the entry, a
// Delete removes the lease with the entry: the next reader misses and takes
// the fill lease, which no refresh lease can be in the way of, and the
// refresh already running fails its version check. A concurrent fill
// cannot meet a refresh lease at all, as a fill needs an absent key and a
// refresh lease a present entry; a fill that lands before the lease is
// taken changes the version, and the lease is refused. A separate key
// would outlive a Delete (a new entry would then wait out the old lease,
// or need the lease to name its version), cost a second key per refresh,
// and need a hash tag to share its entry's slot on Redis Cluster, which
// cannot be made for every key (not for one with a closing brace and no
// hash tag of its own). Refresh times, the lease's included, are read on
// each process's clock: processes whose clocks are further apart than
// LeaseTimeout may refresh a key twice, one after the other; the version
// check keeps the first.
//
// With Redis alone this makes reads linearizable per key: a read that
// starts after an update's commit and its invalidation returned never sees
// an older value, on any process, and once any read has returned an update
// no read that starts later returns what it replaced, even while the
// update's invalidation is still under way. Every read returns a value that
// was the store's entry at some moment of the read (one it found, or one its
// own fill stored). Every entry was loaded after its lease was granted, and
// an invalidation completed before the read either came before that grant
// (so the load saw the commit) or removed the lease or the entry; an update
// counts as done at the first invalidation, or the first fill of a load
// that saw it, after its commit. The tests of examples/api check it with a
// linearizability checker over histories of several running instances, on
// PostgreSQL and MariaDB.
//
// A read that goes around the lease (the store failing, a fenced key, a
// waiter that gave up after two lease timeouts, a read whose fills were
// dropped 8 times) serves its own load, which is fresh, but does not store
// it. Such a read is outside the guarantee above: it may return an update
// that has committed but not yet invalidated the key, while other reads
// still get the entry it replaces.
//
// # Two-level mode
//
// redisstore.TwoLevel serves hits from process memory, so a process learns
// of another's invalidation only when the pub/sub message reaches it: reads
// there are coherent within that delay, not linearizable. The tests of
// redisstore measure it (TestTwoLevelStalenessBound), from the start of
// Delete in one process until each of three other processes has dropped its
// copy. On loopback on a shared two-core machine: p50 0.17 ms, p99 0.30 ms
// over 1000 rounds on a quiet moment, p50 0.20 ms, p99 7.5 ms over 200
// rounds while other builds loaded the machine; a LAN adds its round trip.
// LocalTTL bounds a copy's life whatever happens to the messages. A process whose subscription breaks bypasses and drops its copies
// until it has subscribed again, then drops them once more, as messages
// published meanwhile are lost; it never serves a copy it may have missed
// an invalidation for.
//
// # Failed invalidations
//
// Delete retries a failed store delete (Options.DeleteRetries, 3 by
// default, with doubling jittered waits from 10 ms: about 70 ms in all).
// When it still fails, the keys are fenced: this process serves them from
// the loader and stores nothing for them, and retries their delete in the
// background every Options.FenceRetry (250 ms) until Redis accepts it.
// Stats.DeleteRetries and Stats.DeleteFailures count both. Other processes
// can serve the stale entry only while this process cannot reach Redis
// (its store's breaker still open included), plus at most FenceRetry; when
// Redis is down for everyone, nobody serves from it. The example's test
// that kills Redis in the middle of a run and starts it again
// (TestRedisRestartNothingStale) saw the last stale read begin 215 ms after
// Redis was back, and none after. Run the cache's Redis without persistence (or flush it after a
// restore): a snapshot taken before a delete brings the entry back.
//
// To bound that window by something other than the writer's own way back
// to Redis, write the invalidation into the update's transaction as well,
// with outbox.Invalidator (this package imports no outbox: the Invalidator
// takes Delete as a function): every instance's Invalidator then deletes
// the keys of committed invalidations, so another instance deletes what
// the cut-off writer could not. outbox's TestInvalidatorStalenessBound
// measures it with four processes, the writer's Redis behind a black hole:
// from the commit until three other processes serve the update, p50 25 ms,
// p99 225 ms over 100 rounds on a shared two-core machine at load 28.
//
// # Telemetry
//
// An Aside reports through OpenTelemetry (MetricRequests and the names
// beside it, and a SpanLoad span under a traced caller) to
// Options.MeterProvider and Options.TracerProvider, the global providers
// when nil, with Options.Name as its only identifying attribute; its
// misses count as leader or shared loads in dedupe.MetricCalls under the
// same name. With no
// provider installed a hit costs no allocation (the rules are those of
// every svckit package; see internal/telemetry).
package cache
