package api

import (
	"github.com/labstack/echo/v4"

	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/forecasting"
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

type pinModelIn struct {
	Metric string `json:"metric"`
	Node   string `json:"node"`
	Method string `json:"method"`
	Reason string `json:"reason"`
}

// pinModel pins the forecast method of a node's cells (planners): POST
// /plans/{plan}/model-pins.
func (s *Server) pinModel(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in pinModelIn) (planning.Result, error) {
		var methods []string
		for _, m := range forecasting.Pinnable() {
			methods = append(methods, string(m))
		}
		return s.svc.PinModel(c.Request().Context(), cl, c.Param("plan"),
			planning.PinModel{Metric: in.Metric, Node: in.Node, Method: in.Method, Reason: in.Reason, Methods: methods})
	}, nil)(c)
}
