// Command api is the svckit example service: users, tokens, accounts and
// transfers over a JSON API. See README.md for the walkthrough and the
// environment variables it reads. "api migrate status|up|create NAME"
// drives its schema migrations instead (migrate.go).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/svckit/svckit/examples/api/app"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "migrate" { // see migrate.go
		if err := runMigrate(context.Background(), os.Args[2:], os.Getenv, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if errors.Is(err, errMigrateUsage) {
				fmt.Fprint(os.Stderr, migrateUsage)
				os.Exit(2)
			}
			os.Exit(1)
		}
		return
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("api stopped", "err", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	cfg, warnings, err := app.FromEnv(os.Getenv)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		logger.Warn(w)
	}
	cfg.Logger = logger
	app.RouteRedisLogs(logger) // go-redis's own lines too, in this format

	// SIGINT and SIGTERM: the first shuts down gracefully (ctx ends), the
	// second skips the drain delay, the third ends the process at once.
	sigs := make(chan os.Signal, 3)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	skipped := make(chan struct{}) // closed by the second signal
	done := make(chan struct{})    // closed when run returns
	defer close(done)
	go func() {
		for n := 1; ; n++ {
			select {
			case <-sigs:
			case <-done:
				return
			}
			switch n {
			case 1:
				logger.Info("signal: shutting down (a second signal skips the drain delay)")
				cancel()
			case 2:
				logger.Warn("second signal: skipping the drain delay (a third ends the process at once)")
				close(skipped)
			default:
				logger.Error("third signal: exiting at once")
				os.Exit(1)
			}
		}
	}()

	a, err := app.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	a.SetGlobalTelemetry()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	logger.Info("listening", "addr", ln.Addr().String(), "database", cfg.Database.Dialect, "redis", cfg.RedisURL != "")
	go func() {
		select {
		case <-skipped:
			a.SkipDrain()
		case <-done:
		}
	}()
	if err := a.Run(ctx, ln); err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}
