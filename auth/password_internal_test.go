package auth

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzDecodePHC feeds arbitrary strings to the PHC parser: it must never
// panic, every accepted hash must lie within the bounds, and re-encoding an
// accepted hash must give it back unchanged (the parser is strict).
func FuzzDecodePHC(f *testing.F) {
	for _, seed := range []string{
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U",
		"$argon2id$v=19$m=0,t=0,p=0$$", "$argon2id$v=19$m=4294967295,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5aw", "", "$$$$$",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := decodePHC(s)
		if err != nil {
			return
		}
		if p.Time < 1 || p.Time > MaxArgon2Time || p.Threads < 1 || p.Threads > MaxArgon2Thread ||
			p.Memory > MaxArgon2Memory || uint64(p.Memory)*uint64(p.Time) > MaxArgon2Cost {
			t.Fatalf("decodePHC(%q) accepted out-of-bounds parameters %+v", s, p)
		}
		if got := encodePHC(p, salt, key); got != s {
			t.Fatalf("decodePHC(%q) is not strict: re-encodes as %q", s, got)
		}
	})
}

func TestPHCRoundTrip(t *testing.T) {
	cases := []Argon2Params{
		DefaultArgon2Params(),
		{Memory: 8, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 16},
		{Memory: MaxArgon2Memory, Time: 4, Threads: MaxArgon2Thread, SaltLen: 64, KeyLen: 128},
	}
	for _, p := range cases {
		salt, key := make([]byte, p.SaltLen), make([]byte, p.KeyLen)
		for i := range salt {
			salt[i] = byte(i)
		}
		enc := encodePHC(p, salt, key)
		got, gotSalt, gotKey, err := decodePHC(enc)
		require.NoError(t, err, "decodePHC must read what encodePHC wrote: %s", enc)
		assert.Equal(t, p, got, "parameters survive the round trip")
		assert.Equal(t, salt, gotSalt, "salt survives the round trip")
		assert.Equal(t, key, gotKey, "key survives the round trip")
	}
}

func TestWeaker(t *testing.T) {
	cur := DefaultArgon2Params()
	for _, tc := range []struct {
		edit func(*Argon2Params)
		want bool
	}{
		{func(*Argon2Params) {}, false},
		{func(p *Argon2Params) { p.Memory-- }, true},
		{func(p *Argon2Params) { p.Time-- }, true},
		{func(p *Argon2Params) { p.SaltLen-- }, true},
		{func(p *Argon2Params) { p.KeyLen-- }, true},
		{func(p *Argon2Params) { p.Memory *= 2 }, false},
	} {
		p := cur
		tc.edit(&p)
		assert.Equal(t, tc.want, weaker(p, cur), "weaker(%+v, defaults)", p)
	}
}
