// Command api is svckit's example service. This first version serves only
// GET /healthz through the envelope; the full contract follows.
package main

import (
	"log"
	"net/http"
	"os"
	"time"

	"github.com/svckit/svckit/envelope"
)

type health struct {
	Status string `json:"status"`
}

func main() {
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = ":8080"
	}
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", envelope.Handle(func(*http.Request) (health, error) {
		return health{Status: "ok"}, nil
	}))
	log.Printf("listening on %s", addr)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
