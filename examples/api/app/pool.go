package app

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/errkind"
)

// withApplicationName adds application_name=name to a postgres:// URL that
// has none. Anything that does not parse as a URL is returned as is.
func withApplicationName(dsn, name string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return dsn
	}
	q := u.Query()
	if q.Has("application_name") {
		return dsn
	}
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// Metrics of the database gate (poolGate), in the App's meter provider.
const (
	// MetricGateInUse is the number of requests holding a database slot.
	MetricGateInUse = "svckit.example.db_gate.in_use"
	// MetricGateLimit is the number of database slots (Pool.MaxOpen).
	MetricGateLimit = "svckit.example.db_gate.limit"
	// MetricGateWaiting is the number of requests waiting for a slot.
	MetricGateWaiting = "svckit.example.db_gate.waiting"
	// MetricGateRefused counts the requests answered 503 UNAVAILABLE
	// because no slot freed up within Pool.Wait.
	MetricGateRefused = "svckit.example.db_gate.refused"
)

// gateSaturatedFor is how long after a refusal readiness still reports
// the gate saturated: a load balancer polling every few seconds sees it.
const gateSaturatedFor = 10 * time.Second

// poolGate admits at most cap(slots) requests at a time to the routes that
// use the database, one per connection of the pool. database/sql has no
// bound on the wait for a connection (a request would wait in the pool
// until its deadline), so the wait is bounded here instead: a request that
// finds every slot taken waits at most wait, then answers 503 UNAVAILABLE
// with Retry-After. Requests that are admitted find a connection at once,
// and the database never sees more than the pool's connections. A request
// reaches the gate with its body read (readBody), so only its own work
// holds a slot, never a slow client.
//
// The gate reports itself: its slots in use, the requests waiting and
// those refused as metrics (MetricGateInUse, …), and saturated to the
// readiness check.
type poolGate struct {
	slots   chan struct{}
	wait    time.Duration
	busy    *errkind.Error // the answer past wait; never modified
	now     func() time.Time
	waiting atomic.Int64
	refused metric.Int64Counter
	// lastRefusal is the time of the last refusal in Unix nanoseconds,
	// 0 before the first.
	lastRefusal atomic.Int64
}

func newPoolGate(n int, wait time.Duration, mp metric.MeterProvider) (*poolGate, error) {
	busy := envelope.Unavailable("the service is busy, retry shortly")
	busy.Header = http.Header{"Retry-After": {"1"}}
	g := &poolGate{slots: make(chan struct{}, n), wait: wait, busy: busy, now: time.Now}
	m := mp.Meter("github.com/svckit/svckit/examples/api/app")
	var err error
	if g.refused, err = m.Int64Counter(MetricGateRefused, metric.WithUnit("{request}"),
		metric.WithDescription("Requests answered 503 for want of a database slot.")); err != nil {
		return nil, fmt.Errorf("app: gate metrics: %w", err)
	}
	inUse, err := m.Int64ObservableGauge(MetricGateInUse, metric.WithUnit("{request}"),
		metric.WithDescription("Requests holding a database slot."))
	if err != nil {
		return nil, fmt.Errorf("app: gate metrics: %w", err)
	}
	limit, err := m.Int64ObservableGauge(MetricGateLimit, metric.WithUnit("{request}"),
		metric.WithDescription("Database slots: requests served at once."))
	if err != nil {
		return nil, fmt.Errorf("app: gate metrics: %w", err)
	}
	waiting, err := m.Int64ObservableGauge(MetricGateWaiting, metric.WithUnit("{request}"),
		metric.WithDescription("Requests waiting for a database slot."))
	if err != nil {
		return nil, fmt.Errorf("app: gate metrics: %w", err)
	}
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(inUse, int64(len(g.slots)))
		o.ObserveInt64(limit, int64(cap(g.slots)))
		o.ObserveInt64(waiting, g.waiting.Load())
		return nil
	}, inUse, limit, waiting)
	if err != nil {
		return nil, fmt.Errorf("app: gate metrics: %w", err)
	}
	return g, nil
}

// saturated reports whether every slot is taken, a request is waiting for
// one, or one was refused within gateSaturatedFor.
func (g *poolGate) saturated() bool {
	if len(g.slots) == cap(g.slots) || g.waiting.Load() > 0 {
		return true
	}
	last := g.lastRefusal.Load()
	return last != 0 && g.now().Sub(time.Unix(0, last)) < gateSaturatedFor
}

// Handler returns next behind the gate.
func (g *poolGate) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case g.slots <- struct{}{}:
		default:
			g.waiting.Add(1)
			t := time.NewTimer(g.wait)
			select {
			case g.slots <- struct{}{}:
				g.waiting.Add(-1)
				t.Stop()
			case <-t.C:
				g.waiting.Add(-1)
				g.lastRefusal.Store(g.now().UnixNano())
				g.refused.Add(r.Context(), 1)
				_ = envelope.WriteError(w, r, g.busy)
				return
			case <-r.Context().Done():
				g.waiting.Add(-1)
				t.Stop()
				_ = envelope.WriteError(w, r, r.Context().Err())
				return
			}
		}
		defer func() { <-g.slots }()
		next.ServeHTTP(w, r)
	})
}
