package errkind

import "time"

// Error is a ready-made error that reports a kind, for producers without a
// type of their own. The zero value reports Unknown; build one with New.
// Treat an Error as immutable once returned: Wrap returns a copy.
type Error struct {
	// Kind is the reported kind.
	Kind Kind
	// Code is the reported code; "" means Kind.Code().
	Code string
	// Message is the client-safe message; "" means Kind.Message().
	Message string
	// Details are reported by ErrorDetails; nil means none.
	Details map[string]any
	// Retry is reported by RetryAfter; 0 means "don't say".
	Retry time.Duration
	// Err is the cause: in the chain for errors.Is and errors.As and in the
	// text of Error, never in what a client is shown.
	Err error
}

var (
	_ Kinder         = (*Error)(nil)
	_ Coder          = (*Error)(nil)
	_ PublicMessager = (*Error)(nil)
	_ Detailer       = (*Error)(nil)
	_ RetryAfterer   = (*Error)(nil)
)

// New returns an Error of kind k with the client-safe message (or the
// kind's standard message when message is "").
func New(k Kind, message string) *Error {
	return &Error{Kind: k, Message: message}
}

// Wrap returns a copy of e with cause as its wrapped error.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.Err = cause
	return &c
}

// Error returns "<code>: <message>[: <cause>]", for logs.
func (e *Error) Error() string {
	s := e.ErrorCode() + ": " + e.PublicMessage()
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorKind returns Kind.
func (e *Error) ErrorKind() Kind { return e.Kind }

// ErrorCode returns Code, or the kind's code.
func (e *Error) ErrorCode() string {
	if e.Code != "" {
		return e.Code
	}
	return e.Kind.Code()
}

// PublicMessage returns Message, or the kind's standard message.
func (e *Error) PublicMessage() string {
	if e.Message != "" {
		return e.Message
	}
	return e.Kind.Message()
}

// ErrorDetails returns Details.
func (e *Error) ErrorDetails() map[string]any { return e.Details }

// RetryAfter returns Retry.
func (e *Error) RetryAfter() time.Duration { return e.Retry }
