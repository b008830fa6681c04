package operation

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/svckit/svckit/errkind"
)

// ordered is a JSON object whose members keep the order they were added
// in, so the document reads in registration order and is the same bytes
// on every start.
type ordered []member

type member struct {
	key   string
	value any
}

func (o *ordered) set(key string, value any) { *o = append(*o, member{key, value}) }

func (o ordered) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(m.value)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// The components every document has: the envelope around the data, the
// error and problem documents, and the headers of the error responses.
const (
	compMeta          = "Meta"
	compOffsetMeta    = "OffsetMeta"
	compCursorMeta    = "CursorMeta"
	compPagination    = "Pagination"
	compCursor        = "Cursor"
	compError         = "Error"
	compErrorResponse = "ErrorResponse"
	compViolation     = "Violation"
	compProblem       = "Problem"
	securityScheme    = "bearerAuth"
)

func standardComponents() []string {
	return []string{compMeta, compOffsetMeta, compCursorMeta, compPagination, compCursor, compError, compErrorResponse, compViolation, compProblem}
}

func ref(name string) *schema { return &schema{Ref: componentRef(name)} }

func str(description string) *schema {
	return &schema{Type: typeList{typeString}, Description: description}
}

func integer(description string) *schema {
	return &schema{Type: typeList{typeInteger}, Format: "int64", Description: description}
}

// envelopeSchemas are the schemas of what envelope writes around the data
// and for an error: exactly its members, each required when it is always
// written.
func envelopeSchemas() map[string]*schema {
	meta := func(paging string, description string) *schema {
		s := &schema{Type: typeList{typeObject}, AdditionalProperties: &additional{}, Description: description}
		switch paging {
		case compPagination:
			s.Properties = properties{{"pagination", ref(compPagination)}}
			s.Required = []string{"pagination"}
		case compCursor:
			s.Properties = properties{{"cursor", ref(compCursor)}}
			s.Required = []string{"cursor"}
		default:
			s.Properties = properties{{"pagination", ref(compPagination)}, {"cursor", ref(compCursor)}}
		}
		s.Properties = append(s.Properties,
			property{"timestamp", &schema{Type: typeList{typeString}, Format: "date-time", Description: "when the response was made (RFC 3339)"}},
			property{"requestId", str("the request id, also sent as X-Request-Id")})
		s.Required = append(s.Required, "timestamp")
		return s
	}
	return map[string]*schema{
		compMeta:       meta("", "meta of every response: pagination or cursor on a page of a list"),
		compOffsetMeta: meta(compPagination, "meta of an offset page"),
		compCursorMeta: meta(compCursor, "meta of a cursor page"),
		compPagination: {Type: typeList{typeObject}, AdditionalProperties: &additional{}, Properties: properties{
			{"page", integer("the 1-based page asked for")},
			{"pageSize", integer("the most items a page holds")},
			{"total", integer("the items on all pages")},
			{"totalPages", integer("total divided by pageSize, rounded up")},
		}, Required: []string{"page", "pageSize", "total", "totalPages"}},
		compCursor: {Type: typeList{typeObject}, AdditionalProperties: &additional{}, Properties: properties{
			{"next", &schema{Type: typeList{typeString, typeNull}, Description: "the opaque cursor of the next page; null on the last page"}},
			{"hasMore", &schema{Type: typeList{typeBoolean}, Description: "whether a next page exists"}},
		}, Required: []string{"next", "hasMore"}},
		compViolation: {Type: typeList{typeObject}, AdditionalProperties: &additional{}, Description: "one rule the request broke", Properties: properties{
			{"location", str("JSON Pointer into the request: /body/email, /query/limit, /path/id, /header/Idempotency-Key")},
			{"reason", str("stable keyword: the JSON Schema keyword the value fails (required, type, minLength, …), null, or duplicate")},
			{"message", str("what the value must be, in English")},
		}, Required: []string{"location", "reason", "message"}},
		compError: {Type: typeList{typeObject}, AdditionalProperties: &additional{}, Properties: properties{
			{"code", str("stable UPPER_SNAKE code: NOT_FOUND, VALIDATION_ERROR, or the application's own")},
			{"message", str("client-safe description")},
			{"details", &schema{Type: typeList{typeObject}, Description: "machine-readable extras; for VALIDATION_ERROR one message per invalid field, keyed by its name"}},
			{"violations", &schema{Type: typeList{typeArray}, Items: ref(compViolation), Description: "every rule a refused request broke"}},
		}, Required: []string{"code", "message"}},
		compErrorResponse: {Type: typeList{typeObject}, AdditionalProperties: &additional{}, Properties: properties{
			{"error", ref(compError)},
			{"meta", ref(compMeta)},
		}, Required: []string{"error", "meta"}},
		compProblem: {Type: typeList{typeObject}, AdditionalProperties: &additional{}, Description: "RFC 9457 problem details, sent when Accept prefers application/problem+json", Properties: properties{
			{"type", str("URI of the problem type; about:blank by default")},
			{"title", str("the status text")},
			{"status", &schema{Type: typeList{typeInteger}, Format: "int32"}},
			{"detail", str("client-safe description")},
			{"instance", str("URI of this occurrence")},
			{"code", str("the error code")},
			{"details", &schema{Type: typeList{typeObject}}},
			{"violations", &schema{Type: typeList{typeArray}, Items: ref(compViolation)}},
			{"timestamp", &schema{Type: typeList{typeString}, Format: "date-time"}},
			{"requestId", str("the request id")},
		}, Required: []string{"type", "title", "status", "detail", "code"}},
	}
}

// errorHeaders are the headers an error status is sent with.
func errorHeaders(status int) []Header {
	switch status {
	case http.StatusUnauthorized:
		return []Header{{Name: "WWW-Authenticate", Description: `the Bearer challenge (RFC 6750), with error="invalid_token" for a token that was refused`}}
	case http.StatusTooManyRequests:
		return []Header{
			{Name: "Retry-After", Type: 0, Description: "seconds until a retry may succeed"},
			{Name: "RateLimit", Description: "the state of each policy that applied (draft-ietf-httpapi-ratelimit-headers)"},
			{Name: "RateLimit-Policy", Description: "the policies that applied"},
		}
	case http.StatusServiceUnavailable:
		return []Header{{Name: "Retry-After", Type: 0, Description: "seconds until a retry may succeed"}}
	}
	return nil
}

// errorStatus is one documented error status and its codes.
type errorStatus struct {
	status int
	codes  []string
	notes  []string
}

// errorStatuses lists the error responses of d: those its declaration
// implies, its kinds and codes, and the API's.
func (a *API) errorStatuses(d *described) []errorStatus {
	var kinds []errkind.Kind
	if len(d.in.params) > 0 || d.in.body != nil {
		kinds = append(kinds, errkind.BadRequest, errkind.Validation)
	}
	if d.in.body != nil {
		kinds = append(kinds, errkind.PayloadTooLarge, errkind.UnsupportedMediaType)
	}
	if d.op.Bearer {
		kinds = append(kinds, errkind.Unauthorized)
	}
	if len(d.op.Roles) > 0 {
		kinds = append(kinds, errkind.Forbidden)
	}
	kinds = append(kinds, d.op.Errors...)
	kinds = append(kinds, a.opts.Errors...)
	kinds = append(kinds, errkind.Internal)
	byStatus := map[int]*errorStatus{}
	add := func(status int, code, note string) {
		e, ok := byStatus[status]
		if !ok {
			e = &errorStatus{status: status}
			byStatus[status] = e
		}
		if !slices.Contains(e.codes, code) {
			e.codes = append(e.codes, code)
			e.notes = append(e.notes, note)
		}
	}
	for _, k := range kinds {
		add(k.HTTPStatus(), k.Code(), k.Message())
	}
	for _, err := range d.op.Codes {
		r, _ := errkind.Inspect(err)
		add(r.Status, r.Code, r.Message)
	}
	var out []errorStatus
	for _, e := range byStatus {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(x, y errorStatus) int { return x.status - y.status })
	return out
}

// build makes the document. It is called once, with a.mu held.
func (a *API) build() []byte {
	doc := ordered{}
	doc.set("openapi", "3.1.0")
	info := ordered{}
	info.set("title", cmpOr(a.opts.Title, "API"))
	info.set("version", cmpOr(a.opts.Version, "0.0.0"))
	if a.opts.Description != "" {
		info.set("description", a.opts.Description)
	}
	if l := a.opts.License; l != nil {
		lo := ordered{}
		lo.set("name", l.Name)
		if l.Identifier != "" {
			lo.set("identifier", l.Identifier)
		} else if l.URL != "" {
			lo.set("url", l.URL)
		}
		info.set("license", lo)
	}
	doc.set("info", info)
	if len(a.opts.Servers) > 0 {
		var servers []ordered
		for _, s := range a.opts.Servers {
			o := ordered{}
			o.set("url", s.URL)
			if s.Description != "" {
				o.set("description", s.Description)
			}
			servers = append(servers, o)
		}
		doc.set("servers", servers)
	}
	paths := ordered{}
	index := map[string]int{}
	shared := &sharedResponses{names: map[string]string{}}
	var tags []string
	described := map[string]string{}
	for _, t := range a.opts.Tags {
		tags = append(tags, t.Name)
		described[t.Name] = t.Description
	}
	var offsetOnly, cursorOnly bool // whether OffsetMeta and CursorMeta are used
	for _, d := range a.ops {
		offsetOnly = offsetOnly || d.op.Paging == OffsetPages
		cursorOnly = cursorOnly || d.op.Paging == CursorPages
		p := openAPIPath(d.op.Path)
		i, ok := index[p]
		if !ok {
			i = len(paths)
			index[p] = i
			paths.set(p, ordered{})
		}
		item := paths[i].value.(ordered)
		item.set(strings.ToLower(d.op.Method), a.operation(d, shared))
		paths[i].value = item
		for _, t := range d.op.Tags {
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
	}
	if len(tags) > 0 {
		var list []ordered
		for _, t := range tags {
			o := ordered{}
			o.set("name", t)
			if d := described[t]; d != "" {
				o.set("description", d)
			}
			list = append(list, o)
		}
		doc.set("tags", list)
	}
	doc.set("paths", paths)

	components := ordered{}
	schemas := ordered{}
	std := envelopeSchemas()
	for _, name := range standardComponents() {
		// The meta of one kind of page only when an operation pages so.
		if name == compOffsetMeta && !offsetOnly || name == compCursorMeta && !cursorOnly {
			continue
		}
		schemas.set(name, std[name])
	}
	for _, name := range a.reg.names {
		schemas.set(name, a.reg.schemas[name])
	}
	components.set("schemas", schemas)
	components.set("responses", shared.list)
	security := ordered{}
	bearer := ordered{}
	bearer.set("type", "http")
	bearer.set("scheme", "bearer")
	bearer.set("bearerFormat", cmpOr(a.opts.BearerFormat, "JWT"))
	security.set(securityScheme, bearer)
	components.set("securitySchemes", security)
	doc.set("components", components)
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		// Every value above is a plain string, number, slice or schema;
		// nothing in it can fail to encode.
		panic("operation: encode the document: " + err.Error())
	}
	return append(b, '\n')
}

// operation is the operation object of d.
func (a *API) operation(d *described, shared *sharedResponses) ordered {
	op := d.op
	o := ordered{}
	if len(op.Tags) > 0 {
		o.set("tags", op.Tags)
	}
	if op.Summary != "" {
		o.set("summary", op.Summary)
	}
	if op.Description != "" {
		o.set("description", op.Description)
	}
	o.set("operationId", op.ID)
	if len(d.in.params) > 0 {
		var params []ordered
		for _, p := range d.in.params {
			po := ordered{}
			po.set("name", p.name)
			po.set("in", p.in)
			if p.doc != "" {
				po.set("description", p.doc)
			}
			po.set("required", p.required)
			po.set("schema", p.schema)
			params = append(params, po)
		}
		o.set("parameters", params)
	}
	if b := d.in.body; b != nil {
		rb := ordered{}
		if b.schema.Description != "" {
			rb.set("description", b.schema.Description)
		}
		rb.set("required", true)
		rb.set("content", mediaTypes(map[string]*schema{"application/json": b.schema}))
		o.set("requestBody", rb)
	}
	responses := ordered{}
	for _, s := range d.success {
		responses.set(strconv.Itoa(s.status), a.successResponse(d, s))
	}
	for _, e := range a.errorStatuses(d) {
		responses.set(strconv.Itoa(e.status), shared.ref(e, a.errorResponse(d, e), d))
	}
	o.set("responses", responses)
	if op.Deprecated {
		o.set("deprecated", true)
	}
	if op.Bearer {
		roles := op.Roles
		if roles == nil {
			roles = []string{}
		}
		o.set("security", []ordered{{{securityScheme, roles}}})
	} else {
		o.set("security", []ordered{}) // says "no credentials", not "unsaid"
	}
	return o
}

func mediaTypes(m map[string]*schema) ordered {
	o := ordered{}
	for _, mt := range []string{"application/json", "application/problem+json"} {
		if s, ok := m[mt]; ok {
			c := ordered{}
			c.set("schema", s)
			o.set(mt, c)
		}
	}
	return o
}

// successResponse is the response object of one success status.
func (a *API) successResponse(d *described, s successResponse) ordered {
	r := ordered{}
	r.set("description", cmpOr(s.description, http.StatusText(s.status)))
	if h := a.headers(d, false, s.status); len(h) > 0 {
		r.set("headers", h)
	}
	if s.noBody {
		return r
	}
	if s.contentType != "" {
		data := s.data[0]
		if len(s.data) > 1 {
			data = &schema{OneOf: s.data}
		}
		c := ordered{}
		c.set("schema", data)
		content := ordered{}
		content.set(s.contentType, c)
		r.set("content", content)
		return r
	}
	data := s.data[0]
	if len(s.data) > 1 {
		data = &schema{OneOf: s.data}
	}
	meta := compMeta
	switch d.op.Paging {
	case OffsetPages:
		meta = compOffsetMeta
	case CursorPages:
		meta = compCursorMeta
	}
	wrapper := &schema{
		Type:                 typeList{typeObject},
		Properties:           properties{{"data", data}, {"meta", ref(meta)}},
		Required:             []string{"data", "meta"},
		AdditionalProperties: &additional{},
	}
	r.set("content", mediaTypes(map[string]*schema{"application/json": wrapper}))
	return r
}

// errorResponse is the response object of one error status.
func (a *API) errorResponse(d *described, e errorStatus) ordered {
	r := ordered{}
	var lines []string
	for i, code := range e.codes {
		lines = append(lines, code+": "+e.notes[i])
	}
	description := strings.Join(lines, "; ")
	if e.status == http.StatusBadRequest {
		description += ". error.violations lists every rule the request broke"
	}
	r.set("description", description)
	if h := a.headers(d, true, e.status); len(h) > 0 {
		r.set("headers", h)
	}
	r.set("content", mediaTypes(map[string]*schema{
		"application/json":         ref(compErrorResponse),
		"application/problem+json": ref(compProblem),
	}))
	return r
}

// headers is the headers object of one response.
func (a *API) headers(d *described, isError bool, status int) ordered {
	var list []Header
	list = append(list, a.opts.Headers...)
	for _, h := range d.op.Headers {
		if !isError || h.Errors {
			list = append(list, h)
		}
	}
	if isError {
		list = append(list, errorHeaders(status)...)
	}
	o := ordered{}
	seen := map[string]bool{}
	for _, h := range list {
		name := http.CanonicalHeaderKey(h.Name)
		if seen[name] {
			continue
		}
		seen[name] = true
		ho := ordered{}
		if h.Description != "" {
			ho.set("description", h.Description)
		}
		// The bearer challenge is sure only where a token is required: an
		// operation that takes one optionally, or checks a password,
		// answers 401 without it.
		if status == http.StatusUnauthorized && name == "Www-Authenticate" && d.op.Bearer || status == http.StatusTooManyRequests && name == "Retry-After" {
			ho.set("required", true)
		}
		s := str("")
		if h.Type != nil {
			if hs, err := newRegistry().schemaOf(reflect.TypeOf(h.Type), "Header "+h.Name); err == nil {
				s = hs
			}
		}
		ho.set("schema", s)
		o.set(h.Name, ho)
	}
	return o
}

// sharedResponses holds the error responses of the document as
// components, each written once and referred to by every operation that
// answers it: most operations share their 400, 401, 429 and 500.
type sharedResponses struct {
	list  ordered
	names map[string]string // name → the response's JSON
}

// ref returns a $ref to the component for response r of error status e,
// adding it if it is new. Its name is the first code in CamelCase
// (NotFound, RateLimited; UnauthorizedWithoutBearer for the 401 of an
// operation that needs no token), with the names of the operation's own
// error headers after "With", and a number after that when another
// response already has the name.
func (s *sharedResponses) ref(e errorStatus, r ordered, d *described) ordered {
	base := camel(e.codes[0])
	if e.status == http.StatusUnauthorized && !d.op.Bearer {
		base += "WithoutBearer"
	}
	var with []string
	for _, h := range d.op.Headers {
		if h.Errors {
			with = append(with, camel(h.Name))
		}
	}
	if len(with) > 0 {
		base += "With" + strings.Join(with, "")
	}
	body, _ := json.Marshal(r)
	name := base
	for n := 2; ; n++ {
		have, taken := s.names[name]
		if !taken {
			s.names[name] = string(body)
			s.list.set(name, r)
			break
		}
		if have == string(body) {
			break
		}
		name = base + strconv.Itoa(n)
	}
	o := ordered{}
	o.set("$ref", "#/components/responses/"+name)
	return o
}

// camel turns NOT_FOUND or Idempotent-Replayed into NotFound or
// IdempotentReplayed; a trailing _ERROR goes, as errkind names kinds.
func camel(s string) string {
	s = strings.TrimSuffix(s, "_ERROR")
	var b strings.Builder
	upper := true
	for _, r := range s {
		switch {
		case r == '_' || r == '-' || r == ' ':
			upper = true
		case upper:
			b.WriteString(strings.ToUpper(string(r)))
			upper = false
		default:
			b.WriteString(strings.ToLower(string(r)))
		}
	}
	return b.String()
}
