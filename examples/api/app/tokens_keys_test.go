package app_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/auth/jwks"
	"github.com/svckit/svckit/examples/api/app"
)

// TestTokenResponsesNoStore: login and refresh answers carry tokens, so
// they say Cache-Control: no-store (RFC 6749 §5.1).
func TestTokenResponsesNoStore(t *testing.T) {
	s := startSQLite(t, nil)
	s.register(t, "nostore@example.com", "nostore")
	r := s.expect(t, req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": "nostore@example.com", "password": "password-nostore"}}, 200, "")
	assert.Equal(t, "no-store", r.Header.Get("Cache-Control"), "login answers must not be cached")
	var p tokenPair
	r.into(t, &p)
	r = s.expect(t, req{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refreshToken": p.RefreshToken}}, 200, "")
	assert.Equal(t, "no-store", r.Header.Get("Cache-Control"), "refresh answers must not be cached")
}

// TestAsymmetricSigningKey: with an Ed25519 private key from a file the
// service signs EdDSA tokens and publishes its JWKS, and another service
// verifies them through auth/jwks; the default HS256 service publishes no
// JWKS.
func TestAsymmetricSigningKey(t *testing.T) {
	ctx := context.Background()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err, "ed25519")
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	require.NoError(t, err, "PKCS #8")
	path := filepath.Join(t.TempDir(), "signing.pem")
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600), "key file")
	env := map[string]string{"JWT_PRIVATE_KEY_FILE": path, "JWT_KEY_ID": "2026-01"}
	cfg, _, err := app.FromEnv(func(k string) string { return env[k] })
	require.NoError(t, err, "FromEnv with JWT_PRIVATE_KEY_FILE")
	require.NotNil(t, cfg.SigningKey, "the key is read")

	s := startSQLite(t, func(c *app.Config) { c.SigningKey = cfg.SigningKey })
	s.register(t, "ed@example.com", "ed")
	p := s.login(t, "ed@example.com", "password-ed")
	header, err := base64.RawURLEncoding.DecodeString(strings.Split(p.AccessToken, ".")[0])
	require.NoError(t, err, "token header")
	assert.JSONEq(t, `{"alg":"EdDSA","kid":"2026-01","typ":"at+jwt"}`, string(header), "tokens are signed with the file's key")
	s.expect(t, req{Method: "GET", Path: "/v1/users/me", Token: p.AccessToken}, 200, "")

	res, err := s.Client.Get(s.URL + "/.well-known/jwks.json")
	require.NoError(t, err, "GET the JWKS")
	var doc struct{ Keys []auth.JWK }
	require.NoError(t, json.NewDecoder(res.Body).Decode(&doc), "JWKS decodes")
	res.Body.Close()
	require.Len(t, doc.Keys, 1, "one public key")
	assert.Equal(t, "2026-01", doc.Keys[0].Kid, "kid")

	// Another service verifies the tokens from the JWKS URL.
	set, err := jwks.New(s.URL+"/.well-known/jwks.json", jwks.Options{Client: s.Client})
	require.NoError(t, err, "jwks.New")
	v, err := auth.NewVerifier(set, auth.VerifierOptions{Issuer: app.Issuer, Audience: app.Issuer})
	require.NoError(t, err, "NewVerifier")
	claims, err := v.VerifyAccess(ctx, p.AccessToken)
	require.NoError(t, err, "the service's token verifies through its own JWKS")
	assert.NotEmpty(t, claims.Subject, "sub")

	hs := startSQLite(t, nil)
	res, err = hs.Client.Get(hs.URL + "/.well-known/jwks.json")
	require.NoError(t, err, "GET the JWKS")
	res.Body.Close()
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "an HS256 service publishes no JWKS")
}

// TestSigningKeyFromEnv is the table of key settings FromEnv accepts and
// refuses.
func TestSigningKeyFromEnv(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err, "ed25519")
	key, err := auth.NewEdDSAKey("jwk-kid", priv)
	require.NoError(t, err, "key")
	privJWK, err := key.PrivateJWK()
	require.NoError(t, err, "PrivateJWK")
	pubJWK, _ := key.PublicJWK()
	pubRaw, _ := json.Marshal(pubJWK)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	var members map[string]any
	require.NoError(t, json.Unmarshal(privJWK, &members), "the JWK's members")
	delete(members, "kid")
	noKid, err := json.Marshal(members)
	require.NoError(t, err, "a JWK without kid")
	dir := t.TempDir()
	file := filepath.Join(dir, "k.pem")
	require.NoError(t, os.WriteFile(file, []byte(pemText), 0o600), "key file")
	cases := []struct {
		name string
		env  map[string]string
		kid  string // "": an error
	}{
		{"none: HS256", map[string]string{}, "-"},
		{"PEM in a file, default kid", map[string]string{"JWT_PRIVATE_KEY_FILE": file}, "k1"},
		{"PEM in the environment", map[string]string{"JWT_PRIVATE_KEY": pemText, "JWT_KEY_ID": "env"}, "env"},
		{"JWK in the environment, its own kid", map[string]string{"JWT_PRIVATE_KEY": string(privJWK)}, "jwk-kid"},
		{"JWK without kid: k1, as for PEM (issue 27)", map[string]string{"JWT_PRIVATE_KEY": string(noKid)}, "k1"},
		{"JWK without kid, JWT_KEY_ID set", map[string]string{"JWT_PRIVATE_KEY": string(noKid), "JWT_KEY_ID": "env"}, "env"},
		{"both set", map[string]string{"JWT_PRIVATE_KEY": pemText, "JWT_PRIVATE_KEY_FILE": file}, ""},
		{"a public key", map[string]string{"JWT_PRIVATE_KEY": string(pubRaw)}, ""},
		{"a missing file", map[string]string{"JWT_PRIVATE_KEY_FILE": filepath.Join(dir, "missing.pem")}, ""},
		{"garbage", map[string]string{"JWT_PRIVATE_KEY": "not a key"}, ""},
		{"JWK kid disagrees with JWT_KEY_ID", map[string]string{"JWT_PRIVATE_KEY": string(privJWK), "JWT_KEY_ID": "other"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, err := app.FromEnv(func(k string) string { return tc.env[k] })
			switch tc.kid {
			case "":
				assert.ErrorIs(t, err, app.ErrConfig, "the setting must be refused")
			case "-":
				require.NoError(t, err, "FromEnv")
				assert.Nil(t, cfg.SigningKey, "no key: HS256")
			default:
				require.NoError(t, err, "FromEnv")
				require.NotNil(t, cfg.SigningKey, "a signing key")
				assert.Equal(t, tc.kid, cfg.SigningKey.ID(), "key id")
				assert.Equal(t, auth.EdDSA, cfg.SigningKey.Alg(), "algorithm")
			}
		})
	}
}

// TestEmailIdentity: one account per address under auth.NormalizeEmail;
// a look-alike address (KELVIN SIGN) is refused, not mapped onto "kate".
func TestEmailIdentity(t *testing.T) {
	s := startSQLite(t, nil)
	body := func(email string) map[string]string {
		return map[string]string{"email": email, "password": "password-kate", "name": "Kate"}
	}
	r := s.expect(t, req{Method: "POST", Path: "/v1/auth/register", Body: body("\u212Aate@example.com")}, 400, "VALIDATION_ERROR")
	assert.Contains(t, r.Error.Details, "email", "the refusal names the field")
	s.expect(t, req{Method: "POST", Path: "/v1/auth/register", Body: body("\uFF4Bate@example.com")}, 400, "VALIDATION_ERROR")
	kate := s.register(t, "kate@example.com", "kate")
	s.expect(t, req{Method: "POST", Path: "/v1/auth/register", Body: body("KATE@Example.COM")}, 409, "CONFLICT")
	var me userView
	p := s.login(t, "Kate@EXAMPLE.com", "password-kate")
	s.expect(t, req{Method: "GET", Path: "/v1/users/me", Token: p.AccessToken}, 200, "").into(t, &me)
	assert.Equal(t, kate.ID, me.ID, "letter case names the same account")
	s.expect(t, req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": "\u212Aate@example.com", "password": "password-kate"}}, 401, "UNAUTHORIZED")
}

// TestLookAlikesAndInvisibleNames: the identifier and display-name rules
// of auth apply at registration and rename. A Cyrillic "а" beside Latin
// letters (UTS #39 mixed scripts) is refused rather than a second "kate";
// a name of only a zero-width space, or with a right-to-left override, is
// refused; a name is stored in its PRECIS Nickname form.
func TestLookAlikesAndInvisibleNames(t *testing.T) {
	s := startSQLite(t, nil)
	register := func(email, name string) map[string]string {
		return map[string]string{"email": email, "password": "password-kate", "name": name}
	}
	s.register(t, "kate@example.com", "kate")
	for _, tc := range []struct {
		name, email, display, field string
	}{
		{"Cyrillic а in kate", "k\u0430te@example.com", "Kate", "email"},
		{"Greek ο in bob", "b\u03bfb@example.com", "Bob", "email"},
		{"only a zero-width space", "zw@example.com", "\u200b", "name"},
		{"zero-width spaces and a space", "zw2@example.com", "\u200b \u200b", "name"},
		{"a right-to-left override", "rlo@example.com", "\u202eetaK", "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.expect(t, req{Method: "POST", Path: "/v1/auth/register", Body: register(tc.email, tc.display)}, 400, "VALIDATION_ERROR")
			assert.Contains(t, r.Error.Details, tc.field, "the refusal names the field")
		})
	}
	var u userView
	s.expect(t, req{Method: "POST", Path: "/v1/auth/register", Body: register("ann@example.com", "  Ann \u00a0 Lee ")}, 201, "").into(t, &u)
	assert.Equal(t, "Ann Lee", u.Name, "spaces trimmed and collapsed (PRECIS Nickname)")
	p := s.login(t, "ann@example.com", "password-kate")
	s.expect(t, req{Method: "PATCH", Path: "/v1/users/" + u.ID, Token: p.AccessToken, Body: map[string]string{"name": "\u200b"}}, 400, "VALIDATION_ERROR")
}
