package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.opentelemetry.io/otel/metric"

	"github.com/svckit/svckit/internal/telemetry"
)

// KeySource finds the verification key that a token's "kid" names. KeySet
// is one (its own keys); the jwks sub-package's Set is another (the keys an
// issuer publishes at a JWKS URL).
type KeySource interface {
	// VerificationKey returns the key with id kid, or an error when there
	// is none. The error is not shown to clients.
	VerificationKey(ctx context.Context, kid string) (*Key, error)
}

// VerifierOptions configure a Verifier. Issuer and Audience are required.
type VerifierOptions struct {
	Issuer   string // the "iss" tokens must carry; required
	Audience string // the "aud" tokens must carry (one of); required
	// Algorithms are the signing algorithms accepted, among HS256, EdDSA,
	// ES256 and RS256. Empty means all of them. Whatever the list, a token
	// must use the algorithm of the key its "kid" names.
	Algorithms []string
	// Types are the accepted "typ" header values, compared without regard
	// to letter case and with or without the "application/" prefix (RFC
	// 7515 §4.1.9). Empty means AccessTokenType only (RFC 9068). Add "JWT"
	// for an issuer that does not type its access tokens.
	Types []string
	// Leeway tolerates clock skew on exp and nbf. Zero or negative means
	// none; it is capped at MaxLeeway.
	Leeway time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// CacheSize is how many verified tokens the Verifier remembers, so
	// that a token presented again is not parsed and checked again while
	// its time window and its key hold (see the package documentation).
	// Zero means DefaultVerifyCacheSize; negative turns the cache off.
	CacheSize int
	// MeterProvider receives MetricVerifications (token_type "access").
	// Nil means otel's global provider.
	MeterProvider metric.MeterProvider
}

// Verifier verifies access tokens against keys from a KeySource: signature
// first, then the claims. It is auth's one verifier: NewVerifier builds one
// for another issuer's tokens, and a Tokens embeds the one that verifies
// its own. It refuses a token longer than MaxTokenLen, one
// whose algorithm is not pinned or not its key's, one with a "crit" header
// (RFC 7515 §4.1.11: no extension is understood), a "typ" not in Types,
// a date claim that is not a JSON number, no "exp", a wrong "iss" or
// "aud", or no "sub". It refuses too the JSON another parser could read
// differently, as envelope refuses it in a request body: a claim or header
// parameter named twice, a claim name that differs from one of Claims'
// only by letter case ("ROLES" beside or instead of "roles"), a name
// repeated in any object of the claims set, and a string with NUL or
// invalid UTF-8. Claim names the package does not know are not otherwise
// checked.
//
// A Verifier remembers the tokens that verified (VerifierOptions.CacheSize):
// the same token string, while its nbf/exp window holds and its kid still
// names the key that verified it, is accepted without being parsed again.
// Nothing else is skipped, so nothing is accepted that would not be.
//
// Every verification is counted in MetricVerifications, cache hits too.
//
// Build it with NewVerifier; the zero value is not usable. A Verifier is
// safe for concurrent use and holds no resources that need closing.
type Verifier struct {
	keys   KeySource
	types  []string
	parser *jwt.Parser
	now    func() time.Time
	leeway time.Duration
	cache  *verifyCache // nil: off
	counts [verifyResults]telemetry.Add
}

// NewVerifier returns a Verifier of the tokens signed by keys. It fails
// for an empty Issuer or Audience and an algorithm it does not know; a nil
// keys panics.
func NewVerifier(keys KeySource, opts VerifierOptions) (*Verifier, error) {
	switch {
	case keys == nil:
		panic("auth: NewVerifier: nil KeySource")
	case opts.Issuer == "":
		return nil, errors.New("auth: VerifierOptions.Issuer is required")
	case opts.Audience == "":
		return nil, errors.New("auth: VerifierOptions.Audience is required")
	}
	algs, err := checkAlgorithms(opts.Algorithms)
	if err != nil {
		return nil, err
	}
	types := opts.Types
	if len(types) == 0 {
		types = []string{AccessTokenType}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	leeway := min(max(opts.Leeway, 0), MaxLeeway)
	return &Verifier{keys: keys, types: slices.Clone(types), now: opts.Now, leeway: leeway,
		parser: newParser(algs, opts.Issuer, opts.Audience, leeway, opts.Now),
		cache:  newVerifyCache(opts.CacheSize),
		counts: newVerifyCounts(opts.MeterProvider, "access")}, nil
}

// checkAlgorithms returns a copy of algs, all supported ones when empty.
func checkAlgorithms(algs []string) ([]string, error) {
	if len(algs) == 0 {
		return []string{HS256, EdDSA, ES256, RS256}, nil
	}
	for _, alg := range algs {
		if alg != HS256 && alg != EdDSA && alg != ES256 && alg != RS256 {
			return nil, fmt.Errorf("auth: unsupported algorithm %q", alg)
		}
	}
	return slices.Clone(algs), nil
}

func newParser(algs []string, iss, aud string, leeway time.Duration, now func() time.Time) *jwt.Parser {
	return jwt.NewParser(
		jwt.WithValidMethods(algs),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(iss),
		jwt.WithAudience(aud),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(now),
		jwt.WithStrictDecoding(),
	)
}

// VerifyAccess verifies an access token and returns its claims. Errors are
// ErrInvalidToken, ErrExpired or ErrWrongTokenType (a refresh token), all
// rendering 401.
func (v *Verifier) VerifyAccess(ctx context.Context, token string) (*Claims, error) {
	c, err := v.verifyAccess(ctx, token)
	v.counts[verifyResult(err)].Inc(ctx)
	return c, err
}

func (v *Verifier) verifyAccess(ctx context.Context, token string) (*Claims, error) {
	if v.cache != nil {
		if e, ok := v.cache.get(token, v.now()); ok {
			if k, err := v.keys.VerificationKey(ctx, e.kid); err == nil && k == e.key {
				return e.copyClaims(), nil
			}
		}
	}
	var w accessWire
	key, err := verifyToken(ctx, v.parser, v.keys, token, v.types, &w)
	if err != nil {
		return nil, err
	}
	if w.Sub == "" {
		return nil, ErrInvalidToken.with(errors.New("no subject"))
	}
	c := w.claims()
	if v.cache != nil {
		v.cache.put(token, c, key, v.leeway, v.now())
	}
	return &c, nil
}

// Check extracts the bearer token of r and verifies it as an access token.
func (v *Verifier) Check(r *http.Request) (*Claims, error) {
	tok, err := BearerToken(r)
	if err != nil {
		return nil, err
	}
	return v.VerifyAccess(r.Context(), tok)
}

// typeMatches reports whether the "typ" header names one of types, without
// regard to letter case and with or without "application/".
func typeMatches(header any, types []string) bool {
	s, ok := header.(string)
	if !ok {
		return false
	}
	if len(s) > len("application/") && strings.EqualFold(s[:len("application/")], "application/") {
		s = s[len("application/"):]
	}
	for _, t := range types {
		if strings.EqualFold(s, t) {
			return true
		}
	}
	return false
}

// verifyToken checks the shape, the header, the signature and then the
// claims of token, decoding its payload into claims. It returns the key
// that verified the signature.
func verifyToken(ctx context.Context, p *jwt.Parser, keys KeySource, token string, types []string, claims jwt.Claims) (*Key, error) {
	if len(token) > MaxTokenLen || strings.Count(token, ".") != 2 {
		return nil, ErrInvalidToken
	}
	var key *Key
	tok, err := p.ParseWithClaims(token, claims, func(tok *jwt.Token) (any, error) {
		if _, ok := tok.Header["crit"]; ok {
			// RFC 7515 §4.1.11: no extension is understood here, and an
			// empty or registered-name list is malformed anyway.
			return nil, errors.New("crit header parameter not understood")
		}
		if err := strictToken(token, reflect.TypeOf(claims)); err != nil {
			return nil, err
		}
		kid, _ := tok.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("no kid")
		}
		k, err := keys.VerificationKey(ctx, kid)
		if err != nil {
			return nil, err
		}
		if tok.Method.Alg() != k.method.Alg() {
			return nil, errors.New("algorithm does not match the key")
		}
		key = k
		return k.verify, nil
	})
	if err != nil {
		// Claims are validated only after the signature verified, so
		// only then may the error say more than "invalid".
		if errors.Is(err, jwt.ErrTokenInvalidClaims) {
			if !typeMatches(tok.Header["typ"], types) {
				return nil, ErrWrongTokenType.with(err)
			}
			if errors.Is(err, jwt.ErrTokenExpired) {
				return nil, ErrExpired.with(err)
			}
		}
		return nil, ErrInvalidToken.with(err)
	}
	if !typeMatches(tok.Header["typ"], types) {
		return nil, ErrWrongTokenType
	}
	return key, nil
}
