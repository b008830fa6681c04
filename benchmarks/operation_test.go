package benchmarks

import (
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/examples/api/app"
	"github.com/svckit/svckit/operation"
)

// opAccount is the data of the deposit route.
type opAccount struct {
	ID       string `json:"id"`
	Currency string `json:"currency"`
	Balance  int64  `json:"balance"`
}

// opTransfer is one item of the transfers route.
type opTransfer struct {
	ID     string    `json:"id"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Amount int64     `json:"amount"`
	At     time.Time `json:"at"`
}

// opDepositBody is the body of the deposit route for the typed operation:
// its rules are its tags.
type opDepositBody struct {
	Amount int64  `json:"amount" minimum:"1" maximum:"100000000"`
	Memo   string `json:"memo,omitempty" maxLength:"140"`
}

type opDepositInput struct {
	ID   string `path:"id" minLength:"1" maxLength:"64"`
	Body opDepositBody
}

type opTransfersInput struct {
	ID     string `path:"id" minLength:"1" maxLength:"64"`
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"20"`
	Cursor string `query:"cursor" maxLength:"200"`
}

// opHandDepositBody is the same body for the route written with
// envelope.Handle: the same rules, in a Validate method, as such a
// handler writes them.
type opHandDepositBody struct {
	Amount int64  `json:"amount"`
	Memo   string `json:"memo,omitempty"`
}

func (b opHandDepositBody) Validate() error {
	var f envelope.FieldErrors
	if b.Amount < 1 || b.Amount > 100_000_000 {
		f.Add("amount", "must be between 1 and 100000000")
	}
	if utf8.RuneCountInString(b.Memo) > 140 {
		f.Add("memo", "must be at most 140 characters")
	}
	return f.Err()
}

// opHandID reads and checks the path's id as the typed operation does.
func opHandID(r *http.Request) (string, error) {
	id, err := envelope.PathValue(r, "id")
	if err != nil {
		return "", err
	}
	if n := utf8.RuneCountInString(id); n < 1 || n > 64 {
		return "", envelope.BadRequest("id must be 1 to 64 characters")
	}
	return id, nil
}

var opTransfers = []opTransfer{
	{ID: "t1", From: "a1", To: "a2", Amount: 500, At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
	{ID: "t2", From: "a2", To: "a1", Amount: 250, At: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC)},
	{ID: "t3", From: "a1", To: "a3", Amount: 125, At: time.Date(2026, 1, 2, 3, 4, 7, 0, time.UTC)},
}

// opRoutes are the two routes of BenchmarkOperation, written with
// envelope.Handle (typed=false) or as typed operations: a POST with a
// path parameter and a body, and a GET with a path parameter and two
// query parameters. Each answers the same bytes either way.
func opRoutes(typed bool) http.Handler {
	mux := http.NewServeMux()
	const deposit, transfers = "POST /v1/accounts/{id}/deposits", "GET /v1/accounts/{id}/transfers"
	if !typed {
		mux.Handle(deposit, envelope.Handle(func(r *http.Request) (opAccount, error) {
			id, err := opHandID(r)
			if err != nil {
				return opAccount{}, err
			}
			body, err := envelope.Decode[opHandDepositBody](r)
			if err != nil {
				return opAccount{}, err
			}
			return opAccount{ID: id, Currency: "EUR", Balance: body.Amount}, nil
		}))
		mux.Handle(transfers, envelope.Handle(func(r *http.Request) ([]opTransfer, error) {
			id, err := opHandID(r)
			if err != nil {
				return nil, err
			}
			q, err := envelope.Query(r)
			if err != nil {
				return nil, err
			}
			limit := 20
			var f envelope.FieldErrors
			if v, ok := q["limit"]; ok {
				n, err := strconv.Atoi(v[0])
				if err != nil || len(v) > 1 || n < 1 || n > 100 {
					f.Add("limit", "must be an integer between 1 and 100")
				}
				limit = n
			}
			if utf8.RuneCountInString(q.Get("cursor")) > 200 {
				f.Add("cursor", "must be at most 200 characters")
			}
			if err := f.Err(); err != nil {
				return nil, err
			}
			_ = id
			return opTransfers[:min(limit, len(opTransfers))], nil
		}))
		return mux
	}
	api := operation.New(operation.Options{Title: "bench", Version: "1.0.0"})
	op := operation.Operation{Method: "POST", Path: "/v1/accounts/{id}/deposits", ID: "deposit"}
	mux.Handle(op.Pattern(), operation.Handle(api, op, func(_ context.Context, in opDepositInput) (opAccount, error) {
		return opAccount{ID: in.ID, Currency: "EUR", Balance: in.Body.Amount}, nil
	}))
	op = operation.Operation{Method: "GET", Path: "/v1/accounts/{id}/transfers", ID: "listTransfers"}
	mux.Handle(op.Pattern(), operation.Handle(api, op, func(_ context.Context, in opTransfersInput) ([]opTransfer, error) {
		return opTransfers[:min(in.Limit, len(opTransfers))], nil
	}))
	api.Document()
	return mux
}

// opBody is a request body that can be read again: the benchmarks send
// one request value many times.
type opBody struct{ strings.Reader }

func (*opBody) Close() error { return nil }

// opRequest is a request that serve sends again and again to h, its
// body (if any) rewound each time.
type opRequest struct {
	req  *http.Request
	body *opBody
	text string
}

func newOpRequest(method, target, body string) *opRequest {
	r := &opRequest{req: httptest.NewRequest(method, target, nil), text: body}
	if body != "" {
		r.body = &opBody{}
		r.req.Header.Set("Content-Type", "application/json")
	}
	return r
}

// serve sends the request to h through w and returns the status.
func (r *opRequest) serve(h http.Handler, w *envDiscardWriter) int {
	if r.body != nil {
		r.body.Reset(r.text)
		r.req.Body = r.body
		r.req.ContentLength = int64(len(r.text))
	}
	w.reset()
	h.ServeHTTP(w, r.req)
	return w.status
}

// BenchmarkOperation: one route as a typed operation (operation.Handle,
// its input read and checked from its declaration) against the same route
// written with envelope.Handle (envelope.PathValue, envelope.Query,
// envelope.Decode and a Validate method holding the same rules).
func BenchmarkOperation(b *testing.B) {
	for _, route := range []struct {
		name string
		req  func() *opRequest
	}{
		{"deposit", func() *opRequest {
			return newOpRequest("POST", "/v1/accounts/a1/deposits", `{"amount":500,"memo":"rent for January"}`)
		}},
		{"transfers", func() *opRequest {
			return newOpRequest("GET", "/v1/accounts/a1/transfers?limit=3&cursor=eyJpZCI6InQwIn0", "")
		}},
	} {
		for _, impl := range []struct {
			name  string
			typed bool
		}{{"envelope.Handle", false}, {"operation.Handle", true}} {
			b.Run(route.name+"/impl="+impl.name, func(b *testing.B) {
				h, req := opRoutes(impl.typed), route.req()
				w := &envDiscardWriter{header: http.Header{}}
				b.ReportAllocs()
				cpu := processCPU()
				for b.Loop() {
					if status := req.serve(h, w); status != http.StatusOK {
						b.Fatalf("status %d", status)
					}
				}
				reportCPU(b, cpu)
			})
		}
	}
}

// opSignup is the body of ten fields of BenchmarkValidate. Its tags are
// the rules both packages read: the same JSON Schema keyword names, the
// same values.
type opSignup struct {
	Email      string   `json:"email" format:"email" maxLength:"254"`
	Name       string   `json:"name" minLength:"1" maxLength:"100"`
	Password   string   `json:"password" minLength:"12" maxLength:"128"`
	Age        int      `json:"age" minimum:"13" maximum:"150"`
	Country    string   `json:"country" pattern:"^[A-Z]{2}$"`
	Plan       string   `json:"plan" enum:"free,pro,team"`
	Seats      int      `json:"seats" minimum:"1" maximum:"1000"`
	Tags       []string `json:"tags" maxItems:"10"`
	Website    string   `json:"website" format:"uri"`
	Newsletter bool     `json:"newsletter"`
}

const (
	opSignupBody = `{"email":"ada@example.com","name":"Ada Lovelace","password":"correct horse battery",` +
		`"age":36,"country":"GB","plan":"pro","seats":5,"tags":["math","engines"],` +
		`"website":"https://example.com/ada","newsletter":true}`
	// opSignupBad breaks a rule of each of the ten members (the boolean's
	// only rule is its type).
	opSignupBad = `{"email":"ada","name":"","password":"short",` +
		`"age":7,"country":"gb","plan":"gold","seats":0,"tags":["1","2","3","4","5","6","7","8","9","10","11"],` +
		`"website":"://nope","newsletter":"yes"}`
)

// opSignupHand is opSignup for envelope.Decode, with no rules checked:
// the floor of reading and decoding the body.
type opSignupHand struct {
	Email      string   `json:"email"`
	Name       string   `json:"name"`
	Password   string   `json:"password"`
	Age        int      `json:"age"`
	Country    string   `json:"country"`
	Plan       string   `json:"plan"`
	Seats      int      `json:"seats"`
	Tags       []string `json:"tags"`
	Website    string   `json:"website"`
	Newsletter bool     `json:"newsletter"`
}

// opSignupRoute serves POST /signup, answering 204 once the body is read:
// impl says by what.
func opSignupRoute(impl string) http.Handler {
	mux := http.NewServeMux()
	switch impl {
	case "svckit":
		api := operation.New(operation.Options{Title: "bench", Version: "1.0.0"})
		op := operation.Operation{Method: "POST", Path: "/signup", ID: "signup"}
		mux.Handle(op.Pattern(), operation.Handle(api, op, func(_ context.Context, in struct{ Body opSignup }) (operation.NoContent, error) {
			return operation.NoContent{}, nil
		}))
	case "svckit-unchecked":
		mux.Handle("POST /signup", envelope.HandleNoContent(func(r *http.Request) error {
			_, err := envelope.Decode[opSignupHand](r)
			return err
		}))
	case "huma", "huma-unchecked":
		config := huma.DefaultConfig("bench", "1.0.0")
		config.Transformers = nil // no $schema link: the answer has no body anyway
		api := humago.New(mux, config)
		huma.Register(api, huma.Operation{OperationID: "signup", Method: "POST", Path: "/signup",
			DefaultStatus: http.StatusNoContent, SkipValidateBody: impl == "huma-unchecked"},
			func(_ context.Context, in *struct{ Body opSignup }) (*struct{}, error) { return nil, nil })
	}
	return mux
}

// BenchmarkValidate: a body of ten members with rules, valid
// (body=valid) and breaking all ten (body=invalid), read, checked
// against its schema and decoded by a typed operation (impl=svckit) and
// by huma v2 on the same ServeMux (impl=huma), from the same struct, its
// rules in the same tags. impl=svckit-unchecked (envelope.Decode) and
// impl=huma-unchecked (SkipValidateBody) read and decode the same body
// without the schema: the difference is what the check costs each.
func BenchmarkValidate(b *testing.B) {
	for _, body := range []struct {
		name, text string
		status     int
	}{{"valid", opSignupBody, http.StatusNoContent}, {"invalid", opSignupBad, 0}} {
		for _, impl := range []string{"svckit", "huma", "svckit-unchecked", "huma-unchecked"} {
			if body.status == 0 && strings.HasSuffix(impl, "-unchecked") {
				continue
			}
			b.Run("body="+body.name+"/impl="+impl, func(b *testing.B) {
				h, req := opSignupRoute(impl), newOpRequest("POST", "/signup", body.text)
				w := &envDiscardWriter{header: http.Header{}}
				b.ReportAllocs()
				cpu := processCPU()
				for b.Loop() {
					if status := req.serve(h, w); status != body.status && (body.status != 0 || status < 400) {
						b.Fatalf("status %d", status)
					}
				}
				reportCPU(b, cpu)
			})
		}
	}
}

// BenchmarkValidateOnly: huma's check alone, on the body already parsed
// into a map (huma.Validate, as huma calls it per request), and with the
// parse it needs first. svckit's checker reads the bytes themselves; its
// figure alone is operation's BenchmarkCheckBody, in the library.
func BenchmarkValidateOnly(b *testing.B) {
	registry := huma.NewMapRegistry("#/components/schemas/", huma.DefaultSchemaNamer)
	schema := registry.Schema(reflect.TypeFor[opSignup](), true, "")
	pb := huma.NewPathBuffer(make([]byte, 0, 64), 0)
	res := &huma.ValidateResult{}
	check := func(v any) int {
		pb.Reset()
		res.Reset()
		pb.Push("body")
		huma.Validate(registry, schema, pb, huma.ModeWriteToServer, v, res)
		return len(res.Errors)
	}
	for _, body := range []struct {
		name, text string
		errors     int
	}{{"valid", opSignupBody, 0}, {"invalid", opSignupBad, 10}} {
		b.Run("body="+body.name+"/impl=huma-parsed", func(b *testing.B) {
			var v any
			if err := json.Unmarshal([]byte(body.text), &v); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				if n := check(v); n != body.errors {
					b.Fatalf("%d errors: %v", n, res.Errors)
				}
			}
			reportCPU(b, cpu)
		})
		b.Run("body="+body.name+"/impl=huma-parse-and-check", func(b *testing.B) {
			data := []byte(body.text)
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				var v any
				if err := json.Unmarshal(data, &v); err != nil {
					b.Fatal(err)
				}
				if n := check(v); n != body.errors {
					b.Fatalf("%d errors: %v", n, res.Errors)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkExampleStart: the example service built as its binary starts
// (app.New on an in-memory SQLite database: migrations, stores, the
// routes, and the OpenAPI document built from every operation), then
// closed. doc-bytes is the size of the document.
func BenchmarkExampleStart(b *testing.B) {
	var size int
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		db, err := sql.Open("sqlite", app.SQLiteDSN(":memory:"))
		if err != nil {
			b.Fatal(err)
		}
		db.SetMaxOpenConns(1) // one connection: one in-memory database
		a, err := app.New(context.Background(), app.Config{
			DB:        db,
			Database:  app.Database{Dialect: "sqlite"},
			JWTSecret: []byte("benchmark-secret-benchmark-secret!!"),
			Logger:    slog.New(slog.DiscardHandler),
		})
		if err != nil {
			b.Fatal(err)
		}
		size = len(a.OpenAPI())
		a.Close()
		db.Close()
	}
	reportCPU(b, cpu)
	b.ReportMetric(float64(size), "doc-bytes")
}
