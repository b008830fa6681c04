package cache_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/dedupe"
	"github.com/svckit/svckit/txn"
)

var errStoreDown = errors.New("store down")

// flakyStore is a Memory store that fails on demand and records TTLs.
type flakyStore[V any] struct {
	*cache.Memory[V]
	fail        atomic.Bool
	failDeletes atomic.Int32 // deletes still to fail
	mu          sync.Mutex
	ttls        []time.Duration
}

func (f *flakyStore[V]) Get(ctx context.Context, key string) (cache.Entry[V], bool, error) {
	if f.fail.Load() {
		return cache.Entry[V]{}, false, errStoreDown
	}
	return f.Memory.Get(ctx, key)
}

func (f *flakyStore[V]) Set(ctx context.Context, key string, v cache.Entry[V], ttl time.Duration) error {
	if f.fail.Load() {
		return errStoreDown
	}
	f.mu.Lock()
	f.ttls = append(f.ttls, ttl)
	f.mu.Unlock()
	return f.Memory.Set(ctx, key, v, ttl)
}

func (f *flakyStore[V]) SetIfAbsent(ctx context.Context, key string, v cache.Entry[V], ttl time.Duration) (bool, error) {
	if f.fail.Load() {
		return false, errStoreDown
	}
	f.mu.Lock()
	f.ttls = append(f.ttls, ttl)
	f.mu.Unlock()
	return f.Memory.SetIfAbsent(ctx, key, v, ttl)
}

func (f *flakyStore[V]) Delete(ctx context.Context, keys ...string) error {
	if f.fail.Load() {
		return errStoreDown
	}
	if f.failDeletes.Add(-1) >= 0 {
		return errStoreDown
	}
	return f.Memory.Delete(ctx, keys...)
}

func newFlaky[V any](t *testing.T) *flakyStore[V] {
	return &flakyStore[V]{Memory: newMemory[V](t, cache.MemoryOptions[V]{})}
}

// plainStore hides the SetIfAbsent capability of its Memory store.
type plainStore[V any] struct{ m *cache.Memory[V] }

func (p plainStore[V]) Get(ctx context.Context, k string) (cache.Entry[V], bool, error) {
	return p.m.Get(ctx, k)
}
func (p plainStore[V]) Set(ctx context.Context, k string, v cache.Entry[V], ttl time.Duration) error {
	return p.m.Set(ctx, k, v, ttl)
}
func (p plainStore[V]) Delete(ctx context.Context, ks ...string) error { return p.m.Delete(ctx, ks...) }

// recorder is a slog.Handler keeping the records it receives.
type recorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }
func (r *recorder) levels() []slog.Level {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []slog.Level
	for _, rec := range r.recs {
		out = append(out, rec.Level)
	}
	return out
}

func constLoad(v string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return v, nil }
}

func TestAsideHitMissStats(t *testing.T) {
	ctx := context.Background()
	a := cache.NewAside[string, string](newMemory[string](t, cache.MemoryOptions[string]{}), cache.Options[string]{})
	v, err := a.Get(ctx, "k", constLoad("one"))
	require.NoError(t, err, "miss loads")
	assert.Equal(t, "one", v, "loaded value")
	v, err = a.Get(ctx, "k", constLoad("two"))
	require.NoError(t, err, "hit")
	assert.Equal(t, "one", v, "hit serves the cached value")
	_, err = a.Get(ctx, "nf", func(context.Context) (string, error) { return "", cache.ErrNotFound })
	require.ErrorIs(t, err, cache.ErrNotFound, "not found on load")
	_, err = a.Get(ctx, "nf", constLoad("x"))
	require.ErrorIs(t, err, cache.ErrNotFound, "not found from the placeholder")
	assert.Equal(t, cache.Stats{Hits: 1, Misses: 2, NegativeHits: 1, Loads: 2}, a.Stats(), "counters")
}

func TestAsideTTLAndJitter(t *testing.T) {
	tests := []struct {
		name    string
		opts    cache.Options[string]
		r       float64
		wantTTL time.Duration
		wantNeg time.Duration
	}{
		{"defaults, low end", cache.Options[string]{}, 0, 57 * time.Minute, 57 * time.Second},
		{"defaults, middle", cache.Options[string]{}, 0.5, time.Hour, time.Minute},
		{"custom, high end", cache.Options[string]{TTL: 100 * time.Second, NegativeTTL: 10 * time.Second, Jitter: 0.1}, 1, 110 * time.Second, 11 * time.Second},
		{"no jitter", cache.Options[string]{TTL: time.Minute, Jitter: -1}, 0, time.Minute, time.Minute},
		{"jitter above 1 is 1", cache.Options[string]{TTL: time.Minute, NegativeTTL: time.Minute, Jitter: 2}, 0.75, 90 * time.Second, 90 * time.Second},
		{"NaN jitter is the default", cache.Options[string]{TTL: 100 * time.Second, NegativeTTL: 10 * time.Second, Jitter: math.NaN()}, 1, 105 * time.Second, 10500 * time.Millisecond},
		{"negative TTL is the default", cache.Options[string]{TTL: -time.Second, Jitter: -1}, 0, time.Hour, time.Minute},
		{"a TTL at the top of the range stays there", cache.Options[string]{TTL: math.MaxInt64}, 1, math.MaxInt64, 63 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := newFlaky[string](t)
			opts := tt.opts
			opts.Rand = func() float64 { return tt.r }
			a := cache.NewAside[string, string](s, opts)
			_, err := a.Get(ctx, "v", constLoad("x"))
			require.NoError(t, err, "load value")
			_, err = a.Get(ctx, "n", func(context.Context) (string, error) { return "", cache.ErrNotFound })
			require.ErrorIs(t, err, cache.ErrNotFound, "load not found")
			require.Len(t, s.ttls, 2, "one value and one placeholder written")
			assert.InDelta(t, float64(tt.wantTTL), float64(s.ttls[0]), float64(time.Millisecond), "value TTL")
			assert.InDelta(t, float64(tt.wantNeg), float64(s.ttls[1]), float64(time.Millisecond), "negative TTL")
		})
	}
}

func TestAsideNegativeCachingOff(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		store cache.Store[string]
		opts  cache.Options[string]
	}{
		{"negative TTL below zero", newMemory[string](t, cache.MemoryOptions[string]{}), cache.Options[string]{NegativeTTL: -1}},
		{"store without SetIfAbsent", plainStore[string]{newMemory[string](t, cache.MemoryOptions[string]{})}, cache.Options[string]{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := cache.NewAside[string, string](tt.store, tt.opts)
			loads := 0
			load := func(context.Context) (string, error) { loads++; return "", cache.ErrNotFound }
			for range 3 {
				_, err := a.Get(ctx, "k", load)
				require.ErrorIs(t, err, cache.ErrNotFound, "not found")
			}
			assert.Equal(t, 3, loads, "nothing cached: every read loads")
		})
	}
}

func TestAsideStoreDownServesFromLoader(t *testing.T) {
	ctx := context.Background()
	s := newFlaky[string](t)
	rec := &recorder{}
	a := cache.NewAside[string, string](s, cache.Options[string]{Logger: slog.New(rec)})
	s.fail.Store(true)
	for i := range 20 {
		v, err := a.Get(ctx, "k"+strconv.Itoa(i%3), constLoad("fresh"))
		require.NoError(t, err, "reads succeed while the store is down")
		assert.Equal(t, "fresh", v, "served from the loader")
	}
	st := a.Stats()
	assert.Equal(t, uint64(20), st.StoreErrors, "one store error per read (no write attempted)")
	assert.Equal(t, uint64(20), st.Loads, "every read loads")
	assert.Equal(t, []slog.Level{slog.LevelWarn}, rec.levels(), "the outage is logged once")

	s.fail.Store(false)
	_, err := a.Get(ctx, "k0", constLoad("fresh"))
	require.NoError(t, err, "read after recovery")
	assert.Equal(t, []slog.Level{slog.LevelWarn, slog.LevelInfo}, rec.levels(), "recovery is logged once")
	_, err = a.Get(ctx, "k0", constLoad("other"))
	require.NoError(t, err, "hit after recovery")
	assert.Equal(t, uint64(1), a.Stats().Hits, "the store is used again")
}

func TestAsideFailOnStoreError(t *testing.T) {
	ctx := context.Background()
	s := newFlaky[string](t)
	a := cache.NewAside[string, string](s, cache.Options[string]{FailOnStoreError: true, DeleteBackoff: time.Microsecond})
	t.Cleanup(func() { require.NoError(t, a.Close(), "close") })
	s.fail.Store(true)
	_, err := a.Get(ctx, "k", constLoad("v"))
	require.ErrorIs(t, err, errStoreDown, "get returns the store error")
	require.ErrorIs(t, a.Delete(ctx, "k"), errStoreDown, "delete returns the store error")
	assert.Equal(t, uint64(0), a.Stats().Loads, "the loader is not called")
}

func TestAsideDeleteReportsStoreError(t *testing.T) {
	ctx := context.Background()
	s := newFlaky[string](t)
	a := cache.NewAside[string, string](s, cache.Options[string]{DeleteBackoff: time.Microsecond})
	t.Cleanup(func() { require.NoError(t, a.Close(), "close") })
	require.NoError(t, a.Delete(ctx), "deleting nothing is fine")
	s.fail.Store(true)
	require.ErrorIs(t, a.Delete(ctx, "a", "b"), errStoreDown, "delete fails with the store")
	txn.DeleteAfterCommit(ctx, a, "a")
	st := a.Stats()
	assert.Equal(t, uint64(2), st.StoreErrors, "both failures counted")
	assert.Equal(t, uint64(2), st.DeleteFailures, "both deletes failed for good")
	assert.Equal(t, uint64(2*cache.DefaultDeleteRetries), st.DeleteRetries, "each was retried")
}

// A failed invalidation is retried; when it fails for good the key is
// fenced: this process serves it from the loader without storing it, and
// deletes it in the background once the store is back.
func TestAsideDeleteRetriesThenFences(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		failures  int32 // deletes that fail before the store accepts
		retries   int
		wantErr   bool
		wantRetry uint64
	}{
		{"no failure", 0, 3, false, 0},
		{"one failure, retried", 1, 3, false, 1},
		{"three failures, retried", 3, 3, false, 3},
		{"fails past the retries: fenced", 6, 3, true, 3},
		{"no retries: fenced at once", 1, -1, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFlaky[string](t)
			a := cache.NewAside[string, string](s, cache.Options[string]{
				DeleteRetries: tt.retries, DeleteBackoff: time.Microsecond, FenceRetry: time.Millisecond,
			})
			t.Cleanup(func() { require.NoError(t, a.Close(), "close") })
			_, err := a.Get(ctx, "k", constLoad("old"))
			require.NoError(t, err, "cache the old value")
			s.failDeletes.Store(tt.failures)
			err = a.Delete(ctx, "k")
			st := a.Stats()
			assert.Equal(t, tt.wantRetry, st.DeleteRetries, "retries")
			if !tt.wantErr {
				require.NoError(t, err, "the retried delete succeeds")
				assert.Zero(t, st.DeleteFailures, "no failure for good")
				v, err := a.Get(ctx, "k", constLoad("new"))
				require.NoError(t, err, "read")
				assert.Equal(t, "new", v, "the entry is gone")
				return
			}
			require.ErrorIs(t, err, errStoreDown, "the last error is returned")
			assert.Equal(t, uint64(1), st.DeleteFailures, "failure counted")
			// The store still holds "old" and keeps failing deletes for
			// a while: this process does not serve it.
			for range 3 {
				v, err := a.Get(ctx, "k", constLoad("new"))
				require.NoError(t, err, "read of a fenced key")
				assert.Equal(t, "new", v, "a fenced key is served from the loader")
			}
			require.Eventually(t, func() bool {
				_, ok, _ := s.Memory.Get(ctx, "k")
				return !ok
			}, 5*time.Second, time.Millisecond, "the background retry deletes the key once the store accepts")
			require.Eventually(t, func() bool {
				_, _ = a.Get(ctx, "k", constLoad("newer"))
				v, err := a.Get(ctx, "k", constLoad("newest"))
				return err == nil && v == "newer"
			}, 5*time.Second, time.Millisecond, "the key is cached again once the fence lifts")
		})
	}
}

func TestAsideDeleteAfterCommitOutsideTx(t *testing.T) {
	ctx := context.Background()
	a := cache.NewAside[string, string](newMemory[string](t, cache.MemoryOptions[string]{}), cache.Options[string]{})
	_, err := a.Get(ctx, "k", constLoad("old"))
	require.NoError(t, err, "warm")
	txn.DeleteAfterCommit(ctx, a, "k")
	txn.DeleteAfterCommit(ctx, a)
	v, err := a.Get(ctx, "k", constLoad("new"))
	require.NoError(t, err, "reload")
	assert.Equal(t, "new", v, "outside a transaction the delete happens at once")
}

func TestAsideKeys(t *testing.T) {
	ctx := context.Background()
	type id struct{ a, b int }
	tests := []struct {
		name string
		get  func(t *testing.T, m *cache.Memory[string])
		key  string
	}{
		{"string key as is", func(t *testing.T, m *cache.Memory[string]) {
			_, err := cache.NewAside[string, string](m, cache.Options[string]{}).Get(ctx, "x", constLoad("v"))
			require.NoError(t, err, "get")
		}, "x"},
		{"int key formatted with prefix", func(t *testing.T, m *cache.Memory[string]) {
			_, err := cache.NewAside[int, string](m, cache.Options[int]{Prefix: "user:"}).Get(ctx, 42, constLoad("v"))
			require.NoError(t, err, "get")
		}, "user:42"},
		{"key function", func(t *testing.T, m *cache.Memory[string]) {
			a := cache.NewAside[id, string](m, cache.Options[id]{
				Prefix: "p:",
				Key:    func(k id) string { return strconv.Itoa(k.a) + "/" + strconv.Itoa(k.b) },
			})
			_, err := a.Get(ctx, id{1, 2}, constLoad("v"))
			require.NoError(t, err, "get")
		}, "p:1/2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemory[string](t, cache.MemoryOptions[string]{})
			tt.get(t, m)
			_, ok, _ := m.Get(ctx, tt.key)
			assert.True(t, ok, "value stored under %q", tt.key)
		})
	}
}

func TestAsideLoaderPanicReachesCaller(t *testing.T) {
	a := cache.NewAside[string, string](newMemory[string](t, cache.MemoryOptions[string]{}), cache.Options[string]{})
	defer func() {
		pe, ok := recover().(*dedupe.PanicError)
		require.True(t, ok, "the loader's panic reaches the caller as a *dedupe.PanicError")
		assert.Equal(t, "boom", pe.Value, "panic value kept")
	}()
	_, _ = a.Get(context.Background(), "k", func(context.Context) (string, error) { panic("boom") })
}

func TestAsideCallerCancelDoesNotCancelLoad(t *testing.T) {
	a := cache.NewAside[string, string](newMemory[string](t, cache.MemoryOptions[string]{}), cache.Options[string]{})
	started := make(chan struct{})
	release := make(chan struct{})
	loadErr := make(chan error, 1)
	first := make(chan string, 1)
	go func() {
		v, _ := a.Get(context.Background(), "k", func(ctx context.Context) (string, error) {
			close(started)
			<-release
			loadErr <- ctx.Err()
			return "v", nil
		})
		first <- v
	}()
	<-started
	// A second caller that gives up returns at once with its own error,
	// whether it joined the load or not yet.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := a.Get(ctx, "k", constLoad("other"))
	require.ErrorIs(t, err, context.Canceled, "the cancelled caller returns its ctx.Err()")
	close(release)
	assert.Equal(t, "v", <-first, "the remaining caller gets the load's value")
	assert.NoError(t, <-loadErr, "the load was not cancelled")
	v, err := a.Get(context.Background(), "k", constLoad("other"))
	require.NoError(t, err, "hit")
	assert.Equal(t, "v", v, "the load's value was cached")
}

func TestNewAsideNilStore(t *testing.T) {
	assert.PanicsWithValue(t, "cache: NewAside: nil store", func() { cache.NewAside[string, string](nil, cache.Options[string]{}) },
		"a nil store is a programming error, reported at once")
}

func TestNotFoundError(t *testing.T) {
	errNoRow := errors.New("no row")
	err := error(&cache.NotFoundError{Key: "user:1", Err: errNoRow})
	assert.ErrorIs(t, err, cache.ErrNotFound, "matches cache.ErrNotFound")
	assert.ErrorIs(t, err, errNoRow, "matches the wrapped error")
	assert.Equal(t, "cache: user:1: no row", err.Error(), "message names key and cause")
}

// scriptedStore is a Memory store whose Get and Delete calls can be held at
// chosen points, to replay an interleaving step by step.
type scriptedStore struct {
	*cache.Memory[string]
	mu       sync.Mutex
	gets     int
	onGet    func(n int, real func() (cache.Entry[string], bool)) (cache.Entry[string], bool)
	onDelete func()
}

func (s *scriptedStore) Get(ctx context.Context, key string) (cache.Entry[string], bool, error) {
	s.mu.Lock()
	s.gets++
	n := s.gets
	s.mu.Unlock()
	real := func() (cache.Entry[string], bool) {
		e, ok, _ := s.Memory.Get(ctx, key)
		return e, ok
	}
	e, ok := s.onGet(n, real)
	return e, ok, nil
}

func (s *scriptedStore) Delete(ctx context.Context, keys ...string) error {
	s.onDelete()
	return s.Memory.Delete(ctx, keys...)
}

// A load that starts while Delete runs, and finds the old entry still in
// the store, must not be joined by callers arriving after Delete returned.
func TestDeleteUnlinksLoadsThatSawTheOldEntry(t *testing.T) {
	ctx := context.Background()
	deleting, releaseDelete := make(chan struct{}), make(chan struct{})
	recheckRead, releaseRecheck := make(chan struct{}), make(chan struct{})
	s := &scriptedStore{Memory: newMemory[string](t, cache.MemoryOptions[string]{})}
	s.onDelete = func() {
		close(deleting)
		<-releaseDelete
	}
	s.onGet = func(n int, real func() (cache.Entry[string], bool)) (cache.Entry[string], bool) {
		switch n {
		case 1: // the overlapping reader's first look: a miss
			return cache.Entry[string]{}, false
		case 2: // its load's second look: the old entry, still there
			e, ok := real()
			close(recheckRead)
			<-releaseRecheck
			return e, ok
		}
		return real()
	}
	require.NoError(t, s.Memory.Set(ctx, "k", cache.Entry[string]{Value: "old"}, time.Hour), "cached old row")
	a := cache.NewAside[string, string](s, cache.Options[string]{})

	deleted := make(chan error, 1)
	go func() { deleted <- a.Delete(ctx, "k") }()
	<-deleting
	overlapping := make(chan string, 1)
	go func() {
		v, _ := a.Get(ctx, "k", constLoad("never: the old entry is found"))
		overlapping <- v
	}()
	<-recheckRead
	close(releaseDelete)
	require.NoError(t, <-deleted, "delete")

	// A read after the update returned. Were it to join the load that saw
	// the old entry, it would wait for that load and time out.
	later, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := a.Get(later, "k", constLoad("new"))
	require.NoError(t, err, "the later read does not wait for the overlapping load")
	assert.Equal(t, "new", v, "the later read loads the new row")
	close(releaseRecheck)
	assert.Equal(t, "old", <-overlapping, "the overlapping read may see the old row")
}
