package envelope_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestREADMESnippetMatchesExample keeps the README's "Compose a handler"
// snippet in sync with Example_composeHandler: every code line of the snippet
// must appear in example_test.go (comments and the final registration line
// are the README's own).
func TestREADMESnippetMatchesExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err, "the README sits at the module root")
	example, err := os.ReadFile("example_test.go")
	require.NoError(t, err)

	_, after, ok := strings.Cut(string(readme), "## Compose a handler")
	require.True(t, ok, "README has a Compose a handler section")
	_, block, ok := strings.Cut(after, "```go\n")
	require.True(t, ok, "the section holds a go code block")
	block, _, ok = strings.Cut(block, "```")
	require.True(t, ok, "the code block is closed")

	lines := 0
	for _, line := range strings.Split(block, "\n") {
		code := strings.TrimSpace(line)
		if code == "" || strings.HasPrefix(code, "//") || strings.HasPrefix(code, "http.Handle(") {
			continue
		}
		require.Contains(t, string(example), code, "README line %q is not in Example_composeHandler", code)
		lines++
	}
	require.Greater(t, lines, 15, "the snippet shows a whole handler")
}
