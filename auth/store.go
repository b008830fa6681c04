package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"
)

// TokenHash is the SHA-256 of a refresh token's "jti". Stores keep it, never
// the token or the jti itself, so a leaked table cannot be replayed.
type TokenHash [32]byte

// HashJTI returns the SHA-256 of jti.
func HashJTI(jti string) TokenHash { return sha256.Sum256([]byte(jti)) }

// String returns the hash in lower-case hex, the form the SQL and Redis
// stores use as a key.
func (h TokenHash) String() string { return hex.EncodeToString(h[:]) }

// RefreshToken is what a RefreshStore keeps about one refresh token.
type RefreshToken struct {
	Hash    TokenHash // SHA-256 of the jti
	Family  string    // family id: the login session the token belongs to
	Subject string    // user id
	// ExpiresAt is when this token expires; a store may forget the record
	// after it.
	ExpiresAt time.Time
	// FamilyExpiresAt is the family's absolute expiry, fixed at login; no
	// rotation moves it. Create records it; Rotate ignores it on the child.
	FamilyExpiresAt time.Time
}

// Rotation asks a RefreshStore to use up one token and store its child.
type Rotation struct {
	Old   TokenHash    // the presented token
	Child RefreshToken // the token that replaces it, in the same family
	Now   time.Time
	// Grace forgives a repeated presentation of Old within Grace of its
	// first use, if Old is the immediate predecessor (its child is still
	// unused): Rotate then returns ErrTokenReused without revoking the
	// family. Zero means every reuse revokes.
	Grace time.Duration
}

// RefreshStore keeps refresh-token families for Tokens. Every method must be
// atomic with respect to the others: implementations use one transaction,
// one conditional update or one script per call.
//
// Rotate is the heart of it. In one atomic step it must:
//   - return ErrInvalidToken if Old is unknown or belongs to another family
//     than Child;
//   - return ErrRevoked if the family is revoked;
//   - if Old is unused: mark it used at Now and insert Child, and return nil;
//   - if Old is used: revoke the family and return ErrTokenReused, except
//     within the grace period (see Rotation.Grace), where it returns
//     ErrTokenReused and changes nothing.
//
// So of many concurrent Rotate calls for one token exactly one succeeds.
type RefreshStore interface {
	// Create stores the first token of a new family.
	Create(ctx context.Context, tok RefreshToken) error
	// Rotate uses up r.Old and stores r.Child, as described above.
	Rotate(ctx context.Context, r Rotation) error
	// RevokeFamily revokes every token of a family (logout). Revoking an
	// unknown or revoked family is not an error.
	RevokeFamily(ctx context.Context, family string, now time.Time) error
	// RevokeSubject revokes every family of a user (log out everywhere).
	RevokeSubject(ctx context.Context, subject string, now time.Time) error
}

type memFamily struct {
	subject string
	expires time.Time
	revoked bool
}

type memToken struct {
	family  string
	expires time.Time
	used    time.Time // zero: unused
	child   TokenHash
}

// Memory is a RefreshStore in process memory, for tests and
// single-process services. Expired records are dropped by Prune.
//
// The zero value is ready to use. A Memory is safe for concurrent use
// and needs no closing.
type Memory struct {
	mu       sync.Mutex
	families map[string]*memFamily
	tokens   map[TokenHash]*memToken
}

var _ RefreshStore = (*Memory)(nil)

// MemoryOptions configure NewMemory. A Memory has nothing to configure
// yet: the struct is there so that every svckit store is built the same
// way (see CONVENTIONS.md) and a field can come without breaking callers.
type MemoryOptions struct{}

// NewMemory returns an empty Memory store, as the zero Memory is.
func NewMemory(opts MemoryOptions) *Memory { return new(Memory) }

func (s *Memory) init() {
	if s.families == nil {
		s.families = map[string]*memFamily{}
		s.tokens = map[TokenHash]*memToken{}
	}
}

// Create stores the first token of a new family.
func (s *Memory) Create(_ context.Context, tok RefreshToken) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	if _, ok := s.families[tok.Family]; !ok {
		s.families[tok.Family] = &memFamily{subject: tok.Subject, expires: tok.FamilyExpiresAt}
	}
	s.tokens[tok.Hash] = &memToken{family: tok.Family, expires: tok.ExpiresAt}
	return nil
}

// Rotate uses up r.Old and stores r.Child atomically; see RefreshStore.
func (s *Memory) Rotate(_ context.Context, r Rotation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	old, ok := s.tokens[r.Old]
	if !ok || old.family != r.Child.Family {
		return ErrInvalidToken
	}
	fam := s.families[old.family]
	if fam == nil {
		return ErrInvalidToken
	}
	if fam.revoked {
		return ErrRevoked
	}
	if !old.used.IsZero() {
		if r.Grace > 0 && r.Now.Sub(old.used) <= r.Grace {
			if c, ok := s.tokens[old.child]; ok && c.used.IsZero() {
				return ErrTokenReused
			}
		}
		fam.revoked = true
		return ErrTokenReused
	}
	old.used = r.Now
	old.child = r.Child.Hash
	s.tokens[r.Child.Hash] = &memToken{family: r.Child.Family, expires: r.Child.ExpiresAt}
	return nil
}

// RevokeFamily revokes every token of family.
func (s *Memory) RevokeFamily(_ context.Context, family string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.families[family]; f != nil {
		f.revoked = true
	}
	return nil
}

// RevokeSubject revokes every family of subject.
func (s *Memory) RevokeSubject(_ context.Context, subject string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.families {
		if f.subject == subject {
			f.revoked = true
		}
	}
	return nil
}

// Prune drops every token that expired before now and every family past its
// absolute expiry. Call it now and then from a ticker you own.
func (s *Memory) Prune(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, t := range s.tokens {
		if t.expires.Before(now) {
			delete(s.tokens, h)
		}
	}
	for id, f := range s.families {
		if f.expires.Before(now) {
			delete(s.families, id)
		}
	}
}

// Len returns the number of token records held, for tests and metrics.
func (s *Memory) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens)
}
