package breaker

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTest(opts Options) (*Breaker, *clock, *[]string) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	var changes []string
	opts.Now = c.now
	opts.OnChange = func(from, to State) { changes = append(changes, from.String()+">"+to.String()) }
	return New(opts), c, &changes
}

func call(t *testing.T, b *Breaker, outcome string) {
	t.Helper()
	tk, err := b.Allow()
	require.NoError(t, err, "a call is allowed in state %s", b.State())
	switch outcome {
	case "ok":
		b.Success(tk)
	case "fail":
		b.Failure(tk)
	case "ignore":
		b.Ignore(tk)
	}
}

func TestOpensOnlyOnEnoughFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		calls []string
		want  State
	}{
		{"four failures stay closed", []string{"fail", "fail", "fail", "fail"}, Closed},
		{"five failures open", []string{"fail", "fail", "fail", "fail", "fail"}, Open},
		{"failures under the ratio stay closed", []string{"fail", "ok", "fail", "ok", "ok", "fail", "ok", "fail", "ok", "ok", "fail", "ok"}, Closed},
		{"failures at the ratio open", []string{"fail", "ok", "fail", "ok", "fail", "ok", "fail", "ok", "fail"}, Open},
		{"ignored calls never open", []string{"ignore", "ignore", "ignore", "ignore", "ignore", "ignore", "ignore"}, Closed},
		{"ignored calls do not dilute failures", []string{"fail", "ignore", "fail", "ignore", "fail", "ignore", "fail", "ignore", "fail"}, Open},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _, _ := newTest(Options{})
			for _, o := range tc.calls {
				call(t, b, o)
			}
			assert.Equal(t, tc.want, b.State(), "state after %v", tc.calls)
		})
	}
}

func TestFailuresOutsideTheWindowDoNotAddUp(t *testing.T) {
	b, c, _ := newTest(Options{Window: time.Second})
	for range 20 {
		call(t, b, "fail")
		call(t, b, "ok")
		c.advance(300 * time.Millisecond) // four failures per window at most
	}
	assert.Equal(t, Closed, b.State(), "a failure every 300 ms between successes is four per 1 s window, below the minimum of five")
}

func TestSlowFailuresInARowOpen(t *testing.T) {
	b, c, _ := newTest(Options{Window: time.Second})
	for range 4 {
		call(t, b, "fail")
		c.advance(400 * time.Millisecond) // each call ends at a 400 ms deadline
	}
	require.Equal(t, Closed, b.State(), "four failures in a row stay closed")
	call(t, b, "fail")
	assert.Equal(t, Open, b.State(), "the fifth failure in a row opens, though no window held five")
}

func TestOpenFailsFastThenProbesAndCloses(t *testing.T) {
	b, c, changes := newTest(Options{OpenFor: time.Second, Probes: 2})
	for range 5 {
		call(t, b, "fail")
	}
	require.Equal(t, Open, b.State(), "five failures open the breaker")
	for range 100 {
		_, err := b.Allow()
		require.ErrorIs(t, err, ErrOpen, "an open breaker refuses every call")
	}
	c.advance(time.Second)
	p1, err1 := b.Allow()
	p2, err2 := b.Allow()
	_, err3 := b.Allow()
	require.NoError(t, err1, "the first probe passes")
	require.NoError(t, err2, "the second probe passes")
	require.ErrorIs(t, err3, ErrOpen, "probes are bounded by Options.Probes")
	assert.Equal(t, HalfOpen, b.State(), "probing")

	b.Ignore(p1)
	p3, err := b.Allow()
	require.NoError(t, err, "an ignored probe frees its slot")
	b.Failure(p2)
	assert.Equal(t, Open, b.State(), "a failed probe opens the breaker again")
	b.Success(p3)
	assert.Equal(t, Open, b.State(), "a probe from the earlier half-open state changes nothing")

	c.advance(time.Second)
	p, err := b.Allow()
	require.NoError(t, err, "probing again after OpenFor")
	b.Success(p)
	assert.Equal(t, Closed, b.State(), "a successful probe closes the breaker")
	assert.Equal(t, []string{"closed>open", "open>half-open", "half-open>open", "open>half-open", "half-open>closed"}, *changes,
		"every change is reported once, in order")

	for range 4 {
		call(t, b, "fail")
	}
	assert.Equal(t, Closed, b.State(), "closing starts a fresh count")
}

func TestStaleResultsAreIgnored(t *testing.T) {
	b, c, _ := newTest(Options{})
	slow, err := b.Allow()
	require.NoError(t, err)
	for range 5 {
		call(t, b, "fail")
	}
	require.Equal(t, Open, b.State())
	b.Success(slow)
	assert.Equal(t, Open, b.State(), "a call allowed before the breaker opened cannot close it")
	c.advance(time.Second)
	p, err := b.Allow()
	require.NoError(t, err)
	b.Success(p)
	require.Equal(t, Closed, b.State())
	old, err := b.Allow()
	require.NoError(t, err)
	for range 5 {
		call(t, b, "fail")
	}
	c.advance(time.Second)
	probe, err := b.Allow()
	require.NoError(t, err)
	b.Failure(old)
	assert.Equal(t, HalfOpen, b.State(), "a failure of an old generation does not reopen a probing breaker")
	b.Success(probe)
	assert.Equal(t, Closed, b.State())
}

func TestConcurrentUse(t *testing.T) {
	b := New(Options{OpenFor: time.Millisecond})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 5000 {
				tk, err := b.Allow()
				if err != nil {
					continue
				}
				switch (i + w) % 3 {
				case 0:
					b.Failure(tk)
				case 1:
					b.Success(tk)
				default:
					b.Ignore(tk)
				}
			}
		})
	}
	wg.Wait()
	assert.Contains(t, []State{Closed, Open, HalfOpen}, b.State(), "a valid state after concurrent use")
}

func TestClosedPathAllocatesNothing(t *testing.T) {
	b := New(Options{})
	allocs := testing.AllocsPerRun(1000, func() {
		tk, _ := b.Allow()
		b.Success(tk)
	})
	assert.Zero(t, allocs, "a call through a closed breaker allocates nothing")
}

func BenchmarkClosed(b *testing.B) {
	br := New(Options{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tk, _ := br.Allow()
			br.Success(tk)
		}
	})
}
