package envelope_test

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestREADMEImportGraph keeps the README's "Imports only point down"
// sentence true: for every package it names, the svckit packages it says
// that package imports are exactly the ones it imports (svckit's internal
// packages aside).
func TestREADMEImportGraph(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err, "README")
	_, para, ok := strings.Cut(string(readme), "Imports only point down:")
	require.True(t, ok, "the README states the import graph")
	para, _, _ = strings.Cut(para, "The data layer")
	arrows := regexp.MustCompile("`([a-z/]+) → ([a-z/, ]+)`").FindAllStringSubmatch(para, -1)
	require.NotEmpty(t, arrows, "arrows in the sentence")
	for _, a := range arrows {
		pkg := a[1]
		var want []string
		for _, d := range strings.Split(a[2], ",") {
			want = append(want, strings.TrimSpace(d))
		}
		out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, "github.com/svckit/svckit/"+pkg).Output()
		require.NoError(t, err, "go list %s", pkg)
		var got []string
		for _, imp := range strings.Split(string(out), "\n") {
			if rest, ok := strings.CutPrefix(imp, "github.com/svckit/svckit/"); ok && !strings.HasPrefix(rest, "internal/") {
				got = append(got, rest)
			}
		}
		slices.Sort(want)
		slices.Sort(got)
		assert.Equal(t, want, got, "README: %s imports", pkg)
	}
	_, errkindLine, _ := strings.Cut(para, "`errkind` imports")
	assert.Contains(t, errkindLine, "only the standard library", "errkind is a leaf")
}
