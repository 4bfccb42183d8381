package forecasting

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports fails when a non-test file of the package imports anything
// but the standard library and gonum (DESIGN.md: forecasting is pure numerics).
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(p, "/")
			stdlib := !strings.Contains(first, ".")
			if !stdlib && !strings.HasPrefix(p, "gonum.org/v1/gonum/") {
				t.Errorf("%s imports %s: forecasting may import only the standard library and gonum", name, p)
			}
			for _, banned := range []string{"os", "net", "net/http", "context", "time", "io", "database/sql"} {
				if p == banned {
					t.Errorf("%s imports %s: forecasting does no I/O and reads no clock", name, p)
				}
			}
		}
	}
}
