package auth_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/internal/telemetry/telemetrytest"
)

func TestTokensTelemetry(t *testing.T) {
	sdk := telemetrytest.New(t)
	var logs bytes.Buffer
	f := newFixture(t, hsKey(t, "k1"), func(o *auth.Options) {
		o.MeterProvider = sdk.Meters
		o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	ctx := context.Background()
	alice := auth.User{ID: "alice", Email: "alice@example.com", Roles: []string{"user"}}

	p, err := f.Issue(ctx, alice)
	require.NoError(t, err, "issue")
	_, err = f.VerifyAccess(ctx, p.AccessToken)
	require.NoError(t, err, "verify")
	_, err = f.VerifyAccess(ctx, p.RefreshToken)
	require.ErrorIs(t, err, auth.ErrWrongTokenType, "a refresh token is not an access token")
	_, err = f.VerifyAccess(ctx, p.AccessToken[:len(p.AccessToken)-4]+"AAAA")
	require.ErrorIs(t, err, auth.ErrInvalidToken, "tampered signature")
	_, err = f.VerifyAccess(ctx, "not a token")
	require.ErrorIs(t, err, auth.ErrInvalidToken, "garbage")

	p2, err := f.Refresh(ctx, p.RefreshToken)
	require.NoError(t, err, "refresh")
	_, err = f.Refresh(ctx, p.RefreshToken)
	require.ErrorIs(t, err, auth.ErrTokenReused, "reuse of a used token")
	_, err = f.Refresh(ctx, p2.RefreshToken)
	require.ErrorIs(t, err, auth.ErrRevoked, "the family was revoked by the reuse")
	_, err = f.Refresh(ctx, "junk")
	require.ErrorIs(t, err, auth.ErrInvalidToken, "junk refresh")
	f.clock.Advance(16 * time.Minute)
	_, err = f.VerifyAccess(ctx, p2.AccessToken)
	require.ErrorIs(t, err, auth.ErrExpired, "expired")

	assert.Equal(t, map[string]int64{
		"svckit.auth.tokens.issued{reason=login}":                                  1,
		"svckit.auth.tokens.issued{reason=refresh}":                                1,
		"svckit.auth.tokens.verifications{result=ok,token_type=access}":            1,
		"svckit.auth.tokens.verifications{result=wrong_type,token_type=access}":    1,
		"svckit.auth.tokens.verifications{result=bad_signature,token_type=access}": 1,
		"svckit.auth.tokens.verifications{result=invalid,token_type=access}":       1,
		"svckit.auth.tokens.verifications{result=expired,token_type=access}":       1,
		"svckit.auth.tokens.verifications{result=ok,token_type=refresh}":           3,
		"svckit.auth.tokens.verifications{result=invalid,token_type=refresh}":      1,
		"svckit.auth.refreshes{result=ok}":                                         1,
		"svckit.auth.refreshes{result=reused}":                                     1,
		"svckit.auth.refreshes{result=revoked}":                                    1,
		"svckit.auth.refreshes{result=rejected}":                                   1,
		"svckit.auth.refresh.reuse_detected":                                       1,
	}, sdk.Sums(t), "every outcome under its reason, never a subject or token")

	var rec map[string]any
	lines := bytes.Split(bytes.TrimSpace(logs.Bytes()), []byte("\n"))
	require.Len(t, lines, 1, "one record: the reuse")
	require.NoError(t, json.Unmarshal(lines[0], &rec), "JSON record")
	assert.Equal(t, "WARN", rec["level"], "a security event is a warning")
	assert.Equal(t, "alice", rec["subject"], "the subject")
	rc, err := f.VerifyRefresh(ctx, p.RefreshToken)
	require.NoError(t, err, "read the family")
	sum := sha256.Sum256([]byte(rc.Family))
	assert.Equal(t, hex.EncodeToString(sum[:8]), rec["family"], "a hash of the family, not the id")
	assert.NotContains(t, logs.String(), rc.Family, "the family id itself is not logged")
}

// TestVerifierTelemetry: a Verifier of another issuer's tokens counts its
// verifications on its own MeterProvider, as the one a Tokens embeds does.
func TestVerifierTelemetry(t *testing.T) {
	sdk := telemetrytest.New(t)
	ctx := context.Background()
	f := newFixture(t, hsKey(t, "k1"), nil)
	p, err := f.Issue(ctx, auth.User{ID: "alice"})
	require.NoError(t, err, "issue")
	v, err := auth.NewVerifier(f.keys, auth.VerifierOptions{Issuer: issuer, Audience: audience, Now: f.clock.Now, MeterProvider: sdk.Meters})
	require.NoError(t, err, "NewVerifier")
	_, err = v.VerifyAccess(ctx, p.AccessToken)
	require.NoError(t, err, "verify")
	_, err = v.VerifyAccess(ctx, p.AccessToken)
	require.NoError(t, err, "verify again, from the cache")
	_, err = v.VerifyAccess(ctx, p.RefreshToken)
	require.ErrorIs(t, err, auth.ErrWrongTokenType, "wrong type")
	assert.Equal(t, map[string]int64{
		"svckit.auth.tokens.verifications{result=ok,token_type=access}":         2,
		"svckit.auth.tokens.verifications{result=wrong_type,token_type=access}": 1,
	}, sdk.Sums(t), "every verification counted, cache hits too")
}

// TestVerifyAccessTelemetryAllocs: counting a verification allocates
// nothing, with or without a provider.
func TestVerifyAccessTelemetryAllocs(t *testing.T) {
	sdk := telemetrytest.New(t)
	ctx := context.Background()
	measure := func(edit func(*auth.Options)) float64 {
		f := newFixture(t, hsKey(t, "k1"), edit)
		p, err := f.Issue(ctx, auth.User{ID: "alice", Email: "alice@example.com"})
		require.NoError(t, err, "issue")
		return testing.AllocsPerRun(500, func() { _, _ = f.VerifyAccess(ctx, p.AccessToken) })
	}
	off := measure(nil)
	on := measure(func(o *auth.Options) { o.MeterProvider = sdk.Meters })
	t.Logf("allocs per VerifyAccess: no provider %v, SDK %v", off, on)
	assert.Equal(t, off, on, "recording a verification adds no allocation")
}

func TestPasswordTelemetry(t *testing.T) {
	sdk := telemetrytest.New(t)
	ctx := context.Background()
	weak := &auth.Hasher{Params: auth.Argon2Params{Memory: 32, Time: 1, Threads: 1}}
	h := &auth.Hasher{Params: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}, MeterProvider: sdk.Meters}
	old, err := weak.Hash(ctx, "password-1")
	require.NoError(t, err, "old hash")
	cur, err := h.Hash(ctx, "password-1")
	require.NoError(t, err, "current hash")

	rehash, err := h.Verify(ctx, "password-1", old)
	require.NoError(t, err, "old hash matches")
	assert.True(t, rehash, "and is weaker")
	_, err = h.Verify(ctx, "password-1", cur)
	require.NoError(t, err, "current hash matches")
	_, err = h.Verify(ctx, "wrong", cur)
	require.ErrorIs(t, err, auth.ErrPasswordMismatch, "mismatch")
	_, err = h.Verify(ctx, "password-1", "$unknown$hash")
	require.Error(t, err, "unsupported")

	assert.Equal(t, map[string]int64{
		"svckit.auth.password.verifications{result=rehash}":   1,
		"svckit.auth.password.verifications{result=match}":    1,
		"svckit.auth.password.verifications{result=mismatch}": 1,
		"svckit.auth.password.verifications{result=error}":    1,
	}, sdk.Sums(t), "rehash-on-login counted apart from plain matches")
}
