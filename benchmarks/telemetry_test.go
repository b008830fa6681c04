package benchmarks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	svcmw "github.com/svckit/svckit/middleware"
)

// BenchmarkTelemetry serves one routed request through svckit's Telemetry
// middleware with no provider configured (the global no-op), and with the
// SDK on (every span sampled, exported to a no-op exporter; metrics to a
// manual reader never read), next to otelhttp with the same SDK.
func BenchmarkTelemetry(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	prop := propagation.TraceContext{}
	cases := []struct {
		name string
		h    http.Handler
	}{
		{"svckit-no-provider", svcmw.Telemetry(mux)},
		{"svckit-sdk", svcmw.TelemetryWithOptions(svcmw.TelemetryOptions{TracerProvider: tp, MeterProvider: mp, Propagator: prop})(mux)},
		{"otelhttp-sdk", otelhttp.NewHandler(mux, "server", otelhttp.WithTracerProvider(tp), otelhttp.WithMeterProvider(mp), otelhttp.WithPropagators(prop))},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/users/42", nil)
			req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				c.h.ServeHTTP(w, req)
			}
		})
	}
}
