package envelope

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/errkind"
)

type signup struct {
	Email string   `json:"email"`
	Age   int      `json:"age"`
	Tags  []string `json:"tags"`
}

func jsonRequest(body, contentType string) *http.Request {
	r := httptest.NewRequest("POST", "/", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		contentType string
		status      int
		code        string
		details     map[string]any
	}{
		{"valid", `{"email":"a@b.c","age":3}`, "application/json", 0, "", nil},
		{"charset utf-8", `{"email":"a"}`, "application/json; charset=UTF-8", 0, "", nil},
		{"quoted charset and other params", `{}`, `Application/JSON ; foo=bar; charset="utf-8"`, 0, "", nil},
		{"trailing whitespace", "{}\n\t ", "application/json", 0, "", nil},
		{"missing content type", `{}`, "", 415, CodeUnsupportedMediaType, nil},
		{"text/plain", `{}`, "text/plain", 415, CodeUnsupportedMediaType, nil},
		{"json suffix type", `{}`, "application/merge-patch+json", 415, CodeUnsupportedMediaType, nil},
		{"prefix lookalike", `{}`, "application/jsonx", 415, CodeUnsupportedMediaType, nil},
		{"other charset", `{}`, "application/json; charset=latin1", 415, CodeUnsupportedMediaType, nil},
		{"empty body", ``, "application/json", 400, CodeBadRequest, nil},
		{"whitespace body", "  \n", "application/json", 400, CodeBadRequest, nil},
		{"malformed", `{"email":}`, "application/json", 400, CodeBadRequest, map[string]any{"offset": 10.0}},
		{"truncated", `{"email":"a"`, "application/json", 400, CodeBadRequest, nil},
		{"unknown field", `{"email":"a","admin":true}`, "application/json", 400, CodeBadRequest, map[string]any{"field": "admin"}},
		{"wrong type", `{"age":"three"}`, "application/json", 400, CodeBadRequest, map[string]any{"field": "age", "expected": "number"}},
		{"wrong type in array", `{"tags":[1]}`, "application/json", 400, CodeBadRequest, map[string]any{"field": "tags", "expected": "string"}},
		{"top-level wrong type", `[1,2]`, "application/json", 400, CodeBadRequest, map[string]any{"expected": "object"}},
		{"trailing value", `{}{}`, "application/json", 400, CodeBadRequest, map[string]any{"offset": 2.0}},
		{"trailing garbage", `{} x`, "application/json", 400, CodeBadRequest, map[string]any{"offset": 2.0}},
		{"trailing close brace", `{}}`, "application/json", 400, CodeBadRequest, map[string]any{"offset": 2.0}},
		{"null into a struct is an empty object", `null`, "application/json", 0, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Decode[signup](jsonRequest(tt.body, tt.contentType))
			if tt.status == 0 {
				require.NoError(t, err, "valid body")
				return
			}
			var e *errkind.Error
			require.ErrorAs(t, err, &e, "failures are *errkind.Error")
			assert.Equal(t, tt.status, e.HTTPStatus(), "status")
			assert.Equal(t, tt.code, e.ErrorCode(), "code")
			assert.Zero(t, v, "zero value on error")

			rec := httptest.NewRecorder()
			require.NoError(t, WriteError(rec, httptest.NewRequest("POST", "/", nil), err), "render")
			body := decodeBody(t, rec)
			errBody := body["error"].(map[string]any)
			if tt.details != nil {
				assert.Equal(t, tt.details, errBody["details"], "details")
			}
			assert.NotContains(t, rec.Body.String(), "json:", "no encoding/json text reaches the client")
		})
	}
}

func TestDecodeValue(t *testing.T) {
	v, err := Decode[signup](jsonRequest(`{"email":"a@b.c","age":3,"tags":["x"]}`, "application/json"))
	require.NoError(t, err, "decode")
	assert.Equal(t, signup{Email: "a@b.c", Age: 3, Tags: []string{"x"}}, v, "decoded value")

	list, err := Decode[[]int](jsonRequest(`[1,2,3]`, "application/json"))
	require.NoError(t, err, "non-struct types decode too")
	assert.Equal(t, []int{1, 2, 3}, list, "decoded list")
}

func TestDecodeNull(t *testing.T) {
	for name, decode := range map[string]func(*http.Request) error{
		"pointer": func(r *http.Request) error { _, err := Decode[*signup](r); return err },
		"map":     func(r *http.Request) error { _, err := Decode[map[string]int](r); return err },
		"slice":   func(r *http.Request) error { _, err := Decode[[]int](r); return err },
		"any":     func(r *http.Request) error { _, err := Decode[any](r); return err },
	} {
		t.Run(name, func(t *testing.T) {
			var e *errkind.Error
			require.ErrorAs(t, decode(jsonRequest("null", "application/json")), &e, "null is refused")
			assert.Equal(t, 400, e.HTTPStatus(), "status")
		})
	}
}

func TestDecodeLimits(t *testing.T) {
	big := `{"email":"` + strings.Repeat("a", 2<<20) + `"}`
	tests := []struct {
		name   string
		req    func() *http.Request
		opts   DecodeOptions
		status int
		limit  int64
	}{
		{"default limit, known length", func() *http.Request { return jsonRequest(big, "application/json") }, DecodeOptions{}, 413, DefaultMaxBytes},
		{"default limit, unknown length", func() *http.Request {
			r := jsonRequest(big, "application/json")
			r.ContentLength = -1
			r.Body = io.NopCloser(strings.NewReader(big))
			return r
		}, DecodeOptions{}, 413, DefaultMaxBytes},
		{"custom limit", func() *http.Request { return jsonRequest(`{"email":"abcdef"}`, "application/json") }, DecodeOptions{MaxBytes: 8}, 413, 8},
		{"limit hit in trailing data", func() *http.Request {
			r := jsonRequest(`{}`+strings.Repeat(" ", 20), "application/json")
			r.ContentLength = -1
			return r
		}, DecodeOptions{MaxBytes: 10}, 413, 10},
		{"no limit", func() *http.Request { return jsonRequest(big, "application/json") }, DecodeOptions{MaxBytes: -1}, 0, 0},
		{"largest limit", func() *http.Request {
			r := jsonRequest(big, "application/json")
			r.ContentLength = -1
			return r
		}, DecodeOptions{MaxBytes: math.MaxInt64}, 0, 0},
		{"unknown fields allowed", func() *http.Request { return jsonRequest(`{"other":1}`, "application/json") }, DecodeOptions{AllowUnknownFields: true}, 0, 0},
		{"nil body", func() *http.Request {
			r := jsonRequest("", "application/json")
			r.Body = nil
			return r
		}, DecodeOptions{}, 400, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeWithOptions[signup](tt.req(), tt.opts)
			if tt.status == 0 {
				require.NoError(t, err, "accepted")
				return
			}
			var e *errkind.Error
			require.ErrorAs(t, err, &e, "failures are *errkind.Error")
			assert.Equal(t, tt.status, e.HTTPStatus(), "status")
			if tt.limit != 0 {
				assert.Equal(t, tt.limit, e.Details["limit"], "limit in details")
			}
		})
	}
}

func TestDecodeReadError(t *testing.T) {
	r := jsonRequest("", "application/json")
	r.Body = io.NopCloser(io.MultiReader(strings.NewReader(`{"em`), errReader{}))
	_, err := Decode[signup](r)
	var e *errkind.Error
	require.ErrorAs(t, err, &e, "a broken body is an *errkind.Error")
	assert.Equal(t, 400, e.HTTPStatus(), "a read failure is the client's, not a 500")
	assert.ErrorIs(t, err, errConnReset, "the cause is kept for logs")
}

var errConnReset = errors.New("connection reset by peer")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errConnReset }

type pointerValidated struct {
	Name string `json:"name"`
}

func (p *pointerValidated) Validate() error {
	var errs FieldErrors
	if p.Name == "" {
		errs.Add("name", "is required")
	}
	if len(p.Name) > 5 {
		errs.Add("name", "is too long")
	}
	return errs.Err()
}

type valueValidated struct {
	Amount int `json:"amount"`
}

func (v valueValidated) Validate() error {
	switch {
	case v.Amount < 0:
		return errors.New("amount must not be negative")
	case v.Amount > 100:
		return New(422, "TOO_MUCH", "amount above the limit")
	case v.Amount == 7:
		return fmt.Errorf("check: %w", publicOnly("seven is not allowed"))
	case v.Amount == 8:
		return fmt.Errorf("lookup limit: pq: relation \"limits\" does not exist (SELECT secret FROM limits)")
	case v.Amount == 13:
		return fmt.Errorf("check: %w", Validation("unlucky", map[string]string{"amount": "unlucky"}))
	}
	return nil
}

// publicOnly declares a client-safe message and nothing else.
type publicOnly string

func (p publicOnly) Error() string         { return "internal: " + string(p) }
func (p publicOnly) PublicMessage() string { return string(p) }

func TestDecodeValidate(t *testing.T) {
	tests := []struct {
		name    string
		decode  func(r *http.Request) error
		body    string
		status  int
		code    string
		message string
		details map[string]any
	}{
		{"pointer receiver ok", decodeErr[pointerValidated], `{"name":"ada"}`, 0, "", "", nil},
		{"pointer receiver field errors", decodeErr[pointerValidated], `{"name":""}`, 400, CodeValidation, "request validation failed", map[string]any{"name": "is required"}},
		{"value receiver ok", decodeErr[valueValidated], `{"amount":5}`, 0, "", "", nil},
		{"plain error text is not shown", decodeErr[valueValidated], `{"amount":-1}`, 400, CodeValidation, "request validation failed", nil},
		{"plain error with internals is not shown", decodeErr[valueValidated], `{"amount":8}`, 400, CodeValidation, "request validation failed", nil},
		{"declared public message shown", decodeErr[valueValidated], `{"amount":7}`, 400, CodeValidation, "seven is not allowed", nil},
		{"*errkind.Error kept", decodeErr[valueValidated], `{"amount":101}`, 422, "TOO_MUCH", "amount above the limit", nil},
		{"wrapped *errkind.Error kept", decodeErr[valueValidated], `{"amount":13}`, 400, CodeValidation, "unlucky", map[string]any{"amount": "unlucky"}},
		{"pointer T with value method", decodeErr[*valueValidated], `{"amount":-1}`, 400, CodeValidation, "request validation failed", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decode(jsonRequest(tt.body, "application/json"))
			if tt.status == 0 {
				require.NoError(t, err, "valid")
				return
			}
			rec := httptest.NewRecorder()
			require.NoError(t, WriteError(rec, httptest.NewRequest("POST", "/", nil), err), "render")
			assert.Equal(t, tt.status, rec.Code, "status")
			want := map[string]any{"code": tt.code, "message": tt.message}
			if tt.details != nil {
				want["details"] = tt.details
			}
			assert.Equal(t, want, decodeBody(t, rec)["error"], "error member")
		})
	}
}

func decodeErr[T any](r *http.Request) error {
	_, err := Decode[T](r)
	return err
}

func TestFieldErrors(t *testing.T) {
	var errs FieldErrors
	assert.NoError(t, errs.Err(), "empty FieldErrors is no error")
	errs.Add("b", "first")
	errs.Add("b", "second")
	errs.Add("a", "bad")
	err := errs.Err()
	require.Error(t, err, "non-empty")
	assert.Equal(t, "envelope: validation failed: a: bad; b: first", err.Error(), "sorted, first message per field")

	var target FieldErrors
	require.ErrorAs(t, fmt.Errorf("wrap: %w", err), &target, "errors.As finds FieldErrors")
	assert.Equal(t, map[string]any{"a": "bad", "b": "first"}, target.ErrorDetails(), "details")
	assert.Equal(t, errkind.Validation, target.ErrorKind(), "kind")
	r, ok := errkind.Inspect(fmt.Errorf("wrap: %w", err))
	require.True(t, ok, "FieldErrors reports through the contract")
	assert.Equal(t, 400, r.Status, "status")
	assert.Equal(t, CodeValidation, r.Code, "code")
	assert.Equal(t, "request validation failed", r.Message, "the standard message")
}

func TestIsJSONContentType(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json":                  true,
		"APPLICATION/JSON":                  true,
		" application/json ":                true,
		"application/json;charset=utf8":     true,
		"application/json; charset=UTF-16":  false,
		"application/json; charset=":        false,
		"application/json;":                 true,
		"application/json; q":               true,
		"":                                  false,
		"application/problem+json":          false,
		"multipart/form-data; boundary=abc": false,
	} {
		assert.Equal(t, want, isJSONContentType(ct), "content type %q", ct)
	}
}

// FuzzDecode feeds arbitrary bodies and content types: Decode must never
// panic and must fail only with 400, 413 or 415, and rendering the failure
// must be a valid envelope.
func FuzzDecode(f *testing.F) {
	for _, seed := range []struct{ body, ct string }{
		{`{"email":"a","age":1,"tags":["x"]}`, "application/json"},
		{`{"email":`, "application/json"},
		{`{} {}`, "application/json"},
		{`{"x":1}`, "application/json; charset=utf-8"},
		{`null`, "application/json"},
		{`[1]`, "text/plain"},
		{"\xff\xfe", "application/json"},
		{`{"age":1e400}`, "application/json"},
		{`{"tags":[` + strings.Repeat("[", 100), "application/json"},
	} {
		f.Add(seed.body, seed.ct)
	}
	f.Fuzz(func(t *testing.T, body, ct string) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", ct)
		_, err := DecodeWithOptions[signup](r, DecodeOptions{MaxBytes: 4096})
		if err == nil {
			return
		}
		var e *errkind.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v is not an *errkind.Error", err)
		}
		switch e.HTTPStatus() {
		case 400, 413, 415:
		default:
			t.Fatalf("status %d for body %q, content type %q", e.HTTPStatus(), body, ct)
		}
		rec := httptest.NewRecorder()
		if werr := WriteError(rec, r, err); werr != nil {
			t.Fatalf("render: %v", werr)
		}
		if rec.Code != e.HTTPStatus() {
			t.Fatalf("rendered %d, want %d", rec.Code, e.HTTPStatus())
		}
		if body := rec.Body.String(); !strings.HasPrefix(body, `{"error":`) || strings.Contains(body, "json:") {
			t.Fatalf("bad envelope %s", body)
		}
	})
}

func TestJSONType(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{true, "boolean"}, {1, "number"}, {uint8(1), "number"}, {1.5, "number"}, {"s", "string"},
		{[]int{}, "array"}, {[2]int{}, "array"}, {map[string]int{}, "object"}, {struct{}{}, "object"},
		{new(int), "number"}, {make(chan int), "value"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, jsonType(reflect.TypeOf(tt.v)), "JSON type of %T", tt.v)
	}
	assert.Equal(t, "value", jsonType(nil), "nil type")
}
