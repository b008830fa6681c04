package benchmarks

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/svckit/svckit/auth"
)

// authNow is the fixed clock of the token benchmarks.
func authNow() time.Time { return time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC) }

// BenchmarkVerify compares auth.Tokens.VerifyAccess with a bare
// golang-jwt ParseWithClaims doing the same checks: pinned algorithms, exp
// required, iss, aud, strict decoding, a kid map lookup with the key's
// algorithm enforced, and the "typ" header.
func BenchmarkVerify(b *testing.B) {
	_, edPriv, err := ed25519.GenerateKey(nil)
	if err != nil {
		b.Fatal(err)
	}
	hs, err := auth.NewHS256Key("k1", []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		b.Fatal(err)
	}
	ed, err := auth.NewEdDSAKey("k1", edPriv)
	if err != nil {
		b.Fatal(err)
	}
	for _, alg := range []struct {
		key    *auth.Key
		method jwt.SigningMethod
		verify any
	}{
		{hs, jwt.SigningMethodHS256, []byte("0123456789abcdef0123456789abcdef")},
		{ed, jwt.SigningMethodEdDSA, edPriv.Public()},
	} {
		b.Run(alg.key.Alg(), func(b *testing.B) {
			tokens, token := authTokens(b, alg.key)
			// svckit remembers verified tokens (a client sends the same
			// one until it expires); svckit-nocache verifies every time,
			// as the peer does.
			b.Run("svckit", func(b *testing.B) {
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					if _, err := tokens.VerifyAccess(ctx, token); err != nil {
						b.Fatal(err)
					}
				}
			})
			// svckit-10k sends 10 000 distinct tokens in turn, more than
			// the cache holds (auth.DefaultVerifyCacheSize): what a miss
			// costs on top of a verification.
			b.Run("svckit-10k", func(b *testing.B) {
				ctx := context.Background()
				many := make([]string, 10_000)
				for i := range many {
					p, err := tokens.Issue(ctx, auth.User{ID: fmt.Sprintf("user%d", i), Email: "alice@example.com", Roles: []string{"user", "admin"}})
					if err != nil {
						b.Fatal(err)
					}
					many[i] = p.AccessToken
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := tokens.VerifyAccess(ctx, many[i%len(many)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run("svckit-nocache", func(b *testing.B) {
				ctx := context.Background()
				keys, err := auth.NewKeySet(alg.key)
				if err != nil {
					b.Fatal(err)
				}
				v, err := auth.NewVerifier(keys, auth.VerifierOptions{Issuer: "https://issuer.test",
					Audience: "https://api.test", Now: authNow, CacheSize: -1})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := v.VerifyAccess(ctx, token); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("golang-jwt", func(b *testing.B) {
				keys := map[string]any{"k1": alg.verify}
				parser := jwt.NewParser(
					jwt.WithValidMethods([]string{"HS256", "EdDSA", "ES256"}),
					jwt.WithExpirationRequired(), jwt.WithIssuer("https://issuer.test"),
					jwt.WithAudience("https://api.test"), jwt.WithLeeway(0),
					jwt.WithTimeFunc(authNow), jwt.WithStrictDecoding())
				keyFunc := func(t *jwt.Token) (any, error) {
					kid, _ := t.Header["kid"].(string)
					k, ok := keys[kid]
					if !ok || t.Method.Alg() != alg.method.Alg() {
						return nil, errors.New("unknown key")
					}
					return k, nil
				}
				b.ReportAllocs()
				for b.Loop() {
					c := new(peerClaims)
					tok, err := parser.ParseWithClaims(token, c, keyFunc)
					if err != nil || tok.Header["typ"] != "at+jwt" {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

func authTokens(b *testing.B, key *auth.Key) (*auth.Tokens, string) {
	keys, err := auth.NewKeySet(key)
	if err != nil {
		b.Fatal(err)
	}
	tokens, err := auth.NewTokens(auth.Options{
		Issuer: "https://issuer.test", Audience: "https://api.test", Keys: keys,
		Store: auth.NewMemory(auth.MemoryOptions{}), Now: authNow,
		Users: auth.UserLookupFunc(func(context.Context, string) (auth.User, error) { return auth.User{}, nil }),
	})
	if err != nil {
		b.Fatal(err)
	}
	p, err := tokens.Issue(context.Background(), auth.User{ID: "alice", Email: "alice@example.com", Roles: []string{"user", "admin"}})
	if err != nil {
		b.Fatal(err)
	}
	return tokens, p.AccessToken
}

// BenchmarkHashPassword measures argon2id with the defaults (m=19 MiB, t=2,
// p=1), reported in ms/op: it is meant to be slow.
func BenchmarkHashPassword(b *testing.B) {
	var h auth.Hasher
	for b.Loop() {
		if _, err := h.Hash(context.Background(), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/op")
}

// BenchmarkVerifyPassword measures a successful Verify of a default hash, in
// ms/op. VerifyDummy costs the same.
func BenchmarkVerifyPassword(b *testing.B) {
	var h auth.Hasher
	enc, err := h.Hash(context.Background(), "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := h.Verify(context.Background(), "correct horse battery staple", enc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/op")
}

// peerClaims are the access-token claims in golang-jwt's own types, for the
// plain golang-jwt peer.
type peerClaims struct {
	jwt.RegisteredClaims
	Email string   `json:"email,omitempty"`
	Roles []string `json:"roles,omitempty"`
}
