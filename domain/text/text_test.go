package text_test

import (
	"testing"

	"github.com/concord-planning/concord/domain/text"
)

func TestProblem(t *testing.T) {
	for _, c := range []struct {
		in, want string
	}{
		{"EMEA reforecast — Q2 ✓", ""},
		{"replacement char \uFFFD sent as such", ""},
		{"", ""},
		{"nul\x00", "holds the control character U+0000 at byte 3"},
		{"bell\a", "holds the control character U+0007 at byte 4"},
		{"line\nbreak", "holds the control character U+000A at byte 4"},
		{"cr\r", "holds the control character U+000D at byte 2"},
		{"\x1b[31mred", "holds the control character U+001B at byte 0"},
		{"tab\there", "holds the control character U+0009 at byte 3"},
		{"del\x7f", "holds the control character U+007F at byte 3"},
		{"c1\u0085", "holds the control character U+0085 at byte 2"},
		{"bad\xffutf8", "not valid UTF-8 (byte 3)"},
		{"cut\xe2\x82", "not valid UTF-8 (byte 3)"},
	} {
		if got := text.Problem(c.in); got != c.want {
			t.Errorf("Problem(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
