package app

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTracesWanted(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"nothing set: off, no error", nil, false},
		{"endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true},
		{"traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, true},
		{"exporter none", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_TRACES_EXPORTER": "none"}, false},
		{"sdk disabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "TRUE"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tracesWanted(func(k string) string { return tc.env[k] }), "trace export switch")
		})
	}
}

// TestRedisLog: go-redis's log lines become WARN records of the given
// logger, their "redis: " prefix dropped, at most one per redisLogEvery,
// the next saying how many were left out.
func TestRedisLog(t *testing.T) {
	var buf bytes.Buffer
	l := newRedisLog(slog.New(slog.NewJSONHandler(&buf, nil)))
	now := time.Unix(1_700_000_000, 0)
	l.now = func() time.Time { return now }
	line := "redis: connection pool: failed to dial after %d attempts: %v"
	records := func() []map[string]any {
		var out []map[string]any
		for _, raw := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
			var rec map[string]any
			require.NoError(t, json.Unmarshal(raw, &rec), "a JSON record: %s", raw)
			out = append(out, rec)
		}
		return out
	}

	l.Printf(context.Background(), line, 5, "refused")
	now = now.Add(redisLogEvery - time.Nanosecond)
	l.Printf(context.Background(), line, 5, "refused")
	l.Printf(context.Background(), line, 5, "refused")
	got := records()
	require.Len(t, got, 1, "one record within redisLogEvery")
	assert.Equal(t, "WARN", got[0]["level"], "level")
	assert.Equal(t, "redis client", got[0]["msg"], "message")
	assert.Equal(t, "connection pool: failed to dial after 5 attempts: refused", got[0]["detail"], "the line")
	assert.NotContains(t, got[0], "suppressed", "nothing left out yet")

	now = now.Add(time.Nanosecond)
	l.Printf(context.Background(), line, 5, "reset")
	got = records()
	require.Len(t, got, 2, "the next record once redisLogEvery has passed")
	assert.Equal(t, "connection pool: failed to dial after 5 attempts: reset", got[1]["detail"], "the line")
	assert.EqualValues(t, 2, got[1]["suppressed"], "the lines left out in between")
}
