package cache

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/svckit/svckit/internal/telemetry"
)

// Metric and attribute names an Aside reports through OpenTelemetry, on the
// meter and tracer "github.com/svckit/svckit/cache". Every measurement
// carries AttrName (Options.Name), so the series of a process are bounded by
// the caches its code declares; none carries a key.
const (
	// MetricRequests counts Get calls by AttrResult: "hit", "negative_hit"
	// or "miss". The hit ratio is hit / all. It is an observable counter
	// read from the counts Stats reports when the provider collects, so a
	// hit costs one atomic add whether or not a provider is installed.
	MetricRequests = "svckit.cache.requests"
	// MetricStaleServes counts hits served past Options.RefreshAfter, each
	// of which starts a background refresh, or leaves it to the one
	// running in this process or, on a Leaser store, in another (see
	// MetricRefreshes).
	MetricStaleServes = "svckit.cache.stale_serves"
	// MetricRefreshes counts the background refreshes of stale values
	// by AttrResult: "started", or "skipped" when another process held
	// the key's refresh lease or had refreshed or invalidated the key
	// already (Leaser stores; see Stats.RefreshSkips).
	MetricRefreshes = "svckit.cache.refreshes"
	// MetricLoads counts loader calls by AttrResult: "ok", "not_found" or
	// "error".
	MetricLoads = "svckit.cache.loads"
	// MetricStoreErrors counts failed store operations by AttrOperation:
	// "get", "set", "lease", "refresh" (a refresh lease), "release",
	// "delete" or "decode" (an entry the store could not decode).
	MetricStoreErrors = "svckit.cache.store.errors"
	// MetricFallbacks counts reads served from the loader because the
	// store failed.
	MetricFallbacks = "svckit.cache.fallbacks"
	// MetricFillsRejected counts loaded values not stored because the key
	// was invalidated while the load ran, or its lease lapsed (Stats.LostFills).
	MetricFillsRejected = "svckit.cache.fills.rejected"

	// SpanLoad is the span around a loader call, started under the
	// caller's recording span.
	SpanLoad = "svckit.cache.load"

	AttrName      = "svckit.cache.name" // Options.Name
	AttrResult    = "result"            // see MetricRequests and MetricLoads
	AttrOperation = "operation"         // see MetricStoreErrors
)

// defaultName is AttrName when Options.Name is empty.
const defaultName = "default"

// requestCounts are an Aside's Get outcomes. Stats reads them, and so
// does the callback of MetricRequests: they are apart from the Aside so
// that the callback, held by the meter provider, does not keep it alive.
type requestCounts struct {
	hits, misses, negHits atomic.Uint64
}

// asideMetrics are an Aside's instruments, each bound at construction to
// its attribute set.
type asideMetrics struct {
	requests                             metric.Registration // nil if the provider refused it
	stale                                telemetry.Add
	refreshStarted, refreshSkipped       telemetry.Add
	loadOK, loadNotFound, loadErr        telemetry.Add
	getErr, setErr, leaseErr, releaseErr telemetry.Add
	refreshErr                           telemetry.Add
	deleteErr, decodeErr                 telemetry.Add
	fallback, fenced                     telemetry.Add
	name                                 string // AttrName's value
	tracer                               trace.Tracer
	loadSpan                             []trace.SpanStartOption
}

func newAsideMetrics[K comparable](opts Options[K], counts *requestCounts) asideMetrics {
	name := opts.Name
	if name == "" {
		name = defaultName
	}
	m := telemetry.Meter(opts.MeterProvider, "cache")
	nameAttr := attribute.String(AttrName, name)
	loads := telemetry.Counter(m, MetricLoads, "{load}", "Loader calls by result.")
	refreshes := telemetry.Counter(m, MetricRefreshes, "{refresh}", "Background refreshes of stale values by result.")
	storeErrs := telemetry.Counter(m, MetricStoreErrors, "{error}", "Failed cache store operations by operation.")
	res := func(c metric.Int64Counter, v string) telemetry.Add {
		return telemetry.NewAdd(c, nameAttr, attribute.String(AttrResult, v))
	}
	op := func(v string) telemetry.Add {
		return telemetry.NewAdd(storeErrs, nameAttr, attribute.String(AttrOperation, v))
	}
	return asideMetrics{
		name:           name,
		requests:       observeRequests(m, nameAttr, counts),
		stale:          telemetry.NewAdd(telemetry.Counter(m, MetricStaleServes, "{request}", "Cache hits served stale while a refresh runs."), nameAttr),
		refreshStarted: res(refreshes, "started"),
		refreshSkipped: res(refreshes, "skipped"),
		loadOK:         res(loads, "ok"),
		loadNotFound:   res(loads, "not_found"),
		loadErr:        res(loads, "error"),
		getErr:         op("get"),
		setErr:         op("set"),
		leaseErr:       op("lease"),
		releaseErr:     op("release"),
		refreshErr:     op("refresh"),
		deleteErr:      op("delete"),
		decodeErr:      op("decode"),
		fallback:       telemetry.NewAdd(telemetry.Counter(m, MetricFallbacks, "{request}", "Reads served from the loader because the cache store failed."), nameAttr),
		fenced:         telemetry.NewAdd(telemetry.Counter(m, MetricFillsRejected, "{fill}", "Loaded values not stored because the key was invalidated during the load."), nameAttr),
		tracer:         telemetry.Tracer(opts.TracerProvider, "cache"),
		loadSpan:       []trace.SpanStartOption{trace.WithAttributes(nameAttr)},
	}
}

// observeRequests registers MetricRequests, read from counts.
func observeRequests(m metric.Meter, nameAttr attribute.KeyValue, counts *requestCounts) metric.Registration {
	requests, err := m.Int64ObservableCounter(MetricRequests, metric.WithUnit("{request}"), metric.WithDescription("Cache-aside reads by result."))
	if err != nil || requests == nil {
		return nil
	}
	set := func(v string) metric.ObserveOption {
		return metric.WithAttributeSet(attribute.NewSet(nameAttr, attribute.String(AttrResult, v)))
	}
	hit, negHit, miss := set("hit"), set("negative_hit"), set("miss")
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(requests, int64(counts.hits.Load()), hit)
		o.ObserveInt64(requests, int64(counts.negHits.Load()), negHit)
		o.ObserveInt64(requests, int64(counts.misses.Load()), miss)
		return nil
	}, requests)
	if err != nil {
		return nil
	}
	return reg
}

// storeError counts a failed store operation op and, for a read served from
// the loader instead, a fallback.
func (m *asideMetrics) storeError(ctx context.Context, op string, failFast bool) {
	switch op {
	case "get":
		m.getErr.Inc(ctx)
		if !failFast {
			m.fallback.Inc(ctx)
		}
	case "lease":
		m.leaseErr.Inc(ctx)
		if !failFast {
			m.fallback.Inc(ctx)
		}
	case "set":
		m.setErr.Inc(ctx)
	case "refresh":
		m.refreshErr.Inc(ctx)
	case "release":
		m.releaseErr.Inc(ctx)
	case "delete":
		m.deleteErr.Inc(ctx)
	case "decode":
		m.decodeErr.Inc(ctx)
	}
}

// startLoad starts the load span, when the caller's context is traced.
func (m *asideMetrics) startLoad(ctx context.Context) (context.Context, trace.Span) {
	return telemetry.Child(ctx, m.tracer, SpanLoad, m.loadSpan...)
}

// loaded counts a finished load and ends its span; notFound says err is
// a "not found" answer.
func (m *asideMetrics) loaded(ctx context.Context, span trace.Span, notFound bool, err error) {
	switch {
	case err == nil:
		m.loadOK.Inc(ctx)
	case notFound:
		m.loadNotFound.Inc(ctx)
		err = nil // an answer, not a failure
	default:
		m.loadErr.Inc(ctx)
	}
	telemetry.End(span, err)
}
