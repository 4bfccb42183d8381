package planning

import (
	"errors"
	"fmt"
	"strings"

	"github.com/concord-planning/concord/domain/access"
)

// Errors of the Service.
var (
	// ErrValidation matches every *ValidationError.
	ErrValidation = errors.New("planning: invalid request")
	// ErrForbidden matches every *ForbiddenError: the principal may not
	// give this command, or not for these nodes.
	ErrForbidden = errors.New("planning: forbidden")
	// ErrUnauthenticated is returned for a Principal without an actor or
	// with an unknown role.
	ErrUnauthenticated = errors.New("planning: no authenticated principal")
	// ErrTooManyRows is returned for a batch longer than the Service takes
	// in one command (see MaxRows).
	ErrTooManyRows = errors.New("planning: too many rows in one batch")
	// ErrInUse is returned (wrapped, with what refers to it) when removing
	// a member or a plan that something refers to.
	ErrInUse = errors.New("planning: in use")
)

// Problem is one thing wrong with a request: in which row (1-based, 0 for
// a request that is not a batch), which field, the value given, and why.
// Err is the sentinel or domain error behind it, when there is one.
type Problem struct {
	Row    int
	Field  string
	Value  string
	Reason string
	Err    error
}

// ValidationError lists every problem found in a request, in the order
// found. Nothing was recorded.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("planning: invalid request: ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		if p.Row > 0 {
			fmt.Fprintf(&b, "row %d, ", p.Row)
		}
		if p.Field != "" {
			fmt.Fprintf(&b, "%s %q: ", p.Field, p.Value)
		}
		b.WriteString(p.Reason)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrValidation) true.
func (e *ValidationError) Is(target error) bool { return target == ErrValidation }

// Unwrap returns the errors behind the problems, so that errors.Is finds
// the domain's sentinels through a ValidationError.
func (e *ValidationError) Unwrap() []error {
	var out []error
	for _, p := range e.Problems {
		if p.Err != nil {
			out = append(out, p.Err)
		}
	}
	return out
}

// ForbiddenError says what a principal was refused.
type ForbiddenError struct {
	Actor  string
	Role   access.Role
	Action string // the command, e.g. "set target"
	Reason string // why, for people
}

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("planning: %s (%s) may not %s: %s", e.Actor, e.Role, e.Action, e.Reason)
}

// Is makes errors.Is(err, ErrForbidden) true.
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }

// problems collects Problems.
type problems struct{ list []Problem }

func (ps *problems) add(row int, field, value, reason string, err error) {
	ps.list = append(ps.list, Problem{Row: row, Field: field, Value: value, Reason: reason, Err: err})
}

// addErr adds every leaf of err (joined errors split) as a problem of row
// and field.
func (ps *problems) addErr(row int, field, value string, err error) {
	for _, e := range leaves(err) {
		f := field
		if f == "" {
			f = fieldOf(e)
		}
		ps.add(row, f, value, e.Error(), e)
	}
}

func (ps *problems) empty() bool { return len(ps.list) == 0 }

func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps.list}
}

// leaves splits joined errors into the errors they join, recursively.
func leaves(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		if _, isValidation := err.(*ValidationError); !isValidation {
			var out []error
			for _, e := range j.Unwrap() {
				out = append(out, leaves(e)...)
			}
			return out
		}
	}
	return []error{err}
}
