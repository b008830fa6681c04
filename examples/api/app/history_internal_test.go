package app

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/cache/redisstore"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/repository"
)

// The tests in this file run several instances of the service in one
// process, each with its own database pool, Redis client and cache, on one
// database and one Redis, and drive the user cache (UserService.Get, the
// cache-aside read of GET /v1/users/{id}, and UserService.Rename, the
// write of PATCH, which invalidates after its commit) from many goroutines.

// historySeconds is how long a history runs: SVCKIT_HISTORY_SECONDS, else
// 20 s when services are required (CI), else 3 s.
func historySeconds() time.Duration {
	if n, err := strconv.Atoi(os.Getenv("SVCKIT_HISTORY_SECONDS")); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if testdb.Required() {
		return 20 * time.Second
	}
	return 3 * time.Second
}

// fillDelay slows every cache fill in both modes below alike, widening the
// window in which an update can slip between a load and its fill.
const fillDelay = 2 * time.Millisecond

// fencedStore is the Redis store as the service uses it, with slow fills.
type fencedStore struct{ *redisstore.Store[User] }

func (s fencedStore) Fill(ctx context.Context, key string, token uint64, e cache.Entry[User], ttl time.Duration) (bool, error) {
	time.Sleep(fillDelay)
	return s.Store.Fill(ctx, key, token, e, ttl)
}

// brokenStore is the same store without its leases, so the Aside fills
// with a plain SET, unfenced: the deliberately broken control.
type brokenStore struct{ s *redisstore.Store[User] }

func (b brokenStore) Get(ctx context.Context, k string) (cache.Entry[User], bool, error) {
	return b.s.Get(ctx, k)
}

func (b brokenStore) Set(ctx context.Context, k string, e cache.Entry[User], ttl time.Duration) error {
	time.Sleep(fillDelay)
	return b.s.Set(ctx, k, e, ttl)
}

func (b brokenStore) SetIfAbsent(ctx context.Context, k string, e cache.Entry[User], ttl time.Duration) (bool, error) {
	time.Sleep(fillDelay)
	return b.s.SetIfAbsent(ctx, k, e, ttl)
}

func (b brokenStore) Delete(ctx context.Context, keys ...string) error {
	return b.s.Delete(ctx, keys...)
}

// useStore replaces a's user cache by one on the fenced or the broken
// store, with the service's options and deadlines generous enough that no
// read falls back to the database on a slow machine.
func useStore(t *testing.T, a *App, broken bool) {
	rs := redisstore.New[User](a.rdb, redisstore.Options{Prefix: a.redisPrefix() + "cache:",
		Timeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
	var st cache.Store[User] = fencedStore{rs}
	if broken {
		st = brokenStore{rs}
	}
	old := a.users.cache
	a.users.cache = cache.NewAside[string, User](st, cache.Options[string]{Prefix: "user:", NotFound: []error{repository.ErrNotFound}})
	require.NoError(t, old.Close(), "close the old cache")
}

// users registers n users named "v0" through a and returns their ids.
func users(t *testing.T, a *App, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		u, err := a.users.Register(context.Background(), fmt.Sprintf("h%d-%s@example.com", i, testdb.Suffix()), "password-history", "v0")
		require.NoError(t, err, "register")
		ids[i] = u.ID
	}
	return ids
}

// regIn is the input of an operation on the register of one row's name.
type regIn struct {
	key   int
	write bool
	val   int
}

// registers is the model: one register per row, holding the version of
// its name ("v<n>"), 0 at first.
var registers = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[int][]porcupine.Operation{}
		for _, op := range h {
			k := op.Input.(regIn).key
			by[k] = append(by[k], op)
		}
		out := make([][]porcupine.Operation, 0, len(by))
		for _, ops := range by {
			out = append(out, ops)
		}
		return out
	},
	Init: func() any { return 0 },
	Step: func(state, input, output any) (bool, any) {
		in := input.(regIn)
		if in.write {
			return true, in.val
		}
		return output.(int) == state.(int), state
	},
	DescribeOperation: func(input, output any) string {
		in := input.(regIn)
		if in.write {
			return fmt.Sprintf("write(%d, v%d)", in.key, in.val)
		}
		return fmt.Sprintf("read(%d) -> v%v", in.key, output)
	},
}

// history runs writers on apps[0] and readers on every instance over the
// rows for d, and returns every operation with its interval.
func history(t *testing.T, apps []*App, ids []string, d time.Duration, writers int) []porcupine.Operation {
	t.Helper()
	ctx := context.Background()
	base := time.Now()
	clock := func() int64 { return int64(time.Since(base)) }
	var mu sync.Mutex
	var ops []porcupine.Operation
	record := func(client int, in regIn, out any, call, ret int64) {
		mu.Lock()
		ops = append(ops, porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret})
		mu.Unlock()
	}
	next := make([]atomic.Int64, len(ids))
	stop := time.Now().Add(d)
	var failures atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for time.Now().Before(stop) {
				k := rand.IntN(len(ids))
				v := int(next[k].Add(1))
				call := clock()
				_, err := apps[0].users.Rename(ctx, ids[k], "v"+strconv.Itoa(v))
				ret := clock()
				if err != nil {
					failures.Add(1)
					t.Errorf("write: %v", err)
					return
				}
				record(w, regIn{key: k, write: true, val: v}, nil, call, ret)
				time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
			}
		})
	}
	for i, a := range apps {
		for r := range 2 {
			client := writers + 2*i + r
			wg.Go(func() {
				for time.Now().Before(stop) && failures.Load() == 0 {
					k := rand.IntN(len(ids))
					call := clock()
					u, err := a.users.Get(ctx, ids[k])
					ret := clock()
					if err != nil {
						failures.Add(1)
						t.Errorf("read: %v", err)
						return
					}
					v, err := strconv.Atoi(strings.TrimPrefix(u.Name, "v"))
					if err != nil {
						failures.Add(1)
						t.Errorf("read a name not written here: %q", u.Name)
						return
					}
					record(client, regIn{key: k}, v, call, ret)
					time.Sleep(time.Duration(rand.IntN(1000)) * time.Microsecond)
				}
			})
		}
	}
	wg.Wait()
	return ops
}

// dumpHistory writes porcupine's visualization of a failed check to a
// file in the temporary directory and logs its name.
func dumpHistory(t *testing.T, info porcupine.LinearizationInfo, ops []porcupine.Operation) {
	if txt, err := os.CreateTemp("", "svckit-history-*.txt"); err == nil {
		for _, op := range ops {
			in := op.Input.(regIn)
			fmt.Fprintf(txt, "%d %d %v %d %v %d %d\n", op.ClientId, in.key, in.write, in.val, op.Output, op.Call, op.Return)
		}
		txt.Close()
		t.Logf("history operations: %s", txt.Name())
	}
	f, err := os.CreateTemp("", "svckit-history-*.html")
	if err != nil {
		t.Logf("history visualization: %v", err)
		return
	}
	defer f.Close()
	if err := porcupine.Visualize(registers, info, f); err != nil {
		t.Logf("history visualization: %v", err)
		return
	}
	t.Logf("history visualization: %s", f.Name())
}

// historyRedis are the Redis deployments the history checks run on: a
// server and a cluster (REDIS_URL redis+cluster://), each under a fresh
// key prefix that is removed at the end.
var historyRedis = []struct {
	name string
	open func(testing.TB) (url, prefix string)
}{
	{"standalone", func(t testing.TB) (string, string) {
		_, prefix := testdb.Redis(t)
		return testdb.RedisURL(t), prefix
	}},
	{"cluster", func(t testing.TB) (string, string) {
		_, prefix := testdb.RedisCluster(t)
		return clusterURL(testdb.RedisClusterURL(t)), prefix
	}},
}

// clusterURL is the REDIS_URL of the cluster whose go-redis cluster URL
// ("redis://host:port?addr=...") is raw.
func clusterURL(raw string) string { return "redis+cluster://" + strings.TrimPrefix(raw, "redis://") }

// historyEngines are the databases the history checks run on, with Redis.
var historyEngines = []struct {
	name string
	open func(testing.TB) *testdb.DB
}{{"postgres", testdb.Postgres}, {"mysql", testdb.MySQL}}

// TestLinearizableAcrossInstances records histories of four instances -
// one writer instance, readers on all four - and checks each row's name is
// a linearizable register. With the service's cache (Redis only, fill
// leases) the checker finds no violation; with the fills unfenced, in the
// same harness, it finds one: the check bites.
func TestLinearizableAcrossInstances(t *testing.T) {
	for _, e := range historyEngines {
		for _, r := range historyRedis {
			t.Run(e.name+"/"+r.name, func(t *testing.T) { linearizable(t, e.open(t), r.open) })
		}
	}
}

// linearizable is TestLinearizableAcrossInstances on db and one Redis.
func linearizable(t *testing.T, db *testdb.DB, openRedis func(testing.TB) (string, string)) {
	url, prefix := openRedis(t)
	apps := instances(t, 4, db, url, prefix)

	t.Run("fenced", func(t *testing.T) {
		for _, a := range apps {
			useStore(t, a, false)
		}
		ids := users(t, apps[0], 4)
		ops := history(t, apps, ids, historySeconds(), 2)
		res, info := porcupine.CheckOperationsVerbose(registers, ops, 2*time.Minute)
		t.Logf("%d operations over %s: %s", len(ops), historySeconds(), res)
		if res != porcupine.Ok {
			// The evidence for a violation: every operation, and
			// porcupine's view of the longest linearizable
			// prefixes, per row.
			dumpHistory(t, info, ops)
			for k := range ids {
				var kops []porcupine.Operation
				for _, op := range ops {
					if op.Input.(regIn).key == k {
						kops = append(kops, op)
					}
				}
				if r := porcupine.CheckOperationsTimeout(registers, kops, time.Minute); r != porcupine.Ok {
					t.Logf("row %d: %d operations: %s", k, len(kops), r)
				}
			}
		}
		assert.Equal(t, porcupine.Ok, res, "reads through the cache are linearizable per row")
		var lost, waits, storeErrs, fenced uint64
		for _, a := range apps {
			st := a.users.cache.Stats()
			lost += st.LostFills
			waits += st.LeaseWaits
			storeErrs += st.StoreErrors
			fenced += st.DeleteFailures
		}
		// Store errors and fenced keys send reads around the
		// leases: a violation with them non-zero points there.
		t.Logf("fills refused after an invalidation: %d, lease waits: %d, store errors: %d, invalidations fenced: %d",
			lost, waits, storeErrs, fenced)
	})
	t.Run("broken fill is caught", func(t *testing.T) {
		for _, a := range apps {
			useStore(t, a, true)
		}
		ids := users(t, apps[0], 4)
		// The control stops as soon as a chunk shows a violation.
		var res porcupine.CheckResult
		var n int
		for chunk := 0; chunk < 5 && res != porcupine.Illegal; chunk++ {
			ops := history(t, apps, ids, 2*time.Second, 2)
			n += len(ops)
			res = porcupine.CheckOperationsTimeout(registers, ops, time.Minute)
			ids = users(t, apps[0], 4) // fresh rows: the model starts at v0
		}
		t.Logf("%d operations with unfenced fills: %s", n, res)
		assert.Equal(t, porcupine.Illegal, res, "the checker catches the stale fills of an unfenced cache")
	})
}

// TestOneLoadPerThousandMisses: 1000 concurrent reads of a row missing from
// the cache, spread over four instances, load it from the database once,
// on a server and on a cluster: with the service's own Redis deadlines
// (50 ms reads), and with deadlines that cannot bind.
func TestOneLoadPerThousandMisses(t *testing.T) {
	for _, e := range historyEngines {
		for _, r := range historyRedis {
			t.Run(e.name+"/"+r.name, func(t *testing.T) { thousandMissesOn(t, e.open(t), r.open) })
		}
	}
}

// thousandMissesOn is TestOneLoadPerThousandMisses on db and one Redis.
func thousandMissesOn(t *testing.T, db *testdb.DB, openRedis func(testing.TB) (string, string)) {
	url, prefix := openRedis(t)
	apps := instances(t, 4, db, url, prefix)
	ids := users(t, apps[0], 2)
	t.Run("service deadlines", func(t *testing.T) {
		before := make([]uint64, len(apps))
		for i, a := range apps {
			before[i] = a.users.cache.Stats().StoreErrors
		}
		loads := thousandMisses(t, apps, ids[0])
		var missed uint64
		failing := 0 // instances with a Redis call past its deadline
		for i, a := range apps {
			if n := a.users.cache.Stats().StoreErrors - before[i]; n > 0 {
				missed += n
				failing++
			}
		}
		t.Logf("database loads for 1000 concurrent misses over %d instances, 50 ms read deadline: %d (reads served a failed cache store call: %d, on %d instances)", len(apps), loads, missed, failing)
		// Each instance shares its Redis reads of the key (a caller
		// joins the next read, begun after it asked), so its 250
		// misses make a few Redis calls, not 250 queued for the pool
		// past their 50 ms deadline, and every read waits for the one
		// lease holder's load. A machine too loaded to run Redis or
		// the client within 50 ms can still fail one of those shared
		// reads; its callers then share one load without the store
		// (the documented fallback), at most once for the first reads
		// and once for the reads after the fill: two per instance.
		if failing == 0 {
			assert.Equal(t, uint64(1), loads, "one database load across the instances at the service's deadlines")
		} else {
			assert.LessOrEqual(t, loads, uint64(1+2*failing), "one load, and at most two more per instance whose shared Redis read failed")
		}
	})
	t.Run("deadlines not binding", func(t *testing.T) {
		for _, a := range apps {
			useStore(t, a, false)
		}
		loads := thousandMisses(t, apps, ids[1])
		t.Logf("database loads for 1000 concurrent misses over %d instances: %d", len(apps), loads)
		assert.Equal(t, uint64(1), loads, "one database load across the instances")
	})
}

// thousandMisses evicts id and reads it 1000 times at once over apps; it
// returns the number of database loads.
func thousandMisses(t *testing.T, apps []*App, id string) uint64 {
	ctx := context.Background()
	require.NoError(t, apps[0].users.cache.Delete(ctx, id), "evict")
	count := func() (n uint64) {
		for _, a := range apps {
			n += a.users.cache.Stats().Loads
		}
		return n
	}
	before := count()
	const misses = 1000
	gate := make(chan struct{})
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range misses {
		wg.Go(func() {
			<-gate
			u, err := apps[i%len(apps)].users.Get(ctx, id)
			if err != nil || u.Name != "v0" {
				failed.Add(1)
			}
		})
	}
	close(gate)
	wg.Wait()
	assert.Zero(t, failed.Load(), "every read succeeds")
	return count() - before
}

// TestRedisRestartNothingStale runs readers on four instances and a writer
// on one over a redis-server of the test's own, kills that server (by its
// PID) in the middle of the run and starts it again on the same port,
// empty, half a second later. Renames during the outage cannot invalidate:
// their keys are fenced and deleted once the writer reaches Redis again, so
// a read may see the version before such a rename until then (the bound the
// cache documents). Every read that begins once the restart has settled
// (restartSettle) returns at least the version of the last rename that had
// returned before it began, and at the end every instance serves each row
// as the database has it.
//
// On a cluster of the test's own, one master is restarted the same way; it
// comes back with its slots (its cluster configuration file survives) and
// none of their data.
func TestRedisRestartNothingStale(t *testing.T) {
	for _, e := range historyEngines {
		t.Run(e.name+"/standalone", func(t *testing.T) {
			srv := testdb.StartRedis(t)
			restartNothingStale(t, e.open(t), "redis://"+srv.Addr+"/0", srv)
		})
		t.Run(e.name+"/cluster", func(t *testing.T) {
			cl := testdb.StartRedisCluster(t, 3)
			restartNothingStale(t, e.open(t), clusterURL(cl.URL), cl.Nodes[1])
		})
	}
}

// restartNothingStale is TestRedisRestartNothingStale on db and the Redis
// at url, of which srv is restarted.
func restartNothingStale(t *testing.T, db *testdb.DB, url string, srv *testdb.RedisProcess) {
	apps := instances(t, 4, db, url, "restart:")
	ids := users(t, apps[0], 3)
	ctx := context.Background()
	completed := make([]atomic.Int64, len(ids))
	run := max(historySeconds()/2, 7*time.Second)
	stop := time.Now().Add(run)
	var restarted atomic.Pointer[time.Time]
	var wg sync.WaitGroup
	var reads, staleEarly, staleLate atomic.Int64
	var lastStale atomic.Int64 // latest start of a stale read, ns after the restart
	wg.Go(func() {
		for v := 1; time.Now().Before(stop); v++ {
			for k := range ids {
				if _, err := apps[0].users.Rename(ctx, ids[k], "v"+strconv.Itoa(v)); err != nil {
					t.Errorf("rename: %v", err)
					return
				}
				completed[k].Store(int64(v))
			}
			time.Sleep(2 * time.Millisecond)
		}
	})
	for _, a := range apps {
		for range 2 {
			wg.Go(func() {
				for time.Now().Before(stop) {
					k := rand.IntN(len(ids))
					floor := completed[k].Load()
					began := time.Now()
					u, err := a.users.Get(ctx, ids[k])
					if err != nil {
						t.Errorf("read: %v", err)
						return
					}
					v, _ := strconv.Atoi(strings.TrimPrefix(u.Name, "v"))
					reads.Add(1)
					if int64(v) < floor {
						r := restarted.Load()
						if r == nil || began.Before(r.Add(restartSettle)) {
							staleEarly.Add(1)
							if r != nil {
								lastStale.Store(max(lastStale.Load(), int64(began.Sub(*r))))
							}
						} else {
							staleLate.Add(1)
							t.Errorf("row %d: read v%d, begun %s after the restart, after v%d had been written", k, v, began.Sub(*r), floor)
						}
					}
					time.Sleep(time.Duration(rand.IntN(1000)) * time.Microsecond)
				}
			})
		}
	}
	time.Sleep(time.Second)
	srv.Restart(t, 500*time.Millisecond) // killed by PID, down, started again empty
	now := time.Now()
	restarted.Store(&now)
	wg.Wait()
	var fenced uint64
	for _, a := range apps {
		fenced += a.users.cache.Stats().DeleteFailures
	}
	t.Logf("%d reads across a Redis restart; invalidations fenced in the outage: %d; stale reads "+
		"before the restart settled: %d (last begun %.0f ms after the restart); after: %d",
		reads.Load(), fenced, staleEarly.Load(), ms(time.Duration(lastStale.Load())), staleLate.Load())
	require.Zero(t, staleLate.Load(), "no stale read once the restart has settled")
	for k, id := range ids {
		want := "v" + strconv.FormatInt(completed[k].Load(), 10)
		for i, a := range apps {
			require.Eventually(t, func() bool {
				u, err := a.users.Get(ctx, id)
				return err == nil && u.Name == want
			}, 10*time.Second, 10*time.Millisecond, "instance %d serves row %d as the database has it (%s)", i, k, want)
		}
	}
}

// restartSettle is how long after Redis is back a read may still see a
// version older than a completed rename: the breaker's open period (0.5 s)
// and probe, then the fenced keys' background delete (every 250 ms), with
// slack for a loaded machine, where a probe may miss the 50 ms deadline and
// keep the breaker open another period. Runs on an idle machine saw the
// last such read begin about 0.2 s after the restart.
const restartSettle = 4 * time.Second

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
