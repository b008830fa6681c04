package dedupe_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/svckit/svckit/dedupe"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// contexts the tests run each case with: one that can never end (fn runs on
// the caller's goroutine) and one that can (fn runs on its own goroutine).
func contexts(t *testing.T) []struct {
	name string
	ctx  context.Context
} {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return []struct {
		name string
		ctx  context.Context
	}{{"background", context.Background()}, {"cancellable", ctx}}
}

func TestDoReturnsResult(t *testing.T) {
	errBoom := errors.New("boom")
	for _, c := range contexts(t) {
		t.Run(c.name, func(t *testing.T) {
			var g dedupe.Group[string, int]
			v, shared, err := g.Do(c.ctx, "k", func(context.Context) (int, error) { return 7, nil })
			require.NoError(t, err, "fn succeeded")
			assert.Equal(t, 7, v, "value of fn")
			assert.False(t, shared, "one caller does not share")

			_, _, err = g.Do(c.ctx, "k", func(context.Context) (int, error) { return 0, errBoom })
			assert.ErrorIs(t, err, errBoom, "error of fn is returned")
		})
	}
}

func TestDoCarriesValuesNotCancellation(t *testing.T) {
	type key struct{}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	defer cancel()
	var g dedupe.Group[string, string]
	got, _, err := g.Do(ctx, "k", func(ctx context.Context) (string, error) {
		cancel() // the caller's cancellation must not reach fn
		<-ctxDoneOrNil(ctx)
		return ctx.Value(key{}).(string), ctx.Err()
	})
	// The caller may see its own cancellation or the result; never a
	// cancelled work context.
	if err != nil {
		assert.ErrorIs(t, err, context.Canceled, "the caller's ctx ended")
		return
	}
	assert.Equal(t, "v", got, "values travel to fn")
}

// ctxDoneOrNil returns a channel that is closed only when ctx is cancelled,
// or an already closed channel when it is not (so the test never blocks).
func ctxDoneOrNil(ctx context.Context) <-chan struct{} {
	if ctx.Err() != nil {
		return ctx.Done()
	}
	ch := make(chan struct{})
	close(ch)
	return ch
}

func TestDoManyCallersOneExecution(t *testing.T) {
	for _, c := range contexts(t) {
		t.Run(c.name, func(t *testing.T) {
			const n = 1000
			var g dedupe.Group[string, int]
			var calls atomic.Int32
			release := make(chan struct{})
			started := make(chan struct{})
			var wg sync.WaitGroup
			results := make([]int, n)
			shared := make([]bool, n)
			// The first caller starts the work and holds it open.
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[0], shared[0], _ = g.Do(c.ctx, "k", func(context.Context) (int, error) {
					calls.Add(1)
					close(started)
					<-release
					return 42, nil
				})
			}()
			<-started
			var joined sync.WaitGroup
			for i := 1; i < n; i++ {
				wg.Add(1)
				joined.Add(1)
				go func() {
					defer wg.Done()
					joined.Done()
					results[i], shared[i], _ = g.Do(c.ctx, "k", func(context.Context) (int, error) {
						calls.Add(1)
						return -1, nil
					})
				}()
			}
			joined.Wait()
			awaitWaiters(&g, "k", n)
			close(release)
			wg.Wait()
			assert.Equal(t, int32(1), calls.Load(), "fn ran exactly once")
			for i := range n {
				require.Equal(t, 42, results[i], "caller %d got the one result", i)
				require.True(t, shared[i], "caller %d sees a shared result", i)
			}
		})
	}
}

// awaitWaiters yields until n callers wait on key's call in flight.
func awaitWaiters[V any](g *dedupe.Group[string, V], key string, n int) {
	for dedupe.Waiters(g, key) < n {
		runtime.Gosched()
	}
}

func TestDoOneCallerCancelsOthersWait(t *testing.T) {
	var g dedupe.Group[string, int]
	release := make(chan struct{})
	started := make(chan struct{})
	workCtx := make(chan context.Context, 1)
	ctx1, cancel1 := context.WithCancel(context.Background())
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()

	first := make(chan error, 1)
	go func() {
		_, _, err := g.Do(ctx1, "k", func(ctx context.Context) (int, error) {
			workCtx <- ctx
			close(started)
			<-release
			return 1, nil
		})
		first <- err
	}()
	<-started
	second := g.DoChan(ctx2, "k", func(context.Context) (int, error) { return -1, nil })
	awaitWaiters(&g, "k", 2)
	cancel1()
	assert.ErrorIs(t, <-first, context.Canceled, "the cancelled caller gets its ctx.Err()")
	wctx := <-workCtx
	assert.NoError(t, wctx.Err(), "the work goes on while a caller waits")
	close(release)
	res := <-second
	require.NoError(t, res.Err, "the remaining caller gets the result")
	assert.Equal(t, 1, res.Val, "the remaining caller gets the first execution's value")
}

func TestDoAllCallersLeaveCancelsWork(t *testing.T) {
	const n = 50
	var g dedupe.Group[string, int]
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	workDone := make(chan error, 1)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _, err := g.Do(ctx, "k", func(ctx context.Context) (int, error) {
			close(started)
			<-ctx.Done()
			workDone <- ctx.Err()
			return 99, nil // abandoned: nobody may see it
		})
		errs <- err
	}()
	<-started
	for range n - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := g.Do(ctx, "k", func(context.Context) (int, error) { return -1, nil })
			errs <- err
		}()
	}
	awaitWaiters(&g, "k", n)
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.ErrorIs(t, err, context.Canceled, "every caller gets its own ctx.Err()")
	}
	assert.ErrorIs(t, <-workDone, context.Canceled, "work is cancelled once every caller left")

	// A caller arriving now starts fresh work.
	v, shared, err := g.Do(context.Background(), "k", func(context.Context) (int, error) { return 5, nil })
	require.NoError(t, err, "fresh call succeeds")
	assert.Equal(t, 5, v, "the fresh call never sees the abandoned result")
	assert.False(t, shared, "the fresh call is alone")
}

func TestDoLateCallerNeverSeesAbandonedResult(t *testing.T) {
	var g dedupe.Group[string, int]
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	release := make(chan struct{})
	finished := make(chan struct{})
	left := make(chan error, 1)
	go func() {
		_, _, err := g.Do(ctx, "k", func(context.Context) (int, error) {
			defer close(finished)
			close(started)
			<-release // ignores cancellation on purpose
			return 99, nil
		})
		left <- err
	}()
	<-started
	cancel()
	require.ErrorIs(t, <-left, context.Canceled, "the only caller left")

	// The abandoned work is still running; a new caller must not join it.
	freshStarted := make(chan struct{})
	res := g.DoChan(context.Background(), "k", func(context.Context) (int, error) {
		close(freshStarted)
		return 5, nil
	})
	<-freshStarted
	close(release)
	<-finished
	r := <-res
	require.NoError(t, r.Err, "fresh call succeeds")
	assert.Equal(t, 5, r.Val, "the late caller gets its own execution's value")
}

func TestDoPanicReachesEveryWaiter(t *testing.T) {
	for _, c := range contexts(t) {
		t.Run(c.name, func(t *testing.T) {
			const n = 100
			var g dedupe.Group[string, int]
			started := make(chan struct{})
			release := make(chan struct{})
			panics := make(chan any, n)
			var wg sync.WaitGroup
			do := func(fn func(context.Context) (int, error)) {
				defer wg.Done()
				defer func() { panics <- recover() }()
				_, _, _ = g.Do(c.ctx, "k", fn)
			}
			wg.Add(1)
			go do(func(context.Context) (int, error) {
				close(started)
				<-release
				panic("kaboom")
			})
			<-started
			for range n - 1 {
				wg.Add(1)
				go do(func(context.Context) (int, error) { return 0, nil })
			}
			awaitWaiters(&g, "k", n)
			close(release)
			wg.Wait()
			close(panics)
			got := 0
			for p := range panics {
				got++
				pe, ok := p.(*dedupe.PanicError)
				require.True(t, ok, "panic value is a *PanicError, got %T", p)
				assert.Equal(t, "kaboom", pe.Value, "original panic value kept")
				assert.Contains(t, string(pe.Stack), "dedupe_test.go", "stack points at the panicking function")
				assert.Contains(t, pe.Error(), "kaboom", "error text names the panic")
			}
			assert.Equal(t, n, got, "every waiter saw the panic")
		})
	}
}

func TestDoPanicWithErrorUnwraps(t *testing.T) {
	errBoom := errors.New("boom")
	var g dedupe.Group[string, int]
	res := <-g.DoChan(context.Background(), "k", func(context.Context) (int, error) { panic(errBoom) })
	var pe *dedupe.PanicError
	require.ErrorAs(t, res.Err, &pe, "DoChan delivers the panic as an error")
	assert.ErrorIs(t, res.Err, errBoom, "the panic's error is reachable with errors.Is")
}

func TestDoGoexitNeverHangs(t *testing.T) {
	for _, c := range contexts(t) {
		t.Run(c.name, func(t *testing.T) {
			var g dedupe.Group[string, int]
			started := make(chan struct{})
			release := make(chan struct{})
			firstExited := make(chan struct{})
			go func() {
				defer close(firstExited)
				_, _, _ = g.Do(c.ctx, "k", func(context.Context) (int, error) {
					close(started)
					<-release
					runtime.Goexit()
					return 0, nil
				})
			}()
			<-started
			res := g.DoChan(c.ctx, "k", func(context.Context) (int, error) { return 1, nil })
			awaitWaiters(&g, "k", 2)
			close(release)
			<-firstExited
			r := <-res
			assert.ErrorIs(t, r.Err, dedupe.ErrGoexit, "a waiter gets ErrGoexit")
			// The key is free again.
			v, _, err := g.Do(c.ctx, "k", func(context.Context) (int, error) { return 3, nil })
			require.NoError(t, err, "the key works after Goexit")
			assert.Equal(t, 3, v, "fresh value after Goexit")
		})
	}
}

func TestForgetStartsNewExecution(t *testing.T) {
	var g dedupe.Group[string, int]
	started := make(chan struct{})
	release := make(chan struct{})
	first := g.DoChan(context.Background(), "k", func(context.Context) (int, error) {
		close(started)
		<-release
		return 1, nil
	})
	<-started
	g.Forget("k")
	v, shared, err := g.Do(context.Background(), "k", func(context.Context) (int, error) { return 2, nil })
	require.NoError(t, err, "call after Forget succeeds")
	assert.Equal(t, 2, v, "call after Forget runs its own fn")
	assert.False(t, shared, "call after Forget is alone")
	close(release)
	r := <-first
	assert.Equal(t, 1, r.Val, "the forgotten call still delivers to its caller")

	g.Forget("absent") // no-op on an unknown key and on a zero Group
	var zero dedupe.Group[int, int]
	zero.Forget(1)
}

func TestDistinctKeysRunIndependently(t *testing.T) {
	var g dedupe.Group[int, int]
	const n = 64
	var wg sync.WaitGroup
	var calls atomic.Int32
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, _, err := g.Do(context.Background(), i, func(context.Context) (int, error) {
				calls.Add(1)
				return i * 2, nil
			})
			assert.NoError(t, err, "key %d", i)
			assert.Equal(t, i*2, v, "key %d gets its own value", i)
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(n), calls.Load(), "one execution per key")
}

func TestDoChanCancelledCaller(t *testing.T) {
	var g dedupe.Group[string, int]
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	res := g.DoChan(ctx, "k", func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done()
		return 0, ctx.Err()
	})
	<-started
	cancel()
	r := <-res
	assert.ErrorIs(t, r.Err, context.Canceled, "DoChan reports the caller's cancellation")
}

// TestDoChanJoinsBeforeReturning checks the rule of singleflight's DoChan:
// when DoChan returns, its call exists, so whatever comes next for the key
// (Do, DoChan, Forget) sees it. Each case runs many rounds because the old
// code registered the call from a goroutine and lost the race most of the
// time, not always.
func TestDoChanJoinsBeforeReturning(t *testing.T) {
	ctxs := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"background", func() (context.Context, context.CancelFunc) { return context.Background(), func() {} }},
		{"cancellable", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
	}
	tests := []struct {
		name string
		// then runs right after the first DoChan returned, while its fn is
		// blocked; it reports what it saw.
		then func(t *testing.T, ctx context.Context, g *dedupe.Group[string, int], release chan struct{}) (secondRan bool, firstShared, secondShared bool)
		// wantSecondRan: the follow-up ran its own fn.
		wantSecondRan bool
		wantShared    bool
	}{
		{"Do joins", func(t *testing.T, ctx context.Context, g *dedupe.Group[string, int], release chan struct{}) (bool, bool, bool) {
			ran := false
			done := make(chan dedupe.Result[int], 1)
			go func() {
				v, shared, err := g.Do(ctx, "k", func(context.Context) (int, error) { ran = true; return 2, nil })
				done <- dedupe.Result[int]{Val: v, Err: err, Shared: shared}
			}()
			// Wait until Do has joined, or has returned on its own.
			for dedupe.Waiters(g, "k") < 2 && len(done) == 0 {
				runtime.Gosched()
			}
			close(release)
			r := <-done
			require.NoError(t, r.Err, "Do")
			assert.Equal(t, 1, r.Val, "Do gets the first call's value")
			return ran, false, r.Shared
		}, false, true},
		{"DoChan joins", func(t *testing.T, ctx context.Context, g *dedupe.Group[string, int], release chan struct{}) (bool, bool, bool) {
			ran := false
			ch := g.DoChan(ctx, "k", func(context.Context) (int, error) { ran = true; return 2, nil })
			assert.Equal(t, 2, dedupe.Waiters(g, "k"), "the second DoChan has joined when it returns")
			close(release)
			r := <-ch
			assert.Equal(t, 1, r.Val, "the second DoChan gets the first call's value")
			return ran, false, r.Shared
		}, false, true},
		{"Forget forgets it", func(t *testing.T, ctx context.Context, g *dedupe.Group[string, int], release chan struct{}) (bool, bool, bool) {
			g.Forget("k")
			ran := false
			v, shared, err := g.Do(ctx, "k", func(context.Context) (int, error) { ran = true; return 2, nil })
			require.NoError(t, err, "Do after Forget")
			assert.Equal(t, 2, v, "Do after Forget runs its own fn")
			close(release)
			return ran, false, shared
		}, true, false},
	}
	for _, c := range ctxs {
		for _, tt := range tests {
			t.Run(c.name+"/"+tt.name, func(t *testing.T) {
				for range 200 {
					ctx, cancel := c.ctx()
					var g dedupe.Group[string, int]
					release := make(chan struct{})
					first := g.DoChan(ctx, "k", func(context.Context) (int, error) {
						<-release
						return 1, nil
					})
					secondRan, _, secondShared := tt.then(t, ctx, &g, release)
					r := <-first
					cancel()
					require.NoError(t, r.Err, "first DoChan")
					require.Equal(t, 1, r.Val, "first DoChan runs its own fn")
					require.Equal(t, tt.wantSecondRan, secondRan, "whether the follow-up ran its own fn")
					require.Equal(t, tt.wantShared, secondShared, "Shared of the follow-up")
					require.Equal(t, tt.wantShared, r.Shared, "Shared of the first DoChan")
				}
			})
		}
	}
}

// TestDoChanRunsOffTheCallersGoroutine checks that DoChan never runs fn on
// the calling goroutine, even for a context that cannot end, so DoChan
// returns at once.
func TestDoChanRunsOffTheCallersGoroutine(t *testing.T) {
	var g dedupe.Group[string, int]
	release := make(chan struct{})
	ch := g.DoChan(context.Background(), "k", func(context.Context) (int, error) { <-release; return 7, nil })
	close(release) // reached only if DoChan returned while fn blocks
	assert.Equal(t, 7, (<-ch).Val, "value")
}
