package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/examples/api/app"
	"github.com/svckit/svckit/internal/testdb"
)

// prometheusBinary returns the path of a Prometheus server, skipping the
// test when there is none (failing it under SVCKIT_REQUIRE_SERVICES=1).
func prometheusBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	if testdb.Required() {
		t.Fatalf("prometheus is not installed and %s=1 (apt-get install prometheus)", testdb.RequireEnv)
	}
	t.Skip("prometheus is not installed (apt-get install prometheus); skipping the end-to-end metrics test")
	return ""
}

// freePort returns a loopback address with a port free at the time of the
// call.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err, "listen")
	addr := ln.Addr().String()
	require.NoError(t, ln.Close(), "close")
	return addr
}

// promServer is a Prometheus server this test started, ended by its PID.
type promServer struct {
	addr string
	cmd  *exec.Cmd
	log  bytes.Buffer
}

// startPrometheus runs Prometheus scraping target (host:port) every second,
// with its configuration and data in a temporary directory.
func startPrometheus(t *testing.T, bin, target string) *promServer {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: api\n    metrics_path: /metrics\n    static_configs:\n      - targets: [%q]\n", target)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600), "write config")
	p := &promServer{addr: freePort(t)}
	p.cmd = exec.Command(bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+p.addr,
	)
	p.cmd.Stdout, p.cmd.Stderr = &p.log, &p.log
	require.NoError(t, p.cmd.Start(), "start prometheus")
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(os.Interrupt) // this process, by its PID
		done := make(chan struct{})
		go func() { _ = p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("prometheus log:\n%s", p.log.String())
		}
	})
	p.eventually(t, 30*time.Second, "prometheus ready", func() bool {
		res, err := http.Get("http://" + p.addr + "/-/ready")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	return p
}

func (p *promServer) eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// query runs an instant query and returns the value of its single sample,
// 0 when the result is empty.
func (p *promServer) query(t *testing.T, q string) float64 {
	t.Helper()
	res, err := http.Get("http://" + p.addr + "/api/v1/query?query=" + url.QueryEscape(q))
	require.NoError(t, err, "query %s", q)
	defer res.Body.Close()
	var out struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out), "decode answer to %s", q)
	require.Equal(t, "success", out.Status, "query %s: %s", q, out.Error)
	switch len(out.Data.Result) {
	case 0:
		return 0
	case 1:
	default:
		t.Fatalf("query %s: %d samples, want one", q, len(out.Data.Result))
	}
	s, _ := out.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err, "value of %s", q)
	return v
}

// TestPrometheusEndToEnd runs a real Prometheus scraping the service on
// loopback every second during a bounded load, then asks it the questions a
// dashboard asks: request count and rate, p99 latency, cache hit ratio and
// 429s, and checks the answers against what the load did.
func TestPrometheusEndToEnd(t *testing.T) {
	bin := prometheusBinary(t)
	const apiLimit = 40
	s := startSQLite(t, func(cfg *app.Config) { cfg.APIRateLimit = app.Rate{Limit: apiLimit, Window: time.Hour} })
	a, tokenA := s.newUser(t, "prom-a")
	_, tokenB := s.newUser(t, "prom-b")
	target := strings.TrimPrefix(s.URL, "http://")
	p := startPrometheus(t, bin, target)
	p.eventually(t, 30*time.Second, "target scraped", func() bool { return p.query(t, `up{job="api"}`) == 1 })

	const (
		notMetrics = `{job="api",http_route!="/metrics"}`
		requests   = `sum(http_server_request_duration_seconds_count` + notMetrics + `) or vector(0)`
		limited429 = `sum(http_server_request_duration_seconds_count{job="api",http_response_status_code="429"}) or vector(0)`
		decisions  = `sum(svckit_ratelimit_decisions_total{job="api",result="limited"}) or vector(0)`
		hits       = `sum(svckit_cache_requests_total{job="api",svckit_cache_name="users",result="hit"}) or vector(0)`
		cacheAll   = `sum(svckit_cache_requests_total{job="api",svckit_cache_name="users"}) or vector(0)`
	)
	time.Sleep(2500 * time.Millisecond) // two scrapes after the setup
	base := map[string]float64{}
	for _, q := range []string{requests, limited429, decisions, hits, cacheAll} {
		base[q] = p.query(t, q)
	}

	// The load: 90 requests over about 4.5 s. A reads its own user 30
	// times; B reads /v1/users/me 60 times against an API limit of 40 an
	// hour, so 20 of B's are refused 429. Every allowed read is one Get of
	// the user cache.
	const readsA, readsB = 30, 60
	const total, want429 = readsA + readsB, readsB - apiLimit
	var latencies []time.Duration
	got429 := 0
	loadStart := time.Now()
	for i := range total {
		rq := req{Method: "GET", Path: "/v1/users/me", Token: tokenB}
		if i%3 == 0 {
			rq = req{Method: "GET", Path: "/v1/users/" + a.ID, Token: tokenA}
		}
		start := time.Now()
		r := s.do(t, rq)
		latencies = append(latencies, time.Since(start))
		if r.Status == http.StatusTooManyRequests {
			got429++
		} else {
			require.Equal(t, http.StatusOK, r.Status, "an allowed read succeeds: %s", r.Raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
	loadTime := time.Since(loadStart)
	require.Equal(t, want429, got429, "the limit refused what it should")

	delta := func(q string) float64 { return p.query(t, q) - base[q] }
	p.eventually(t, 20*time.Second, "the load scraped", func() bool { return delta(requests) >= total && delta(decisions) >= want429 })
	time.Sleep(1500 * time.Millisecond) // one more scrape: nothing else arrives

	assert.Equal(t, float64(total), delta(requests), "request count: every request of the load, by route, once")
	assert.Equal(t, float64(want429), delta(limited429), "429 count from the duration histogram")
	assert.Equal(t, float64(want429), delta(decisions), "429 count from the limiter's decisions")
	allowed := float64(total - want429)
	assert.Equal(t, allowed, delta(cacheAll), "one user-cache read per allowed request")
	ratio := delta(hits) / delta(cacheAll)
	assert.GreaterOrEqual(t, ratio, (allowed-2)/allowed, "cache hit ratio: at most one miss per user")
	assert.LessOrEqual(t, ratio, 1.0, "cache hit ratio is a ratio")

	// The dashboard's request rate over the last minute: the load's
	// requests, give or take Prometheus's extrapolation at the window's
	// and the new series' edges.
	rate := p.query(t, `sum(rate(http_server_request_duration_seconds_count`+notMetrics+`[1m]))`)
	assert.InDelta(t, float64(total)/60, rate, float64(total)/60*0.5,
		"request rate over 1m (load of %d requests in %v)", total, loadTime.Round(time.Millisecond))

	// p99 from the histogram: positive, and no higher than the bucket
	// bound above the slowest request the client saw (the server's time
	// is part of the client's).
	p99 := p.query(t, `histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket`+notMetrics+`[1m])))`)
	slowest := slices.Max(latencies).Seconds()
	bound := math.Inf(1)
	for _, b := range []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10} {
		if b >= slowest {
			bound = b
			break
		}
	}
	assert.Positive(t, p99, "p99 latency is measured")
	assert.LessOrEqual(t, p99, bound, "p99 %.4fs within the bucket of the slowest request (%.4fs)", p99, slowest)
	t.Logf("prometheus: %d requests in %v, rate %.3f/s, p99 %.4fs (slowest seen by the client %.4fs), hit ratio %.3f, 429s %d",
		total, loadTime.Round(time.Millisecond), rate, p99, slowest, ratio, want429)
}
