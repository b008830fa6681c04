package envelope_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/errkind"
)

var updateWire = flag.Bool("update-wire", false, "rewrite testdata/wire.golden from the current output")

// wireCases are the errors whose rendering TestWireGolden pins: every
// constructor, the zero and partial values of the error type, every kind
// through errkind, and the errors WriteError recognises without a kind.
func wireCases() []struct {
	name string
	err  error
} {
	cause := errors.New("secret cause")
	return []struct {
		name string
		err  error
	}{
		{"New custom code", envelope.New(422, "INSUFFICIENT_FUNDS", "insufficient funds")},
		{"New status only", envelope.New(422, "", "")},
		{"New unknown status", envelope.New(599, "", "")},
		{"New standard code, other status", envelope.New(400, errkind.CodeConflict, "")},
		{"BadRequest", envelope.BadRequest("bad id")},
		{"BadRequest no message", envelope.BadRequest("")},
		{"Validation", envelope.Validation("check fields", map[string]string{"email": "invalid", "name": "is required"})},
		{"Validation no fields", envelope.Validation("", nil)},
		{"Unauthorized", envelope.Unauthorized("token expired")},
		{"Forbidden", envelope.Forbidden("")},
		{"NotFound", envelope.NotFound("user", "42")},
		{"NotFound no resource", envelope.NotFound("", "")},
		{"MethodNotAllowed", envelope.MethodNotAllowed("GET", "HEAD")},
		{"Conflict", envelope.Conflict("email taken")},
		{"PayloadTooLarge", envelope.PayloadTooLarge(1024)},
		{"UnsupportedMediaType", envelope.UnsupportedMediaType("use JSON")},
		{"RateLimited", envelope.RateLimited(1500 * time.Millisecond)},
		{"Internal", envelope.Internal(cause)},
		{"Unavailable", envelope.Unavailable("maintenance")},
		{"Timeout", envelope.Timeout()},
		{"Wrap", fmt.Errorf("handler: %w", envelope.Conflict("taken").Wrap(cause))},
		{"WithDetail", envelope.NotFound("user", "1").WithDetail("hint", "check the id")},
		{"FieldErrors", fieldErrors()},
		{"zero value", envelope.New(0, "", "")},
		{"code only", envelope.New(0, errkind.CodeConflict, "")},
		{"internal message is never public", envelope.New(0, errkind.CodeInternal, "SELECT * FROM users")},
		{"unknown code without status", envelope.New(0, "WEIRD", "")},
		{"errkind zero", &errkind.Error{}},
		{"errkind code of its own", &errkind.Error{Kind: errkind.Conflict, Code: "EMAIL_TAKEN", Message: "email already registered"}},
		{"errkind retry", &errkind.Error{Kind: errkind.Unavailable, Retry: 2 * time.Second}},
		{"errkind details", &errkind.Error{Kind: errkind.NotFound, Message: "account not found", Details: map[string]any{"resource": "account"}}},
		{"errkind internal message", &errkind.Error{Kind: errkind.Internal, Message: "db password is hunter2"}},
		{"errkind unknown kind with code", &errkind.Error{Code: "MY_CODE"}},
		{"max bytes", fmt.Errorf("read: %w", &http.MaxBytesError{Limit: 10})},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded)},
		{"canceled", context.Canceled},
		{"plain", errors.New("boom")},
	}
}

func fieldErrors() error {
	var v envelope.FieldErrors
	v.Add("email", "is invalid")
	v.Add("email", "is too long")
	return v.Err()
}

// kindCases add errkind.New of every kind, by the kind's number, so the
// table needs no kind's Go name.
func kindCases() []struct {
	name string
	err  error
} {
	var out []struct {
		name string
		err  error
	}
	for k := errkind.Kind(1); k.Code() != ""; k++ {
		out = append(out, struct {
			name string
			err  error
		}{"errkind.New " + k.Code(), errkind.New(k, "")})
	}
	return out
}

// TestWireGolden pins, byte for byte, what WriteError sends for each error
// of wireCases, as an envelope and as a problem document: the status, the
// headers and the body. The golden file changes only with the wire
// contract; run with -update-wire to rewrite it after such a change.
func TestWireGolden(t *testing.T) {
	var b strings.Builder
	for _, tc := range append(wireCases(), kindCases()...) {
		for _, accept := range []string{"application/json", "application/problem+json"} {
			r := httptest.NewRequest("GET", "/v1/things/7", nil)
			r.Header.Set("Accept", accept)
			ctx := envelope.WithRequestID(r.Context(), "req-1")
			ctx = envelope.WithClock(ctx, func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) })
			rec := httptest.NewRecorder()
			require.NoError(t, envelope.WriteError(rec, r.WithContext(ctx), tc.err), "%s: WriteError", tc.name)
			fmt.Fprintf(&b, "== %s (%s)\n%d\n", tc.name, accept, rec.Code)
			keys := make([]string, 0, len(rec.Header()))
			for k := range rec.Header() {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(rec.Header()[k], " | "))
			}
			fmt.Fprintf(&b, "%s\n", rec.Body.String())
		}
	}
	path := filepath.Join("testdata", "wire.golden")
	if *updateWire {
		require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644), "write the golden file")
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "read the golden file (run with -update-wire to create it)")
	assert.Equal(t, string(want), b.String(), "the wire output of every error is unchanged")
}
