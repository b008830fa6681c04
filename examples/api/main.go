// Command api is the svckit example service: users, tokens, accounts and
// transfers over a JSON API. See README.md for the walkthrough and the
// environment variables it reads.
package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/svckit/svckit/examples/api/app"
)

func main() {
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

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

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
	// After the first signal, a second one ends the process at once.
	context.AfterFunc(ctx, stop)
	if err := a.Run(ctx, ln); err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}
