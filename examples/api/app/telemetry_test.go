package app_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/examples/api/app"
)

// scrape reads GET /metrics and returns its families by name.
func scrape(t testing.TB, s *server) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	res, err := s.Client.Get(s.URL + "/metrics")
	require.NoError(t, err, "GET /metrics")
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode, "GET /metrics is served")
	assert.Contains(t, res.Header.Get("Content-Type"), "text/plain", "Prometheus text format")
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err, "read /metrics")
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(raw))
	require.NoError(t, err, "/metrics parses as Prometheus text: %s", raw)
	return fams, string(raw)
}

// sample returns the value of the series of family name whose labels
// include want (a counter's value, a histogram's count), and whether it
// exists.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

func TestMetricsEndpoint(t *testing.T) {
	s := startSQLite(t, func(cfg *app.Config) { cfg.APIRateLimit = app.Rate{Limit: 30, Window: time.Minute} })
	u, token := s.newUser(t, "metrics")
	const reads = 5
	for range reads {
		s.expect(t, req{Method: "GET", Path: "/v1/users/" + u.ID, Token: token}, http.StatusOK, "")
	}
	limited := 0
	for range 40 {
		if r := s.do(t, req{Method: "GET", Path: "/v1/users/me", Token: token}); r.Status == http.StatusTooManyRequests {
			limited++
		}
	}
	require.Positive(t, limited, "the API limit refused some requests")

	fams, raw := scrape(t, s)
	n, ok := sample(fams, "http_server_request_duration_seconds", map[string]string{
		"http_route": "/v1/users/{id}", "http_request_method": "GET", "http_response_status_code": "200",
	})
	assert.True(t, ok, "request durations by route pattern")
	assert.Equal(t, float64(reads), n, "one measurement per read")
	n, _ = sample(fams, "http_server_request_duration_seconds", map[string]string{"http_route": "/v1/users/me", "http_response_status_code": "429"})
	assert.Equal(t, float64(limited), n, "the 429s under their route")
	n, _ = sample(fams, "svckit_ratelimit_decisions_total", map[string]string{"svckit_ratelimit_policy": "api", "result": "limited"})
	assert.Equal(t, float64(limited), n, "limited decisions of the api policy")
	hits, _ := sample(fams, "svckit_cache_requests_total", map[string]string{"svckit_cache_name": "users", "result": "hit"})
	misses, _ := sample(fams, "svckit_cache_requests_total", map[string]string{"svckit_cache_name": "users", "result": "miss"})
	assert.Positive(t, hits, "user cache hits")
	assert.Positive(t, misses, "user cache misses")
	_, ok = sample(fams, "svckit_cache_loads_total", map[string]string{"svckit_cache_name": "users", "result": "ok"})
	assert.True(t, ok, "user cache loads")
	assert.NotContains(t, raw, u.ID, "no id in any label")
	assert.NotContains(t, raw, u.Email, "no email in any label")
}

func TestMetricsTransferAndIdempotency(t *testing.T) {
	s := startSQLite(t, nil)
	_, token := s.newUser(t, "txnmetrics")
	from := s.newAccount(t, token, "USD", 1000)
	_, other := s.newUser(t, "txnmetrics2")
	to := s.newAccount(t, other, "USD", 0)
	move := func(amount int) map[string]any {
		return map[string]any{"fromAccountId": from.ID, "toAccountId": to.ID, "amount": amount}
	}
	key := map[string]string{"Idempotency-Key": "metrics-1"}
	s.expect(t, req{Method: "POST", Path: "/v1/transfers", Token: token, Body: move(100), Header: key}, http.StatusCreated, "")
	s.expect(t, req{Method: "POST", Path: "/v1/transfers", Token: token, Body: move(100), Header: key}, http.StatusCreated, "")
	r := s.do(t, req{Method: "POST", Path: "/v1/transfers", Token: token, Body: move(200), Header: key})
	require.GreaterOrEqual(t, r.Status, 400, "the same key with another body is refused")

	fams, raw := scrape(t, s)
	for _, tt := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"svckit_txn_transactions_total", map[string]string{"result": "committed"}, 1},
		{"svckit_txn_attempts_total", nil, 1},
		{"svckit_idempotency_requests_total", map[string]string{"result": "claimed"}, 1},
		{"svckit_idempotency_requests_total", map[string]string{"result": "replayed"}, 1},
		{"svckit_idempotency_requests_total", map[string]string{"result": "mismatch"}, 1},
	} {
		v, ok := sample(fams, tt.name, tt.labels)
		assert.True(t, ok, "%s%v is exported: %s", tt.name, tt.labels, raw)
		assert.GreaterOrEqual(t, v, tt.min, "%s%v", tt.name, tt.labels)
	}
}
