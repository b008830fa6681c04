package overload_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/svckit/svckit/overload"
)

// A limiter in front of a mux. Here its limit is one request and it has no
// queue, so that one request in flight fills it: the next API request is
// refused with 503 UNAVAILABLE and Retry-After, the health check passes.
func Example() {
	lim := overload.New(overload.Options{InitialLimit: 1, MinLimit: 1, MaxLimit: 1, QueueSize: -1})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	mux.HandleFunc("POST /v1/transfers", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "done") })
	h := lim.Handler(mux)

	busy, _ := lim.Acquire(context.Background(), overload.Write) // a request in flight
	for _, req := range []*http.Request{
		httptest.NewRequest(http.MethodPost, "/v1/transfers", nil),
		httptest.NewRequest(http.MethodGet, "/healthz", nil),
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		var body struct {
			Error struct{ Code string } `json:"error"`
		}
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		fmt.Println(req.URL.Path, w.Code, w.Header().Get("Retry-After"), body.Error.Code)
	}
	busy.Release()
	// Output:
	// /v1/transfers 503 1 UNAVAILABLE
	// /healthz 200
}

// Acquire and Release guard work that is not HTTP, such as a consumer's
// handler: the limit adapts to how long the work takes.
func ExampleLimiter_Acquire() {
	lim := overload.New(overload.Options{})
	p, err := lim.Acquire(context.Background(), overload.Write)
	if err != nil {
		fmt.Println("refused:", err) // wraps overload.ErrShed; retry later
		return
	}
	defer p.Release()
	fmt.Println("admitted; limit", lim.Limit())
	// Output:
	// admitted; limit 20
}
