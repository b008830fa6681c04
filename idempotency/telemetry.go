package idempotency

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/svckit/svckit/internal/telemetry"
)

// MetricRequests counts the calls of a Runner's Do by AttrResult, on the meter
// "github.com/svckit/svckit/idempotency": "claimed" (the key was new and
// fn's outcome was recorded), "replayed" (a retry got the recorded
// outcome), "mismatch" (ErrKeyMismatch), "in_progress" (ErrInProgress),
// "no_key" (the client sent none) and "error" (fn or the store failed;
// nothing was recorded).
const MetricRequests = "svckit.idempotency.requests"

// AttrResult is the attribute of MetricRequests.
const AttrResult = "result"

// Options configure New. The zero value counts on otel's global meter
// provider.
type Options struct {
	// MeterProvider receives a Runner's MetricRequests. Nil means otel's
	// global provider.
	MeterProvider metric.MeterProvider
}

// Runner runs Do against one Store and counts every call in
// MetricRequests: the long-lived counterpart of the function Do, which has
// nowhere to keep instruments and counts nothing. Build it once with New;
// the zero Runner is not usable. A Runner is safe for concurrent use and
// holds nothing to close.
type Runner struct {
	s Store
	t *Telemetry
}

// New returns a Runner of Do on s, counting on opts.MeterProvider. A nil
// s panics.
func New(s Store, opts Options) *Runner {
	if s == nil {
		panic("idempotency: New: nil Store")
	}
	return &Runner{s: s, t: newTelemetry(opts.MeterProvider)}
}

// Do is the function Do on r's Store, counted.
func (r *Runner) Do(ctx context.Context, k Key, fingerprint string, fn func(ctx context.Context) (Outcome, error)) (Outcome, bool, error) {
	o, replayed, err := do(ctx, r.s, k, fingerprint, fn)
	r.t.count(ctx, k, o, replayed, err)
	return o, replayed, err
}

// DoOptions configure DoWithOptions.
//
// Deprecated: use a Runner (New).
type DoOptions struct {
	// Telemetry receives MetricRequests. Nil counts nothing.
	Telemetry *Telemetry
}

// Telemetry holds the counters of Do.
//
// Deprecated: use a Runner (New), whose Options.MeterProvider makes the
// counters once.
type Telemetry struct {
	claimed, replayed, mismatch, inProgress, noKey, failed telemetry.Add
}

// NewTelemetry returns the counters on mp, or on otel's global provider
// when mp is nil.
//
// Deprecated: use a Runner (New), whose Options.MeterProvider makes the
// counters once.
func NewTelemetry(mp metric.MeterProvider) *Telemetry { return newTelemetry(mp) }

func newTelemetry(mp metric.MeterProvider) *Telemetry {
	c := telemetry.Counter(telemetry.Meter(mp, "idempotency"), MetricRequests,
		"{request}", "Idempotent requests by result.")
	res := func(v string) telemetry.Add { return telemetry.NewAdd(c, attribute.String(AttrResult, v)) }
	return &Telemetry{
		claimed: res("claimed"), replayed: res("replayed"), mismatch: res("mismatch"),
		inProgress: res("in_progress"), noKey: res("no_key"), failed: res("error"),
	}
}

// DoWithOptions is Do, counted on opts.Telemetry.
//
// Deprecated: use a Runner (New).
func DoWithOptions(ctx context.Context, s Store, k Key, fingerprint string, opts DoOptions, fn func(ctx context.Context) (Outcome, error)) (Outcome, bool, error) {
	o, replayed, err := do(ctx, s, k, fingerprint, fn)
	opts.Telemetry.count(ctx, k, o, replayed, err)
	return o, replayed, err
}

// count counts one call of Do; a nil t counts nothing.
func (t *Telemetry) count(ctx context.Context, k Key, o Outcome, replayed bool, err error) {
	switch {
	case t == nil:
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
}
