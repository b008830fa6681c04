package operation_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/operation"
)

type note struct {
	Title string   `json:"title" minLength:"1" maxLength:"20"`
	Body  string   `json:"body,omitempty" maxLength:"100"`
	Stars int      `json:"stars" minimum:"0" maximum:"5"`
	Tags  []string `json:"tags,omitempty" maxItems:"3"`
}

type direction string

func (direction) Enum() []any { return []any{"asc", "desc"} }

type noteInput struct {
	UserID string     `path:"id" minLength:"2"`
	Limit  int        `query:"limit" minimum:"1" maximum:"50" default:"10"`
	Order  direction  `query:"order" default:"asc"`
	Since  *time.Time `query:"since"`
	Labels []string   `query:"label" maxItems:"2"`
	Trace  string     `header:"X-Trace" required:"true" maxLength:"8"`
	Req    *http.Request
	Body   note
}

type created struct {
	UserID string    `json:"userId"`
	Limit  int       `json:"limit"`
	Order  string    `json:"order"`
	Since  time.Time `json:"since,omitzero"`
	Labels []string  `json:"labels"`
	Trace  string    `json:"trace"`
	Path   string    `json:"path"`
	Note   note      `json:"note"`
}

// server registers the notes operation and counts the calls its handler
// gets.
func server(t *testing.T) (http.Handler, *int) {
	t.Helper()
	calls := 0
	api := operation.New(operation.Options{})
	op := operation.Operation{Method: "POST", Path: "/users/{id}/notes", ID: "createNote", Status: http.StatusCreated}
	h := operation.Handle(api, op, func(_ context.Context, in noteInput) (created, error) {
		calls++
		out := created{UserID: in.UserID, Limit: in.Limit, Order: string(in.Order), Labels: in.Labels, Trace: in.Trace, Path: in.Req.URL.Path, Note: in.Body}
		if in.Since != nil {
			out.Since = *in.Since
		}
		if in.Body.Title == "boom" {
			return created{}, errkind.New(errkind.Conflict, "boom")
		}
		return out, nil
	})
	mux := http.NewServeMux()
	mux.Handle(op.Pattern(), h)
	return mux, &calls
}

type response struct {
	Status int
	Header http.Header
	Data   json.RawMessage `json:"data"`
	Error  struct {
		Code       string              `json:"code"`
		Message    string              `json:"message"`
		Details    map[string]any      `json:"details"`
		Violations []errkind.Violation `json:"violations"`
	} `json:"error"`
	Raw string
}

func send(t *testing.T, h http.Handler, method, target, body string, header map[string]string) response {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	r := response{Status: rec.Code, Header: rec.Header(), Raw: rec.Body.String()}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &r), "the body is JSON: %s", rec.Body.String())
	return r
}

var trace = map[string]string{"X-Trace": "t1"}

func TestHandleReadsInput(t *testing.T) {
	h, calls := server(t)
	r := send(t, h, "POST", "/users/u1/notes?label=a&label=b&since=2026-01-02T03:04:05Z", `{"title":"hi","stars":5}`, trace)
	require.Equal(t, 201, r.Status, "the declared status: %s", r.Raw)
	var got created
	require.NoError(t, json.Unmarshal(r.Data, &got))
	assert.Equal(t, created{
		UserID: "u1", Limit: 10, Order: "asc", Since: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Labels: []string{"a", "b"}, Trace: "t1", Path: "/users/u1/notes", Note: note{Title: "hi", Stars: 5},
	}, got, "path, query with defaults, repeated query, header, request and body are read")
	assert.Equal(t, 1, *calls, "the handler ran once")

	r = send(t, h, "POST", "/users/u1/notes?limit=50&order=desc", `{"title":"boom","stars":0}`, trace)
	assert.Equal(t, 409, r.Status, "the handler's error is written by envelope")
	assert.Equal(t, "CONFLICT", r.Error.Code)
}

func TestHandleRefusesInput(t *testing.T) {
	long := `{"title":"` + strings.Repeat("x", 2<<20) + `"}`
	tests := []struct {
		name       string
		target     string
		body       string
		header     map[string]string
		status     int
		code       string
		details    map[string]any
		violations []string // location reason
	}{
		{"body rules: VALIDATION_ERROR per field", "/users/u1/notes", `{"title":"","stars":9,"tags":["a","b","c","d"]}`, trace, 400, "VALIDATION_ERROR",
			map[string]any{"title": "must not be empty", "stars": "must be at most 5", "tags": "must have at most 3 items"},
			[]string{"/body/title minLength", "/body/stars maximum", "/body/tags maxItems"}},
		{"missing members", "/users/u1/notes", `{}`, trace, 400, "VALIDATION_ERROR",
			map[string]any{"title": "is required", "stars": "is required"},
			[]string{"/body/title required", "/body/stars required"}},
		{"unknown member: BAD_REQUEST naming it", "/users/u1/notes", `{"title":"t","stars":1,"color":"red"}`, trace, 400, "BAD_REQUEST",
			map[string]any{"field": "color"}, []string{"/body/color additionalProperties"}},
		{"wrong type: BAD_REQUEST naming it", "/users/u1/notes", `{"title":"t","stars":"many"}`, trace, 400, "BAD_REQUEST",
			map[string]any{"field": "stars", "expected": "number"}, []string{"/body/stars type"}},
		{"case-folded name", "/users/u1/notes", `{"TITLE":"t","stars":1}`, trace, 400, "BAD_REQUEST",
			map[string]any{"field": "TITLE"}, []string{"/body/TITLE additionalProperties", "/body/title required"}},
		{"repeated name", "/users/u1/notes", `{"title":"t","title":"u","stars":1}`, trace, 400, "BAD_REQUEST",
			map[string]any{"field": "title"}, []string{"/body/title duplicate"}},
		{"parameters and body at once", "/users/x/notes?limit=0&order=up&label=a&label=b&label=c", `{"title":"","stars":1}`, map[string]string{"X-Trace": "far-too-long"}, 400, "BAD_REQUEST",
			map[string]any{"param": "id"},
			[]string{"/path/id minLength", "/query/limit minimum", "/query/order enum", "/query/label maxItems", "/header/X-Trace maxLength", "/body/title minLength"}},
		{"a parameter of the wrong type", "/users/u1/notes?limit=ten&since=yesterday", `{"title":"t","stars":1}`, trace, 400, "BAD_REQUEST",
			map[string]any{"param": "limit"}, []string{"/query/limit type", "/query/since format"}},
		{"a missing required header", "/users/u1/notes", `{"title":"t","stars":1}`, nil, 400, "BAD_REQUEST",
			map[string]any{"header": "X-Trace"}, []string{"/header/X-Trace required"}},
		{"NUL in a path value: envelope's answer", "/users/a%00b/notes", `{"title":"","stars":9}`, trace, 400, "BAD_REQUEST",
			map[string]any{"param": "id"}, nil},
		{"a query that does not parse: envelope's answer", "/users/u1/notes?limit=1;x=2", `{"title":"t","stars":1}`, trace, 400, "BAD_REQUEST",
			map[string]any{"param": "limit"}, nil},
		{"NUL in a string: the strict decoder's answer", "/users/u1/notes", `{"title":"a\u0000","stars":1}`, trace, 400, "BAD_REQUEST",
			map[string]any{"field": "title"}, nil},
		{"malformed JSON: the decoder's answer with the offset", "/users/u1/notes", `{"title":"t",,}`, trace, 400, "BAD_REQUEST",
			map[string]any{"offset": float64(14)}, nil},
		{"415 before any check", "/users/u1/notes", `{"title":""}`, map[string]string{"X-Trace": "t", "Content-Type": "text/plain"}, 415, "UNSUPPORTED_MEDIA_TYPE", nil, nil},
		{"413 before any check", "/users/u1/notes", long, trace, 413, "PAYLOAD_TOO_LARGE", map[string]any{"limit": float64(envelope.DefaultMaxBytes)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, calls := server(t)
			r := send(t, h, "POST", tt.target, tt.body, tt.header)
			assert.Equal(t, tt.status, r.Status, "status: %.300s", r.Raw)
			assert.Equal(t, tt.code, r.Error.Code, "code")
			for k, v := range tt.details {
				assert.Equal(t, v, r.Error.Details[k], "details.%s", k)
			}
			var got []string
			for _, v := range r.Error.Violations {
				got = append(got, v.Location+" "+v.Reason)
				assert.NotEmpty(t, v.Message, "every violation has a message")
			}
			assert.Equal(t, tt.violations, got, "every violation, in order")
			assert.Zero(t, *calls, "the handler never sees refused input")
		})
	}
}

// recorder keeps the error envelope.WriteError hands it, as
// middleware.Logger's writer does.
type recorder struct {
	*httptest.ResponseRecorder
	err error
}

func (r *recorder) RecordError(err error) { r.err = err }

func TestInputErrorShape(t *testing.T) {
	h, _ := server(t)
	r := send(t, h, "POST", "/users/u1/notes", `{"title":"","stars":-1}`, trace)
	assert.Len(t, r.Error.Details, 2, "details keep one entry per field, nothing else")

	req := httptest.NewRequest("POST", "/users/u1/notes", strings.NewReader(`{"title":"","stars":-1}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Trace", "t")
	req.Header.Set("Accept", "application/problem+json")
	rec := &recorder{ResponseRecorder: httptest.NewRecorder()}
	h.ServeHTTP(rec, req)
	assert.Equal(t, envelope.ProblemContentType, rec.Header().Get("Content-Type"), "problem+json on request")
	var p struct {
		Code       string              `json:"code"`
		Violations []errkind.Violation `json:"violations"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
	assert.Equal(t, "VALIDATION_ERROR", p.Code)
	assert.Len(t, p.Violations, 2, "the problem document lists the violations too")

	var ie *operation.InputError
	require.True(t, errors.As(rec.err, &ie), "the error behind the answer is an *InputError: %v", rec.err)
	assert.Equal(t, errkind.Validation, ie.ErrorKind())
	assert.Equal(t, p.Violations, ie.Violations(), "its violations are the ones sent")
	assert.Contains(t, ie.Error(), "/body/title must not be empty", "its text lists them for the log")
}

// pathRouter is a router of its own, as chi is: it sets the path value
// before calling the handler.
type pathRouter struct{ h http.Handler }

func (p pathRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, "/users/")
	id, ok2 := strings.CutSuffix(id, "/notes")
	if !ok || !ok2 {
		http.NotFound(w, r)
		return
	}
	r.SetPathValue("id", id)
	p.h.ServeHTTP(w, r)
}

func TestHandleOnAnotherRouter(t *testing.T) {
	api := operation.New(operation.Options{})
	op := operation.Operation{Method: "POST", Path: "/users/{id}/notes", ID: "createNote"}
	h := operation.Handle(api, op, func(_ context.Context, in noteInput) (string, error) { return in.UserID, nil })
	r := send(t, pathRouter{h}, "POST", "/users/u7/notes", `{"title":"t","stars":1}`, trace)
	assert.Equal(t, 200, r.Status, r.Raw)
	assert.JSONEq(t, `"u7"`, string(r.Data), "a router that sets path values serves the operation")
}

type validated struct {
	From string `json:"from"`
	To   string `json:"to"`
}

func (v validated) Validate() error {
	if v.From == v.To {
		return envelope.Validation("", map[string]string{"to": "must differ from from"})
	}
	return nil
}

func TestHandleRunsValidate(t *testing.T) {
	api := operation.New(operation.Options{})
	op := operation.Operation{Method: "POST", Path: "/moves", ID: "move"}
	h := operation.Handle(api, op, func(_ context.Context, in struct{ Body validated }) (validated, error) { return in.Body, nil })
	r := send(t, h, "POST", "/moves", `{"from":"a","to":"a"}`, nil)
	assert.Equal(t, "VALIDATION_ERROR", r.Error.Code, "a rule across fields still runs, after the schema")
	assert.Equal(t, "must differ from from", r.Error.Details["to"])
	r = send(t, h, "POST", "/moves", `{"from":"a","to":"b"}`, nil)
	assert.Equal(t, 200, r.Status)
}

func TestHandleResultAndNoContent(t *testing.T) {
	api := operation.New(operation.Options{})
	list := operation.Operation{Method: "GET", Path: "/items", ID: "listItems", Paging: operation.CursorPages}
	mux := http.NewServeMux()
	mux.Handle(list.Pattern(), operation.HandleResult(api, list, func(_ context.Context, _ struct{}) (envelope.Result[[]int], error) {
		r := envelope.CursorPage([]int{1, 2}, "next")
		r.Header = http.Header{"x-total": {"2"}}
		return r, nil
	}))
	del := operation.Operation{Method: "DELETE", Path: "/items/{id}", ID: "deleteItem"}
	mux.Handle(del.Pattern(), operation.Handle(api, del, func(_ context.Context, _ struct {
		ID string `path:"id"`
	}) (operation.NoContent, error) {
		return operation.NoContent{}, nil
	}))

	r := send(t, mux, "GET", "/items", "", nil)
	assert.Equal(t, 200, r.Status)
	assert.Equal(t, "2", r.Header.Get("X-Total"), "the result's headers are set")
	assert.Contains(t, r.Raw, `"cursor":{"next":"next","hasMore":true}`, "the result's meta is written")

	req := httptest.NewRequest("DELETE", "/items/7", nil)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	assert.Equal(t, 204, rec.Code, "NoContent answers 204")
	assert.Empty(t, rec.Body.String(), "with no body")
}

type badIn struct {
	C chan int `json:"c"`
}

func TestRegistrationPanics(t *testing.T) {
	ok := func(context.Context, struct{}) (string, error) { return "", nil }
	tests := []struct {
		name string
		reg  func(api *operation.API)
		want string
	}{
		{"no ID", func(api *operation.API) {
			operation.Handle(api, operation.Operation{Method: "GET", Path: "/x"}, ok)
		}, "GET /x: no ID"},
		{"lower-case method", func(api *operation.API) {
			operation.Handle(api, operation.Operation{Method: "get", Path: "/x", ID: "x"}, ok)
		}, `x: method "get"`},
		{"repeated ID", func(api *operation.API) {
			operation.Handle(api, operation.Operation{Method: "GET", Path: "/x", ID: "x"}, ok)
			operation.Handle(api, operation.Operation{Method: "GET", Path: "/y", ID: "x"}, ok)
		}, `ID "x" is taken`},
		{"repeated route", func(api *operation.API) {
			operation.Handle(api, operation.Operation{Method: "GET", Path: "/x", ID: "x"}, ok)
			operation.Handle(api, operation.Operation{Method: "GET", Path: "/x", ID: "y"}, ok)
		}, "GET /x is declared twice"},
		{"wildcard without a field", func(api *operation.API) {
			operation.Handle(api, operation.Operation{Method: "GET", Path: "/x/{id}", ID: "x"}, ok)
		}, `the pattern has {id}, and no field is tagged path:"id"`},
		{"path field without a wildcard", func(api *operation.API) {
			operation.Handle(api, operation.Operation{Method: "GET", Path: "/x", ID: "x"}, func(context.Context, struct {
				ID string `path:"id"`
			}) (string, error) {
				return "", nil
			})
		}, `has no {id} in the pattern`},
		{"a field that is neither", func(api *operation.API) {
			operation.Handle(api, operation.Operation{Method: "GET", Path: "/x", ID: "x"}, func(context.Context, struct{ Limit int }) (string, error) { return "", nil })
		}, "In.Limit (int): a field of the input is a parameter"},
		{"input not a struct", func(api *operation.API) {
			operation.Handle(api, operation.Operation{Method: "GET", Path: "/x", ID: "x"}, func(context.Context, string) (string, error) { return "", nil })
		}, "the input must be a struct"},
		{"undescribable body", func(api *operation.API) {
			operation.Handle(api, operation.Operation{Method: "POST", Path: "/x", ID: "makeX"}, func(context.Context, struct{ Body badIn }) (string, error) { return "", nil })
		}, "operation: makeX: operation_test.badIn.C (chan int): a chan has no JSON form"},
		{"undescribable data", func(api *operation.API) {
			operation.Handle(api, operation.Operation{Method: "GET", Path: "/x", ID: "x"}, func(context.Context, struct{}) (func(), error) { return nil, nil })
		}, "Out (func()): a func has no JSON form"},
		{"interface data without Responses", func(api *operation.API) {
			operation.Handle(api, operation.Operation{Method: "GET", Path: "/x", ID: "x"}, func(context.Context, struct{}) (any, error) { return nil, nil })
		}, "is an interface: declare the types it holds in Responses"},
		{"Roles without Bearer", func(api *operation.API) {
			operation.Handle(api, operation.Operation{Method: "GET", Path: "/x", ID: "x", Roles: []string{"admin"}}, ok)
		}, "roles without Bearer"},
		{"parameter of a type that is not text", func(api *operation.API) {
			operation.Handle(api, operation.Operation{Method: "GET", Path: "/x", ID: "x"}, func(context.Context, struct {
				M map[string]string `query:"m"`
			}) (string, error) {
				return "", nil
			})
		}, "In.M (map[string]string): a parameter is text"},
		{"default breaking the rules", func(api *operation.API) {
			operation.Handle(api, operation.Operation{Method: "GET", Path: "/x", ID: "x"}, func(context.Context, struct {
				N int `query:"n" minimum:"1" default:"0"`
			}) (string, error) {
				return "", nil
			})
		}, `default "0" breaks the parameter's own rules`},
		{"after the document", func(api *operation.API) {
			api.Document()
			operation.Handle(api, operation.Operation{Method: "GET", Path: "/x", ID: "x"}, ok)
		}, operation.ErrBuilt.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := operation.New(operation.Options{})
			var msg string
			func() {
				defer func() { msg, _ = recover().(string) }()
				tt.reg(api)
			}()
			assert.Contains(t, msg, tt.want, "Handle panics at registration, naming what is wrong")
		})
	}
}

func TestFailedRegistrationLeavesNoTrace(t *testing.T) {
	api := operation.New(operation.Options{})
	func() {
		defer func() { _ = recover() }()
		operation.Handle(api, operation.Operation{Method: "POST", Path: "/x", ID: "x"}, func(context.Context, struct{ Body badIn }) (string, error) { return "", nil })
	}()
	operation.Handle(api, operation.Operation{Method: "POST", Path: "/x", ID: "x"}, func(context.Context, struct{ Body note }) (string, error) { return "", nil })
	doc := string(api.Document())
	assert.NotContains(t, doc, "BadIn", "the failed type left no component")
	assert.Contains(t, doc, `"operationId": "x"`, "the ID and route are free again")
}

func TestRaw(t *testing.T) {
	api := operation.New(operation.Options{})
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("up 1\n")) })
	h := operation.Raw(api, operation.Operation{Method: "GET", Path: "/metrics", ID: "metrics",
		Responses: []operation.Response{{Status: 200, ContentType: "text/plain; version=0.0.4", Data: ""}}}, metrics)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	assert.Equal(t, "up 1\n", rec.Body.String(), "the handler is returned as is")
	var d map[string]any
	require.NoError(t, json.Unmarshal(api.Document(), &d))
	content := d["paths"].(map[string]any)["/metrics"].(map[string]any)["get"].(map[string]any)["responses"].(map[string]any)["200"].(map[string]any)["content"]
	assert.Equal(t, map[string]any{"text/plain; version=0.0.4": map[string]any{"schema": map[string]any{"type": "string"}}}, content, "the body as written, no envelope")

	for _, op := range []operation.Operation{
		{Method: "GET", Path: "/a", ID: "a"},
		{Method: "GET", Path: "/b", ID: "b", Responses: []operation.Response{{Status: 200, Data: ""}}},
	} {
		assert.Panics(t, func() { operation.Raw(api, op, metrics) }, "%s: Raw needs Responses with a ContentType", op.ID)
	}
}

// pageQuery is a group of parameters several inputs embed.
type pageQuery struct {
	Limit  int    `query:"limit" minimum:"1" default:"20"`
	Cursor string `query:"cursor"`
}

func TestEmbeddedParameters(t *testing.T) {
	api := operation.New(operation.Options{})
	op := operation.Operation{Method: "GET", Path: "/lists/{id}", ID: "getList"}
	h := operation.Handle(api, op, func(_ context.Context, in struct {
		ID string `path:"id"`
		pageQuery
	}) (string, error) {
		return fmt.Sprint(in.ID, " ", in.Limit, " ", in.Cursor), nil
	})
	mux := http.NewServeMux()
	mux.Handle(op.Pattern(), h)
	r := send(t, mux, "GET", "/lists/l1?cursor=c2", "", nil)
	assert.JSONEq(t, `"l1 20 c2"`, string(r.Data), "an embedded group's parameters are read: %s", r.Raw)
	r = send(t, mux, "GET", "/lists/l1?limit=0", "", nil)
	assert.Equal(t, "/query/limit", r.Error.Violations[0].Location, "and checked")
	assert.Panics(t, func() {
		operation.Handle(api, operation.Operation{Method: "GET", Path: "/twice", ID: "twice"}, func(context.Context, struct {
			Limit int `query:"limit"`
			pageQuery
		}) (string, error) {
			return "", nil
		})
	}, "a parameter declared twice is refused")
}

// TestHandleRefusesPathValues: a path value that does not read as its
// type, breaks its rule or holds what envelope refuses is 400 naming the
// parameter, and the handler never runs.
func TestHandleRefusesPathValues(t *testing.T) {
	calls := 0
	api := operation.New(operation.Options{})
	op := operation.Operation{Method: "GET", Path: "/items/{n}/{day}", ID: "getItem"}
	mux := http.NewServeMux()
	mux.Handle(op.Pattern(), operation.Handle(api, op, func(_ context.Context, in struct {
		N   int64  `path:"n" minimum:"1"`
		Day string `path:"day" format:"date"`
	}) (string, error) {
		calls++
		return fmt.Sprint(in.N, " ", in.Day), nil
	}))
	tests := []struct {
		name       string
		target     string
		status     int
		code       string
		violations []string
	}{
		{"valid", "/items/7/2026-01-02", 200, "", nil},
		{"not a number", "/items/seven/2026-01-02", 400, "BAD_REQUEST", []string{"/path/n type"}},
		{"a fraction", "/items/1.5/2026-01-02", 400, "BAD_REQUEST", []string{"/path/n type"}},
		{"past int64", "/items/9223372036854775808/2026-01-02", 400, "BAD_REQUEST", []string{"/path/n format"}},
		{"below the minimum", "/items/0/2026-01-02", 400, "BAD_REQUEST", []string{"/path/n minimum"}},
		{"not a date, with a bad number", "/items/-1/2026-13-01", 400, "BAD_REQUEST", []string{"/path/n minimum", "/path/day format"}},
		{"NUL: envelope's answer", "/items/1/2026%00", 400, "BAD_REQUEST", nil},
		{"invalid UTF-8: envelope's answer", "/items/%ff/2026-01-02", 400, "BAD_REQUEST", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := calls
			r := send(t, mux, "GET", tt.target, "", nil)
			assert.Equal(t, tt.status, r.Status, "status: %s", r.Raw)
			assert.Equal(t, tt.code, r.Error.Code, "code")
			var got []string
			for _, v := range r.Error.Violations {
				got = append(got, v.Location+" "+v.Reason)
			}
			assert.Equal(t, tt.violations, got, "every violation, in order")
			if tt.status != 200 {
				assert.Equal(t, before, calls, "the handler never sees a refused request")
				assert.NotEmpty(t, r.Error.Details, "details name the parameter")
			}
		})
	}
}

// TestHandleRefusesBodyBeforeChecking: a body of the wrong content type is
// 415 and one over the limit 413, with or without a Content-Length,
// before a byte of it is checked: no violation is listed though the body
// breaks the schema.
func TestHandleRefusesBodyBeforeChecking(t *testing.T) {
	h, calls := server(t)
	bad := `{"title":"","stars":"many","color":"red"}`
	big := `{"title":"` + strings.Repeat("x", envelope.DefaultMaxBytes) + `","stars":"many"}`
	tests := []struct {
		name        string
		contentType string
		body        string
		chunked     bool
		status      int
		code        string
	}{
		{"text/plain", "text/plain", bad, false, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"no content type", "", bad, false, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"a charset other than UTF-8", "application/json; charset=latin1", bad, false, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"form data", "application/x-www-form-urlencoded", "title=x", false, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"over the limit", "application/json", big, false, 413, "PAYLOAD_TOO_LARGE"},
		{"over the limit, chunked", "application/json", big, true, 413, "PAYLOAD_TOO_LARGE"},
		{"the content type of the checks", "application/json; charset=utf-8", bad, false, 400, "BAD_REQUEST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // a reader of unknown length
			}
			req := httptest.NewRequest("POST", "/users/u1/notes", body)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			req.Header.Set("X-Trace", "t1")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var r response
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &r), "%s", rec.Body.String())
			assert.Equal(t, tt.status, rec.Code, "status: %.300s", rec.Body.String())
			assert.Equal(t, tt.code, r.Error.Code)
			if tt.status == 400 {
				assert.Len(t, r.Error.Violations, 3, "the same body, accepted as JSON, is checked: %s", rec.Body.String())
			} else {
				assert.Empty(t, r.Error.Violations, "nothing of the body was checked")
			}
			assert.Zero(t, *calls)
		})
	}
}
