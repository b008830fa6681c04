package auth_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/svckit/svckit/auth"
)

// cheap keeps argon2 fast under -race; one test uses the defaults.
func cheap() *auth.Hasher {
	return &auth.Hasher{Params: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}}
}

func TestHashDefaults(t *testing.T) {
	ctx := context.Background()
	var h auth.Hasher
	enc, err := h.Hash(ctx, "correct horse battery staple")
	require.NoError(t, err, "Hash with the zero Hasher")
	assert.True(t, strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$"), "defaults m=19 MiB, t=2, p=1: %s", enc)
	phcShape := regexp.MustCompile(`^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$`)
	assert.Regexp(t, phcShape, enc, "a PHC string with unpadded base64")
	parts := strings.Split(enc, "$")
	assert.Len(t, parts[4], 22, "a 16-byte salt is 22 base64 characters")
	assert.Len(t, parts[5], 43, "a 32-byte key is 43 base64 characters")
	rehash, err := h.Verify(ctx, "correct horse battery staple", enc)
	require.NoError(t, err, "the password must verify")
	assert.False(t, rehash, "a hash with the current parameters needs no rehash")
	assert.False(t, h.NeedsRehash(enc), "NeedsRehash agrees with Verify")
}

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h := cheap()
	enc, err := h.Hash(ctx, "s3cret")
	require.NoError(t, err, "Hash")
	other, err := h.Hash(ctx, "s3cret")
	require.NoError(t, err, "Hash")
	assert.NotEqual(t, enc, other, "two hashes of one password differ by salt")

	cases := []struct {
		name     string
		password string
		err      error
	}{
		{"right", "s3cret", nil},
		{"wrong", "s3creT", auth.ErrPasswordMismatch},
		{"empty", "", auth.ErrPasswordMismatch},
		{"prefix", "s3cre", auth.ErrPasswordMismatch},
		{"too long", strings.Repeat("a", auth.MaxPasswordLen+1), auth.ErrPasswordTooLong},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.Verify(ctx, tc.password, enc)
			if tc.err == nil {
				assert.NoError(t, err, "the right password must verify")
				return
			}
			assert.ErrorIs(t, err, tc.err, "Verify must fail")
			assert.ErrorIs(t, err, auth.ErrPasswordMismatch, "every rejection is a mismatch to the caller")
		})
	}
	_, err = h.Hash(ctx, strings.Repeat("a", auth.MaxPasswordLen+1))
	assert.ErrorIs(t, err, auth.ErrPasswordTooLong, "Hash refuses an over-long password")
}

func TestRehash(t *testing.T) {
	ctx := context.Background()
	weak := &auth.Hasher{Params: auth.Argon2Params{Memory: 32, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 16}}
	enc, err := weak.Hash(ctx, "pw")
	require.NoError(t, err, "Hash")
	strong := cheap()
	for name, h := range map[string]*auth.Hasher{"weaker": weak, "stronger": strong} {
		t.Run(name, func(t *testing.T) {
			rehash, err := h.Verify(ctx, "pw", enc)
			require.NoError(t, err, "Verify")
			assert.Equal(t, h == strong, rehash, "rehash only when the stored parameters are weaker")
			assert.Equal(t, h == strong, h.NeedsRehash(enc), "NeedsRehash agrees")
		})
	}
	assert.True(t, strong.NeedsRehash("garbage"), "an unreadable hash needs replacing")
}

func TestBcrypt(t *testing.T) {
	ctx := context.Background()
	h := cheap()
	pw := strings.Repeat("x", 72)
	raw, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	require.NoError(t, err, "bcrypt hash")
	enc := string(raw)
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		t.Run(prefix, func(t *testing.T) {
			enc := prefix + enc[4:]
			rehash, err := h.Verify(ctx, pw, enc)
			require.NoError(t, err, "a %s hash must verify", prefix)
			assert.True(t, rehash, "a bcrypt hash always needs a rehash to argon2id")
			assert.True(t, h.NeedsRehash(enc), "NeedsRehash agrees")
			_, err = h.Verify(ctx, pw[:71]+"y", enc)
			assert.ErrorIs(t, err, auth.ErrPasswordMismatch, "a wrong password")
			_, err = h.Verify(ctx, pw+"extra", enc)
			assert.ErrorIs(t, err, auth.ErrPasswordTooLong, "bcrypt would truncate: over 72 bytes must be refused")
			assert.ErrorIs(t, err, auth.ErrPasswordMismatch, "and it is a failed login")
		})
	}
}

func TestHostileHashes(t *testing.T) {
	ctx := context.Background()
	h := cheap()
	salt, key := "c2FsdHNhbHRzYWx0c2FsdA", "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	phc := func(params string) string { return "$argon2id$v=19$" + params + "$" + salt + "$" + key }
	cost15, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	require.NoError(t, err, "bcrypt hash")
	cases := map[string]string{
		"empty":             "",
		"t=0":               phc("m=64,t=0,p=1"),
		"p=0":               phc("m=64,t=1,p=0"),
		"m=0":               phc("m=0,t=1,p=1"),
		"huge m":            phc("m=4294967295,t=1,p=1"),
		"m over bound":      phc("m=262145,t=1,p=1"),
		"huge t":            phc("m=64,t=4294967295,p=1"),
		"m*t over bound":    phc("m=262144,t=16,p=1"),
		"huge p":            phc("m=8192,t=1,p=255"),
		"overflow":          phc("m=99999999999999999999,t=1,p=1"),
		"negative":          phc("m=-1,t=1,p=1"),
		"leading zero":      phc("m=064,t=1,p=1"),
		"order":             phc("t=1,m=64,p=1"),
		"extra field":       phc("m=64,t=1,p=1,k=2"),
		"argon2i":           strings.Replace(phc("m=64,t=1,p=1"), "argon2id", "argon2i", 1),
		"version 16":        strings.Replace(phc("m=64,t=1,p=1"), "v=19", "v=16", 1),
		"padded salt":       "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key,
		"short salt":        "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + key,
		"short key":         "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$a2V5",
		"bad base64":        "$argon2id$v=19$m=64,t=1,p=1$!!!!$" + key,
		"missing part":      "$argon2id$v=19$m=64,t=1,p=1$" + salt,
		"bcrypt cost 15":    "$2a$15$" + string(cost15[7:]),
		"bcrypt cost 31":    "$2b$31$" + string(cost15[7:]),
		"bcrypt truncated":  "$2a$04$abc",
		"bcrypt bad prefix": "$2x$04$" + string(cost15[7:]),
		"long":              phc("m=64,t=1,p=1") + strings.Repeat("A", 1000),
	}
	for name, enc := range cases {
		t.Run(name, func(t *testing.T) {
			require.NotPanics(t, func() {
				_, err := h.Verify(ctx, "pw", enc)
				assert.ErrorIs(t, err, auth.ErrUnsupportedHash, "a hostile hash must be refused before any hashing")
				assert.False(t, errors.Is(err, auth.ErrPasswordMismatch), "a bad hash is a server fault, not a failed login")
			}, "Verify must never panic on a stored hash")
		})
	}
}

// TestHashClampsParams: Params outside the bounds Verify enforces are
// clamped into them, so Hash never writes a hash Verify would refuse.
func TestHashClampsParams(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		p    auth.Argon2Params
		want string // the parameter section of the PHC string
	}{
		{"memory below 8 KiB per thread", auth.Argon2Params{Memory: 4, Time: 1, Threads: 2}, "m=16,t=1,p=2"},
		{"memory over the bound", auth.Argon2Params{Memory: auth.MaxArgon2Memory + 1, Time: 1, Threads: 1}, fmt.Sprintf("m=%d,t=1,p=1", auth.MaxArgon2Memory)},
		{"too many threads", auth.Argon2Params{Memory: 1024, Time: 1, Threads: auth.MaxArgon2Thread + 1}, fmt.Sprintf("m=1024,t=1,p=%d", auth.MaxArgon2Thread)},
		{"too many passes", auth.Argon2Params{Memory: 64, Time: auth.MaxArgon2Time + 1, Threads: 1}, fmt.Sprintf("m=64,t=%d,p=1", auth.MaxArgon2Time)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &auth.Hasher{Params: tt.p}
			hash, err := h.Hash(ctx, "pw")
			require.NoError(t, err, "Hash accepts every Params")
			assert.Equal(t, tt.want, strings.Split(hash, "$")[3], "clamped parameters")
			_, err = h.Verify(ctx, "pw", hash)
			assert.NoError(t, err, "and Verify accepts what Hash wrote")
		})
	}
	for _, p := range []auth.Argon2Params{{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 8}, {Memory: 64, Time: 1, Threads: 1, SaltLen: 200, KeyLen: 400}} {
		h := &auth.Hasher{Params: p}
		hash, err := h.Hash(ctx, "pw")
		require.NoError(t, err, "Hash with salt %d and key %d bytes", p.SaltLen, p.KeyLen)
		_, err = h.Verify(ctx, "pw", hash)
		assert.NoError(t, err, "salt and key lengths are clamped into what Verify accepts")
	}
}

func TestVerifyDummy(t *testing.T) {
	ctx := context.Background()
	h := cheap()
	assert.ErrorIs(t, h.VerifyDummy(ctx, "anything"), auth.ErrPasswordMismatch, "the dummy verify always fails")
	assert.ErrorIs(t, h.VerifyDummy(ctx, strings.Repeat("a", 5000)), auth.ErrPasswordMismatch, "also for long input")
}

func TestHashRandFailure(t *testing.T) {
	ctx := context.Background()
	h := cheap()
	h.Rand = iotest.ErrReader(errors.New("no entropy"))
	_, err := h.Hash(ctx, "pw")
	assert.Error(t, err, "a failing salt source must fail the hash")
}
