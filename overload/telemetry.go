package overload

import (
	"context"
	"runtime"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/svckit/svckit/internal/telemetry"
)

// Metrics of a Limiter, on the meter "github.com/svckit/svckit/overload".
const (
	// MetricLimit is the current concurrency limit (a gauge).
	MetricLimit = "svckit.overload.limit"
	// MetricInFlight is the requests holding a slot (a gauge).
	MetricInFlight = "svckit.overload.inflight"
	// MetricQueued is the requests waiting for a slot (a gauge).
	MetricQueued = "svckit.overload.queued"
	// MetricShed counts the requests refused with ErrShed, by AttrClass.
	MetricShed = "svckit.overload.shed"
	// AttrClass is the class of a shed request: "write", "read" or
	// "admin" (Class.String).
	AttrClass = "svckit.overload.class"
)

// gauges are the limiter's state as the metric callback reads it, apart
// from the limiter so that the callback does not keep it reachable.
type gauges struct {
	limit, inflight, queued atomic.Int64
}

// metrics are the instruments of one Limiter.
type metrics struct {
	g      *gauges
	shedBy [numClasses]telemetry.Add
}

func newMetrics(mp metric.MeterProvider, l *Limiter) *metrics {
	m := telemetry.Meter(mp, "overload")
	ms := &metrics{g: new(gauges)}
	shed := telemetry.Counter(m, MetricShed, "{request}", "Requests refused by the overload limit, by class.")
	for c := Write; c < numClasses; c++ {
		ms.shedBy[c] = telemetry.NewAdd(shed, attribute.String(AttrClass, c.String()))
	}
	if reg := observeGauges(m, ms.g); reg != nil {
		// The provider holds the callback until it is unregistered:
		// unregister it once the Limiter is unreachable.
		runtime.AddCleanup(l, func(r metric.Registration) { _ = r.Unregister() }, reg)
	}
	return ms
}

// observeGauges registers MetricLimit, MetricInFlight and MetricQueued,
// read from g.
func observeGauges(m metric.Meter, g *gauges) metric.Registration {
	limit, err1 := m.Int64ObservableGauge(MetricLimit, metric.WithUnit("{request}"), metric.WithDescription("The adaptive concurrency limit."))
	inflight, err2 := m.Int64ObservableGauge(MetricInFlight, metric.WithUnit("{request}"), metric.WithDescription("Requests holding a slot of the limit."))
	queued, err3 := m.Int64ObservableGauge(MetricQueued, metric.WithUnit("{request}"), metric.WithDescription("Requests waiting for a slot."))
	if err1 != nil || err2 != nil || err3 != nil || limit == nil || inflight == nil || queued == nil {
		return nil
	}
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(limit, g.limit.Load())
		o.ObserveInt64(inflight, g.inflight.Load())
		o.ObserveInt64(queued, g.queued.Load())
		return nil
	}, limit, inflight, queued)
	if err != nil {
		return nil
	}
	return reg
}

// shed counts a refused request of class c.
func (m *metrics) shed(ctx context.Context, c Class) { m.shedBy[c].Inc(ctx) }

// publish copies the limiter's state to its gauges. Call with mu held.
func (l *Limiter) publish() {
	l.m.g.limit.Store(int64(l.limit))
	l.m.g.inflight.Store(int64(l.inflight))
	l.m.g.queued.Store(int64(l.queued))
}
