package auth

import (
	"cmp"
	"hash/maphash"
	"slices"
	"sync"
	"time"
)

// Limits of the cache of verified access tokens (VerifierOptions.CacheSize).
const (
	// DefaultVerifyCacheSize is the number of verified access tokens a
	// Verifier remembers by default.
	DefaultVerifyCacheSize = 4096
	// MaxCachedTokenLen is the longest token the cache keeps; longer ones
	// are verified every time. With the default size the cache holds at
	// most about 4096 × (1 KiB + its claims), a few MiB.
	MaxCachedTokenLen = 1024
)

// verifyCache remembers access tokens that passed verification, so that a
// token presented again skips the parsing, JSON decoding and signature
// check that dominate the cost of an authenticated request (about half of
// it in the full-stack benchmark). API gateways do the same (Envoy's JWT
// filter has a cache of verified tokens).
//
// It never widens what is accepted. An entry is the exact token string
// that verified, the claims it carried and the key that verified it; a hit
// holds only while the token's own time window (nbf and exp, with the
// leeway) holds, and while its kid still names that same key, so a retired
// or replaced key ends the hits at once. What the cache cannot save is only
// time: everything else is decided as before.
//
// It is sharded, each shard a map under its own mutex, bounded in entries;
// when a shard is full an expired entry, else an arbitrary one, makes room.
type verifyCache struct {
	seed     maphash.Seed
	perShard int
	shards   [verifyShards]verifyShard
}

const verifyShards = 16

// evictSample is how many entries a full shard looks at for an expired one
// to evict.
const evictSample = 8

type verifyShard struct {
	mu sync.Mutex
	m  map[string]*verified
	_  [40]byte // keeps neighbouring shards' mutexes off one cache line
}

// verified is a cache entry: claims are never modified after insertion.
type verified struct {
	claims    Claims
	kid       string
	key       *Key
	notBefore time.Time // nbf minus the leeway; zero when there is no nbf
	expires   time.Time // exp plus the leeway
}

// newVerifyCache returns a cache of about size entries, nil when size is
// negative (no cache).
func newVerifyCache(size int) *verifyCache {
	if size < 0 {
		return nil
	}
	c := &verifyCache{seed: maphash.MakeSeed(), perShard: max(1, cmp.Or(size, DefaultVerifyCacheSize)/verifyShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[string]*verified)
	}
	return c
}

func (c *verifyCache) shard(token string) *verifyShard {
	return &c.shards[maphash.String(c.seed, token)%verifyShards]
}

// get returns the entry of token if it holds at now.
func (c *verifyCache) get(token string, now time.Time) (*verified, bool) {
	s := c.shard(token)
	s.mu.Lock()
	v, ok := s.m[token]
	s.mu.Unlock()
	if !ok || now.After(v.expires) || now.Before(v.notBefore) {
		return nil, false
	}
	return v, true
}

// put remembers that token verified with key and carried claims.
func (c *verifyCache) put(token string, claims Claims, key *Key, leeway time.Duration, now time.Time) {
	if len(token) > MaxCachedTokenLen || claims.ExpiresAt.IsZero() {
		return
	}
	// The entry keeps slices of its own: the caller's claims are handed to
	// the caller, who may modify them.
	claims.Audience = slices.Clone(claims.Audience)
	claims.AMR = slices.Clone(claims.AMR)
	claims.Roles = slices.Clone(claims.Roles)
	claims.Groups = slices.Clone(claims.Groups)
	v := &verified{claims: claims, kid: key.ID(), key: key, expires: claims.ExpiresAt.Add(leeway)}
	if !claims.NotBefore.IsZero() {
		v.notBefore = claims.NotBefore.Add(-leeway)
	}
	s := c.shard(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[token]; !ok && len(s.m) >= c.perShard {
		// A map's iteration starts at a random entry: the first expired
		// one among a few is the victim, else the first. Looking at every
		// entry made a miss on a full cache cost more than the
		// verification it follows (10 000 users' tokens through the
		// default size: 36 µs against 17 µs a verification).
		victim, seen := "", 0
		for k, e := range s.m {
			if victim == "" || now.After(e.expires) {
				victim = k
			}
			if seen++; seen == evictSample || now.After(e.expires) {
				break
			}
		}
		delete(s.m, victim)
	}
	s.m[token] = v
}

// copyClaims returns a copy of v's claims that the caller may modify.
func (v *verified) copyClaims() *Claims {
	c := v.claims
	// One backing array for the four lists, each capped at its own length so
	// that appending to one copies it instead of overwriting the next.
	buf := make([]string, 0, len(c.Audience)+len(c.AMR)+len(c.Roles)+len(c.Groups))
	c.Audience, buf = cloneInto(buf, c.Audience)
	c.AMR, buf = cloneInto(buf, c.AMR)
	c.Roles, buf = cloneInto(buf, c.Roles)
	c.Groups, _ = cloneInto(buf, c.Groups)
	return &c
}

// cloneInto appends s to buf, whose capacity must hold it, and returns the
// copy (nil for a nil s, as slices.Clone) and the grown buf.
func cloneInto(buf, s []string) (clone, grown []string) {
	if s == nil {
		return nil, buf
	}
	n := len(buf)
	buf = append(buf, s...)
	return buf[n:len(buf):len(buf)], buf
}
