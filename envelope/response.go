package envelope

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"
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
		return appendErrorResponse(make([]byte, 0, 128), r.Error, r.Meta)
	}
	data, empty, err := marshalData(any(r.Data))
	if err != nil {
		return nil, err
	}
	return appendDataResponse(make([]byte, 0, len(data)+128), data, empty, r.Meta), nil
}

// marshalData encodes v with encoding/json. empty reports that v is a nil
// slice, which the caller renders as [] instead of null.
func marshalData(v any) (data []byte, empty bool, err error) {
	if v != nil {
		rv := reflect.ValueOf(v)
		if rv.Kind() == reflect.Slice && rv.IsNil() && rv.Type().Elem().Kind() != reflect.Uint8 && !customMarshaler(v) {
			return nil, true, nil
		}
	}
	data, err = json.Marshal(v)
	return data, false, err
}

func customMarshaler(v any) bool {
	switch v.(type) {
	case json.Marshaler, encoding.TextMarshaler:
		return true
	}
	return false
}

func appendDataResponse(b, data []byte, empty bool, m *Meta) []byte {
	b = append(b, `{"data":`...)
	if empty {
		b = append(b, '[', ']')
	} else {
		b = append(b, data...)
	}
	b = appendMetaMember(b, m)
	return append(b, '}')
}

func appendErrorResponse(b []byte, e *ErrorBody, m *Meta) ([]byte, error) {
	b = append(b, `{"error":`...)
	b, err := appendErrorBody(b, e)
	if err != nil {
		return nil, err
	}
	b = appendMetaMember(b, m)
	return append(b, '}'), nil
}

func appendErrorBody(b []byte, e *ErrorBody) ([]byte, error) {
	b = append(b, `{"code":`...)
	b = appendString(b, e.Code)
	b = append(b, `,"message":`...)
	b = appendString(b, e.Message)
	b, err := appendDetails(b, e.Details)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// appendMetaMember appends `,"meta":{…}` unless m is nil or empty.
func appendMetaMember(b []byte, m *Meta) []byte {
	if m == nil || (m.Pagination == nil && m.Cursor == nil && m.Timestamp.IsZero() && m.RequestID == "") {
		return b
	}
	b = append(b, `,"meta":`...)
	return appendMeta(b, m)
}

func appendMeta(b []byte, m *Meta) []byte {
	b = append(b, '{')
	sep := false
	comma := func() {
		if sep {
			b = append(b, ',')
		}
		sep = true
	}
	if p := m.Pagination; p != nil {
		comma()
		b = append(b, `"pagination":{"page":`...)
		b = strconv.AppendInt(b, int64(p.Page), 10)
		b = append(b, `,"pageSize":`...)
		b = strconv.AppendInt(b, int64(p.PageSize), 10)
		b = append(b, `,"total":`...)
		b = strconv.AppendInt(b, int64(p.Total), 10)
		b = append(b, `,"totalPages":`...)
		b = strconv.AppendInt(b, int64(p.TotalPages), 10)
		b = append(b, '}')
	}
	if c := m.Cursor; c != nil {
		comma()
		b = append(b, `"cursor":{"next":`...)
		if c.Next == nil {
			b = append(b, "null"...)
		} else {
			b = appendString(b, *c.Next)
		}
		b = append(b, `,"hasMore":`...)
		b = strconv.AppendBool(b, c.HasMore)
		b = append(b, '}')
	}
	if !m.Timestamp.IsZero() {
		comma()
		b = append(b, `"timestamp":"`...)
		b = m.Timestamp.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	if m.RequestID != "" {
		comma()
		b = append(b, `"requestId":`...)
		b = appendString(b, m.RequestID)
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped exactly as
// encoding/json does (HTML characters, U+2028, U+2029 and invalid UTF-8
// included).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendDetails appends `,"details":{…}` when details is not empty.
func appendDetails(b []byte, details map[string]any) ([]byte, error) {
	if len(details) == 0 {
		return b, nil
	}
	raw, err := json.Marshal(details)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"details":`...)
	return append(b, raw...), nil
}
