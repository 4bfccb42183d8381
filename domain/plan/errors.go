package plan

import (
	"errors"
	"fmt"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
)

// Sentinel errors of the Plan commands, returned wrapped (in a
// *TargetError where a target is concerned) and joined when a command finds
// several problems. Check them with errors.Is.
var (
	// ErrNotOpened is returned by a command on a plan not yet opened.
	ErrNotOpened = errors.New("plan: not opened")
	// ErrAlreadyOpened is returned by Open on a plan already opened (or
	// opened and discarded: plan ids are not reused).
	ErrAlreadyOpened = errors.New("plan: already opened")
	// ErrInUse is returned by Discard for a plan that holds targets,
	// reallocations, version tags or approvals.
	ErrInUse = errors.New("plan: in use")
	// ErrInvalid is returned by Open for a bad field, and by the other
	// commands for a bad identifier, tag or amount.
	ErrInvalid = errors.New("plan: invalid argument")
	// ErrReasonRequired is returned when a change comes without a reason.
	ErrReasonRequired = errors.New("plan: a reason is required")
	// ErrActorRequired is returned when a command comes without its actor.
	ErrActorRequired = errors.New("plan: the acting principal is required")
	// ErrUnknownMetric is returned for a metric the plan does not measure.
	ErrUnknownMetric = errors.New("plan: unknown metric")
	// ErrUnknownDimension is returned for a node naming a dimension the
	// plan does not use.
	ErrUnknownDimension = errors.New("plan: unknown dimension")
	// ErrInvalidSpan is returned for a span that is not a month, fiscal
	// quarter or fiscal year of the plan's calendar.
	ErrInvalidSpan = errors.New("plan: span is not a month, fiscal quarter or fiscal year")
	// ErrTargetExists is returned by SetTarget for a target already set.
	ErrTargetExists = errors.New("plan: target already set (revise it)")
	// ErrNoTarget is returned for a target that is not set.
	ErrNoTarget = errors.New("plan: no such target")
	// ErrNegative is returned when a metric that cannot be negative would
	// get a negative target.
	ErrNegative = errors.New("plan: negative amount for a non-negative metric")
	// ErrUnchanged is returned by ReviseTarget when the amount is the
	// target's current amount.
	ErrUnchanged = errors.New("plan: amount unchanged")
	// ErrUnbalanced is returned for a reallocation whose deltas do not sum
	// to zero.
	ErrUnbalanced = errors.New("plan: reallocation deltas do not sum to zero")
	// ErrReallocationExists is returned when a reallocation id is reused.
	ErrReallocationExists = errors.New("plan: reallocation id already used")
	// ErrUnknownReallocation is returned for a reallocation never proposed.
	ErrUnknownReallocation = errors.New("plan: unknown reallocation")
	// ErrReallocationClosed is returned when approving or rejecting a
	// reallocation already approved or rejected.
	ErrReallocationClosed = errors.New("plan: reallocation already decided")
	// ErrReallocationPending is returned when a proposal moves a target that
	// an open reallocation already moves.
	ErrReallocationPending = errors.New("plan: target is in an open reallocation")
	// ErrSelfApproval is returned when the proposer approves their own
	// reallocation.
	ErrSelfApproval = errors.New("plan: the proposer may not approve their own reallocation")
	// ErrTargetChanged is returned by ApproveReallocation when a target it
	// moves was revised or cleared after the proposal.
	ErrTargetChanged = errors.New("plan: target changed since the proposal")
	// ErrTagExists is returned when a tag name is already used.
	ErrTagExists = errors.New("plan: tag already used")
	// ErrUnknownTag is returned by ApproveVersion for a tag never given.
	ErrUnknownTag = errors.New("plan: unknown tag")
	// ErrUnknownVersion is returned by ApproveVersion for a version the plan
	// has not reached.
	ErrUnknownVersion = errors.New("plan: no such version")
	// ErrStale matches every *StaleError.
	ErrStale = errors.New("plan: changed since the version seen")
)

// TargetError says which target a command rejected and why.
type TargetError struct {
	Node   dimension.Node
	Metric string
	Span   fiscal.Span
	Reason string // what is wrong, for people
	Err    error  // one of the sentinel errors
	label  string // the span in the plan's calendar notation
}

func (e *TargetError) Error() string {
	node := e.Node.String()
	if node == "" {
		node = "total"
	}
	return fmt.Sprintf("plan: target %s / %s / %s: %s", node, e.Metric, e.label, e.Reason)
}

func (e *TargetError) Unwrap() error { return e.Err }

// StaleError reports an approval of a version that no longer shows the
// plan's numbers: they changed at version ChangedAt, after version Seen.
type StaleError struct {
	Seen      uint64 // the version the approver saw (or the tag names)
	Tag       string // the tag approved, if any
	ChangedAt uint64 // the version of the last change of the numbers
	Current   uint64 // the plan's version
}

func (e *StaleError) Error() string {
	what := fmt.Sprintf("version %d", e.Seen)
	if e.Tag != "" {
		what = fmt.Sprintf("tag %q (version %d)", e.Tag, e.Seen)
	}
	return fmt.Sprintf("plan: %s is stale: the numbers changed at version %d (plan now at version %d); review the plan again", what, e.ChangedAt, e.Current)
}

// Is makes errors.Is(err, ErrStale) true for a *StaleError.
func (e *StaleError) Is(target error) bool { return target == ErrStale }
