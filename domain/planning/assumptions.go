package planning

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/scenario"
	"github.com/concord-planning/concord/forecasting"
)

// Shock is the input of Service.AssumeShock: node Node's statistical
// forecast of Metric changes over Span (in the plan's calendar notation,
// "FY2027-Q3", "2026-10..2027-03") by Percent per cent or by Amount in
// total, exactly one of them given (a decimal), for Reason. Metric may be
// a driver: a measured metric or, for a percentage, a derived metric other
// than a product; Holding names derived ratios kept unchanged (see
// scenario.ShockAssumed and plan.Plan.Scaled).
type Shock struct {
	Metric, Node, Span, Percent, Amount, Reason string
	Holding                                     []string
}

// AssumeShock records in open scenario id of plan planID the assumption
// in (scenario.ShockAssumed): planner, or sales within its scopes. It
// returns scenario.ErrInvalid naming every field that is wrong (a metric
// the plan neither measures nor derives, an amount on a derived metric, a
// derived product, a held metric that is not a derived ratio, a node or
// span that does not parse, a number that is not a decimal, neither or
// both of percent and amount), and the
// errors of (*scenario.Book).AssumeShock.
func (s *Service) AssumeShock(ctx context.Context, c Call, planID, id string, in Shock) (Result, error) {
	const action = "assume shocks in scenarios"
	roles := []access.Role{access.RoleSales, access.RolePlanner}
	return s.assume(ctx, c, planID, id, action, roles, func(b *scenario.Book, p *plan.Plan, dims []*dimension.Dimension) error {
		e := scenario.ShockAssumed{Scenario: id, Metric: in.Metric, Holding: in.Holding, Reason: in.Reason, By: c.By.Actor}
		var errs []error
		bad := func(field, value, format string, args ...any) {
			errs = append(errs, fmt.Errorf("%w: %s %q: %s", scenario.ErrInvalid, field, value, fmt.Sprintf(format, args...)))
		}
		_, measured := p.Metric(in.Metric)
		_, derived := p.DerivedMetric(in.Metric)
		switch {
		case !measured && !derived:
			bad("metric", in.Metric, "plan %s neither measures nor derives such a metric", planID)
		case derived && strings.TrimSpace(in.Amount) != "":
			bad("metric", in.Metric, "a derived metric changes by a percentage, not by an amount")
		case strings.TrimSpace(in.Percent) != "":
			if _, err := p.Scaled(in.Metric, in.Holding); err != nil {
				errs = append(errs, err)
			}
		}
		if n, err := dimension.ParseNode(in.Node); err != nil {
			bad("node", in.Node, "%v", err)
		} else if e.Node, err = n.Resolve(dims...); err != nil {
			bad("node", in.Node, "%v", err)
		}
		span, err := p.Calendar().ParseSpan(in.Span)
		if err != nil {
			bad("span", in.Span, "%v", err)
		}
		e.Span = span
		num := func(field, v string) *decimal.Decimal {
			if strings.TrimSpace(v) == "" {
				return nil
			}
			d, err := decimal.Parse(strings.TrimSpace(v))
			if err != nil {
				bad(field, v, "not a decimal number")
				return nil
			}
			return &d
		}
		e.Percent, e.Amount = num("percent", in.Percent), num("amount", in.Amount)
		if err := errors.Join(errs...); err != nil {
			return err
		}
		if err := checkScope(c.By, action, []dimension.Node{e.Node}, dims); err != nil {
			return err
		}
		return b.AssumeShock(e)
	})
}

// Methods are the forecasting methods a scenario may assume
// (MethodAssumed): the forecasting package's, "auto" the choice every
// published run makes.
var Methods = []forecasting.Method{
	forecasting.MethodAuto, forecasting.MethodETS, forecasting.MethodARIMA, forecasting.MethodTheta,
	forecasting.MethodThetaClassic, forecasting.MethodNaive, forecasting.MethodSNaive, forecasting.MethodDrift,
	forecasting.MethodMean, forecasting.MethodLinear, forecasting.MethodCroston, forecasting.MethodSBA, forecasting.MethodTSB,
}

// AssumeMethod records in open scenario id of plan planID that metric's
// statistical forecast is made by method (scenario.MethodAssumed), for
// reason: planner. It returns scenario.ErrInvalid naming a metric the
// plan does not measure or a method not among Methods, and the errors of
// (*scenario.Book).AssumeMethod.
func (s *Service) AssumeMethod(ctx context.Context, c Call, planID, id, metric, method, reason string) (Result, error) {
	return s.assumeAbout(ctx, c, planID, id, "assume forecast methods in scenarios", metric, func(b *scenario.Book) error {
		if !slices.Contains(Methods, forecasting.Method(method)) {
			return fmt.Errorf("%w: method %q: want one of %v", scenario.ErrInvalid, method, Methods)
		}
		return b.AssumeMethod(scenario.MethodAssumed{Scenario: id, Metric: metric, Method: method, Reason: reason, By: c.By.Actor})
	})
}

// assumeAbout records, by a planner, an assumption about measured metric
// metric of scenario id's plan.
func (s *Service) assumeAbout(ctx context.Context, c Call, planID, id, action, metric string, record func(*scenario.Book) error) (Result, error) {
	return s.assume(ctx, c, planID, id, action, []access.Role{access.RolePlanner}, func(b *scenario.Book, p *plan.Plan, _ []*dimension.Dimension) error {
		if _, ok := p.Metric(metric); !ok {
			return fmt.Errorf("%w: metric %q: plan %s measures no such metric (a forecast assumption is about a measured metric)", scenario.ErrInvalid, metric, planID)
		}
		return record(b)
	})
}

// assume records an assumption in open scenario id of plan planID, by a
// principal with one of roles: record sees the scenario's book, its plan
// and the plan's dimensions.
func (s *Service) assume(ctx context.Context, c Call, planID, id, action string, roles []access.Role, record func(*scenario.Book, *plan.Plan, []*dimension.Dimension) error) (Result, error) {
	if err := authorize(c.By, action, roles...); err != nil {
		return Result{}, err
	}
	if !dimension.ValidID(planID) {
		return Result{}, fmt.Errorf("%w: plan %q", scenario.ErrUnknown, planID)
	}
	stream := scenario.Stream(planID)
	res, err := s.scenarioBooks().Update(ctx, stream, c.expected(), c.command(), func(b *scenario.Book) error {
		sc, err := openScenario(b, planID, id)
		if err != nil {
			return err
		}
		p, dims, err := s.scenarioPlan(ctx, b, sc)
		if err != nil {
			return err
		}
		return record(b, p, dims)
	})
	if err != nil {
		return Result{}, err
	}
	return result(stream, res), nil
}
