package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/svckit/svckit/envelope"
)

// Bounds of the readiness checks: a load balancer polls often, and a
// dependency that hangs must not make the answer hang.
const (
	readyDatabaseTimeout = 2 * time.Second
	readyRedisTimeout    = 250 * time.Millisecond
)

// ErrDraining is returned by Ready once Serve has begun to shut down.
var ErrDraining = errors.New("app: draining: shutting down")

// Readiness is the body of a 200 from /readyz.
type Readiness struct {
	// Status is "ready", or "degraded" when an optional dependency is down
	// and its fallback serves (Redis: cache reads from the database, rate
	// limits in memory), when the database's connections are all taken
	// (requests wait for a slot, or were refused one lately), or when events
	// wait longer than EventsDegradedAfter to be published (they are kept
	// in the outbox and go out later).
	Status string `json:"status"`
	// Checks names each dependency with "ok" or "down", and the service's
	// pool of database connections ("databasePool") with "ok" or
	// "saturated", and "events" with "ok" or "delayed".
	Checks map[string]string `json:"checks"`
}

// Ready reports whether the service can serve: not draining, and the
// database answers. Redis is optional (every use of it has a fallback), so
// it never makes the service unready; Readiness reports it.
func (a *App) Ready(ctx context.Context) error {
	if a.draining.Load() {
		return ErrDraining
	}
	ctx, cancel := context.WithTimeout(ctx, readyDatabaseTimeout)
	defer cancel()
	if err := a.db.PingContext(ctx); err != nil {
		return fmt.Errorf("app: database: %w", err)
	}
	return nil
}

// Readiness checks every dependency: an error when the service cannot
// serve (see Ready), else the status of each dependency.
func (a *App) Readiness(ctx context.Context) (Readiness, error) {
	if err := a.Ready(ctx); err != nil {
		return Readiness{}, err
	}
	r := Readiness{Status: "ready", Checks: map[string]string{"database": "ok", "databasePool": "ok"}}
	if a.gate.saturated() {
		// Ready still: requests are served, some wait or are told to
		// retry. The body says so, for people and alerts.
		r.Status, r.Checks["databasePool"] = "degraded", "saturated"
	}
	if a.eventsReadiness(r.Checks) {
		r.Status = "degraded"
	}
	if a.rdb != nil {
		ctx, cancel := context.WithTimeout(ctx, readyRedisTimeout)
		defer cancel()
		r.Checks["redis"] = "ok"
		if err := a.rdb.Ping(ctx).Err(); err != nil {
			r.Status, r.Checks["redis"] = "degraded", "down"
		}
	}
	return r, nil
}

// readyz answers 200 with the Readiness, or 503 UNAVAILABLE when the
// service cannot serve (draining, or the database is down).
func (a *App) readyz(ctx context.Context, _ struct{}) (Readiness, error) {
	ready, err := a.Readiness(ctx)
	if err != nil {
		msg := "not ready"
		if errors.Is(err, ErrDraining) {
			msg = "shutting down"
		}
		return Readiness{}, envelope.Unavailable(msg).Wrap(err)
	}
	return ready, nil
}
