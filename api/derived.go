package api

import (
	"github.com/labstack/echo/v4"

	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/planning"
)

type deriveMetricIn struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Unit    string `json:"unit"`
	Formula string `json:"formula"`
}

// deriveMetric defines a derived metric of a plan (planners): POST
// /plans/{plan}/derived-metrics.
func (s *Server) deriveMetric(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in deriveMetricIn) (planning.Result, error) {
		return s.svc.DeriveMetric(c.Request().Context(), cl, c.Param("plan"), plan.Metric{ID: in.ID, Name: in.Name, Unit: in.Unit}, in.Formula)
	}, nil)(c)
}
