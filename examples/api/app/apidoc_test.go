package app_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAPIContractFile checks that the contract users copy lives beside the
// example and lists every route the service serves, and that the README's
// links to files of the example lead somewhere.
func TestAPIContractFile(t *testing.T) {
	api, err := os.ReadFile("../API.md")
	require.NoError(t, err, "API.md lives beside the example")
	routes, err := os.ReadFile("routes.go")
	require.NoError(t, err, "routes.go")
	patterns := regexp.MustCompile(`(?:v1|mux\.Handle)\("([A-Z]+ /[^"]*)"`).FindAllSubmatch(routes, -1)
	require.NotEmpty(t, patterns, "routes.go registers routes")
	for _, p := range patterns {
		assert.Contains(t, string(api), "`"+string(p[1]), "API.md lists %s", p[1])
	}
	for _, rule := range []string{"Idempotent-Replayed", "details.param", "details.field", "REGISTER_QUIET", "{id, name}", "nosniff"} {
		assert.Contains(t, string(api), rule, "API.md states the rule about %s", rule)
	}

	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err, "README.md")
	for _, m := range regexp.MustCompile(`\]\(([A-Za-z0-9_./-]+)(?:#[^)]*)?\)`).FindAllSubmatch(readme, -1) {
		target := string(m[1])
		if strings.Contains(target, "://") {
			continue
		}
		_, err := os.Stat("../" + target)
		assert.NoError(t, err, "README links to %s, which exists", target)
	}
	for _, m := range regexp.MustCompile("\\| `(app/[a-z_]+\\.go)`").FindAllSubmatch(readme, -1) {
		_, err := os.Stat("../" + string(m[1]))
		assert.NoError(t, err, "the layout table lists %s, which exists", m[1])
	}
}
