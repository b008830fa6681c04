package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Supported signing algorithms.
const (
	HS256 = "HS256"
	EdDSA = "EdDSA"
	ES256 = "ES256"
	RS256 = "RS256"
)

// MinRSABits is the smallest RSA modulus NewRS256Key and the key loaders
// accept.
const MinRSABits = 2048

// MinSecretLen is the shortest HS256 secret NewHS256Key accepts, in bytes.
const MinSecretLen = 32

// Errors returned when building keys and key sets.
var (
	// ErrWeakSecret means an HS256 secret is shorter than MinSecretLen.
	ErrWeakSecret = errors.New("auth: HS256 secret shorter than 32 bytes")
	// ErrBadKey means a key is nil, of the wrong curve or size, or has a bad
	// id.
	ErrBadKey = errors.New("auth: bad key")
	// ErrDuplicateKey means a key set already holds a key with that id.
	ErrDuplicateKey = errors.New("auth: duplicate key id")
)

// Key is one signing key with its id ("kid") and algorithm. Build it with
// NewHS256Key, NewEdDSAKey, NewES256Key or NewRS256Key, or load it with
// ParseKey or the JWK functions; the zero value is not usable. A Key is
// immutable and safe for concurrent use.
//
// A Key may hold only a public key: it then verifies but cannot sign, and
// a KeySet refuses it as its active key.
type Key struct {
	id     string
	method jwt.SigningMethod
	sign   any // []byte, ed25519.PrivateKey, *ecdsa.PrivateKey, *rsa.PrivateKey; nil: verify only
	verify any // []byte, ed25519.PublicKey, *ecdsa.PublicKey or *rsa.PublicKey
}

// ID returns the key id carried in the "kid" header of the tokens it signs.
func (k *Key) ID() string { return k.id }

// Alg returns HS256, EdDSA, ES256 or RS256.
func (k *Key) Alg() string { return k.method.Alg() }

// CanSign reports whether k holds a private key (or an HS256 secret).
func (k *Key) CanSign() bool { return k.sign != nil }

// Public returns the public key, nil for HS256: an ed25519.PublicKey, an
// *ecdsa.PublicKey or an *rsa.PublicKey.
func (k *Key) Public() any {
	if k.method == jwt.SigningMethodHS256 {
		return nil
	}
	return k.verify
}

// NewHS256Key returns an HMAC-SHA256 key. The secret must be at least
// MinSecretLen bytes (ErrWeakSecret); it is copied.
func NewHS256Key(id string, secret []byte) (*Key, error) {
	if err := checkKID(id); err != nil {
		return nil, err
	}
	if len(secret) < MinSecretLen {
		return nil, ErrWeakSecret
	}
	s := append([]byte(nil), secret...)
	return &Key{id: id, method: jwt.SigningMethodHS256, sign: s, verify: s}, nil
}

// NewEdDSAKey returns an Ed25519 key.
func NewEdDSAKey(id string, priv ed25519.PrivateKey) (*Key, error) {
	if err := checkKID(id); err != nil {
		return nil, err
	}
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: ed25519 private key of %d bytes", ErrBadKey, len(priv))
	}
	return &Key{id: id, method: jwt.SigningMethodEdDSA, sign: priv, verify: priv.Public()}, nil
}

// NewES256Key returns an ECDSA P-256 key.
func NewES256Key(id string, priv *ecdsa.PrivateKey) (*Key, error) {
	if err := checkKID(id); err != nil {
		return nil, err
	}
	if priv == nil || priv.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: ES256 needs a P-256 private key", ErrBadKey)
	}
	return &Key{id: id, method: jwt.SigningMethodES256, sign: priv, verify: &priv.PublicKey}, nil
}

// NewRS256Key returns an RSA PKCS #1 v1.5 SHA-256 key of at least
// MinRSABits bits.
func NewRS256Key(id string, priv *rsa.PrivateKey) (*Key, error) {
	if priv == nil {
		return nil, fmt.Errorf("%w: nil RSA key", ErrBadKey)
	}
	k, err := newPublicKey(id, &priv.PublicKey)
	if err != nil {
		return nil, err
	}
	k.sign = priv
	return k, nil
}

// NewPublicKey returns a verification-only key for an ed25519.PublicKey
// (EdDSA), a P-256 *ecdsa.PublicKey (ES256) or an *rsa.PublicKey of at
// least MinRSABits bits (RS256).
func NewPublicKey(id string, pub any) (*Key, error) { return newPublicKey(id, pub) }

func newPublicKey(id string, pub any) (*Key, error) {
	if err := checkKID(id); err != nil {
		return nil, err
	}
	switch p := pub.(type) {
	case ed25519.PublicKey:
		if len(p) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: ed25519 public key of %d bytes", ErrBadKey, len(p))
		}
		return &Key{id: id, method: jwt.SigningMethodEdDSA, verify: p}, nil
	case *ecdsa.PublicKey:
		if p == nil || p.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: ES256 needs a P-256 public key", ErrBadKey)
		}
		return &Key{id: id, method: jwt.SigningMethodES256, verify: p}, nil
	case *rsa.PublicKey:
		if p == nil || p.N == nil || p.N.BitLen() < MinRSABits {
			return nil, fmt.Errorf("%w: RSA key shorter than %d bits", ErrBadKey, MinRSABits)
		}
		if p.E < 3 || p.E%2 == 0 {
			return nil, fmt.Errorf("%w: RSA public exponent %d", ErrBadKey, p.E)
		}
		return &Key{id: id, method: jwt.SigningMethodRS256, verify: p}, nil
	}
	return nil, fmt.Errorf("%w: unsupported public key type %T", ErrBadKey, pub)
}

// checkKID allows 1-64 characters from [A-Za-z0-9._-].
func checkKID(id string) error {
	if len(id) == 0 || len(id) > 64 {
		return fmt.Errorf("%w: key id must have 1 to 64 characters", ErrBadKey)
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: key id %q has characters outside [A-Za-z0-9._-]", ErrBadKey, id)
		}
	}
	return nil
}

type keyEntry struct {
	key    *Key
	retire time.Time // zero: never
}

// KeySet holds one active signing key and older keys kept for verification
// until they retire, so tokens signed before a rotation stay valid until they
// expire. Keys are looked up by "kid" in a map and nowhere else.
//
// Build it with NewKeySet. A KeySet is safe for concurrent use; it holds no
// resources.
type KeySet struct {
	mu     sync.RWMutex
	active *Key
	keys   map[string]keyEntry
}

// NewKeySet returns a set whose active signing key is active, which must
// be able to sign. The keys in verifyOnly verify tokens until removed,
// for example the public keys of another instance read with ParseJWKS.
func NewKeySet(active *Key, verifyOnly ...*Key) (*KeySet, error) {
	if active == nil || !active.CanSign() {
		return nil, fmt.Errorf("%w: the active key must be able to sign", ErrBadKey)
	}
	s := &KeySet{active: active, keys: map[string]keyEntry{active.id: {key: active}}}
	for _, k := range verifyOnly {
		if err := s.AddKey(k, time.Time{}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Rotate makes next the active signing key. The previous active key keeps
// verifying tokens until retireOld; pass the time its last token expires (now
// plus the refresh TTL and the leeway; Tokens.RotateKey does this).
func (s *KeySet) Rotate(next *Key, retireOld time.Time) error {
	if next == nil || !next.CanSign() {
		return fmt.Errorf("%w: the active key must be able to sign", ErrBadKey)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[next.id]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicateKey, next.id)
	}
	old := s.keys[s.active.id]
	old.retire = retireOld
	s.keys[s.active.id] = old
	s.keys[next.id] = keyEntry{key: next}
	s.active = next
	return nil
}

// AddKey adds a verification-only key, for example the previous key of
// another instance, valid until retire (zero: until removed).
func (s *KeySet) AddKey(k *Key, retire time.Time) error {
	if k == nil {
		return fmt.Errorf("%w: nil key", ErrBadKey)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[k.id]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicateKey, k.id)
	}
	s.keys[k.id] = keyEntry{key: k, retire: retire}
	return nil
}

// Retire removes every verification key whose retirement time is at or
// before now. The active key is never removed.
func (s *KeySet) Retire(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, e := range s.keys {
		if e.key != s.active && !e.retire.IsZero() && !now.Before(e.retire) {
			delete(s.keys, id)
		}
	}
}

// signer returns the active key.
func (s *KeySet) signer() *Key {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.active
}

// lookup returns the key with id kid if it has not retired at now.
func (s *KeySet) lookup(kid string, now time.Time) (*Key, bool) {
	s.mu.RLock()
	e, ok := s.keys[kid]
	s.mu.RUnlock()
	if !ok || (!e.retire.IsZero() && !now.Before(e.retire)) {
		return nil, false
	}
	return e.key, true
}

// VerificationKey returns the key with id kid unless it has retired by
// now (time.Now). It makes a KeySet a KeySource.
func (s *KeySet) VerificationKey(_ context.Context, kid string) (*Key, error) {
	if k, ok := s.lookup(kid, time.Now()); ok {
		return k, nil
	}
	return nil, fmt.Errorf("auth: unknown key id %q", kid)
}

var _ KeySource = (*KeySet)(nil)

// JWK is one public key in a JSON Web Key Set (RFC 7517, RFC 7518 §6,
// RFC 8037).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS returns, sorted by kid, the public keys of the asymmetric keys that
// are not retired at now. HS256 keys are secret and never listed.
func (s *KeySet) JWKS(now time.Time) []JWK {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]JWK, 0, len(s.keys))
	for _, e := range s.keys {
		if !e.retire.IsZero() && !now.Before(e.retire) {
			continue
		}
		if j, ok := e.key.PublicJWK(); ok {
			out = append(out, j)
		}
	}
	slices.SortFunc(out, func(a, b JWK) int { return strings.Compare(a.Kid, b.Kid) })
	return out
}

// PublicJWK returns the public JWK of k; false for an HS256 key.
func (k *Key) PublicJWK() (JWK, bool) {
	enc := base64.RawURLEncoding.EncodeToString
	switch pub := k.verify.(type) {
	case ed25519.PublicKey:
		return JWK{Kty: "OKP", Crv: "Ed25519", X: enc(pub), Kid: k.id, Alg: EdDSA, Use: "sig"}, true
	case *ecdsa.PublicKey:
		ep, err := pub.ECDH()
		if err != nil {
			return JWK{}, false
		}
		b := ep.Bytes() // 0x04 || X || Y, 32 bytes each
		return JWK{Kty: "EC", Crv: "P-256", X: enc(b[1:33]), Y: enc(b[33:65]), Kid: k.id, Alg: ES256, Use: "sig"}, true
	case *rsa.PublicKey:
		return JWK{Kty: "RSA", N: enc(pub.N.Bytes()), E: enc(big.NewInt(int64(pub.E)).Bytes()), Kid: k.id, Alg: RS256, Use: "sig"}, true
	}
	return JWK{}, false
}

// JWKSHandler serves {"keys": [...]} with the public keys of JWKS, computed at
// each request so rotations show at once. now is the clock; nil means
// time.Now.
func (s *KeySet) JWKSHandler(now func() time.Time) http.Handler {
	if now == nil {
		now = time.Now
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		body, err := json.Marshal(struct {
			Keys []JWK `json:"keys"`
		}{s.JWKS(now())})
		if err != nil {
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(body)
	})
}
