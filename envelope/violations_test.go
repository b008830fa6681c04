package envelope

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/errkind"
)

type checkedSignup struct {
	Email string `json:"email"`
}

func (c *checkedSignup) Validate() error {
	if c.Email == "" {
		return Validation("", map[string]string{"email": "is required"})
	}
	return nil
}

func TestDecodeValueAtRunTime(t *testing.T) {
	var v signup
	require.NoError(t, DecodeValue(jsonRequest(`{"email":"a@b.c","age":3,"tags":["x"]}`, "application/json"), &v, DecodeOptions{}))
	assert.Equal(t, signup{Email: "a@b.c", Age: 3, Tags: []string{"x"}}, v, "decoded into the pointer's value")

	tests := []struct {
		name   string
		body   string
		target any
		code   string
	}{
		{"duplicate name", `{"email":"a","email":"b"}`, new(signup), CodeBadRequest},
		{"case-folded name", `{"EMAIL":"a"}`, new(signup), CodeBadRequest},
		{"NUL", `{"email":"\u0000"}`, new(signup), CodeBadRequest},
		{"unknown member", `{"x":1}`, new(signup), CodeBadRequest},
		{"Validate of the pointer", `{"email":""}`, new(checkedSignup), CodeValidation},
		{"not a pointer", `{}`, signup{}, CodeInternal},
		{"nil pointer", `{}`, (*signup)(nil), CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := DecodeValue(jsonRequest(tt.body, "application/json"), tt.target, DecodeOptions{})
			r, ok := errkind.Inspect(err)
			require.True(t, ok, "a reported error: %v", err)
			assert.Equal(t, tt.code, r.Code, "code")
		})
	}
}

func TestDecodeCheck(t *testing.T) {
	refused := Validation("", map[string]string{"age": "too young"})
	var seen []string
	opts := DecodeOptions{MaxBytes: 64, Check: func(body []byte) error {
		seen = append(seen, string(body))
		if strings.Contains(string(body), `"age":1`) {
			return refused
		}
		return nil
	}}
	tests := []struct {
		name        string
		body        string
		contentType string
		code        string // "" for success
		checked     bool
	}{
		{"415 comes first", `{"age":1}`, "text/plain", CodeUnsupportedMediaType, false},
		{"413 comes first", `{"tags":["` + strings.Repeat("x", 100) + `"]}`, "application/json", CodePayloadTooLarge, false},
		{"the check's error as is", `{"age":1}`, "application/json", CodeValidation, true},
		{"the check sees malformed text too, and the decoder answers", `{"age":2`, "application/json", CodeBadRequest, true},
		{"a passed body is decoded", `{"age":2}`, "application/json", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen = nil
			_, err := DecodeWithOptions[signup](jsonRequest(tt.body, tt.contentType), opts)
			if tt.code == "" {
				assert.NoError(t, err)
			} else {
				r, _ := errkind.Inspect(err)
				assert.Equal(t, tt.code, r.Code, "code of %v", err)
			}
			if tt.checked {
				assert.Equal(t, []string{tt.body}, seen, "Check gets the whole body, once")
			} else {
				assert.Empty(t, seen, "Check is not called")
			}
		})
	}
	_, err := DecodeWithOptions[signup](jsonRequest(`{"age":1}`, "application/json"), opts)
	assert.True(t, errors.Is(err, refused), "the check's own error is returned")
}

// violating reports violations, as operation.InputError does.
type violating struct{ vs []errkind.Violation }

func (v violating) Error() string                   { return "invalid" }
func (v violating) ErrorKind() errkind.Kind         { return errkind.Validation }
func (v violating) ErrorDetails() map[string]any    { return map[string]any{"email": "is required"} }
func (v violating) Violations() []errkind.Violation { return v.vs }

func TestWriteErrorViolations(t *testing.T) {
	err := violating{[]errkind.Violation{{Location: "/body/email", Reason: "required", Message: "is required"}}}
	for _, accept := range []string{"application/json", "application/problem+json"} {
		r := testRequest(t, "POST", "/")
		r.Header.Set("Accept", accept)
		rec := httptest.NewRecorder()
		require.NoError(t, WriteError(rec, r, err))
		var got struct {
			Error struct {
				Details    map[string]any      `json:"details"`
				Violations []errkind.Violation `json:"violations"`
			} `json:"error"`
			Details    map[string]any      `json:"details"`
			Violations []errkind.Violation `json:"violations"`
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
		if accept == ProblemContentType {
			assert.Equal(t, err.vs, got.Violations, "problem+json: violations beside details")
			assert.Equal(t, map[string]any{"email": "is required"}, got.Details, "details unchanged")
		} else {
			assert.Equal(t, err.vs, got.Error.Violations, "error.violations beside error.details")
			assert.Equal(t, map[string]any{"email": "is required"}, got.Error.Details, "details unchanged")
		}
	}
	rec := httptest.NewRecorder()
	require.NoError(t, WriteError(rec, testRequest(t, "GET", "/"), NotFound("user", "")))
	assert.NotContains(t, rec.Body.String(), "violations", "no member for an error without them")
}
