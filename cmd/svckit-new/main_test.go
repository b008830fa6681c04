package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewPath(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"github.com/svckit/svckit/examples/api", "example.com/mysvc", true},
		{"github.com/svckit/svckit/examples/api/app", "example.com/mysvc/app", true},
		{"github.com/svckit/svckit/internal/testdb", "example.com/mysvc/internal/testdb", true},
		{"github.com/svckit/svckit/examples/apix", "", false},
		{"github.com/svckit/svckit/envelope", "", false},
		{"github.com/svckit/svckit/examples/minimal", "", false},
	}
	for _, tt := range tests {
		got, ok := newPath(tt.in, "example.com/mysvc")
		assert.Equal(t, tt.ok, ok, "%s rewritten", tt.in)
		assert.Equal(t, tt.want, got, "%s becomes", tt.in)
	}
}

func TestCreateRefuses(t *testing.T) {
	full := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(full, "x"), nil, 0o644), "a file in the way")
	tests := []struct {
		name string
		o    options
	}{
		{"not a module path", options{module: "Not A Path", dir: t.TempDir(), from: "../.."}},
		{"svckit's own path", options{module: "github.com/svckit/svckit/mine", dir: t.TempDir(), from: "../.."}},
		{"directory not empty", options{module: "example.com/x", dir: full, from: "../.."}},
		{"not a svckit tree", options{module: "example.com/x", dir: filepath.Join(t.TempDir(), "x"), from: t.TempDir()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Error(t, create(tt.o), "refused")
		})
	}
}

// TestNewServiceBuildsAndPasses makes a service from this tree under a new
// module path and proves the copy stands on its own: no file names the
// template's or svckit's internal paths, and it builds, vets and passes its
// own tests (on SQLite: the database URLs are not passed on).
func TestNewServiceBuildsAndPasses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a whole copy of the example")
	}
	dir := filepath.Join(t.TempDir(), "mysvc")
	require.NoError(t, create(options{module: "example.com/mysvc", dir: dir, from: "../..", tidy: true}), "create")

	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	require.NoError(t, err, "go.mod")
	assert.Contains(t, string(gomod), "module example.com/mysvc\n", "the new module path")
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "go.sum") || strings.HasSuffix(p, "go.mod") {
			return err
		}
		b, err := os.ReadFile(p)
		require.NoError(t, err, "read %s", p)
		assert.NotContains(t, string(b), "svckit/svckit/examples", "%s names the template's path", p)
		assert.NotContains(t, string(b), "svckit/svckit/internal", "%s names svckit's internal packages", p)
		assert.NotContains(t, string(b), "./examples/api", "%s has a command of the template", p)
		return nil
	}), "walk the copy")

	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SVCKIT_") {
			env = append(env, kv)
		}
	}
	for _, args := range [][]string{{"build", "./..."}, {"vet", "./..."}, {"test", "-count=1", "./..."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %s in the copy:\n%s", strings.Join(args, " "), out)
	}
}

// TestREADMEMinimalSize keeps the README's "one file of about N lines" of
// examples/minimal, which -minimal copies, within a tenth of the file.
func TestREADMEMinimalSize(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err, "README.md")
	m := regexp.MustCompile(`examples/minimal\)[^\n]*\n?[^\n]*one file of about (\d+) lines`).FindSubmatch(readme)
	require.NotNil(t, m, "the README gives the size of examples/minimal")
	said, err := strconv.Atoi(string(m[1]))
	require.NoError(t, err, "a number of lines")
	src, err := os.ReadFile("../../examples/minimal/main.go")
	require.NoError(t, err, "examples/minimal/main.go")
	lines := bytes.Count(src, []byte("\n"))
	assert.InDelta(t, lines, said, float64(lines)/10, "the README says about %d lines; main.go has %d", said, lines)
}
