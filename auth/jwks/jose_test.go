package jwks_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/auth/jwks"
	"github.com/svckit/svckit/internal/testdb"
)

// joseVersion is the major version of panva's jose the cross-test installs.
const joseVersion = "6"

// joseDir returns a directory whose node_modules holds jose, installing it
// with npm the first time (into a temporary directory moved into place, so
// concurrent runs do not see half an install). Without node or npm, or
// when the install fails, the test is skipped - or fails under
// SVCKIT_REQUIRE_SERVICES=1.
func joseDir(t *testing.T) string {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		msg := "jose cross-test: " + format + " (install node and npm to run it)"
		if testdb.Required() {
			t.Fatalf(testdb.RequireEnv+"=1 but "+msg, args...)
		}
		t.Skipf(msg, args...)
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			unavailable("%s not found", tool)
		}
	}
	dir := filepath.Join(os.TempDir(), "svckit-jose-"+joseVersion)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "jose", "package.json")); err == nil {
		return dir
	}
	tmp, err := os.MkdirTemp(os.TempDir(), "svckit-jose-install-")
	require.NoError(t, err, "temporary directory for npm")
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-save", "--no-audit", "--no-fund", "--loglevel=error", "jose@"+joseVersion)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		unavailable("npm install jose@%s failed: %v\n%s", joseVersion, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "node_modules", "jose", "package.json")); serr != nil {
			t.Fatalf("move the jose install into place: %v", err)
		}
	}
	return dir
}

// runNode runs testdata/jose/<script> with node next to jose's
// node_modules, feeding input as JSON and decoding its JSON output.
func runNode(t *testing.T, dir, script string, input, output any) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "jose", script))
	require.NoError(t, err, "read the script")
	// ES modules resolve "jose" from the script's own directory.
	f, err := os.CreateTemp(dir, "svckit-*-"+script)
	require.NoError(t, err, "script file")
	defer os.Remove(f.Name())
	_, err = f.Write(src)
	require.NoError(t, err, "write the script")
	require.NoError(t, f.Close(), "close the script")
	in, err := json.Marshal(input)
	require.NoError(t, err, "marshal the input")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", f.Name())
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "node %s: %s", script, stderr.String())
	require.NoError(t, json.Unmarshal(out, output), "decode the output of %s: %s", script, out)
}

// keySources tries each source in turn: the jose issuer's JWKS, then the
// shared HS256 secret.
type keySources []auth.KeySource

func (s keySources) VerificationKey(ctx context.Context, kid string) (*auth.Key, error) {
	var errs []error
	for _, src := range s {
		k, err := src.VerificationKey(ctx, kid)
		if err == nil {
			return k, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// TestJoseInterop checks svckit against panva's jose, an implementation
// nobody here wrote: tokens jose mints - valid ones and the RFC 8725
// attack set - are accepted or refused as they should be, and tokens
// svckit mints verify in jose through svckit's JWKS.
func TestJoseInterop(t *testing.T) {
	dir := joseDir(t)
	ctx := context.Background()
	const iss, aud = "https://jose-issuer.test", "https://api.test"
	secret := []byte("0123456789abcdef0123456789abcdef")

	t.Run("jose mints, svckit verifies", func(t *testing.T) {
		var minted struct {
			JWKS   json.RawMessage   `json:"jwks"`
			Tokens map[string]string `json:"tokens"`
		}
		runNode(t, dir, "mint.mjs", map[string]string{"iss": iss, "aud": aud, "secret": base64.RawURLEncoding.EncodeToString(secret)}, &minted)

		// jose's public keys reach svckit the way a real issuer's do: as
		// a JWKS on a URL.
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(minted.JWKS)
		}))
		defer srv.Close()
		set, err := jwks.New(srv.URL, jwks.Options{})
		require.NoError(t, err, "jwks.New")
		shared, err := auth.NewHS256Key("shared", secret)
		require.NoError(t, err, "HS256 key")
		sharedSet, err := auth.NewKeySet(shared)
		require.NoError(t, err, "HS256 key set")
		v, err := auth.NewVerifier(keySources{set, sharedSet}, auth.VerifierOptions{Issuer: iss, Audience: aud})
		require.NoError(t, err, "NewVerifier")

		want := map[string]error{ // nil: accepted
			"valid EdDSA":                  nil,
			"valid ES256":                  nil,
			"valid RS256":                  nil,
			"valid HS256":                  nil,
			"valid typ application/at+jwt": nil,
			"valid typ AT+JWT":             nil,
			"alg none":                     auth.ErrInvalidToken,
			"alg none with kid and typ":    auth.ErrInvalidToken,
			"HS256 keyed with the Ed25519 public key (raw)":      auth.ErrInvalidToken,
			"HS256 keyed with the Ed25519 public key (SPKI PEM)": auth.ErrInvalidToken,
			"crit with an unknown extension":                     auth.ErrInvalidToken,
			"crit empty":                                         auth.ErrInvalidToken,
			"crit naming exp":                                    auth.ErrInvalidToken,
			"crit b64 false":                                     auth.ErrInvalidToken,
			"typ JWT":                                            auth.ErrWrongTokenType,
			"typ missing":                                        auth.ErrWrongTokenType,
			"typ rt+jwt":                                         auth.ErrWrongTokenType,
			"wrong aud":                                          auth.ErrInvalidToken,
			"wrong iss":                                          auth.ErrInvalidToken,
			"no exp":                                             auth.ErrInvalidToken,
			"expired":                                            auth.ErrExpired,
			"nbf in the future":                                  auth.ErrInvalidToken,
			"exp as a string":                                    auth.ErrInvalidToken,
			"nbf as a string":                                    auth.ErrInvalidToken,
			"iat as a string":                                    auth.ErrInvalidToken,
			"unknown kid":                                        auth.ErrInvalidToken,
			"embedded jwk, known kid":                            auth.ErrInvalidToken,
			"embedded jwk, no kid":                               auth.ErrInvalidToken,
			"jku header":                                         auth.ErrInvalidToken,
			"another key under our kid":                          auth.ErrInvalidToken,
			"ES256 token under the EdDSA kid":                    auth.ErrInvalidToken,
			"oversize":                                           auth.ErrInvalidToken,
			"no sub":                                             auth.ErrInvalidToken,
		}
		require.Len(t, minted.Tokens, len(want), "jose minted every case of the table and no other")
		for name, tok := range minted.Tokens {
			t.Run(name, func(t *testing.T) {
				wantErr, ok := want[name]
				require.True(t, ok, "no expectation for %q", name)
				claims, err := v.VerifyAccess(ctx, tok)
				if wantErr == nil {
					require.NoError(t, err, "a valid jose token must verify")
					assert.Equal(t, "alice", claims.Subject, "sub")
					assert.Equal(t, "jose-client", claims.ClientID, "client_id")
					assert.True(t, claims.HasScope("read"), "scope")
					return
				}
				require.ErrorIs(t, err, wantErr, "the token must be refused with the named error")
				if wantErr != auth.ErrExpired {
					assert.NotErrorIs(t, err, auth.ErrExpired, "only a correctly signed, expired token is ErrExpired")
				}
			})
		}
	})

	t.Run("svckit mints, jose verifies", func(t *testing.T) {
		_, edPriv, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err, "ed25519")
		esPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err, "p-256")
		ed, err := auth.NewEdDSAKey("svk-ed", edPriv)
		require.NoError(t, err, "EdDSA key")
		es, err := auth.NewES256Key("svk-es", esPriv)
		require.NoError(t, err, "ES256 key")
		published, err := auth.NewKeySet(ed, es)
		require.NoError(t, err, "published key set")
		srv := httptest.NewServer(published.JWKSHandler(nil))
		defer srv.Close()

		issue := func(k *auth.Key) auth.Pair {
			keys, err := auth.NewKeySet(k)
			require.NoError(t, err, "key set")
			tokens, err := auth.NewTokens(auth.Options{Issuer: iss, Audience: aud, Keys: keys, Store: auth.NewMemory(auth.MemoryOptions{}),
				Users: auth.UserLookupFunc(func(context.Context, string) (auth.User, error) { return auth.User{}, nil })})
			require.NoError(t, err, "NewTokens")
			p, err := tokens.Issue(ctx, auth.User{ID: "alice", Roles: []string{"user"}})
			require.NoError(t, err, "Issue")
			return p
		}
		edPair, esPair := issue(ed), issue(es)
		var verdicts map[string]struct {
			OK    bool   `json:"ok"`
			Alg   string `json:"alg"`
			Sub   string `json:"sub"`
			Error string `json:"error"`
		}
		runNode(t, dir, "verify.mjs", map[string]any{"jwksURL": srv.URL, "iss": iss, "aud": aud, "tokens": map[string]string{
			"EdDSA access": edPair.AccessToken, "ES256 access": esPair.AccessToken, "EdDSA refresh": edPair.RefreshToken,
		}}, &verdicts)
		for _, name := range []string{"EdDSA access", "ES256 access"} {
			assert.True(t, verdicts[name].OK, "jose must verify svckit's %s token through svckit's JWKS: %s", name, verdicts[name].Error)
			assert.Equal(t, "alice", verdicts[name].Sub, "sub seen by jose")
		}
		assert.Equal(t, "EdDSA", verdicts["EdDSA access"].Alg, "alg seen by jose")
		assert.Equal(t, "ES256", verdicts["ES256 access"].Alg, "alg seen by jose")
		assert.False(t, verdicts["EdDSA refresh"].OK, "jose must refuse a refresh token where an access token (typ at+jwt) is required")
	})
}
