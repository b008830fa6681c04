// Package redisstore is an auth.RefreshStore on Redis, standalone, Sentinel
// or Cluster: give New any redis.UniversalClient and the Store to
// auth.Options.
//
//	tokens, err := auth.NewTokens(auth.Options{
//		Store: redisstore.New(client, redisstore.Options{Prefix: "myapp:auth:"}),
//		…
//	})
//
// Keys, under the store's prefix (which must hold no hash tag), where #x
// is the digest of x, 43 bytes of unpadded base64url SHA-256:
//
//	rf:{#family}           hash {sub, revoked}         expires with the family
//	rt:{#family}:<hash>    hash {fam, used, child}     expires with the token
//	rs:{#subject}          sorted set family → expiry  expires with the last family
//
// for example svckit:auth:rs:{K9gGyX8OAK8aH8Myj6djqSaXI8jbj6xPk69x2xhtbpA}
// for the subject "alice". A subject or family id is the caller's (an
// email, say): as a digest it is not written in clear, costs a bounded key,
// and cannot carry a hash tag of its own that would gather many users on
// one slot. <hash> is the token's jti hash (auth.HashJTI). Records kept
// under the earlier layout, the ids as they were, are not read any more:
// their sessions must log in again.
//
// The hash tag is the entity: every key of one family shares the family's
// slot, so Rotate, the heart of the store, is one Lua script on one shard
// and atomic there, while families spread evenly over every shard of a
// cluster. The subject's index lives in the subject's slot. Create adds the
// family to the index before it creates the family (two round trips), so a
// family is never missing from its index; RevokeSubject reads the index and
// revokes each family with its own script, pipelined (go-redis sends the
// scripts of each shard together), so it never needs keys of two slots in
// one command. Each family is revoked atomically; a family created while
// RevokeSubject runs may or may not be revoked, as if it came after.
//
// Every call has a deadline (Options.Timeout, 250 ms by default, whatever
// the caller's context says; it needs a client with ContextTimeoutEnabled)
// and the Store sits behind circuit breakers, one per master on Redis
// Cluster: while one master is down, the families and subjects on the
// others are served, provided the servers keep serving a partial slot map
// (cluster-require-full-coverage no; by default every master answers
// CLUSTERDOWN once one is marked failed, and every call fails with
// ErrUnavailable until a replica takes over). When Redis fails, times out,
// answers CLUSTERDOWN or the breaker is open, methods return an error
// wrapping ErrUnavailable, which reports errkind.Unavailable: the service
// answers 503 UNAVAILABLE with Retry-After and logs in stay impossible until
// Redis is back, rather than tokens being accepted unchecked.
//
// A prefix holding '{' or '}' panics in New, an exception to the rule that
// option values never do (CONVENTIONS.md): it would put a hash tag of its
// own in every key and so change which keys share a slot, breaking the
// layout above; no prefix can be repaired into a correct one silently.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/internal/keyhash"
	"github.com/svckit/svckit/internal/opt"
	"github.com/svckit/svckit/internal/redisguard"
)

// DefaultTimeout is the deadline of each call to Redis. A refresh is rare
// and worth more than a cache read, but not seconds.
const DefaultTimeout = 250 * time.Millisecond

// ErrUnavailable is in the chain of every error a Store returns because
// Redis failed, did not answer within the Timeout, or the breaker was open.
// Such errors report errkind.Unavailable (503) with a Retry-After of one
// second.
var ErrUnavailable = errors.New("redisstore: redis unavailable")

// unavailableError reports errkind.Unavailable for a Redis fault.
type unavailableError struct {
	op  string
	err error
}

var (
	_ errkind.Kinder       = (*unavailableError)(nil)
	_ errkind.RetryAfterer = (*unavailableError)(nil)
)

func (e *unavailableError) Error() string             { return "redisstore: " + e.op + ": " + e.err.Error() }
func (e *unavailableError) Unwrap() []error           { return []error{ErrUnavailable, e.err} }
func (e *unavailableError) ErrorKind() errkind.Kind   { return errkind.Unavailable }
func (e *unavailableError) RetryAfter() time.Duration { return time.Second }

// HTTPStatus, ErrorCode and PublicMessage repeat the kind's entries for
// renderers that read them directly.
func (e *unavailableError) HTTPStatus() int       { return errkind.Unavailable.HTTPStatus() }
func (e *unavailableError) ErrorCode() string     { return errkind.Unavailable.Code() }
func (e *unavailableError) PublicMessage() string { return errkind.Unavailable.Message() }

// Client is the client New takes.
//
// Deprecated: use redis.UniversalClient, which New takes as every svckit
// Redis store does.
type Client = redis.UniversalClient

// Options configure a Store. The zero value is valid.
type Options struct {
	// Prefix starts every key; empty means "svckit:auth:". It must not
	// hold '{' or '}': the store puts the hash tags itself.
	Prefix string
	// Now is the clock key lifetimes are measured against; nil means
	// time.Now.
	Now func() time.Time
	// Margin is kept on top of every record's remaining life, so a token
	// accepted within the verifier's leeway is still known. Zero means one
	// minute.
	Margin time.Duration
	// Timeout bounds each call to Redis. Zero means DefaultTimeout.
	Timeout time.Duration
	// Logger receives one warning when Redis becomes unavailable and one
	// notice when it is back. Nil discards them.
	Logger *slog.Logger
}

// Store is an auth.RefreshStore on Redis. Build it with New.
//
// A Store is safe for concurrent use. It does not own the client: close it
// yourself.
type Store struct {
	c      redis.UniversalClient
	prefix string
	now    func() time.Time
	margin time.Duration
	guard  *redisguard.Guard

	index, create, rotate, revokeFamily *redis.Script
}

var _ auth.RefreshStore = (*Store)(nil)

// New returns a Store on c: a *redis.Client, *redis.ClusterClient, a
// Sentinel-backed client or any other redis.UniversalClient. It panics on
// a nil client and on a prefix with a hash tag.
func New(c redis.UniversalClient, opts Options) *Store {
	if c == nil {
		panic("redisstore: New needs a client")
	}
	if strings.ContainsAny(opts.Prefix, "{}") {
		panic("redisstore: the prefix must not hold '{' or '}': keys are hash-tagged per family, see the package doc")
	}
	s := &Store{c: c, prefix: opts.Prefix, now: opts.Now, margin: opt.PositiveOr(opts.Margin, time.Minute),
		index: redis.NewScript(indexScript), create: redis.NewScript(createScript), rotate: redis.NewScript(rotateScript),
		revokeFamily: redis.NewScript(revokeFamilyScript)}
	if s.prefix == "" {
		s.prefix = "svckit:auth:"
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.guard = redisguard.New(c, redisguard.Options{Name: "auth/redisstore", Timeout: opt.PositiveOr(opts.Timeout, DefaultTimeout),
		Fallback: "refusing logins and refreshes (503)", Logger: opts.Logger})
	return s
}

func (s *Store) familyKey(id string) string   { return s.prefix + "rf:{" + keyhash.Sum(id) + "}" }
func (s *Store) tokenPrefix(id string) string { return s.prefix + "rt:{" + keyhash.Sum(id) + "}:" }
func (s *Store) subjectKey(id string) string  { return s.prefix + "rs:{" + keyhash.Sum(id) + "}" }

// ttl returns the key lifetime, in milliseconds, of a record expiring at.
func (s *Store) ttl(at time.Time) int64 {
	return (max(at.Sub(s.now()), 0) + s.margin).Milliseconds()
}

// do runs one guarded call on the Redis key key ("" for a call of keys on
// several shards): fn gets the context with the call's deadline. A Redis
// fault or an open breaker comes back wrapping ErrUnavailable.
func (s *Store) do(ctx context.Context, op, key string, fn func(ctx context.Context) error) error {
	var (
		cctx context.Context
		call redisguard.Call
		err  error
	)
	if key == "" {
		cctx, call, err = s.guard.Begin(ctx)
	} else {
		cctx, call, err = s.guard.BeginKey(ctx, key, s.guard.Timeout())
	}
	if err != nil {
		s.guard.Fallback()
		return &unavailableError{op: op, err: err}
	}
	err = fn(cctx)
	if s.guard.End(ctx, call, err) {
		s.guard.Fallback()
		return &unavailableError{op: op, err: err}
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return nil
}

// Create stores the first token of a new family: it adds the family to its
// subject's index, then creates the family and its token in the family's
// slot.
func (s *Store) Create(ctx context.Context, tok auth.RefreshToken) error {
	now := s.now()
	famTTL := s.ttl(tok.FamilyExpiresAt)
	subject := s.subjectKey(tok.Subject)
	err := s.do(ctx, "index family", subject, func(ctx context.Context) error {
		return s.index.Run(ctx, s.c, []string{subject},
			tok.Family, now.UnixMilli()+famTTL, now.UnixMilli()).Err()
	})
	if err != nil {
		return err
	}
	family := s.familyKey(tok.Family)
	return s.do(ctx, "create", family, func(ctx context.Context) error {
		return s.create.Run(ctx, s.c,
			[]string{family, s.tokenPrefix(tok.Family) + tok.Hash.String()},
			tok.Subject, famTTL, s.ttl(tok.ExpiresAt), tok.Family).Err()
	})
}

// Rotate uses up r.Old and stores r.Child in one script on the family's
// shard; see auth.RefreshStore.
func (s *Store) Rotate(ctx context.Context, r auth.Rotation) error {
	fam := r.Child.Family
	tp, family := s.tokenPrefix(fam), s.familyKey(fam)
	var res string
	err := s.do(ctx, "rotate", family, func(ctx context.Context) error {
		var err error
		res, err = s.rotate.Run(ctx, s.c,
			[]string{tp + r.Old.String(), tp + r.Child.Hash.String(), family},
			fam, r.Now.UnixMilli(), r.Grace.Milliseconds(), r.Child.Hash.String(),
			s.ttl(r.Child.ExpiresAt), tp).Text()
		return err
	})
	if err != nil {
		return err
	}
	switch res {
	case "ok":
		return nil
	case "revoked":
		return auth.ErrRevoked
	case "reused":
		return auth.ErrTokenReused
	case "invalid":
		return auth.ErrInvalidToken
	}
	return fmt.Errorf("redisstore: rotate: unexpected script result %q", res)
}

// RevokeFamily revokes every token of family.
func (s *Store) RevokeFamily(ctx context.Context, family string, now time.Time) error {
	key := s.familyKey(family)
	return s.do(ctx, "revoke family", key, func(ctx context.Context) error {
		return s.revokeFamily.Run(ctx, s.c, []string{key}, now.UnixMilli()).Err()
	})
}

// RevokeSubject revokes every family of subject: it reads the subject's
// index, then revokes each family with its own script, pipelined, so the
// families may sit on any shard.
func (s *Store) RevokeSubject(ctx context.Context, subject string, now time.Time) error {
	var fams []redis.Z
	key := s.subjectKey(subject)
	err := s.do(ctx, "revoke subject", key, func(ctx context.Context) error {
		var err error
		fams, err = s.c.ZRangeWithScores(ctx, key, 0, -1).Result()
		return err
	})
	if err != nil || len(fams) == 0 {
		return err
	}
	// EVAL, not EVALSHA: Script.Run's retry on NOSCRIPT does not work in a
	// pipeline, and revoking every family is rare.
	return s.do(ctx, "revoke subject", "", func(ctx context.Context) error {
		_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, z := range fams {
				id, _ := z.Member.(string)
				s.revokeFamily.Eval(ctx, p, []string{s.familyKey(id)}, now.UnixMilli())
			}
			return nil
		})
		return err
	})
}
