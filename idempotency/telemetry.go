package idempotency

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/svckit/svckit/internal/telemetry"
)

// MetricRequests counts the calls of Do by AttrResult, on the meter
// "github.com/svckit/svckit/idempotency": "claimed" (the key was new and
// fn's outcome was recorded), "replayed" (a retry got the recorded
// outcome), "mismatch" (ErrKeyMismatch), "in_progress" (ErrInProgress),
// "no_key" (the client sent none) and "error" (fn or the store failed;
// nothing was recorded).
const MetricRequests = "svckit.idempotency.requests"

// AttrResult is the attribute of MetricRequests.
const AttrResult = "result"

// DoOptions configure DoWithOptions. The zero value is what Do uses.
type DoOptions struct {
	// Telemetry receives MetricRequests. Nil means the global providers
	// of package otel.
	Telemetry *Telemetry
}

// Telemetry holds the counters of Do. Make one with NewTelemetry per meter
// provider; it is safe for concurrent use and holds nothing to close.
type Telemetry struct {
	claimed, replayed, mismatch, inProgress, noKey, failed telemetry.Add
}

// NewTelemetry returns the counters on mp, or on otel's global provider
// when mp is nil.
func NewTelemetry(mp metric.MeterProvider) *Telemetry {
	c := telemetry.Counter(telemetry.Meter(mp, "idempotency"), MetricRequests,
		"{request}", "Idempotent requests by result.")
	res := func(v string) telemetry.Add { return telemetry.NewAdd(c, attribute.String(AttrResult, v)) }
	return &Telemetry{
		claimed: res("claimed"), replayed: res("replayed"), mismatch: res("mismatch"),
		inProgress: res("in_progress"), noKey: res("no_key"), failed: res("error"),
	}
}

// globalTelemetry is the Telemetry of a nil DoOptions.Telemetry, made on
// first use and never changed; the global providers it holds delegate to
// whatever provider the application installs later.
var globalTelemetry = sync.OnceValue(func() *Telemetry { return NewTelemetry(nil) })

// DoWithOptions is Do, reporting to opts.Telemetry.
func DoWithOptions(ctx context.Context, s Store, k Key, fingerprint string, opts DoOptions, fn func(ctx context.Context) (Outcome, error)) (Outcome, bool, error) {
	o, replayed, err := do(ctx, s, k, fingerprint, fn)
	t := opts.Telemetry
	if t == nil {
		t = globalTelemetry()
	}
	switch {
	case k.Value == "":
		t.noKey.Inc(ctx)
	case replayed:
		t.replayed.Inc(ctx)
	case err == nil || o.Status != 0: // a success, or a recorded refusal
		t.claimed.Inc(ctx)
	case errors.Is(err, ErrKeyMismatch):
		t.mismatch.Inc(ctx)
	case errors.Is(err, ErrInProgress):
		t.inProgress.Inc(ctx)
	default:
		t.failed.Inc(ctx)
	}
	return o, replayed, err
}
