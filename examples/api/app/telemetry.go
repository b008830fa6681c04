package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/svckit/svckit/middleware"
)

// telemetry is the service's OpenTelemetry SDK: a meter provider read by
// the Prometheus exporter that GET /metrics serves, and, when the OTLP
// environment variables ask for it, a tracer provider exporting spans over
// OTLP/HTTP. Each App has its own (the tests run several in one process);
// SetGlobalTelemetry makes them the process's.
type telemetry struct {
	meters     *sdkmetric.MeterProvider
	tracers    trace.TracerProvider
	sdkTracers *sdktrace.TracerProvider // nil: traces are not exported
	propagator propagation.TextMapPropagator
	metrics    http.Handler
}

// tracesWanted reports whether the standard OTEL_* variables of getenv
// switch trace export on: an OTLP endpoint is set (for all signals or for
// traces), and neither OTEL_SDK_DISABLED nor OTEL_TRACES_EXPORTER=none
// switch it off.
func tracesWanted(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") || getenv("OTEL_TRACES_EXPORTER") == "none" {
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// newTelemetry builds the providers. The OTLP exporter (built in with
// -tags otlp, see newSpanExporter) reads the rest of its configuration
// (headers, timeout, TLS, OTEL_TRACES_SAMPLER for the provider) from the
// process environment itself; it speaks OTLP over HTTP/protobuf, the
// default port 4318.
func newTelemetry(ctx context.Context, getenv func(string) string) (*telemetry, error) {
	res, err := resource.Merge(resource.Default(),
		resource.NewSchemaless(attribute.String("service.name", ServiceName)))
	if err != nil {
		return nil, fmt.Errorf("app: telemetry resource: %w", err)
	}
	if env, err := resource.New(ctx, resource.WithFromEnv()); err == nil {
		res, _ = resource.Merge(res, env) // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
	}
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("app: prometheus exporter: %w", err)
	}
	t := &telemetry{
		meters:     sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithResource(res)),
		tracers:    noop.NewTracerProvider(),
		propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		metrics:    promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
	}
	if tracesWanted(getenv) {
		spans, err := newSpanExporter(ctx)
		if err != nil {
			_ = t.meters.Shutdown(ctx)
			return nil, fmt.Errorf("app: OTLP trace exporter: %w", err)
		}
		t.sdkTracers = sdktrace.NewTracerProvider(sdktrace.WithBatcher(spans), sdktrace.WithResource(res))
		t.tracers = t.sdkTracers
	}
	return t, nil
}

// initTelemetry makes the App's telemetry and joins its log records to
// traces. New calls it first.
func (a *App) initTelemetry(ctx context.Context) error {
	t, err := newTelemetry(ctx, os.Getenv)
	if err != nil {
		return err
	}
	a.tel = t
	a.logger = slog.New(middleware.NewTraceLogHandler(a.logger.Handler()))
	return nil
}

// telemetryMiddleware is the first middleware of every request: its server
// span and its http.server.request.duration measurement.
func (a *App) telemetryMiddleware() func(http.Handler) http.Handler {
	return middleware.TelemetryWithOptions(middleware.TelemetryOptions{
		TracerProvider: a.tel.tracers, MeterProvider: a.tel.meters, Propagator: a.tel.propagator,
	})
}

// SetGlobalTelemetry installs the App's meter and tracer providers and its
// propagator as otel's global ones, for the code that reports to the
// global providers (svckit's txn, third-party instrumentation). Call it
// once per process, as main does; tests that run several Apps do not.
func (a *App) SetGlobalTelemetry() {
	otel.SetMeterProvider(a.tel.meters)
	otel.SetTracerProvider(a.tel.tracers)
	otel.SetTextMapPropagator(a.tel.propagator)
}

// shutdown flushes and stops the providers.
func (t *telemetry) shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	err := t.meters.Shutdown(ctx)
	if t.sdkTracers != nil {
		err = errors.Join(err, t.sdkTracers.Shutdown(ctx))
	}
	return err
}
