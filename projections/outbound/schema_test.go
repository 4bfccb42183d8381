package outbound_test

import (
	"bufio"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/projections/outbound"
)

// schemaRows returns the rows SCHEMA.md's table of event types must hold:
// one per publishable registered type, with its schema version and the
// JSON fields of its payload.
func schemaRows() []string {
	var rows []string
	for _, t := range planning.NewRegistry().Types() {
		if !outbound.Publishable(t.Name) {
			continue
		}
		rows = append(rows, fmt.Sprintf("| `%s` | %d | %s |", t.Name, t.Version, strings.Join(jsonFields(t.Type), ", ")))
	}
	return rows
}

// jsonFields lists the top-level JSON names of struct type t, as
// encoding/json writes them (embedded structs' fields inlined).
func jsonFields(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" && opts == "" {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		field := "`" + name + "`"
		if strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero") {
			field += "?"
		}
		out = append(out, field)
	}
	return out
}

// TestSchemaDocumentsEveryType keeps SCHEMA.md true: its table lists
// exactly the published event types, their schema versions and fields.
func TestSchemaDocumentsEveryType(t *testing.T) {
	f, err := os.Open("SCHEMA.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []string
	inTypes := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "## ") {
			inTypes = line == "## Event types"
		}
		if inTypes && strings.HasPrefix(line, "| `") {
			got = append(got, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	want := schemaRows()
	if !slices.Equal(got, want) {
		t.Errorf("SCHEMA.md's table of event types is out of date; it should read:\n%s\n\nit reads:\n%s",
			strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
	if len(want) < 20 {
		t.Errorf("only %d publishable types registered; the registry lost some", len(want))
	}
}
