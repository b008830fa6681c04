package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/envelope"
)

// TestResponseControllerThroughTheChain (issue 17 item 5): a handler behind
// the service's whole middleware (the outer chain, envelope.Routes and the
// /v1 chain) can still set write and read deadlines and flush through
// http.ResponseController, and envelope's adapters add no writer of their
// own behind the middleware's.
func TestResponseControllerThroughTheChain(t *testing.T) {
	a, err := New(context.Background(), Config{
		Database:     Database{Driver: "sqlite", Dialect: "sqlite", DSN: SQLiteDSN(t.TempDir() + "/chain.db")},
		JWTSecret:    []byte("chain-secret-chain-secret-chain-secret"),
		Logger:       slog.New(slog.DiscardHandler),
		PasswordCost: 64,
	})
	require.NoError(t, err, "New")
	defer a.Close()

	trackedBy := make(chan string, 1)
	mux := http.NewServeMux()
	mux.Handle("GET /v1/stream", a.apiChain().Then(envelope.Track(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trackedBy <- fmt.Sprintf("%T", w)
		rc := http.NewResponseController(w)
		for _, set := range []func(time.Time) error{rc.SetWriteDeadline, rc.SetReadDeadline} {
			if err := set(time.Now().Add(time.Minute)); err != nil {
				_ = envelope.WriteError(w, r, fmt.Errorf("deadline: %w", err))
				return
			}
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "chunk\n")
		if err := rc.Flush(); err != nil {
			_ = envelope.WriteError(w, r, fmt.Errorf("flush: %w", err))
			return
		}
		<-r.Context().Done() // the client reads the chunk, then hangs up
	}))))
	srv := httptest.NewServer(a.outer(envelope.Routes(mux)))
	defer srv.Close()

	res, err := srv.Client().Get(srv.URL + "/v1/stream")
	require.NoError(t, err, "request")
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode, "both deadlines were set through the chain")
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	require.NoError(t, err, "the chunk arrives while the handler still runs: Flush went through")
	assert.Equal(t, "chunk\n", line, "the chunk")
	assert.Equal(t, "*middleware.responseWriter", <-trackedBy, "one shared writer, no second tracker")
	assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), "the outer chain ran")
}
