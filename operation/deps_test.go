package operation_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestImportsOnlyTheHTTPLayer: the package compiles envelope and errkind
// and nothing of the data layer or of auth; it recognises
// repository.Optional by its name, not by importing repository.
func TestImportsOnlyTheHTTPLayer(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", "github.com/svckit/svckit/operation").CombinedOutput()
	require.NoError(t, err, "go list: %s", out)
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"database/sql", "svckit/repository", "svckit/auth", "svckit/middleware", "golang-jwt"} {
			require.NotContains(t, dep, banned, "operation must not compile %s", banned)
		}
	}
}
