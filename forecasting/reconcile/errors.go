package reconcile

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrStructure is wrapped by NewStructure for invalid dimension trees or
	// cells: unknown or duplicate members, cycles, cells that are not leaves.
	ErrStructure = errors.New("reconcile: invalid structure")
	// ErrShape is returned when a matrix does not match the structure, e.g. base
	// forecasts without one row per node.
	ErrShape = errors.New("reconcile: dimension mismatch")
	// ErrLevel is returned for a middle-out level that does not exist.
	ErrLevel = errors.New("reconcile: invalid level")
	// ErrInput is returned for missing or invalid inputs: NaN forecasts,
	// non-positive variances, too few residuals, unknown methods.
	ErrInput = errors.New("reconcile: invalid input")
	// ErrNotConverged is returned when an iterative solver (conjugate gradient,
	// the non-negative active-set iteration) stops without converging.
	ErrNotConverged = errors.New("reconcile: solver did not converge")
	// ErrSingular is returned when a covariance or constraint system is not
	// positive definite and cannot be made so.
	ErrSingular = errors.New("reconcile: singular system")
	// ErrConflict is wrapped by ConflictError: targets that cannot all be met.
	ErrConflict = errors.New("reconcile: conflicting targets")
	// ErrNotLinear is returned when a probabilistic method needs a linear
	// reconciliation and the chosen method (forecast proportions, non-negative)
	// is not.
	ErrNotLinear = errors.New("reconcile: method is not linear")
	// ErrTarget is returned for a malformed target: unknown node, empty or
	// out-of-range span, non-finite value, negative weight, duplicate ID.
	ErrTarget = errors.New("reconcile: invalid target")
)

// Conflict is one set of targets that cannot be met together.
type Conflict struct {
	// Targets lists the IDs of the targets involved.
	Targets []string
	// Reason says what is wrong, e.g. "linearly dependent and inconsistent".
	Reason string
}

// ConflictError reports every conflict found among the targets. It wraps
// ErrConflict; use errors.As to read the conflicts.
type ConflictError struct {
	Conflicts []Conflict
}

func (e *ConflictError) Error() string {
	parts := make([]string, len(e.Conflicts))
	for i, c := range e.Conflicts {
		parts[i] = fmt.Sprintf("%s (targets %s)", c.Reason, strings.Join(c.Targets, ", "))
	}
	return fmt.Sprintf("%v: %s", ErrConflict, strings.Join(parts, "; "))
}

// Unwrap returns ErrConflict.
func (e *ConflictError) Unwrap() error { return ErrConflict }
