package redisstore

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/svckit/svckit/internal/telemetry"
)

// MetricFailures counts the decisions Redis did not take (it failed, timed
// out, or the breaker was open), on the meter
// "github.com/svckit/svckit/ratelimit/redisstore", by AttrOutcome:
// "fallback" (Options.Fallback decided) or "unavailable" (no Fallback: the
// event was denied with ratelimit.ErrUnavailable). The rate-limit
// middleware's decisions count the fallback's answers as allowed or
// limited; this counter says how many of them Redis did not take.
const MetricFailures = "svckit.ratelimit.store.failures"

// AttrOutcome is the attribute of MetricFailures.
const AttrOutcome = "outcome"

// failureCounts are a Store's counters of MetricFailures.
type failureCounts struct {
	fallback, unavailable telemetry.Add
}

func newFailureCounts(mp metric.MeterProvider) failureCounts {
	c := telemetry.Counter(telemetry.Meter(mp, "ratelimit/redisstore"), MetricFailures,
		"{decision}", "Rate-limit decisions Redis did not take, by outcome.")
	return failureCounts{
		fallback:    telemetry.NewAdd(c, attribute.String(AttrOutcome, "fallback")),
		unavailable: telemetry.NewAdd(c, attribute.String(AttrOutcome, "unavailable")),
	}
}
