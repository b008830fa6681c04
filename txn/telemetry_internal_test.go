package txn

import (
	"context"
	"database/sql"
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
	db := new(sql.DB) // the Runner only holds it
	for name, r := range map[string]*Runner{
		"global providers": New(db, Options{}),
		"sdk":              New(db, Options{MeterProvider: sdk.Meters, TracerProvider: sdk.Tracers}),
		"none (Do)":        {},
	} {
		t.Run(name, func(t *testing.T) {
			allocs := testing.AllocsPerRun(1000, func() {
				_ = hooked(ctx, r.tel, nil, boom)
				_ = hooked(ctx, r.tel, nil, nil)
			})
			assert.Zero(t, allocs, "the hooks of run allocate nothing")
		})
	}
}

// hooked calls the hooks in the order run does, for one retried and failed
// transaction.
func hooked(ctx context.Context, t *Telemetry, retryErr, lastErr error) (err error) {
	ctx, span := t.start(ctx, nil)
	defer func() { t.finish(ctx, span, err == nil, err) }()
	t.attempted(ctx)
	if retryErr != nil {
		t.retry(ctx, span, retryErr)
		t.attempted(ctx)
	}
	return lastErr
}
