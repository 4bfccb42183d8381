package query

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/concord-planning/concord/projections/view"
)

// asOf returns the version reference a query asks about: as_of, or the
// reference of scenario=ID (view.ScenarioRef); not both.
func asOf(q url.Values) (string, error) { return orScenario(q, "as_of") }

// diffTo returns the "to" of a diff: to, or the scenario's reference for
// scenario=ID (the diff then shows how the scenario differs from the plan
// as of from); not both.
func diffTo(q url.Values) (string, error) { return orScenario(q, "to") }

// orScenario returns the version reference parameter field gives, or the
// reference of scenario=ID when that is given instead.
func orScenario(q url.Values, field string) (string, error) {
	id, ref := q.Get("scenario"), q.Get(field)
	switch {
	case id == "":
		return ref, nil
	case ref != "":
		return "", view.BadParam("scenario", id, "give either scenario or %s: a scenario is read as it stands, from its own base", field)
	}
	return view.ScenarioRef + id, nil
}

// getCompare answers GET /plans/:plan/compare: the plan and up to four
// scenarios (scenarios=a,b) side by side.
func (s *Handlers) getCompare(c echo.Context) error {
	q := c.QueryParams()
	var ids []string
	for _, v := range q["scenarios"] {
		ids = append(ids, strings.Split(v, ",")...)
	}
	v, err := s.view.Compare(c.Request().Context(), c.Param("plan"), view.CompareQuery{Metric: q.Get("metric"), Year: q.Get("year"),
		AsOf: q.Get("as_of"), Dimension: q.Get("dimension"), Parent: q.Get("parent"), Node: q.Get("node"), Scenarios: ids})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}
