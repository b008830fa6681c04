package auth

import (
	"context"
	"errors"
	"net/http"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/internal/httpstate"
)

// AccessVerifier checks an access token and returns its verified claims:
// *Tokens (this service's tokens) and *Verifier (another issuer's)
// implement it. Any error means the token is not acceptable (bad
// signature, expired, wrong issuer, audience or type).
type AccessVerifier interface {
	VerifyAccess(ctx context.Context, token string) (*Claims, error)
}

var (
	_ AccessVerifier = (*Tokens)(nil)
	_ AccessVerifier = (*Verifier)(nil)
)

// AccessVerifierFunc adapts a function to AccessVerifier.
type AccessVerifierFunc func(ctx context.Context, token string) (*Claims, error)

// VerifyAccess calls f.
func (f AccessVerifierFunc) VerifyAccess(ctx context.Context, token string) (*Claims, error) {
	return f(ctx, token)
}

// BearerOptions configure BearerWithOptions.
type BearerOptions struct {
	// Verifier checks the bearer token. It is required.
	Verifier AccessVerifier
	// Roles, when not empty, are the roles of which the token must carry at
	// least one; a valid token without any is answered 403 FORBIDDEN. Empty
	// means any valid token is enough.
	Roles []string
	// Optional lets requests without an Authorization header through,
	// without claims in the context. A header that is present but malformed
	// or carries an invalid token is still answered 401. False means a token
	// is required.
	Optional bool
}

// Bearer returns a middleware that requires a valid bearer token carrying
// at least one of roles (any valid token when roles is empty). See
// BearerWithOptions.
func Bearer(v AccessVerifier, roles ...string) func(http.Handler) http.Handler {
	return BearerWithOptions(BearerOptions{Verifier: v, Roles: roles})
}

// OptionalBearer returns a middleware that verifies a bearer token when one
// is sent and lets anonymous requests through. See BearerOptions.Optional.
func OptionalBearer(v AccessVerifier) func(http.Handler) http.Handler {
	return BearerWithOptions(BearerOptions{Verifier: v, Optional: true})
}

// BearerWithOptions returns a middleware that reads "Authorization: Bearer
// <token>", verifies the token and puts its claims in the request context
// (ClaimsFrom; middleware.KeyByUser reads their subject). Failures are
// envelope errors:
//
//   - no Authorization header: 401 UNAUTHORIZED with
//     WWW-Authenticate: Bearer (unless Optional);
//   - a header that is not a single "Bearer <token>": 401 with
//     WWW-Authenticate: Bearer error="invalid_request";
//   - a token the Verifier rejects (bad signature, expired, ...): 401 with
//     WWW-Authenticate: Bearer error="invalid_token";
//   - a valid token without any of Roles: 403 FORBIDDEN with
//     WWW-Authenticate: Bearer error="insufficient_scope".
//
// These follow RFC 6750, section 3. It panics when opts.Verifier is nil.
//
// The claims go into the request's svckit state when a middleware in front
// (middleware.Telemetry, RequestID, ClientIP.Handler, Timeout) has put one in
// place, so the request is not copied for them; otherwise the request is
// derived with a context carrying them.
func BearerWithOptions(opts BearerOptions) func(http.Handler) http.Handler {
	if opts.Verifier == nil {
		panic("auth: BearerWithOptions: nil Verifier")
	}
	roles := append([]string(nil), opts.Roles...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, err := BearerToken(r)
			switch {
			case errors.Is(err, ErrNoToken):
				if opts.Optional {
					next.ServeHTTP(w, r)
					return
				}
				unauthorized(w, r, `Bearer`, "missing bearer token")
				return
			case err != nil:
				unauthorized(w, r, `Bearer error="invalid_request"`, "malformed authorization header")
				return
			}
			claims, err := opts.Verifier.VerifyAccess(r.Context(), token)
			if err != nil || claims == nil {
				unauthorized(w, r, `Bearer error="invalid_token"`, "invalid or expired token")
				return
			}
			if len(roles) > 0 && !claims.HasRole(roles...) {
				forbidden(w, r)
				return
			}
			if httpstate.From(r.Context()).SetClaims(claims, claims.Subject) {
				next.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithClaims(r.Context(), claims)))
		})
	}
}

// RequireRole returns a middleware that lets through requests whose verified
// claims (put in the context by Bearer or OptionalBearer) carry at least one
// of roles: 401 when there are no claims, 403 when none of the roles is
// there. Use it per route behind a router-wide Bearer or OptionalBearer.
func RequireRole(roles ...string) func(http.Handler) http.Handler {
	roles = append([]string(nil), roles...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			claims, ok := ClaimsFrom(r.Context())
			if !ok {
				unauthorized(w, r, `Bearer`, "missing bearer token")
				return
			}
			if !claims.HasRole(roles...) {
				forbidden(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func unauthorized(w http.ResponseWriter, r *http.Request, challenge, msg string) {
	w.Header().Set("WWW-Authenticate", challenge)
	_ = envelope.WriteError(w, r, envelope.Unauthorized(msg))
}

func forbidden(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
	_ = envelope.WriteError(w, r, envelope.Forbidden("insufficient permissions"))
}
