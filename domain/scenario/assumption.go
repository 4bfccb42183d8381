package scenario

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

// TypeShockAssumed is the stable type name of ShockAssumed.
const TypeShockAssumed = "scenario.ShockAssumed"

// ShockAssumed records, in scenario Scenario, an assumption: node Node's
// statistical forecast of metric Metric is changed, in every month of Span,
// by Percent per cent of itself, or by Amount over the whole span (shared
// by the months equally). Exactly one of Percent and Amount is set. The
// shock applies to the forecast the scenario's reads use (the latest
// estimate, the plan to target, P(target)) and to nothing outside the
// scenario: the node's cells share it in proportion to their forecasts,
// and its ancestors' forecasts move by the same amount, so every level
// still adds up.
//
// A shock is also how a driver changes (driver planning): Metric may be a
// driver the plan measures (price, units), and the derived metrics computed
// from it (revenue = price × units) follow because they are evaluated from
// the scenario's forecasts; or a derived metric itself (margin % = margin /
// revenue), a percentage shock of which scales its left operand (a ratio)
// or both operands (a sum or difference). Holding names derived ratios kept
// unchanged by a percentage shock: when the shock scales one operand of a
// held ratio, it scales the other by as much (units −2% holding price =
// revenue / units moves revenue −2% too). The read side resolves a shock
// to the measured metrics it scales; percentages on the same cell and month
// compound (price +3% and units −2% holding price: revenue × 1.03 × 0.98).
type ShockAssumed struct {
	Scenario string           `json:"scenario"`
	Metric   string           `json:"metric"`
	Node     dimension.Node   `json:"node"`
	Span     fiscal.Span      `json:"span"`
	Percent  *decimal.Decimal `json:"percent,omitempty"`
	Amount   *decimal.Decimal `json:"amount,omitempty"`
	Holding  []string         `json:"holding,omitempty"`
	Reason   string           `json:"reason"`
	By       string           `json:"by"`
}

func (ShockAssumed) scenarioEvent() {}

// AssumeShock records shock e in open scenario e.Scenario (the caller has
// checked e.Metric and e.Node against the plan), by actor e.By. It returns
// ErrUnknown, ErrClosed, ErrTooManyChanges, ErrReasonRequired,
// ErrActorRequired, and ErrInvalid naming every problem: neither or both of
// percent and amount, a percentage of −100 or less (a forecast cannot fall
// below nothing by a percentage), an invalid span, a held metric with an
// amount (only a percentage keeps a ratio), a held metric that is the
// shocked one or named twice.
func (b *Book) AssumeShock(e ShockAssumed) error {
	s, err := b.open(e.Scenario)
	if err != nil {
		return err
	}
	if s.Changes+1 > MaxChanges {
		return fmt.Errorf("%w: scenario %q holds %d changes, at most %d", ErrTooManyChanges, e.Scenario, s.Changes, MaxChanges)
	}
	var errs []error
	switch {
	case (e.Percent == nil) == (e.Amount == nil):
		errs = append(errs, fmt.Errorf("%w: a shock is a percent or an amount, exactly one of them", ErrInvalid))
	case e.Percent != nil && e.Percent.Cmp(decimal.FromInt(-100)) <= 0:
		errs = append(errs, fmt.Errorf("%w: percent %s: a shock of −100%% or less would make the forecast negative", ErrInvalid, e.Percent))
	}
	if !e.Span.Valid() {
		errs = append(errs, fmt.Errorf("%w: span %v is not a valid span", ErrInvalid, e.Span))
	}
	if !dimension.ValidID(e.Metric) {
		errs = append(errs, fmt.Errorf("%w: metric %q", ErrInvalid, e.Metric))
	}
	if len(e.Holding) > 0 && e.Percent == nil {
		errs = append(errs, fmt.Errorf("%w: holding %v: only a percentage shock holds a ratio", ErrInvalid, e.Holding))
	}
	for k, h := range e.Holding {
		switch {
		case !dimension.ValidID(h):
			errs = append(errs, fmt.Errorf("%w: holding %q: not a metric id", ErrInvalid, h))
		case h == e.Metric:
			errs = append(errs, fmt.Errorf("%w: holding %q: the shocked metric cannot be held", ErrInvalid, h))
		case slices.Contains(e.Holding[:k], h):
			errs = append(errs, fmt.Errorf("%w: holding %q: named twice", ErrInvalid, h))
		}
	}
	errs = append(errs, text.Check("reason", e.Reason, MaxTextLen, ErrReasonRequired, ErrInvalid), text.Check("actor", e.By, MaxTextLen, ErrActorRequired, ErrInvalid))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	e.Reason = strings.TrimSpace(e.Reason)
	b.record(e)
	return nil
}

// Shocks returns the shocks assumed in scenario id, in order.
func (b *Book) Shocks(id string) []ShockAssumed {
	if s := b.byID[id]; s != nil {
		return slices.Clone(s.shocks)
	}
	return nil
}

// TypeMethodAssumed is the stable type name of MethodAssumed.
const TypeMethodAssumed = "scenario.MethodAssumed"

// MethodAssumed records, in scenario Scenario, that metric Metric's
// statistical forecast is made by forecasting method Method (as the
// forecasting package names them: "ets", "arima", "theta", "naive",
// "snaive", …, or "auto", the choice every published run makes) from the
// actuals known at the scenario's base, instead of the forecast published
// then. Opened at a past date, such a scenario is a counterfactual replay:
// what the forecast and P(target) would have been with that method. A later
// MethodAssumed of the same metric replaces an earlier one.
type MethodAssumed struct {
	Scenario string `json:"scenario"`
	Metric   string `json:"metric"`
	Method   string `json:"method"`
	Reason   string `json:"reason"`
	By       string `json:"by"`
}

func (MethodAssumed) scenarioEvent() {}

// AssumeMethod records e in open scenario e.Scenario (the caller has
// checked e.Metric against the plan and e.Method against the forecasting
// methods). It returns ErrUnknown, ErrClosed, ErrTooManyChanges,
// ErrReasonRequired, ErrActorRequired, and ErrInvalid naming a bad metric
// or method id.
func (b *Book) AssumeMethod(e MethodAssumed) error {
	if err := b.checkAssumption(e.Scenario, e.Metric, e.Reason, e.By, func() error {
		if !dimension.ValidID(e.Method) {
			return fmt.Errorf("%w: method %q", ErrInvalid, e.Method)
		}
		return nil
	}); err != nil {
		return err
	}
	e.Reason = strings.TrimSpace(e.Reason)
	b.record(e)
	return nil
}

func (b *Book) checkAssumption(id, metric, reason, by string, check func() error) error {
	s, err := b.open(id)
	if err != nil {
		return err
	}
	if s.Changes+1 > MaxChanges {
		return fmt.Errorf("%w: scenario %q holds %d changes, at most %d", ErrTooManyChanges, id, s.Changes, MaxChanges)
	}
	var errs []error
	if !dimension.ValidID(metric) {
		errs = append(errs, fmt.Errorf("%w: metric %q", ErrInvalid, metric))
	}
	errs = append(errs, check(), text.Check("reason", reason, MaxTextLen, ErrReasonRequired, ErrInvalid), text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid))
	return errors.Join(errs...)
}

// Methods returns the forecasting method scenario id assumes for each
// metric (the last assumed), nil when none.
func (b *Book) Methods(id string) map[string]string {
	s := b.byID[id]
	if s == nil || len(s.methods) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, e := range s.methods {
		out[e.Metric] = e.Method
	}
	return out
}
