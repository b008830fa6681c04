package operation_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/internal/readmesync"
)

// TestREADMESnippetMatchesExample keeps the README's "Declare an
// operation" snippet in sync with Example: every code line of the snippet
// appears in example_test.go (comments are the README's own).
func TestREADMESnippetMatchesExample(t *testing.T) {
	lines := readmesync.Check(t, "../README.md", "## Declare an operation", "example_test.go", nil)
	require.Greater(t, lines, 15, "the snippet shows a whole operation")
}
