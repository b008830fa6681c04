package envelope_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/internal/readmesync"
)

// TestREADMESnippetMatchesExample keeps the README's "Compose a handler"
// snippet in sync with Example_composeHandler: every code line of the snippet
// must appear in example_test.go (comments and the final registration line
// are the README's own).
func TestREADMESnippetMatchesExample(t *testing.T) {
	lines := readmesync.Check(t, "../README.md", "## Compose a handler", "example_test.go", func(line string) bool {
		return strings.HasPrefix(line, "http.Handle(")
	})
	require.Greater(t, lines, 15, "the snippet shows a whole handler")
}
