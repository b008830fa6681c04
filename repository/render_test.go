package repository_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/repository"
)

// TestErrorsRenderThroughEnvelope shows the repository's errors reach a
// client with the right status and code, without conversion in a handler,
// and without the driver's text.
func TestErrorsRenderThroughEnvelope(t *testing.T) {
	driverErr := errors.New(`pq: duplicate key value violates unique constraint "users_email_key" SELECT secret`)
	for _, tc := range []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"not found", fmt.Errorf("service: load user: %w", fmt.Errorf("repository: users 7: %w", repository.ErrNotFound)), http.StatusNotFound, "NOT_FOUND"},
		{"conflict", &repository.ConflictError{Table: "users", Field: "email", Err: driverErr}, http.StatusConflict, "CONFLICT"},
		{"field", &repository.FieldError{Param: "orderBy", Field: "password", Reason: "unknown field"}, http.StatusBadRequest, "BAD_REQUEST"},
		{"cursor", fmt.Errorf("%w: made for another ordering", repository.ErrInvalidCursor), http.StatusBadRequest, "BAD_REQUEST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/v1/users", nil)
			require.NoError(t, envelope.WriteError(rec, req, tc.err), "the error is written")
			assert.Equal(t, tc.status, rec.Code, "status from the error's behaviour")
			var body struct {
				Error struct {
					Code    string         `json:"code"`
					Message string         `json:"message"`
					Details map[string]any `json:"details"`
				} `json:"error"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), "an envelope body")
			assert.Equal(t, tc.code, body.Error.Code, "code from the error's behaviour")
			assert.NotEmpty(t, body.Error.Message, "a public message")
			assert.NotContains(t, rec.Body.String(), "secret", "driver text never reaches the client")
			assert.NotContains(t, rec.Body.String(), "repository:", "internal messages never reach the client")
		})
	}
}
