package app

import (
	"context"
	"net"

	"golang.org/x/sync/errgroup"
)

// Run is what main runs: it serves on ln (see Serve) and runs the
// background workers beside it (the janitor that deletes expired refresh
// tokens and idempotency keys, and the events' relay and subscriptions) until ctx ends, then waits for all of them.
// Every goroutine it starts has ended when it returns. The first error of
// any of them ends the others; Run returns it, or nil after a clean
// shutdown.
func (a *App) Run(ctx context.Context, ln net.Listener) error {
	g, ctx := errgroup.WithContext(ctx)
	ctx, stop := context.WithCancel(ctx)
	g.Go(func() error {
		defer stop() // the server is done: so are the workers
		return a.Serve(ctx, ln)
	})
	g.Go(func() error {
		a.runJanitor(ctx)
		return nil
	})
	g.Go(func() error { return a.RunEvents(ctx) })
	return g.Wait()
}
