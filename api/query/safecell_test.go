package query_test

import (
	"testing"

	"github.com/concord-planning/concord/api/query"
)

func TestSafeCell(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"EMEA", "EMEA"},
		{"", ""},
		{"=HYPERLINK(\"http://evil\",\"x\")", "'=HYPERLINK(\"http://evil\",\"x\")"},
		{"+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
		{"-2+3", "'-2+3"},
		{"@SUM(1+1)", "'@SUM(1+1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"-1250.75", "-1250.75"},
		{"+3", "+3"},
		{"-1e-3", "-1e-3"},
		{"-Inf", "'-Inf"},
		{"-NaN", "'-NaN"},
		{"-0x1p3", "'-0x1p3"},
		{"-1_000", "'-1_000"},
		{"a=b", "a=b"},
	} {
		if got := query.SafeCell(c.in); got != c.want {
			t.Errorf("SafeCell(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
