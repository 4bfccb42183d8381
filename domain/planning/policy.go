package planning

import (
	"context"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/plan"
)

// SetEstimatePolicy sets how plan planID's latest estimate of metric ("" for
// the plan's default) is made (planner): statistical, commit, or a blend
// (plan.EstimatePolicy), with a reason, recorded as plan.EstimatePolicySet.
// It returns plan.ErrInvalid naming what is wrong.
func (s *Service) SetEstimatePolicy(ctx context.Context, c Call, planID, metric string, policy plan.EstimatePolicy, reason string) (Result, error) {
	if err := authorize(c.By, "set the estimate policy", access.RolePlanner); err != nil {
		return Result{}, err
	}
	return s.updatePlan(ctx, c, planID, func(p *plan.Plan, _ []*dimension.Dimension) error {
		return p.SetEstimatePolicy(metric, policy, c.By.Actor, reason)
	})
}

// SetScenarioEstimatePolicy sets, in open scenario id of plan planID, how
// the scenario's latest estimate of metric ("" for its default) is made
// (planner): the same plan.EstimatePolicySet as SetEstimatePolicy records
// on the plan, recorded as one of the scenario's plan changes, so a
// scenario answers "what if we estimated by the commits" with the plan's
// own policy machinery. Errors are those of SetEstimatePolicy and
// ChangeScenarioTargets.
func (s *Service) SetScenarioEstimatePolicy(ctx context.Context, c Call, planID, id, metric string, policy plan.EstimatePolicy, reason string) (Result, error) {
	const action = "set the estimate policy in scenarios"
	if err := authorize(c.By, action, access.RolePlanner); err != nil {
		return Result{}, err
	}
	return s.updateScenario(ctx, c, planID, id, action, func(p *plan.Plan, _ []*dimension.Dimension) error {
		return p.SetEstimatePolicy(metric, policy, c.By.Actor, reason)
	})
}

// PinModel is the input of Service.PinModel.
type PinModel struct {
	Metric string // "" for every metric of the plan
	Node   string // "" for every cell
	Method string // one of Methods, or plan.MethodAuto to remove the pin
	Reason string
	// Methods are the forecaster's method names a pin may name (the
	// caller's forecasting.Pinnable).
	Methods []string
}

// PinModel pins the statistical forecasts of a metric of the cells under a
// node of plan planID to a method (planner), recorded as plan.ModelPinned:
// the reforecaster fits that method to those cells instead of choosing.
// It returns a *ValidationError naming a node that is not one of the
// plan's, and plan.ErrInvalid naming an unknown method or metric.
func (s *Service) PinModel(ctx context.Context, c Call, planID string, in PinModel) (Result, error) {
	if err := authorize(c.By, "pin a forecast method", access.RolePlanner); err != nil {
		return Result{}, err
	}
	return s.updatePlan(ctx, c, planID, func(p *plan.Plan, dims []*dimension.Dimension) error {
		var ps problems
		node, _ := parseNode(&ps, 0, "node", in.Node, dims)
		if err := ps.err(); err != nil {
			return err
		}
		return p.PinModel(in.Metric, node, in.Method, in.Methods, c.By.Actor, in.Reason)
	})
}
