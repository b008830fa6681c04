package middleware_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// deps returns what go list -deps reports for pkg: its packages, and the
// modules they come from.
func deps(t *testing.T, pkg string) (pkgs, modules []string) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}} {{with .Module}}{{.Path}}{{end}}", pkg).CombinedOutput()
	require.NoError(t, err, "go list %s: %s", pkg, out)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		p, m, _ := strings.Cut(line, " ")
		pkgs = append(pkgs, p)
		if m != "" {
			modules = append(modules, m)
		}
	}
	return pkgs, modules
}

// TestNoRedisDependency checks that importing middleware or its rate-limit
// core does not compile go-redis: only ratelimit/redisstore does.
func TestNoRedisDependency(t *testing.T) {
	for _, pkg := range []string{
		"github.com/svckit/svckit/middleware",
		"github.com/svckit/svckit/ratelimit",
	} {
		_, modules := deps(t, pkg)
		require.NotContains(t, modules, "github.com/redis/go-redis/v9", "%s must not depend on go-redis", pkg)
	}
}

// TestNoJWTOrCryptoModule pins issue 28's "one job per package": importing
// middleware for RequestID, Recover or Logger compiles no JWT library, no
// golang.org/x/crypto (argon2, bcrypt) and not package auth. The bearer-token
// middleware lives in auth (auth.Bearer), and KeyByUser reads the subject
// auth put in the request's state without importing it.
func TestNoJWTOrCryptoModule(t *testing.T) {
	pkgs, modules := deps(t, "github.com/svckit/svckit/middleware")
	for _, m := range []string{"github.com/golang-jwt/jwt/v5", "golang.org/x/crypto"} {
		require.NotContains(t, modules, m, "middleware must not compile module %s", m)
	}
	for _, p := range pkgs {
		require.False(t, strings.HasPrefix(p, "github.com/svckit/svckit/auth"), "middleware must not compile %s", p)
	}
}
