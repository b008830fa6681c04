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
	standsOnItsOwn(t, dir)
}

// endToEndEnv, set to 1, runs the tests that build a service and run its
// tests (minutes of CPU from a cold cache, more under -race); .ci/run sets
// it. Without it the tests that only write the copy still run.
const endToEndEnv = "SVCKIT_NEW_E2E"

func endToEnd(t *testing.T) {
	t.Helper()
	if os.Getenv(endToEndEnv) != "1" || testing.Short() {
		t.Skipf("builds a service and runs its tests: %s=1 runs it (.ci/run sets it)", endToEndEnv)
	}
}

// standsOnItsOwn checks a copy made from examples/api without running the
// go command: its own module path and identity, a relative replace, none
// of svckit's test infrastructure, and a README that tells of no test the
// copy lacks.
func standsOnItsOwn(t *testing.T, dir string) {
	t.Helper()
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	require.NoError(t, err, "go.mod")
	assert.Contains(t, string(gomod), "module example.com/mysvc\n", "the new module path")
	replaced(t, dir)
	for name := range apiTemplate.skip {
		assert.NoFileExists(t, filepath.Join(dir, "app", name), "%s is svckit's, not copied", name)
	}
	assert.NoDirExists(t, filepath.Join(dir, "internal", "faultproxy"), "no kept test needs svckit's fault proxy")
	_, err = os.Stat(filepath.Join(dir, ".env.example"))
	assert.NoError(t, err, ".env.example is copied")
	// The code names nothing of the template's.
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") && d.Name() != "go.mod" && d.Name() != ".env.example" {
			return err
		}
		b, err := os.ReadFile(p)
		require.NoError(t, err, "read %s", p)
		for _, no := range []string{"svckit/svckit/examples", "svckit/svckit/internal", "./examples/api", "svckit-example", "internal/faultproxy", "porcupine"} {
			if no == "porcupine" && d.Name() == "go.mod" {
				continue // until go mod tidy drops it (TestNewService)
			}
			if bytes.Contains(b, []byte(no)) {
				t.Errorf("%s holds %q", p, no)
			}
		}
		return nil
	}), "walk the copy")
	identity, err := os.ReadFile(filepath.Join(dir, "app", "identity.go"))
	require.NoError(t, err, "identity.go")
	assert.Regexp(t, `DefaultRedisPrefix\s+= "mysvc:"`, string(identity), "the copy's own Redis prefix")
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err, "README.md")
	for _, no := range []string{"TestFaults", "fault suite", "fault proxy", "TestBurst", "porcupine", "TestLinearizable", "TestPrometheusEndToEnd", "svckit-only", "svckit-new", "TestNewService", "examples/api"} {
		if strings.Contains(string(readme), no) {
			t.Errorf("the copy's README holds %q: it tells of something the copy lacks", no)
		}
	}
	assert.Contains(t, string(readme), "### Add a resource", "the copy's README keeps what a service does")
}

// sqliteEnv is this process's environment without svckit's test URLs: the
// copy's tests run on SQLite alone.
func sqliteEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SVCKIT_") {
			env = append(env, kv)
		}
	}
	return env
}

// dbEnv is sqliteEnv with the PostgreSQL and MySQL/MariaDB URLs, when set
// (the copy's Redis tests are the example's, run in examples/api).
func dbEnv() []string {
	env := sqliteEnv()
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, testdb.PostgresEnv+"=") || strings.HasPrefix(kv, testdb.MySQLEnv+"=") {
			env = append(env, kv)
		}
	}
	return env
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
	endToEnd(t)
	dir := filepath.Join(t.TempDir(), "mysvc")
	require.NoError(t, create(options{module: "example.com/mysvc", dir: dir, from: "../..", tidy: true}), "create")

	standsOnItsOwn(t, dir)
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	require.NoError(t, err, "go.mod")
	assert.NotContains(t, string(gomod), "porcupine", "no requirement of svckit's test infrastructure")

	// The README's "Add a resource", to the letter: its commands run (the
	// last one the resource's tests, on SQLite), its files written, its
	// lines inserted.
	followAddAResource(t, dir, sqliteEnv())

	// Every test of the copy on SQLite, then the resource's, the
	// migrations' and the contract on PostgreSQL and MySQL/MariaDB when
	// their URLs are set (the copy's Redis tests are the example's, run in
	// examples/api).
	test := []string{"test", "-count=1", "-timeout=15m"}
	if raceEnabled {
		test = append(test, "-race")
	}
	sqliteOnly, databases := sqliteEnv(), dbEnv()
	for _, run := range []struct {
		env  []string
		args []string
	}{
		{sqliteOnly, []string{"vet", "./..."}},
		{sqliteOnly, append(test, "./...")},
		{databases, append(test, "-run", "^(TestMigrateCarriesOverSchemaMigrations|TestMigrateLeavesAnotherToolsTable|TestContractMySQL|TestNotes)$", "-v", "./app")},
	} {
		out, err := goEnv(dir, run.env, run.args...)
		require.NoError(t, err, "go %s in the copy:\n%s", strings.Join(run.args, " "), out)
		if slices.Contains(run.args, "-v") {
			for env, passed := range map[string][]string{
				testdb.MySQLEnv:    {"--- PASS: TestContractMySQL", "--- PASS: TestNotes/mysql"},
				testdb.PostgresEnv: {"--- PASS: TestNotes/postgres"},
			} {
				for _, p := range passed {
					if os.Getenv(env) != "" && !strings.Contains(string(out), p) {
						t.Errorf("%s is set, and the copy's output lacks %q", env, p)
					}
				}
			}
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
	endToEnd(t)
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

// followAddAResource does what the section "Add a resource" of the copy's
// README says, in order: it runs each sh block in dir (with env), writes
// each block whose paragraph says "`FILE`, new", appends each whose
// paragraph says "`FILE`, append", and inserts each whose paragraph says
// "In `FILE`, before (or after) the line holding `TEXT`". A block it
// cannot place fails the test: the section and the test change together.
func followAddAResource(t *testing.T, dir string, env []string) {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err, "README.md")
	_, section, ok := strings.Cut(string(readme), "\n### Add a resource\n")
	require.True(t, ok, "the README has the section Add a resource")
	if i := regexp.MustCompile(`\n##+ `).FindStringIndex(section); i != nil {
		section = section[:i[0]]
	}
	block := regexp.MustCompile("(?s)```([a-z]+)\n(.*?)```\n")
	var (
		newFile  = regexp.MustCompile("`([^`]+)`, new\\b")
		appendTo = regexp.MustCompile("`([^`]+)`, append\\b")
		insert   = regexp.MustCompile("(?s)In `([^`]+)`, (before|after) the line holding\\s+`([^`]+)`, insert")
	)
	prev, steps := 0, 0
	for _, m := range block.FindAllStringSubmatchIndex(section, -1) {
		say, lang, text := section[prev:m[0]], section[m[2]:m[3]], section[m[4]:m[5]]
		prev = m[1]
		if i := strings.LastIndex(strings.TrimRight(say, "\n"), "\n\n"); i >= 0 {
			say = say[i:] // the paragraph just before the block
		}
		steps++
		switch {
		case lang == "sh":
			cmd := exec.Command("sh", "-ec", text)
			cmd.Dir, cmd.Env = dir, env
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "the README's commands\n%s\nin the copy:\n%s", text, out)
		case insert.MatchString(say):
			f := insert.FindStringSubmatch(say)
			insertLines(t, filepath.Join(dir, filepath.FromSlash(f[1])), f[2] == "after", f[3], text)
		case appendTo.MatchString(say):
			file := filepath.Join(dir, filepath.FromSlash(appendTo.FindStringSubmatch(say)[1]))
			old, err := os.ReadFile(file)
			require.NoError(t, err, "%s, which the section appends to, exists", file)
			require.NoError(t, os.WriteFile(file, append(old, text...), 0o644), "append to %s", file)
		case newFile.MatchString(say):
			file := filepath.Join(dir, filepath.FromSlash(newFile.FindStringSubmatch(say)[1]))
			assert.NoFileExists(t, file, "the section's new file is new")
			require.NoError(t, os.WriteFile(file, []byte(text), 0o644), "write %s", file)
		default:
			t.Fatalf("the section's %s block after %q says nowhere where it goes", lang, strings.TrimSpace(say))
		}
	}
	require.GreaterOrEqual(t, steps, 8, "the section's steps")
	var goFiles []string
	entries, err := os.ReadDir("../../examples/api/app")
	require.NoError(t, err, "the template's files")
	template := map[string]bool{}
	for _, e := range entries {
		template["app/"+e.Name()] = true
	}
	require.NoError(t, filepath.WalkDir(filepath.Join(dir, "app"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if !template[filepath.ToSlash(rel)] {
			goFiles = append(goFiles, rel)
		}
		return nil
	}), "walk the copy")
	assert.LessOrEqual(t, len(goFiles), 3, "the resource's new Go files: %v", goFiles)
}

// insertLines inserts text into file before (or after) the first line
// holding anchor, each line indented as that line is.
func insertLines(t *testing.T, file string, after bool, anchor, text string) {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err, "%s, which the section inserts into, exists", file)
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if !strings.Contains(l, anchor) {
			continue
		}
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		var add []string
		for _, x := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
			if x != "" {
				x = indent + x
			}
			add = append(add, x)
		}
		if after {
			i++
		}
		lines = append(lines[:i], append(add, lines[i:]...)...)
		require.NoError(t, os.WriteFile(file, []byte(strings.Join(lines, "\n")), 0o644), "write %s", file)
		return
	}
	t.Fatalf("%s has no line holding %q, where the section inserts", file, anchor)
}
