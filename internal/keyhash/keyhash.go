// Package keyhash names the state that svckit's stores keep for keys a
// client chose (an email, a path, a cache key built from a request): a
// fixed-size digest in place of the key, so that a key costs a store a
// bounded number of bytes, says nothing of itself to whoever reads the
// store, and carries no Redis Cluster hash tag ("{...}") that would put
// the keys of many clients on one slot.
//
// The digest is SHA-256, unkeyed: it hides a key from a casual reader of
// Redis (MONITOR, a dump, a key listing), not from one who guesses the
// key and hashes the guess.
package keyhash

import (
	"crypto/sha256"
	"encoding/base64"
)

// SumLen is the length of Sum's result.
const SumLen = 43

// Sum returns the unpadded base64url SHA-256 digest of key: SumLen bytes
// of A-Z, a-z, 0-9, '-' and '_'.
func Sum(key string) string {
	sum := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Bound returns key when it is at most max bytes, else "#" and Sum(key).
// Two keys share a name only if one is long and the other is exactly its
// digest form, which only someone who knows the long key can write.
func Bound(key string, max int) string {
	if len(key) <= max {
		return key
	}
	return "#" + Sum(key)
}
