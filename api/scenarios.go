package api

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/domain/scenario"
)

// scenarioRoutes are the write side of scenarios: open, change, discard,
// promote and rebase (planners, and sales within its scopes), and GET of
// a plan's scenarios as they stand, with their stream's version as ETag.
// Their reads go through the query side with ?scenario=ID and compare.
func (s *Server) scenarioRoutes() []route {
	return []route{
		{method: http.MethodPost, path: "/plans/:plan/scenarios", roles: sales, handler: s.openScenario},
		{method: http.MethodGet, path: "/plans/:plan/scenarios", roles: everyone, handler: s.listScenarios},
		{method: http.MethodGet, path: "/plans/:plan/scenarios/:scenario", roles: everyone, handler: s.getScenario},
		{method: http.MethodPost, path: "/plans/:plan/scenarios/:scenario/targets", roles: sales, handler: s.changeScenarioTargets},
		{method: http.MethodPost, path: "/plans/:plan/scenarios/:scenario/reallocations", roles: sales, handler: s.reallocateInScenario},
		{method: http.MethodPost, path: "/plans/:plan/scenarios/:scenario/discard", roles: sales, handler: s.discardScenario},
		{method: http.MethodPost, path: "/plans/:plan/scenarios/:scenario/promote", roles: sales, handler: s.promoteScenario},
		{method: http.MethodPost, path: "/plans/:plan/scenarios/:scenario/rebase", roles: sales, handler: s.rebaseScenario},
		{method: http.MethodPost, path: "/plans/:plan/scenarios/:scenario/assumptions", roles: sales, handler: s.assumeShock},
		{method: http.MethodPost, path: "/plans/:plan/scenarios/:scenario/method", roles: planners, handler: s.assumeMethod},
		{method: http.MethodPost, path: "/plans/:plan/scenarios/:scenario/estimate-policy", roles: planners, handler: s.setScenarioEstimatePolicy},
	}
}

// Scenario is a scenario as GET lists it.
type Scenario struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Status      string `json:"status"`
	From        string `json:"from"`
	Base        string `json:"base"`         // the log position it branches from
	BaseVersion uint64 `json:"base_version"` // the plan's stream version there
	Changes     int    `json:"changes"`      // its own target and commit events
	By          string `json:"by"`
	Proposal    string `json:"proposal,omitempty"` // the plan's proposal it was promoted as
	ClosedBy    string `json:"closed_by,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

func scenarioOutput(sc scenario.Scenario) Scenario {
	return Scenario{ID: sc.ID, Name: sc.Name, Status: string(sc.Status), From: sc.From, Base: sc.Base.String(), BaseVersion: sc.BaseVersion,
		Changes: sc.Changes, By: sc.By, Proposal: sc.Proposal, ClosedBy: sc.ClosedBy, Reason: sc.Reason}
}

type openScenarioIn struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// From is where the scenario branches: "" (now), "tag:NAME", a log
	// position, an RFC 3339 time or a date.
	From string `json:"from"`
}

// openScenario opens a scenario; without an id in the body the server
// names it "s-" and 16 random hex digits. The answer (201) carries the id.
func (s *Server) openScenario(c echo.Context) error {
	var in openScenarioIn
	if err := decodeJSON(c, s.cfg.BodyLimit, &in); err != nil {
		return err
	}
	cl, err := call(c)
	if err != nil {
		return err
	}
	if in.ID == "" {
		id, err := randomHex()
		if err != nil {
			return fmt.Errorf("api: naming a scenario: %w", err)
		}
		in.ID = "s-" + id
	}
	ctx, planID := c.Request().Context(), c.Param("plan")
	base, err := s.view.BasePosition(ctx, planID, "from", in.From)
	if err != nil {
		return err
	}
	from := in.From
	if from == "" {
		from = "now"
	}
	r, err := s.svc.OpenScenario(ctx, cl, planID, planning.OpenScenario{ID: in.ID, Name: in.Name, Base: base, From: from})
	if err != nil {
		return err
	}
	return created(c, r, "/api/v1/plans/"+url.PathEscape(planID)+"/scenarios/"+url.PathEscape(in.ID), in.ID)
}

// created answers 201 with the command's result, the id it created and
// its Location.
func created(c echo.Context, r planning.Result, location, id string) error {
	h := c.Response().Header()
	h.Set("ETag", etag(r.Version))
	h.Set(HeaderPosition, r.Position.String())
	h.Set(echo.HeaderLocation, location)
	out := commandResult(r)
	out.ID = id
	return c.JSON(http.StatusCreated, out)
}

func (s *Server) listScenarios(c echo.Context) error {
	list, v, err := s.svc.Scenarios(c.Request().Context(), principalOf(c), c.Param("plan"))
	if err != nil {
		return err
	}
	out := struct {
		Scenarios []Scenario `json:"scenarios"`
	}{Scenarios: []Scenario{}}
	for _, sc := range list {
		out.Scenarios = append(out.Scenarios, scenarioOutput(sc))
	}
	c.Response().Header().Set("ETag", etag(v))
	return c.JSON(http.StatusOK, out)
}

func (s *Server) getScenario(c echo.Context) error {
	list, v, err := s.svc.Scenarios(c.Request().Context(), principalOf(c), c.Param("plan"))
	if err != nil {
		return err
	}
	for _, sc := range list {
		if sc.ID == c.Param("scenario") {
			c.Response().Header().Set("ETag", etag(v))
			return c.JSON(http.StatusOK, scenarioOutput(sc))
		}
	}
	return fmt.Errorf("%w: plan %q has no scenario %q", scenario.ErrUnknown, c.Param("plan"), c.Param("scenario"))
}

func (s *Server) changeScenarioTargets(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in targetBatchIn) (planning.Result, error) {
		if err := s.checkRows(len(in.Rows)); err != nil {
			return planning.Result{}, err
		}
		rows := make([]planning.TargetChange, len(in.Rows))
		for i, r := range in.Rows {
			rows[i] = planning.TargetChange{Line: i + 1, Op: planning.TargetOp(r.Op), Node: r.Node, Metric: r.Metric, Span: r.Span, Amount: string(r.Amount), Reason: r.Reason}
		}
		return s.svc.ChangeScenarioTargets(c.Request().Context(), cl, c.Param("plan"), c.Param("scenario"), rows)
	}, nil)(c)
}

func (s *Server) reallocateInScenario(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in proposeIn) (planning.Result, error) {
		moves := make([]planning.Move, len(in.Moves))
		for i, m := range in.Moves {
			moves[i] = planning.Move{Node: m.Node, Delta: string(m.Delta)}
		}
		return s.svc.ReallocateInScenario(c.Request().Context(), cl, c.Param("plan"), c.Param("scenario"),
			planning.ProposeReallocation{ID: in.ID, Metric: in.Metric, Span: in.Span, Moves: moves, Reason: in.Reason})
	}, nil)(c)
}

func (s *Server) discardScenario(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in reasonIn) (planning.Result, error) {
		return s.svc.DiscardScenario(c.Request().Context(), cl, c.Param("plan"), c.Param("scenario"), in.Reason)
	}, nil)(c)
}

// promoteScenario proposes the scenario's target changes to the plan; the
// answer (201) is the plan stream's, with the proposal's id and its
// Location among the plan's reallocations (approve or reject it there).
func (s *Server) promoteScenario(c echo.Context) error {
	var in reasonIn
	if err := decodeJSON(c, s.cfg.BodyLimit, &in); err != nil {
		return err
	}
	cl, err := call(c)
	if err != nil {
		return err
	}
	planID, id := c.Param("plan"), c.Param("scenario")
	r, err := s.svc.PromoteScenario(c.Request().Context(), cl, planID, id, in.Reason)
	if err != nil {
		return err
	}
	pid := planning.ProposalID(id)
	return created(c, r, "/api/v1/plans/"+url.PathEscape(planID)+"/reallocations/"+url.PathEscape(pid), pid)
}

type rebaseIn struct {
	// To is where the scenario then branches: "" (now), "tag:NAME", a log
	// position, an RFC 3339 time or a date.
	To string `json:"to"`
}

func (s *Server) rebaseScenario(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in rebaseIn) (planning.Result, error) {
		ctx, planID := c.Request().Context(), c.Param("plan")
		base, err := s.view.BasePosition(ctx, planID, "to", in.To)
		if err != nil {
			return planning.Result{}, err
		}
		return s.svc.RebaseScenario(ctx, cl, planID, c.Param("scenario"), base)
	}, nil)(c)
}

type assumeShockIn struct {
	Metric  string   `json:"metric"`
	Node    string   `json:"node"`
	Span    string   `json:"span"`
	Percent string   `json:"percent"`
	Amount  string   `json:"amount"`
	Holding []string `json:"holding"`
	Reason  string   `json:"reason"`
}

// assumeShock records a shock to a node's statistical forecast in a
// scenario: POST /plans/{plan}/scenarios/{scenario}/assumptions.
func (s *Server) assumeShock(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in assumeShockIn) (planning.Result, error) {
		return s.svc.AssumeShock(c.Request().Context(), cl, c.Param("plan"), c.Param("scenario"),
			planning.Shock{Metric: in.Metric, Node: in.Node, Span: in.Span, Percent: in.Percent, Amount: in.Amount, Holding: in.Holding, Reason: in.Reason})
	}, nil)(c)
}

type assumeMethodIn struct {
	Metric string `json:"metric"`
	Method string `json:"method"`
	Reason string `json:"reason"`
}

// assumeMethod records the forecasting method of a metric in a scenario:
// POST /plans/{plan}/scenarios/{scenario}/method.
func (s *Server) assumeMethod(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in assumeMethodIn) (planning.Result, error) {
		return s.svc.AssumeMethod(c.Request().Context(), cl, c.Param("plan"), c.Param("scenario"), in.Metric, in.Method, in.Reason)
	}, nil)(c)
}

// setScenarioEstimatePolicy sets how a scenario's latest estimate of a
// metric is made, with the plan's estimate-policy body:
// POST /plans/{plan}/scenarios/{scenario}/estimate-policy.
func (s *Server) setScenarioEstimatePolicy(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in estimatePolicyIn) (planning.Result, error) {
		return s.svc.SetScenarioEstimatePolicy(c.Request().Context(), cl, c.Param("plan"), c.Param("scenario"), in.Metric,
			plan.EstimatePolicy{Kind: in.Policy, CommitWeight: in.CommitWeight}, in.Reason)
	}, nil)(c)
}
