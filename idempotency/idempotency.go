package idempotency

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/svckit/svckit/errkind"
)

// MaxKeyLen is the longest Key.Value, Key.Scope and fingerprint accepted, in
// bytes.
const MaxKeyLen = 255

// Errors a client caused. They report their errkind kind and public
// message (ErrorKind, PublicMessage); match them with errors.Is.
var (
	// ErrKeyMismatch: the key was used before with another fingerprint.
	// It reports errkind.Conflict (409 CONFLICT).
	ErrKeyMismatch error = &clientError{errkind.Conflict, "Idempotency-Key reused with a different request"}
	// ErrInProgress: the key was claimed outside a transaction (Claim
	// without Atomic) and the request that holds it has not finished. It
	// reports errkind.Conflict (409 CONFLICT); the client may retry later.
	ErrInProgress error = &clientError{errkind.Conflict, "a request with this Idempotency-Key is still in progress"}
	// ErrInvalidKey: Key.Value is empty, longer than MaxKeyLen bytes, or
	// not printable ASCII. It reports errkind.BadRequest (400 BAD_REQUEST).
	ErrInvalidKey error = &clientError{errkind.BadRequest, "Idempotency-Key must be 1 to 255 printable ASCII characters"}
)

// Errors of the store's protocol, for callers that use Claim, Finish and
// Load themselves rather than Do.
var (
	// ErrTaken is returned by Claim when the key is claimed already, by a
	// transaction that committed (or by the caller's own). The caller's
	// transaction must roll back (on PostgreSQL it is aborted); then Load
	// returns the outcome to replay.
	ErrTaken = errors.New("idempotency: key taken")
	// ErrNotFound is returned by Load for a key that is not stored, or
	// whose claim has not committed.
	ErrNotFound = errors.New("idempotency: key not found")
	// ErrNotPending is returned by Finish for a key that is not claimed or
	// already has its outcome.
	ErrNotPending = errors.New("idempotency: key not claimed or already finished")
)

// The contract each error type keeps.
var (
	_ errkind.Kinder         = (*clientError)(nil)
	_ errkind.PublicMessager = (*clientError)(nil)
	_ errkind.Kinder         = (*refusal)(nil)
	_ errkind.HTTPStatuser   = (*refusal)(nil)
	_ errkind.Coder          = (*refusal)(nil)
	_ errkind.PublicMessager = (*refusal)(nil)
	_ errkind.Detailer       = (*refusal)(nil)
)

// clientError is an error the client caused, with what it reports.
type clientError struct {
	kind    errkind.Kind
	message string
}

func (e *clientError) Error() string           { return "idempotency: " + e.message }
func (e *clientError) ErrorKind() errkind.Kind { return e.kind }
func (e *clientError) PublicMessage() string   { return e.message }

// Key names one idempotent request. Keys are compared byte for byte: "K" and
// "k" are two keys. The zero Key means "no key" to Do and is invalid
// elsewhere.
type Key struct {
	// Scope keeps clients apart: usually the authenticated user's id. It
	// may be empty (one scope for everybody); it must be valid UTF-8
	// without NUL, at most MaxKeyLen bytes.
	Scope string
	// Value is the client's key, such as the Idempotency-Key header: 1 to
	// MaxKeyLen bytes of printable ASCII (0x20 to 0x7E). Do treats an empty
	// Value as "no key".
	Value string
}

// Validate returns ErrInvalidKey when k.Value is not 1 to MaxKeyLen bytes of
// printable ASCII, and another error when k.Scope is invalid. Stores call it
// on every key; call it yourself to refuse a bad header early.
func (k Key) Validate() error {
	if k.Value == "" || len(k.Value) > MaxKeyLen {
		return ErrInvalidKey
	}
	for i := range len(k.Value) {
		if c := k.Value[i]; c < 0x20 || c > 0x7e {
			return ErrInvalidKey
		}
	}
	if err := checkText("scope", k.Scope); err != nil {
		return err
	}
	return nil
}

// ValidateFingerprint returns an error unless fingerprint is at most
// MaxKeyLen bytes of UTF-8 without NUL, which every database keeps in a
// text column unchanged. Do checks it before it claims; a Store's Claim
// checks it too.
func ValidateFingerprint(fingerprint string) error { return checkText("fingerprint", fingerprint) }

// checkText accepts what every database stores in a text column unchanged.
func checkText(what, s string) error {
	if len(s) > MaxKeyLen || !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("idempotency: %s must be at most %d bytes of UTF-8 without NUL", what, MaxKeyLen)
	}
	return nil
}

// Fingerprint returns a hex SHA-256 of parts, each prefixed with its length
// so that ("ab", "c") and ("a", "bc") differ. Pass what makes two requests
// the same request: for example the method, the path and the body, or the
// decoded fields that matter.
func Fingerprint(parts ...string) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, p := range parts {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Outcome is the answer a request gave, as kept under its key: a success
// (Status below 400, Data) or a refusal (Status 400 or above, Code, Message,
// Details). The zero Outcome is invalid: Finish refuses it.
type Outcome struct {
	// Status is the HTTP status of the answer, 100 to 599.
	Status int
	// Data is the JSON of a success, kept byte for byte; nil means no body.
	// It is ignored for a refusal.
	Data json.RawMessage
	// Code, Message and Details describe a refusal: its UPPER_SNAKE code,
	// client-safe message and details, rendered by Err's error. Empty
	// values render as the envelope's defaults for Status.
	Code    string
	Message string
	Details map[string]any

	cause error // the error Refuse was given, in the process that ran the work
}

// JSON returns the success outcome with status (below 400) and v encoded as
// JSON.
func JSON(status int, v any) (Outcome, error) {
	if status < 100 || status > 399 {
		return Outcome{}, fmt.Errorf("idempotency: JSON status %d is not a success", status)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return Outcome{}, fmt.Errorf("idempotency: encode outcome: %w", err)
	}
	return Outcome{Status: status, Data: data}, nil
}

// Refuse returns the outcome that keeps err as the answer, when err is the
// client's fault: the first error in its chain that reports a kind or a
// status through package errkind (see errkind.Inspect) reports a status
// from 400 to 499. Its own code (ErrorCode, else the code of the kind it
// reports), PublicMessage and ErrorDetails are kept too. Any other error
// (a 5xx, a driver error, a cancelled context) is returned as it is, so
// that the work rolls back and a retry runs it again:
//
//	if err != nil {
//		return idempotency.Refuse(err)
//	}
func Refuse(err error) (Outcome, error) {
	if err == nil {
		return Outcome{}, errors.New("idempotency: Refuse called with a nil error")
	}
	r, ok := errkind.Inspect(err)
	if !ok || r.Status < 400 || r.Status > 499 {
		return Outcome{}, err
	}
	o := Outcome{Status: r.Status, cause: err}
	switch src := r.Source.(type) {
	case errkind.Coder:
		o.Code = src.ErrorCode()
	case errkind.Kinder:
		o.Code = src.ErrorKind().Code()
	}
	if m, ok := r.Source.(errkind.PublicMessager); ok {
		o.Message = m.PublicMessage()
	}
	if d, ok := r.Source.(errkind.Detailer); ok {
		o.Details = d.ErrorDetails()
	}
	return o, nil
}

// Err returns nil for a success. For a refusal it returns the error given to
// Refuse when o came from it in this process (so errors.Is still matches
// your sentinels on the first answer), else an error rebuilt from Status,
// Code, Message and Details. Both render the same through the errkind
// contract: the rebuilt error reports the kind of its code (else of its
// status), the status itself, the code, message and details.
func (o Outcome) Err() error {
	if o.Status < 400 {
		return nil
	}
	if o.cause != nil {
		return o.cause
	}
	return &refusal{status: o.Status, code: o.Code, message: o.Message, details: o.Details}
}

// refusal is a replayed refusal.
type refusal struct {
	status        int
	code, message string
	details       map[string]any
}

func (r *refusal) Error() string {
	return "idempotency: replayed refusal: " + strconv.Itoa(r.status) + " " + r.code + ": " + r.message
}
func (r *refusal) HTTPStatus() int { return r.status }
func (r *refusal) ErrorKind() errkind.Kind {
	if k := errkind.ParseCode(r.code); k != errkind.Unknown {
		return k
	}
	return errkind.FromHTTPStatus(r.status)
}
func (r *refusal) ErrorCode() string            { return r.code }
func (r *refusal) PublicMessage() string        { return r.message }
func (r *refusal) ErrorDetails() map[string]any { return r.details }

// refusalBody is how a refusal is stored.
type refusalBody struct {
	Code    string         `json:"code,omitempty"`
	Message string         `json:"message,omitempty"`
	Details map[string]any `json:"details,omitempty"`
}

// Encode returns the bytes a Store keeps for o, the inverse of
// DecodeOutcome: Data for a success, the refusal's code, message and
// details as JSON otherwise. It returns an error for an outcome Finish
// must refuse (Status outside 100 to 599, Data not JSON). A Store of
// your own keeps o.Status and these bytes.
func (o Outcome) Encode() ([]byte, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	return o.encode()
}

// DecodeOutcome returns the outcome a Store kept as status and body (see
// Outcome.Encode). Numbers in a refusal's details stay json.Number, so
// they render as they were stored.
func DecodeOutcome(status int, body []byte) (Outcome, error) { return decode(status, body) }

// validate checks what Finish stores.
func (o Outcome) validate() error {
	switch {
	case o.Status < 100 || o.Status > 599:
		return fmt.Errorf("idempotency: outcome status %d out of range 100 to 599", o.Status)
	case o.Status < 400 && len(o.Data) > 0 && !json.Valid(o.Data):
		return errors.New("idempotency: outcome data is not valid JSON")
	}
	return nil
}

// encode returns the stored body of o: Data for a success, the refusal as
// JSON otherwise.
func (o Outcome) encode() ([]byte, error) {
	if o.Status < 400 {
		if len(o.Data) == 0 {
			return nil, nil
		}
		return bytes.Clone(o.Data), nil
	}
	body, err := json.Marshal(refusalBody{Code: o.Code, Message: o.Message, Details: o.Details})
	if err != nil {
		return nil, fmt.Errorf("idempotency: encode refusal: %w", err)
	}
	return body, nil
}

// decode is the inverse of encode. Numbers in details stay json.Number, so
// they render as they were stored.
func decode(status int, body []byte) (Outcome, error) {
	o := Outcome{Status: status}
	if status < 400 {
		if len(body) > 0 {
			o.Data = json.RawMessage(bytes.Clone(body))
		}
		return o, nil
	}
	var rb refusalBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&rb); err != nil {
		return Outcome{}, fmt.Errorf("idempotency: decode refusal: %w", err)
	}
	o.Code, o.Message, o.Details = rb.Code, rb.Message, rb.Details
	return o, nil
}

// Record is what a store keeps under a key. The zero Record is pending,
// with no fingerprint.
type Record struct {
	// Fingerprint is the fingerprint of the request that claimed the key.
	Fingerprint string
	// Outcome is its answer; its Status is 0 while the request runs.
	Outcome Outcome
	// CreatedAt is when the key was claimed, by the store's clock.
	CreatedAt time.Time
}

// Pending reports whether the request that claimed the key has not
// recorded its outcome.
func (r Record) Pending() bool { return r.Outcome.Status == 0 }
