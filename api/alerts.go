package api

import (
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/concord-planning/concord/domain/alert"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/projections/view"
)

// Alert is an alert as the API shows it.
type Alert struct {
	ID        string   `json:"id"`
	Rule      string   `json:"rule"`
	Kind      string   `json:"kind"`
	Severity  string   `json:"severity"`
	Node      string   `json:"node"`
	Metric    string   `json:"metric"`
	Year      int      `json:"year"`
	Threshold float64  `json:"threshold"`
	Before    *float64 `json:"before"`
	After     float64  `json:"after"`
	// Position is the log position of the read state that raised it: the
	// node's chart as of this position shows what the rule saw.
	Position     string           `json:"position"`
	RaisedAt     time.Time        `json:"raised_at"`
	Open         bool             `json:"open"`
	Resolved     *AlertResolution `json:"resolved"`
	Acknowledged *AlertAck        `json:"acknowledged"`
}

// AlertResolution says when and why an alert was resolved.
type AlertResolution struct {
	Value    *float64  `json:"value"`
	Position string    `json:"position,omitempty"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
}

// AlertAck says who acknowledged an alert, and what they said.
type AlertAck struct {
	By      string    `json:"by"`
	Comment string    `json:"comment"`
	At      time.Time `json:"at"`
}

func alertOutput(a alert.Alert) Alert {
	out := Alert{ID: a.ID, Rule: a.Rule, Kind: string(a.Kind), Severity: string(a.Severity), Node: a.Node.String(), Metric: a.Metric,
		Year: a.Year, Threshold: a.Threshold, Before: a.Before, After: a.After, Position: a.Position.String(), RaisedAt: a.At, Open: a.Open()}
	if r := a.Resolved; r != nil {
		out.Resolved = &AlertResolution{Value: r.Value, Reason: r.Reason, At: r.At}
		if r.Position != (eventstore.Position{}) {
			out.Resolved.Position = r.Position.String()
		}
	}
	if k := a.Acknowledged; k != nil {
		out.Acknowledged = &AlertAck{By: k.By, Comment: k.Comment, At: k.At}
	}
	return out
}

// listAlerts answers the alert inbox of a plan, newest first; ?open=true
// keeps the open ones. Sales sees the alerts of the nodes its scopes cover.
func (s *Server) listAlerts(c echo.Context) error {
	openOnly := false
	switch v := c.QueryParam("open"); v {
	case "", "false":
	case "true":
		openOnly = true
	default:
		return &view.ParamError{Field: "open", Value: v, Reason: "want true or false"}
	}
	as, v, err := s.svc.Alerts(c.Request().Context(), principalOf(c), c.Param("plan"))
	if err != nil {
		return err
	}
	out := []Alert{}
	for _, a := range as {
		if !openOnly || a.Open() {
			out = append(out, alertOutput(a))
		}
	}
	c.Response().Header().Set("ETag", etag(v))
	return c.JSON(http.StatusOK, out)
}

type acknowledgeIn struct {
	Comment string `json:"comment"`
}

func (s *Server) acknowledgeAlert(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in acknowledgeIn) (planning.Result, error) {
		return s.svc.AcknowledgeAlert(c.Request().Context(), cl, c.Param("plan"), c.Param("id"), in.Comment, s.cfg.Clock().UTC())
	}, nil)(c)
}

// AlertRule is an alert rule as the API shows it and takes it.
type AlertRule struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Nodes     []string  `json:"nodes"`
	Metric    string    `json:"metric"`
	Year      int       `json:"year"`
	Threshold float64   `json:"threshold"`
	Severity  string    `json:"severity"`
	Owners    []string  `json:"owners"`
	By        string    `json:"by,omitempty"`
	At        time.Time `json:"at,omitzero"`
}

func (s *Server) listAlertRules(c echo.Context) error {
	b, v, err := s.svc.AlertBook(c.Request().Context(), principalOf(c), c.Param("plan"))
	if err != nil {
		return err
	}
	out := []AlertRule{}
	for _, r := range b.Rules() {
		nodes := make([]string, len(r.Nodes))
		for i, n := range r.Nodes {
			nodes[i] = n.String()
		}
		out = append(out, AlertRule{ID: r.ID, Kind: string(r.Kind), Nodes: nodes, Metric: r.Metric, Year: r.Year, Threshold: r.Threshold,
			Severity: string(r.Severity), Owners: r.Owners, By: r.By, At: r.At})
	}
	c.Response().Header().Set("ETag", etag(v))
	return c.JSON(http.StatusOK, out)
}

type alertRuleIn struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	Nodes     []string `json:"nodes"`
	Metric    string   `json:"metric"`
	Year      int      `json:"year"`
	Threshold float64  `json:"threshold"`
	Severity  string   `json:"severity"`
	Owners    []string `json:"owners"`
}

func (s *Server) defineAlertRule(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in alertRuleIn) (planning.Result, error) {
		return s.svc.DefineAlertRule(c.Request().Context(), cl, c.Param("plan"), planning.DefineAlertRule{ID: in.ID, Kind: in.Kind, Nodes: in.Nodes,
			Metric: in.Metric, Year: in.Year, Threshold: in.Threshold, Severity: in.Severity, Owners: in.Owners, At: s.cfg.Clock().UTC()})
	}, func(c echo.Context, in alertRuleIn) string {
		return "/api/v1/plans/" + url.PathEscape(c.Param("plan")) + "/alert-rules"
	})(c)
}

func (s *Server) removeAlertRule(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, _ emptyIn) (planning.Result, error) {
		return s.svc.RemoveAlertRule(c.Request().Context(), cl, c.Param("plan"), c.Param("id"), s.cfg.Clock().UTC())
	}, nil)(c)
}

// DeadLetter is an alert's news whose delivery was given up.
type DeadLetter struct {
	Alert     Alert  `json:"alert"`
	Change    string `json:"change"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error"`
}

func (s *Server) listDeadLetters(c echo.Context) error {
	b, _, err := s.svc.AlertBook(c.Request().Context(), principalOf(c), c.Param("plan"))
	if err != nil {
		return err
	}
	out := []DeadLetter{}
	for _, d := range b.DeadLetters() {
		out = append(out, DeadLetter{Alert: alertOutput(d.Alert), Change: string(d.Change), Attempts: d.Attempts, LastError: d.LastError})
	}
	return c.JSON(http.StatusOK, out)
}

type clearDeadLetterIn struct {
	Change string `json:"change"`
	Retry  bool   `json:"retry"`
}

func (s *Server) clearDeadLetter(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in clearDeadLetterIn) (planning.Result, error) {
		return s.svc.ClearDeadLetter(c.Request().Context(), cl, c.Param("plan"), c.Param("id"), alert.Change(in.Change), in.Retry, s.cfg.Clock().UTC())
	}, nil)(c)
}
