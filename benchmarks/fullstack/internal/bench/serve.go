package bench

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// Meters returns the OpenTelemetry SDK meter provider the stacks record
// their request metrics on (svckit's Telemetry middleware, otelhttp for
// chi and huma): it aggregates every measurement as an exporter would see
// it, behind a manual reader nobody collects.
func Meters() *sdkmetric.MeterProvider {
	return sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
}

// OpenDB opens the database of c with the pool bound every stack shares.
func (c Config) OpenDB() (*sql.DB, error) {
	db, err := sql.Open(c.Driver, c.DSN)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(MaxOpenConns)
	db.SetMaxIdleConns(MaxOpenConns)
	return db, nil
}

// Serve runs h on c.Addr until SIGINT or SIGTERM, then shuts down. With
// c.Pprof set it also serves net/http/pprof there, for profiling a stack
// under load.
func (c Config) Serve(h http.Handler) error {
	srv := &http.Server{Addr: c.Addr, Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 2)
	go func() { errc <- srv.ListenAndServe() }()
	if c.Pprof != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		prof := &http.Server{Addr: c.Pprof, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		defer prof.Close()
		go func() { errc <- prof.ListenAndServe() }()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
