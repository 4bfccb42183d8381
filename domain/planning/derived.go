package planning

import (
	"context"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/plan"
)

// DeriveMetric defines a derived metric of plan planID (planner): metric m
// computed by formula ("margin / revenue", see plan.ParseFormula and
// plan.Formula for how it is evaluated). It returns plan.ErrInvalid naming
// what is wrong with the formula or the metric.
func (s *Service) DeriveMetric(ctx context.Context, c Call, planID string, m plan.Metric, formula string) (Result, error) {
	if err := authorize(c.By, "define metrics", access.RolePlanner); err != nil {
		return Result{}, err
	}
	f, err := plan.ParseFormula(formula)
	if err != nil {
		return Result{}, err
	}
	return s.updatePlan(ctx, c, planID, func(p *plan.Plan, _ []*dimension.Dimension) error {
		return p.DeriveMetric(m, f, c.By.Actor)
	})
}
