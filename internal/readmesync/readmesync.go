// Package readmesync keeps a README's code snippet in step with the
// Example it is taken from, for the tests of the packages whose snippets
// the README shows.
package readmesync

import (
	"os"
	"strings"
	"testing"
)

// Check fails t unless every code line of the first go block after the
// heading section in the file readme appears in the file example. Blank
// lines, comments and lines for which skip (nil: none) is true are the
// README's own. It returns the number of lines it checked.
func Check(t testing.TB, readme, section, example string, skip func(line string) bool) int {
	t.Helper()
	text, err := os.ReadFile(readme)
	if err != nil {
		t.Fatalf("readmesync: %v", err)
	}
	ex, err := os.ReadFile(example)
	if err != nil {
		t.Fatalf("readmesync: %v", err)
	}
	_, after, ok := strings.Cut(string(text), section)
	if !ok {
		t.Fatalf("readmesync: %s has no section %q", readme, section)
	}
	_, block, ok := strings.Cut(after, "```go\n")
	if !ok {
		t.Fatalf("readmesync: section %q holds no go code block", section)
	}
	block, _, ok = strings.Cut(block, "```")
	if !ok {
		t.Fatalf("readmesync: the code block of %q is not closed", section)
	}
	lines := 0
	for _, line := range strings.Split(block, "\n") {
		code := strings.TrimSpace(line)
		if code == "" || strings.HasPrefix(code, "//") || skip != nil && skip(code) {
			continue
		}
		if !strings.Contains(string(ex), code) {
			t.Errorf("README line %q is not in %s", code, example)
		}
		lines++
	}
	return lines
}
