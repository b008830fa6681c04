package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.opentelemetry.io/otel/metric"

	"github.com/svckit/svckit/internal/opt"
)

// Token types carried in the "typ" header. Access tokens follow RFC 9068.
const (
	AccessTokenType  = "at+jwt"
	RefreshTokenType = "rt+jwt"
)

// Defaults and limits of Options.
const (
	DefaultAccessTTL  = 15 * time.Minute
	DefaultRefreshTTL = 7 * 24 * time.Hour
	MaxLeeway         = 60 * time.Second
	// MaxTokenLen is the longest token string verified; longer ones are
	// rejected before any parsing.
	MaxTokenLen = 4096
)

// Options configure Tokens. Issuer, Keys, Store and Users are required.
// Every duration takes its default when zero or negative.
type Options struct {
	Issuer string // "iss" of every token; required
	// Audience is the "aud" of access tokens, the API that accepts them.
	// Empty means Issuer.
	Audience string
	// RefreshAudience is the "aud" of refresh tokens. It must differ from
	// Audience; empty means Issuer + "#refresh".
	RefreshAudience string
	AccessTTL       time.Duration // zero or negative: DefaultAccessTTL
	RefreshTTL      time.Duration // zero or negative: DefaultRefreshTTL; the family's absolute lifetime
	// Leeway tolerates clock skew on exp and nbf. Zero or negative means
	// none; it is capped at MaxLeeway.
	Leeway time.Duration
	// ReuseGrace lets the immediate predecessor of a family's newest token
	// be presented again within this time of its use without revoking the
	// family (two browser tabs refreshing at once); it still gets
	// ErrTokenReused and no new pair. Zero or negative: every reuse
	// revokes. Keep it to seconds.
	ReuseGrace time.Duration
	// Algorithms are the signing algorithms verification accepts, among
	// HS256, EdDSA, ES256 and RS256; empty means all four. Whatever the
	// list, a token must use the algorithm of the key its "kid" names.
	Algorithms []string
	// ClientID is the "client_id" of access tokens (RFC 9068 §2.2): the
	// client the tokens are issued to. Empty means Issuer, a first-party
	// service issuing to its own clients.
	ClientID string
	Keys     *KeySet      // signing and verification keys; required
	Store    RefreshStore // refresh-token families; required
	Users    UserLookup   // current user state for Refresh; required
	// VerifyCacheSize is how many verified access tokens VerifyAccess
	// remembers (see Verifier). Zero means DefaultVerifyCacheSize;
	// negative turns the cache off.
	VerifyCacheSize int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of token and family ids; nil means crypto/rand.
	// It must be safe for concurrent use.
	Rand io.Reader
	// MeterProvider receives the metrics of MetricIssued and the names
	// beside it. Nil means otel's global provider.
	MeterProvider metric.MeterProvider
	// Logger receives one Warn record per refresh-token reuse (see
	// MetricReuseDetected), a security event. Nil discards it.
	Logger *slog.Logger
}

// Pair is an access token and its refresh token.
type Pair struct {
	AccessToken      string
	RefreshToken     string
	AccessExpiresAt  time.Time
	RefreshExpiresAt time.Time
}

// Tokens issues, refreshes and revokes access/refresh token pairs. The
// Verifier it embeds verifies the access tokens it issues (VerifyAccess,
// and Check for a request), with the rules of Options.
//
// Build it with NewTokens; the zero value is not usable. A Tokens is safe
// for concurrent use; it holds no resources of its own (close the Store's
// database yourself).
type Tokens struct {
	*Verifier // verifies the access tokens this Tokens issues

	opts          Options
	m             *tokenMetrics
	keys          KeySource
	refreshParser *jwt.Parser
}

// NewTokens checks opts and returns a Tokens. It fails for what
// configuration can get wrong: an empty Issuer, an algorithm it does not
// know or that the active key does not use, a RefreshAudience equal to
// Audience. A nil Keys, Store or Users is a programming error and panics.
func NewTokens(opts Options) (*Tokens, error) {
	switch {
	case opts.Keys == nil:
		panic("auth: NewTokens: nil Keys")
	case opts.Store == nil:
		panic("auth: NewTokens: nil Store")
	case opts.Users == nil:
		panic("auth: NewTokens: nil Users")
	case opts.Issuer == "":
		return nil, errors.New("auth: Options.Issuer is required")
	}
	algs, err := checkAlgorithms(opts.Algorithms)
	if err != nil {
		return nil, err
	}
	opts.Algorithms = algs
	if !slices.Contains(opts.Algorithms, opts.Keys.signer().Alg()) {
		return nil, fmt.Errorf("auth: the active key's algorithm %s is not in Options.Algorithms", opts.Keys.signer().Alg())
	}
	if opts.Audience == "" {
		opts.Audience = opts.Issuer
	}
	if opts.RefreshAudience == "" {
		opts.RefreshAudience = opts.Issuer + "#refresh"
	}
	if opts.RefreshAudience == opts.Audience {
		return nil, errors.New("auth: Options.RefreshAudience must differ from Audience")
	}
	opts.AccessTTL = opt.PositiveOr(opts.AccessTTL, DefaultAccessTTL)
	opts.RefreshTTL = opt.PositiveOr(opts.RefreshTTL, DefaultRefreshTTL)
	opts.ReuseGrace = max(opts.ReuseGrace, 0)
	opts.Leeway = min(max(opts.Leeway, 0), MaxLeeway)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.ClientID == "" {
		opts.ClientID = opts.Issuer
	}
	keys := keySetAt{opts.Keys, opts.Now}
	access, err := NewVerifier(keys, VerifierOptions{Issuer: opts.Issuer, Audience: opts.Audience,
		Algorithms: opts.Algorithms, Leeway: opts.Leeway, Now: opts.Now, CacheSize: opts.VerifyCacheSize,
		MeterProvider: opts.MeterProvider})
	if err != nil {
		return nil, err
	}
	return &Tokens{Verifier: access, opts: opts, m: newTokenMetrics(opts.MeterProvider, opts.Logger), keys: keys,
		refreshParser: newParser(opts.Algorithms, opts.Issuer, opts.RefreshAudience, opts.Leeway, opts.Now)}, nil
}

// keySetAt is a KeySet read with the clock of Tokens.
type keySetAt struct {
	s   *KeySet
	now func() time.Time
}

func (k keySetAt) VerificationKey(_ context.Context, kid string) (*Key, error) {
	if key, ok := k.s.lookup(kid, k.now()); ok {
		return key, nil
	}
	return nil, errors.New("unknown kid")
}

// Issue starts a new refresh family for u (a login) and returns its first
// pair.
func (t *Tokens) Issue(ctx context.Context, u User) (Pair, error) {
	if u.ID == "" {
		return Pair{}, errors.New("auth: Issue needs a user id")
	}
	now := t.opts.Now()
	fid, err := t.randomID()
	if err != nil {
		return Pair{}, err
	}
	famExp := now.Add(t.opts.RefreshTTL).Truncate(time.Second)
	refresh, rec, err := t.signRefresh(u.ID, fid, famExp, now)
	if err != nil {
		return Pair{}, err
	}
	if err := t.opts.Store.Create(ctx, rec); err != nil {
		return Pair{}, fmt.Errorf("auth: store refresh token: %w", err)
	}
	t.m.issuedLogin.Inc(ctx)
	return t.pair(u, now, refresh, rec.ExpiresAt)
}

// VerifyRefresh verifies a refresh token's signature and claims, without
// consulting the store. Errors are as for VerifyAccess.
func (t *Tokens) VerifyRefresh(ctx context.Context, token string) (*RefreshClaims, error) {
	var w refreshWire
	_, err := verifyToken(ctx, t.refreshParser, t.keys, token, []string{RefreshTokenType}, &w)
	t.m.verifyRefresh[verifyResult(err)].Inc(ctx)
	if err != nil {
		return nil, err
	}
	if w.Sub == "" || w.Jti == "" || w.Fid == "" || w.Fexp.IsZero() {
		return nil, ErrInvalidToken.with(errors.New("refresh token lacks sub, jti, fid or fexp"))
	}
	c := w.claims()
	return &c, nil
}

// RotateKey makes next the active signing key; the previous one keeps
// verifying until every token it signed has expired. next's algorithm must
// be in Options.Algorithms.
func (t *Tokens) RotateKey(next *Key) error {
	if next != nil && !slices.Contains(t.opts.Algorithms, next.Alg()) {
		return fmt.Errorf("%w: algorithm %s is not in Options.Algorithms", ErrBadKey, next.Alg())
	}
	return t.opts.Keys.Rotate(next, t.opts.Now().Add(max(t.opts.RefreshTTL, t.opts.AccessTTL)+t.opts.Leeway))
}

// JWKSHandler serves the public keys of the key set as a JWKS document.
func (t *Tokens) JWKSHandler() http.Handler { return t.opts.Keys.JWKSHandler(t.opts.Now) }

// AccessTTL returns the lifetime of access tokens, for "expiresIn".
func (t *Tokens) AccessTTL() time.Duration { return t.opts.AccessTTL }

func (t *Tokens) pair(u User, now time.Time, refresh string, refreshExp time.Time) (Pair, error) {
	jti, err := t.randomID()
	if err != nil {
		return Pair{}, err
	}
	exp := now.Add(t.opts.AccessTTL)
	c := Claims{
		Issuer:    t.opts.Issuer,
		Subject:   u.ID,
		Audience:  []string{t.opts.Audience},
		ExpiresAt: exp,
		IssuedAt:  now,
		ID:        jti,
		ClientID:  t.opts.ClientID,
		Scope:     u.Scope,
		Email:     u.Email,
		Roles:     u.Roles,
	}
	w := c.wire()
	access, err := t.sign(&w, AccessTokenType)
	if err != nil {
		return Pair{}, err
	}
	return Pair{AccessToken: access, RefreshToken: refresh,
		AccessExpiresAt: w.Exp.t, RefreshExpiresAt: refreshExp}, nil
}

func (t *Tokens) sign(c jwt.Claims, typ string) (string, error) {
	k := t.opts.Keys.signer()
	tok := jwt.NewWithClaims(k.method, c)
	tok.Header["typ"] = typ
	tok.Header["kid"] = k.id
	s, err := tok.SignedString(k.sign)
	if err != nil {
		return "", fmt.Errorf("auth: sign token: %w", err)
	}
	return s, nil
}

// randomID returns 16 random bytes in unpadded base64url.
func (t *Tokens) randomID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(t.opts.Rand, b[:]); err != nil {
		return "", fmt.Errorf("auth: read random id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
