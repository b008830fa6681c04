package keyhash_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/svckit/svckit/internal/keyhash"
)

func TestSum(t *testing.T) {
	for _, key := range []string{"", "kate@example.com", "{x}kate@example.com", strings.Repeat("a", 1<<20)} {
		s := keyhash.Sum(key)
		assert.Len(t, s, keyhash.SumLen, "fixed size for %.20q", key)
		assert.NotContains(t, s, "{", "no hash tag")
		assert.NotContains(t, s, "}", "no hash tag")
		assert.Equal(t, s, keyhash.Sum(key), "deterministic")
	}
	assert.NotEqual(t, keyhash.Sum("a"), keyhash.Sum("b"), "different keys, different digests")
}

func TestBound(t *testing.T) {
	for _, tc := range []struct {
		key  string
		max  int
		want string
	}{
		{"short", 64, "short"},
		{strings.Repeat("x", 64), 64, strings.Repeat("x", 64)},
		{strings.Repeat("x", 65), 64, "#" + keyhash.Sum(strings.Repeat("x", 65))},
	} {
		got := keyhash.Bound(tc.key, tc.max)
		assert.Equal(t, tc.want, got, "Bound(%d bytes, %d)", len(tc.key), tc.max)
		assert.Equal(t, got, keyhash.Bound(got, tc.max), "idempotent")
	}
}

func FuzzSum(f *testing.F) {
	f.Add("kate@example.com")
	f.Add("{x}")
	f.Fuzz(func(t *testing.T, key string) {
		s := keyhash.Sum(key)
		if len(s) != keyhash.SumLen || strings.ContainsAny(s, "{}") {
			t.Fatalf("Sum(%q) = %q", key, s)
		}
	})
}
