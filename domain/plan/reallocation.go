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

// Status is where a reallocation stands.
type Status string

// The statuses of a reallocation.
const (
	StatusOpen     Status = "open"
	StatusApproved Status = "approved"
	StatusRejected Status = "rejected"
)

// Reallocation is a read-only view of a reallocation.
type Reallocation struct {
	ReallocationProposed
	Status         Status
	ProposedAt     uint64 // plan version of the proposal
	DecidedBy      string // who approved or rejected it
	DecisionReason string // why it was rejected

	// A proposal of changes (ChangesProposed, from a scenario) has no
	// metric, span nor moves but Changes, made at plan version Basis.
	Scenario string
	Changes  []Change
	Basis    uint64
}

// reallocation is a proposal's state; basis holds, per move, the version
// at which its target was last changed when the proposal was made.
type reallocation struct {
	Reallocation
	basis []uint64
	from  []decimal.Decimal
}

func (p *Plan) applyProposed(e ReallocationProposed) {
	r := &reallocation{Reallocation: Reallocation{ReallocationProposed: e, Status: StatusOpen, ProposedAt: p.version}}
	r.Moves = slices.Clone(e.Moves)
	for _, m := range e.Moves {
		k := targetKey{m.Node, e.Metric, e.Span}
		var t target
		if cur := p.targets.get(k); cur != nil {
			t = *cur
		}
		r.basis = append(r.basis, t.changedAt)
		r.from = append(r.from, t.amount)
		p.pending[k] = e.ID
	}
	p.reallocs[e.ID] = r
	p.order = append(p.order, e.ID)
}

func (p *Plan) decide(id string, s Status, by, reason string) {
	r := p.reallocs[id]
	if r == nil {
		return
	}
	r.Status, r.DecidedBy, r.DecisionReason = s, by, reason
	for _, m := range r.Moves {
		k := targetKey{m.Node, r.Metric, r.Span}
		if p.pending[k] == id {
			delete(p.pending, k)
		}
	}
	for _, c := range r.Changes {
		if k := (targetKey{c.Node, c.Metric, c.Span}); p.pending[k] == id {
			delete(p.pending, k)
		}
	}
}

// ProposeReallocation records proposal id by actor by to change the
// targets of metric and span by the deltas of moves, for reason. It
// returns ErrNotOpened, or every problem at once: ErrInvalid (a bad id, fewer
// than two moves, a zero delta, a node twice, an overflowing sum),
// ErrReallocationExists, ErrUnknownMetric, ErrInvalidSpan,
// ErrUnknownDimension, ErrNoTarget (a node without a target for metric and
// span), ErrReallocationPending (a target already moved by another open
// reallocation: each target takes part in at most one open reallocation,
// so that approving one never silently invalidates another), ErrNegative
// (a non-negative metric's target would fall below zero), ErrUnbalanced
// (the deltas do not sum to exactly zero), ErrReasonRequired,
// ErrActorRequired.
func (p *Plan) ProposeReallocation(id, metric string, span fiscal.Span, moves []Move, reason, by string) error {
	if err := p.opened(); err != nil {
		return err
	}
	var errs []error
	switch {
	case !dimension.ValidID(id):
		errs = append(errs, fmt.Errorf("%w: reallocation id %q must be 1 to %d letters, digits, '_', '.' or '-', starting with a letter or digit", ErrInvalid, id, dimension.MaxIDLen))
	case p.reallocs[id] != nil:
		errs = append(errs, fmt.Errorf("%w: %q was proposed by %s", ErrReallocationExists, id, p.reallocs[id].By))
	}
	errs = append(errs, p.checkMoves(metric, span, moves, true)...)
	errs = append(errs, text.Check("reason", reason, MaxTextLen, ErrReasonRequired, ErrInvalid), text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	p.record(ReallocationProposed{ID: id, Metric: metric, Span: span, Moves: slices.Clone(moves), Reason: strings.TrimSpace(reason), By: by})
	return nil
}

// checkMoves returns every problem of moving target of metric and span by
// moves (see ProposeReallocation); with pending, a target an open
// reallocation moves is one.
func (p *Plan) checkMoves(metric string, span fiscal.Span, moves []Move, pending bool) []error {
	var errs []error
	if len(moves) < 2 {
		errs = append(errs, fmt.Errorf("%w: a reallocation moves target between at least two nodes, got %d", ErrInvalid, len(moves)))
	}
	addressing := p.checkMetricSpan(metric, span)
	errs = append(errs, addressing...)
	seen := map[dimension.Node]bool{}
	deltas := make([]decimal.Decimal, 0, len(moves))
	for _, m := range moves {
		k := targetKey{m.Node, metric, span}
		deltas = append(deltas, m.Delta)
		if seen[m.Node] {
			errs = append(errs, p.targetErr(k, ErrInvalid, "node appears twice in the reallocation"))
			continue
		}
		seen[m.Node] = true
		if m.Delta.IsZero() {
			errs = append(errs, p.targetErr(k, ErrInvalid, "delta is zero; leave the node out"))
		}
		nodeErrs := p.checkNode(k)
		errs = append(errs, nodeErrs...)
		if len(addressing)+len(nodeErrs) > 0 {
			continue
		}
		t := p.targets.get(k)
		if t == nil {
			errs = append(errs, p.targetErr(k, ErrNoTarget, "no target is set; only set targets can be reallocated"))
			continue
		}
		if other, ok := p.pending[k]; ok && pending {
			errs = append(errs, p.targetErr(k, ErrReallocationPending, "reallocation %q, still open, already moves it; approve or reject that first", other))
		}
		after, err := t.amount.Add(m.Delta)
		if err != nil {
			errs = append(errs, p.targetErr(k, ErrInvalid, "%v + %v: %v", t.amount, m.Delta, err))
			continue
		}
		if err := p.checkAmount(k, after); err != nil {
			errs = append(errs, p.targetErr(k, ErrNegative, "%v %+v would leave %v, and metric %q cannot be negative", t.amount, m.Delta, after, metric))
		}
	}
	if sum, err := decimal.Sum(deltas...); err != nil {
		errs = append(errs, fmt.Errorf("%w: sum of deltas: %v", ErrInvalid, err))
	} else if !sum.IsZero() {
		errs = append(errs, fmt.Errorf("%w: they sum to %v, so the total would change", ErrUnbalanced, sum))
	}
	return errs
}

// Reallocate records the moves of target of metric and span at once, as
// one TargetRevised per move (in the order of the moves) by actor by with
// reason "reallocation: <reason>": the reallocation of a scenario (see
// package scenario), whose changes reach the plan only through a
// proposal. It checks what ProposeReallocation checks but the id and the
// reallocations open in the plan, and returns the same errors.
func (p *Plan) Reallocate(metric string, span fiscal.Span, moves []Move, reason, by string) error {
	if err := p.opened(); err != nil {
		return err
	}
	errs := p.checkMoves(metric, span, moves, false)
	errs = append(errs, text.Check("reason", reason, MaxTextLen, ErrReasonRequired, ErrInvalid), text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, m := range moves {
		t := p.targets.get(targetKey{m.Node, metric, span})
		to, _ := t.amount.Add(m.Delta) // checked
		p.record(TargetRevised{Node: m.Node, Metric: metric, Span: span, From: t.amount, To: to,
			Reason: "reallocation: " + strings.TrimSpace(reason), By: by})
	}
	return nil
}

// open returns reallocation id if it is open.
func (p *Plan) open(id string) (*reallocation, error) {
	if err := p.opened(); err != nil {
		return nil, err
	}
	r := p.reallocs[id]
	switch {
	case r == nil:
		return nil, fmt.Errorf("%w: %q", ErrUnknownReallocation, id)
	case r.Status != StatusOpen:
		return nil, fmt.Errorf("%w: %q was %s by %s", ErrReallocationClosed, id, r.Status, r.DecidedBy)
	}
	return r, nil
}

// ApproveReallocation records the approval of open reallocation id by actor
// by with an optional comment, followed by one TargetRevised per move, in
// the order of the moves, each by the approver with reason
// "reallocation <id>: <reason>". It
// returns ErrNotOpened, ErrUnknownReallocation, ErrReallocationClosed,
// ErrActorRequired, ErrSelfApproval (by is the proposer), or
// ErrTargetChanged for every target revised or cleared since the proposal.
// A proposal of changes (ProposeChanges) is approved the same way: its
// changes are recorded as TargetSet, TargetRevised or TargetCleared, and
// ErrTargetChanged is returned for every target changed after the plan
// version it was made at.
func (p *Plan) ApproveReallocation(id, by, comment string) error {
	r, err := p.open(id)
	if err != nil {
		return err
	}
	if err := text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid); err != nil {
		return err
	}
	comment = strings.TrimSpace(comment)
	if comment != "" {
		if err := text.Check("comment", comment, MaxTextLen, ErrInvalid, ErrInvalid); err != nil {
			return err
		}
	}
	if by == r.By {
		return fmt.Errorf("%w: %q was proposed by %s", ErrSelfApproval, id, by)
	}
	if len(r.Changes) > 0 {
		return p.approveChanges(r, by, comment)
	}
	var errs []error
	revisions := make([]TargetRevised, 0, len(r.Moves))
	for i, m := range r.Moves {
		k := targetKey{m.Node, r.Metric, r.Span}
		t := p.targets.get(k)
		switch {
		case t == nil:
			errs = append(errs, p.targetErr(k, ErrTargetChanged, "cleared after the proposal (it was %v)", r.from[i]))
			continue
		case t.changedAt != r.basis[i]:
			errs = append(errs, p.targetErr(k, ErrTargetChanged, "changed at version %d, after the proposal: now %v, was %v", t.changedAt, t.amount, r.from[i]))
			continue
		}
		to, err := t.amount.Add(m.Delta)
		if err != nil {
			errs = append(errs, p.targetErr(k, ErrInvalid, "%v + %v: %v", t.amount, m.Delta, err))
			continue
		}
		revisions = append(revisions, TargetRevised{Node: m.Node, Metric: r.Metric, Span: r.Span, From: t.amount, To: to,
			Reason: fmt.Sprintf("reallocation %s: %s", id, r.Reason), By: by})
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("plan: reallocation %q cannot be approved: %w", id, err)
	}
	p.record(ReallocationApproved{ID: id, By: by, Comment: comment})
	for _, rev := range revisions {
		p.record(rev)
	}
	return nil
}

// RejectReallocation records that open reallocation id will not be
// applied, by actor by (the proposer may withdraw their own) for reason.
// It returns ErrNotOpened, ErrUnknownReallocation, ErrReallocationClosed,
// ErrReasonRequired or ErrActorRequired.
func (p *Plan) RejectReallocation(id, by, reason string) error {
	if _, err := p.open(id); err != nil {
		return err
	}
	if err := errors.Join(text.Check("reason", reason, MaxTextLen, ErrReasonRequired, ErrInvalid), text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid)); err != nil {
		return err
	}
	p.record(ReallocationRejected{ID: id, By: by, Reason: strings.TrimSpace(reason)})
	return nil
}

// Reallocation returns reallocation id and whether it was proposed.
func (p *Plan) Reallocation(id string) (Reallocation, bool) {
	r := p.reallocs[id]
	if r == nil {
		return Reallocation{}, false
	}
	v := r.Reallocation
	v.Moves, v.Changes = slices.Clone(v.Moves), slices.Clone(v.Changes)
	return v, true
}

// Reallocations returns every reallocation in the order proposed.
func (p *Plan) Reallocations() []Reallocation {
	out := make([]Reallocation, 0, len(p.order))
	for _, id := range p.order {
		v, _ := p.Reallocation(id)
		out = append(out, v)
	}
	return out
}
