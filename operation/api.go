package operation

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"sync"

	"github.com/svckit/svckit/errkind"
)

// Options describe an API in its document. The zero value is an API titled
// "API", version "0.0.0", with no servers.
type Options struct {
	// Title is info.title; "" means "API".
	Title string
	// Version is info.version, the version of the API (not of OpenAPI);
	// "" means "0.0.0".
	Version string
	// Description is info.description, in CommonMark; "" means none.
	Description string
	// License is info.license; nil means none.
	License *License
	// Tags describe the tags operations use, in the order the document
	// lists them; a tag an operation uses and Tags does not name is listed
	// after them, without a description. Nil means none described.
	Tags []Tag
	// Servers are the base URLs the API is served at, such as
	// "https://api.example.com"; nil means none (clients use the
	// document's own origin).
	Servers []Server
	// Headers are response headers every operation's every response
	// carries, such as X-Request-Id set by middleware.RequestID; nil means
	// none.
	Headers []Header
	// Errors are the kinds of error every operation may answer with,
	// because of middleware in front of all of them (RateLimited,
	// Unavailable, Timeout); nil means none beyond each operation's own.
	Errors []errkind.Kind
	// BearerFormat is the bearerFormat of the bearer security scheme;
	// "" means "JWT".
	BearerFormat string
}

// License is the license of the API: an SPDX Identifier ("MIT") or a
// URL, and a Name.
type License struct {
	Name       string
	Identifier string
	URL        string
}

// Tag describes one tag of the document.
type Tag struct {
	Name        string
	Description string
}

// Server is one entry of the document's servers.
type Server struct {
	URL         string
	Description string
}

// API collects the operations of one service and builds their OpenAPI
// 3.1 document. Build it with New, register every operation with Handle or
// HandleResult, then call Document or Handler once: the document is built
// then, at start-up, and an operation registered afterwards panics. It is
// safe for concurrent use.
type API struct {
	opts Options

	mu     sync.Mutex
	reg    *registry
	ops    []*described
	ids    map[string]bool
	routes map[string]bool
	doc    []byte
}

// described is an operation as registered: its declaration and what was
// compiled from its types.
type described struct {
	op     Operation
	in     *input
	status int
	// success lists the success responses: status, data schema (nil for
	// no body), description.
	success []successResponse
}

type successResponse struct {
	status      int
	description string
	data        []*schema // alternatives; nil for no body
	noBody      bool
	contentType string // a Raw response's media type
}

// New returns an API described by opts.
func New(opts Options) *API {
	reg := newRegistry()
	for _, name := range standardComponents() {
		reg.byName[name] = nil // reserved: an application type of that name is qualified
	}
	return &API{opts: opts, reg: reg, ids: map[string]bool{}, routes: map[string]bool{}}
}

// ErrBuilt is reported (in a panic) by Handle and HandleResult when the
// document was already built: the document would not describe the
// operation.
var ErrBuilt = errors.New("operation: the API's document is already built")

// add checks op and the types of its handler and records it.
func (a *API) add(op Operation, inType, outType reflect.Type) (*described, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.doc != nil {
		return nil, ErrBuilt
	}
	if !validMethod(op.Method) {
		return nil, fmt.Errorf("method %q is not an HTTP method in capitals", op.Method)
	}
	if len(op.Path) == 0 || op.Path[0] != '/' {
		return nil, fmt.Errorf("path %q does not start with /", op.Path)
	}
	if op.ID == "" {
		return nil, errors.New("no ID: every operation has an operationId")
	}
	if a.ids[op.ID] {
		return nil, fmt.Errorf("ID %q is taken by another operation", op.ID)
	}
	route := op.Method + " " + openAPIPath(op.Path)
	if a.routes[route] {
		return nil, fmt.Errorf("%s is declared twice", route)
	}
	if len(op.Roles) > 0 && !op.Bearer {
		return nil, errors.New("roles without Bearer: roles are carried by a bearer token")
	}
	for _, k := range op.Errors {
		if k.HTTPStatus() == 0 {
			return nil, fmt.Errorf("error kind %v has no status", k)
		}
	}
	for _, err := range op.Codes {
		if r, ok := errkind.Inspect(err); !ok || r.Status < 400 {
			return nil, fmt.Errorf("code %v reports no error status", err)
		}
	}
	// Work on a copy of the registry, so a failed registration leaves
	// nothing behind.
	reg := a.reg.clone()
	in, err := newInput(inType, reg, pathNames(op.Path))
	if err != nil {
		return nil, err
	}
	d := &described{op: op, in: in}
	if err := d.successes(reg, outType); err != nil {
		return nil, err
	}
	c := newCompiler(reg.schemas)
	if in.body != nil {
		if in.body.node, err = c.compile(in.body.schema); err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
	}
	a.reg = reg
	a.ids[op.ID] = true
	a.routes[route] = true
	a.ops = append(a.ops, d)
	return d, nil
}

// successes works out the success responses of d from its declaration
// and its data type.
func (d *described) successes(reg *registry, outType reflect.Type) error {
	op := d.op
	if len(op.Responses) > 0 {
		byStatus := map[int]int{}
		for _, r := range op.Responses {
			if r.Status < 200 || r.Status > 299 {
				return fmt.Errorf("response status %d is not a success", r.Status)
			}
			var s *schema
			if r.Data != nil {
				var err error
				if s, err = reg.schemaOf(reflect.TypeOf(r.Data), "Responses["+strconv.Itoa(r.Status)+"]"); err != nil {
					return err
				}
			}
			i, ok := byStatus[r.Status]
			if !ok {
				i = len(d.success)
				byStatus[r.Status] = i
				d.success = append(d.success, successResponse{status: r.Status, description: r.Description, noBody: s == nil, contentType: r.ContentType})
			}
			if s != nil {
				d.success[i].data = append(d.success[i].data, s)
				d.success[i].noBody = false
			}
		}
		d.status = op.Responses[0].Status
		if op.Status != 0 {
			if _, ok := byStatus[op.Status]; !ok {
				return fmt.Errorf("status %d is not among the Responses", op.Status)
			}
			d.status = op.Status
		}
		return nil
	}
	if outType == reflect.TypeFor[NoContent]() {
		d.status = cmpOrInt(op.Status, http.StatusNoContent)
		if d.status != http.StatusNoContent {
			return fmt.Errorf("NoContent answers 204, not %d", d.status)
		}
		d.success = []successResponse{{status: d.status, noBody: true}}
		return nil
	}
	if outType.Kind() == reflect.Interface {
		return fmt.Errorf("the data type %s is an interface: declare the types it holds in Responses", outType)
	}
	d.status = cmpOrInt(op.Status, http.StatusOK)
	if d.status < 200 || d.status > 299 || d.status == http.StatusNoContent {
		return fmt.Errorf("status %d is not a success with a body", d.status)
	}
	s, err := reg.schemaOf(outType, "Out")
	if err != nil {
		return err
	}
	d.success = []successResponse{{status: d.status, data: []*schema{s}}}
	return nil
}

func cmpOrInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// clone returns a copy of g that can grow without changing g.
func (g *registry) clone() *registry {
	c := newRegistry()
	for k, v := range g.byType {
		c.byType[k] = v
	}
	for k, v := range g.byName {
		c.byName[k] = v
	}
	for k, v := range g.schemas {
		c.schemas[k] = v
	}
	c.names = append(c.names, g.names...)
	return c
}

// Document returns the OpenAPI 3.1.0 document of every registered
// operation, as JSON. The first call builds it; later calls return the
// same bytes, and registering an operation afterwards panics with
// ErrBuilt. The caller must not change the bytes.
func (a *API) Document() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.doc == nil {
		a.doc = a.build()
	}
	return a.doc
}

// Handler builds the document now (see Document) and returns a handler
// that serves it, as application/json, to GET and HEAD: mount it at
// "GET /openapi.json".
func (a *API) Handler() http.Handler {
	doc := a.Document()
	length := strconv.Itoa(len(doc))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", length)
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(doc)
		}
	})
}
