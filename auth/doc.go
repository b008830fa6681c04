// Package auth hashes passwords and issues and verifies access/refresh token
// pairs with rotation and reuse detection.
//
// # Passwords
//
// Hasher hashes with argon2id (m=19 MiB, t=2, p=1, 16-byte salt, 32-byte key)
// into a PHC string and verifies argon2id and bcrypt hashes, so users created
// under bcrypt can log in and be moved over: Verify reports when a hash should
// be replaced. Parameters read from a stored hash are bounded before any work
// is done, bcrypt input over 72 bytes is refused rather than truncated, and
// VerifyDummy gives unknown users the same cost as a wrong password.
//
// # Tokens
//
// Tokens issues an access token (15 minutes, "typ" at+jwt, RFC 9068) and a
// refresh token (7 days, "typ" rt+jwt, its own audience) signed with the
// active key of a KeySet (HS256, EdDSA or ES256; every token names its "kid").
// Verification is pinned to those algorithms and to the named key's own
// algorithm, requires "exp", checks "iss" and "aud", allows at most 60 s of
// leeway and refuses tokens over 4 KiB or without exactly two dots before
// parsing. The signature is checked before any claim, so a forged token is
// always ErrInvalidToken, never ErrExpired. Every failure is an *Error that
// renders 401.
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
package auth
