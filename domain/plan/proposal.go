package plan

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/text"
)

// Change is one target of a ChangesProposed: From is its amount when the
// proposal was made (nil: no target was set), To the amount proposed (nil:
// clear it).
type Change struct {
	Node   dimension.Node   `json:"node"`
	Metric string           `json:"metric"`
	Span   fiscal.Span      `json:"span"`
	From   *decimal.Decimal `json:"from,omitempty"`
	To     *decimal.Decimal `json:"to,omitempty"`
}

// ChangesProposed records a proposal to set, revise or clear several
// targets at once, as a scenario's target changes are promoted: proposal
// ID, made at plan version Version (the version of the plan's last event
// before it) from scenario Scenario. It is approved or rejected as a
// reallocation is (ReallocationApproved, ReallocationRejected): its
// approval is followed, in the same append, by one target event per
// change.
type ChangesProposed struct {
	ID       string   `json:"id"`
	Scenario string   `json:"scenario"`
	Version  uint64   `json:"version"`
	Changes  []Change `json:"changes"`
	Reason   string   `json:"reason"`
	By       string   `json:"by"`
}

func (ChangesProposed) planEvent() {}

func (p *Plan) applyChangesProposed(e ChangesProposed) {
	r := &reallocation{Reallocation: Reallocation{
		ReallocationProposed: ReallocationProposed{ID: e.ID, Reason: e.Reason, By: e.By},
		Status:               StatusOpen, ProposedAt: p.version,
		Scenario: e.Scenario, Changes: slices.Clone(e.Changes), Basis: e.Version,
	}}
	for _, c := range e.Changes {
		p.pending[targetKey{c.Node, c.Metric, c.Span}] = e.ID
	}
	p.reallocs[e.ID] = r
	p.order = append(p.order, e.ID)
}

func sameAmount(a *decimal.Decimal, t *target) bool {
	switch {
	case a == nil || t == nil:
		return a == nil && t == nil
	default:
		return a.Equal(t.amount)
	}
}

// ProposeChanges records proposal id by actor by, from scenario scenario,
// to change the targets as changes say, for reason. Each change's From
// must be the target as the plan holds it now (nil: not set): the proposal
// is bound to the plan's current version, and its approval fails for a
// target changed after it. It returns ErrNotOpened, or every problem at
// once: ErrInvalid (a bad id or scenario id, no change, a target twice, a
// change from nothing to nothing or to the same amount),
// ErrReallocationExists, ErrUnknownMetric, ErrInvalidSpan,
// ErrUnknownDimension, ErrTargetChanged (From is not the target's
// amount), ErrReallocationPending, ErrNegative, ErrReasonRequired,
// ErrActorRequired.
func (p *Plan) ProposeChanges(id, scenario string, changes []Change, reason, by string) error {
	if err := p.opened(); err != nil {
		return err
	}
	var errs []error
	switch {
	case !dimension.ValidID(id):
		errs = append(errs, fmt.Errorf("%w: proposal id %q must be 1 to %d letters, digits, '_', '.' or '-', starting with a letter or digit", ErrInvalid, id, dimension.MaxIDLen))
	case p.reallocs[id] != nil:
		errs = append(errs, fmt.Errorf("%w: %q was proposed by %s", ErrReallocationExists, id, p.reallocs[id].By))
	}
	if !dimension.ValidID(scenario) {
		errs = append(errs, fmt.Errorf("%w: scenario id %q", ErrInvalid, scenario))
	}
	if len(changes) == 0 {
		errs = append(errs, fmt.Errorf("%w: a proposal changes at least one target", ErrInvalid))
	}
	seen := map[targetKey]bool{}
	for _, c := range changes {
		k := targetKey{c.Node, c.Metric, c.Span}
		if seen[k] {
			errs = append(errs, p.targetErr(k, ErrInvalid, "target appears twice in the proposal"))
			continue
		}
		seen[k] = true
		if addressing := p.checkTarget(k); len(addressing) > 0 {
			errs = append(errs, addressing...)
			continue
		}
		t := p.targets.get(k)
		switch {
		case c.From == nil && c.To == nil:
			errs = append(errs, p.targetErr(k, ErrInvalid, "a change from no target to no target changes nothing"))
		case c.From != nil && c.To != nil && c.From.Equal(*c.To):
			errs = append(errs, p.targetErr(k, ErrInvalid, "a change from %v to %v changes nothing", *c.From, *c.To))
		case !sameAmount(c.From, t):
			now := "not set"
			if t != nil {
				now = t.amount.String()
			}
			errs = append(errs, p.targetErr(k, ErrTargetChanged, "the proposal starts from %s, but the target is %s", amountText(c.From), now))
		}
		if other, ok := p.pending[k]; ok {
			errs = append(errs, p.targetErr(k, ErrReallocationPending, "proposal %q, still open, already changes it; approve or reject that first", other))
		}
		if c.To != nil {
			errs = append(errs, p.checkAmount(k, *c.To))
		}
	}
	errs = append(errs, text.Check("reason", reason, MaxTextLen, ErrReasonRequired, ErrInvalid), text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	p.record(ChangesProposed{ID: id, Scenario: scenario, Version: p.version, Changes: slices.Clone(changes), Reason: strings.TrimSpace(reason), By: by})
	return nil
}

func amountText(a *decimal.Decimal) string {
	if a == nil {
		return "no target"
	}
	return a.String()
}

// approveChanges is ApproveReallocation of a ChangesProposed: every target
// must be as it was at the proposal's version; then the approval and one
// TargetSet, TargetRevised or TargetCleared per change are recorded, by
// the approver, with reason "scenario <scenario> (proposal <id>): <reason>".
func (p *Plan) approveChanges(r *reallocation, by, comment string) error {
	var errs []error
	events := make([]Event, 0, len(r.Changes))
	reason := fmt.Sprintf("scenario %s (proposal %s): %s", r.Scenario, r.ID, r.Reason)
	for _, c := range r.Changes {
		k := targetKey{c.Node, c.Metric, c.Span}
		t := p.targets.get(k)
		switch {
		case c.From == nil && t != nil:
			errs = append(errs, p.targetErr(k, ErrTargetChanged, "set to %v at version %d, after the proposal", t.amount, t.changedAt))
			continue
		case c.From != nil && t == nil:
			errs = append(errs, p.targetErr(k, ErrTargetChanged, "cleared after the proposal (it was %v)", *c.From))
			continue
		case t != nil && t.changedAt > r.Basis:
			errs = append(errs, p.targetErr(k, ErrTargetChanged, "changed at version %d, after the proposal (version %d): now %v, was %v", t.changedAt, r.Basis, t.amount, *c.From))
			continue
		}
		switch {
		case c.To == nil:
			events = append(events, TargetCleared{Node: c.Node, Metric: c.Metric, Span: c.Span, From: t.amount, Reason: reason, By: by})
		case t == nil:
			events = append(events, TargetSet{Node: c.Node, Metric: c.Metric, Span: c.Span, Amount: *c.To, Reason: reason, By: by})
		default:
			events = append(events, TargetRevised{Node: c.Node, Metric: c.Metric, Span: c.Span, From: t.amount, To: *c.To, Reason: reason, By: by})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("plan: proposal %q cannot be approved: %w", r.ID, err)
	}
	p.record(ReallocationApproved{ID: r.ID, By: by, Comment: comment})
	for _, e := range events {
		p.record(e)
	}
	return nil
}
