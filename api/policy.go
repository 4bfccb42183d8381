package api

import (
	"github.com/labstack/echo/v4"

	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/planning"
)

type estimatePolicyIn struct {
	Metric       string  `json:"metric"`
	Policy       string  `json:"policy"`
	CommitWeight float64 `json:"commit_weight"`
	Reason       string  `json:"reason"`
}

// setEstimatePolicy sets how a plan's latest estimate is made (planners):
// POST /plans/{plan}/estimate-policy.
func (s *Server) setEstimatePolicy(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in estimatePolicyIn) (planning.Result, error) {
		return s.svc.SetEstimatePolicy(c.Request().Context(), cl, c.Param("plan"), in.Metric,
			plan.EstimatePolicy{Kind: in.Policy, CommitWeight: in.CommitWeight}, in.Reason)
	}, nil)(c)
}
