package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/examples/api/app"
)

// TestMigrateCommand drives status, up and status again on a new SQLite
// file, as a user does before a deploy.
func TestMigrateCommand(t *testing.T) {
	env := map[string]string{"DATABASE_URL": "sqlite://" + filepath.Join(t.TempDir(), "api.db")}
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()
	run := func(args ...string) string {
		var out bytes.Buffer
		require.NoError(t, runMigrate(ctx, args, getenv, &out), "migrate %s", strings.Join(args, " "))
		return out.String()
	}

	// The service's own files, whatever migrations were added since
	// (README, "Add a resource").
	files, err := fs.Glob(app.Migrations(), "migrations/sqlite/*.sql")
	require.NoError(t, err, "the embedded migrations")
	require.GreaterOrEqual(t, len(files), 2, "001_init and 002_activity at least")
	var pending, applied strings.Builder
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".sql")
		pending.WriteString("pending  " + name + "\n")
		applied.WriteString("applied  " + name + "\n")
	}
	assert.Equal(t, pending.String(), run("status"), "a new database: the files are pending")
	up := run("up")
	assert.Contains(t, up, applied.String(), "up applies the files, in order")
	assert.Contains(t, up, "applied  auth_sqlstore_001 (a schema of svckit's stores)\n", "and the stores' schemas")
	assert.Contains(t, up, "applied  outbox_001 (a schema of svckit's stores)\n", "the outbox's too")
	assert.Contains(t, up, " applied, ", "and counts")
	status := run("status")
	assert.Contains(t, status, "applied  001_init\n", "now applied")
	assert.NotContains(t, status, "pending", "nothing pending")
	assert.Contains(t, run("up"), "0 applied, ", "a second up applies nothing")
}

// TestMigrateCreate writes the next number for every dialect, with the
// header each needs, and refuses bad names and existing files.
func TestMigrateCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "migrations")
	for _, d := range dialectDirs {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, d), 0o755), "mkdir")
		require.NoError(t, os.WriteFile(filepath.Join(dir, d, "001_init.sql"), []byte("-- init\n"), 0o644), "001")
	}
	ctx := context.Background()
	var out bytes.Buffer
	require.NoError(t, runMigrate(ctx, []string{"create", "-dir", dir, "notes"}, nil, &out), "create notes")
	for _, d := range dialectDirs {
		b, err := os.ReadFile(filepath.Join(dir, d, "002_notes.sql"))
		require.NoError(t, err, "%s/002_notes.sql written", d)
		assert.True(t, strings.HasPrefix(string(b), "-- 002_notes.sql ("), "%s: a header naming the file", d)
		assert.Contains(t, out.String(), filepath.Join(dir, d, "002_notes.sql"), "the path is printed")
	}
	mysql, err := os.ReadFile(filepath.Join(dir, "mysql", "002_notes.sql"))
	require.NoError(t, err, "mysql file")
	assert.Contains(t, string(mysql), "COLLATE=utf8mb4_bin", "the MySQL header gives the table options foreign keys need")

	require.NoError(t, runMigrate(ctx, []string{"create", "-dir", dir, "tags"}, nil, &out), "create tags")
	_, err = os.Stat(filepath.Join(dir, "sqlite", "003_tags.sql"))
	assert.NoError(t, err, "the next number")

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", nil, "usage:"},
		{"unknown subcommand", []string{"down"}, "usage:"},
		{"no name", []string{"create", "-dir", dir}, "usage:"},
		{"bad name", []string{"create", "-dir", dir, "Drop Table"}, "lower-case letters"},
		{"not a migrations directory", []string{"create", "-dir", t.TempDir(), "x"}, "not a migrations directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := runMigrate(ctx, tc.args, nil, &out)
			assert.ErrorContains(t, err, tc.want, "refused")
		})
	}
}
