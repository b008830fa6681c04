package conventions_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEveryConstructorIsDriven lists the exported functions of the public
// packages that take an options struct (a parameter whose type is named
// …Options) or a ratelimit.Limit, deprecated ones aside, and fails for each one the option tests
// do not drive, so that a new constructor cannot skip them.
func TestEveryConstructorIsDriven(t *testing.T) {
	root := filepath.Join("..", "..")
	var found []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			base := d.Name()
			if rel != "." && (base == "internal" || base == "testdata" || base == "examples" || base == "benchmarks" ||
				base == "cmd" || strings.HasPrefix(base, ".")) {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && rel != "." {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution|parser.ParseComments)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !fn.Name.IsExported() || deprecated(fn.Doc) {
				continue
			}
			for _, p := range fn.Type.Params.List {
				if name := typeName(p.Type); strings.HasSuffix(name, "Options") || name == "Limit" {
					found = append(found, f.Name.Name+"."+fn.Name.Name)
					break
				}
			}
		}
		return nil
	})
	require.NoError(t, err, "walk the module")
	slices.Sort(found)
	found = slices.Compact(found)
	require.NotEmpty(t, found, "the walk finds the constructors")
	for _, name := range found {
		assert.True(t, driven[name], "%s takes options but is not driven by the option tests: add it to driven and drive it", name)
	}
}

// deprecated reports whether a doc comment has a "Deprecated:" paragraph:
// such a function stays one release and is not driven.
func deprecated(doc *ast.CommentGroup) bool {
	if doc == nil {
		return false
	}
	for _, line := range strings.Split(doc.Text(), "\n") {
		if strings.HasPrefix(line, "Deprecated:") {
			return true
		}
	}
	return false
}

// typeName returns the name of a parameter type without package, pointer
// or type arguments.
func typeName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return x.Sel.Name
	case *ast.StarExpr:
		return typeName(x.X)
	case *ast.IndexExpr:
		return typeName(x.X)
	case *ast.IndexListExpr:
		return typeName(x.X)
	}
	return ""
}
