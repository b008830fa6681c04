package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/internal/strictjson"
)

// testKeys are one private key of each supported asymmetric kind, made
// once: RSA generation is slow.
type testKeys struct {
	ed     ed25519.PrivateKey
	es     *ecdsa.PrivateKey
	rs     *rsa.PrivateKey
	p384   *ecdsa.PrivateKey
	rs1024 *rsa.PrivateKey
}

var loadKeysOnce = sync.OnceValue(func() testKeys {
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	es, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rs1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	return testKeys{ed: ed, es: es, rs: rs, p384: p384, rs1024: rs1024}
})

// curveKeys makes only the fast keys, Ed25519 and P-256.
func curveKeys() testKeys {
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	es, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return testKeys{ed: ed, es: es}
}

func pkcs8(t testing.TB, priv any) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	require.NoError(t, err, "PKCS #8")
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func spki(t testing.TB, pub any) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err, "SPKI")
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// TestParseKeyPEM loads each kind of PEM key, signs with the private one
// and verifies with the public one through a KeySet.
func TestParseKeyPEM(t *testing.T) {
	k := loadKeysOnce()
	cases := []struct {
		name      string
		priv, pub []byte
		alg       string
	}{
		{"Ed25519", pkcs8(t, k.ed), spki(t, k.ed.Public()), auth.EdDSA},
		{"P-256", pkcs8(t, k.es), spki(t, &k.es.PublicKey), auth.ES256},
		{"RSA 2048", pkcs8(t, k.rs), spki(t, &k.rs.PublicKey), auth.RS256},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			priv, err := auth.ParseKey("k1", tc.priv)
			require.NoError(t, err, "parse the PKCS #8 private key")
			assert.True(t, priv.CanSign(), "a private key signs")
			assert.Equal(t, tc.alg, priv.Alg(), "algorithm follows the key type")
			pub, err := auth.ParseKey("k1", tc.pub)
			require.NoError(t, err, "parse the SPKI public key")
			assert.False(t, pub.CanSign(), "a public key only verifies")
			assert.Equal(t, tc.alg, pub.Alg(), "algorithm follows the key type")
			_, err = auth.NewKeySet(pub)
			assert.ErrorIs(t, err, auth.ErrBadKey, "a public key cannot be the active signing key")

			// Sign with the private key, verify with the public one.
			f := newFixture(t, priv, nil)
			p, err := f.Issue(context.Background(), auth.User{ID: "alice"})
			require.NoError(t, err, "Issue with a loaded key")
			other, _ := edKey(t, "other")
			set, err := auth.NewKeySet(other, pub)
			require.NoError(t, err, "a key set verifying with the loaded public key")
			v, err := auth.NewVerifier(set, auth.VerifierOptions{Issuer: issuer, Audience: audience, Now: f.clock.Now})
			require.NoError(t, err, "NewVerifier")
			_, err = v.VerifyAccess(context.Background(), p.AccessToken)
			assert.NoError(t, err, "the public key verifies what the private key signed")

			// The JWK forms load to the same keys.
			pj, ok := priv.PublicJWK()
			require.True(t, ok, "an asymmetric key has a public JWK")
			raw, err := json.Marshal(pj)
			require.NoError(t, err, "marshal the JWK")
			fromJWK, err := auth.ParseKey("", raw)
			require.NoError(t, err, "parse the public JWK")
			assert.Equal(t, "k1", fromJWK.ID(), "the id comes from the JWK's kid")
			assert.False(t, fromJWK.CanSign(), "a public JWK only verifies")
			privJWK, err := priv.PrivateJWK()
			require.NoError(t, err, "PrivateJWK")
			back, err := auth.ParseJWK("k1", privJWK)
			require.NoError(t, err, "parse the private JWK")
			assert.True(t, back.CanSign(), "a private JWK signs")
			backPub, _ := back.PublicJWK()
			assert.Equal(t, pj, backPub, "the private JWK holds the same key")
		})
	}
}

// TestParseKeyRefuses is the table of keys and documents that must be
// refused with a clear error, never a panic.
func TestParseKeyRefuses(t *testing.T) {
	k := loadKeysOnce()
	sec1, err := x509.MarshalECPrivateKey(k.es)
	require.NoError(t, err, "SEC 1")
	edPub := k.ed.Public().(ed25519.PublicKey)
	goodEd := `{"kty":"OKP","crv":"Ed25519","x":"` + b64u(edPub) + `","kid":"k1"}`
	cases := []struct {
		name string
		id   string
		data string
		want error
	}{
		{"empty", "k1", "", auth.ErrBadKey},
		{"garbage", "k1", "not a key", auth.ErrBadKey},
		{"PEM without id", "", string(pkcs8(t, k.ed)), auth.ErrBadKey},
		{"two PEM blocks", "k1", string(pkcs8(t, k.ed)) + string(pkcs8(t, k.ed)), auth.ErrBadKey},
		{"data after the block", "k1", string(pkcs8(t, k.ed)) + "x", auth.ErrBadKey},
		{"SEC 1 EC key", "k1", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})), auth.ErrUnsupportedKey},
		{"PKCS #1 RSA key", "k1", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.rs)})), auth.ErrUnsupportedKey},
		{"certificate", "k1", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})), auth.ErrUnsupportedKey},
		{"PKCS #8 garbage", "k1", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}})), auth.ErrBadKey},
		{"encrypted PEM headers", "k1", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: []byte{1}})), auth.ErrBadKey},
		{"P-384 private", "k1", string(pkcs8(t, k.p384)), auth.ErrBadKey},
		{"P-384 public", "k1", string(spki(t, &k.p384.PublicKey)), auth.ErrBadKey},
		{"RSA 1024 private", "k1", string(pkcs8(t, k.rs1024)), auth.ErrBadKey},
		{"RSA 1024 public", "k1", string(spki(t, &k.rs1024.PublicKey)), auth.ErrBadKey},
		{"bad kid", "a/b", string(pkcs8(t, k.ed)), auth.ErrBadKey},
		{"JWK, kid disagrees", "k2", goodEd, auth.ErrBadKey},
		{"JWK without any kid", "", `{"kty":"OKP","crv":"Ed25519","x":"` + b64u(edPub) + `"}`, auth.ErrBadKey},
		{"JWK, alg disagrees", "", `{"kty":"OKP","crv":"Ed25519","x":"` + b64u(edPub) + `","kid":"k1","alg":"ES256"}`, auth.ErrUnsupportedKey},
		{"JWK use enc", "", `{"kty":"OKP","crv":"Ed25519","x":"` + b64u(edPub) + `","kid":"k1","use":"enc"}`, auth.ErrUnsupportedKey},
		{"JWK X25519", "", `{"kty":"OKP","crv":"X25519","x":"` + b64u(edPub) + `","kid":"k1"}`, auth.ErrUnsupportedKey},
		{"JWK short x", "", `{"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"k1"}`, auth.ErrBadKey},
		{"JWK padded x", "", `{"kty":"OKP","crv":"Ed25519","x":"` + b64u(edPub) + `=","kid":"k1"}`, auth.ErrBadKey},
		{"JWK d not matching x", "", `{"kty":"OKP","crv":"Ed25519","x":"` + b64u(edPub) + `","d":"` + b64u(make([]byte, 32)) + `","kid":"k1"}`, auth.ErrBadKey},
		{"JWK EC point off the curve", "", `{"kty":"EC","crv":"P-256","x":"` + b64u(make([]byte, 32)) + `","y":"` + b64u(append(make([]byte, 31), 1)) + `","kid":"k1"}`, auth.ErrBadKey},
		{"JWK EC P-384", "", `{"kty":"EC","crv":"P-384","x":"AA","y":"AA","kid":"k1"}`, auth.ErrUnsupportedKey},
		{"JWK RSA 1024", "", `{"kty":"RSA","n":"` + b64u(k.rs1024.N.Bytes()) + `","e":"AQAB","kid":"k1"}`, auth.ErrBadKey},
		{"JWK RSA even exponent", "", `{"kty":"RSA","n":"` + b64u(k.rs.N.Bytes()) + `","e":"Ag","kid":"k1"}`, auth.ErrBadKey},
		{"JWK RSA huge exponent", "", `{"kty":"RSA","n":"` + b64u(k.rs.N.Bytes()) + `","e":"AQABAQAB","kid":"k1"}`, auth.ErrBadKey},
		{"JWK RSA PS256", "", `{"kty":"RSA","n":"` + b64u(k.rs.N.Bytes()) + `","e":"AQAB","kid":"k1","alg":"PS256"}`, auth.ErrUnsupportedKey},
		{"JWK RSA wrong d", "", `{"kty":"RSA","n":"` + b64u(k.rs.N.Bytes()) + `","e":"AQAB","d":"AQ","p":"Aw","q":"BQ","kid":"k1"}`, auth.ErrBadKey},
		{"JWK oct short", "", `{"kty":"oct","k":"AAAA","kid":"k1"}`, auth.ErrWeakSecret},
		{"JWK unknown kty", "", `{"kty":"XYZ","kid":"k1"}`, auth.ErrUnsupportedKey},
		{"JWK not an object", "", `{"kty":1}`, auth.ErrBadKey},
		{"JWK trailing data", "", goodEd + "{}", auth.ErrBadKey},
		{"JWK huge", "", `{"kty":"OKP","x":"` + strings.Repeat("A", auth.MaxJWKSSize) + `"}`, auth.ErrBadKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key, err := auth.ParseKey(tc.id, []byte(tc.data))
			require.ErrorIs(t, err, tc.want, "the key must be refused with the named error")
			assert.Nil(t, key, "no key with an error")
		})
	}
}

func b64u(b []byte) string {
	s, _ := json.Marshal(b) // standard base64 with padding, quoted
	r := strings.NewReplacer("+", "-", "/", "_", "=", "", `"`, "")
	return r.Replace(string(s))
}

// TestParseJWKS covers JWK Sets: unsupported keys skipped, the rest strict.
func TestParseJWKS(t *testing.T) {
	k := loadKeysOnce()
	ed, _ := auth.NewEdDSAKey("ed", k.ed)
	es, _ := auth.NewES256Key("es", k.es)
	rs, _ := auth.NewRS256Key("rs", k.rs)
	jwk := func(key *auth.Key) string {
		j, _ := key.PublicJWK()
		b, _ := json.Marshal(j)
		return string(b)
	}
	encKey := `{"kty":"RSA","use":"enc","alg":"RSA-OAEP","kid":"enc","n":"` + b64u(k.rs.N.Bytes()) + `","e":"AQAB"}`
	cases := []struct {
		name string
		doc  string
		kids []string // nil: an error
	}{
		{"three kinds", `{"keys":[` + jwk(ed) + `,` + jwk(es) + `,` + jwk(rs) + `]}`, []string{"ed", "es", "rs"}},
		{"an encryption key skipped", `{"keys":[` + encKey + `,` + jwk(ed) + `]}`, []string{"ed"}},
		{"only unusable keys", `{"keys":[` + encKey + `]}`, nil},
		{"empty set", `{"keys":[]}`, nil},
		{"no keys member", `{}`, nil},
		{"keys not an array", `{"keys":{}}`, nil},
		{"duplicate kid", `{"keys":[` + jwk(ed) + `,` + jwk(ed) + `]}`, nil},
		{"key without kid", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + b64u(k.ed.Public().(ed25519.PublicKey)) + `"}]}`, nil},
		{"malformed supported key", `{"keys":[` + jwk(ed) + `,{"kty":"OKP","crv":"Ed25519","x":"!!","kid":"bad"}]}`, nil},
		{"not JSON", `keys`, nil},
		{"trailing data", `{"keys":[` + jwk(ed) + `]} x`, nil},
		{"too many keys", `{"keys":[` + strings.Repeat(encKey+",", auth.MaxJWKSKeys) + jwk(ed) + `]}`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := auth.ParseJWKS([]byte(tc.doc))
			if tc.kids == nil {
				require.ErrorIs(t, err, auth.ErrBadKey, "the set must be refused")
				assert.Nil(t, keys, "no keys with an error")
				return
			}
			require.NoError(t, err, "ParseJWKS")
			var kids []string
			for _, k := range keys {
				kids = append(kids, k.ID())
			}
			assert.Equal(t, tc.kids, kids, "the usable keys, in document order")
		})
	}
}

// TestKeyFilesAndEnv loads keys from files and environment variables.
func TestKeyFilesAndEnv(t *testing.T) {
	k := loadKeysOnce()
	dir := t.TempDir()
	privPath := filepath.Join(dir, "signing.pem")
	require.NoError(t, os.WriteFile(privPath, pkcs8(t, k.ed), 0o600), "write the key file")
	key, err := auth.ReadKeyFile("2026-01", privPath)
	require.NoError(t, err, "ReadKeyFile")
	assert.True(t, key.CanSign(), "a private key file signs")

	_, err = auth.ReadKeyFile("k", filepath.Join(dir, "missing.pem"))
	assert.ErrorIs(t, err, os.ErrNotExist, "a missing file says so")
	big := filepath.Join(dir, "big.pem")
	require.NoError(t, os.WriteFile(big, make([]byte, auth.MaxJWKSSize+1), 0o600), "write a big file")
	_, err = auth.ReadKeyFile("k", big)
	assert.ErrorIs(t, err, auth.ErrBadKey, "an oversize file is refused")
	bad := filepath.Join(dir, "bad.pem")
	require.NoError(t, os.WriteFile(bad, []byte("nonsense"), 0o600), "write a bad file")
	_, err = auth.ReadKeyFile("k", bad)
	require.ErrorIs(t, err, auth.ErrBadKey, "a bad file is refused")
	assert.Contains(t, err.Error(), bad, "and the error names the file")

	pub, _ := key.PublicJWK()
	set, _ := json.Marshal(map[string]any{"keys": []auth.JWK{pub}})
	setPath := filepath.Join(dir, "jwks.json")
	require.NoError(t, os.WriteFile(setPath, set, 0o600), "write the JWKS file")
	keys, err := auth.ReadJWKSFile(setPath)
	require.NoError(t, err, "ReadJWKSFile")
	require.Len(t, keys, 1, "one key")
	assert.Equal(t, "2026-01", keys[0].ID(), "kid from the set")

	t.Setenv("SVCKIT_TEST_KEY", string(pkcs8(t, k.es)))
	key, err = auth.KeyFromEnv("es", "SVCKIT_TEST_KEY")
	require.NoError(t, err, "KeyFromEnv with PEM")
	assert.Equal(t, auth.ES256, key.Alg(), "ES256 from the environment")
	privJWK, err := key.PrivateJWK()
	require.NoError(t, err, "PrivateJWK")
	t.Setenv("SVCKIT_TEST_KEY", string(privJWK))
	key, err = auth.KeyFromEnv("", "SVCKIT_TEST_KEY")
	require.NoError(t, err, "KeyFromEnv with a JWK")
	assert.True(t, key.CanSign(), "a private JWK from the environment signs")
	t.Setenv("SVCKIT_TEST_KEY", "")
	_, err = auth.KeyFromEnv("k", "SVCKIT_TEST_KEY")
	require.ErrorIs(t, err, auth.ErrBadKey, "an empty variable is an error")
	assert.Contains(t, err.Error(), "SVCKIT_TEST_KEY", "that names the variable")
	t.Setenv("SVCKIT_TEST_JWKS", string(set))
	keys, err = auth.JWKSFromEnv("SVCKIT_TEST_JWKS")
	require.NoError(t, err, "JWKSFromEnv")
	assert.Len(t, keys, 1, "one key")
	_, err = auth.JWKSFromEnv("SVCKIT_TEST_UNSET_VARIABLE")
	assert.ErrorIs(t, err, auth.ErrBadKey, "an unset variable is an error")
}

// FuzzParseKey feeds arbitrary bytes to the PEM and JWK parser: it must
// never panic, and a key it accepts must be usable: its public JWK parses
// back to the same key.
func FuzzParseKey(f *testing.F) {
	k := curveKeys() // no RSA: every fuzz worker makes its own
	for _, priv := range []any{k.ed, k.es} {
		f.Add(pkcs8(f, priv))
	}
	f.Add(spki(f, k.ed.Public()))
	f.Add(spki(f, &k.es.PublicKey))
	ed, _ := auth.NewEdDSAKey("ed", k.ed)
	j, _ := ed.PrivateJWK()
	f.Add(j)
	f.Add([]byte(`{"kty":"EC","crv":"P-256","x":"AA","y":"AA","kid":"k"}`))
	f.Add([]byte(`{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"k"}`))
	f.Add([]byte(`{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","kid":"k"}`))
	f.Add([]byte(`{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","K":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB","kid":"k"}`))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := auth.ParseKey("fz", data)
		if err != nil {
			if key != nil {
				t.Fatalf("ParseKey returned a key and an error %v", err)
			}
			return
		}
		if json.Valid(data) {
			if serr := strictjson.Check(data, nil); serr != nil {
				t.Fatalf("ParseKey accepted a JWK another parser may read otherwise: %v", serr)
			}
		}
		switch key.Alg() {
		case auth.HS256, auth.EdDSA, auth.ES256, auth.RS256:
		default:
			t.Fatalf("ParseKey accepted an algorithm %q", key.Alg())
		}
		pub, ok := key.PublicJWK()
		if !ok {
			return // HS256
		}
		raw, err := json.Marshal(pub)
		if err != nil {
			t.Fatal(err)
		}
		back, err := auth.ParseJWK("", raw)
		if err != nil {
			t.Fatalf("the public JWK of an accepted key does not parse: %v", err)
		}
		if again, _ := back.PublicJWK(); again != pub {
			t.Fatalf("public JWK round trip changed the key: %+v != %+v", again, pub)
		}
	})
}

// FuzzParseJWKS feeds arbitrary documents to the JWK Set parser: never a
// panic, never a key without an id, never two keys with one id.
func FuzzParseJWKS(f *testing.F) {
	k := curveKeys() // no RSA: every fuzz worker makes its own
	ed, _ := auth.NewEdDSAKey("ed", k.ed)
	es, _ := auth.NewES256Key("es", k.es)
	doc, _ := json.Marshal(map[string]any{"keys": []any{mustJWK(ed), mustJWK(es)}})
	f.Add(doc)
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","use":"enc","kid":"x"}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","x":"AA"}]}`))
	f.Add([]byte(`{"KEYS":[{"kty":"OKP","crv":"Ed25519","KID":"a","X":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := auth.ParseJWKS(data)
		if err != nil {
			return
		}
		if serr := strictjson.Check(data, nil); serr != nil {
			t.Fatalf("ParseJWKS accepted a document another parser may read otherwise: %v", serr)
		}
		if len(keys) == 0 || len(keys) > auth.MaxJWKSKeys {
			t.Fatalf("ParseJWKS returned %d keys and no error", len(keys))
		}
		seen := map[string]bool{}
		for _, key := range keys {
			if key.ID() == "" || seen[key.ID()] {
				t.Fatalf("ParseJWKS returned an empty or repeated kid %q", key.ID())
			}
			seen[key.ID()] = true
		}
	})
}

func mustJWK(k *auth.Key) auth.JWK {
	j, _ := k.PublicJWK()
	return j
}
