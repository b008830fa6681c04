package main

import (
	"bytes"
	"database/sql"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/internal/testdb"
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
		got, ok := newPath(tt.in, "example.com/mysvc", apiTemplate)
		assert.Equal(t, tt.ok, ok, "%s rewritten", tt.in)
		assert.Equal(t, tt.want, got, "%s becomes", tt.in)
	}
}

func TestServiceName(t *testing.T) {
	for _, tt := range []struct{ module, want string }{
		{"example.com/mysvc", "mysvc"},
		{"example.com/team/orders-api", "orders-api"},
		{"example.com/team/Orders_API", "orders-api"},
		{"example.com/billing/v2", "billing"},
		{"mysvc", "mysvc"},
		{"example.com/2024", ""},
	} {
		assert.Equal(t, tt.want, serviceName(tt.module), "the service name of %s", tt.module)
	}
}

func TestCreateRefuses(t *testing.T) {
	full := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(full, "x"), nil, 0o644), "a file in the way")
	tests := []struct {
		name string
		o    options
		want string
	}{
		{"not a module path", options{module: "Not A Path", dir: t.TempDir(), from: "../.."}, "not a module path"},
		{"svckit's own path", options{module: "github.com/svckit/svckit/mine", dir: t.TempDir(), from: "../.."}, "not a module path"},
		{"no service name", options{module: "example.com/2024", dir: t.TempDir(), from: "../.."}, "no service name"},
		{"directory not empty", options{module: "example.com/x", dir: full, from: "../.."}, "not empty"},
		{"not a svckit tree", options{module: "example.com/x", dir: filepath.Join(t.TempDir(), "x"), from: t.TempDir()}, "not a svckit checkout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.ErrorContains(t, create(tt.o), tt.want, "refused")
		})
	}
}

// TestDownloadShowsGoError: when the go command cannot fetch svckit (here
// the module proxy is off; for a user, no release is published yet), the
// error holds Go's own reason and the command that works from a clone.
func TestDownloadShowsGoError(t *testing.T) {
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOFLAGS", "-mod=mod")
	err := create(options{module: "example.com/mysvc", dir: filepath.Join(t.TempDir(), "mysvc"), version: "v0.0.1"})
	require.Error(t, err, "nothing to download")
	assert.ErrorContains(t, err, "GOPROXY=off", "Go's own reason is shown")
	assert.ErrorContains(t, err, "go run ./cmd/svckit-new example.com/mysvc", "and what to run from a clone")
}

// TestCreateFromTheCheckoutItRunsIn: without -from, the checkout the
// command runs in is the template, and go.mod points at it by a relative
// path.
func TestCreateFromTheCheckoutItRunsIn(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mysvc")
	require.NoError(t, create(options{module: "example.com/mysvc", dir: dir}), "create, without -from or -tidy")
	rel := replaced(t, dir)
	root, err := filepath.Abs("../..")
	require.NoError(t, err, "the checkout")
	assert.Equal(t, root, filepath.Join(dir, rel), "the replace leads to this checkout")
}

// replaced returns the path go.mod in dir replaces svckit with, which must
// be relative.
func replaced(t *testing.T, dir string) string {
	t.Helper()
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	require.NoError(t, err, "go.mod")
	m := regexp.MustCompile(`(?m)^replace github\.com/svckit/svckit => (\S+)$`).FindSubmatch(gomod)
	require.NotNil(t, m, "go.mod replaces svckit:\n%s", gomod)
	require.False(t, filepath.IsAbs(string(m[1])), "the replace is relative, never absolute: %s", m[1])
	return string(m[1])
}

func TestSetIdentity(t *testing.T) {
	src, err := os.ReadFile("../../examples/api/app/identity.go")
	require.NoError(t, err, "the template's identity")
	file := filepath.Join(t.TempDir(), "identity.go")
	require.NoError(t, os.WriteFile(file, src, 0o644), "copy")
	require.NoError(t, setIdentity(file, "orders"), "setIdentity")
	got, err := os.ReadFile(file)
	require.NoError(t, err, "read")
	for _, want := range []string{`ServiceName = "orders"`, `DefaultRedisPrefix = "orders:"`, `DefaultSQLiteFile = "orders.db"`, `cursorKeyLabel = "orders cursor key"`} {
		assert.Regexp(t, regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(want), " ", `\s+`)), string(got), "identity.go sets %s", want)
	}
	assert.NotContains(t, string(got), "svckit-example", "nothing of the example's identity is left")

	require.NoError(t, os.WriteFile(file, []byte("package app\n\nconst ServiceName = \"x\"\n"), 0o644), "a template without the rest")
	assert.ErrorContains(t, setIdentity(file, "orders"), "DefaultRedisPrefix", "a missing constant is named")
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

// TestNewService makes a service from this checkout under a new module
// path, checks that it stands on its own (its own identity, a relative
// replace, no path or test infrastructure of svckit's), and runs the
// copy's go vet and go test: on SQLite, and its migration and contract
// tests on PostgreSQL and MySQL/MariaDB when their URLs are set. On
// MariaDB the migrations also run on a database created with the server's
// default collation.
func TestNewService(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a whole service")
	}
	dir := filepath.Join(t.TempDir(), "mysvc")
	require.NoError(t, create(options{module: "example.com/mysvc", dir: dir, from: "../..", tidy: true}), "create")

	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	require.NoError(t, err, "go.mod")
	assert.Contains(t, string(gomod), "module example.com/mysvc\n", "the new module path")
	assert.NotContains(t, string(gomod), "porcupine", "no requirement of svckit's test infrastructure")
	replaced(t, dir)
	for name := range apiTemplate.skip {
		assert.NoFileExists(t, filepath.Join(dir, "app", name), "%s is svckit's, not copied", name)
	}
	_, err = os.Stat(filepath.Join(dir, ".env.example"))
	assert.NoError(t, err, ".env.example is copied")
	// The code names nothing of the template's (the README still tells of
	// svckit's own tests, which the copy does not have).
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") && d.Name() != "go.mod" && d.Name() != ".env.example" {
			return err
		}
		b, err := os.ReadFile(p)
		require.NoError(t, err, "read %s", p)
		for _, no := range []string{"svckit/svckit/examples", "svckit/svckit/internal", "./examples/api", "svckit-example", "internal/faultproxy", "porcupine"} {
			if bytes.Contains(b, []byte(no)) {
				t.Errorf("%s holds %q", p, no)
			}
		}
		return nil
	}), "walk the copy")
	identity, err := os.ReadFile(filepath.Join(dir, "app", "identity.go"))
	require.NoError(t, err, "identity.go")
	assert.Regexp(t, `DefaultRedisPrefix\s+= "mysvc:"`, string(identity), "the copy's own Redis prefix")

	// Every test of the copy on SQLite, then the resource's, the
	// migrations' and the contract on PostgreSQL and MySQL/MariaDB when
	// their URLs are set (the copy's Redis tests are the example's, run in
	// examples/api).
	test := []string{"test", "-count=1", "-timeout=15m"}
	if raceEnabled {
		test = append(test, "-race")
	}
	var sqliteOnly, databases []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SVCKIT_") {
			sqliteOnly = append(sqliteOnly, kv)
			databases = append(databases, kv)
		} else if strings.HasPrefix(kv, testdb.PostgresEnv+"=") || strings.HasPrefix(kv, testdb.MySQLEnv+"=") {
			databases = append(databases, kv)
		}
	}
	for _, run := range []struct {
		env  []string
		args []string
	}{
		{sqliteOnly, []string{"vet", "./..."}},
		{sqliteOnly, append(test, "./...")},
		{databases, append(test, "-run", "^(TestMigrateCarriesOverSchemaMigrations|TestMigrateLeavesAnotherToolsTable|TestContractMySQL)$", "-v", "./app")},
	} {
		out, err := goEnv(dir, run.env, run.args...)
		require.NoError(t, err, "go %s in the copy:\n%s", strings.Join(run.args, " "), out)
		if slices.Contains(run.args, "-v") && os.Getenv(testdb.MySQLEnv) != "" && !strings.Contains(string(out), "--- PASS: TestContractMySQL") {
			t.Errorf("%s is set, and TestContractMySQL did not pass in the copy", testdb.MySQLEnv)
		}
	}
	if raw := os.Getenv(testdb.MySQLEnv); raw != "" {
		migrateOnDefaultCollation(t, dir, raw)
	}
}

// goEnv runs the go command in dir with exactly env.
func goEnv(dir string, env []string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir, cmd.Env = dir, env
	return cmd.CombinedOutput()
}

// TestNewServiceMinimal makes a service from examples/minimal and runs its
// tests.
func TestNewServiceMinimal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a service")
	}
	dir := filepath.Join(t.TempDir(), "tiny")
	require.NoError(t, create(options{module: "example.com/tiny", dir: dir, from: "../..", minimal: true, tidy: true}), "create -minimal")
	_, err := os.Stat(filepath.Join(dir, "main.go"))
	require.NoError(t, err, "main.go at the root")
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	require.NoError(t, err, "go.mod")
	assert.NotContains(t, string(gomod), "modernc.org/sqlite", "no database in the minimal service")
	for _, a := range [][]string{{"vet", "./..."}, {"test", "-count=1", "./..."}} {
		out, err := goIn(dir, nil, a...)
		require.NoError(t, err, "go %s in the copy:\n%s", strings.Join(a, " "), out)
	}
}

// goIn runs the go command in dir with the environment and extra.
func goIn(dir string, extra []string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), extra...)
	return cmd.CombinedOutput()
}

// migrateOnDefaultCollation creates a database on the MySQL/MariaDB server
// of raw with the server's default character set and collation (not the
// utf8mb4_bin the test helpers ask for) and runs the copy's migrations
// there, the foreign keys to users included.
func migrateOnDefaultCollation(t *testing.T, dir, raw string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "mysql" {
		t.Logf("%s is not a mysql:// URL: the default-collation migration is not run", testdb.MySQLEnv)
		return
	}
	dsn, err := testdb.MySQLDSN(raw)
	require.NoError(t, err, "DSN")
	admin, err := sql.Open("mysql", dsn)
	require.NoError(t, err, "open")
	t.Cleanup(func() { admin.Close() }) // after the drop below, which runs first
	name := "svckit_new_" + testdb.Suffix()
	_, err = admin.Exec("CREATE DATABASE " + name)
	require.NoError(t, err, "create a database with the server's defaults")
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE " + name); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	var collation string
	require.NoError(t, admin.QueryRow("SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&collation), "its collation")
	if collation == "utf8mb4_bin" {
		t.Logf("the server's default collation is utf8mb4_bin: the table options are not put to the test")
	}
	u.Path = "/" + name
	out, err := goIn(dir, []string{"DATABASE_URL=" + u.String()}, "run", ".", "migrate", "up")
	require.NoError(t, err, "go run . migrate up on a %s database:\n%s", collation, out)
	assert.Contains(t, string(out), "applied  001_init", "the tables are created")
}
