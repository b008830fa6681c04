package repository_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/internal/testdb"
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

// TestDatabaseFaultsRenderThroughEnvelope drives the real drivers into
// faults and checks what a client sees: a database that refuses
// connections is 503 UNAVAILABLE with Retry-After, a statement past its
// deadline is 504 TIMEOUT; never 500, never the driver's text.
func TestDatabaseFaultsRenderThroughEnvelope(t *testing.T) {
	type row struct {
		ID   int64  `db:"id,pk"`
		Name string `db:"name"`
	}
	refused := func(driver, dsn string, d dialect.Dialect) func(t *testing.T) error {
		return func(t *testing.T) error {
			db, err := sql.Open(driver, dsn)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			_, err = repository.NewSQL[row, int64](db, d, "rows", repository.Options[int64]{}).FindByID(context.Background(), 1)
			return err
		}
	}
	for _, tc := range []struct {
		name   string
		err    func(t *testing.T) error
		status int
		code   string
	}{
		{"postgres refused", refused("pgx", "postgres://u@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", dialect.Postgres), 503, errkind.CodeUnavailable},
		{"mysql refused", refused("mysql", "u@tcp(127.0.0.1:1)/db?timeout=2s", dialect.MySQL), 503, errkind.CodeUnavailable},
		{"statement past its deadline", func(t *testing.T) error {
			db := testdb.SQLite(t)
			_, err := db.DB.Exec("CREATE TABLE rows (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
			defer cancel()
			<-ctx.Done()
			_, err = repository.NewSQL[row, int64](db.DB, dialect.SQLite, "rows", repository.Options[int64]{}).FindMany(ctx, repository.FindOptions{})
			return err
		}, 504, errkind.CodeTimeout},
		{"text PostgreSQL cannot store", func(t *testing.T) error {
			db := testdb.Postgres(t)
			_, err := db.DB.Exec("CREATE TABLE rows (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL)")
			require.NoError(t, err)
			r := repository.NewSQL[row, int64](db.DB, dialect.Postgres, "rows", repository.Options[int64]{})
			return r.Create(context.Background(), &row{Name: "bad \xff byte"})
		}, 400, errkind.CodeBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err(t)
			require.Error(t, err, "the fault surfaces")
			rec := httptest.NewRecorder()
			require.NoError(t, envelope.WriteError(rec, httptest.NewRequest(http.MethodGet, "/v1/rows/1", nil), err))
			assert.Equal(t, tc.status, rec.Code, "status for %v", err)
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), "an envelope body")
			assert.Equal(t, tc.code, body.Error.Code, "code")
			assert.NotContains(t, rec.Body.String(), "127.0.0.1", "the driver's text never reaches the client")
			assert.NotContains(t, rec.Body.String(), "refused", "the driver's text never reaches the client")
			if tc.status == 503 {
				assert.Equal(t, "1", rec.Header().Get("Retry-After"), "503 says when to retry")
			}
		})
	}
}
