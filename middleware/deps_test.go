package middleware_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/middleware"
)

// The auth package's token service is a Verifier.
var _ middleware.Verifier = (*auth.Tokens)(nil)

// TestNoRedisDependency checks that importing middleware or its rate-limit
// core does not compile go-redis: only ratelimit/redisstore does.
func TestNoRedisDependency(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	for _, pkg := range []string{
		"github.com/svckit/svckit/middleware",
		"github.com/svckit/svckit/ratelimit",
	} {
		out, err := exec.Command(goTool, "list", "-deps", pkg).CombinedOutput()
		require.NoError(t, err, "go list %s: %s", pkg, out)
		for _, dep := range strings.Fields(string(out)) {
			require.NotContains(t, dep, "go-redis", "%s must not depend on go-redis", pkg)
		}
	}
}
