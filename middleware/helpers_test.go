package middleware_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
)

// testSecret signs the tokens of the fake verifier.
const testSecret = "0123456789abcdef0123456789abcdef"

// testNow is the fixed time of the tests.
func testNow() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC) }

// jwtVerifier is a small Verifier with the checks of the auth token service:
// HS256 only, exp required, issuer and audience checked.
type jwtVerifier struct {
	secret []byte
	now    func() time.Time
}

// testClaims are the claims signToken writes, in golang-jwt's types.
type testClaims struct {
	jwt.RegisteredClaims
	Roles []string `json:"roles,omitempty"`
}

func (v jwtVerifier) VerifyAccess(_ context.Context, token string) (*auth.Claims, error) {
	c := &testClaims{}
	_, err := jwt.ParseWithClaims(token, c,
		func(*jwt.Token) (any, error) { return v.secret, nil },
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer("svckit-test"),
		jwt.WithAudience("api"),
		jwt.WithTimeFunc(v.now),
	)
	if err != nil {
		return nil, err
	}
	return &auth.Claims{Subject: c.Subject, Issuer: c.Issuer, Audience: c.Audience, Roles: c.Roles}, nil
}

func newVerifier() jwtVerifier { return jwtVerifier{secret: []byte(testSecret), now: testNow} }

// signToken returns an HS256 token for sub with roles, expiring at exp.
func signToken(t testing.TB, secret []byte, sub string, exp time.Time, roles ...string) string {
	t.Helper()
	c := testClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   sub,
			Issuer:    "svckit-test",
			Audience:  jwt.ClaimStrings{"api"},
			IssuedAt:  jwt.NewNumericDate(testNow().Add(-time.Minute)),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
		Roles: roles,
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
	require.NoError(t, err, "sign test token")
	return s
}

// validToken returns a token for sub with roles valid at testNow.
func validToken(t testing.TB, sub string, roles ...string) string {
	return signToken(t, []byte(testSecret), sub, testNow().Add(15*time.Minute), roles...)
}

// envelopeBody is the part of an envelope response the tests read.
type envelopeBody struct {
	Data  json.RawMessage `json:"data"`
	Error *struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
	Meta struct {
		RequestID string `json:"requestId"`
	} `json:"meta"`
}

func decodeEnvelope(t testing.TB, body []byte) envelopeBody {
	t.Helper()
	var e envelopeBody
	require.NoError(t, json.Unmarshal(body, &e), "body is JSON: %s", body)
	return e
}

// errorCode returns the envelope error code of a recorded response.
func errorCode(t testing.TB, rec *httptest.ResponseRecorder) string {
	t.Helper()
	e := decodeEnvelope(t, rec.Body.Bytes())
	require.NotNil(t, e.Error, "an error envelope: %s", rec.Body.String())
	return e.Error.Code
}

// okHandler answers 200 "ok".
func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})
}

// serve runs h on req and returns the recorded response.
func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// logBuffer collects JSON log lines; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the decoded log lines.
func (b *logBuffer) lines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range bytes.Split([]byte(b.String()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal(line, &m), "log line is JSON: %s", line)
		out = append(out, m)
	}
	return out
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func mustAddr(t testing.TB, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	require.NoError(t, err, "parse %q", s)
	return a
}
