package txn

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/svckit/svckit/internal/telemetry/telemetrytest"
)

// TestTelemetryHooksAllocateNothing runs the hooks run calls around a
// transaction (span, attempt, outcome) and finds no allocation, with no
// provider installed and with the SDK recording. (A retry classifies its
// error again, which may allocate; retries are not the hot path.)
func TestTelemetryHooksAllocateNothing(t *testing.T) {
	sdk := telemetrytest.New(t)
	ctx := context.Background()
	boom := errors.New("boom")
	for name, opts := range map[string]Options{
		"no provider": {},
		"sdk":         {Telemetry: NewTelemetry(sdk.Meters, sdk.Tracers)},
	} {
		t.Run(name, func(t *testing.T) {
			allocs := testing.AllocsPerRun(1000, func() {
				_ = hooked(ctx, opts, nil, boom)
				_ = hooked(ctx, opts, nil, nil)
			})
			assert.Zero(t, allocs, "the hooks of run allocate nothing")
		})
	}
}

// hooked calls the hooks in the order run does, for one retried and failed
// transaction.
func hooked(ctx context.Context, opts Options, retryErr, lastErr error) (err error) {
	t := opts.telemetry()
	ctx, span := t.start(ctx, nil)
	defer func() { t.finish(ctx, span, err == nil, err) }()
	t.attempts.Inc(ctx)
	if retryErr != nil {
		t.retry(ctx, span, retryErr)
		t.attempts.Inc(ctx)
	}
	return lastErr
}
