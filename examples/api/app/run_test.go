package app_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/svckit/svckit/examples/api/app"
)

// TestRunEndsEveryGoroutine: Run serves and runs the janitor beside the
// server in one errgroup; once its context ends it returns nil and leaves
// no goroutine behind, and a listener that fails ends Run with the error.
func TestRunEndsEveryGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	tests := []struct {
		name    string
		closeLn bool // close the listener under Run: Serve fails
		wantErr bool
	}{
		{"shutdown by context", false, false},
		{"listener fails", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Database = app.Database{Driver: "sqlite", Dialect: "sqlite", DSN: app.SQLiteDSN(t.TempDir() + "/run.db")}
			a, err := app.New(context.Background(), cfg)
			require.NoError(t, err, "app.New")
			defer a.Close()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err, "listen")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- a.Run(ctx, ln) }()

			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			res, err := client.Get("http://" + ln.Addr().String() + "/healthz")
			require.NoError(t, err, "served")
			res.Body.Close()
			if tt.closeLn {
				ln.Close()
			} else {
				cancel()
			}
			select {
			case err := <-done:
				if tt.wantErr {
					assert.Error(t, err, "the listener's failure ends Run")
				} else {
					assert.NoError(t, err, "a clean shutdown")
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Run did not return")
			}
		})
	}
}
