// Command svckit-new starts a service of your own from svckit's example
// service, the way gonew starts one from a template module: it copies
// examples/api (or, with -minimal, examples/minimal) into a new directory,
// rewrites the module path everywhere and gives the copy an identity of its
// own, so the copy builds and passes its tests as your module.
//
// From a clone of svckit:
//
//	go run ./cmd/svckit-new example.com/mysvc ../mysvc
//
// makes ../mysvc with go.mod "module example.com/mysvc", main.go at its root
// and the service in ../mysvc/app, and points go.mod at the clone with a
// relative replace directive. Once a release of svckit is published,
//
//	go run github.com/svckit/svckit/cmd/svckit-new@latest example.com/mysvc
//
// does the same from the published modules, with no replace. gonew itself
// cannot do this: it copies a whole module, and the example is a directory
// of svckit's examples module.
//
// Usage:
//
//	svckit-new [-minimal] [-from DIR] [-version V] [-tidy=false] MODULE [DIR]
//
// MODULE is the new module path; DIR (default: the last element of MODULE)
// must not exist or be empty. The template comes from the svckit checkout
// -from; without -from, from the checkout the command is run in, if it is
// one; else from the svckit modules at -version (default: the version this
// command was run at, else latest), fetched with "go mod download".
//
// The copy's identity comes from the last element of MODULE, "mysvc": the
// service name of its telemetry, the issuer and audience of its tokens,
// its PostgreSQL application_name, its Redis key prefix ("mysvc:", also
// REDIS_PREFIX), its SQLite file (mysvc.db) and the label its cursor key is
// derived with, so that two services made from the template never share
// Redis keys or accept each other's tokens. It keeps the example's tests
// and none of svckit's test infrastructure (the fault suite, the
// linearizability check, the Prometheus end-to-end test), nor what the
// README says of it. Finally it runs
// "go mod tidy" in DIR unless -tidy=false. When a go command fails, its
// own message is shown.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
)

const (
	svckit   = "github.com/svckit/svckit"
	examples = svckit + "/examples"
	internal = svckit + "/internal/"
)

func main() {
	var o options
	flag.BoolVar(&o.minimal, "minimal", false, "copy examples/minimal, the one-file service, instead of examples/api")
	flag.StringVar(&o.from, "from", "", "svckit checkout to copy from (default: the one the command runs in, if any)")
	flag.StringVar(&o.version, "version", "", "svckit version to copy without a checkout (default: this command's version, else latest)")
	flag.BoolVar(&o.tidy, "tidy", true, "run go mod tidy in the new directory")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: svckit-new [-minimal] [-from DIR] [-version V] [-tidy=false] MODULE [DIR]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() < 1 || flag.NArg() > 2 {
		flag.Usage()
		os.Exit(2)
	}
	o.module = flag.Arg(0)
	o.dir = path.Base(o.module)
	if flag.NArg() == 2 {
		o.dir = flag.Arg(1)
	}
	o.log = os.Stderr
	if err := create(o); err != nil {
		fmt.Fprintln(os.Stderr, "svckit-new:", err)
		os.Exit(1)
	}
	run := "go test ./... && go run ."
	fmt.Printf("created %s (module %s, service %q): cd %s && %s\n", o.dir, o.module, serviceName(o.module), o.dir, run)
}

// options is what create needs.
type options struct {
	module  string    // the new module path
	dir     string    // where to create it
	minimal bool      // copy examples/minimal
	from    string    // svckit checkout; "" means the current one, else download
	version string    // svckit version to download; "" means ours, else latest
	tidy    bool      // run go mod tidy
	log     io.Writer // progress; nil means none
}

func (o options) logf(format string, args ...any) {
	if o.log != nil {
		fmt.Fprintf(o.log, format+"\n", args...)
	}
}

// create makes the new module.
func create(o options) error {
	modulePath := regexp.MustCompile(`^[a-z0-9][-a-z0-9.]*(/[A-Za-z0-9._~-]+)*$`)
	if !modulePath.MatchString(o.module) || strings.HasPrefix(o.module, svckit) {
		return fmt.Errorf("%q is not a module path of your own", o.module)
	}
	if serviceName(o.module) == "" {
		return fmt.Errorf("%q: its last element makes no service name (letters and digits)", o.module)
	}
	if entries, err := os.ReadDir(o.dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s exists and is not empty", o.dir)
	}
	src, err := source(o)
	if err != nil {
		return err
	}
	t := apiTemplate
	if o.minimal {
		t = minimalTemplate
	}
	if err := copyTree(filepath.Join(src.examples, t.dir), o.dir, func(name string) bool { _, skip := t.skip[name]; return !skip }); err != nil {
		return err
	}
	// Copy the svckit internal packages the example imports, and theirs.
	done := map[string]bool{}
	for {
		need, err := internalImports(o.dir)
		if err != nil {
			return err
		}
		added := false
		for _, p := range need {
			if done[p] {
				continue
			}
			done[p], added = true, true
			// Their tests are svckit's and stay there.
			keep := func(name string) bool { return !strings.HasSuffix(name, "_test.go") }
			if err := copyTree(filepath.Join(src.lib, "internal", filepath.FromSlash(p)), filepath.Join(o.dir, "internal", filepath.FromSlash(p)), keep); err != nil {
				return err
			}
		}
		if !added {
			break
		}
	}
	if err := rewrite(o.dir, o.module, t); err != nil {
		return err
	}
	if !o.minimal {
		if err := setIdentity(filepath.Join(o.dir, "app", "identity.go"), serviceName(o.module)); err != nil {
			return err
		}
	}
	if err := writeGoMod(o, src); err != nil {
		return err
	}
	if o.tidy {
		o.logf("svckit-new: go mod tidy in %s", o.dir)
		if err := goCmd(o.dir, "mod", "tidy"); err != nil {
			return err
		}
	}
	return nil
}

// template is a directory of the examples module to copy.
type template struct {
	dir  string // under examples/
	path string // its import path
	// skip are the files not copied, by name, with the reason: svckit's
	// own test infrastructure, which a service of its own does not keep.
	// A helper that a kept test uses must not live in one of them
	// (TestNewService fails when one does).
	skip map[string]string
}

var apiTemplate = template{dir: "api", path: examples + "/api", skip: map[string]string{
	"faults_test.go":              "svckit's fault suite: PostgreSQL and Redis behind fault proxies, killed backends",
	"history_internal_test.go":    "svckit's linearizability check (porcupine) and private redis-server processes",
	"prometheus_test.go":          "svckit's end-to-end test against a real Prometheus",
	"burst_test.go":               "svckit's measured burst of 1 000 concurrent transfers",
	"invalidate_internal_test.go": "svckit's check that invalidations ride the outbox, with Redis behind a fault proxy",
}}

var minimalTemplate = template{dir: "minimal", path: examples + "/minimal"}

// tree is where the files to copy are: svckit's module (for its internal
// packages) and its examples module, a module of its own since the
// examples' dependencies stay out of svckit's go.mod.
type tree struct {
	lib, examples string
	version       string // of svckit, which the new go.mod requires
	checkout      bool   // lib is a checkout: go.mod points at it
}

// source finds the svckit tree to copy: the checkout -from, else the
// checkout the command runs in, else both modules downloaded at the
// version asked for.
func source(o options) (tree, error) {
	from := o.from
	if from == "" && o.version == "" {
		if root, ok := checkoutAround("."); ok {
			o.logf("svckit-new: copying from the svckit checkout %s (-from)", root)
			from = root
		}
	}
	if from != "" {
		root, err := filepath.Abs(from)
		if err != nil {
			return tree{}, err
		}
		if _, err := os.Stat(filepath.Join(root, "examples", "api", "main.go")); err != nil {
			return tree{}, fmt.Errorf("-from %s: not a svckit checkout: %w", from, err)
		}
		return tree{lib: root, examples: filepath.Join(root, "examples"), version: "v0.0.0-00010101000000-000000000000", checkout: true}, nil
	}
	version := o.version
	if version == "" {
		version = "latest"
		if bi, ok := debug.ReadBuildInfo(); ok && strings.HasPrefix(bi.Main.Version, "v") {
			version = bi.Main.Version
		}
	}
	o.logf("svckit-new: go mod download %s@%s", svckit, version)
	lib, v, err := download(svckit, version)
	if err != nil {
		return tree{}, fmt.Errorf("%w\n(no release of svckit is published yet? From a clone of svckit, run: go run ./cmd/svckit-new %s)", err, o.module)
	}
	ex, _, err := download(examples, v)
	if err != nil {
		return tree{}, err
	}
	return tree{lib: lib, examples: ex, version: v}, nil
}

// checkoutAround returns the root of the svckit checkout dir is in.
func checkoutAround(dir string) (string, bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	for d := abs; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil {
			if regexp.MustCompile(`(?m)^module ` + regexp.QuoteMeta(svckit) + `\s*$`).Match(b) {
				if _, err := os.Stat(filepath.Join(d, "examples", "api", "main.go")); err == nil {
					return d, true
				}
			}
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

// download runs "go mod download" for module@version and returns the
// directory and version it got.
func download(module, version string) (dir, v string, err error) {
	var stderr bytes.Buffer
	cmd := exec.Command("go", "mod", "download", "-json", module+"@"+version)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var m struct{ Dir, Version, Error string }
	if jerr := json.Unmarshal(out, &m); jerr == nil && m.Error != "" {
		return "", "", fmt.Errorf("go mod download %s@%s: %s", module, version, m.Error)
	}
	if err != nil {
		return "", "", fmt.Errorf("go mod download %s@%s: %w%s", module, version, err, indent(stderr.String()))
	}
	return m.Dir, m.Version, nil
}

// goCmd runs the go command in dir, its output passed on, and returns an
// error holding what it printed when it fails.
func goCmd(dir string, args ...string) error {
	var out bytes.Buffer
	cmd := exec.Command("go", args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s in %s: %w%s", strings.Join(args, " "), dir, err, indent(out.String()))
	}
	return nil
}

// indent returns s, if any, on lines of its own.
func indent(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	return "\n\t" + strings.ReplaceAll(s, "\n", "\n\t")
}

// serviceName is the new service's name: the last element of its module
// path ("example.com/team/orders-api" → "orders-api"; a major version
// suffix such as "/v2" is passed over), lower-case letters, digits and
// dashes.
func serviceName(module string) string {
	elems := strings.Split(module, "/")
	last := elems[len(elems)-1]
	if regexp.MustCompile(`^v[0-9]+$`).MatchString(last) && len(elems) > 1 {
		last = elems[len(elems)-2]
	}
	name := strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(last), "-"), "-")
	if !regexp.MustCompile(`[a-z]`).MatchString(name) {
		return ""
	}
	return name
}

// identity are the constants of the template's app/identity.go that
// setIdentity gives the new service's values.
var identity = map[string]func(name string) string{
	"ServiceName":        func(n string) string { return n },
	"DefaultRedisPrefix": func(n string) string { return n + ":" },
	"DefaultSQLiteFile":  func(n string) string { return n + ".db" },
	"cursorKeyLabel":     func(n string) string { return n + " cursor key" },
}

// setIdentity rewrites the values of the identity constants in file.
func setIdentity(file, name string) error {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.ParseComments)
	if err != nil {
		return fmt.Errorf("the template's identity: %w", err)
	}
	set := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, id := range vs.Names {
			if value, ok := identity[id.Name]; ok && i < len(vs.Values) {
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					lit.Value = strconv.Quote(value(name))
					set[id.Name] = true
				}
			}
		}
		return true
	})
	var missing []string
	for c := range identity {
		if !set[c] {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("the template's %s has no string constant %s to set", filepath.Base(file), strings.Join(missing, ", "))
	}
	var buf bytes.Buffer
	if err := format.Node(&buf, fset, f); err != nil {
		return err
	}
	return os.WriteFile(file, buf.Bytes(), 0o644)
}

// copyTree copies the regular files under src to dst that keep accepts by
// name, writable (the module cache's are read-only), skipping SQLite files
// a local run left behind.
func copyTree(src, dst string, keep func(name string) bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		name := d.Name()
		if !keep(name) || !d.Type().IsRegular() || strings.HasSuffix(name, ".db") || strings.Contains(name, ".db-") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

// internalImports lists the svckit internal packages (relative to
// internal/) imported by the Go files under dir.
func internalImports(dir string) ([]string, error) {
	seen := map[string]bool{}
	err := walkGo(dir, func(_ string, src []byte) error {
		f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if rest, ok := strings.CutPrefix(p, internal); ok {
				seen[rest] = true
			}
		}
		return nil
	})
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, err
}

func walkGo(dir string, fn func(path string, src []byte) error) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") {
			return err
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return fn(p, src)
	})
}

// newPath maps an import path of the template to the new module, or
// reports false for a path that stays.
func newPath(p, module string, t template) (string, bool) {
	if p == t.path {
		return module, true
	}
	if rest, ok := strings.CutPrefix(p, t.path+"/"); ok {
		return module + "/" + rest, true
	}
	if rest, ok := strings.CutPrefix(p, internal); ok {
		return module + "/internal/" + rest, true
	}
	return "", false
}

// rewrite moves every import of the template and of svckit's internal
// packages to the new module, then the template's own paths and names in
// the text of Go, Markdown, JSON and .env files (commands such as "go test
// ./examples/api/app", the example's name, links out of the template),
// which now sit at the root of the new module.
func rewrite(dir, module string, t template) error {
	err := walkGo(dir, func(p string, src []byte) error {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, src, parser.ParseComments)
		if err != nil {
			return err
		}
		changed := false
		for _, im := range f.Imports {
			old, _ := strconv.Unquote(im.Path.Value)
			if np, ok := newPath(old, module, t); ok {
				im.Path.Value = strconv.Quote(np)
				changed = true
			}
		}
		if !changed {
			return nil
		}
		var buf bytes.Buffer
		if err := format.Node(&buf, fset, f); err != nil {
			return err
		}
		return os.WriteFile(p, buf.Bytes(), 0o644)
	})
	if err != nil {
		return err
	}
	name := serviceName(module)
	text := strings.NewReplacer(
		"# examples/"+t.dir, "# "+module,
		t.path, module,
		internal, module+"/internal/",
		"cd examples/"+t.dir+" && ", "",
		"./examples/"+t.dir+"/app", "./app",
		"./examples/"+t.dir, ".",
		"examples/"+t.dir+"/", "",
		"svckit-example", name,
		"`svckit:`", "`"+name+":`",
		"default: svckit:", "default: "+name+":",
		// Links out of the template lead to svckit's repository.
		"](../../", "](https://"+svckit+"/blob/main/",
		"](../", "](https://"+svckit+"/blob/main/examples/",
	)
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !strings.HasSuffix(p, ".md") && !strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, ".json") && d.Name() != ".env.example" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, ".md") {
			b = svckitOnly.ReplaceAll(b, nil)
		}
		return os.WriteFile(p, []byte(text.Replace(string(b))), 0o644)
	})
}

// svckitOnly matches what the template's Markdown says of svckit alone:
// its own test infrastructure (the fault suite, the burst, the
// linearizability check, Prometheus end to end), which the copy does not
// have, and how to make a copy. It sits between <!-- svckit-only --> and
// <!-- /svckit-only -->, on lines of their own or within a line; the copy
// has none of it.
var svckitOnly = regexp.MustCompile(`(?s)<!-- svckit-only -->.*?<!-- /svckit-only -->\n?`)

// writeGoMod writes go.mod from the examples module's: the same
// requirements at the same versions (tidy then drops what the copy does not
// use), svckit at src.version, and the examples module's go.sum. A copy of
// a checkout requires svckit through a relative replace directive; when no
// relative path leads there, create fails and says so.
func writeGoMod(o options, src tree) error {
	mod, err := os.ReadFile(filepath.Join(src.examples, "go.mod"))
	if err != nil {
		return fmt.Errorf("the examples module's go.mod: %w", err)
	}
	lines := strings.Split(string(mod), "\n")
	var b strings.Builder
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "module "):
			l = "module " + o.module
		case strings.HasPrefix(l, "replace ") && strings.Contains(l, svckit+" "):
			continue
		case strings.HasPrefix(l, "replace ("):
			for i < len(lines) && strings.TrimSpace(lines[i]) != ")" { // the examples' replaces point inside svckit
				i++
			}
			continue
		case strings.Contains(l, svckit+" v"):
			l = regexp.MustCompile(regexp.QuoteMeta(svckit)+` v\S+`).ReplaceAllString(l, svckit+" "+src.version)
		}
		b.WriteString(l + "\n")
	}
	gomod := strings.TrimRight(b.String(), "\n") + "\n"
	if src.checkout {
		abs, err := filepath.Abs(o.dir)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(abs, src.lib)
		if err != nil || filepath.IsAbs(rel) {
			return fmt.Errorf("no relative path from %s to the svckit checkout %s: put them on one volume, or copy from a published version (-version)", o.dir, src.lib)
		}
		rel = filepath.ToSlash(rel)
		if !strings.HasPrefix(rel, ".") {
			rel = "./" + rel
		}
		gomod += fmt.Sprintf("\n// svckit from the checkout this service was made from; remove it once\n// you require a published version.\nreplace %s => %s\n", svckit, rel)
	}
	if err := os.WriteFile(filepath.Join(o.dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	if sum, err := os.ReadFile(filepath.Join(src.examples, "go.sum")); err == nil {
		return os.WriteFile(filepath.Join(o.dir, "go.sum"), sum, 0o644)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
