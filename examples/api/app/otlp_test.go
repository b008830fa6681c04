//go:build otlp

package app_test

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/svckit/svckit/examples/api/app"
)

// TestOTLPTraceExport points OTEL_EXPORTER_OTLP_ENDPOINT at a loopback
// receiver and finds the server span of a request there, in the trace its
// traceparent named.
func TestOTLPTraceExport(t *testing.T) {
	var mu sync.Mutex
	var spans []*tracepb.Span
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var msg coltracepb.ExportTraceServiceRequest
		if err != nil || r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &msg) != nil {
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, rs := range msg.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				spans = append(spans, ss.GetSpans()...)
			}
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer recv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.URL)
	cfg := testConfig()
	cfg.DB = nil
	cfg.Database = app.Database{Driver: "sqlite", Dialect: "sqlite", DSN: app.SQLiteDSN(t.TempDir() + "/otlp.db")}
	ctx := context.Background()
	a, err := app.New(ctx, cfg)
	require.NoError(t, err, "app.New")
	ts := httptest.NewServer(a.Handler())
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	r, err := http.NewRequest("GET", ts.URL+"/healthz", nil)
	require.NoError(t, err, "request")
	r.Header.Set("Traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	res, err := ts.Client().Do(r)
	require.NoError(t, err, "GET /healthz")
	res.Body.Close()
	ts.Close()
	require.NoError(t, a.Close(), "Close flushes the spans")

	mu.Lock()
	defer mu.Unlock()
	var names []string
	for _, sp := range spans {
		names = append(names, sp.GetName())
		if sp.GetName() == "GET /healthz" {
			assert.Equal(t, traceID, hex.EncodeToString(sp.GetTraceId()), "the inbound trace is continued")
			assert.Equal(t, tracepb.Span_SPAN_KIND_SERVER, sp.GetKind(), "a server span")
		}
	}
	assert.Contains(t, names, "GET /healthz", "the request's server span reached the OTLP receiver")
}
