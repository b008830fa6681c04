package envelope

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/internal/strictjson"
)

// DefaultMaxBytes is the request body limit of Decode: 1 MiB.
const DefaultMaxBytes = 1 << 20

// DecodeOptions configures DecodeWithOptions. The zero value is what Decode uses.
type DecodeOptions struct {
	// MaxBytes limits the body; 0 means DefaultMaxBytes, a negative value
	// means no limit.
	MaxBytes int64
	// AllowUnknownFields accepts object members that the target type does
	// not have; false (the default) rejects them.
	AllowUnknownFields bool
	// Check, when set, is called with the body once it has been read
	// within the limit and before it is decoded; an error it returns is
	// returned as is. Package operation checks the body against its schema
	// here, so every rule it breaks is reported at once. The body must not
	// be kept or changed after Check returns. Nil means no check.
	Check func(body []byte) error
}

// Decode reads one JSON value of type T from the request body with the
// default options. See DecodeWithOptions.
func Decode[T any](r *http.Request) (T, error) {
	return DecodeWithOptions[T](r, DecodeOptions{})
}

// DecodeWithOptions reads one JSON value of type T from the request body, then
// runs its Validate() error method if T or *T has one. Every failure is an
// *errkind.Error ready for WriteError, never a 500:
//
//   - Content-Type not application/json (a charset parameter must be
//     UTF-8): 415 UNSUPPORTED_MEDIA_TYPE;
//   - body over the limit: 413 PAYLOAD_TOO_LARGE, details {"limit"};
//   - empty or truncated body, a null where T is a pointer, map, slice or
//     interface: 400 BAD_REQUEST;
//   - malformed JSON or data after the value: 400 BAD_REQUEST with details
//     {"offset"}, the byte offset in the body;
//   - an unknown field: 400 BAD_REQUEST, details {"field"};
//   - a member name repeated in one object, or a name that matches a
//     struct field only when letter case is ignored ({"AMOUNT":1} for a
//     field "amount"): 400 BAD_REQUEST, details {"field", "offset"} (the
//     semantics of encoding/json/v2, where encoding/json keeps the last
//     duplicate and folds case);
//   - a string holding NUL (U+0000) or invalid UTF-8, raw or as an unpaired
//     \u surrogate escape: 400 BAD_REQUEST, details {"offset"} and
//     {"field"} when inside an object, on every database alike (encoding/json
//     would store U+FFFD for invalid UTF-8 and pass NUL through);
//   - a value of the wrong JSON type: 400 BAD_REQUEST, details {"field",
//     "expected"} (a JSON type name such as "number");
//   - Validate returning an error that reports a kind or status through
//     errkind (an *errkind.Error, FieldErrors): that error as is; an error
//     that only declares a PublicMessage: 400 VALIDATION_ERROR with that
//     message; any other error: 400 VALIDATION_ERROR with the generic
//     message, its text kept for the log only (a plain error may carry
//     anything, so it is never shown to a client).
//
// On error the returned value is the zero T. DecodeWithOptions needs no
// http.ResponseWriter, so it works inside Handle functions; net/http itself
// drains or closes a connection whose body was not read to the end.
func DecodeWithOptions[T any](r *http.Request, opts DecodeOptions) (T, error) {
	var v T
	if err := decodeInto(r, &v, reflect.TypeFor[T](), opts); err != nil {
		var zero T
		return zero, err
	}
	if err := validate(&v); err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// DecodeValue is DecodeWithOptions for a type known only at run time: it
// decodes into v, a non-nil pointer, by the same rules, then runs the
// Validate() error method of *v when it has one. On error *v is
// unspecified. Package operation decodes a request body with it into the
// body field of an operation's input.
func DecodeValue(r *http.Request, v any, opts DecodeOptions) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return Internal(errors.New("envelope: DecodeValue needs a non-nil pointer"))
	}
	if err := decodeInto(r, v, rv.Type().Elem(), opts); err != nil {
		return err
	}
	if x, ok := v.(interface{ Validate() error }); ok {
		return validationError(x.Validate())
	}
	// Only a pointer or interface *v can have Validate where v has not;
	// boxing any other *v to ask would cost an allocation per request.
	if k := rv.Elem().Kind(); (k == reflect.Pointer || k == reflect.Interface) && !rv.Elem().IsNil() {
		if x, ok := rv.Elem().Interface().(interface{ Validate() error }); ok {
			return validationError(x.Validate())
		}
	}
	return nil
}

// decodeInto reads the body of r into v, a pointer to a value of type t,
// by the rules of DecodeWithOptions, all but Validate.
func decodeInto(r *http.Request, v any, t reflect.Type, opts DecodeOptions) error {
	if !isJSONContentType(r.Header.Get("Content-Type")) {
		return UnsupportedMediaType("content type must be " + ContentType)
	}
	limit := min(cmp.Or(opts.MaxBytes, DefaultMaxBytes), math.MaxInt64-1) // read counts to limit+1
	if r.Body == nil || r.Body == http.NoBody {
		return BadRequest("request body is empty")
	}
	if limit > 0 && r.ContentLength > limit {
		return PayloadTooLarge(limit)
	}
	buf := bodyBuffers.Get().(*bodyBuffer)
	defer buf.release()
	data, err := buf.read(r.Body, r.ContentLength, limit)
	if err != nil {
		return decodeError(err)
	}
	if opts.Check != nil {
		if err := opts.Check(data); err != nil {
			return err
		}
	}
	buf.r.Reset(data)
	dec := json.NewDecoder(&buf.r)
	if !opts.AllowUnknownFields {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		return BadRequest("request body must hold a single JSON value").WithDetail("offset", end)
	}
	if err := strictjson.Check(data[:end], t); err != nil {
		return strictError(err)
	}
	if isNilValue(reflect.ValueOf(v).Elem()) {
		return BadRequest("request body must not be null")
	}
	return nil
}

// bodyBuffer is the scratch of one Decode: the body and a reader over it,
// recycled through bodyBuffers. The decoded value never points into it
// (encoding/json copies what it keeps). With it and the limit counted here
// instead of by http.MaxBytesReader, BenchmarkDecode/svckit in benchmarks/
// costs 3 allocations fewer a request.
type bodyBuffer struct {
	b []byte
	r bytes.Reader
}

// bodyBuffers holds idle bodyBuffers; a cache, invisible to callers.
var bodyBuffers = sync.Pool{New: func() any { return new(bodyBuffer) }}

func (b *bodyBuffer) release() {
	b.r.Reset(nil)
	if cap(b.b) > maxPooledBuffer {
		return
	}
	b.b = b.b[:0]
	bodyBuffers.Put(b)
}

// read reads the whole body into b, growing it at most once when
// Content-Length is known (a claimed length buys at most DefaultMaxBytes
// before any byte arrives), with one byte spare to see the end without
// growing. More than limit bytes (when limit > 0) is an
// *http.MaxBytesError, as http.MaxBytesReader reports it.
func (b *bodyBuffer) read(body io.Reader, length, limit int64) ([]byte, error) {
	size := 512
	if length > 0 {
		size = int(min(length, DefaultMaxBytes)) + 1
	}
	buf := b.b[:0]
	if cap(buf) < size {
		buf = make([]byte, 0, size)
	}
	defer func() { b.b = buf }()
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		end := cap(buf)
		if limit > 0 && int64(end) > limit+1 {
			end = int(max(limit+1, int64(len(buf))))
		}
		n, err := body.Read(buf[len(buf):end])
		buf = buf[:len(buf)+n]
		if limit > 0 && int64(len(buf)) > limit {
			return nil, &http.MaxBytesError{Limit: limit}
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func decodeError(err error) error {
	var (
		tooLarge  *http.MaxBytesError
		syntax    *json.SyntaxError
		typeError *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, io.EOF):
		return BadRequest("request body is empty")
	case errors.As(err, &tooLarge):
		return PayloadTooLarge(tooLarge.Limit)
	case errors.As(err, &syntax):
		return BadRequest("request body is not valid JSON").WithDetail("offset", syntax.Offset).Wrap(err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("request body ends inside a JSON value").Wrap(err)
	case errors.As(err, &typeError):
		e := BadRequest("request body has a value of the wrong type").WithDetail("expected", jsonType(typeError.Type))
		if typeError.Field != "" {
			e = e.WithDetail("field", typeError.Field)
		}
		return e.Wrap(err)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if unquoted, uerr := strconv.Unquote(name); uerr == nil {
			name = unquoted
		}
		return BadRequest("request body has an unknown field").WithDetail("field", name).Wrap(err)
	}
	return BadRequest("request body could not be read").Wrap(err)
}

// jsonType names the JSON type that decodes into t.
func jsonType(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return "value"
}

func isNilValue(rv reflect.Value) bool {
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

func validate[T any](v *T) error {
	var err error
	switch x := any(v).(type) {
	case interface{ Validate() error }:
		err = x.Validate()
	default:
		// Only T itself can have it now: a pointer (whose method set *T
		// lacks) or an interface. Any other T is not boxed to ask, which
		// would cost an allocation per request.
		if k := reflect.TypeFor[T]().Kind(); k != reflect.Pointer && k != reflect.Interface {
			break
		}
		if y, ok := any(*v).(interface{ Validate() error }); ok {
			err = y.Validate()
		}
	}
	return validationError(err)
}

// validationError is what a Validate method's error becomes: itself when
// it reports a kind or status, else a 400 VALIDATION_ERROR.
func validationError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := errkind.Inspect(err); ok {
		return err
	}
	msg := messageOf(CodeValidation, http.StatusBadRequest)
	var pm interface {
		error
		errkind.PublicMessager
	}
	if errors.As(err, &pm) && pm.PublicMessage() != "" {
		msg = pm.PublicMessage()
	}
	return &errkind.Error{Kind: errkind.Validation, Message: msg, Err: err}
}

// isJSONContentType accepts application/json with optional parameters; a
// charset parameter must name UTF-8.
func isJSONContentType(ct string) bool {
	mt, params, _ := strings.Cut(ct, ";")
	if !strings.EqualFold(strings.TrimSpace(mt), ContentType) {
		return false
	}
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "charset") {
			v = strings.Trim(strings.TrimSpace(v), `"`)
			if !strings.EqualFold(v, "utf-8") && !strings.EqualFold(v, "utf8") {
				return false
			}
		}
	}
	return true
}

// FieldErrors collects one client-safe message per invalid field. As an
// error it renders as 400 VALIDATION_ERROR with the messages as details, so
// a Validate method can simply return errs.Err(). The zero value is empty
// and ready to use; it is not safe for concurrent use.
type FieldErrors map[string]string

// Add records message for field, keeping the first message of a field.
func (f *FieldErrors) Add(field, message string) {
	if *f == nil {
		*f = FieldErrors{}
	}
	if _, ok := (*f)[field]; !ok {
		(*f)[field] = message
	}
}

// Err returns f as an error, or nil when f is empty.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return f
}

// Error lists the fields and messages in field order.
func (f FieldErrors) Error() string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("envelope: validation failed")
	for i, k := range keys {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(k + ": " + f[k])
	}
	return b.String()
}

var (
	_ errkind.Kinder   = FieldErrors(nil)
	_ errkind.Detailer = FieldErrors(nil)
)

// ErrorKind returns errkind.Validation.
func (f FieldErrors) ErrorKind() errkind.Kind { return errkind.Validation }

// ErrorDetails returns the field messages.
func (f FieldErrors) ErrorDetails() map[string]any {
	d := make(map[string]any, len(f))
	for k, v := range f {
		d[k] = v
	}
	return d
}

// strictError renders what strictjson refuses in a body as 400 BAD_REQUEST,
// naming the member and the offset in its details.
func strictError(err *strictjson.Error) *Error {
	var e *Error
	switch err.Reason {
	case strictjson.Duplicate:
		e = BadRequest("request body repeats a field")
	case strictjson.CaseVariant:
		e = BadRequest("request body has a field whose name differs from a known field only by letter case")
	case strictjson.NUL:
		e = BadRequest("request body has a string with a NUL character")
	default:
		e = BadRequest("request body has a string with invalid UTF-8")
	}
	if err.HasField {
		e = e.WithDetail("field", err.Field)
	}
	return e.WithDetail("offset", err.Offset)
}
