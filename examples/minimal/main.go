// Command minimal is the smallest useful svckit service: one in-memory
// resource (notes) answered in the envelope, with request ids and panic
// recovery. Run it with `go run ./examples/minimal` and try
//
//	curl -s -X POST localhost:8081/notes -H 'Content-Type: application/json' -d '{"text":"hi"}'
//	curl -s localhost:8081/notes/1
package main

import (
	"log"
	"net/http"
	"strconv"
	"strings"
	"sync"

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
	id, _ := strconv.Atoi(r.PathValue("id"))
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.byID[id]
	if !ok {
		return Note{}, envelope.NotFound("note", r.PathValue("id"))
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
func newHandler() http.Handler {
	s := &notes{byID: map[int]Note{}}
	mux := http.NewServeMux()
	mux.Handle("POST /notes", envelope.HandleResult(s.create))
	mux.Handle("GET /notes/{id}", envelope.Handle(s.get))
	mux.Handle("GET /notes", envelope.Handle(s.list))
	return withMiddleware(mux)
}

// withMiddleware gives every request an id and turns panics into 500s.
func withMiddleware(h http.Handler) http.Handler {
	return middleware.Chain(middleware.RequestID, middleware.Recover).Then(h)
}

func main() {
	log.Fatal(http.ListenAndServe(":8081", newHandler()))
}
