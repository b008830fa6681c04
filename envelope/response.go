package envelope

import (
	"encoding"
	"encoding/json"
	"reflect"
	"time"

	"github.com/svckit/svckit/errkind"
)

// ContentType is the media type of every envelope response.
const ContentType = "application/json"

// Response is the body of every response: either Data or Error, never both,
// plus Meta. It marshals to
//
//	{"data": …, "meta": {…}}          when Error is nil
//	{"error": {…}, "meta": {…}}       when Error is set
//
// with "meta" left out when Meta is nil or empty. A nil slice in Data
// renders as [] so list endpoints always return an array. The zero value
// marshals to {"data":<zero T>}. Response unmarshals with encoding/json, so Go
// clients can decode it. It is a plain value, safe to share once built.
type Response[T any] struct {
	// Data is the payload of a successful response.
	Data T `json:"data"`
	// Error, when non-nil, makes this an error response and Data is not
	// rendered.
	Error *ErrorBody `json:"error,omitempty"`
	// Meta holds pagination, the timestamp and the request id.
	Meta *Meta `json:"meta,omitempty"`
}

// ErrorBody is the "error" member of an error response. Message is always
// client-safe; Details is omitted when empty.
type ErrorBody struct {
	// Code is a stable UPPER_SNAKE error code such as NOT_FOUND.
	Code string `json:"code"`
	// Message is a client-safe, human-readable description.
	Message string `json:"message"`
	// Details carries machine-readable extras (for example one entry per
	// invalid field); nil or empty means none.
	Details map[string]any `json:"details,omitempty"`
	// Violations lists every rule a refused request broke, each with the
	// JSON Pointer of its place in the request (/body/email, /query/limit),
	// when the error reports them (errkind.Violator); nil means none.
	// Details keeps its shape beside it: one message per field for
	// VALIDATION_ERROR, the first field or parameter for BAD_REQUEST.
	Violations []errkind.Violation `json:"violations,omitempty"`
}

// Meta is the "meta" member of a response. The zero value renders as
// nothing; Write and WriteError fill in Timestamp and RequestID when they
// are zero.
type Meta struct {
	// Pagination describes an offset page; nil when the data is not paged.
	Pagination *Pagination `json:"pagination,omitempty"`
	// Cursor describes a cursor page; nil when the data is not paged.
	Cursor *Cursor `json:"cursor,omitempty"`
	// Timestamp is when the response was made, rendered in RFC 3339.
	Timestamp time.Time `json:"timestamp,omitzero"`
	// RequestID echoes the request id (see WithRequestID).
	RequestID string `json:"requestId,omitempty"`
}

// Pagination is meta.pagination for offset pages. Build it with
// NewPagination so TotalPages is right.
type Pagination struct {
	// Page is the 1-based page number that was asked for.
	Page int `json:"page"`
	// PageSize is the maximum number of items on a page.
	PageSize int `json:"pageSize"`
	// Total is the number of items on all pages.
	Total int `json:"total"`
	// TotalPages is Total divided by PageSize, rounded up; 0 when Total is 0.
	TotalPages int `json:"totalPages"`
}

// Cursor is meta.cursor for cursor (keyset) pages.
type Cursor struct {
	// Next is the opaque cursor of the next page; nil (JSON null, never
	// omitted) on the last page.
	Next *string `json:"next"`
	// HasMore reports whether a next page exists.
	HasMore bool `json:"hasMore"`
}

// MarshalJSON renders r in the envelope shape described on Response.
func (r Response[T]) MarshalJSON() ([]byte, error) {
	if r.Error != nil {
		return json.Marshal(errorDoc{Error: r.Error, Meta: metaOrNil(r.Meta)})
	}
	return json.Marshal(dataDoc{Data: dataValue(any(r.Data)), Meta: metaOrNil(r.Meta)})
}

// The documents on the wire, encoded by encoding/json. A hand-written
// encoder measured no faster (BenchmarkEnvelopeWrite in benchmarks/: about
// 1650 against 1680 ns a response, with more code), so there is none.
type (
	dataDoc struct {
		Data any   `json:"data"`
		Meta *Meta `json:"meta,omitempty"`
	}
	errorDoc struct {
		Error *ErrorBody `json:"error"`
		Meta  *Meta      `json:"meta,omitempty"`
	}
)

// dataValue returns v, or [] when v is a nil slice (other than []byte, and
// unless the type marshals itself), so list endpoints always return an
// array.
func dataValue(v any) any {
	if v == nil {
		return nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice && rv.IsNil() && rv.Type().Elem().Kind() != reflect.Uint8 && !customMarshaler(v) {
		return json.RawMessage("[]")
	}
	return v
}

func customMarshaler(v any) bool {
	switch v.(type) {
	case json.Marshaler, encoding.TextMarshaler:
		return true
	}
	return false
}

// metaOrNil returns nil for a nil or empty m, which is left out.
func metaOrNil(m *Meta) *Meta {
	if m == nil || (m.Pagination == nil && m.Cursor == nil && m.Timestamp.IsZero() && m.RequestID == "") {
		return nil
	}
	return m
}
