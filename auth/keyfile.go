package auth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
)

// ParseKey parses one key from PEM or JSON: a PEM "PRIVATE KEY" (PKCS #8)
// or "PUBLIC KEY" (SubjectPublicKeyInfo) block, or a JWK (see ParseJWK).
// A private key can sign; a public key verifies only. id is the key id
// ("kid"); for PEM it is required, for a JWK empty means its "kid".
//
// Supported: Ed25519 (EdDSA), ECDSA P-256 (ES256) and RSA of 2048 to 8192
// bits (RS256). Other PEM block types, trailing data and more than one
// block are errors: convert a SEC 1 or PKCS #1 key with
// "openssl pkcs8 -topk8 -nocrypt".
func ParseKey(id string, data []byte) (*Key, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return ParseJWK(id, trimmed)
	}
	return parsePEM(id, trimmed)
}

func parsePEM(id string, data []byte) (*Key, error) {
	if len(data) > MaxJWKSSize {
		return nil, fmt.Errorf("%w: key over %d bytes", ErrBadKey, MaxJWKSSize)
	}
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: neither a PEM block nor a JWK", ErrBadKey)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("%w: data after the PEM block", ErrBadKey)
	}
	if len(block.Headers) > 0 {
		return nil, fmt.Errorf("%w: PEM headers (an encrypted key?) are not supported", ErrBadKey)
	}
	switch block.Type {
	case "PRIVATE KEY":
		priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: PKCS #8: %w", ErrBadKey, err)
		}
		switch p := priv.(type) {
		case ed25519.PrivateKey:
			return NewEdDSAKey(id, p)
		case *ecdsa.PrivateKey:
			return NewES256Key(id, p)
		case *rsa.PrivateKey:
			if p.N.BitLen() > maxRSABits {
				return nil, fmt.Errorf("%w: RSA key over %d bits", ErrBadKey, maxRSABits)
			}
			return NewRS256Key(id, p)
		}
		return nil, fmt.Errorf("%w: PKCS #8 key of type %T", ErrUnsupportedKey, priv)
	case "PUBLIC KEY":
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: SubjectPublicKeyInfo: %w", ErrBadKey, err)
		}
		switch p := pub.(type) {
		case *rsa.PublicKey:
			if p.N.BitLen() > maxRSABits {
				return nil, fmt.Errorf("%w: RSA key over %d bits", ErrBadKey, maxRSABits)
			}
		case ed25519.PublicKey, *ecdsa.PublicKey:
		default:
			return nil, fmt.Errorf("%w: public key of type %T", ErrUnsupportedKey, pub)
		}
		return newPublicKey(id, pub)
	case "EC PRIVATE KEY", "RSA PRIVATE KEY":
		return nil, fmt.Errorf("%w: PEM %q: convert it to PKCS #8 (openssl pkcs8 -topk8 -nocrypt)", ErrUnsupportedKey, block.Type)
	case "ENCRYPTED PRIVATE KEY":
		return nil, fmt.Errorf("%w: encrypted private keys are not supported", ErrUnsupportedKey)
	}
	return nil, fmt.Errorf("%w: PEM block %q, want PRIVATE KEY or PUBLIC KEY", ErrUnsupportedKey, block.Type)
}

// ReadKeyFile reads one key (see ParseKey) from the file at path.
func ReadKeyFile(id, path string) (*Key, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	k, err := ParseKey(id, data)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return k, nil
}

// ReadJWKSFile reads a JWK Set (see ParseJWKS) from the file at path.
func ReadJWKSFile(path string) ([]*Key, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	keys, err := ParseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return keys, nil
}

// KeyFromEnv parses one key (see ParseKey) from the environment variable
// name: PEM text (newlines kept) or a JWK. An unset or empty variable is
// an error.
func KeyFromEnv(id, name string) (*Key, error) {
	v := os.Getenv(name)
	if v == "" {
		return nil, fmt.Errorf("%w: environment variable %s is empty", ErrBadKey, name)
	}
	k, err := ParseKey(id, []byte(v))
	if err != nil {
		return nil, fmt.Errorf("%w (environment variable %s)", err, name)
	}
	return k, nil
}

// JWKSFromEnv parses a JWK Set (see ParseJWKS) from the environment
// variable name.
func JWKSFromEnv(name string) ([]*Key, error) {
	v := os.Getenv(name)
	if v == "" {
		return nil, fmt.Errorf("%w: environment variable %s is empty", ErrBadKey, name)
	}
	keys, err := ParseJWKS([]byte(v))
	if err != nil {
		return nil, fmt.Errorf("%w (environment variable %s)", err, name)
	}
	return keys, nil
}

// readBounded reads a file of at most MaxJWKSSize bytes.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth: read key file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("auth: read key file %s: %w", path, err)
	}
	if len(data) > MaxJWKSSize {
		return nil, fmt.Errorf("%w: key file %s over %d bytes", ErrBadKey, path, MaxJWKSSize)
	}
	return data, nil
}
