package plan

import (
	"errors"
	"fmt"
	"strings"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/text"
)

// targetErr returns a *TargetError about the target of k.
func (p *Plan) targetErr(k targetKey, err error, format string, args ...any) error {
	return &TargetError{Node: k.node, Metric: k.metric, Span: k.span, Reason: fmt.Sprintf(format, args...), Err: err, label: p.spanLabel(k.span)}
}

func (p *Plan) spanLabel(s fiscal.Span) string {
	if !s.Valid() || p.version == 0 {
		return fmt.Sprintf("%v..%v", s.First, s.Last)
	}
	return p.cal.Format(s)
}

// checkSpan reports whether s is a month, fiscal quarter or fiscal year of
// the plan's calendar.
func (p *Plan) checkSpan(s fiscal.Span) bool {
	if !s.Valid() {
		return false
	}
	switch s.Kind {
	case fiscal.KindMonth:
		return s.First == s.Last
	case fiscal.KindQuarter:
		return s == p.cal.FiscalQuarter(p.cal.Year(s.First), p.cal.Quarter(s.First))
	case fiscal.KindYear:
		return s == p.cal.FiscalYear(p.cal.Year(s.First))
	}
	return false
}

// checkTarget returns every problem with addressing the target of k:
// an unknown metric, a span not of the calendar, a node naming a dimension
// the plan does not use.
func (p *Plan) checkTarget(k targetKey) []error {
	return append(p.checkMetricSpan(k.metric, k.span), p.checkNode(k)...)
}

// checkMetricSpan returns ErrUnknownMetric and ErrInvalidSpan problems.
func (p *Plan) checkMetricSpan(metric string, span fiscal.Span) []error {
	var errs []error
	if _, ok := p.Metric(metric); !ok {
		errs = append(errs, fmt.Errorf("%w: the plan measures no metric %q", ErrUnknownMetric, metric))
	}
	if !p.checkSpan(span) {
		errs = append(errs, fmt.Errorf("%w: span %v..%v (%v) is not one in a fiscal calendar starting in %v", ErrInvalidSpan, span.First, span.Last, span.Kind, p.cal.StartMonth()))
	}
	return errs
}

// checkNode returns ErrUnknownDimension for every dimension of k's node
// the plan does not use.
func (p *Plan) checkNode(k targetKey) []error {
	var errs []error
	for _, c := range k.node.Coords() {
		if !p.usesDimension(c.Dimension) {
			errs = append(errs, p.targetErr(k, ErrUnknownDimension, "the plan does not use dimension %q", c.Dimension))
		}
	}
	return errs
}

func (p *Plan) usesDimension(id string) bool {
	for _, d := range p.dims {
		if d == id {
			return true
		}
	}
	return false
}

// checkAmount returns ErrNegative when a negative amount is given to a
// non-negative metric.
func (p *Plan) checkAmount(k targetKey, amount decimal.Decimal) error {
	if m, ok := p.Metric(k.metric); ok && m.NonNegative && amount.Sign() < 0 {
		return p.targetErr(k, ErrNegative, "metric %q cannot be negative, got %v", k.metric, amount)
	}
	return nil
}

// SetTarget records a new target of amount for node, metric and span, set
// by actor by for reason. It returns ErrNotOpened, or every problem at
// once: ErrUnknownMetric, ErrInvalidSpan, ErrUnknownDimension, ErrNegative,
// ErrReasonRequired, ErrActorRequired, and ErrTargetExists when the target
// is already set (use ReviseTarget).
func (p *Plan) SetTarget(node dimension.Node, metric string, span fiscal.Span, amount decimal.Decimal, reason, by string) error {
	if err := p.opened(); err != nil {
		return err
	}
	k := targetKey{node, metric, span}
	errs := p.checkTarget(k)
	if t := p.targets.get(k); t != nil {
		errs = append(errs, p.targetErr(k, ErrTargetExists, "already set to %v; revise it instead", t.amount))
	}
	errs = append(errs, p.checkAmount(k, amount), text.Check("reason", reason, MaxTextLen, ErrReasonRequired, ErrInvalid), text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	p.record(TargetSet{Node: node, Metric: metric, Span: span, Amount: amount, Reason: strings.TrimSpace(reason), By: by})
	return nil
}

// ReviseTarget records the change of an existing target to amount, by actor
// by for reason. It returns ErrNotOpened, or every problem at once:
// ErrNoTarget when the target is not set (use SetTarget), ErrUnchanged,
// ErrNegative, ErrReasonRequired, ErrActorRequired, and the addressing
// errors of SetTarget.
func (p *Plan) ReviseTarget(node dimension.Node, metric string, span fiscal.Span, amount decimal.Decimal, reason, by string) error {
	if err := p.opened(); err != nil {
		return err
	}
	k := targetKey{node, metric, span}
	errs := p.checkTarget(k)
	t := p.targets.get(k)
	switch {
	case t == nil && len(errs) == 0:
		errs = append(errs, p.targetErr(k, ErrNoTarget, "no target is set; set it instead"))
	case t != nil && t.amount.Equal(amount):
		errs = append(errs, p.targetErr(k, ErrUnchanged, "target already is %v", t.amount))
	}
	errs = append(errs, p.checkAmount(k, amount), text.Check("reason", reason, MaxTextLen, ErrReasonRequired, ErrInvalid), text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	p.record(TargetRevised{Node: node, Metric: metric, Span: span, From: t.amount, To: amount, Reason: strings.TrimSpace(reason), By: by})
	return nil
}

// ClearTarget records the removal of an existing target, by actor by for
// reason. It returns ErrNotOpened, or every problem at once: ErrNoTarget,
// ErrReasonRequired, ErrActorRequired, and the addressing errors of
// SetTarget.
func (p *Plan) ClearTarget(node dimension.Node, metric string, span fiscal.Span, reason, by string) error {
	if err := p.opened(); err != nil {
		return err
	}
	k := targetKey{node, metric, span}
	errs := p.checkTarget(k)
	t := p.targets.get(k)
	if t == nil && len(errs) == 0 {
		errs = append(errs, p.targetErr(k, ErrNoTarget, "no target is set"))
	}
	errs = append(errs, text.Check("reason", reason, MaxTextLen, ErrReasonRequired, ErrInvalid), text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	p.record(TargetCleared{Node: node, Metric: metric, Span: span, From: t.amount, Reason: strings.TrimSpace(reason), By: by})
	return nil
}
