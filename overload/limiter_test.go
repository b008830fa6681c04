package overload_test

import (
	"context"
	"encoding/json"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/internal/telemetry/telemetrytest"
	"github.com/svckit/svckit/overload"
)

func TestDefaultClass(t *testing.T) {
	preflight := http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"POST"}}
	tests := []struct {
		method, path string
		header       http.Header
		want         overload.Class
	}{
		{http.MethodGet, "/healthz", nil, overload.Critical},
		{http.MethodGet, "/readyz", nil, overload.Critical},
		{http.MethodHead, "/livez", nil, overload.Critical},
		{http.MethodPost, "/healthz", nil, overload.Write},
		{http.MethodGet, "/v1/users/42", nil, overload.Read},
		{http.MethodOptions, "/v1/users", nil, overload.Read},
		{http.MethodOptions, "/v1/transfers", preflight, overload.Critical},
		{http.MethodOptions, "/v1/transfers", http.Header{"Origin": {"https://app.example"}}, overload.Read}, // not a preflight
		{http.MethodOptions, "/v1/transfers", http.Header{"Access-Control-Request-Method": {"POST"}}, overload.Read},
		{http.MethodPost, "/v1/transfers", nil, overload.Write},
		{http.MethodDelete, "/v1/users/42", nil, overload.Write},
		{"BREW", "/pot", nil, overload.Write},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.path, nil)
		maps.Copy(r.Header, tt.header)
		got := overload.DefaultClass(r)
		assert.Equal(t, tt.want, got, "%s %s", tt.method, tt.path)
	}
}

// TestShares: with the limit full to a class's share, that class is
// refused and the classes above it are not.
func TestShares(t *testing.T) {
	tests := []struct {
		name     string
		inFlight int // of a limit of 10
		admitted []overload.Class
		refused  []overload.Class
	}{
		{"empty", 0, []overload.Class{overload.Admin, overload.Read, overload.Write, overload.Critical}, nil},
		{"half full", 5, []overload.Class{overload.Read, overload.Write, overload.Critical}, []overload.Class{overload.Admin}},
		{"nine in flight", 9, []overload.Class{overload.Write, overload.Critical}, []overload.Class{overload.Admin, overload.Read}},
		{"full", 10, []overload.Class{overload.Critical}, []overload.Class{overload.Admin, overload.Read, overload.Write, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := overload.New(overload.Options{InitialLimit: 10, MinLimit: 10, MaxLimit: 10, QueueSize: -1})
			held := make([]overload.Permit, tt.inFlight)
			for i := range held {
				var err error
				held[i], err = lim.Acquire(context.Background(), overload.Write)
				require.NoError(t, err)
			}
			for _, c := range tt.admitted {
				p, err := lim.Acquire(context.Background(), c)
				assert.NoError(t, err, "class %v is admitted", c)
				p.Release()
			}
			for _, c := range tt.refused {
				_, err := lim.Acquire(context.Background(), c)
				assert.ErrorIs(t, err, overload.ErrShed, "class %v is refused", c)
			}
			for _, p := range held {
				p.Release()
			}
		})
	}
}

// TestHandler_shed: a refused request gets the envelope's 503 UNAVAILABLE
// with Retry-After and never reaches the handler; health and readiness
// pass a full limit.
func TestHandler_shed(t *testing.T) {
	lim := overload.New(overload.Options{InitialLimit: 1, MinLimit: 1, MaxLimit: 1, QueueSize: -1, RetryAfter: 3 * time.Second})
	reached := 0
	h := lim.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { reached++ }))
	busy, err := lim.Acquire(context.Background(), overload.Write)
	require.NoError(t, err)
	defer busy.Release()
	tests := []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/v1/users/1", http.StatusServiceUnavailable},
		{http.MethodPost, "/v1/transfers", http.StatusServiceUnavailable},
		{http.MethodGet, "/healthz", http.StatusOK},
		{http.MethodGet, "/readyz", http.StatusOK},
	}
	for _, tt := range tests {
		before := reached
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
		require.Equal(t, tt.status, w.Code, "%s %s", tt.method, tt.path)
		if tt.status == http.StatusOK {
			assert.Equal(t, before+1, reached, "%s reaches the handler", tt.path)
			continue
		}
		assert.Equal(t, before, reached, "a refused request never reaches the handler")
		assert.Equal(t, "3", w.Header().Get("Retry-After"), "Retry-After in whole seconds")
		var body struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body), "the envelope")
		assert.Equal(t, errkind.CodeUnavailable, body.Error.Code)
	}
}

// TestWith: a middleware from With classes by its own function.
func TestWith(t *testing.T) {
	lim := overload.New(overload.Options{InitialLimit: 1, MinLimit: 1, MaxLimit: 1, QueueSize: -1})
	busy, err := lim.Acquire(context.Background(), overload.Write)
	require.NoError(t, err)
	defer busy.Release()
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	bodiless := lim.With(func(r *http.Request) overload.Class {
		if r.ContentLength != 0 {
			return overload.Critical // limited later, once its body has arrived
		}
		return overload.Read
	})(ok)
	for _, tt := range []struct {
		body   string
		status int
	}{{"", http.StatusServiceUnavailable}, {"{}", http.StatusOK}} {
		w := httptest.NewRecorder()
		bodiless.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/x", strings.NewReader(tt.body)))
		assert.Equal(t, tt.status, w.Code, "body %q", tt.body)
	}
}

// TestHandler_releasesOnPanic: a panicking handler gives its slot back.
func TestHandler_releasesOnPanic(t *testing.T) {
	lim := overload.New(overload.Options{InitialLimit: 1, MinLimit: 1, MaxLimit: 1, QueueSize: -1})
	h := lim.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	assert.Panics(t, func() { h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil)) })
	p, err := lim.Acquire(context.Background(), overload.Write)
	assert.NoError(t, err, "the slot came back")
	p.Release()
}

func TestMetrics(t *testing.T) {
	sdk := telemetrytest.New(t)
	lim := overload.New(overload.Options{InitialLimit: 4, MinLimit: 4, MaxLimit: 4, QueueSize: -1, MeterProvider: sdk.Meters})
	var held []overload.Permit
	for range 3 {
		p, err := lim.Acquire(context.Background(), overload.Write)
		require.NoError(t, err)
		held = append(held, p)
	}
	for _, c := range []overload.Class{overload.Read, overload.Admin, overload.Admin} {
		_, err := lim.Acquire(context.Background(), c) // Read may hold 3 of 4, Admin 2
		require.ErrorIs(t, err, overload.ErrShed)
	}
	sums := sdk.Sums(t)
	assert.Equal(t, int64(1), sums["svckit.overload.shed{svckit.overload.class=read}"], "shed reads")
	assert.Equal(t, int64(2), sums["svckit.overload.shed{svckit.overload.class=admin}"], "shed admin requests")
	gauges := map[string]int64{}
	for name, m := range sdk.Collect(t) {
		if g, ok := m.Data.(metricdata.Gauge[int64]); ok && len(g.DataPoints) == 1 {
			gauges[name] = g.DataPoints[0].Value
		}
	}
	assert.Equal(t, map[string]int64{"svckit.overload.limit": 4, "svckit.overload.inflight": 3, "svckit.overload.queued": 0}, gauges)
	for _, p := range held {
		p.Release()
	}
}

// TestOptions: zero, negative, huge and mixed options give a working
// limiter whose limit is within its bounds.
func TestOptions(t *testing.T) {
	tests := []struct {
		name      string
		opts      overload.Options
		wantLimit int
	}{
		{"zero", overload.Options{}, overload.DefaultInitialLimit},
		{"negative", overload.Options{InitialLimit: -1, MinLimit: -5, MaxLimit: -1, Tolerance: -2, Window: -time.Second,
			ProbeInterval: -1, QueueWait: -1, RetryAfter: -1, WriteShare: -1, ReadShare: -1, AdminShare: -1}, overload.DefaultInitialLimit},
		{"huge", overload.Options{InitialLimit: math.MaxInt, MinLimit: math.MaxInt32, MaxLimit: math.MaxInt, Tolerance: math.Inf(1),
			Window: math.MaxInt64, ProbeInterval: math.MaxInt64, QueueWait: math.MaxInt64, QueueSize: math.MaxInt,
			RetryAfter: math.MaxInt64, WriteShare: 1e9, ReadShare: math.Inf(1), AdminShare: 2}, overload.MaxLimit},
		{"max below min", overload.Options{MinLimit: 50, MaxLimit: 10}, 50},
		{"initial above max", overload.Options{InitialLimit: 500, MaxLimit: 30}, 30},
		{"tolerance below one", overload.Options{Tolerance: 0.1}, overload.DefaultInitialLimit},
		{"NaN shares", overload.Options{ReadShare: math.NaN(), Tolerance: math.NaN()}, overload.DefaultInitialLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := overload.New(tt.opts)
			assert.Equal(t, tt.wantLimit, lim.Limit())
			for _, c := range []overload.Class{overload.Critical, overload.Write, overload.Read, overload.Admin} {
				p, err := lim.Acquire(context.Background(), c)
				assert.NoError(t, err, "class %v on an empty limiter", c)
				p.Release()
			}
		})
	}
}
