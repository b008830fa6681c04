package jwks_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

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
		Keys: keys, Store: auth.NewMemory(auth.MemoryOptions{}),
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

// Example_keysAndIssuers is the README's "Keys from files, tokens from
// another issuer": one service signs with a key from a file and publishes
// its JWKS; another verifies its tokens from that URL.
func Example_keysAndIssuers() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "svckit-example-")
	defer os.RemoveAll(dir)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	_ = os.WriteFile(filepath.Join(dir, "signing.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)

	// The issuer: sign with the key from the file, publish the public half.
	key, err := auth.ReadKeyFile("2026-01", filepath.Join(dir, "signing.pem"))
	if err != nil {
		panic(err)
	}
	keys, err := auth.NewKeySet(key)
	if err != nil {
		panic(err)
	}
	issuerMux := http.NewServeMux()
	issuerMux.Handle("GET /.well-known/jwks.json", keys.JWKSHandler(nil))
	issuer := httptest.NewServer(issuerMux)
	defer issuer.Close()
	tokens, _ := auth.NewTokens(auth.Options{Issuer: "https://issuer.example", Audience: "https://api.example",
		Keys: keys, Store: auth.NewMemory(auth.MemoryOptions{}),
		Users: auth.UserLookupFunc(func(context.Context, string) (auth.User, error) { return auth.User{}, nil })})
	pair, _ := tokens.Issue(ctx, auth.User{ID: "u1"})

	// The API: verify from the issuer's JWKS URL.
	remote, err := jwks.New(issuer.URL+"/.well-known/jwks.json", jwks.Options{})
	if err != nil {
		panic(err)
	}
	verifier, err := auth.NewVerifier(remote, auth.VerifierOptions{
		Issuer:   "https://issuer.example",
		Audience: "https://api.example",
	})
	if err != nil {
		panic(err)
	}
	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := auth.ClaimsFrom(r.Context())
		fmt.Fprintln(w, "orders of", c.Subject)
	})
	api := auth.Bearer(verifier)(orders)

	r := httptest.NewRequest("GET", "/v1/orders", nil)
	r.Header.Set("Authorization", "Bearer "+pair.AccessToken)
	w := httptest.NewRecorder()
	api.ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Body.String())
	// Output: 200 orders of u1
}
