package text

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Problem says why s may not be stored as text of a command (a name, a
// tag, a reason, an import id, an actor, a CSV field), or returns "" when
// it may:
// text is valid UTF-8 without control characters (C0, DEL, C1: NUL, BEL,
// ESC, CR, LF, tab …), which would forge lines in logs and exports or
// break the tools that read them. Invalid UTF-8 is refused rather than
// replaced, so what is stored is what was sent.
func Problem(s string) string {
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				return fmt.Sprintf("not valid UTF-8 (byte %d)", i)
			}
		case unicode.IsControl(r):
			return fmt.Sprintf("holds the control character %U at byte %d", r, i)
		}
	}
	return ""
}

// Check returns nil when s may be stored as the text what of a command
// (a reason, an actor, a comment, an import id): not blank, at most max
// bytes, and text (Problem). A blank s wraps blank; any other problem
// wraps invalid, and the message names what and why.
func Check(what, s string, max int, blank, invalid error) error {
	switch {
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("%w: %s is empty", blank, what)
	case len(s) > max:
		return fmt.Errorf("%w: %s must be text of at most %d bytes, got %d", invalid, what, max, len(s))
	}
	if why := Problem(s); why != "" {
		return fmt.Errorf("%w: %s %s", invalid, what, why)
	}
	return nil
}
