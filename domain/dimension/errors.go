package dimension

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Sentinel errors of the Dimension commands. They are returned wrapped in a
// *MemberError (or joined, several at once); check them with errors.Is.
var (
	// ErrNotDefined is returned by a command on a dimension not yet defined.
	ErrNotDefined = errors.New("dimension: not defined")
	// ErrAlreadyDefined is returned by Define on a dimension already defined.
	ErrAlreadyDefined = errors.New("dimension: already defined")
	// ErrInvalidID is returned for an identifier that does not match ValidID.
	ErrInvalidID = errors.New("dimension: invalid identifier")
	// ErrInvalidName is returned for a name that is empty, blank or longer
	// than MaxNameLen bytes.
	ErrInvalidName = errors.New("dimension: invalid name")
	// ErrUnknownMember is returned when a command names a member the
	// dimension does not have.
	ErrUnknownMember = errors.New("dimension: unknown member")
	// ErrDuplicateMember is returned when adding a member whose id is
	// already used in the dimension, by an active or a retired member.
	ErrDuplicateMember = errors.New("dimension: member id already used")
	// ErrRetired is returned when a command acts on a retired member or
	// places a member under one.
	ErrRetired = errors.New("dimension: member is retired")
	// ErrCycle is returned when a move would put a member under itself or
	// under one of its descendants.
	ErrCycle = errors.New("dimension: move would create a cycle")
	// ErrRoot is returned when moving or retiring the root.
	ErrRoot = errors.New("dimension: the root cannot be moved or retired")
	// ErrActiveChildren is returned when retiring a member that still has
	// active children.
	ErrActiveChildren = errors.New("dimension: member has active children")
	// ErrUnknownDimension is returned when a node names a dimension that is
	// not among those it is checked against.
	ErrUnknownDimension = errors.New("dimension: unknown dimension")
	// ErrNotLeaf is returned by Node.CheckCell when a member is not a leaf.
	ErrNotLeaf = errors.New("dimension: member is not a leaf")
	// ErrNodeSyntax is returned by ParseNode and NewNode for text or
	// coordinates that are not a node.
	ErrNodeSyntax = errors.New("dimension: invalid node")
)

// MemberError says which member of which dimension a command rejected, and
// why. Err is one of the sentinel errors above.
type MemberError struct {
	Dimension string // the dimension's id ("" before it is defined)
	Member    string // the member concerned, as given
	Reason    string // what is wrong, for people
	Err       error
}

func (e *MemberError) Error() string {
	return fmt.Sprintf("dimension %q, member %q: %s", e.Dimension, e.Member, e.Reason)
}

func (e *MemberError) Unwrap() error { return e.Err }

// MaxIDLen is the longest identifier, in bytes.
const MaxIDLen = 64

// MaxNameLen is the longest display name, in bytes.
const MaxNameLen = 200

// CheckID returns nil when id is a valid identifier (ValidID), or an error
// wrapping invalid that names what and the rule.
func CheckID(what, id string, invalid error) error {
	if !ValidID(id) {
		return fmt.Errorf("%w: %s %q must be 1 to %d letters, digits, '_', '.' or '-', starting with a letter or digit", invalid, what, id, MaxIDLen)
	}
	return nil
}

// ValidID reports whether s is a valid identifier: 1 to 64 ASCII letters,
// digits, '_', '.' or '-', starting with a letter or digit. Identifiers are
// case-sensitive. The syntax leaves '=', ';' and spaces free, so a node's
// text is unambiguous.
func ValidID(s string) bool {
	if s == "" || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// idReason explains why s is not a valid identifier.
func idReason(s string) string {
	if s == "" {
		return "identifier is empty"
	}
	return fmt.Sprintf("identifier %q must be 1 to %d letters, digits, '_', '.' or '-', starting with a letter or digit", s, MaxIDLen)
}

// ValidName reports whether s is a usable display name: not blank, valid
// UTF-8, at most MaxNameLen bytes.
func ValidName(s string) bool {
	return strings.TrimSpace(s) != "" && len(s) <= MaxNameLen && utf8.ValidString(s)
}
