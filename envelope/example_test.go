package envelope_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/svckit/svckit/envelope"
)

// fixedClock makes meta.timestamp predictable in the examples.
func fixedClock() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

// serve runs h on one request and prints the status and body.
func serve(h http.Handler, method, target, body string) {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	ctx := envelope.WithClock(req.Context(), fixedClock)
	ctx = envelope.WithRequestID(ctx, "req-1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req.WithContext(ctx))
	fmt.Println(rec.Code, rec.Body.String())
}

type transfer struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Amount int64  `json:"amount"`
}

func (t transfer) Validate() error {
	var errs envelope.FieldErrors
	if t.Amount <= 0 {
		errs.Add("amount", "must be positive")
	}
	return errs.Err()
}

// Compose a handler: decode and validate the body, then return a result or
// an error; an application's own code (422 INSUFFICIENT_FUNDS) renders like
// the standard ones.
func Example_composeHandler() {
	errInsufficientFunds := envelope.New(422, "INSUFFICIENT_FUNDS", "insufficient funds")
	h := envelope.HandleResult(func(r *http.Request) (envelope.Result[transfer], error) {
		t, err := envelope.Decode[transfer](r) // 415, 413, 400, then t.Validate()
		if err != nil {
			return envelope.Result[transfer]{}, err
		}
		if t.Amount > 100 {
			return envelope.Result[transfer]{}, errInsufficientFunds
		}
		return envelope.Created(t), nil
	})

	for _, body := range []string{`{"from":"a","to":"b","amount":5}`, `{"amount":500}`, `{"amount":0}`, `{"amout":1}`} {
		req := httptest.NewRequest("POST", "/v1/transfers", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req = req.WithContext(envelope.WithClock(req.Context(), fixedClock))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Body.String())
	}
	// Output:
	// 201 {"data":{"from":"a","to":"b","amount":5},"meta":{"timestamp":"2026-01-02T03:04:05Z"}}
	// 422 {"error":{"code":"INSUFFICIENT_FUNDS","message":"insufficient funds"},"meta":{"timestamp":"2026-01-02T03:04:05Z"}}
	// 400 {"error":{"code":"VALIDATION_ERROR","message":"request validation failed","details":{"amount":"must be positive"}},"meta":{"timestamp":"2026-01-02T03:04:05Z"}}
	// 400 {"error":{"code":"BAD_REQUEST","message":"request body has an unknown field","details":{"field":"amout"}},"meta":{"timestamp":"2026-01-02T03:04:05Z"}}
}

func ExampleHandle() {
	type user struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	h := envelope.Handle(func(r *http.Request) (user, error) {
		if id := r.URL.Query().Get("id"); id != "1" {
			return user{}, envelope.NotFound("user", id)
		}
		return user{ID: "1", Name: "Ada"}, nil
	})
	serve(h, "GET", "/v1/users?id=1", "")
	serve(h, "GET", "/v1/users?id=2", "")
	// Output:
	// 200 {"data":{"id":"1","name":"Ada"},"meta":{"timestamp":"2026-01-02T03:04:05Z","requestId":"req-1"}}
	// 404 {"error":{"code":"NOT_FOUND","message":"user not found","details":{"id":"2","resource":"user"}},"meta":{"timestamp":"2026-01-02T03:04:05Z","requestId":"req-1"}}
}

func ExamplePaginated() {
	h := envelope.HandleResult(func(r *http.Request) (envelope.Result[[]string], error) {
		page, size, err := envelope.PageQuery(r.URL.Query(), 20, 100)
		if err != nil {
			return envelope.Result[[]string]{}, err
		}
		all := []string{"a", "b", "c"}
		var items []string
		if off := envelope.Offset(page, size); off < len(all) {
			items = all[off:min(off+size, len(all))]
		}
		return envelope.Paginated(items, page, size, len(all)), nil
	})
	serve(h, "GET", "/items?page=2&pageSize=2", "")
	serve(h, "GET", "/items?page=9&pageSize=2", "")
	serve(h, "GET", "/items?pageSize=500", "")
	// Output:
	// 200 {"data":["c"],"meta":{"pagination":{"page":2,"pageSize":2,"total":3,"totalPages":2},"timestamp":"2026-01-02T03:04:05Z","requestId":"req-1"}}
	// 200 {"data":[],"meta":{"pagination":{"page":9,"pageSize":2,"total":3,"totalPages":2},"timestamp":"2026-01-02T03:04:05Z","requestId":"req-1"}}
	// 400 {"error":{"code":"VALIDATION_ERROR","message":"request validation failed","details":{"pageSize":"must be an integer from 1 to 100"}},"meta":{"timestamp":"2026-01-02T03:04:05Z","requestId":"req-1"}}
}

func ExampleCursorPage() {
	h := envelope.HandleResult(func(r *http.Request) (envelope.Result[[]int], error) {
		if r.URL.Query().Get("cursor") == "" {
			return envelope.CursorPage([]int{1, 2}, "opaque-2"), nil
		}
		return envelope.CursorPage([]int{3}, ""), nil
	})
	serve(h, "GET", "/items", "")
	serve(h, "GET", "/items?cursor=opaque-2", "")
	// Output:
	// 200 {"data":[1,2],"meta":{"cursor":{"next":"opaque-2","hasMore":true},"timestamp":"2026-01-02T03:04:05Z","requestId":"req-1"}}
	// 200 {"data":[3],"meta":{"cursor":{"next":null,"hasMore":false},"timestamp":"2026-01-02T03:04:05Z","requestId":"req-1"}}
}

// notFoundError stands for an error of a data-layer package that does not
// import envelope: it only reports its status.
type notFoundError struct{}

func (notFoundError) Error() string   { return "repository: row not found" }
func (notFoundError) HTTPStatus() int { return http.StatusNotFound }

func ExampleWriteError() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/behaviour":
			envelope.WriteError(w, r, fmt.Errorf("load user: %w", notFoundError{}))
		case "/deadline":
			envelope.WriteError(w, r, context.DeadlineExceeded)
		case "/limited":
			envelope.WriteError(w, r, envelope.RateLimited(1500*time.Millisecond))
			fmt.Print("Retry-After: ", w.Header().Get("Retry-After"), " ")
		default:
			envelope.WriteError(w, r, errors.New("pq: password authentication failed"))
		}
	})
	for _, path := range []string{"/behaviour", "/deadline", "/limited", "/unknown"} {
		serve(h, "GET", path, "")
	}
	// Output:
	// 404 {"error":{"code":"NOT_FOUND","message":"resource not found"},"meta":{"timestamp":"2026-01-02T03:04:05Z","requestId":"req-1"}}
	// 504 {"error":{"code":"TIMEOUT","message":"request timed out"},"meta":{"timestamp":"2026-01-02T03:04:05Z","requestId":"req-1"}}
	// Retry-After: 2 429 {"error":{"code":"RATE_LIMITED","message":"too many requests","details":{"retryAfter":2}},"meta":{"timestamp":"2026-01-02T03:04:05Z","requestId":"req-1"}}
	// 500 {"error":{"code":"INTERNAL_ERROR","message":"an unexpected error occurred"},"meta":{"timestamp":"2026-01-02T03:04:05Z","requestId":"req-1"}}
}

func ExampleDecode() {
	h := envelope.Handle(func(r *http.Request) (transfer, error) {
		return envelope.Decode[transfer](r)
	})
	serve(h, "POST", "/", `{"from":"a","to":"b","amount":1} {}`)
	serve(h, "POST", "/", `{"from":"a","amount":"1"}`)
	serve(h, "POST", "/", `{"from":`)
	// Output:
	// 400 {"error":{"code":"BAD_REQUEST","message":"request body must hold a single JSON value","details":{"offset":32}},"meta":{"timestamp":"2026-01-02T03:04:05Z","requestId":"req-1"}}
	// 400 {"error":{"code":"BAD_REQUEST","message":"request body has a value of the wrong type","details":{"expected":"number","field":"amount"}},"meta":{"timestamp":"2026-01-02T03:04:05Z","requestId":"req-1"}}
	// 400 {"error":{"code":"BAD_REQUEST","message":"request body ends inside a JSON value"},"meta":{"timestamp":"2026-01-02T03:04:05Z","requestId":"req-1"}}
}

// Clients that ask for application/problem+json get RFC 9457 documents.
func ExampleWriteError_problemDetails() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		envelope.WriteError(w, r, envelope.Validation("", map[string]string{"email": "invalid"}))
	})
	req := httptest.NewRequest("POST", "/v1/auth/register", nil)
	req.Header.Set("Accept", "application/problem+json")
	req = req.WithContext(envelope.WithClock(req.Context(), fixedClock))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Println(rec.Body.String())
	// Output:
	// 400 application/problem+json
	// {"type":"about:blank","title":"Bad Request","status":400,"detail":"request validation failed","code":"VALIDATION_ERROR","details":{"email":"invalid"},"timestamp":"2026-01-02T03:04:05Z"}
}

func ExampleResponse() {
	next := "b3BhcXVl"
	b, _ := json.Marshal(envelope.Response[[]string]{
		Data: []string{"x"},
		Meta: &envelope.Meta{Cursor: &envelope.Cursor{Next: &next, HasMore: true}, RequestID: "req-1"},
	})
	fmt.Println(string(b))
	b, _ = json.Marshal(envelope.Response[[]string]{Error: &envelope.ErrorBody{Code: "NOT_FOUND", Message: "user not found"}})
	fmt.Println(string(b))
	// Output:
	// {"data":["x"],"meta":{"cursor":{"next":"b3BhcXVl","hasMore":true},"requestId":"req-1"}}
	// {"error":{"code":"NOT_FOUND","message":"user not found"}}
}

func ExampleHandleNoContent() {
	h := envelope.HandleNoContent(func(r *http.Request) error {
		if r.Header.Get("Authorization") == "" {
			return envelope.Unauthorized("missing token")
		}
		return nil
	})
	req := httptest.NewRequest("POST", "/v1/auth/logout", nil)
	req.Header.Set("Authorization", "Bearer x")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Printf("%d %q\n", rec.Code, rec.Body.String())
	// Output:
	// 204 ""
}

// Track lets plain handlers detect a second response instead of appending
// it to the first.
func ExampleTrack() {
	h := envelope.Track(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		envelope.Write(w, r, http.StatusOK, "first", &envelope.Meta{Timestamp: fixedClock()})
		err := envelope.WriteError(w, r, envelope.Conflict("second"))
		fmt.Println(errors.Is(err, envelope.ErrHeaderWritten))
	}))
	req := httptest.NewRequest("GET", "/", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())
	// Output:
	// true
	// 200 {"data":"first","meta":{"timestamp":"2026-01-02T03:04:05Z"}}
}
