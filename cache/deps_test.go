package cache_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMemoryCacheNeedsNoSQL pins issue 28's "one job per package": an
// in-memory cache (cache.NewAside over cache.NewMemory) compiles neither
// database/sql nor package txn (the after-commit invalidation is
// txn.DeleteAfterCommit), and no Redis client.
func TestMemoryCacheNeedsNoSQL(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", "github.com/svckit/svckit/cache").CombinedOutput()
	require.NoError(t, err, "go list: %s", out)
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"database/sql", "github.com/svckit/svckit/txn", "github.com/redis/go-redis"} {
			require.False(t, strings.HasPrefix(dep, banned), "cache must not compile %s (found %s)", banned, dep)
		}
	}
}
