package telemetry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/svckit/svckit/internal/telemetry"
	"github.com/svckit/svckit/internal/telemetry/telemetrytest"
)

func TestChildOnlyUnderRecordingSpan(t *testing.T) {
	sdk := telemetrytest.New(t)
	tr := telemetry.Tracer(sdk.Tracers, "test")
	ctx, span := telemetry.Child(context.Background(), tr, "orphan")
	assert.Nil(t, span, "no span without a recording parent")
	assert.Equal(t, context.Background(), ctx, "and the context unchanged")
	telemetry.End(span, errors.New("ignored")) // a nil span is accepted

	parent, end := sdk.Parent(context.Background())
	ctx, span = telemetry.Child(parent, tr, "child")
	require.NotNil(t, span, "a child under a recording parent")
	assert.True(t, span.IsRecording(), "the child records")
	assert.Equal(t, span, trace.SpanFromContext(ctx), "the context carries the child")
	telemetry.End(span, errors.New("secret value 42"))
	end()
	spans := sdk.Spans.GetSpans()
	require.Len(t, spans, 2, "child and parent")
	child := spans[0]
	assert.Equal(t, "child", child.Name, "child span first to end")
	assert.Equal(t, "github.com/svckit/svckit/test", child.InstrumentationScope.Name, "scope is the package path")
	assert.Equal(t, codes.Error, child.Status.Code, "failed")
	assert.Empty(t, child.Status.Description, "the message is never recorded")
	assert.Equal(t, map[string]string{"error.type": "*errors.errorString"}, telemetrytest.SpanAttrs(child), "only the error type")
}

func TestAddAndRecord(t *testing.T) {
	sdk := telemetrytest.New(t)
	m := telemetry.Meter(sdk.Meters, "test")
	ctx := context.Background()
	add := telemetry.NewAdd(telemetry.Counter(m, "t.count", "1", "d"), attribute.String("k", "v"))
	add.Inc(ctx)
	add.Inc(ctx)
	telemetry.Add{}.Inc(ctx) // the zero Add does nothing
	rec := telemetry.NewRecord(telemetry.Histogram(m, "t.hist", "s", "d", 0.1, 1), attribute.String("k", "w"))
	assert.True(t, rec.Enabled(ctx), "an SDK histogram is enabled")
	rec.Record(ctx, 0.5)
	assert.Equal(t, map[string]int64{"t.count{k=v}": 2}, sdk.Sums(t), "counter with its fixed set")
	assert.Equal(t, map[string]uint64{"t.hist{k=w}": 1}, sdk.Histograms(t), "histogram with its fixed set")
	assert.False(t, telemetry.Record{}.Enabled(ctx), "the zero Record is disabled")
}

func TestNoProviderAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	m := telemetry.Meter(nil, "test") // the global provider, none installed
	add := telemetry.NewAdd(telemetry.Counter(m, "t.count", "1", "d"), attribute.String("k", "v"))
	rec := telemetry.NewRecord(telemetry.Histogram(m, "t.hist", "s", "d"), attribute.String("k", "v"))
	tr := telemetry.Tracer(nil, "test")
	allocs := testing.AllocsPerRun(1000, func() {
		add.Inc(ctx)
		rec.Record(ctx, 1)
		c, span := telemetry.Child(ctx, tr, "x")
		telemetry.End(span, nil)
		_ = c
	})
	assert.Zero(t, allocs, "counting, recording and a child span without a parent allocate nothing")
}
