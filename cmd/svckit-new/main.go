// Command svckit-new starts a service of your own from svckit's example
// service, the way gonew starts one from a template module: it copies
// examples/api (and the test helpers it uses from svckit's internal/) into a
// new directory and rewrites the module path everywhere, so the copy builds
// and passes its tests as your module.
//
//	go run github.com/svckit/svckit/cmd/svckit-new@latest example.com/mysvc
//
// makes ./mysvc with go.mod "module example.com/mysvc", main.go at its root
// and the service in ./mysvc/app. gonew itself cannot do this: it copies a
// whole module, and the example is a directory of the svckit module.
//
// Usage:
//
//	svckit-new [-from DIR] [-version V] [-tidy=false] MODULE [DIR]
//
// MODULE is the new module path; DIR (default: the last element of MODULE)
// must not exist or be empty. The example is taken from the svckit module
// at -version (default: the version this command was run at, else latest),
// downloaded with "go mod download", or from the svckit source tree -from,
// which the new go.mod then points to with a replace directive. Finally it
// runs "go mod tidy" in DIR unless -tidy=false.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"go/parser"
	"go/token"
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
	template = svckit + "/examples/api"
	internal = svckit + "/internal/"
)

func main() {
	var o options
	flag.StringVar(&o.from, "from", "", "svckit source tree to copy from instead of the module download")
	flag.StringVar(&o.version, "version", "", "svckit version to copy (default: this command's version, else latest)")
	flag.BoolVar(&o.tidy, "tidy", true, "run go mod tidy in the new directory")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: svckit-new [-from DIR] [-version V] [-tidy=false] MODULE [DIR]")
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
	if err := create(o); err != nil {
		fmt.Fprintln(os.Stderr, "svckit-new:", err)
		os.Exit(1)
	}
	fmt.Printf("created %s (module %s): cd %s && go test ./... && go run .\n", o.dir, o.module, o.dir)
}

// options is what create needs.
type options struct {
	module  string // the new module path
	dir     string // where to create it
	from    string // svckit source tree; "" means download
	version string // svckit version to download; "" means ours, else latest
	tidy    bool   // run go mod tidy
}

// create makes the new module.
func create(o options) error {
	modulePath := regexp.MustCompile(`^[a-z0-9][-a-z0-9.]*(/[A-Za-z0-9._~-]+)*$`)
	if !modulePath.MatchString(o.module) || strings.HasPrefix(o.module, svckit) {
		return fmt.Errorf("%q is not a module path of your own", o.module)
	}
	if entries, err := os.ReadDir(o.dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s exists and is not empty", o.dir)
	}
	src, err := source(o)
	if err != nil {
		return err
	}
	if err := copyTree(filepath.Join(src.examples, "api"), o.dir, true); err != nil {
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
			if err := copyTree(filepath.Join(src.lib, "internal", filepath.FromSlash(p)), filepath.Join(o.dir, "internal", filepath.FromSlash(p)), false); err != nil {
				return err
			}
		}
		if !added {
			break
		}
	}
	if err := rewrite(o.dir, o.module); err != nil {
		return err
	}
	if err := writeGoMod(o, src); err != nil {
		return err
	}
	if o.tidy {
		cmd := exec.Command("go", "mod", "tidy")
		cmd.Dir, cmd.Stdout, cmd.Stderr = o.dir, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go mod tidy: %w", err)
		}
	}
	return nil
}

// tree is where the files to copy are: svckit's module (for its internal
// packages) and its examples module, a module of its own since the
// examples' dependencies stay out of svckit's go.mod.
type tree struct {
	lib, examples string
	version       string // of svckit, which the new go.mod requires
}

// source finds the svckit tree to copy: the checkout -from, else both
// modules downloaded at the version asked for.
func source(o options) (tree, error) {
	if o.from != "" {
		root, err := filepath.Abs(o.from)
		if err != nil {
			return tree{}, err
		}
		if _, err := os.Stat(filepath.Join(root, "examples", "api", "main.go")); err != nil {
			return tree{}, fmt.Errorf("-from %s: not a svckit source tree: %w", o.from, err)
		}
		return tree{lib: root, examples: filepath.Join(root, "examples"), version: "v0.0.0-00010101000000-000000000000"}, nil
	}
	version := o.version
	if version == "" {
		version = "latest"
		if bi, ok := debug.ReadBuildInfo(); ok && strings.HasPrefix(bi.Main.Version, "v") {
			version = bi.Main.Version
		}
	}
	lib, v, err := download(svckit, version)
	if err != nil {
		return tree{}, err
	}
	examples, _, err := download(svckit+"/examples", v)
	if err != nil {
		return tree{}, err
	}
	return tree{lib: lib, examples: examples, version: v}, nil
}

// download runs "go mod download" for module@version and returns the
// directory and version it got.
func download(module, version string) (dir, v string, err error) {
	out, err := exec.Command("go", "mod", "download", "-json", module+"@"+version).Output()
	if err != nil {
		return "", "", fmt.Errorf("go mod download %s@%s: %w", module, version, err)
	}
	var m struct{ Dir, Version, Error string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", "", fmt.Errorf("go mod download: %w", err)
	}
	if m.Error != "" {
		return "", "", errors.New(m.Error)
	}
	return m.Dir, m.Version, nil
}

// copyTree copies the regular files under src to dst, writable (the module
// cache's are read-only), skipping SQLite files a local run left behind, and
// tests unless tests is set.
func copyTree(src, dst string, tests bool) error {
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
		if !d.Type().IsRegular() || strings.HasSuffix(p, ".db") || strings.Contains(p, ".db-") {
			return nil
		}
		if !tests && strings.HasSuffix(p, "_test.go") {
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
func newPath(p, module string) (string, bool) {
	if p == template {
		return module, true
	}
	if rest, ok := strings.CutPrefix(p, template+"/"); ok {
		return module + "/" + rest, true
	}
	if rest, ok := strings.CutPrefix(p, internal); ok {
		return module + "/internal/" + rest, true
	}
	return "", false
}

// rewrite moves every import of the template and of svckit's internal
// packages to the new module, then the template's own paths in the text of
// Go and Markdown files (commands such as "go test ./examples/api/app"),
// which now sit at the root of the new module.
func rewrite(dir, module string) error {
	err := walkGo(dir, func(p string, src []byte) error {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, src, parser.ParseComments)
		if err != nil {
			return err
		}
		changed := false
		for _, im := range f.Imports {
			old, _ := strconv.Unquote(im.Path.Value)
			if np, ok := newPath(old, module); ok {
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
	text := strings.NewReplacer(
		"# examples/api", "# "+module,
		template, module,
		"./examples/api/app", "./app",
		"./examples/api", ".",
		"examples/api/", "",
	)
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".md") || strings.HasSuffix(p, ".go")) {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(p, []byte(text.Replace(string(b))), 0o644)
	})
}

// writeGoMod writes go.mod (and the examples module's go.sum as a start
// for tidy).
func writeGoMod(o options, src tree) error {
	goVersion := "1.25.0"
	if b, err := os.ReadFile(filepath.Join(src.lib, "go.mod")); err == nil {
		if m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(b); m != nil {
			goVersion = string(m[1])
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "module %s\n\ngo %s\n\nrequire %s %s\n", o.module, goVersion, svckit, src.version)
	if o.from != "" {
		fmt.Fprintf(&b, "\nreplace %s => %s\n", svckit, filepath.ToSlash(src.lib))
	}
	if err := os.WriteFile(filepath.Join(o.dir, "go.mod"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	if sum, err := os.ReadFile(filepath.Join(src.examples, "go.sum")); err == nil {
		return os.WriteFile(filepath.Join(o.dir, "go.sum"), sum, 0o644)
	}
	return nil
}
