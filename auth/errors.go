package auth

import (
	"errors"

	"github.com/svckit/svckit/errkind"
)

// Error is the error type of every authentication failure in this package:
// a missing or malformed header, an invalid, expired, revoked or reused
// token, a wrong password. Every Error reports errkind.Unauthorized (401
// UNAUTHORIZED through envelope) with a public message, and its
// Error text, which may name the underlying cause, is never meant for
// clients. Match the sentinels with errors.Is: a wrapped Error with a cause
// still matches the sentinel of its kind.
type Error struct {
	kind   string
	msg    string
	public string
	cause  error
}

// Error returns the message and, if any, the cause.
func (e *Error) Error() string {
	if e.cause != nil {
		return e.msg + ": " + e.cause.Error()
	}
	return e.msg
}

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// ErrorKind reports errkind.Unauthorized: every auth failure is 401.
func (e *Error) ErrorKind() errkind.Kind { return errkind.Unauthorized }

// PublicMessage returns a message safe to show a client: it never names the
// cause, and it is the same for an unknown user and a wrong password.
func (e *Error) PublicMessage() string {
	if e.public != "" {
		return e.public
	}
	return "invalid or expired token"
}

// Is matches errors of the same kind, so wrapped copies match the sentinels.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.kind == e.kind
}

var (
	_ errkind.Kinder         = (*Error)(nil)
	_ errkind.PublicMessager = (*Error)(nil)
)

// with returns a copy of e that wraps cause.
func (e *Error) with(cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

// Errors returned when verifying and refreshing tokens. All are *Error.
var (
	// ErrInvalidToken means the token is malformed, signed with an unknown
	// key or algorithm, has a bad signature, or carries the wrong issuer or
	// audience. It also covers a refresh token the store does not know.
	ErrInvalidToken = &Error{kind: "invalid", msg: "auth: invalid token"}
	// ErrExpired means a correctly signed token is past its expiry (plus the
	// leeway). A forged token is never ErrExpired: the signature is checked
	// first.
	ErrExpired = &Error{kind: "expired", msg: "auth: token expired"}
	// ErrWrongTokenType means a correctly signed token of the other kind was
	// presented: a refresh token where an access token is expected, or the
	// reverse.
	ErrWrongTokenType = &Error{kind: "wrong_type", msg: "auth: wrong token type"}
	// ErrRevoked means the refresh token's family was revoked (logout, log
	// out everywhere, or an earlier reuse).
	ErrRevoked = &Error{kind: "revoked", msg: "auth: token revoked"}
	// ErrTokenReused means an already-used refresh token was presented
	// again. Its family is revoked unless the reuse falls within the grace
	// period for the immediate predecessor (see Options.ReuseGrace).
	ErrTokenReused = &Error{kind: "reused", msg: "auth: refresh token reused"}
	// ErrUnknownUser means the subject of a refresh token no longer exists.
	ErrUnknownUser = &Error{kind: "unknown_user", msg: "auth: user no longer exists"}
	// ErrPasswordMismatch means the password does not match the stored
	// hash. VerifyDummy always returns it.
	ErrPasswordMismatch = &Error{kind: "credentials", msg: "auth: password mismatch", public: "invalid credentials"}
)
