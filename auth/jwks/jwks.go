// Package jwks verifies tokens issued by another party: it fetches the JSON
// Web Key Set an issuer publishes (Keycloak, Auth0, another svckit service)
// and serves its keys to auth.Verifier as an auth.KeySource.
//
//	keys, err := jwks.New("https://issuer.example/.well-known/jwks.json", jwks.Options{})
//	v, err := auth.NewVerifier(keys, auth.VerifierOptions{
//		Issuer:   "https://issuer.example/",
//		Audience: "https://api.example",
//	})
//	claims, err := v.VerifyAccess(ctx, token)
//
// # Fetching
//
// A Set fetches on first use, again when its keys are older than
// Options.MaxAge, and when a token names a key id it does not hold (the
// issuer rotated its keys) - but never more often than once per
// Options.MinInterval, so a flood of tokens with made-up key ids costs the
// issuer at most one request per interval. One fetch runs at a time; callers
// that need its result wait for it, others go on with the keys they have.
//
// A fetch is bounded by Options.Timeout and refuses a redirect, a status
// other than 200, a Content-Type other than application/json or
// application/jwk-set+json, a body over Options.MaxBodySize and a document
// auth.ParseJWKS refuses, each with an error that says which. When a fetch
// fails, the last good keys stay in use, however old: an issuer that is
// down or slow does not log every user out.
//
// Only asymmetric keys are used, and only those whose algorithm is in
// Options.Algorithms (EdDSA, ES256 and RS256 by default): a JWKS is public,
// so an HS256 ("oct") key in it is never trusted.
//
// A Set starts no goroutine: fetches run in the callers of
// VerificationKey and Refresh. The one caller whose request finds the keys
// past MaxAge waits for the refresh (at most Timeout) while every other
// caller goes on with the keys in hand, so keep Timeout short; call Refresh
// from a ticker you own to keep requests from ever waiting. A Set is safe
// for concurrent use and holds nothing to close but the idle connections of
// its HTTP client.
package jwks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/internal/opt"
)

// Defaults of Options.
const (
	DefaultTimeout     = 5 * time.Second
	DefaultMaxAge      = 15 * time.Minute
	DefaultMinInterval = 30 * time.Second
)

// Errors of a fetch, wrapped with the details.
var (
	// ErrRedirect means the JWKS URL answered with a redirect.
	ErrRedirect = errors.New("jwks: redirect refused")
	// ErrStatus means the JWKS URL answered with a status other than 200.
	ErrStatus = errors.New("jwks: unexpected status")
	// ErrContentType means the body is not application/json or
	// application/jwk-set+json.
	ErrContentType = errors.New("jwks: unexpected content type")
	// ErrTooLarge means the body is over Options.MaxBodySize.
	ErrTooLarge = errors.New("jwks: body too large")
	// ErrNoKeys means the set holds no key usable with Options.Algorithms.
	ErrNoKeys = errors.New("jwks: no usable key")
	// ErrUnknownKey means the set does not hold the key id a token names,
	// even after a refresh (or a refresh was not allowed yet).
	ErrUnknownKey = errors.New("jwks: unknown key id")
)

// Options configure a Set. Every field has a working zero value; a
// negative duration or size counts as zero.
type Options struct {
	// Client makes the requests; nil means a client of its own. Its
	// redirect policy is replaced: redirects are refused.
	Client *http.Client
	// Timeout bounds each fetch, body included; zero means
	// DefaultTimeout.
	Timeout time.Duration
	// MaxAge is how long fetched keys are used before a refresh; zero
	// means DefaultMaxAge.
	MaxAge time.Duration
	// MinInterval is the least time between two fetches, whatever asks
	// for them (unknown key ids, expired keys, failures); zero means
	// DefaultMinInterval. Refresh ignores it.
	MinInterval time.Duration
	// MaxBodySize bounds the body read; zero means auth.MaxJWKSSize.
	MaxBodySize int64
	// Algorithms are the algorithms of the keys used, among EdDSA, ES256
	// and RS256; empty means all three. HS256 is refused.
	Algorithms []string
	// Logger hears once when fetches start failing and once when they
	// recover; nil means discard.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Set is the key set published at one JWKS URL. Build it with New; the
// zero value is not usable. See the package documentation.
type Set struct {
	url     string
	client  *http.Client
	opts    Options
	algs    []string
	logger  *slog.Logger
	mu      sync.Mutex
	keys    map[string]*auth.Key
	fetched time.Time     // when keys were last replaced
	tried   time.Time     // when the last fetch started
	lastErr error         // of the last fetch; nil after a success
	running chan struct{} // closed when the fetch in flight ends; nil: none
}

var _ auth.KeySource = (*Set)(nil)

// New returns the key set published at url. It fetches nothing yet.
func New(url string, opts Options) (*Set, error) {
	if url == "" {
		return nil, errors.New("jwks: New needs a URL")
	}
	opts.Timeout = opt.PositiveOr(opts.Timeout, DefaultTimeout)
	opts.MaxAge = opt.PositiveOr(opts.MaxAge, DefaultMaxAge)
	opts.MinInterval = opt.PositiveOr(opts.MinInterval, DefaultMinInterval)
	opts.MaxBodySize = opt.PositiveOr(opts.MaxBodySize, auth.MaxJWKSSize)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	algs := slices.Clone(opts.Algorithms)
	if len(algs) == 0 {
		algs = []string{auth.EdDSA, auth.ES256, auth.RS256}
	}
	for _, a := range algs {
		if a != auth.EdDSA && a != auth.ES256 && a != auth.RS256 {
			return nil, fmt.Errorf("jwks: algorithm %q cannot come from a public key set", a)
		}
	}
	client := &http.Client{}
	if opts.Client != nil {
		c := *opts.Client
		client = &c
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return ErrRedirect }
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Set{url: url, client: client, opts: opts, algs: algs, logger: logger}, nil
}

// VerificationKey returns the key with id kid, fetching the set first when
// it is empty, older than MaxAge, or lacks kid - as often as MinInterval
// allows. A failed fetch leaves the last good keys in use.
func (s *Set) VerificationKey(ctx context.Context, kid string) (*auth.Key, error) {
	for {
		s.mu.Lock()
		now := s.opts.Now()
		k, ok := s.keys[kid]
		stale := s.keys == nil || now.Sub(s.fetched) >= s.opts.MaxAge
		if ok && !stale {
			s.mu.Unlock()
			return k, nil
		}
		if s.running != nil {
			if ok { // stale but present: do not wait for the refresh
				s.mu.Unlock()
				return k, nil
			}
			wait := s.running
			s.mu.Unlock()
			select {
			case <-wait:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if k, err := s.lookupAfterFetch(kid); err == nil || !errors.Is(err, errRetry) {
				return k, err
			}
			continue
		}
		if !s.tried.IsZero() && now.Sub(s.tried) < s.opts.MinInterval {
			s.mu.Unlock()
			if ok {
				return k, nil
			}
			return nil, s.unknown(kid)
		}
		s.mu.Unlock()
		err := s.fetch(ctx)
		if k, lerr := s.lookupAfterFetch(kid); lerr == nil {
			return k, nil
		} else if err != nil {
			return nil, fmt.Errorf("%w %q (fetch: %w)", ErrUnknownKey, kid, err)
		} else {
			return nil, lerr
		}
	}
}

var errRetry = errors.New("retry")

// lookupAfterFetch reads kid from the keys a fetch just left; errRetry
// when another fetch began meanwhile.
func (s *Set) lookupAfterFetch(kid string) (*auth.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.keys[kid]; ok {
		return k, nil
	}
	if s.running != nil {
		return nil, errRetry
	}
	return nil, s.unknown(kid)
}

// unknown is the error for a kid the set lacks; s.mu is held.
func (s *Set) unknown(kid string) error {
	if s.lastErr != nil {
		return fmt.Errorf("%w %q (last fetch: %w)", ErrUnknownKey, kid, s.lastErr)
	}
	return fmt.Errorf("%w %q", ErrUnknownKey, kid)
}

// Refresh fetches the set now, whatever MinInterval says, unless a fetch
// is already running, whose result it then waits for. On error the
// previous keys stay in use.
func (s *Set) Refresh(ctx context.Context) error {
	return s.fetch(ctx)
}

// fetch runs one fetch unless one is running, and records its outcome.
func (s *Set) fetch(ctx context.Context) error {
	s.mu.Lock()
	if s.running != nil {
		wait := s.running
		s.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.lastErr
	}
	done := make(chan struct{})
	s.running = done
	s.tried = s.opts.Now()
	s.mu.Unlock()

	// The fetch serves every waiter, so the first caller's cancellation
	// must not end it; the timeout bounds it.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Timeout)
	keys, err := s.get(fctx)
	cancel()

	s.mu.Lock()
	defer s.mu.Unlock()
	failing := s.lastErr != nil
	if err != nil {
		if !failing {
			s.logger.Warn("jwks: fetch failed, keeping the last good keys", "url", s.url, "keys", len(s.keys), "err", err)
		}
		s.lastErr = err
	} else {
		if failing {
			s.logger.Info("jwks: fetch recovered", "url", s.url)
		}
		s.keys, s.fetched, s.lastErr = keys, s.opts.Now(), nil
	}
	s.running = nil
	close(done)
	return err
}

// get requests and parses the set.
func (s *Set) get(ctx context.Context) (map[string]*auth.Key, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrRedirect) {
			return nil, fmt.Errorf("%w: GET %s", ErrRedirect, s.url)
		}
		return nil, fmt.Errorf("jwks: GET %s: %w", s.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w %d from %s", ErrStatus, resp.StatusCode, s.url)
	}
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && mt != "application/jwk-set+json") {
		return nil, fmt.Errorf("%w %q from %s", ErrContentType, resp.Header.Get("Content-Type"), s.url)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.opts.MaxBodySize+1))
	if err != nil {
		return nil, fmt.Errorf("jwks: read %s: %w", s.url, err)
	}
	if int64(len(body)) > s.opts.MaxBodySize {
		return nil, fmt.Errorf("%w: over %d bytes from %s", ErrTooLarge, s.opts.MaxBodySize, s.url)
	}
	parsed, err := auth.ParseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("jwks: %s: %w", s.url, err)
	}
	keys := make(map[string]*auth.Key, len(parsed))
	for _, k := range parsed {
		if slices.Contains(s.algs, k.Alg()) {
			keys[k.ID()] = k
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w among %d keys from %s (algorithms %v)", ErrNoKeys, len(parsed), s.url, s.algs)
	}
	return keys, nil
}
