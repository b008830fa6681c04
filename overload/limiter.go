// Package overload keeps a service useful under more load than it can
// serve: an adaptive concurrency limit in front of the handlers admits what
// the service can finish quickly, queues a burst briefly, and answers the
// rest at once with 503 UNAVAILABLE and Retry-After, lowest priority first.
//
//	lim := overload.New(overload.Options{})
//	srv := &http.Server{Handler: lim.Handler(mux)}
//
// Place Handler early, before authentication, decoding and the database,
// so that a refused request costs microseconds. Requests are classed by
// Options.Classify (DefaultClass: /healthz, /readyz, /livez and CORS
// preflights are Critical and never shed; GET, HEAD and other OPTIONS are
// Read; other methods Write); each class may fill its share of the limit, and a freed slot
// goes to the highest class waiting. Acquire and Permit.Release are the
// same limit for work that is not HTTP.
//
// # The limit
//
// The limit follows the service's own latency, not a CPU reading that
// other processes on the machine also move. Every Options.Window the
// average time of the requests finished in it (their service time, the
// queue wait left out) is compared with a baseline, and the limit moves by
// the gradient of the two, as Netflix's concurrency-limits (Gradient2)
// does:
//
//	gradient = clamp(Tolerance × baseline / average, 0.5, 1)
//	limit    = 0.8 × limit + 0.2 × limit × gradient    (gradient < 1)
//	limit    = 0.8 × limit + 0.2 × (limit + √limit)    (gradient = 1)
//
// so it shrinks while requests take more than Tolerance times the
// baseline, grows while they do not, and stays put while fewer than half
// of its slots are used. Gradient2 takes its baseline from a long moving
// average, which climbs with the latency under a sustained overload; a
// minimum (TCP Vegas, or the lowest window) falls to an unrealistic low on
// a machine whose latency is noisy, and the limit collapses. Here the
// baseline is measured: every Options.ProbeInterval one window runs at
// limit ÷ Tolerance and its average becomes the baseline, as BBR
// re-measures its minimum round trip. At the limit's resting point, limit
// ÷ Tolerance is the knee of the throughput curve (the least concurrency
// that reaches full throughput), so the probe costs no throughput, the
// limit rests at Tolerance times the knee, and a dependency that became
// slower for good raises the baseline at the next probe instead of
// pinning the limit to its minimum.
//
// # The queue
//
// A request that finds the limit full waits for a slot, first in, first
// out, at most Options.QueueWait. The queue is bounded in requests, not in
// time: by default it holds twice the limit (at least DefaultMinQueue), so
// by Little's law its wait is about two service times whatever the
// service's speed. When it is full, a newcomer takes the place of the
// oldest waiter of its class or a lower one, which is refused (head drop,
// as in CoDel: the request that waited longest is the least useful to
// serve), or is refused itself when only higher classes wait. Under a
// sustained overload the refused requests are the excess, each told at
// once, and the served ones waited less than a service time; a closed
// loop of clients no larger than the queue (a load test's connections, a
// worker pool) is never refused, only queued. A fixed time target (CoDel's
// 5 ms; Facebook's "Fail at Scale" for servers) was tried first and
// dropped: it refused a closed loop of 20 clients on contended transfers
// whose service time was 20 ms, where queueing cost nothing.
package overload

import (
	"context"
	"errors"
	"math"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/internal/opt"
)

// Defaults of Options.
const (
	DefaultInitialLimit  = 20
	DefaultMinLimit      = 2
	DefaultMaxLimit      = 1000
	DefaultTolerance     = 2.0
	DefaultWindow        = 100 * time.Millisecond
	DefaultProbeInterval = time.Second
	DefaultQueueWait     = time.Second
	DefaultMinQueue      = 32
	DefaultRetryAfter    = time.Second
	DefaultWriteShare    = 1.0
	DefaultReadShare     = 0.9
	DefaultAdminShare    = 0.5
	// MaxLimit is the highest Options.MinLimit, MaxLimit and InitialLimit
	// can be; larger values mean MaxLimit.
	MaxLimit = 1 << 20
	// MaxTolerance is the highest Options.Tolerance can be.
	MaxTolerance = 100.0
)

// minSamples is how many finished requests a window needs before it moves
// the limit, so that one request is never a window's average.
const minSamples = 10

// smoothing is the weight of a window's estimate in the new limit.
const smoothing = 0.2

// ErrShed is the cause of the error Acquire returns for a refused request;
// match it with errors.Is. The error itself reports errkind.Unavailable
// with the limiter's Retry-After, so envelope renders it as 503 UNAVAILABLE
// with a Retry-After header.
var ErrShed = errors.New("overload: request shed")

// Options configure New. Every zero field means its documented default.
type Options struct {
	// Classify returns the class of a request for Handler. Nil means
	// DefaultClass.
	Classify func(*http.Request) Class
	// WriteShare, ReadShare and AdminShare are the fraction of the limit
	// that requests of the class may hold at once, so that lower classes
	// are refused first. Zero or negative means DefaultWriteShare (1),
	// DefaultReadShare (0.9) and DefaultAdminShare (0.5), and so does NaN;
	// above 1 means 1.
	WriteShare, ReadShare, AdminShare float64
	// InitialLimit is the limit before the first measurement. Zero means
	// DefaultInitialLimit; it is kept within MinLimit and MaxLimit.
	InitialLimit int
	// MinLimit is the lowest the limit goes. Zero means DefaultMinLimit.
	MinLimit int
	// MaxLimit is the highest the limit goes. Zero means DefaultMaxLimit;
	// below MinLimit means MinLimit. All three limits are at most the
	// constant MaxLimit.
	MaxLimit int
	// Tolerance is how many times the baseline a window's average may take
	// before the limit shrinks. Zero (or NaN) means DefaultTolerance;
	// below 1 means 1, above MaxTolerance means MaxTolerance.
	Tolerance float64
	// Window is how often the limit moves (with at least 10 requests
	// finished in the window). Zero means DefaultWindow.
	Window time.Duration
	// ProbeInterval is how often one window re-measures the baseline at
	// the limit divided by Tolerance. Zero means DefaultProbeInterval.
	ProbeInterval time.Duration
	// QueueSize is how many requests may wait for a slot. Zero means
	// twice the current limit, at least DefaultMinQueue; negative means no
	// queue: a request that finds the limit full is refused at once. At
	// most the constant MaxLimit.
	QueueSize int
	// QueueWait is the longest a request waits for a slot. Zero means
	// DefaultQueueWait.
	QueueWait time.Duration
	// RetryAfter is what a refused request is told to wait (Retry-After,
	// in whole seconds). Zero means DefaultRetryAfter.
	RetryAfter time.Duration
	// Now reads the clock. Nil means time.Now. Waiting in the queue uses
	// a real timer of QueueWait besides; a waiter whose deadline by Now
	// has passed is refused when a slot frees.
	Now func() time.Time
	// MeterProvider receives MetricLimit, MetricInFlight, MetricQueued and
	// MetricShed. Nil means otel's global provider.
	MeterProvider metric.MeterProvider
}

// Limiter is an adaptive concurrency limit with a short priority queue.
// Build it with New; the zero value is not usable. It is safe for
// concurrent use, starts no goroutine and needs no Close.
type Limiter struct {
	classify   func(*http.Request) Class
	share      [numClasses]float64
	minLimit   float64
	maxLimit   float64
	tolerance  float64
	window     time.Duration
	probeEvery time.Duration
	queueSize  int // 0: twice the limit; negative: no queue
	wait       time.Duration
	now        func() time.Time
	shed       *errkind.Error
	m          *metrics

	mu       sync.Mutex
	limit    float64
	inflight int
	queue    [numClasses]waitList
	queued   int

	winStart   time.Time
	winSum     time.Duration
	winN       int
	winBusiest int // the most requests in flight during the window
	baseline   time.Duration
	probing    bool // the current window measures the baseline
	lastProbe  time.Time

	queuedHook func() // tests: called when a request has joined the queue
}

// New returns a Limiter configured by opts.
func New(opts Options) *Limiter {
	minLimit := min(opt.PositiveOr(opts.MinLimit, DefaultMinLimit), MaxLimit)
	maxLimit := min(max(opt.PositiveOr(opts.MaxLimit, DefaultMaxLimit), minLimit), MaxLimit)
	l := &Limiter{
		classify:   opts.Classify,
		minLimit:   float64(minLimit),
		maxLimit:   float64(maxLimit),
		tolerance:  min(max(fraction(opts.Tolerance, DefaultTolerance), 1), MaxTolerance),
		window:     opt.PositiveOr(opts.Window, DefaultWindow),
		probeEvery: opt.PositiveOr(opts.ProbeInterval, DefaultProbeInterval),
		queueSize:  min(opts.QueueSize, MaxLimit),
		wait:       opt.PositiveOr(opts.QueueWait, DefaultQueueWait),
		now:        opts.Now,
		limit:      float64(min(max(opt.PositiveOr(opts.InitialLimit, DefaultInitialLimit), minLimit), maxLimit)),
	}
	if l.classify == nil {
		l.classify = DefaultClass
	}
	if l.now == nil {
		l.now = time.Now
	}
	l.share[Critical] = 1
	l.share[Write] = min(fraction(opts.WriteShare, DefaultWriteShare), 1)
	l.share[Read] = min(fraction(opts.ReadShare, DefaultReadShare), 1)
	l.share[Admin] = min(fraction(opts.AdminShare, DefaultAdminShare), 1)
	l.shed = &errkind.Error{Kind: errkind.Unavailable, Message: "the service is overloaded, retry shortly",
		Retry: opt.PositiveOr(opts.RetryAfter, DefaultRetryAfter), Err: ErrShed}
	now := l.now()
	l.winStart, l.lastProbe = now, now
	l.m = newMetrics(opts.MeterProvider, l)
	l.publish()
	return l
}

// fraction returns v, or def when v is zero, negative or NaN.
func fraction(v, def float64) float64 {
	if !(v > 0) {
		return def
	}
	return v
}

// Permit is a slot of the limit held by one request. Release it exactly
// once, when the request is done; the zero Permit (a Critical request's)
// holds nothing and its Release does nothing.
type Permit struct {
	l     *Limiter
	start time.Time
}

// Release returns the slot and reports the request's service time to the
// limit.
func (p Permit) Release() {
	if p.l != nil {
		p.l.release(p.start)
	}
}

// Acquire takes a slot for a request of class c, waiting in the queue when
// the limit is full (see the package doc). It returns an error that
// reports errkind.Unavailable and wraps ErrShed when the request is
// refused, or the context's error when ctx ends first. Critical requests
// are never refused and hold no slot. A class outside the constants is
// treated as Admin.
func (l *Limiter) Acquire(ctx context.Context, c Class) (Permit, error) {
	if c == Critical {
		return Permit{}, nil
	}
	if c >= numClasses {
		c = Admin
	}
	now := l.now()
	l.mu.Lock()
	if l.inflight < l.classLimit(c) && !l.waitingAtOrAbove(c) {
		l.admit()
		l.mu.Unlock()
		return Permit{l: l, start: now}, nil
	}
	if l.queued >= l.queueCap() && !l.dropOldest(c) {
		l.mu.Unlock()
		l.m.shed(ctx, c)
		return Permit{}, l.shed
	}
	w := &waiter{class: c, deadline: now.Add(l.wait), ready: make(chan bool, 1)}
	l.queue[c].pushBack(w)
	l.queued++
	l.publish()
	l.mu.Unlock()
	if l.queuedHook != nil {
		l.queuedHook()
	}

	t := time.NewTimer(l.wait)
	select {
	case ok := <-w.ready:
		t.Stop()
		return l.woken(ctx, c, ok)
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
	}
	l.mu.Lock()
	if w.list != nil { // still waiting: leave the queue
		w.list.remove(w)
		l.queued--
		l.publish()
		l.mu.Unlock()
		if err := ctx.Err(); err != nil {
			return Permit{}, err
		}
		l.m.shed(ctx, c)
		return Permit{}, l.shed
	}
	l.mu.Unlock()
	return l.woken(ctx, c, <-w.ready) // answered while the timer fired
}

// woken returns what a waiter was answered: a slot, or a refusal.
func (l *Limiter) woken(ctx context.Context, c Class, ok bool) (Permit, error) {
	if !ok {
		l.m.shed(ctx, c)
		return Permit{}, l.shed
	}
	return Permit{l: l, start: l.now()}, nil
}

// Handler returns next behind the limit: each request is classed by
// Options.Classify, and a refused one is answered with the envelope's 503
// UNAVAILABLE and Retry-After without reaching next.
func (l *Limiter) Handler(next http.Handler) http.Handler {
	return l.With(l.classify)(next)
}

// With returns Handler as a middleware that classes requests with classify
// instead of Options.Classify. One limit can so guard two places of a
// chain: requests without a body at its start, where a refusal costs
// least, and requests with a body once it has arrived, so that a client
// sending its body slowly holds no slot; each place passes the others'
// requests as Critical.
func (l *Limiter) With(classify func(*http.Request) Class) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return l.handler(classify, next)
	}
}

func (l *Limiter) handler(classify func(*http.Request) Class, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := l.Acquire(r.Context(), classify(r))
		if err != nil {
			writeError(w, r, err)
			return
		}
		defer p.Release()
		next.ServeHTTP(w, r)
	})
}

// Limit returns the current limit, rounded down.
func (l *Limiter) Limit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int(l.limit)
}

// classLimit is how many requests may be in flight when one of class c is
// admitted. Call with mu held.
func (l *Limiter) classLimit(c Class) int {
	limit := l.limit
	if l.probing {
		limit = max(limit/l.tolerance, l.minLimit)
	}
	return max(int(limit*l.share[c]), 1)
}

// waitingAtOrAbove reports whether a request of class c or a higher one is
// queued, which a newcomer of class c must not overtake. Call with mu held.
func (l *Limiter) waitingAtOrAbove(c Class) bool {
	for k := Write; k <= c; k++ {
		if l.queue[k].n > 0 {
			return true
		}
	}
	return false
}

// admit takes a slot. Call with mu held.
func (l *Limiter) admit() {
	l.inflight++
	l.winBusiest = max(l.winBusiest, l.inflight)
	l.publish()
}

// queueCap is how many requests may wait. Call with mu held.
func (l *Limiter) queueCap() int {
	if l.queueSize != 0 {
		return max(l.queueSize, 0)
	}
	return max(2*int(l.limit), DefaultMinQueue)
}

// dropOldest refuses the oldest waiter of the lowest class queued, if that
// class is c or lower, to make room for a newcomer of class c, and reports
// whether it did. Call with mu held.
func (l *Limiter) dropOldest(c Class) bool {
	for k := numClasses - 1; k >= c && k >= Write; k-- {
		if w := l.queue[k].head; w != nil {
			l.queue[k].remove(w)
			l.queued--
			w.ready <- false
			return true
		}
	}
	return false
}

func (l *Limiter) release(start time.Time) {
	now := l.now()
	l.mu.Lock()
	l.inflight--
	l.observe(now, start)
	l.dispatch(now)
	l.publish()
	l.mu.Unlock()
}

// dispatch hands free slots to waiters, highest class first; a waiter whose
// deadline has passed is refused instead. Call with mu held.
func (l *Limiter) dispatch(now time.Time) {
	for c := Write; c < numClasses; c++ {
		q := &l.queue[c]
		for q.n > 0 && l.inflight < l.classLimit(c) {
			w := q.head
			q.remove(w)
			l.queued--
			if now.After(w.deadline) {
				w.ready <- false
				continue
			}
			l.admit()
			w.ready <- true
		}
	}
}

// observe adds the service time of a request admitted at start and
// finished now to the window and, when the window is complete, moves the
// limit. A probe window counts only the requests admitted during it, at
// the probe's lower limit. Call with mu held.
func (l *Limiter) observe(now, start time.Time) {
	if l.probing && start.Before(l.winStart) {
		return
	}
	l.winSum += max(now.Sub(start), 0)
	l.winN++
	if l.winN < minSamples || now.Sub(l.winStart) < l.window {
		return
	}
	avg := max(l.winSum/time.Duration(l.winN), 1)
	switch {
	case l.probing:
		l.baseline, l.probing, l.lastProbe = avg, false, now
	case l.baseline == 0:
		l.baseline = avg // the first window, until the first probe
	default:
		if float64(l.winBusiest) >= l.limit/2 { // not limited by the arrivals
			gradient := min(max(l.tolerance*float64(l.baseline)/float64(avg), 0.5), 1)
			next := l.limit * gradient
			if gradient == 1 { // no queueing seen: probe upwards
				next += math.Sqrt(l.limit)
			}
			l.limit = min(max(l.limit*(1-smoothing)+next*smoothing, l.minLimit), l.maxLimit)
		}
		if now.Sub(l.lastProbe) >= l.probeEvery {
			l.probing = true
		}
	}
	l.winStart, l.winSum, l.winN, l.winBusiest = now, 0, 0, l.inflight
}
