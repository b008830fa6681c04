// Package telemetrytest gives tests an OpenTelemetry SDK that keeps what it
// records in memory: a meter provider read by a manual reader and a tracer
// provider exporting to an in-memory exporter, both synchronous, plus
// readers that flatten what was recorded into maps tests can compare.
package telemetrytest

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// SDK is an in-memory OpenTelemetry SDK for one test.
type SDK struct {
	Meters  *sdkmetric.MeterProvider
	Reader  *sdkmetric.ManualReader
	Tracers *sdktrace.TracerProvider
	Spans   *tracetest.InMemoryExporter
}

// New returns an SDK whose providers are shut down when t ends.
func New(t testing.TB) *SDK {
	t.Helper()
	s := &SDK{Reader: sdkmetric.NewManualReader(), Spans: tracetest.NewInMemoryExporter()}
	s.Meters = sdkmetric.NewMeterProvider(sdkmetric.WithReader(s.Reader))
	s.Tracers = sdktrace.NewTracerProvider(sdktrace.WithSyncer(s.Spans))
	t.Cleanup(func() {
		_ = s.Meters.Shutdown(context.Background())
		_ = s.Tracers.Shutdown(context.Background())
	})
	return s
}

// Collect returns every metric collected so far by name.
func (s *SDK) Collect(t testing.TB) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := s.Reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("telemetrytest: collect: %v", err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// Sums returns the value of every int64 sum data point, keyed by the metric
// name followed by its attributes in braces, sorted by key:
// `svckit.cache.requests{result=hit,svckit.cache.name=users}`.
func (s *SDK) Sums(t testing.TB) map[string]int64 {
	t.Helper()
	sums, _ := s.points(t)
	return sums
}

// WaitSum waits until the int64 sum under key (keyed as Sums keys it)
// reaches at least n, and fails the test when it has not within timeout:
// a synchronisation point on an event the code under test counts.
func (s *SDK) WaitSum(t testing.TB, key string, n int64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := s.Sums(t)[key]
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("telemetrytest: %s is %d after %v, want at least %d", key, got, timeout, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Histograms returns the count of every float64 histogram data point, keyed
// like Sums.
func (s *SDK) Histograms(t testing.TB) map[string]uint64 {
	t.Helper()
	_, counts := s.points(t)
	return counts
}

// points collects once and flattens the data points Sums and Histograms
// report, each keyed by its metric name and attributes.
func (s *SDK) points(t testing.TB) (sums map[string]int64, counts map[string]uint64) {
	t.Helper()
	sums, counts = map[string]int64{}, map[string]uint64{}
	for name, m := range s.Collect(t) {
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			for _, dp := range d.DataPoints {
				sums[name+Attrs(dp.Attributes)] = dp.Value
			}
		case metricdata.Histogram[float64]:
			for _, dp := range d.DataPoints {
				counts[name+Attrs(dp.Attributes)] = dp.Count
			}
		}
	}
	return sums, counts
}

// Attrs renders a set as {k=v,...} sorted by key; an empty set as "".
func Attrs(set attribute.Set) string {
	if set.Len() == 0 {
		return ""
	}
	kvs := make([]string, 0, set.Len())
	for _, kv := range set.ToSlice() {
		kvs = append(kvs, string(kv.Key)+"="+kv.Value.String())
	}
	sort.Strings(kvs)
	return "{" + strings.Join(kvs, ",") + "}"
}

// SpanAttrs returns the attributes of a span as a map from key to the
// emitted value.
func SpanAttrs(span tracetest.SpanStub) map[string]string {
	out := make(map[string]string, len(span.Attributes))
	for _, kv := range span.Attributes {
		out[string(kv.Key)] = kv.Value.String()
	}
	return out
}

// Parent starts a recording span for the tests of child spans and returns
// its context and a func ending it.
func (s *SDK) Parent(ctx context.Context) (context.Context, func()) {
	ctx, span := s.Tracers.Tracer("test").Start(ctx, "parent")
	return ctx, func() { span.End() }
}
