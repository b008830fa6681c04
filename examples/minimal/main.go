// Command minimal is the smallest useful svckit service: one in-memory
// resource (notes) answered in the envelope (404 and 405 too), a health
// check, request ids, one log line per request, panic recovery, server
// timeouts and a graceful shutdown on SIGINT/SIGTERM. It listens on $ADDR
// (default :8081). Run it with `go run ./examples/minimal` and try
//
//	curl -s localhost:8081/healthz
//	curl -s -X POST localhost:8081/notes -H 'Content-Type: application/json' -d '{"text":"hi"}'
//	curl -s localhost:8081/notes/1
package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/middleware"
)

// Note is the one resource.
type Note struct {
	ID   int    `json:"id"`
	Text string `json:"text"`
}

// Validate is called by envelope.Decode: 400 VALIDATION_ERROR on failure.
func (n Note) Validate() error {
	var errs envelope.FieldErrors
	if t := strings.TrimSpace(n.Text); t == "" || len(t) > 280 {
		errs.Add("text", "must be 1 to 280 bytes")
	}
	return errs.Err()
}

// notes is an in-memory store, safe for concurrent use.
type notes struct {
	mu   sync.Mutex
	byID map[int]Note
	next int
}

func (s *notes) create(r *http.Request) (envelope.Result[Note], error) {
	n, err := envelope.Decode[Note](r)
	if err != nil {
		return envelope.Result[Note]{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	n.ID = s.next
	s.byID[n.ID] = n
	return envelope.Created(n), nil
}

func (s *notes) get(r *http.Request) (Note, error) {
	raw, err := envelope.PathValue(r, "id")
	if err != nil {
		return Note{}, err
	}
	id, _ := strconv.Atoi(raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.byID[id]
	if !ok {
		return Note{}, envelope.NotFound("note", raw)
	}
	return n, nil
}

func (s *notes) list(r *http.Request) ([]Note, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Note, 0, len(s.byID))
	for id := 1; id <= s.next; id++ {
		if n, ok := s.byID[id]; ok {
			out = append(out, n)
		}
	}
	return out, nil
}

// newHandler wires the routes and the middleware every request passes.
func newHandler(logger *slog.Logger) http.Handler {
	s := &notes{byID: map[int]Note{}}
	mux := http.NewServeMux()
	mux.Handle("POST /notes", envelope.HandleResult(s.create))
	mux.Handle("GET /notes/{id}", envelope.Handle(s.get))
	mux.Handle("GET /notes", envelope.Handle(s.list))
	// For a load balancer or an orchestrator: the process answers.
	mux.Handle("GET /healthz", envelope.Handle(func(*http.Request) (map[string]string, error) {
		return map[string]string{"status": "ok"}, nil
	}))
	return withMiddleware(logger, envelope.Routes(mux)) // 404 and 405 as envelopes
}

// withMiddleware gives every request an id and a log line, and turns panics
// into 500s logged in that line.
func withMiddleware(logger *slog.Logger, h http.Handler) http.Handler {
	return middleware.Chain(
		middleware.RequestID,
		middleware.LoggerWithOptions(middleware.LoggerOptions{Logger: logger}),
		middleware.Recover,
	).Then(h)
}

// serve answers on ln until ctx ends, then lets requests in flight finish
// for up to 10 s.
func serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	drain, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(drain); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// addr is $ADDR, else :8081.
func addr(getenv func(string) string) string {
	if a := getenv("ADDR"); a != "" {
		return a
	}
	return ":8081"
}

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", addr(os.Getenv))
	if err == nil {
		logger.Info("listening", "addr", ln.Addr().String())
		err = serve(ctx, ln, newHandler(logger))
	}
	if err != nil {
		logger.Error("minimal stopped", "err", err)
		os.Exit(1)
	}
}
