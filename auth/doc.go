// Package auth hashes passwords and issues and verifies access/refresh token
// pairs with rotation and reuse detection.
//
// A zero Hasher hashes and verifies passwords; NewTokens, built once from
// a KeySet, a RefreshStore and a UserLookup, issues and refreshes tokens:
//
//	var hasher auth.Hasher
//	stored, err := hasher.Hash(ctx, password) // at registration; keep stored
//
//	key, err := auth.NewHS256Key("2026-01", secret) // or LoadKeyFile, jwks
//	keys, err := auth.NewKeySet(key)
//	tokens, err := auth.NewTokens(auth.Options{
//		Issuer: "https://auth.example.com", Keys: keys,
//		Store: auth.NewMemory(auth.MemoryOptions{}), // or sqlstore.New, redisstore.New
//		Users: users,
//	})
//
//	rehash, err := hasher.Verify(ctx, password, stored) // at login
//	pair, err := tokens.Issue(ctx, user)                 // access and refresh token
//	pair, err = tokens.Refresh(ctx, pair.RefreshToken)   // rotates the refresh token
//
// The sections below give the details.
//
// # Passwords
//
// Hasher hashes with argon2id (m=19 MiB, t=2, p=1, 16-byte salt, 32-byte key)
// into a PHC string and verifies argon2id and bcrypt hashes, so users created
// under bcrypt can log in and be moved over: Verify reports when a hash should
// be replaced. Parameters read from a stored hash are bounded before any work
// is done, bcrypt input over 72 bytes is refused rather than truncated, and
// VerifyDummy gives unknown users the same cost as a wrong password: every
// branch of a login costs one hash. A Hasher runs at most MaxConcurrent
// hashes at once (GOMAXPROCS by default), so a login flood holds a bounded
// amount of memory; past MaxWait a call fails with ErrBusy, which reports
// errkind.Unavailable with a Retry-After.
//
// NormalizeEmail and NormalizeUsername give the one canonical form in which
// to store and compare identifiers (PRECIS UsernameCaseMapped for names
// and local parts, ASCII domains), and refuse input that is not already
// canonical apart from letter case, so a look-alike such as a KELVIN SIGN
// cannot take another account's name.
//
// # Tokens
//
// Tokens issues an access token (15 minutes, "typ" at+jwt, RFC 9068, with
// client_id and scope) and a refresh token (7 days, "typ" rt+jwt, its own
// audience) signed with the active key of a KeySet (HS256, EdDSA, ES256 or
// RS256; every token names its "kid"). Verification is pinned to those
// algorithms and to the named key's own algorithm, requires "exp" as a
// JSON number, checks "iss" and "aud", allows at most 60 s of leeway,
// refuses a "crit" header (RFC 7515 §4.1.11) and tokens over 4 KiB or
// without exactly two dots before parsing, and accepts "typ" at+jwt or
// application/at+jwt in any letter case. The signature is checked before
// any claim, so a forged token is always ErrInvalidToken, never
// ErrExpired. Every failure is an *Error that reports
// errkind.Unauthorized (401). Claims are plain Go values: the registered
// claims, client_id, scope, auth_time, acr, amr, email, roles and groups.
//
// # Keys
//
// Keys come from code (NewEdDSAKey, ...), or from files and the
// environment: ParseKey reads a PKCS #8 or SPKI PEM block or a JWK,
// ParseJWKS a JWK Set, and ReadKeyFile, ReadJWKSFile, KeyFromEnv and
// JWKSFromEnv wrap them:
//
//	key, err := auth.ReadKeyFile("2026-01", "/etc/api/signing.pem")
//	keys, err := auth.NewKeySet(key)
//	http.Handle("GET /.well-known/jwks.json", keys.JWKSHandler(nil))
//
// A public key verifies only: load another instance's keys with
// ReadJWKSFile and pass them to NewKeySet beside the signing key.
//
// # Bearer tokens on HTTP routes
//
// Bearer, OptionalBearer and RequireRole are net/http middleware over any
// AccessVerifier (*Tokens, *Verifier): 401 and 403 envelopes with the
// WWW-Authenticate challenges of RFC 6750, the claims in the request
// context for ClaimsFrom:
//
//	http.Handle("GET /v1/orders", auth.Bearer(tokens, "admin")(orders))
//
// # Tokens of another issuer
//
// Verifier checks access tokens against any KeySource with the rules above.
// Sub-package jwks is a KeySource that fetches an issuer's JWKS URL
// (Keycloak, Auth0, another svckit service), with caching, a rate-limited
// refresh for an unknown "kid", a timeout, and the last good keys kept
// while the issuer is down:
//
//	keys, err := jwks.New("https://issuer.example/.well-known/jwks.json", jwks.Options{})
//	v, err := auth.NewVerifier(keys, auth.VerifierOptions{
//		Issuer: "https://issuer.example/", Audience: "https://api.example",
//	})
//	claims, err := v.VerifyAccess(ctx, token)
//
// # Verified tokens are remembered
//
// A client sends the same access token with every request until it
// expires, and parsing and checking it is most of what an authenticated
// request costs. Tokens and Verifier remember the tokens that verified (a
// few thousand, bounded in count and bytes; VerifyCacheSize and CacheSize
// set the number, negative turns it off), as API gateways do. A remembered
// token is accepted without being parsed again only while the exact same
// string is presented, its nbf/exp window holds with the leeway, and its
// kid still names the very key that verified it: a retired, removed or
// replaced key ends it at once. Nothing is accepted that a full
// verification would refuse; only time is saved.
//
// # Refresh rotation
//
// Each login starts a family. Refresh verifies the refresh token, looks the
// user up again (a deleted user cannot refresh; roles are current), and asks
// the RefreshStore to rotate: in one atomic step the presented token goes
// from unused to used and its child is stored. Of concurrent refreshes with
// one token exactly one wins. Presenting a used token again is reuse: the
// whole family is revoked, so a thief and the victim both lose it and the
// victim logs in again.
//
// Options.ReuseGrace softens this for one benign case, two tabs refreshing
// with the same token at once: within the grace period after its use, the
// immediate predecessor of the family's newest token (its child still
// unused) gets ErrTokenReused without revoking the family. It never yields a
// second pair, so a token still has at most one child, and it never covers an
// older ancestor.
//
// A rotated token never outlives the family: its expiry is the earlier of
// now plus the refresh TTL and the family's absolute expiry, fixed at login.
// Stores keep the SHA-256 of each "jti", never the token. Logout revokes a
// family, LogoutAll every family of a user. Access tokens are not tracked:
// they stay valid until they expire.
//
// Memory is the in-process store; sub-packages sqlstore (PostgreSQL,
// SQLite, MySQL) and redisstore hold families shared by many processes.
//
// # Telemetry
//
// Tokens reports through OpenTelemetry to Options.MeterProvider (the
// global provider when nil): pairs issued (MetricIssued), verifications by
// token type and result or rejection reason (MetricVerifications), refresh
// outcomes (MetricRefreshes) and refresh-token reuse (MetricReuseDetected),
// which is also a Warn record on Options.Logger with the subject and a
// hash of the family. A Verifier of another issuer counts its
// verifications on VerifierOptions.MeterProvider. Counting a verification
// allocates nothing. A Hasher counts its Verify calls
// (MetricPasswordVerifications), rehash-on-login apart from plain matches,
// on Hasher.MeterProvider.
package auth
