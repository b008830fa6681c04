// Package operation declares the operations of an HTTP API once each, and
// derives from that one declaration the handler, the reading and checking
// of every request, and the API's OpenAPI 3.1 document.
//
// Start with New, register each operation with Handle (or HandleResult),
// mount the handlers on any router, and serve the document:
//
//	api := operation.New(operation.Options{Title: "Accounts", Version: "1.0.0"})
//
//	type depositInput struct {
//		ID   string `path:"id"`
//		Body struct {
//			Amount int64 `json:"amount" minimum:"1" maximum:"100000000"`
//		}
//	}
//	deposit := operation.Operation{
//		Method: "POST", Path: "/v1/accounts/{id}/deposits", ID: "deposit",
//		Summary: "Deposit into an account", Bearer: true,
//		Errors:  []errkind.Kind{errkind.NotFound},
//	}
//	mux.Handle(deposit.Pattern(), auth(operation.Handle(api, deposit,
//		func(ctx context.Context, in depositInput) (Account, error) {
//			return accounts.Deposit(ctx, in.ID, in.Body.Amount)
//		})))
//	mux.Handle("GET /openapi.json", api.Handler()) // after the last Handle
//
// The name says what the package holds: operations, OpenAPI's word for one
// method on one path. It is not a router (any router mounts its handlers,
// with every middleware of svckit unchanged) and not a framework (a handler
// is a plain function of a context and a struct).
//
// # Input
//
// The input of an operation is a struct. A field tagged path:"id",
// query:"limit" or header:"Idempotency-Key" is a parameter, read from the
// request and converted to the field's type (text, a number, a boolean, a
// type with UnmarshalText, a pointer to one for "absent or given", or in a
// query a slice of them for a repeated parameter). Path parameters are
// required; a query or header parameter is required with required:"true",
// and takes the default:"…" tag's value when absent. The field named Body
// is the JSON body, and a field of type *http.Request receives the request
// for anything else. Every other field is an error at registration.
//
// # Schemas from Go types
//
// Bodies and data are described by JSON Schema 2020-12, the dialect of
// OpenAPI 3.1, derived from their Go types the way encoding/json encodes
// them: a struct is an object of its members (embedded structs' members in
// place, a shallower or tagged field hiding another), closed to any other
// member (additionalProperties: false, since the decoder refuses unknown
// members), each member required unless tagged omitempty or omitzero; a
// pointer may also be null; slices and arrays are arrays, maps with string
// keys objects, []byte base64 text, time.Time a date-time string,
// json.RawMessage and any any value. A named struct is a component, referred
// to by $ref, which is how a recursive type refers to itself; a generic one
// is named by its arguments (Page[User] is PageUser). A type with an Enum
// method lists its values. repository.Optional[V], the field type of a
// PATCH body, is V's schema without being required: absent or a value,
// never null unless V is a pointer.
//
// Tags add rules, each named after its JSON Schema keyword: doc, example,
// deprecated, enum ("a,b,c"), format (date-time, date, email, uuid, uri,
// ipv4, ipv6), pattern, minLength, maxLength, minimum, maximum,
// exclusiveMinimum, exclusiveMaximum, multipleOf, minItems, maxItems,
// uniqueItems. A type that cannot be described (a channel, a function, a
// complex number, a map with keys that are not strings, a type with its
// own MarshalJSON) or a tag that does not fit its field makes Handle panic
// with the operation, the type and the field's path: at start-up, never
// during a request.
//
// # Checking a request
//
// Before the handler is called, each request is checked in this order:
//
//  1. path and query text envelope cannot read (NUL, invalid UTF-8, a
//     pair holding ';'): 400 BAD_REQUEST naming the parameter, as envelope
//     answers;
//  2. the content type and the size of the body: 415, then 413, before any
//     byte of it is checked;
//  3. the parameters and the body against their schemas, every violation
//     collected: 400 with error.violations listing each with the JSON
//     Pointer of its value (/query/limit, /body/email) and a stable reason
//     (the JSON Schema keyword it fails); see InputError for the code and
//     details;
//  4. envelope's strict decoding of the body: one JSON value, no member
//     named twice or by another letter case, no NUL or invalid UTF-8 in a
//     string; then the body's Validate method, if it has one, for rules
//     across fields.
//
// A body that is not well-formed JSON is left to envelope, which names the
// byte offset. The check of step 3 is a plan compiled from the schema at
// registration and walked beside the body's bytes: no document is read and
// nothing is decoded twice per request.
//
// # The document
//
// Document (or Handler, which serves it) builds the OpenAPI 3.1.0 document
// once, after the last registration: info and servers from Options, the
// bearer security scheme, and per operation its parameters, its body, its
// success response as envelope writes it ({data, meta}, with
// meta.pagination or meta.cursor for a list), and one response per error
// status it may answer with (from its declaration, Errors and Codes), with
// the error envelope, the problem+json form and their headers
// (WWW-Authenticate on 401, Retry-After and RateLimit on 429, Retry-After
// on 503).
//
// The package keeps no state of its own: everything lives in the API
// value.
package operation
