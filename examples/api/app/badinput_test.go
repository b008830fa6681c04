package app_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHostileInputSchema (issue 25, "Bad input"): unknown members, wrong
// types, out-of-range and missing values, malformed path values, oversized
// bodies and wrong content types each get their documented 4xx, with every
// member or parameter at fault named in error.violations (location and
// reason), and none reaches a handler: no money moves, no user is made.
// Run with SVCKIT_OPENAPI_CHECK (CI), each answer is also checked against
// the document, so each status is one the route documents.
func TestHostileInputSchema(t *testing.T) {
	s := startSQLite(t, nil)
	u, token := s.newUser(t, "schema")
	acc := s.newAccount(t, token, "EUR", 100)
	other := s.newAccount(t, token, "EUR", 0)
	deposit := "/v1/accounts/" + acc.ID + "/deposits"
	transfers := "/v1/accounts/" + acc.ID + "/transfers"
	// Over the 1 MiB limit, and breaking the schema too: the size is
	// refused before any of it is checked.
	big := `{"amount":"` + strings.Repeat("x", 1<<20) + `","color":"red"}`
	tests := []struct {
		name       string
		rq         req
		status     int
		code       string
		violations []string // location reason, in order; nil: none sent
	}{
		// Unknown members.
		{"unknown member", req{Method: "POST", Path: deposit, Token: token, Body: `{"amount":5,"currency":"EUR"}`},
			400, "BAD_REQUEST", []string{"/body/currency additionalProperties"}},
		{"unknown members with a bad value", req{Method: "POST", Path: "/v1/auth/register",
			Body: `{"email":"new@example.com","password":"password-1","name":"","role":"admin","admin":true}`},
			400, "BAD_REQUEST", []string{"/body/name minLength", "/body/name pattern", "/body/role additionalProperties", "/body/admin additionalProperties"}},
		{"member named in another case", req{Method: "POST", Path: deposit, Token: token, Body: `{"Amount":5}`},
			400, "BAD_REQUEST", []string{"/body/Amount additionalProperties", "/body/amount required"}},
		// Wrong types.
		{"wrong type", req{Method: "POST", Path: deposit, Token: token, Body: `{"amount":"5"}`},
			400, "BAD_REQUEST", []string{"/body/amount type"}},
		{"a fraction for an integer", req{Method: "POST", Path: deposit, Token: token, Body: `{"amount":5.5}`},
			400, "BAD_REQUEST", []string{"/body/amount type"}},
		{"every member of the wrong type", req{Method: "POST", Path: "/v1/transfers", Token: token,
			Body: `{"fromAccountId":1,"toAccountId":true,"amount":"ten"}`},
			400, "BAD_REQUEST", []string{"/body/fromAccountId type", "/body/toAccountId type", "/body/amount type"}},
		{"null for a string", req{Method: "PATCH", Path: "/v1/users/" + u.ID, Token: token, Body: `{"name":null}`},
			400, "VALIDATION_ERROR", []string{"/body/name null"}},
		{"an array for the body", req{Method: "POST", Path: deposit, Token: token, Body: `[{"amount":5}]`},
			400, "BAD_REQUEST", []string{"/body type"}},
		{"a query parameter of the wrong type", req{Method: "GET", Path: transfers + "?limit=ten", Token: token},
			400, "BAD_REQUEST", []string{"/query/limit type"}},
		// Out-of-range and missing values.
		{"below the minimum", req{Method: "POST", Path: deposit, Token: token, Body: `{"amount":0}`},
			400, "VALIDATION_ERROR", []string{"/body/amount minimum"}},
		{"above the maximum", req{Method: "POST", Path: deposit, Token: token, Body: `{"amount":100000001}`},
			400, "VALIDATION_ERROR", []string{"/body/amount maximum"}},
		{"past int64", req{Method: "POST", Path: deposit, Token: token, Body: `{"amount":9223372036854775808}`},
			400, "VALIDATION_ERROR", []string{"/body/amount format"}},
		{"every member breaking a rule", req{Method: "POST", Path: "/v1/auth/register",
			Body: `{"email":"not-an-email","password":"short","name":"` + strings.Repeat("n", 101) + `"}`},
			400, "VALIDATION_ERROR", []string{"/body/email format", "/body/password minLength", "/body/name maxLength"}},
		{"every member missing", req{Method: "POST", Path: "/v1/auth/register", Body: `{}`},
			400, "VALIDATION_ERROR", []string{"/body/email required", "/body/password required", "/body/name required"}},
		{"a pattern", req{Method: "POST", Path: "/v1/accounts", Token: token, Body: `{"currency":"eur"}`},
			400, "VALIDATION_ERROR", []string{"/body/currency pattern"}},
		{"query parameters out of range", req{Method: "GET", Path: transfers + "?limit=0", Token: token},
			400, "BAD_REQUEST", []string{"/query/limit minimum"}},
		{"a query parameter sent twice", req{Method: "GET", Path: transfers + "?limit=1&limit=2", Token: token},
			400, "BAD_REQUEST", []string{"/query/limit type"}},
		{"a header over its length", req{Method: "POST", Path: "/v1/transfers", Token: token,
			Header: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)},
			Body:   `{"fromAccountId":"` + acc.ID + `","toAccountId":"` + other.ID + `","amount":0}`},
			400, "BAD_REQUEST", []string{"/header/Idempotency-Key maxLength"}},
		// Malformed path values: refused as envelope refuses them, before
		// the schema.
		{"invalid UTF-8 in a path value", req{Method: "POST", Path: "/v1/accounts/%ff/deposits", Token: token, Body: `{"amount":"x"}`},
			400, "BAD_REQUEST", nil},
		{"NUL in a path value", req{Method: "GET", Path: "/v1/accounts/a%00/transfers?limit=0", Token: token},
			400, "BAD_REQUEST", nil},
		// Oversized bodies: 413 before any check, with or without a
		// Content-Length.
		{"oversized body", req{Method: "POST", Path: deposit, Token: token, Body: big},
			413, "PAYLOAD_TOO_LARGE", nil},
		{"oversized body, chunked", req{Method: "POST", Path: deposit, Token: token, Body: big, Chunked: true},
			413, "PAYLOAD_TOO_LARGE", nil},
		// Wrong content types: 415 before any check.
		{"text/plain", req{Method: "POST", Path: deposit, Token: token, Body: `{"amount":"x"}`,
			Header: map[string]string{"Content-Type": "text/plain"}}, 415, "UNSUPPORTED_MEDIA_TYPE", nil},
		{"no content type", req{Method: "POST", Path: deposit, Token: token, Body: `{"amount":"x"}`,
			Header: map[string]string{"Content-Type": ""}}, 415, "UNSUPPORTED_MEDIA_TYPE", nil},
		{"a charset other than UTF-8", req{Method: "POST", Path: deposit, Token: token, Body: `{"amount":"x"}`,
			Header: map[string]string{"Content-Type": "application/json; charset=latin1"}}, 415, "UNSUPPORTED_MEDIA_TYPE", nil},
		{"form data", req{Method: "POST", Path: "/v1/auth/register", Body: `email=a@b.co`,
			Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, "UNSUPPORTED_MEDIA_TYPE", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.expect(t, tt.rq, tt.status, tt.code)
			require.NotNil(t, r.Error)
			var got []string
			for _, v := range r.Error.Violations {
				got = append(got, v.Location+" "+v.Reason)
				assert.NotEmpty(t, v.Message, "every violation says what is wrong")
			}
			assert.Equal(t, tt.violations, got, "every member or parameter at fault, in order: %s", r.Raw)
			if tt.status == 400 && tt.violations != nil {
				assert.NotEmpty(t, r.Error.Details, "details name the field or parameter too")
			}
		})
	}
	var got accountView
	s.expect(t, req{Method: "GET", Path: "/v1/accounts/" + acc.ID, Token: token}, 200, "").into(t, &got)
	assert.Equal(t, int64(100), got.Balance, "no refused deposit or transfer moved money")
	s.expect(t, req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": "new@example.com", "password": "password-1"}},
		401, "UNAUTHORIZED")
}
