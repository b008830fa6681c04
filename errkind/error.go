package errkind

import "time"

// Error is svckit's one error type that carries a kind: producers without
// a type of their own build one with New, and envelope's constructors
// (envelope.NotFound, envelope.New, …) return one. Every field is
// optional; the methods fill what is missing from the kind's row of the
// table.
//
// The zero value reports no kind and renders as 500 INTERNAL_ERROR with
// the generic message. Treat an Error as immutable once returned: Wrap and
// WithDetail return copies. It is safe for concurrent use as long as
// nobody modifies it.
type Error struct {
	// Kind is the reported kind; Unknown means the kind of Code, else the
	// kind of Status (FromHTTPStatus).
	Kind Kind
	// Status is the HTTP status, for a status outside the table such as
	// 422; 0 means the kind's status. The data layer leaves it 0.
	Status int
	// Code is the reported code; "" means the kind's code.
	Code string
	// Message is the client-safe message; "" means the kind's standard
	// message. The message of INTERNAL_ERROR is always the standard one.
	Message string
	// Details are reported by ErrorDetails (error.details); nil means none.
	Details map[string]any
	// Retry is reported by RetryAfter (the Retry-After header); 0 means
	// "don't say".
	Retry time.Duration
	// Header holds response headers for the HTTP layer to set, such as
	// Allow on a 405; an http.Header may be assigned to it as it is. It is
	// a plain map so that errkind imports nothing HTTP.
	Header map[string][]string
	// Err is the cause: in the chain for errors.Is and errors.As and in the
	// text of Error, never in what a client is shown.
	Err error
}

var (
	_ Kinder         = (*Error)(nil)
	_ HTTPStatuser   = (*Error)(nil)
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

// WithDetail returns a copy of e with details[key] = value added; e's own
// details are not modified.
func (e *Error) WithDetail(key string, value any) *Error {
	c := *e
	c.Details = make(map[string]any, len(e.Details)+1)
	for k, v := range e.Details {
		c.Details[k] = v
	}
	c.Details[key] = value
	return &c
}

// Error returns "<code>: <message>[: <cause>]", for logs. Unlike
// PublicMessage it shows the message of an INTERNAL_ERROR too.
func (e *Error) Error() string {
	code := e.ErrorCode()
	if code == "" {
		code = e.ErrorKind().String()
	}
	msg := e.Message
	if msg == "" {
		msg = e.PublicMessage()
	}
	s := code + ": " + msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code and status, so
// that a copy made by Wrap or WithDetail, or an error built the same way,
// matches an application's predefined error with errors.Is.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.ErrorCode() == e.ErrorCode() && t.HTTPStatus() == e.HTTPStatus()
}

// ErrorKind returns Kind, else the kind of Code (ParseCode), else the kind
// of Status (FromHTTPStatus): Unknown for an application's own code with a
// status outside the table, which reports only its status.
func (e *Error) ErrorKind() Kind {
	if e.Kind != Unknown {
		return e.Kind
	}
	if k := ParseCode(e.Code); k != Unknown {
		return k
	}
	return FromHTTPStatus(e.Status)
}

// HTTPStatus returns Status, else the status of the kind (ErrorKind); 0
// when neither says.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	return e.ErrorKind().HTTPStatus()
}

// ErrorCode returns Code, else the code of the kind; "" when neither says.
func (e *Error) ErrorCode() string {
	if e.Code != "" {
		return e.Code
	}
	return e.ErrorKind().Code()
}

// PublicMessage returns Message, else the standard message of the code or
// of the kind. For INTERNAL_ERROR it is always the standard message.
func (e *Error) PublicMessage() string {
	code := e.ErrorCode()
	if e.Message != "" && code != CodeInternal {
		return e.Message
	}
	if m := ParseCode(code).Message(); m != "" {
		return m
	}
	return e.ErrorKind().Message()
}

// ErrorDetails returns Details.
func (e *Error) ErrorDetails() map[string]any { return e.Details }

// RetryAfter returns Retry.
func (e *Error) RetryAfter() time.Duration { return e.Retry }
