package redisguard_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/internal/breaker"
	"github.com/svckit/svckit/internal/faultproxy"
	"github.com/svckit/svckit/internal/redisguard"
	"github.com/svckit/svckit/internal/testdb"
)

// replyErr is a server reply, as go-redis reports one.
type replyErr string

func (e replyErr) Error() string { return string(e) }
func (replyErr) RedisError()     {}

func TestIsFault(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"missing key", redis.Nil, false},
		{"wrapped missing key", fmt.Errorf("x: %w", redis.Nil), false},
		{"network", errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), true},
		{"closed client", redis.ErrClosed, true},
		{"breaker open", fmt.Errorf("store: %w", redisguard.ErrOpen), true},
		{"cluster down", replyErr("CLUSTERDOWN The cluster is down"), true},
		{"slot without a master", replyErr("CLUSTERDOWN Hash slot not served"), true},
		{"moved left over", replyErr("MOVED 3999 127.0.0.1:7001"), true},
		{"ask left over", replyErr("ASK 3999 127.0.0.1:7001"), true},
		{"try again", replyErr("TRYAGAIN Multiple keys request during rehashing of slot"), true},
		{"loading", replyErr("LOADING Redis is loading the dataset in memory"), true},
		{"read only replica", replyErr("READONLY You can't write against a read only replica."), true},
		{"busy script", replyErr("BUSY Redis is busy running a script."), true},
		{"wrong type is the command's fault", replyErr("WRONGTYPE Operation against a key holding the wrong kind of value"), false},
		{"script error is the command's fault", replyErr("ERR user_script:1: Script attempted to access nonexistent global variable"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, redisguard.IsFault(tc.err), "IsFault(%v)", tc.err)
		})
	}
}

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func newGuard(t *testing.T, client any, timeout time.Duration) (*redisguard.Guard, *logBuf) {
	t.Helper()
	buf := &logBuf{}
	g := redisguard.New(client, redisguard.Options{Name: "teststore", Timeout: timeout, Fallback: "testing",
		Breaker: breaker.Options{OpenFor: 200 * time.Millisecond},
		Logger:  slog.New(slog.NewTextHandler(buf, nil))})
	return g, buf
}

// get runs one guarded GET and returns how long it took and whether it was
// a fault.
func get(ctx context.Context, g *redisguard.Guard, c redis.UniversalClient) (time.Duration, bool, error) {
	start := time.Now()
	cctx, tk, err := g.Begin(ctx)
	if err != nil {
		return time.Since(start), true, err
	}
	err = c.Get(cctx, "svckit-guard-test").Err()
	return time.Since(start), g.End(ctx, tk, err), err
}

// TestHungRedis stops a redis-server of the test's own with SIGSTOP: every
// call ends at its deadline, the breaker opens after a few and then fails
// calls at once, one warning is logged, and after SIGCONT the breaker
// closes by itself with one notice.
func TestHungRedis(t *testing.T) {
	srv := testdb.StartRedis(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	defer c.Close()
	const timeout = 50 * time.Millisecond
	g, logs := newGuard(t, c, timeout)
	ctx := context.Background()
	_, fault, err := get(ctx, g, c)
	require.False(t, fault, "a healthy server: %v", err)

	srv.Stop(t)
	var slow []time.Duration
	for g.State() == breaker.Closed && len(slow) < 50 {
		d, fault, err := get(ctx, g, c)
		require.True(t, fault, "a hung server is a fault")
		require.Error(t, err)
		slow = append(slow, d)
	}
	require.Equal(t, breaker.Open, g.State(), "the breaker opens after a few timed-out calls")
	for _, d := range slow {
		assert.GreaterOrEqual(t, d, timeout*8/10, "a call to a hung server waits about its deadline")
		assert.Less(t, d, timeout+500*time.Millisecond, "and not much longer (generous bound for a loaded machine)")
	}
	var worst time.Duration
	for range 1000 {
		d, fault, err := get(ctx, g, c)
		require.True(t, fault)
		require.ErrorIs(t, err, redisguard.ErrOpen, "an open breaker refuses")
		worst = max(worst, d)
	}
	t.Logf("hung Redis, deadline %v: %d calls before the breaker opened, slowest %v; 1000 refused calls, slowest %v", timeout, len(slow), slices.Max(slow), worst)
	assert.Less(t, worst, 20*time.Millisecond, "a refused call costs microseconds (generous bound)")

	srv.Continue(t)
	require.Eventually(t, func() bool {
		_, fault, _ := get(ctx, g, c)
		return !fault && g.State() == breaker.Closed
	}, 5*time.Second, 10*time.Millisecond, "the breaker closes by itself once Redis answers")
	out := logs.String()
	assert.Equal(t, 1, strings.Count(out, "redis unavailable"), "one warning per outage:\n%s", out)
	assert.Equal(t, 1, strings.Count(out, "redis answers again"), "one notice when it ends:\n%s", out)
}

func TestClosedPortFailsFastAndOpens(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", testdb.FreePort(t)),
		ContextTimeoutEnabled: true, MaxRetries: -1})
	defer c.Close()
	g, _ := newGuard(t, c, 50*time.Millisecond)
	for range 5 {
		d, fault, _ := get(context.Background(), g, c)
		assert.True(t, fault, "connection refused is a fault")
		assert.Less(t, d, 50*time.Millisecond+300*time.Millisecond, "refused within the deadline, dial retries included (generous bound)")
	}
	assert.Equal(t, breaker.Open, g.State(), "five refusals open the breaker")
}

func TestCallerErrorsNeverOpen(t *testing.T) {
	c, prefix := testdb.Redis(t)
	ctx := context.Background()
	require.NoError(t, c.SAdd(ctx, prefix+"set", "x").Err())
	g, _ := newGuard(t, c, time.Second)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		name string
		run  func(ctx context.Context) error
		ctx  context.Context
	}{
		{"missing key", func(ctx context.Context) error { return c.Get(ctx, prefix+"missing").Err() }, ctx},
		{"wrong type", func(ctx context.Context) error { return c.Get(ctx, prefix+"set").Err() }, ctx},
		{"script error", func(ctx context.Context) error { return c.Eval(ctx, "return nosuch.call()", nil).Err() }, ctx},
		{"cancelled context", func(ctx context.Context) error { return c.Get(ctx, prefix+"k").Err() }, cancelled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 20 {
				cctx, tk, err := g.Begin(tc.ctx)
				require.NoError(t, err)
				assert.False(t, g.End(tc.ctx, tk, tc.run(cctx)), "not a Redis fault")
			}
			assert.Equal(t, breaker.Closed, g.State(), "the caller's errors never open the breaker")
		})
	}
}

func TestBeginAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts under -race are not the real ones")
	}
	g, _ := newGuard(t, nil, 50*time.Millisecond)
	bg := context.Background()
	request, cancelRequest := context.WithCancel(bg)
	defer cancelRequest()
	soon, cancel := context.WithTimeout(bg, time.Millisecond)
	defer cancel()
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		allocs float64
	}{
		{"caller that cannot be cancelled", bg, 0},
		{"cancellable caller without a deadline (a request)", request, 2}, // context.AfterFunc's
		{"caller whose deadline is sooner", soon, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.LessOrEqual(t, testing.AllocsPerRun(1000, func() {
				cctx, tk, _ := g.Begin(tc.ctx)
				g.End(tc.ctx, tk, nil)
				_ = cctx
			}), tc.allocs)
		})
	}
	t.Run("one key's master on a cluster", func(t *testing.T) {
		client, _ := testdb.RedisCluster(t)
		cg, _ := newGuard(t, client, 50*time.Millisecond)
		cctx, call, err := cg.BeginKey(bg, "k", time.Second) // the client learns the slots
		require.NoError(t, err, "BeginKey")
		cg.End(bg, call, client.Get(cctx, "k").Err())
		assert.LessOrEqual(t, testing.AllocsPerRun(1000, func() {
			_, call, _ := cg.BeginKey(bg, "k", 50*time.Millisecond)
			cg.End(bg, call, nil)
		}), 0.0, "finding the key's master allocates nothing")
	})
	cctx, call, _ := g.Begin(bg)
	defer g.End(bg, call, nil)
	d, ok := cctx.Deadline()
	require.True(t, ok, "the call's context has a deadline")
	assert.WithinDuration(t, time.Now().Add(50*time.Millisecond), d, 20*time.Millisecond, "now plus the timeout")
}

// TestCallContext checks the recycled context's Done and Err at its
// deadline, at the caller's cancellation, and across reuse.
func TestCallContext(t *testing.T) {
	g, _ := newGuard(t, nil, 30*time.Millisecond)
	for _, tc := range []struct {
		name    string
		cancel  bool // cancel the caller's context instead of waiting
		wantErr error
	}{
		{"deadline", false, context.DeadlineExceeded},
		{"caller cancels", true, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 3 { // reused contexts behave as new ones
				parent, cancel := context.WithCancel(context.Background())
				start := time.Now()
				cctx, call, err := g.Begin(parent)
				require.NoError(t, err)
				require.NoError(t, cctx.Err(), "a live call's context has no error")
				if tc.cancel {
					cancel()
				}
				select {
				case <-cctx.Done():
				case <-time.After(time.Second):
					t.Fatal("Done did not close")
				}
				if !tc.cancel {
					assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond*9/10, "not before the deadline")
				}
				require.ErrorIs(t, cctx.Err(), tc.wantErr)
				g.End(parent, call, cctx.Err())
				cancel()
				// A call that ended in time leaves a context that can be reused.
				_, call, _ = g.Begin(parent)
				g.End(parent, call, nil)
				cctx, call, _ = g.Begin(context.Background())
				assert.NoError(t, cctx.Err(), "a fresh call's context is live")
				g.End(context.Background(), call, nil)
			}
		})
	}
}

// TestBlackHoledRedis makes Redis stop answering behind a proxy that keeps
// the connections open (the socket read is what waits) and then refuse
// connections (the dial is what fails): each call ends at its deadline,
// whether the caller's context can be cancelled or not. The breaker is set
// never to open within the test, so every call reaches the dead server and
// every one is checked.
func TestBlackHoledRedis(t *testing.T) {
	url, err := redis.ParseURL(testdb.RedisURL(t))
	require.NoError(t, err)
	proxy, err := faultproxy.New(url.Addr)
	require.NoError(t, err)
	defer proxy.Close()
	c := redis.NewClient(&redis.Options{Addr: proxy.Addr(), ContextTimeoutEnabled: true, MaxRetries: -1,
		DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
	defer c.Close()
	const timeout = 50 * time.Millisecond
	const calls = 5
	g := redisguard.New(c, redisguard.Options{Name: "teststore", Timeout: timeout,
		Breaker: breaker.Options{MinFailures: 1000}}) // 4 × calls faults never open it
	request, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, fault := range []struct {
		name  string
		apply func()
	}{
		{"black hole", proxy.BlackHole},
		{"refused", proxy.Down},
	} {
		fault.apply()
		for _, caller := range []struct {
			name string
			ctx  context.Context
		}{{"background", context.Background()}, {"request", request}} {
			t.Run(fault.name+"/"+caller.name, func(t *testing.T) {
				for range calls {
					d, isFault, err := get(caller.ctx, g, c)
					require.NotErrorIs(t, err, redisguard.ErrOpen, "the breaker stays closed: the call reached the server")
					require.True(t, isFault, "a fault: %v", err)
					assert.Less(t, d, timeout+500*time.Millisecond, "the call ends near its deadline, not at the client's 5 s timeouts (generous bound for a loaded machine)")
				}
			})
		}
	}
}

// TestRecyclingUnderRace runs many goroutines whose calls end by success,
// by their deadline and by the caller's cancellation, so that contexts are
// recycled and dropped concurrently (run with -race).
func TestRecyclingUnderRace(t *testing.T) {
	g, _ := newGuard(t, nil, 2*time.Millisecond)
	const workers, calls = 16, 300
	var checked [3]atomic.Int64 // calls checked, by how they ended
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range calls {
				parent, cancel := context.Background(), context.CancelFunc(func() {})
				if (w+i)%2 == 0 {
					parent, cancel = context.WithCancel(context.Background())
				}
				// Every call ends with a nil error: the breaker never opens.
				cctx, call, err := g.Begin(parent)
				if err != nil {
					t.Errorf("Begin: %v", err)
					cancel()
					return
				}
				switch i % 3 {
				case 0: // ends in time
					if err := cctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("a call that ends in time: %v", err)
					}
				case 1: // the caller cancels
					cancel()
					if parent.Done() != nil {
						<-cctx.Done()
						if !errors.Is(cctx.Err(), context.Canceled) && !errors.Is(cctx.Err(), context.DeadlineExceeded) {
							t.Errorf("cancelled call's context: %v", cctx.Err())
						}
					}
				case 2: // the deadline passes
					<-cctx.Done()
					if cctx.Err() == nil {
						t.Error("Done closed with no error")
					}
				}
				checked[i%3].Add(1)
				g.End(parent, call, nil)
				cancel()
			}
		})
	}
	wg.Wait()
	for i, what := range []string{"ended in time", "cancelled by the caller", "ended at the deadline"} {
		assert.EqualValues(t, workers*calls/3, checked[i].Load(), "every call %s was checked", what)
	}
}

func TestWarnsAboutClientsWithoutContextTimeouts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client any
		warn   bool
	}{
		{"client without", redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), true},
		{"client with", redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true}), false},
		{"cluster without", redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}}), true},
		{"cluster with", redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}, ContextTimeoutEnabled: true}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer tc.client.(interface{ Close() error }).Close()
			_, logs := newGuard(t, tc.client, time.Second)
			assert.Equal(t, tc.warn, strings.Contains(logs.String(), "ContextTimeoutEnabled off"), "warning logged: %s", logs.String())
		})
	}
}

func BenchmarkBeginEnd(b *testing.B) {
	g := redisguard.New(nil, redisguard.Options{Timeout: 50 * time.Millisecond})
	for _, bc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"background", func() (context.Context, context.CancelFunc) { return context.Background(), func() {} }},
		{"no-caller-deadline", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
		{"sooner-caller-deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Millisecond)
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx, cancel := bc.ctx()
			defer cancel()
			b.ReportAllocs()
			for b.Loop() {
				_, call, _ := g.Begin(ctx)
				g.End(ctx, call, nil)
			}
		})
	}
}
