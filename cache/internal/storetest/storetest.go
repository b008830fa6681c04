// Package storetest is the contract every cache.Store must meet, run by the
// tests of each backend: the store operations themselves and an Aside on
// top of the store.
package storetest

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/cache"
)

// User is the value type the suite stores.
type User struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Backend makes a fresh, empty store for one subtest.
type Backend struct {
	// New returns the store. Advance, if not nil, moves the store's clock
	// forward; without it the expiry cases are skipped (the backend's own
	// tests cover expiry).
	New func(t *testing.T) (s cache.Store[User], advance func(time.Duration))
}

// errNoUser stands for a repository's not-found error.
var errNoUser = errors.New("storetest: no such user")

// Run runs the contract against the backend.
func Run(t *testing.T, b Backend) {
	t.Run("Store", func(t *testing.T) { runStore(t, b) })
	t.Run("Aside", func(t *testing.T) { runAside(t, b) })
}

func runStore(t *testing.T, b Backend) {
	ctx := context.Background()
	alice := cache.Entry[User]{Value: User{ID: 1, Name: "alice"}}
	bob := cache.Entry[User]{Value: User{ID: 2, Name: "bob"}}
	gone := cache.Entry[User]{NotFound: true}

	t.Run("missing key", func(t *testing.T) {
		s, _ := b.New(t)
		_, ok, err := s.Get(ctx, "nope")
		require.NoError(t, err, "a miss is not an error")
		assert.False(t, ok, "a missing key is not ok")
	})
	t.Run("set get overwrite", func(t *testing.T) {
		s, _ := b.New(t)
		require.NoError(t, s.Set(ctx, "u", alice, time.Hour), "set")
		got, ok, err := s.Get(ctx, "u")
		require.NoError(t, err, "get")
		require.True(t, ok, "set key is found")
		assert.Equal(t, alice.Value, got.Value, "value round-trips")
		require.NoError(t, s.Set(ctx, "u", bob, 0), "overwrite without expiry")
		got, _, _ = s.Get(ctx, "u")
		assert.Equal(t, bob.Value, got.Value, "overwrite replaces")
		require.NoError(t, s.Set(ctx, "p", gone, time.Hour), "placeholder")
		got, ok, _ = s.Get(ctx, "p")
		assert.True(t, ok, "placeholder found")
		assert.True(t, got.NotFound, "placeholder round-trips")
	})
	t.Run("delete many", func(t *testing.T) {
		s, _ := b.New(t)
		for _, k := range []string{"a", "b", "c"} {
			require.NoError(t, s.Set(ctx, k, alice, time.Hour), "set %s", k)
		}
		require.NoError(t, s.Delete(ctx, "a", "b", "absent"), "delete several, one absent")
		require.NoError(t, s.Delete(ctx), "delete nothing")
		for k, want := range map[string]bool{"a": false, "b": false, "c": true} {
			_, ok, err := s.Get(ctx, k)
			require.NoError(t, err, "get %s", k)
			assert.Equal(t, want, ok, "presence of %s after delete", k)
		}
	})
	t.Run("set if absent", func(t *testing.T) {
		s, _ := b.New(t)
		nx, ok := s.(cache.AbsentSetter[User])
		require.True(t, ok, "every backend offers SetIfAbsent")
		set, err := nx.SetIfAbsent(ctx, "u", gone, time.Hour)
		require.NoError(t, err, "set if absent on an empty key")
		assert.True(t, set, "an empty key takes the value")
		require.NoError(t, s.Set(ctx, "u", alice, time.Hour), "a real value overwrites a placeholder")
		set, err = nx.SetIfAbsent(ctx, "u", gone, time.Hour)
		require.NoError(t, err, "set if absent on a full key")
		assert.False(t, set, "a full key refuses the placeholder")
		got, _, _ := s.Get(ctx, "u")
		assert.Equal(t, alice.Value, got.Value, "the real value survives")
	})
	t.Run("expiry", func(t *testing.T) {
		s, advance := b.New(t)
		if advance == nil {
			t.Skip("backend without a movable clock: covered by its own tests")
		}
		nx := s.(cache.AbsentSetter[User])
		require.NoError(t, s.Set(ctx, "short", alice, time.Minute), "set short")
		require.NoError(t, s.Set(ctx, "long", bob, time.Hour), "set long")
		require.NoError(t, s.Set(ctx, "forever", bob, 0), "set forever")
		advance(2 * time.Minute)
		_, ok, _ := s.Get(ctx, "short")
		assert.False(t, ok, "entry past its TTL is gone")
		_, ok, _ = s.Get(ctx, "long")
		assert.True(t, ok, "entry within its TTL stays")
		set, err := nx.SetIfAbsent(ctx, "short", gone, time.Minute)
		require.NoError(t, err, "set if absent on an expired key")
		assert.True(t, set, "an expired key counts as absent")
		advance(100 * 365 * 24 * time.Hour)
		_, ok, _ = s.Get(ctx, "forever")
		assert.True(t, ok, "entry without TTL never expires")
	})
}

func runAside(t *testing.T, b Backend) {
	ctx := context.Background()
	newAside := func(t *testing.T) (*cache.Aside[int64, User], cache.Store[User]) {
		s, _ := b.New(t)
		return cache.NewAside[int64, User](s, cache.Options[int64]{
			Prefix:   "user:",
			NotFound: []error{errNoUser},
		}), s
	}

	t.Run("stampede on a missing key loads once", func(t *testing.T) {
		a, _ := newAside(t)
		var loads atomic.Int32
		release := make(chan struct{})
		load := gatedLoad(&loads, release, User{ID: 7, Name: "gus"}, nil)
		got := stampede(t, 1000, release, func() (User, error) { return a.Get(ctx, 7, load) })
		for _, r := range got {
			require.NoError(t, r.err, "every caller succeeds")
			require.Equal(t, "gus", r.v.Name, "every caller gets the loaded value")
		}
		assert.Equal(t, int32(1), loads.Load(), "the loader ran exactly once")
		st := a.Stats()
		assert.Equal(t, uint64(1), st.Loads, "stats count one load")
		assert.Equal(t, uint64(1000), st.Hits+st.Misses, "every read counted")
	})
	t.Run("stampede on a nonexistent key loads once then hits negatively", func(t *testing.T) {
		a, _ := newAside(t)
		var loads atomic.Int32
		release := make(chan struct{})
		load := gatedLoad(&loads, release, User{}, errNoUser)
		got := stampede(t, 1000, release, func() (User, error) { return a.Get(ctx, 8, load) })
		for _, r := range got {
			require.ErrorIs(t, r.err, errNoUser, "every caller gets the declared not-found error")
			require.ErrorIs(t, r.err, cache.ErrNotFound, "which also matches cache.ErrNotFound")
		}
		assert.Equal(t, int32(1), loads.Load(), "the loader ran exactly once")
		for range 10 {
			_, err := a.Get(ctx, 8, load)
			var nf *cache.NotFoundError
			require.ErrorAs(t, err, &nf, "a negative hit is a *NotFoundError")
			assert.ErrorIs(t, err, errNoUser, "negative hit keeps the declared error")
			assert.ErrorIs(t, err, cache.ErrNotFound, "negative hit matches cache.ErrNotFound")
		}
		assert.Equal(t, int32(1), loads.Load(), "negative hits do not load")
		assert.GreaterOrEqual(t, a.Stats().NegativeHits, uint64(10), "negative hits counted")
	})
	t.Run("placeholder never overwrites a value", func(t *testing.T) {
		a, s := newAside(t)
		started := make(chan struct{})
		release := make(chan struct{})
		res := make(chan error, 1)
		go func() {
			_, err := a.Get(ctx, 9, func(context.Context) (User, error) {
				close(started)
				<-release
				return User{}, cache.ErrNotFound
			})
			res <- err
		}()
		<-started
		// Someone else writes the real value while the load runs.
		real := cache.Entry[User]{Value: User{ID: 9, Name: "ivy"}}
		require.NoError(t, s.Set(ctx, "user:9", real, time.Hour), "concurrent writer")
		close(release)
		// On a Leaser store the write ended the loader's lease, so its
		// placeholder is refused and the caller reads the store again.
		if err := <-res; err != nil {
			require.ErrorIs(t, err, cache.ErrNotFound, "the loading caller gets its answer, or the value stored meanwhile")
		}
		got, err := a.Get(ctx, 9, func(context.Context) (User, error) {
			t.Error("loader must not run: the real value is cached")
			return User{}, nil
		})
		require.NoError(t, err, "the real value is served")
		assert.Equal(t, "ivy", got.Name, "the placeholder did not overwrite it")
	})
	t.Run("update then read never returns the old value", func(t *testing.T) {
		a, _ := newAside(t)
		var mu sync.Mutex
		db := "old"
		read := func() string { mu.Lock(); defer mu.Unlock(); return db }
		readStarted := make(chan struct{})
		release := make(chan struct{})
		stale := make(chan User, 1)
		var first sync.Once
		go func() {
			u, _ := a.Get(ctx, 10, func(context.Context) (User, error) {
				name := read() // reads the row before the update
				first.Do(func() { close(readStarted) })
				<-release // ... and is slow to return it
				return User{ID: 10, Name: name}, nil
			})
			stale <- u
		}()
		<-readStarted
		// The update: write the row, then invalidate.
		mu.Lock()
		db = "new"
		mu.Unlock()
		require.NoError(t, a.Delete(ctx, 10), "invalidate")
		// Reads after the update has returned, while the old load is
		// still in flight and after it finished.
		loadNew := func(context.Context) (User, error) { return User{ID: 10, Name: read()}, nil }
		u, err := a.Get(ctx, 10, loadNew)
		require.NoError(t, err, "read during the stale load")
		assert.Equal(t, "new", u.Name, "a read after the update does not join the stale load")
		close(release)
		assert.Equal(t, "new", (<-stale).Name, "the read whose fill was refused fills again: it never serves a load the store refused")
		for range 3 {
			u, err = a.Get(ctx, 10, loadNew)
			require.NoError(t, err, "read after the stale load finished")
			assert.Equal(t, "new", u.Name, "the stale load did not overwrite the cache")
		}
	})
	t.Run("reads after an update never see an older row", func(t *testing.T) {
		a, _ := newAside(t)
		var mu sync.Mutex
		version := int64(0) // the row in the database
		load := func(context.Context) (User, error) {
			mu.Lock()
			u := User{ID: version}
			mu.Unlock()
			// Widen the window between reading the row and storing
			// it, where an update can slip in.
			for range 3 {
				runtime.Gosched()
			}
			return u, nil
		}
		var committed atomic.Int64 // highest version whose update has returned
		const updates = 500
		stop := make(chan struct{})
		var readers sync.WaitGroup
		for range 4 {
			readers.Add(1)
			go func() {
				defer readers.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					runtime.Gosched() // leave the writer room on small machines
					floor := committed.Load()
					u, err := a.Get(ctx, 12, load)
					if !assert.NoError(t, err, "read") || !assert.GreaterOrEqual(t, u.ID, floor,
						"a read begun after update %d returned saw version %d", floor, u.ID) {
						return
					}
				}
			}()
		}
		for v := int64(1); v <= updates; v++ {
			mu.Lock()
			version = v
			mu.Unlock()
			require.NoError(t, a.Delete(ctx, 12), "invalidate")
			committed.Store(v)
			for range 5 { // let readers load and cache between updates
				runtime.Gosched()
			}
		}
		close(stop)
		readers.Wait()
	})
	t.Run("load errors are returned and not cached", func(t *testing.T) {
		a, _ := newAside(t)
		errDB := errors.New("db down")
		calls := 0
		for range 3 {
			_, err := a.Get(ctx, 11, func(context.Context) (User, error) { calls++; return User{}, errDB })
			require.ErrorIs(t, err, errDB, "the loader's error is returned")
		}
		assert.Equal(t, 3, calls, "errors are not cached")
		assert.Equal(t, uint64(3), a.Stats().LoadErrors, "load errors counted")
	})
}

type result struct {
	v   User
	err error
}

// gatedLoad returns a loader that counts its calls in loads and answers
// (v, err) once release is closed.
func gatedLoad(loads *atomic.Int32, release <-chan struct{}, v User, err error) func(context.Context) (User, error) {
	return func(context.Context) (User, error) {
		loads.Add(1)
		<-release
		return v, err
	}
}

// stampede runs n concurrent calls of get, opens release once every caller
// has started (the loader blocks on it), and returns the results.
func stampede(t *testing.T, n int, release chan struct{}, get func() (User, error)) []result {
	t.Helper()
	out := make([]result, n)
	var started, done sync.WaitGroup
	started.Add(n)
	done.Add(n)
	gate := make(chan struct{})
	for i := range n {
		go func() {
			defer done.Done()
			started.Done()
			<-gate
			out[i].v, out[i].err = get()
		}()
	}
	started.Wait()
	close(gate)
	// Callers that have not reached the store yet either join the load
	// in flight or, after release, hit the cached answer: both keep the
	// loader at one call.
	close(release)
	done.Wait()
	return out
}
