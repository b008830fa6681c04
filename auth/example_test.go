package auth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/svckit/svckit/auth"
)

// Example walks through a session: register, log in, call the API, refresh,
// and a stolen refresh token replayed after it was rotated.
func Example() {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }

	// Register: store only the hash.
	var hasher auth.Hasher
	stored, _ := hasher.Hash(ctx, "correct horse battery staple")
	users := map[string]auth.User{"u1": {ID: "u1", Email: "ada@example.com", Roles: []string{"user"}}}

	key, err := auth.NewHS256Key("2026-01", []byte("a secret of at least thirty-two bytes"))
	if err != nil {
		panic(err)
	}
	keys, _ := auth.NewKeySet(key)
	tokens, err := auth.NewTokens(auth.Options{
		Issuer:   "https://auth.example.com",
		Audience: "https://api.example.com",
		Keys:     keys,
		Store:    auth.NewMemory(auth.MemoryOptions{}),
		Users: auth.UserLookupFunc(func(_ context.Context, id string) (auth.User, error) {
			if u, ok := users[id]; ok {
				return u, nil
			}
			return auth.User{}, auth.ErrUserNotFound
		}),
		Now: clock,
	})
	if err != nil {
		panic(err)
	}

	// Log in.
	if _, err := hasher.Verify(ctx, "correct horse battery staple", stored); err != nil {
		panic(err)
	}
	pair, _ := tokens.Issue(ctx, users["u1"])
	fmt.Println("access expires in", pair.AccessExpiresAt.Sub(now))

	// Call the API.
	r := httptest.NewRequest("GET", "/v1/users/me", nil)
	r.Header.Set("Authorization", "Bearer "+pair.AccessToken)
	claims, _ := tokens.Check(r)
	fmt.Println("verified:", claims.Subject, claims.Email, claims.HasRole("admin"))

	// Refresh a few minutes later.
	now = now.Add(10 * time.Minute)
	fresh, err := tokens.Refresh(ctx, pair.RefreshToken)
	fmt.Println("refresh:", err)

	// An attacker replays the old refresh token: the family is revoked, so
	// the legitimate client's new token stops working as well.
	_, err = tokens.Refresh(ctx, pair.RefreshToken)
	fmt.Println("replay:", errors.Is(err, auth.ErrTokenReused))
	_, err = tokens.Refresh(ctx, fresh.RefreshToken)
	fmt.Println("newest:", errors.Is(err, auth.ErrRevoked))

	// Output:
	// access expires in 15m0s
	// verified: u1 ada@example.com false
	// refresh: <nil>
	// replay: true
	// newest: true
}

// ExampleHasher_Verify shows the login path: a dummy verify for unknown
// users, and a rehash when the stored hash is weak or bcrypt.
func ExampleHasher_Verify() {
	ctx := context.Background()
	weak := &auth.Hasher{Params: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}}
	stored, _ := weak.Hash(ctx, "hunter2")

	var hasher auth.Hasher // the defaults: m=19 MiB, t=2, p=1
	login := func(user string, password string) {
		if user == "" {
			fmt.Println(hasher.VerifyDummy(ctx, password)) // same cost, same answer
			return
		}
		rehash, err := hasher.Verify(ctx, password, stored)
		fmt.Println(err, "rehash:", rehash)
	}
	login("ada", "hunter2")
	login("ada", "hunter3")
	login("", "hunter2")

	// Output:
	// <nil> rehash: true
	// auth: password mismatch rehash: false
	// auth: password mismatch
}

func ExampleBearer() {
	// In an application the verifier is the auth package's token service.
	verifier := auth.AccessVerifierFunc(func(_ context.Context, token string) (*auth.Claims, error) {
		switch token {
		case "admin-token":
			return &auth.Claims{Subject: "u1", Roles: []string{"admin"}}, nil
		case "user-token":
			return &auth.Claims{Subject: "u2", Roles: []string{"user"}}, nil
		}
		return nil, errors.New("invalid token")
	})
	h := auth.Bearer(verifier, "admin")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := auth.ClaimsFrom(r.Context())
		fmt.Fprint(w, "hello ", c.Subject)
	}))

	for _, header := range []string{"", "Bearer expired-token", "Bearer user-token", "Bearer admin-token"} {
		req := httptest.NewRequest("GET", "/admin", nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Printf("%d %s\n", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	// Output:
	// 401 Bearer
	// 401 Bearer error="invalid_token"
	// 403 Bearer error="insufficient_scope"
	// 200
}
