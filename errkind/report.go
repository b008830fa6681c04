package errkind

import (
	"context"
	"errors"
	"time"
)

// Kinder is implemented by an error that reports its kind. It is the
// interface that makes an error part of the contract; the others are read
// from the same value when it has them.
type Kinder interface {
	ErrorKind() Kind
}

// Coder is implemented by an error with a code of its own (an
// application's "INSUFFICIENT_FUNDS"); without it the code is Kind.Code.
type Coder interface {
	ErrorCode() string
}

// PublicMessager is implemented by an error with a client-safe message;
// without it the message is Kind.Message. The message of Internal is
// always the standard one.
type PublicMessager interface {
	PublicMessage() string
}

// Detailer is implemented by an error with structured details for the
// client, such as the invalid fields.
type Detailer interface {
	ErrorDetails() map[string]any
}

// RetryAfterer is implemented by an error that knows when a retry may
// succeed (RateLimited, Unavailable); envelope sends it as Retry-After. A
// result of 0 or less means "don't say".
type RetryAfterer interface {
	RetryAfter() time.Duration
}

// HTTPStatuser is implemented by an error of the HTTP layer that needs a
// status the table of kinds does not give (422 for an application's own
// code), and by Error, whose Status field says it. The data layer never
// sets a status. An error with HTTPStatus and no ErrorKind reports the
// kind FromHTTPStatus gives, possibly Unknown.
type HTTPStatuser interface {
	HTTPStatus() int
}

// Report is what an error reports about itself through the interfaces of
// this package, as Inspect reads it.
type Report struct {
	Kind       Kind           // the reported kind; Unknown for a status outside the table
	Status     int            // HTTPStatus when reported (400–599), else Kind.HTTPStatus()
	Code       string         // ErrorCode, else Kind.Code(); "" when neither says
	Message    string         // PublicMessage, else Kind.Message(); generic for Internal
	Details    map[string]any // ErrorDetails
	RetryAfter time.Duration  // RetryAfter, when positive
	Source     error          // the error in the chain that reported all this
}

// Inspect finds the first error in err's chain that reports a kind
// (Kinder) or a status (HTTPStatuser) and reads everything it reports from
// that one value. ok is false when no error in the chain reports either, or
// when the reported status is outside 400–599 and no kind is reported.
func Inspect(err error) (r Report, ok bool) {
	v := reporter(err)
	if v == nil {
		return Report{}, false
	}
	r.Source = v
	if k, isK := v.(Kinder); isK {
		r.Kind = k.ErrorKind()
	}
	if h, isH := v.(HTTPStatuser); isH {
		if s := h.HTTPStatus(); s >= 400 && s <= 599 {
			r.Status = s
			if r.Kind == Unknown {
				r.Kind = FromHTTPStatus(s)
			}
		}
	}
	if r.Status == 0 {
		r.Status = r.Kind.HTTPStatus()
	}
	if r.Status == 0 {
		return Report{}, false
	}
	if c, isC := v.(Coder); isC {
		r.Code = c.ErrorCode()
	}
	if r.Code == "" {
		r.Code = r.Kind.Code()
	}
	if m, isM := v.(PublicMessager); isM && r.Code != CodeInternal {
		r.Message = m.PublicMessage()
	}
	if r.Message == "" {
		r.Message = ParseCode(r.Code).Message()
	}
	if r.Message == "" {
		r.Message = r.Kind.Message()
	}
	if d, isD := v.(Detailer); isD {
		r.Details = d.ErrorDetails()
	}
	if ra, isR := v.(RetryAfterer); isR && ra.RetryAfter() > 0 {
		r.RetryAfter = ra.RetryAfter()
	}
	return r, true
}

// reporter returns the first error in err's chain that is a Kinder or an
// HTTPStatuser, or nil. errors.As finds the first of each; when both
// exist, the status reporter is the outer one exactly when the kind
// reporter is in its own chain.
func reporter(err error) error {
	var k Kinder
	var h HTTPStatuser
	hasK := errors.As(err, &k)
	hasH := errors.As(err, &h)
	switch {
	case hasK && !hasH:
		return k.(error)
	case hasH && !hasK:
		return h.(error)
	case !hasK && !hasH:
		return nil
	}
	if he, isErr := h.(error); isErr {
		var inner Kinder
		if errors.As(he, &inner) {
			return he // h wraps (or is) a kind reporter: h is outer
		}
	}
	return k.(error)
}

// Of returns the kind err reports (see Inspect). An error that reports
// nothing is Timeout when it wraps context.DeadlineExceeded,
// ClientClosedRequest when it wraps context.Canceled, and Internal otherwise. Of(nil) is Unknown,
// and so is an error that reports only a status outside the table.
func Of(err error) Kind {
	if err == nil {
		return Unknown
	}
	if v := reporter(err); v != nil {
		if r, ok := Inspect(v); ok {
			return r.Kind
		}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return Timeout
	case errors.Is(err, context.Canceled):
		return ClientClosedRequest
	}
	return Internal
}
