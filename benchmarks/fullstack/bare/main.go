// Command bare is the full-stack benchmark's physical limit: net/http
// answering GET /users/{id} with the same JSON from a map in memory, with
// no auth, rate limit, cache or access log.
package main

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"

	"github.com/svckit/svckit/benchmarks/fullstack/internal/bench"
)

func main() {
	cfg := bench.ParseFlags()
	users := make(map[string]bench.User, bench.Users)
	for i := range bench.Users {
		id := bench.UserID(i)
		users[id] = bench.User{ID: id, Name: fmt.Sprintf("User %d", i), Email: fmt.Sprintf("user%d@example.com", i)}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`"ok"`)) })
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		u, ok := users[r.PathValue("id")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(u)
	})
	if err := cfg.Serve(mux); err != nil {
		log.Fatal(err)
	}
}
