package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/svckit/svckit/internal/strictjson"
)

// The wire form of the claims sets: what encoding/json reads from and
// writes to a token's payload, and what golang-jwt validates through the
// jwt.Claims methods. It is private so the public Claims carry no type of
// golang-jwt.

// numericDate is an RFC 7519 NumericDate: a JSON number of seconds since
// the epoch, possibly with a fraction. A JSON string, even one holding
// digits, is an error.
type numericDate struct{ t time.Time }

// maxNumericDate is the end of year 9999: later dates are refused rather
// than overflowing.
const maxNumericDate = 253402300799

var errNumericDate = errors.New("auth: a date claim must be a JSON number")

func (d numericDate) IsZero() bool { return d.t.IsZero() }

func (d numericDate) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, d.t.Unix(), 10), nil
}

func (d *numericDate) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || !(b[0] == '-' || b[0] >= '0' && b[0] <= '9') {
		return errNumericDate
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.Abs(f) > maxNumericDate {
		return errNumericDate
	}
	sec, frac := math.Modf(f)
	d.t = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	return nil
}

func (d numericDate) jwt() (*jwt.NumericDate, error) {
	if d.t.IsZero() {
		return nil, nil
	}
	return jwt.NewNumericDate(d.t), nil
}

func date(t time.Time) numericDate {
	if t.IsZero() {
		return numericDate{}
	}
	return numericDate{t.Truncate(time.Second)}
}

// audience is "aud": a string or an array of strings (RFC 7519 §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("auth: aud must be a string or an array of strings")
	}
	*a = many
	return nil
}

// registeredWire holds the registered claims and gives golang-jwt's
// validator its view of them.
type registeredWire struct {
	Iss string      `json:"iss,omitempty"`
	Sub string      `json:"sub,omitempty"`
	Aud audience    `json:"aud,omitempty"`
	Exp numericDate `json:"exp,omitzero"`
	Nbf numericDate `json:"nbf,omitzero"`
	Iat numericDate `json:"iat,omitzero"`
	Jti string      `json:"jti,omitempty"`
}

func (r *registeredWire) GetExpirationTime() (*jwt.NumericDate, error) { return r.Exp.jwt() }
func (r *registeredWire) GetIssuedAt() (*jwt.NumericDate, error)       { return r.Iat.jwt() }
func (r *registeredWire) GetNotBefore() (*jwt.NumericDate, error)      { return r.Nbf.jwt() }
func (r *registeredWire) GetIssuer() (string, error)                   { return r.Iss, nil }
func (r *registeredWire) GetSubject() (string, error)                  { return r.Sub, nil }
func (r *registeredWire) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings(r.Aud), nil
}

var _ jwt.Claims = (*registeredWire)(nil)

type accessWire struct {
	registeredWire
	ClientID string      `json:"client_id,omitempty"`
	Scope    string      `json:"scope,omitempty"`
	AuthTime numericDate `json:"auth_time,omitzero"`
	ACR      string      `json:"acr,omitempty"`
	AMR      []string    `json:"amr,omitempty"`
	Email    string      `json:"email,omitempty"`
	Roles    []string    `json:"roles,omitempty"`
	Groups   []string    `json:"groups,omitempty"`
}

func (c Claims) wire() accessWire {
	return accessWire{
		registeredWire: registeredWire{Iss: c.Issuer, Sub: c.Subject, Aud: audience(c.Audience),
			Exp: date(c.ExpiresAt), Nbf: date(c.NotBefore), Iat: date(c.IssuedAt), Jti: c.ID},
		ClientID: c.ClientID, Scope: c.Scope, AuthTime: date(c.AuthTime), ACR: c.ACR, AMR: c.AMR,
		Email: c.Email, Roles: c.Roles, Groups: c.Groups,
	}
}

func (w *accessWire) claims() Claims {
	return Claims{
		Issuer: w.Iss, Subject: w.Sub, Audience: []string(w.Aud),
		ExpiresAt: w.Exp.t, NotBefore: w.Nbf.t, IssuedAt: w.Iat.t, ID: w.Jti,
		ClientID: w.ClientID, Scope: w.Scope, AuthTime: w.AuthTime.t, ACR: w.ACR, AMR: w.AMR,
		Email: w.Email, Roles: w.Roles, Groups: w.Groups,
	}
}

type refreshWire struct {
	registeredWire
	Fid  string      `json:"fid,omitempty"`
	Fexp numericDate `json:"fexp,omitzero"`
}

func (c RefreshClaims) wire() refreshWire {
	return refreshWire{
		registeredWire: registeredWire{Iss: c.Issuer, Sub: c.Subject, Aud: audience(c.Audience),
			Exp: date(c.ExpiresAt), Iat: date(c.IssuedAt), Jti: c.ID},
		Fid: c.Family, Fexp: date(c.FamilyExpiresAt),
	}
}

func (w *refreshWire) claims() RefreshClaims {
	return RefreshClaims{
		Issuer: w.Iss, Subject: w.Sub, Audience: []string(w.Aud),
		ExpiresAt: w.Exp.t, IssuedAt: w.Iat.t, ID: w.Jti,
		Family: w.Fid, FamilyExpiresAt: w.Fexp.t,
	}
}

func marshalJSON(v any) ([]byte, error) { return json.Marshal(v) }

func unmarshalJSON(b []byte, v any) error { return json.Unmarshal(b, v) }

// strictClaims refuses a claims set b (JSON that encoding/json accepted)
// that another parser could read differently: a claim named twice (RFC
// 7519 §4 lets a parser refuse it; encoding/json keeps the last), a name
// that differs from a claim of t only by letter case (encoding/json would
// fill the claim from it: "ROLES" for "roles"), a name repeated in any
// object inside, and a string with NUL or invalid UTF-8 (encoding/json
// would replace the latter with U+FFFD). It is the rule envelope applies
// to request bodies, from the same code (internal/strictjson). Names the
// package does not know are left alone, letter case included.
func strictClaims(b []byte, t reflect.Type) error {
	if err := strictjson.Check(b, t); err != nil {
		return fmt.Errorf("auth: claims set refused: %w", err)
	}
	return nil
}

// strictToken applies strictClaims to the payload of token, decoded into
// claims of type t, and refuses a JOSE header that names a parameter twice
// (RFC 7515 §4: "alg" or "kid" twice would be read differently by another
// parser) or holds a string with NUL or invalid UTF-8. golang-jwt decodes
// the header into a map, so letter case is not folded there and no case
// rule applies. It runs once golang-jwt has decoded both segments, which
// are therefore valid base64url and JSON.
func strictToken(token string, t reflect.Type) error {
	header, rest, _ := strings.Cut(token, ".")
	payload, _, _ := strings.Cut(rest, ".")
	enc := base64.RawURLEncoding
	bp := segments.Get().(*[]byte)
	defer segments.Put(bp)
	buf := slices.Grow((*bp)[:0], enc.DecodedLen(len(header))+enc.DecodedLen(len(payload)))
	*bp = buf
	n, err := enc.Decode(buf[:cap(buf)], []byte(header))
	if err != nil {
		return err
	}
	if err := strictjson.Check(buf[:n], nil); err != nil {
		return fmt.Errorf("auth: header refused: %w", err)
	}
	m, err := enc.Decode(buf[n:cap(buf)], []byte(payload))
	if err != nil {
		return err
	}
	return strictClaims(buf[n:n+m], t)
}

// segments recycles the scratch strictToken decodes a token into, at most
// MaxTokenLen bytes; a cache, invisible to callers.
var segments = sync.Pool{New: func() any { return new([]byte) }}
