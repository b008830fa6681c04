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
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/internal/breaker"
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
	g, _ := newGuard(t, nil, 50*time.Millisecond)
	bg := context.Background()
	assert.LessOrEqual(t, testing.AllocsPerRun(1000, func() {
		cctx, tk, _ := g.Begin(bg)
		g.End(bg, tk, nil)
		_ = cctx
	}), 4.0, "a caller without a deadline costs context.WithTimeout's allocations")
	soon, cancel := context.WithTimeout(bg, time.Millisecond)
	defer cancel()
	assert.Zero(t, testing.AllocsPerRun(1000, func() {
		cctx, tk, _ := g.Begin(soon)
		g.End(soon, tk, nil)
		_ = cctx
	}), "a caller whose deadline is sooner costs none")
	cctx, call, _ := g.Begin(bg)
	defer g.End(bg, call, nil)
	d, ok := cctx.Deadline()
	require.True(t, ok, "the call's context has a deadline")
	assert.WithinDuration(t, time.Now().Add(50*time.Millisecond), d, 20*time.Millisecond, "now plus the timeout")
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
