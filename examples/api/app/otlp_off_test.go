//go:build !otlp

package app_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/examples/api/app"
)

// TestOTLPNotBuiltIn: without -tags otlp, a configuration asking for trace
// export stops the start with an error that says how to build it in,
// rather than exporting nothing.
func TestOTLPNotBuiltIn(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
	cfg := testConfig()
	cfg.Database = app.Database{Driver: "sqlite", Dialect: "sqlite", DSN: app.SQLiteDSN(t.TempDir() + "/otlp.db")}
	a, err := app.New(context.Background(), cfg)
	if a != nil {
		a.Close()
	}
	require.ErrorIs(t, err, app.ErrConfig, "a configuration error")
	assert.ErrorContains(t, err, "-tags otlp", "the error says how to build the exporter in")
}
