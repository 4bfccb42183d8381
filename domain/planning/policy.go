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
