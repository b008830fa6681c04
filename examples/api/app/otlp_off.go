//go:build !otlp

package app

import (
	"context"
	"fmt"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// newSpanExporter refuses: this binary was built without the OTLP exporter
// (see otlp.go), so a configuration that asks for trace export fails at
// start instead of exporting nothing.
func newSpanExporter(context.Context) (sdktrace.SpanExporter, error) {
	return nil, fmt.Errorf("%w: OTEL_EXPORTER_OTLP_ENDPOINT asks for trace export, but this binary was built without the OTLP exporter: build or run it with -tags otlp", ErrConfig)
}
