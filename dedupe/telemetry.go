package dedupe

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/svckit/svckit/internal/telemetry"
)

// MetricCalls counts the calls of Do and DoChan of a Group built with New,
// on the meter "github.com/svckit/svckit/dedupe", by AttrName and
// AttrRole: "leader" (the call started an execution) or "shared" (it
// joined one in flight). shared / all is the share of work saved.
const MetricCalls = "svckit.dedupe.calls"

// Attributes of MetricCalls.
const (
	AttrName = "svckit.dedupe.name"
	AttrRole = "role"
)

// Telemetry counts a Group's calls.
//
// Deprecated: build the Group with New, whose Options.MeterProvider makes
// the counters once.
type Telemetry struct {
	leader, shared telemetry.Add
}

// NewTelemetry returns the counters of the group called name (chosen in
// code: it becomes an attribute value) on mp, or on otel's global provider
// when mp is nil.
//
// Deprecated: build the Group with New, whose Options.MeterProvider makes
// the counters once.
func NewTelemetry(mp metric.MeterProvider, name string) *Telemetry {
	return newTelemetry(mp, name)
}

func newTelemetry(mp metric.MeterProvider, name string) *Telemetry {
	c := telemetry.Counter(telemetry.Meter(mp, "dedupe"), MetricCalls, "{call}", "Deduplicated calls by role.")
	n := attribute.String(AttrName, name)
	return &Telemetry{
		leader: telemetry.NewAdd(c, n, attribute.String(AttrRole, "leader")),
		shared: telemetry.NewAdd(c, n, attribute.String(AttrRole, "shared")),
	}
}

// joined counts a call; nil t counts nothing.
func (t *Telemetry) joined(ctx context.Context, shared bool) {
	switch {
	case t == nil:
	case shared:
		t.shared.Inc(ctx)
	default:
		t.leader.Inc(ctx)
	}
}
