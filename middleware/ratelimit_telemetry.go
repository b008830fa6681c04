package middleware

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/svckit/svckit/internal/telemetry"
)

// MetricRateLimitDecisions counts RateLimit's decisions, on the meter
// "github.com/svckit/svckit/middleware", by AttrRateLimitPolicy (the
// policy name of RateLimitOptions) and AttrRateLimitResult: "allowed",
// "limited" (answered 429) or "store_error" (the limiter failed and the
// request was answered 503). A store that falls back to another store on
// its own (ratelimit/redisstore's Fallback) decides "allowed" or
// "limited" from the fallback.
const MetricRateLimitDecisions = "svckit.ratelimit.decisions"

// Attributes of MetricRateLimitDecisions.
const (
	AttrRateLimitPolicy = "svckit.ratelimit.policy"
	AttrRateLimitResult = "result"
)

// rateLimitMetrics are the decision counters of one RateLimit middleware.
type rateLimitMetrics struct {
	allowed, limited, storeError telemetry.Add
}

func newRateLimitMetrics(mp metric.MeterProvider, policy string) rateLimitMetrics {
	c := telemetry.Counter(telemetry.Meter(mp, "middleware"), MetricRateLimitDecisions,
		"{decision}", "Rate-limit decisions by policy and result.")
	p := attribute.String(AttrRateLimitPolicy, policy)
	res := func(v string) telemetry.Add { return telemetry.NewAdd(c, p, attribute.String(AttrRateLimitResult, v)) }
	return rateLimitMetrics{allowed: res("allowed"), limited: res("limited"), storeError: res("store_error")}
}
