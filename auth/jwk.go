package auth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strings"

	"github.com/svckit/svckit/internal/strictjson"
)

// Bounds on the documents the JWK parsers accept.
const (
	// MaxJWKSSize is the largest JWK or JWK Set document parsed, in bytes.
	MaxJWKSSize = 256 << 10
	// MaxJWKSKeys is the most keys a JWK Set may hold.
	MaxJWKSKeys = 64
	// maxRSABits bounds the RSA modulus: verifying with a huge key costs
	// the verifier, not the signer.
	maxRSABits = 8192
)

// ErrUnsupportedKey means a well-formed JWK of a type, curve, algorithm or
// use this package does not verify with (RSA-OAEP, P-384, "use":"enc", ...).
// ParseJWKS skips such keys; ParseKey returns it.
var ErrUnsupportedKey = errors.New("auth: unsupported key")

// jwkWire is every JWK member this package reads (RFC 7517, RFC 7518 §6,
// RFC 8037).
type jwkWire struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	D   string `json:"d"`
	N   string `json:"n"`
	E   string `json:"e"`
	P   string `json:"p"`
	Q   string `json:"q"`
	K   string `json:"k"`
	// Multi-prime RSA keys are refused.
	Oth json.RawMessage `json:"oth"`
}

// ParseJWK parses one JSON Web Key into a Key. A key with a private part
// ("d", or "k" for HS256) can sign; others verify only. id is the key id;
// empty means the JWK's "kid", and when both are set they must agree.
// Supported: OKP Ed25519 (EdDSA), EC P-256 (ES256), RSA of 2048 to 8192
// bits (RS256) and oct of at least MinSecretLen bytes (HS256). A JWK whose
// "alg" or "use" says otherwise is ErrUnsupportedKey.
func ParseJWK(id string, data []byte) (*Key, error) {
	if len(data) > MaxJWKSSize {
		return nil, fmt.Errorf("%w: JWK over %d bytes", ErrBadKey, MaxJWKSSize)
	}
	var w jwkWire
	if err := strictJSON(data, &w); err != nil {
		return nil, fmt.Errorf("%w: JWK: %w", ErrBadKey, err)
	}
	if id == "" {
		id = w.Kid
	} else if w.Kid != "" && w.Kid != id {
		return nil, fmt.Errorf("%w: JWK kid %q is not %q", ErrBadKey, w.Kid, id)
	}
	return w.key(id)
}

// ParseJWKS parses a JWK Set ({"keys": [...]}) into keys. Keys of a kind
// this package does not verify with (ErrUnsupportedKey) are skipped; a
// malformed key, a key without "kid", two keys with one "kid", or a set
// with no usable key is an error.
func ParseJWKS(data []byte) ([]*Key, error) {
	if len(data) > MaxJWKSSize {
		return nil, fmt.Errorf("%w: JWK Set over %d bytes", ErrBadKey, MaxJWKSSize)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := strictJSON(data, &set); err != nil {
		return nil, fmt.Errorf("%w: JWK Set: %w", ErrBadKey, err)
	}
	if set.Keys == nil {
		return nil, fmt.Errorf("%w: JWK Set has no \"keys\" array", ErrBadKey)
	}
	if len(set.Keys) > MaxJWKSKeys {
		return nil, fmt.Errorf("%w: JWK Set of %d keys, over %d", ErrBadKey, len(set.Keys), MaxJWKSKeys)
	}
	keys := make([]*Key, 0, len(set.Keys))
	seen := make(map[string]bool, len(set.Keys))
	for i, raw := range set.Keys {
		var w jwkWire
		if err := strictJSON(raw, &w); err != nil {
			return nil, fmt.Errorf("%w: JWK Set key %d: %w", ErrBadKey, i, err)
		}
		if w.Kid == "" {
			return nil, fmt.Errorf("%w: JWK Set key %d has no kid", ErrBadKey, i)
		}
		if seen[w.Kid] {
			return nil, fmt.Errorf("%w: JWK Set has two keys with kid %q", ErrBadKey, w.Kid)
		}
		seen[w.Kid] = true
		k, err := w.key(w.Kid)
		if errors.Is(err, ErrUnsupportedKey) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("JWK Set key %d: %w", i, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: JWK Set has no usable key", ErrBadKey)
	}
	return keys, nil
}

// strictJSON decodes one JSON value and nothing after it into v, a
// pointer, and refuses it as a token's claims are refused (see
// strictClaims): a member named twice in any object, a name that differs
// from a member of v only by letter case ("KTY", "X"), a string with NUL
// or invalid UTF-8. encoding/json would keep the last of two "x" and
// read "X" as "x", while the key's publisher or another verifier may read
// the first: two readers of one key set must not verify with two keys.
func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON value")
	}
	if _, err := dec.Token(); err == nil {
		return errors.New("data after the JSON value")
	}
	if err := strictjson.Check(data, reflect.TypeOf(v).Elem()); err != nil {
		return err
	}
	return nil
}

func (w *jwkWire) key(id string) (*Key, error) {
	if w.Use != "" && w.Use != "sig" {
		return nil, fmt.Errorf("%w: JWK use %q", ErrUnsupportedKey, w.Use)
	}
	want := map[string]string{"OKP": EdDSA, "EC": ES256, "RSA": RS256, "oct": HS256}[w.Kty]
	if want == "" {
		return nil, fmt.Errorf("%w: JWK kty %q", ErrUnsupportedKey, w.Kty)
	}
	if w.Alg != "" && w.Alg != want {
		return nil, fmt.Errorf("%w: JWK alg %q for kty %s", ErrUnsupportedKey, w.Alg, w.Kty)
	}
	switch w.Kty {
	case "OKP":
		return w.okp(id)
	case "EC":
		return w.ec(id)
	case "RSA":
		return w.rsa(id)
	default:
		return w.oct(id)
	}
}

// b64 decodes an unpadded base64url member strictly.
func b64(name, s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n=") {
		return nil, fmt.Errorf("%w: JWK member %q is not unpadded base64url", ErrBadKey, name)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: JWK member %q: %w", ErrBadKey, name, err)
	}
	return b, nil
}

func (w *jwkWire) okp(id string) (*Key, error) {
	if w.Crv != "Ed25519" {
		return nil, fmt.Errorf("%w: OKP curve %q", ErrUnsupportedKey, w.Crv)
	}
	x, err := b64("x", w.X)
	if err != nil {
		return nil, err
	}
	if len(x) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: Ed25519 x of %d bytes", ErrBadKey, len(x))
	}
	if w.D == "" {
		return newPublicKey(id, ed25519.PublicKey(x))
	}
	d, err := b64("d", w.D)
	if err != nil {
		return nil, err
	}
	if len(d) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: Ed25519 d of %d bytes", ErrBadKey, len(d))
	}
	priv := ed25519.NewKeyFromSeed(d)
	if !bytes.Equal(priv.Public().(ed25519.PublicKey), x) {
		return nil, fmt.Errorf("%w: Ed25519 d does not match x", ErrBadKey)
	}
	return NewEdDSAKey(id, priv)
}

func (w *jwkWire) ec(id string) (*Key, error) {
	if w.Crv != "P-256" {
		return nil, fmt.Errorf("%w: EC curve %q", ErrUnsupportedKey, w.Crv)
	}
	x, err := b64("x", w.X)
	if err != nil {
		return nil, err
	}
	y, err := b64("y", w.Y)
	if err != nil {
		return nil, err
	}
	if len(x) != 32 || len(y) != 32 {
		return nil, fmt.Errorf("%w: P-256 x and y must be 32 bytes each", ErrBadKey)
	}
	// The parser checks that the point is on the curve.
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, fmt.Errorf("%w: P-256 point: %w", ErrBadKey, err)
	}
	if w.D == "" {
		return newPublicKey(id, pub)
	}
	d, err := b64("d", w.D)
	if err != nil {
		return nil, err
	}
	if len(d) != 32 {
		return nil, fmt.Errorf("%w: P-256 d of %d bytes", ErrBadKey, len(d))
	}
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		return nil, fmt.Errorf("%w: P-256 d: %w", ErrBadKey, err)
	}
	if !priv.PublicKey.Equal(pub) {
		return nil, fmt.Errorf("%w: P-256 d does not match x and y", ErrBadKey)
	}
	return NewES256Key(id, priv)
}

func (w *jwkWire) rsa(id string) (*Key, error) {
	if len(w.Oth) > 0 {
		return nil, fmt.Errorf("%w: multi-prime RSA", ErrUnsupportedKey)
	}
	n, err := b64("n", w.N)
	if err != nil {
		return nil, err
	}
	e, err := b64("e", w.E)
	if err != nil {
		return nil, err
	}
	if len(n) == 0 || n[0] == 0 || len(n)*8 > maxRSABits {
		return nil, fmt.Errorf("%w: RSA modulus of %d bytes", ErrBadKey, len(n))
	}
	if len(e) == 0 || len(e) > 4 || e[0] == 0 {
		return nil, fmt.Errorf("%w: RSA exponent of %d bytes", ErrBadKey, len(e))
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	if w.D == "" {
		return newPublicKey(id, pub)
	}
	var ints [3]*big.Int
	for i, m := range [][2]string{{"d", w.D}, {"p", w.P}, {"q", w.Q}} {
		b, err := b64(m[0], m[1])
		if err != nil {
			return nil, err
		}
		if len(b) == 0 || len(b) > len(n) {
			return nil, fmt.Errorf("%w: RSA %s of %d bytes", ErrBadKey, m[0], len(b))
		}
		ints[i] = new(big.Int).SetBytes(b)
	}
	priv := &rsa.PrivateKey{PublicKey: *pub, D: ints[0], Primes: []*big.Int{ints[1], ints[2]}}
	if err := priv.Validate(); err != nil {
		return nil, fmt.Errorf("%w: RSA private key: %w", ErrBadKey, err)
	}
	priv.Precompute()
	return NewRS256Key(id, priv)
}

func (w *jwkWire) oct(id string) (*Key, error) {
	k, err := b64("k", w.K)
	if err != nil {
		return nil, err
	}
	return NewHS256Key(id, k)
}

// PrivateJWK returns the JWK of k including its private part ("d", or "k"
// for HS256), for writing a key file. Keep its output secret. A
// verification-only key gives its public JWK.
func (k *Key) PrivateJWK() ([]byte, error) {
	enc := base64.RawURLEncoding.EncodeToString
	m := map[string]string{"kid": k.id, "alg": k.Alg(), "use": "sig"}
	if pub, ok := k.PublicJWK(); ok {
		for name, v := range map[string]string{"kty": pub.Kty, "crv": pub.Crv, "x": pub.X, "y": pub.Y, "n": pub.N, "e": pub.E} {
			if v != "" {
				m[name] = v
			}
		}
	}
	switch s := k.sign.(type) {
	case []byte:
		m["kty"], m["k"] = "oct", enc(s)
	case ed25519.PrivateKey:
		m["d"] = enc(s.Seed())
	case *ecdsa.PrivateKey:
		d, err := s.Bytes()
		if err != nil {
			return nil, fmt.Errorf("auth: encode the P-256 key: %w", err)
		}
		m["d"] = enc(d)
	case *rsa.PrivateKey:
		m["d"], m["p"], m["q"] = enc(s.D.Bytes()), enc(s.Primes[0].Bytes()), enc(s.Primes[1].Bytes())
	}
	return json.Marshal(m)
}
