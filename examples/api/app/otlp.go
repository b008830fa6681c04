//go:build otlp

package app

import (
	"context"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// newSpanExporter returns the OTLP/HTTP (protobuf) span exporter, which
// reads its endpoint, headers, timeout and TLS from the OTEL_EXPORTER_OTLP_*
// variables itself. Built with -tags otlp only: the exporter and its
// protobuf and gRPC modules are the heaviest part of a first build, and a
// first run exports no traces.
func newSpanExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	return otlptracehttp.New(ctx)
}
