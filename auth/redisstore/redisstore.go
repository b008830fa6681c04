// Package redisstore is an auth.RefreshStore on Redis. Every operation is one
// Lua script, so it is atomic on the server and costs one round trip.
//
// Keys, under the store's prefix:
//
//	rt:<sha256 hex of jti>  hash {fam, used, child}  expires with the token
//	rf:<family id>          hash {sub, revoked}      expires with the family
//	rs:<subject>            set of family ids        expires with the last family
//
// The scripts build some keys from the prefix, so on Redis Cluster the
// prefix must hold a hash tag (for example "{auth}:") to keep every key in
// one slot.
package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/svckit/svckit/auth"
)

// Options configure a Store. The zero value is valid.
type Options struct {
	// Prefix starts every key; empty means "svckit:auth:".
	Prefix string
	// Now is the clock key lifetimes are measured against; nil means
	// time.Now.
	Now func() time.Time
	// Margin is kept on top of every record's remaining life, so a token
	// accepted within the verifier's leeway is still known. Zero means one
	// minute.
	Margin time.Duration
}

// Store is an auth.RefreshStore on Redis. Build it with New.
//
// A Store is safe for concurrent use. It does not own the client: close it
// yourself.
type Store struct {
	c      redis.Scripter
	prefix string
	now    func() time.Time
	margin time.Duration

	create, rotate, revokeFamily, revokeSubject *redis.Script
}

var _ auth.RefreshStore = (*Store)(nil)

// New returns a Store on c (a *redis.Client, *redis.ClusterClient, ...).
func New(c redis.Scripter, opts Options) *Store {
	if c == nil {
		panic("redisstore: New needs a client")
	}
	s := &Store{c: c, prefix: opts.Prefix, now: opts.Now, margin: opts.Margin,
		create: redis.NewScript(createScript), rotate: redis.NewScript(rotateScript),
		revokeFamily: redis.NewScript(revokeFamilyScript), revokeSubject: redis.NewScript(revokeSubjectScript)}
	if s.prefix == "" {
		s.prefix = "svckit:auth:"
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.margin <= 0 {
		s.margin = time.Minute
	}
	return s
}

func (s *Store) tokenKey(h string) string    { return s.prefix + "rt:" + h }
func (s *Store) familyKey(id string) string  { return s.prefix + "rf:" + id }
func (s *Store) subjectKey(id string) string { return s.prefix + "rs:" + id }

// ttl returns the key lifetime, in milliseconds, of a record expiring at.
func (s *Store) ttl(at time.Time) int64 {
	return (max(at.Sub(s.now()), 0) + s.margin).Milliseconds()
}

// Create stores the first token of a new family.
func (s *Store) Create(ctx context.Context, tok auth.RefreshToken) error {
	err := s.create.Run(ctx, s.c,
		[]string{s.familyKey(tok.Family), s.tokenKey(tok.Hash.String()), s.subjectKey(tok.Subject)},
		tok.Family, tok.Subject, s.ttl(tok.FamilyExpiresAt), s.ttl(tok.ExpiresAt)).Err()
	if err != nil {
		return fmt.Errorf("redisstore: create: %w", err)
	}
	return nil
}

// Rotate uses up r.Old and stores r.Child in one script; see
// auth.RefreshStore.
func (s *Store) Rotate(ctx context.Context, r auth.Rotation) error {
	res, err := s.rotate.Run(ctx, s.c,
		[]string{s.tokenKey(r.Old.String()), s.tokenKey(r.Child.Hash.String()), s.familyKey(r.Child.Family)},
		r.Child.Family, r.Now.UnixMilli(), r.Grace.Milliseconds(), r.Child.Hash.String(),
		s.ttl(r.Child.ExpiresAt), s.tokenKey("")).Text()
	if err != nil {
		return fmt.Errorf("redisstore: rotate: %w", err)
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
	err := s.revokeFamily.Run(ctx, s.c, []string{s.familyKey(family)}, now.UnixMilli()).Err()
	if err != nil && err != redis.Nil {
		return fmt.Errorf("redisstore: revoke family: %w", err)
	}
	return nil
}

// RevokeSubject revokes every family of subject.
func (s *Store) RevokeSubject(ctx context.Context, subject string, now time.Time) error {
	err := s.revokeSubject.Run(ctx, s.c, []string{s.subjectKey(subject)}, now.UnixMilli(), s.familyKey("")).Err()
	if err != nil && err != redis.Nil {
		return fmt.Errorf("redisstore: revoke subject: %w", err)
	}
	return nil
}
