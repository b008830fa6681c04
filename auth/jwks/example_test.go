package jwks_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/http/httptest"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/auth/jwks"
)

// Example verifies a token issued by another service from the JWKS it
// publishes. Here the issuer is a svckit service on loopback serving its
// KeySet's JWKS handler.
func Example() {
	ctx := context.Background()

	// The issuer: an Ed25519 key and its public JWKS.
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	key, _ := auth.NewEdDSAKey("2026-01", priv)
	keys, _ := auth.NewKeySet(key)
	issuerTokens, _ := auth.NewTokens(auth.Options{
		Issuer: "https://issuer.example", Audience: "https://api.example",
		Keys: keys, Store: auth.NewMemory(),
		Users: auth.UserLookupFunc(func(context.Context, string) (auth.User, error) { return auth.User{}, nil }),
	})
	srv := httptest.NewServer(keys.JWKSHandler(nil))
	defer srv.Close()
	pair, _ := issuerTokens.Issue(ctx, auth.User{ID: "u1", Scope: "orders:read"})

	// The API: verify with the issuer's published keys.
	set, err := jwks.New(srv.URL, jwks.Options{})
	if err != nil {
		panic(err)
	}
	verifier, err := auth.NewVerifier(set, auth.VerifierOptions{
		Issuer:   "https://issuer.example",
		Audience: "https://api.example",
	})
	if err != nil {
		panic(err)
	}
	claims, err := verifier.VerifyAccess(ctx, pair.AccessToken)
	fmt.Println(claims.Subject, claims.HasScope("orders:read"), err)
	// Output: u1 true <nil>
}
