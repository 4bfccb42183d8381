package scenario

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/text"
)

// MaxTextLen is the longest reason or actor, in bytes.
const MaxTextLen = 2000

// MaxChanges is the most own events one scenario holds: a scenario is an
// alternative to reason about, not a second plan.
const MaxChanges = 10000

// Sentinel errors of the Book commands, returned wrapped and joined when a
// command finds several problems. Check them with errors.Is.
var (
	// ErrInvalid is returned for a bad scenario id or name, a base the plan
	// did not exist at, and an event a scenario cannot hold.
	ErrInvalid = errors.New("scenario: invalid argument")
	// ErrWrongPlan is returned for a scenario of another plan than the
	// book's.
	ErrWrongPlan = errors.New("scenario: scenario of another plan")
	// ErrExists is returned by Open for a scenario id already used.
	ErrExists = errors.New("scenario: scenario id already used")
	// ErrUnknown is returned for a scenario never opened.
	ErrUnknown = errors.New("scenario: unknown scenario")
	// ErrClosed is returned by a command to a scenario discarded or
	// promoted.
	ErrClosed = errors.New("scenario: scenario is closed")
	// ErrTooManyChanges is returned by Record beyond MaxChanges.
	ErrTooManyChanges = errors.New("scenario: too many changes")
	// ErrReasonRequired is returned by Discard without a reason.
	ErrReasonRequired = errors.New("scenario: a reason is required")
	// ErrActorRequired is returned when a command comes without its actor.
	ErrActorRequired = errors.New("scenario: the acting principal is required")
)

// Stream returns the name of the event stream of plan planID's scenarios.
func Stream(planID string) string { return "scenarios-" + planID }

// Status is where a scenario stands.
type Status string

// The statuses of a scenario.
const (
	StatusOpen      Status = "open"
	StatusDiscarded Status = "discarded"
	StatusPromoted  Status = "promoted"
)

// Scenario is a read-only view of a scenario's header.
type Scenario struct {
	Opened
	Status      Status
	Changes     int    // own events: target and commit changes, assumptions
	Proposal    string // the plan's proposal it was promoted as
	PlanVersion uint64 // the plan version the proposal was made at
	ClosedBy    string // who discarded or promoted it
	Reason      string // why it was discarded
}

type entry struct {
	Scenario
	plan    []plan.Event
	commits []commit.Event
	shocks  []ShockAssumed
	methods []MethodAssumed // in order
}

// Book is the aggregate of one plan's scenarios. Its zero value is not
// usable; use New.
type Book struct {
	plan    string
	byID    map[string]*entry
	order   []string
	changes []Event
}

var _ eventstore.Aggregate[Event] = (*Book)(nil)

// New returns an empty book, to replay events into or to open scenarios in.
func New() *Book { return &Book{byID: map[string]*entry{}} }

// Apply changes the book's state by one event. It never validates and
// never fails: events are facts.
func (b *Book) Apply(e Event) {
	switch e := e.(type) {
	case Opened:
		b.plan = e.Plan
		b.byID[e.ID] = &entry{Scenario: Scenario{Opened: e, Status: StatusOpen}}
		b.order = append(b.order, e.ID)
	case TargetSet:
		b.addPlan(e.Scenario, e.TargetSet)
	case TargetRevised:
		b.addPlan(e.Scenario, e.TargetRevised)
	case TargetCleared:
		b.addPlan(e.Scenario, e.TargetCleared)
	case EstimatePolicySet:
		b.addPlan(e.Scenario, e.EstimatePolicySet)
	case CommitSubmitted:
		b.addCommit(e.Scenario, e.Submitted)
	case CommitWithdrawn:
		b.addCommit(e.Scenario, e.Withdrawn)
	case Discarded:
		if s := b.byID[e.ID]; s != nil {
			s.Status, s.ClosedBy, s.Reason = StatusDiscarded, e.By, e.Reason
		}
	case Promoted:
		if s := b.byID[e.ID]; s != nil {
			s.Status, s.ClosedBy, s.Proposal, s.PlanVersion = StatusPromoted, e.By, e.Proposal, e.PlanVersion
		}
	case Rebased:
		if s := b.byID[e.ID]; s != nil {
			s.Base, s.BaseVersion, s.BookVersion = e.Base, e.BaseVersion, e.BookVersion
		}
	case ShockAssumed:
		if s := b.byID[e.Scenario]; s != nil {
			s.shocks = append(s.shocks, e)
			s.Changes++
		}
	case MethodAssumed:
		if s := b.byID[e.Scenario]; s != nil {
			s.methods = append(s.methods, e)
			s.Changes++
		}
	}
}

func (b *Book) addPlan(id string, e plan.Event) {
	if s := b.byID[id]; s != nil {
		s.plan = append(s.plan, e)
		s.Changes++
	}
}

func (b *Book) addCommit(id string, e commit.Event) {
	if s := b.byID[id]; s != nil {
		s.commits = append(s.commits, e)
		s.Changes++
	}
}

// Changes returns the events recorded by commands since the book was
// created or loaded.
func (b *Book) Changes() []Event { return b.changes }

func (b *Book) record(e Event) {
	b.Apply(e)
	b.changes = append(b.changes, e)
}

// Open records scenario o. It returns every problem at once: ErrInvalid
// (a bad plan or scenario id, a blank or too long name, a base version of
// 0: the plan did not exist at the base), ErrWrongPlan, ErrExists,
// ErrActorRequired. The name is trimmed.
func (b *Book) Open(o Opened) error {
	var errs []error
	if !dimension.ValidID(o.Plan) {
		errs = append(errs, fmt.Errorf("%w: plan id %q", ErrInvalid, o.Plan))
	} else if b.plan != "" && b.plan != o.Plan {
		errs = append(errs, fmt.Errorf("%w: the book holds the scenarios of plan %q, not %q", ErrWrongPlan, b.plan, o.Plan))
	}
	switch {
	case !dimension.ValidID(o.ID):
		errs = append(errs, fmt.Errorf("%w: scenario id %q must be 1 to %d letters, digits, '_', '.' or '-', starting with a letter or digit", ErrInvalid, o.ID, dimension.MaxIDLen))
	case b.byID[o.ID] != nil:
		errs = append(errs, fmt.Errorf("%w: %q was opened by %s", ErrExists, o.ID, b.byID[o.ID].By))
	}
	if !dimension.ValidName(o.Name) {
		errs = append(errs, fmt.Errorf("%w: scenario name %q must not be blank nor longer than %d bytes", ErrInvalid, o.Name, dimension.MaxNameLen))
	}
	if o.BaseVersion == 0 {
		errs = append(errs, fmt.Errorf("%w: plan %q had not been opened at log position %s", ErrInvalid, o.Plan, o.Base))
	}
	if len(o.From) > MaxTextLen {
		errs = append(errs, fmt.Errorf("%w: from is longer than %d bytes", ErrInvalid, MaxTextLen))
	}
	errs = append(errs, text.Check("actor", o.By, MaxTextLen, ErrActorRequired, ErrInvalid))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	o.Name = strings.TrimSpace(o.Name)
	b.record(o)
	return nil
}

// open returns open scenario id.
func (b *Book) open(id string) (*entry, error) {
	s := b.byID[id]
	switch {
	case s == nil:
		return nil, fmt.Errorf("%w: %q", ErrUnknown, id)
	case s.Status != StatusOpen:
		return nil, fmt.Errorf("%w: %q was %s by %s", ErrClosed, id, s.Status, s.ClosedBy)
	}
	return s, nil
}

// Record records, in open scenario id, the events a plan replayed as the
// scenario (see the package comment) recorded for a command: target
// events, and commit submissions and withdrawals. It records nothing for
// no events. It returns ErrUnknown, ErrClosed, ErrTooManyChanges, or
// ErrInvalid for any other event (a scenario changes targets and commits
// only; a reallocation in a scenario is recorded as its target revisions).
func (b *Book) Record(id string, events []any) error {
	s, err := b.open(id)
	if err != nil {
		return err
	}
	if s.Changes+len(events) > MaxChanges {
		return fmt.Errorf("%w: scenario %q holds %d changes, at most %d", ErrTooManyChanges, id, s.Changes, MaxChanges)
	}
	out := make([]Event, 0, len(events))
	var errs []error
	for _, e := range events {
		switch e := e.(type) {
		case plan.TargetSet:
			out = append(out, TargetSet{Scenario: id, TargetSet: e})
		case plan.TargetRevised:
			out = append(out, TargetRevised{Scenario: id, TargetRevised: e})
		case plan.TargetCleared:
			out = append(out, TargetCleared{Scenario: id, TargetCleared: e})
		case plan.EstimatePolicySet:
			out = append(out, EstimatePolicySet{Scenario: id, EstimatePolicySet: e})
		case commit.Submitted:
			out = append(out, CommitSubmitted{Scenario: id, Submitted: e})
		case commit.Withdrawn:
			out = append(out, CommitWithdrawn{Scenario: id, Withdrawn: e})
		default:
			errs = append(errs, fmt.Errorf("%w: a scenario records target, estimate policy and commit changes, not %T", ErrInvalid, e))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, e := range out {
		b.record(e)
	}
	return nil
}

// Discard records that open scenario id is given up, by actor by for
// reason. It returns ErrUnknown, ErrClosed, ErrReasonRequired,
// ErrActorRequired.
func (b *Book) Discard(id, reason, by string) error {
	if _, err := b.open(id); err != nil {
		return err
	}
	if err := errors.Join(text.Check("reason", reason, MaxTextLen, ErrReasonRequired, ErrInvalid), text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid)); err != nil {
		return err
	}
	b.record(Discarded{ID: id, Reason: strings.TrimSpace(reason), By: by})
	return nil
}

// Promote records that open scenario id was proposed to the plan as
// proposal, made at plan version planVersion, by actor by. It returns
// ErrUnknown, ErrClosed, ErrInvalid (a bad proposal id, no target change),
// ErrActorRequired.
func (b *Book) Promote(id, proposal string, planVersion uint64, by string) error {
	s, err := b.open(id)
	if err != nil {
		return err
	}
	var errs []error
	if !dimension.ValidID(proposal) {
		errs = append(errs, fmt.Errorf("%w: proposal id %q", ErrInvalid, proposal))
	}
	if len(s.plan) == 0 {
		errs = append(errs, fmt.Errorf("%w: scenario %q changes no target, so there is nothing to promote", ErrInvalid, id))
	}
	errs = append(errs, text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	b.record(Promoted{ID: id, Proposal: proposal, PlanVersion: planVersion, By: by})
	return nil
}

// Rebase records that open scenario id now branches from log position
// base, where the plan's stream was at baseVersion and its commits' at
// bookVersion, by actor by. It records nothing when the scenario already
// branches from base. It returns ErrUnknown, ErrClosed, ErrInvalid (a base
// before the current one), ErrActorRequired.
func (b *Book) Rebase(id string, base eventstore.Position, baseVersion, bookVersion uint64, by string) error {
	s, err := b.open(id)
	if err != nil {
		return err
	}
	if err := text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid); err != nil {
		return err
	}
	if base.Before(s.Base) {
		return fmt.Errorf("%w: scenario %q branches from %s; a rebase moves it forward, not to %s", ErrInvalid, id, s.Base, base)
	}
	if base == s.Base {
		return nil
	}
	b.record(Rebased{ID: id, From: s.Base, Base: base, BaseVersion: baseVersion, BookVersion: bookVersion, By: by})
	return nil
}

// Plan returns the id of the plan whose scenarios b holds ("" when none
// was opened).
func (b *Book) Plan() string { return b.plan }

// Scenario returns scenario id and whether it was opened.
func (b *Book) Scenario(id string) (Scenario, bool) {
	s := b.byID[id]
	if s == nil {
		return Scenario{}, false
	}
	return s.Scenario, true
}

// Scenarios returns every scenario in the order opened.
func (b *Book) Scenarios() []Scenario {
	out := make([]Scenario, 0, len(b.order))
	for _, id := range b.order {
		out = append(out, b.byID[id].Scenario)
	}
	return out
}

// PlanEvents returns the target events of scenario id, in order, as the
// plan events they are: replayed with (*plan.Plan).Apply onto the plan at
// the scenario's base version, they give the scenario's plan.
func (b *Book) PlanEvents(id string) []plan.Event {
	if s := b.byID[id]; s != nil {
		return slices.Clone(s.plan)
	}
	return nil
}

// CommitEvents returns the commit events of scenario id, in order, to
// replay with (*commit.Book).Apply onto the plan's commits at the
// scenario's base.
func (b *Book) CommitEvents(id string) []commit.Event {
	if s := b.byID[id]; s != nil {
		return slices.Clone(s.commits)
	}
	return nil
}
