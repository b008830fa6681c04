package operation

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"unsafe"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/errkind"
)

// Operation declares one operation of an API: the route, what the
// document says of it, and what it may answer. Handle reads the rest (the
// parameters, the body, the data) from the Go types of its handler. The
// zero value is not valid: Method, Path and ID are required.
type Operation struct {
	// Method is the HTTP method, such as "GET".
	Method string
	// Path is the path of the http.ServeMux pattern, with its wildcards:
	// "/v1/users/{id}". Each wildcard is a field of the input tagged
	// path:"id".
	Path string
	// ID is the operationId, unique in the API: the name generated clients
	// give the call, such as "getUser".
	ID string
	// Summary is a one-line description; Description may say more, in
	// CommonMark.
	Summary, Description string
	// Tags group operations in the document; nil means none.
	Tags []string
	// Bearer says the operation needs a bearer token (401 with
	// WWW-Authenticate: Bearer otherwise). The middleware in front of the
	// handler (auth.RequireRole) enforces it; this says so in the
	// document.
	Bearer bool
	// Roles lists the roles the token must carry (403 otherwise); nil means
	// any authenticated caller.
	Roles []string
	// Errors lists the kinds of error the operation may answer with beyond
	// those its declaration implies (400 for an input, 413 and 415 for a
	// body, 401 and 403 for Bearer and Roles, 500 always) and those of
	// Options.Errors. Each becomes a documented response with its headers.
	Errors []errkind.Kind
	// Codes are the application's own errors the operation may return, such
	// as envelope.New(422, "INSUFFICIENT_FUNDS", "…"): each is read once,
	// here, for its status and code.
	Codes []error
	// Status is the status of success: 0 means 200, or 204 when the data
	// type is NoContent. A HandleResult handler may answer another status
	// only if Responses declares it.
	Status int
	// Headers are response headers the operation sets (Location,
	// Cache-Control, Idempotent-Replayed); nil means none.
	Headers []Header
	// Responses replace the one success response made from Status and the
	// data type, for an operation that answers in several ways (201 with a
	// user, 202 with an acknowledgement), or whose data type is an
	// interface. Two of one status are alternatives (oneOf).
	Responses []Response
	// Paging is the pagination meta of a list: OffsetPages,
	// CursorPages or both; 0 means none.
	Paging Paging
	// Deprecated marks the operation deprecated in the document.
	Deprecated bool
	// MaxBytes limits the body; 0 means envelope.DefaultMaxBytes. Bodies
	// over it are 413 before any of them is checked.
	MaxBytes int64
}

// Pattern returns the http.ServeMux pattern of o: "GET /v1/users/{id}".
func (o Operation) Pattern() string { return o.Method + " " + o.Path }

// Header is a response header an operation documents.
type Header struct {
	// Name is the header's name, such as "Location".
	Name string
	// Description says what it holds.
	Description string
	// Type is a value of the header's Go type, for its schema: nil means a
	// string, 0 an integer.
	Type any
	// Errors documents the header on the error responses too (as
	// Idempotent-Replayed on a replayed refusal); false means on success
	// only.
	Errors bool
}

// Response is one success response of an operation with several (see
// Operation.Responses).
type Response struct {
	// Status is the status, such as 202.
	Status int
	// Description says when it is sent; "" means the status text.
	Description string
	// Data is a value of the type of the response's data, such as User{};
	// nil means no body.
	Data any
	// ContentType is the media type of an operation registered with Raw,
	// whose handler writes its own body: the document gives Data's schema
	// as that body, with no envelope around it. "" means the envelope, as
	// application/json.
	ContentType string
}

// Paging says which pagination meta a list operation answers with.
type Paging uint8

// OffsetPages is meta.pagination {page, pageSize, total, totalPages}.
const OffsetPages Paging = 1

// CursorPages is meta.cursor {next, hasMore}.
const CursorPages Paging = 2

// NoContent is the data type of an operation that answers 204 with no
// body, such as a logout: func(ctx, In) (operation.NoContent, error).
type NoContent struct{}

// Handle registers op in api and returns its handler. Each request's path,
// query and header parameters and JSON body are read into a new In and
// checked against its schema before fn is called; a request that breaks it
// is answered with every violation at once (InputError), and fn never sees
// it. The data fn returns is written in the success envelope with op's
// status; an error is written by envelope.WriteError.
//
// In is a struct of parameters (fields tagged path:"name", query:"name"
// or header:"Name", with the rules of the schema tags) and, for an
// operation with a body, a field named Body of the body's type; a field of
// type *http.Request receives the request, for what the declaration cannot
// say. Use struct{} for an operation without input.
//
// The handler is a plain http.Handler: mount it on an *http.ServeMux at
// op.Pattern(), or on any router, behind any middleware. It does not
// recover panics (middleware.Recover does) and is safe for concurrent use
// if fn is.
//
// Handle panics, at registration, when op is invalid or repeats another
// operation's ID or route, or when In or Out cannot be described: the
// message names the operation, the type and the field. Nothing a client
// sends can make those errors happen during a request.
func Handle[In, Out any](api *API, op Operation, fn func(ctx context.Context, in In) (Out, error)) http.Handler {
	h := register[In, Out](api, op)
	return serve(h, func(w http.ResponseWriter, r *http.Request, in In) error {
		out, err := fn(r.Context(), in)
		if err != nil {
			return err
		}
		return envelope.Write(w, r, h.status, out, nil)
	})
}

// HandleResult is Handle for a handler that chooses the status, meta and
// headers of its answer, such as envelope.Created(user) or
// envelope.CursorPage(items, next). A zero Result.Status means op's
// status.
func HandleResult[In, Out any](api *API, op Operation, fn func(ctx context.Context, in In) (envelope.Result[Out], error)) http.Handler {
	h := register[In, Out](api, op)
	return serve(h, func(w http.ResponseWriter, r *http.Request, in In) error {
		res, err := fn(r.Context(), in)
		if err != nil {
			return err
		}
		for k, vs := range res.Header {
			w.Header()[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
		}
		status := res.Status
		if status == 0 {
			status = h.status
		}
		return envelope.Write(w, r, status, res.Data, res.Meta)
	})
}

// serve is the handler of an operation: it reads the input, then calls
// answer, which writes the success; an error of either is written by
// envelope.WriteError. (An error of the writing itself, once the header
// is out, is already in the writer's ErrorRecorder.)
func serve[In any](h *registered, answer func(http.ResponseWriter, *http.Request, In) error) http.Handler {
	return envelope.Track(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in In
		err := h.read(r, unsafe.Pointer(&in))
		if err == nil {
			err = answer(w, r, in)
		}
		if err != nil && !envelope.HeaderWritten(w) {
			_ = envelope.WriteError(w, r, err)
		}
	}))
}

// Raw registers op, whose handler h writes its own answer (a Prometheus
// scrape, a JWK Set, a file), and returns h unchanged: the document lists
// it with op.Responses as declared, each with its ContentType and the
// schema of its Data, no envelope around it. Such an operation takes no
// parameters and no body. Raw panics, at registration, as Handle does, and
// when op declares no Responses or one without a ContentType.
func Raw(api *API, op Operation, h http.Handler) http.Handler {
	if len(op.Responses) == 0 {
		panic("operation: " + cmpOr(op.ID, op.Pattern()) + ": Raw needs the Responses its handler writes")
	}
	for _, r := range op.Responses {
		if r.ContentType == "" {
			panic("operation: " + cmpOr(op.ID, op.Pattern()) + ": a Raw response says its ContentType")
		}
	}
	register[struct{}, any](api, op)
	return h
}

// registered is what a handler needs of its operation at request time.
type registered struct {
	in     *input
	status int
	opts   envelope.DecodeOptions
}

// register checks op and its types, adds it to api and compiles its
// reading.
func register[In, Out any](api *API, op Operation) *registered {
	inType, outType := reflect.TypeFor[In](), reflect.TypeFor[Out]()
	d, err := api.add(op, inType, outType)
	if err != nil {
		panic("operation: " + cmpOr(op.ID, op.Pattern()) + ": " + err.Error())
	}
	h := &registered{in: d.in, status: d.status}
	if b := d.in.body; b != nil {
		node := b.node
		h.opts = envelope.DecodeOptions{MaxBytes: op.MaxBytes, Check: func(data []byte) error {
			if vs := checkBody(node, data); len(vs) > 0 {
				return newInputError(vs)
			}
			return nil
		}}
	}
	return h
}

// read fills the input at dst from r: parameters, then the body, each
// violation of either collected into one InputError.
func (h *registered) read(r *http.Request, dst unsafe.Pointer) error {
	in := h.in
	if len(in.params) == 0 && in.body == nil {
		if in.requestAt >= 0 {
			*(**http.Request)(unsafe.Add(dst, in.requestAt)) = r
		}
		return nil
	}
	var c checker
	if err := in.read(r, dst, &c); err != nil {
		return err
	}
	if in.body == nil {
		if len(c.out) > 0 {
			return newInputError(c.out)
		}
		return nil
	}
	opts := h.opts
	if len(c.out) > 0 {
		// The parameters are wrong already: report the body's violations
		// with them, in one answer.
		params := c.out
		opts.Check = func(data []byte) error {
			return newInputError(append(params, checkBody(in.body.node, data)...))
		}
	}
	target := reflect.NewAt(in.body.t, unsafe.Add(dst, in.body.offset)).Interface()
	return envelope.DecodeValue(r, target, opts)
}

// validMethod reports whether m is a method an Operation may have.
func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// openAPIPath turns a ServeMux path into an OpenAPI one: {rest...} is
// {rest}, {$} goes.
func openAPIPath(p string) string {
	p = strings.ReplaceAll(p, "...}", "}")
	return strings.TrimSuffix(p, "{$}")
}
