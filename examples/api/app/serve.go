package app

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// readHeaderTimeout bounds the wait for a request's headers.
const readHeaderTimeout = 5 * time.Second

// Serve serves the handler on ln until ctx is done (main cancels it on
// SIGINT or SIGTERM), then shuts down in three steps:
//
//  1. at once, /readyz answers 503 UNAVAILABLE and keep-alive is turned
//     off, so a load balancer stops sending new traffic and clients move
//     their connections elsewhere;
//  2. for HTTP.DrainDelay the listener keeps serving in-flight and new
//     requests (the load balancer needs a few probes to notice), unless
//     SkipDrain is called (main does on a second signal);
//  3. the listener closes and requests in flight get HTTP.ShutdownTimeout
//     to finish.
//
// It returns nil after a clean shutdown, or the error that ended serving.
// The listener is capped at HTTP.MaxConns open connections, and at
// HTTP.MaxConnsPerIP of one client address (see connLimiter), and Serve
// closes it.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	h := a.cfg.HTTP.withDefaults()
	limited := newConnLimiter(ln, h.MaxConns, h.MaxConnsPerIP, a.cfg.TrustedProxies, h.MaxConnAge)
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		MaxHeaderBytes:    h.MaxHeaderBytes,
		// A /v1 body must arrive by the request deadline (readBody); any
		// other request's body, which net/http reads to reuse the
		// connection, by the same time after its headers.
		ReadTimeout: readHeaderTimeout + a.cfg.requestTimeout(),
		// Past the request deadline, so that the 504 still gets out.
		WriteTimeout: a.cfg.requestTimeout() + 5*time.Second,
		IdleTimeout:  h.IdleTimeout,
		ConnState:    limited.connState,
		ErrorLog:     slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(limited) }()

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	a.draining.Store(true)
	srv.SetKeepAlivesEnabled(false)
	a.logger.Info("shutting down: draining", "drainDelay", h.DrainDelay, "shutdownTimeout", h.ShutdownTimeout)
	if h.DrainDelay > 0 {
		t := time.NewTimer(h.DrainDelay)
		select {
		case <-t.C:
		case <-a.skipDrain:
			t.Stop()
			a.logger.Info("shutting down: drain delay skipped")
		case err := <-served:
			t.Stop()
			return err
		}
	}
	stop, cancel := context.WithTimeout(context.Background(), h.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(stop)
	if err != nil {
		// Past the timeout: cut the requests still running.
		_ = srv.Close()
	}
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// SkipDrain ends the drain delay of a shutdown that has begun, or skips it
// for one that has not: the listener closes and requests in flight get
// HTTP.ShutdownTimeout, as after the delay. main calls it on a second
// SIGINT or SIGTERM, so that a second Ctrl-C stops a local run at once.
// It is safe to call more than once and from any goroutine.
func (a *App) SkipDrain() { a.skipOnce.Do(func() { close(a.skipDrain) }) }
