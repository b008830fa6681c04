package operation

import (
	"strings"

	"github.com/svckit/svckit/errkind"
)

// InputError is the error of a request whose parameters or body break its
// operation's schema. It lists every violation (Violations, rendered as
// error.violations) and keeps error.details in the shape clients already
// read:
//
//   - 400 VALIDATION_ERROR, when every value has the right type but some
//     break a rule (required, lengths, pattern, range, enum, format): one
//     message per field, keyed by its path in the body or by the
//     parameter's name: {"email": "must be an email address"}, nested
//     members dotted: {"address.city": "is required"};
//   - 400 BAD_REQUEST, when a parameter is missing or does not read as its
//     type, or the body has a member the schema does not know, a member
//     twice, or a value of the wrong JSON type: details name the first such
//     parameter ({"param": "limit"}, {"header": "Idempotency-Key"}) or
//     member ({"field": "amount", "expected": "integer"}), as envelope's
//     decoder does.
//
// Violations holds them all either way, in the order path, query, header,
// body. It is safe to share once returned.
type InputError struct {
	kind       errkind.Kind
	message    string
	details    map[string]any
	violations []errkind.Violation
}

var (
	_ errkind.Kinder         = (*InputError)(nil)
	_ errkind.PublicMessager = (*InputError)(nil)
	_ errkind.Detailer       = (*InputError)(nil)
	_ errkind.Violator       = (*InputError)(nil)
)

// structural reports whether a body violation means the body could not
// be read as its type at all: envelope's decoder answers those
// BAD_REQUEST.
func structural(v errkind.Violation) bool {
	switch v.Reason {
	case "type", "additionalProperties", "duplicate":
		return true
	}
	return false
}

// newInputError builds the error for vs, which is not empty.
func newInputError(vs []errkind.Violation) *InputError {
	e := &InputError{kind: errkind.Validation, violations: vs}
	// A parameter problem is BAD_REQUEST naming the parameter, as envelope
	// names one that does not parse; a body that does not have its type is
	// BAD_REQUEST naming the member; the rest is VALIDATION_ERROR.
	for _, v := range vs {
		source, rest := splitLocation(v.Location)
		if source == "body" {
			continue
		}
		e.kind, e.message = errkind.BadRequest, source+" parameter "+rest+" "+v.Message
		key := "param"
		if source == "header" {
			key = "header"
		}
		e.details = map[string]any{key: rest}
		return e
	}
	for _, v := range vs {
		if !structural(v) {
			continue
		}
		_, rest := splitLocation(v.Location)
		e.kind = errkind.BadRequest
		e.details = map[string]any{}
		if rest != "" {
			e.details["field"] = rest
		}
		switch v.Reason {
		case "type":
			e.message = "request body has a value of the wrong type"
			// "must be an integer": the JSON type, as envelope's decoder
			// names it in details.expected.
			exp := strings.TrimPrefix(strings.TrimPrefix(v.Message, "must be an "), "must be a ")
			if exp == "integer" {
				exp = "number" // the JSON type, as the decoder names it
			}
			if exp != v.Message {
				e.details["expected"] = exp
			}
		case "duplicate":
			e.message = "request body repeats a field"
		default:
			e.message = "request body has an unknown field"
		}
		return e
	}
	e.details = make(map[string]any, len(vs))
	for _, v := range vs {
		_, rest := splitLocation(v.Location)
		if rest == "" {
			rest = "body"
		}
		if _, ok := e.details[rest]; !ok {
			e.details[rest] = v.Message
		}
	}
	return e
}

// splitLocation splits /body/address/city into "body" and "address.city",
// unescaping the pointer's ~1 and ~0.
func splitLocation(loc string) (source, rest string) {
	loc = strings.TrimPrefix(loc, "/")
	source, rest, _ = strings.Cut(loc, "/")
	if rest == "" {
		return source, ""
	}
	parts := strings.Split(rest, "/")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
	}
	return source, strings.Join(parts, ".")
}

// Error lists the violations, for logs.
func (e *InputError) Error() string {
	var b strings.Builder
	b.WriteString("operation: invalid input")
	for i, v := range e.violations {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(v.Location + " " + v.Message)
	}
	return b.String()
}

// ErrorKind returns errkind.Validation or errkind.BadRequest, as described
// on the type.
func (e *InputError) ErrorKind() errkind.Kind { return e.kind }

// PublicMessage returns the message of the first violation that decided
// the kind, or the standard one.
func (e *InputError) PublicMessage() string {
	if e.message != "" {
		return e.message
	}
	return e.kind.Message()
}

// ErrorDetails returns the details described on the type.
func (e *InputError) ErrorDetails() map[string]any { return e.details }

// Violations returns every violation.
func (e *InputError) Violations() []errkind.Violation { return e.violations }
