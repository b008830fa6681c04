package middleware_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/svckit/svckit/internal/telemetry/telemetrytest"
	"github.com/svckit/svckit/middleware"
	"github.com/svckit/svckit/ratelimit"
)

const inboundTrace = "4bf92f3577b34da6a3ce929d0e0e4736"

// telemetryServer is a mux behind Telemetry, RequestID and Logger, logging
// through a TraceLogHandler into logs.
func telemetryServer(sdk *telemetrytest.SDK, logs *logBuffer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("POST /boom", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	logger := slog.New(middleware.NewTraceLogHandler(slog.NewJSONHandler(logs, nil)))
	return middleware.Chain(
		middleware.TelemetryWithOptions(middleware.TelemetryOptions{
			TracerProvider: sdk.Tracers, MeterProvider: sdk.Meters, Propagator: propagation.TraceContext{},
		}),
		middleware.RequestID,
		middleware.LoggerWithOptions(middleware.LoggerOptions{Logger: logger}),
	).Then(mux)
}

func TestTelemetrySpansAndDuration(t *testing.T) {
	sdk := telemetrytest.New(t)
	var logs logBuffer
	h := telemetryServer(sdk, &logs)
	send := func(method, path, traceparent string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		if traceparent != "" {
			req.Header.Set("Traceparent", traceparent)
		}
		return serve(h, req)
	}
	require.Equal(t, http.StatusOK, send("GET", "/users/1", "00-"+inboundTrace+"-00f067aa0ba902b7-01").Code, "route")
	require.Equal(t, http.StatusOK, send("GET", "/users/2", "").Code, "route")
	require.Equal(t, http.StatusBadGateway, send("POST", "/boom", "").Code, "5xx")
	require.Equal(t, http.StatusNotFound, send("GET", "/nowhere/42", "").Code, "no route")
	require.Equal(t, http.StatusMethodNotAllowed, send("FROB", "/users/3", "").Code, "unknown method")

	spans := sdk.Spans.GetSpans()
	require.Len(t, spans, 5, "one server span per request")
	first := spans[0]
	assert.Equal(t, "GET /users/{id}", first.Name, "span named by method and route")
	assert.Equal(t, trace.SpanKindServer, first.SpanKind, "server span")
	assert.Equal(t, inboundTrace, first.SpanContext.TraceID().String(), "the inbound trace is continued")
	assert.True(t, first.Parent.IsRemote(), "its parent is the remote caller")
	assert.Equal(t, map[string]string{
		"http.request.method": "GET", "http.route": "/users/{id}", "http.response.status_code": "200",
		"url.scheme": "http", "url.path": "/users/1", "network.protocol.version": "1.1",
	}, telemetrytest.SpanAttrs(first), "semantic-convention attributes")
	assert.NotEqual(t, inboundTrace, spans[1].SpanContext.TraceID().String(), "no traceparent: a new trace")
	assert.Equal(t, codes.Error, spans[2].Status.Code, "5xx fails the span")
	assert.Equal(t, "502", telemetrytest.SpanAttrs(spans[2])["error.type"], "error.type is the status")
	assert.Equal(t, "GET", spans[3].Name, "no route: the method alone")
	assert.Equal(t, "_OTHER", telemetrytest.SpanAttrs(spans[4])["http.request.method"], "unknown methods are folded")

	assert.Equal(t, map[string]uint64{
		"http.server.request.duration{http.request.method=GET,http.response.status_code=200,http.route=/users/{id},url.scheme=http}":           2,
		"http.server.request.duration{error.type=502,http.request.method=POST,http.response.status_code=502,http.route=/boom,url.scheme=http}": 1,
		"http.server.request.duration{http.request.method=GET,http.response.status_code=404,url.scheme=http}":                                  1,
		"http.server.request.duration{http.request.method=_OTHER,http.response.status_code=405,url.scheme=http}":                               1,
	}, sdk.Histograms(t), "durations by route pattern, never by raw path")
	m := sdk.Collect(t)[middleware.MetricRequestDuration]
	assert.Equal(t, "s", m.Unit, "seconds")

	lines := logs.lines(t)
	require.Len(t, lines, 5, "one access line per request")
	assert.Equal(t, inboundTrace, lines[0]["trace_id"], "the access line carries the trace id")
	assert.Equal(t, first.SpanContext.SpanID().String(), lines[0]["span_id"], "and the server span's id")
	assert.NotEmpty(t, lines[0]["requestId"], "beside the request id")
}

func TestTelemetryMalformedTraceContext(t *testing.T) {
	tests := []struct{ name, traceparent, tracestate string }{
		{"garbage", "nonsense", ""},
		{"short trace id", "00-4bf92f3577b34da6-00f067aa0ba902b7-01", ""},
		{"all-zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", ""},
		{"all-zero span id", "00-" + inboundTrace + "-0000000000000000-01", ""},
		{"version ff", "ff-" + inboundTrace + "-00f067aa0ba902b7-01", ""},
		{"upper case", "00-" + "4BF92F3577B34DA6A3CE929D0E0E4736" + "-00f067aa0ba902b7-01", ""},
		{"bad tracestate only", "", "a=,=b,,\x00"},
		{"huge tracestate", "00-" + inboundTrace + "-00f067aa0ba902b7-01", string(make([]byte, 10000))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sdk := telemetrytest.New(t)
			var logs logBuffer
			req := httptest.NewRequest("GET", "/users/1", nil)
			req.Header.Set("Traceparent", tt.traceparent)
			req.Header.Set("Tracestate", tt.tracestate)
			rec := serve(telemetryServer(sdk, &logs), req)
			assert.Equal(t, http.StatusOK, rec.Code, "a malformed trace context is never an error")
			spans := sdk.Spans.GetSpans()
			require.Len(t, spans, 1, "the request is still traced")
			assert.True(t, spans[0].SpanContext.IsValid(), "with a valid span")
			if tt.name != "huge tracestate" {
				assert.False(t, spans[0].Parent.IsValid(), "in a new trace")
			}
		})
	}
}

func FuzzTelemetryTraceContext(f *testing.F) {
	f.Add("00-"+inboundTrace+"-00f067aa0ba902b7-01", "congo=t61rcWkgMzE")
	f.Add("00-"+inboundTrace+"-00f067aa0ba902b7-00", "")
	f.Add("01-"+inboundTrace+"-00f067aa0ba902b7-01-extra", "a=b,c=d")
	f.Add("", "")
	f.Add("zz", "=,=")
	f.Fuzz(func(t *testing.T, traceparent, tracestate string) {
		sdk := telemetrytest.New(t)
		var logs logBuffer
		req := httptest.NewRequest("GET", "/users/1", nil)
		req.Header["Traceparent"] = []string{traceparent}
		req.Header["Tracestate"] = []string{tracestate}
		rec := serve(telemetryServer(sdk, &logs), req)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d for traceparent %q tracestate %q", rec.Code, traceparent, tracestate)
		}
		// A valid inbound context that is not sampled is honoured: no
		// span is exported. Otherwise there is exactly one, valid.
		spans := sdk.Spans.GetSpans()
		if len(spans) > 1 {
			t.Fatalf("want at most one server span, got %d", len(spans))
		}
		for _, s := range spans {
			if !s.SpanContext.IsValid() {
				t.Fatalf("an invalid span for traceparent %q", traceparent)
			}
			if p := s.Parent; p.IsValid() && p.TraceID() != s.SpanContext.TraceID() {
				t.Fatalf("a child span in another trace than its parent")
			}
		}
		if len(spans) == 0 {
			in := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), propagation.HeaderCarrier(req.Header)))
			if !in.IsValid() || in.IsSampled() {
				t.Fatalf("no span for traceparent %q, which is not a valid unsampled context", traceparent)
			}
		}
	})
}

func TestTraceLogHandler(t *testing.T) {
	var logs logBuffer
	logger := slog.New(middleware.NewTraceLogHandler(slog.NewJSONHandler(&logs, nil))).With("svc", "x")
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5, 6}, TraceFlags: trace.FlagsSampled,
	})
	logger.InfoContext(trace.ContextWithSpanContext(context.Background(), sc), "traced")
	logger.InfoContext(context.Background(), "untraced")
	lines := logs.lines(t)
	require.Len(t, lines, 2, "two records")
	assert.Equal(t, "01020300000000000000000000000000", lines[0]["trace_id"], "trace id in hex")
	assert.Equal(t, "0405060000000000", lines[0]["span_id"], "span id in hex")
	assert.Equal(t, "x", lines[0]["svc"], "WithAttrs kept")
	assert.NotContains(t, lines[1], "trace_id", "no trace, no trace id")
	assert.Panics(t, func() { middleware.NewTraceLogHandler(nil) }, "nil handler is a programmer error")
}

func TestRateLimitTelemetry(t *testing.T) {
	sdk := telemetrytest.New(t)
	clock := newFakeClock()
	h := middleware.RateLimitWithOptions(middleware.RateLimitOptions{
		Limiter: memoryLimiter(ratelimit.Limit{Rate: 2, Period: time.Minute}, clock), Policy: "api", MeterProvider: sdk.Meters,
	})(okHandler())
	for range 3 {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = "192.0.2.1:1"
		serve(h, req)
	}
	down := middleware.RateLimitWithOptions(middleware.RateLimitOptions{
		Limiter: ratelimit.New(ratelimit.PerSecond(1), failingStore{ratelimit.ErrUnavailable}), Policy: "login", MeterProvider: sdk.Meters,
	})(okHandler())
	serve(down, httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, map[string]int64{
		"svckit.ratelimit.decisions{result=allowed,svckit.ratelimit.policy=api}":       2,
		"svckit.ratelimit.decisions{result=limited,svckit.ratelimit.policy=api}":       1,
		"svckit.ratelimit.decisions{result=store_error,svckit.ratelimit.policy=login}": 1,
	}, sdk.Sums(t), "decisions by policy and result, never by key")
}

// TestRateLimitTelemetryAllocs shows that counting a decision allocates
// nothing: the middleware allocates as much with the SDK recording as with
// no provider, and the no-provider counter itself allocates nothing
// (internal/telemetry's TestNoProviderAllocatesNothing).
func TestRateLimitTelemetryAllocs(t *testing.T) {
	sdk := telemetrytest.New(t)
	allocs := func(opts middleware.RateLimitOptions) float64 {
		opts.Limiter = memoryLimiter(ratelimit.Limit{Rate: 1e9, Period: time.Second}, newFakeClock())
		h := middleware.RateLimitWithOptions(opts)(okHandler())
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = "192.0.2.1:1"
		w := &discardWriter{h: http.Header{}}
		return testing.AllocsPerRun(500, func() {
			clear(w.h)
			h.ServeHTTP(w, req)
		})
	}
	off := allocs(middleware.RateLimitOptions{})
	on := allocs(middleware.RateLimitOptions{MeterProvider: sdk.Meters})
	t.Logf("allocs per request: no provider %v, SDK %v", off, on)
	assert.Equal(t, off, on, "recording a decision adds no allocation")
}

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}
