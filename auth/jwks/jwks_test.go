package jwks_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/auth/jwks"
)

const (
	issuer   = "https://issuer.test"
	audience = "https://api.test"
)

// clock is a settable clock for the Set and the tokens.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// issuerKey is a signing key of the issuer with tokens minted by it.
type issuerKey struct {
	key    *auth.Key
	tokens *auth.Tokens
}

func newIssuerKey(t *testing.T, kid string, c *clock) issuerKey {
	t.Helper()
	var k *auth.Key
	var err error
	if strings.HasPrefix(kid, "es") {
		priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		k, err = auth.NewES256Key(kid, priv)
	} else {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		k, err = auth.NewEdDSAKey(kid, priv)
	}
	require.NoError(t, err, "issuer key")
	set, err := auth.NewKeySet(k)
	require.NoError(t, err, "issuer key set")
	tokens, err := auth.NewTokens(auth.Options{Issuer: issuer, Audience: audience, Keys: set, Store: auth.NewMemory(auth.MemoryOptions{}),
		Users: auth.UserLookupFunc(func(context.Context, string) (auth.User, error) { return auth.User{}, nil }), Now: c.Now})
	require.NoError(t, err, "issuer tokens")
	return issuerKey{key: k, tokens: tokens}
}

func (ik issuerKey) token(t *testing.T) string {
	p, err := ik.tokens.Issue(context.Background(), auth.User{ID: "alice"})
	require.NoError(t, err, "Issue")
	return p.AccessToken
}

// issuerServer is a JWKS endpoint on loopback whose keys and behaviour the
// test changes, counting the requests it gets.
type issuerServer struct {
	*httptest.Server
	mu       sync.Mutex
	keys     []*auth.Key
	fault    func(w http.ResponseWriter, r *http.Request) bool // true: handled
	requests atomic.Int64
}

func newIssuerServer(t *testing.T, keys ...*auth.Key) *issuerServer {
	s := &issuerServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.mu.Lock()
		fault, keys := s.fault, s.keys
		s.mu.Unlock()
		if fault != nil && fault(w, r) {
			return
		}
		doc := struct {
			Keys []auth.JWK `json:"keys"`
		}{}
		for _, k := range keys {
			j, _ := k.PublicJWK()
			doc.Keys = append(doc.Keys, j)
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_ = json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *issuerServer) set(keys []*auth.Key, fault func(http.ResponseWriter, *http.Request) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys, s.fault = keys, fault
}

func newVerifier(t *testing.T, set *jwks.Set, c *clock) *auth.Verifier {
	v, err := auth.NewVerifier(set, auth.VerifierOptions{Issuer: issuer, Audience: audience, Now: c.Now})
	require.NoError(t, err, "NewVerifier")
	return v
}

func TestVerifyFromIssuer(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	ed, es := newIssuerKey(t, "ed-1", c), newIssuerKey(t, "es-1", c)
	srv := newIssuerServer(t, ed.key, es.key)
	set, err := jwks.New(srv.URL, jwks.Options{Now: c.Now, Client: srv.Client()})
	require.NoError(t, err, "New")
	v := newVerifier(t, set, c)
	for _, ik := range []issuerKey{ed, es} {
		claims, err := v.VerifyAccess(ctx, ik.token(t))
		require.NoError(t, err, "a token of the issuer verifies through its JWKS")
		assert.Equal(t, "alice", claims.Subject, "sub")
	}
	assert.EqualValues(t, 1, srv.requests.Load(), "both keys came from one fetch")

	other := newIssuerKey(t, "ed-1", c) // same kid, another key
	_, err = v.VerifyAccess(ctx, other.token(t))
	assert.ErrorIs(t, err, auth.ErrInvalidToken, "a token signed by another key under a known kid is refused")
}

// TestRotation: the issuer replaces its key; a token with the new kid
// makes the set refetch (once MinInterval has passed), and the old kid is
// gone afterwards.
func TestRotation(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	old, next := newIssuerKey(t, "2026-01", c), newIssuerKey(t, "2026-02", c)
	srv := newIssuerServer(t, old.key)
	set, err := jwks.New(srv.URL, jwks.Options{Now: c.Now, MinInterval: time.Minute})
	require.NoError(t, err, "New")
	v := newVerifier(t, set, c)
	oldTok := old.token(t)
	_, err = v.VerifyAccess(ctx, oldTok)
	require.NoError(t, err, "the first key verifies")

	srv.set([]*auth.Key{next.key}, nil)
	newTok := next.token(t)
	_, err = v.VerifyAccess(ctx, newTok)
	assert.ErrorIs(t, err, auth.ErrInvalidToken, "within MinInterval of the last fetch the new kid is not fetched yet")
	assert.EqualValues(t, 1, srv.requests.Load(), "no refetch within MinInterval")

	c.Advance(time.Minute)
	_, err = v.VerifyAccess(ctx, newTok)
	require.NoError(t, err, "after MinInterval the unknown kid triggers a refetch that finds it")
	assert.EqualValues(t, 2, srv.requests.Load(), "one refetch")
	_, err = v.VerifyAccess(ctx, oldTok)
	assert.ErrorIs(t, err, auth.ErrInvalidToken, "the key the issuer dropped no longer verifies")
	assert.EqualValues(t, 2, srv.requests.Load(), "and asking for it again within MinInterval fetches nothing")
}

// TestUnknownKidFlood: many tokens naming made-up kids cost the issuer
// at most one request per MinInterval.
func TestUnknownKidFlood(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	ik := newIssuerKey(t, "k1", c)
	srv := newIssuerServer(t, ik.key)
	set, err := jwks.New(srv.URL, jwks.Options{Now: c.Now, MinInterval: 10 * time.Second})
	require.NoError(t, err, "New")
	v := newVerifier(t, set, c)
	enc := base64.RawURLEncoding.EncodeToString
	forged := func(i int) string {
		h := enc([]byte(fmt.Sprintf(`{"alg":"EdDSA","typ":"at+jwt","kid":"made-up-%d"}`, i)))
		return h + "." + enc([]byte(`{"sub":"x"}`)) + "." + enc(make([]byte, 64))
	}
	for round := range 3 {
		var wg sync.WaitGroup
		for i := range 500 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := v.VerifyAccess(ctx, forged(round*1000+i))
				assert.ErrorIs(t, err, auth.ErrInvalidToken, "a made-up kid is refused")
			}()
		}
		wg.Wait()
		assert.LessOrEqual(t, srv.requests.Load(), int64(round+1),
			"500 unknown kids in round %d: at most one fetch per MinInterval", round)
		c.Advance(10 * time.Second)
	}
	_, err = v.VerifyAccess(ctx, ik.token(t))
	assert.NoError(t, err, "the real key still verifies after the flood")
}

// countingHandler counts log records by level.
type countingHandler struct {
	warn, info atomic.Int64
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	switch r.Level {
	case slog.LevelWarn:
		h.warn.Add(1)
	case slog.LevelInfo:
		h.info.Add(1)
	}
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

// TestIssuerDown: while the issuer fails, the last good keys stay in use
// past MaxAge; the outage is logged once, and so is the recovery.
func TestIssuerDown(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	ik := newIssuerKey(t, "k1", c)
	srv := newIssuerServer(t, ik.key)
	logs := &countingHandler{}
	set, err := jwks.New(srv.URL, jwks.Options{Now: c.Now, MaxAge: time.Minute, MinInterval: 10 * time.Second, Logger: slog.New(logs)})
	require.NoError(t, err, "New")
	v := newVerifier(t, set, c)
	_, err = v.VerifyAccess(ctx, ik.token(t))
	require.NoError(t, err, "verifies while the issuer is up")

	srv.set([]*auth.Key{ik.key}, func(w http.ResponseWriter, _ *http.Request) bool {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return true
	})
	for range 5 {
		c.Advance(time.Minute)
		_, err = v.VerifyAccess(ctx, ik.token(t))
		require.NoError(t, err, "the last good keys verify while the issuer is down")
	}
	assert.EqualValues(t, 6, srv.requests.Load(), "one attempt per expiry")
	err = set.Refresh(ctx)
	assert.ErrorIs(t, err, jwks.ErrStatus, "Refresh reports the failure")
	assert.EqualValues(t, 1, logs.warn.Load(), "the outage is logged once")

	srv.set([]*auth.Key{ik.key}, nil)
	require.NoError(t, set.Refresh(ctx), "Refresh after the issuer is back")
	assert.EqualValues(t, 1, logs.info.Load(), "the recovery is logged once")
}

// TestIssuerSlow: a fetch is bounded by Timeout; with keys in hand the
// verifier answers from them, without keys it fails by the timeout.
func TestIssuerSlow(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	ik := newIssuerKey(t, "k1", c)
	srv := newIssuerServer(t, ik.key)
	release := make(chan struct{})
	defer close(release)
	stall := func(w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return true
	}

	set, err := jwks.New(srv.URL, jwks.Options{Now: c.Now, MaxAge: time.Minute, Timeout: 100 * time.Millisecond})
	require.NoError(t, err, "New")
	v := newVerifier(t, set, c)
	_, err = v.VerifyAccess(ctx, ik.token(t))
	require.NoError(t, err, "first fetch")

	srv.set([]*auth.Key{ik.key}, stall)
	c.Advance(time.Hour)
	t0 := time.Now()
	_, err = v.VerifyAccess(ctx, ik.token(t))
	took := time.Since(t0)
	require.NoError(t, err, "a slow issuer: the last good keys verify")
	assert.Less(t, took, 5*time.Second, "the stalled fetch is bounded by the timeout (took %v)", took)

	fresh, err := jwks.New(srv.URL, jwks.Options{Now: c.Now, Timeout: 100 * time.Millisecond})
	require.NoError(t, err, "New")
	t0 = time.Now()
	_, err = fresh.VerificationKey(ctx, "k1")
	took = time.Since(t0)
	require.ErrorIs(t, err, jwks.ErrUnknownKey, "no keys and a stalled issuer: an error")
	assert.ErrorIs(t, err, context.DeadlineExceeded, "that says the fetch timed out")
	assert.Less(t, took, 5*time.Second, "bounded by the timeout (took %v)", took)
}

// TestHostileIssuer is the table of answers a fetch must refuse, each with
// its own error and never a panic.
func TestHostileIssuer(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	ed := newIssuerKey(t, "k1", c)
	edJWK, _ := ed.key.PublicJWK()
	one := func(v any) string { b, _ := json.Marshal(map[string]any{"keys": []any{v}}); return string(b) }
	cases := []struct {
		name    string
		opts    jwks.Options
		handler http.HandlerFunc
		want    error
	}{
		{"redirect", jwks.Options{}, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://evil.example/jwks.json", http.StatusFound)
		}, jwks.ErrRedirect},
		{"404", jwks.Options{}, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, jwks.ErrStatus},
		{"text/html", jwks.Options{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(one(edJWK)))
		}, jwks.ErrContentType},
		{"no content type", jwks.Options{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil
			_, _ = w.Write([]byte(one(edJWK)))
		}, jwks.ErrContentType},
		{"huge body", jwks.Options{MaxBodySize: 4096}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"keys":[` + strings.Repeat(" ", 1<<20) + `]}`))
		}, jwks.ErrTooLarge},
		{"slow body", jwks.Options{Timeout: 100 * time.Millisecond}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"keys":[`))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, context.DeadlineExceeded},
		{"not JSON", jwks.Options{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`<html>`))
		}, auth.ErrBadKey},
		{"only an HS256 key", jwks.Options{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(one(map[string]string{"kty": "oct", "kid": "k1", "k": base64.RawURLEncoding.EncodeToString(make([]byte, 32))})))
		}, jwks.ErrNoKeys},
		{"algorithm not pinned", jwks.Options{Algorithms: []string{auth.ES256}}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = w.Write([]byte(one(edJWK)))
		}, jwks.ErrNoKeys},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			tc.opts.Now = c.Now
			set, err := jwks.New(srv.URL, tc.opts)
			require.NoError(t, err, "New")
			err = set.Refresh(ctx)
			require.ErrorIs(t, err, tc.want, "the fetch must fail with the named error")
			_, err = set.VerificationKey(ctx, "k1")
			assert.ErrorIs(t, err, jwks.ErrUnknownKey, "and no key is served")
		})
	}
}

func TestNewOptions(t *testing.T) {
	_, err := jwks.New("", jwks.Options{})
	assert.Error(t, err, "a URL is required")
	_, err = jwks.New("http://127.0.0.1/", jwks.Options{Algorithms: []string{auth.HS256}})
	assert.Error(t, err, "HS256 cannot be pinned for a public key set")
	_, err = jwks.New("http://127.0.0.1/", jwks.Options{Algorithms: []string{auth.RS256, auth.ES256}})
	assert.NoError(t, err, "asymmetric algorithms are fine")
}

// TestCancelledCallerDoesNotAbortTheFetch: the fetch serves every waiter,
// so the caller that started it going away does not fail the others.
func TestCancelledCallerDoesNotAbortTheFetch(t *testing.T) {
	c := newClock()
	ik := newIssuerKey(t, "k1", c)
	srv := newIssuerServer(t, ik.key)
	gate := make(chan struct{})
	srv.set([]*auth.Key{ik.key}, func(w http.ResponseWriter, r *http.Request) bool {
		<-gate
		return false
	})
	set, err := jwks.New(srv.URL, jwks.Options{Now: c.Now})
	require.NoError(t, err, "New")
	cctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, err := set.VerificationKey(cctx, "k1"); first <- err }()
	require.Eventually(t, func() bool { return srv.requests.Load() == 1 }, 5*time.Second, time.Millisecond, "the fetch started")
	second := make(chan error, 1)
	go func() { _, err := set.VerificationKey(context.Background(), "k1"); second <- err }()
	cancel()
	close(gate)
	assert.NoError(t, <-second, "the waiter gets the key")
	if err := <-first; err != nil {
		assert.True(t, errors.Is(err, context.Canceled), "the first caller sees at most its own cancellation: %v", err)
	}
	assert.EqualValues(t, 1, srv.requests.Load(), "one fetch for both")
}
