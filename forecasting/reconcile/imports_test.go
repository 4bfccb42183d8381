package reconcile

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestImports guards the layering rule: forecasting/ imports only the
// standard library and gonum (no I/O adapters, no frameworks).
func TestImports(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first := strings.SplitN(path, "/", 2)[0]
			stdlib := !strings.Contains(first, ".")
			if !stdlib && !strings.HasPrefix(path, "gonum.org/v1/gonum/") {
				t.Errorf("%s imports %q; forecasting/ may import only the standard library and gonum", name, path)
			}
			for _, banned := range []string{"os", "io", "net/http", "context", "time", "database/sql"} {
				if path == banned {
					t.Errorf("%s imports %q; forecasting/ does no I/O and reads no clock", name, path)
				}
			}
		}
	}
}
