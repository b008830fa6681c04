package overload_test

import (
	"container/heap"
	"context"
	"math/rand/v2"

	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/overload"
)

// server models a service on a clock the test owns: up to knee requests run
// in their base time, more share the same capacity, so each takes
// base × inFlight ÷ knee (processor sharing). Its capacity is knee ÷ base
// requests a second, whatever the concurrency.
type server struct {
	base  time.Duration
	knee  int
	noise func() float64 // multiplies each service time; nil means 1
}

func (s server) serviceTime(inFlight int) time.Duration {
	d := s.base * time.Duration(max(inFlight, s.knee)) / time.Duration(s.knee)
	if s.noise != nil {
		d = time.Duration(float64(d) * s.noise())
	}
	return d
}

func (s server) capacity() float64 { return float64(s.knee) / s.base.Seconds() }

// phase is a stretch of open-loop load at a constant rate.
type phase struct {
	name   string
	load   float64       // arrivals per second, as a multiple of the capacity
	length time.Duration //
	server server        // the service during this phase
}

// phaseResult is what the requests that arrived in a phase got.
type phaseResult struct {
	served, shed int
	latencies    []time.Duration // of the served requests
	limitAtEnd   int
}

// goodput is the served requests a second, over the phase minus its first
// settle.
func (r phaseResult) p99() time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.latencies)
	slices.Sort(s)
	return s[len(s)*99/100]
}

type completion struct {
	at     time.Time
	permit overload.Permit
}

type completions []completion

func (c completions) Len() int           { return len(c) }
func (c completions) Less(i, j int) bool { return c[i].at.Before(c[j].at) }
func (c completions) Swap(i, j int)      { c[i], c[j] = c[j], c[i] }
func (c *completions) Push(x any)        { *c = append(*c, x.(completion)) }
func (c *completions) Pop() any {
	old := *c
	x := old[len(old)-1]
	*c = old[:len(old)-1]
	return x
}

// simulate drives a Limiter without a queue (QueueSize < 0) through the
// phases, one event at a time on a clock of its own: arrivals at constant
// spacing, completions when their service time is up. Requests that
// arrive in the first settle of a phase are left out of its figures.
func simulate(t *testing.T, opts overload.Options, phases []phase, settle time.Duration) []phaseResult {
	t.Helper()
	now := time.Unix(1_700_000_000, 0)
	opts.Now = func() time.Time { return now }
	opts.QueueSize = -1
	lim := overload.New(opts)
	ctx := context.Background()
	var pending completions
	inFlight := 0
	finish := func(until time.Time) {
		for len(pending) > 0 && !pending[0].at.After(until) {
			c := heap.Pop(&pending).(completion)
			now = c.at
			c.permit.Release()
			inFlight--
		}
	}
	var results []phaseResult
	for _, p := range phases {
		var r phaseResult
		gap := time.Duration(float64(time.Second) / (p.load * p.server.capacity()))
		start := now
		for at := start; at.Sub(start) < p.length; at = at.Add(gap) {
			finish(at)
			now = at
			counted := at.Sub(start) >= settle
			permit, err := lim.Acquire(ctx, overload.Read)
			if err != nil {
				require.ErrorIs(t, err, overload.ErrShed, "a refusal wraps ErrShed")
				if counted {
					r.shed++
				}
				continue
			}
			inFlight++
			d := p.server.serviceTime(inFlight)
			heap.Push(&pending, completion{at: at.Add(d), permit: permit})
			if counted {
				r.served++
				r.latencies = append(r.latencies, d)
			}
		}
		r.limitAtEnd = lim.Limit()
		results = append(results, r)
	}
	finish(now.Add(time.Hour))
	return results
}

// TestLimiter_shedsAndRecovers drives the limit past capacity and back, in
// open loop on a simulated clock: below capacity nothing is shed; at four
// times the capacity the excess is refused while the served requests keep
// the service at its capacity, in about twice their base time; when the
// load falls back, nothing is shed any more.
func TestLimiter_shedsAndRecovers(t *testing.T) {
	fast := server{base: 10 * time.Millisecond, knee: 8} // 800 requests a second
	rng := rand.New(rand.NewPCG(1, 2))
	noisy := server{base: fast.base, knee: fast.knee, noise: func() float64 { return 0.5 + rng.ExpFloat64()*0.5 }}
	slow := server{base: 20 * time.Millisecond, knee: 8} // the same service, its database twice as slow
	const settle = 3 * time.Second
	tests := []struct {
		name   string
		phases []phase
		check  func(t *testing.T, rs []phaseResult)
	}{
		{
			name: "overload and back",
			phases: []phase{
				{"half", 0.5, 20 * time.Second, fast},
				{"four times", 4, 30 * time.Second, fast},
				{"half again", 0.5, 20 * time.Second, fast},
			},
			check: func(t *testing.T, rs []phaseResult) {
				assert.Zero(t, rs[0].shed, "below capacity nothing is shed")
				over := rs[1]
				assert.Greater(t, over.shed, over.served, "at 4× most arrivals are refused")
				goodput := float64(over.served) / (30*time.Second - settle).Seconds()
				assert.GreaterOrEqual(t, goodput, 0.9*fast.capacity(), "the served requests keep the service at ≥ 90 %% of its capacity")
				assert.LessOrEqual(t, over.p99(), 3*fast.base, "served requests take at most 3× their base time (p99)")
				assert.Zero(t, rs[2].shed, "after the overload nothing is shed")
				assert.GreaterOrEqual(t, rs[2].limitAtEnd, fast.knee, "the limit stays above the knee")
			},
		},
		{
			// A machine shared with other work: each service time is
			// multiplied by 0.5 plus an exponential of mean 0.5 (mean 1,
			// one in twenty above 2).
			name: "noisy latency",
			phases: []phase{
				{"half", 0.5, 20 * time.Second, noisy},
				{"four times", 4, 30 * time.Second, noisy},
				{"half again", 0.5, 20 * time.Second, noisy},
			},
			check: func(t *testing.T, rs []phaseResult) {
				over := rs[1]
				goodput := float64(over.served) / (30*time.Second - settle).Seconds()
				assert.GreaterOrEqual(t, goodput, 0.9*fast.capacity(), "noise does not collapse the limit: ≥ 90 %% of capacity")
				assert.LessOrEqual(t, over.p99(), 3*rs[0].p99(), "served requests' p99 within 3× the p99 at half the capacity")
				assert.Zero(t, rs[2].shed, "after the overload nothing is shed")
			},
		},
		{
			name: "the service slows down for good under overload",
			phases: []phase{
				{"half", 0.5, 20 * time.Second, fast},
				{"four times", 4, 10 * time.Second, fast},
				{"four times, slow", 4, 30 * time.Second, slow},
				{"half of the slow capacity", 0.5, 20 * time.Second, slow},
			},
			check: func(t *testing.T, rs []phaseResult) {
				slowed := rs[2]
				goodput := float64(slowed.served) / (30*time.Second - settle).Seconds()
				assert.GreaterOrEqual(t, goodput, 0.9*slow.capacity(), "the limit does not collapse when the baseline rises")
				assert.LessOrEqual(t, slowed.p99(), 3*slow.base, "served requests take at most 3× the new base time")
				assert.Zero(t, rs[3].shed, "after the overload nothing is shed")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := simulate(t, overload.Options{}, tt.phases, settle)
			for i, r := range rs {
				t.Logf("%s: served %d, shed %d, p99 %v, limit at end %d", tt.phases[i].name, r.served, r.shed, r.p99(), r.limitAtEnd)
			}
			tt.check(t, rs)
		})
	}
}

// TestLimiter_appLimitedKeepsLimit: a load that never fills half the limit
// moves it neither up nor down, however slow or fast its requests.
func TestLimiter_appLimitedKeepsLimit(t *testing.T) {
	for _, base := range []time.Duration{time.Millisecond, time.Second} {
		rs := simulate(t, overload.Options{InitialLimit: 40}, []phase{{"light", 0.1, 20 * time.Second, server{base: base, knee: 100}}}, 0)
		assert.Equal(t, 40, rs[0].limitAtEnd, "base %v: the limit is unchanged", base)
		assert.Zero(t, rs[0].shed, "base %v: nothing shed", base)
	}
}
