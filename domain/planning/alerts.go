package planning

import (
	"context"
	"fmt"
	"time"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/alert"
	"github.com/concord-planning/concord/domain/dimension"
)

// DefineAlertRule is the input of DefineAlertRule; see alert.RuleDefined.
type DefineAlertRule struct {
	ID        string
	Kind      string
	Nodes     []string
	Metric    string
	Year      int
	Threshold float64
	Severity  string
	Owners    []string
	At        time.Time
}

// DefineAlertRule defines (or redefines) alert rule in.ID of plan planID
// (planners). Nodes must be nodes of the plan's dimensions and the metric
// one of its metrics; the rest is the alert book's check. Problems come as
// a *ValidationError.
func (s *Service) DefineAlertRule(ctx context.Context, c Call, planID string, in DefineAlertRule) (Result, error) {
	if err := authorize(c.By, "define alert rules", access.RolePlanner); err != nil {
		return Result{}, err
	}
	p, _, dims, err := s.openPlan(ctx, planID)
	if err != nil {
		return Result{}, err
	}
	var ps problems
	nodes := make([]dimension.Node, 0, len(in.Nodes))
	for i, text := range in.Nodes {
		if n, ok := parseNode(&ps, 0, fmt.Sprintf("nodes[%d]", i), text, dims); ok {
			nodes = append(nodes, n)
		}
	}
	parseMetric(&ps, 0, "metric", in.Metric, p)
	if err := ps.err(); err != nil {
		return Result{}, err
	}
	stream := alert.Stream(planID)
	res, err := s.alerts.Update(ctx, stream, c.expected(), c.command(), func(b *alert.Book) error {
		return b.DefineRule(alert.RuleDefined{ID: in.ID, Plan: planID, Kind: alert.Kind(in.Kind), Nodes: nodes, Metric: in.Metric, Year: in.Year,
			Threshold: in.Threshold, Severity: alert.Severity(in.Severity), Owners: in.Owners, By: c.By.Actor, At: in.At})
	})
	if err != nil {
		return Result{}, err
	}
	return result(stream, res), nil
}

// RemoveAlertRule removes alert rule id of plan planID (planners), and
// resolves its open alerts.
func (s *Service) RemoveAlertRule(ctx context.Context, c Call, planID, id string, at time.Time) (Result, error) {
	if err := authorize(c.By, "remove alert rules", access.RolePlanner); err != nil {
		return Result{}, err
	}
	if _, _, _, err := s.openPlan(ctx, planID); err != nil {
		return Result{}, err
	}
	stream := alert.Stream(planID)
	res, err := s.alerts.Update(ctx, stream, c.expected(), c.command(), func(b *alert.Book) error {
		return b.RemoveRule(id, c.By.Actor, at)
	})
	if err != nil {
		return Result{}, err
	}
	return result(stream, res), nil
}

// AcknowledgeAlert records that the caller has seen alert id of plan
// planID, with a comment. Every role may acknowledge the alerts it may
// see: sales, those of the nodes its scopes cover.
func (s *Service) AcknowledgeAlert(ctx context.Context, c Call, planID, id, comment string, at time.Time) (Result, error) {
	const action = "acknowledge alerts"
	if err := authorize(c.By, action, access.Roles...); err != nil {
		return Result{}, err
	}
	_, _, dims, err := s.openPlan(ctx, planID)
	if err != nil {
		return Result{}, err
	}
	stream := alert.Stream(planID)
	res, err := s.alerts.Update(ctx, stream, c.expected(), c.command(), func(b *alert.Book) error {
		if a, ok := b.Alert(id); ok && !covers(c.By, a.Node, dims) {
			// Out of scope reads as unknown: its existence is not told.
			return fmt.Errorf("%w: %q", alert.ErrUnknownAlert, id)
		}
		return b.Acknowledge(id, c.By.Actor, comment, at)
	})
	if err != nil {
		return Result{}, err
	}
	return result(stream, res), nil
}

// ClearDeadLetter takes the delivery of change of alert id of plan planID
// off the dead-letter list (admins): with retry it is delivered again.
func (s *Service) ClearDeadLetter(ctx context.Context, c Call, planID, id string, change alert.Change, retry bool, at time.Time) (Result, error) {
	if err := authorize(c.By, "clear dead letters"); err != nil {
		return Result{}, err
	}
	if change != alert.ChangeRaised && change != alert.ChangeResolved {
		var ps problems
		ps.add(0, "change", string(change), "want raised or resolved", alert.ErrInvalid)
		return Result{}, ps.err()
	}
	if _, _, _, err := s.openPlan(ctx, planID); err != nil {
		return Result{}, err
	}
	stream := alert.Stream(planID)
	res, err := s.alerts.Update(ctx, stream, c.expected(), c.command(), func(b *alert.Book) error {
		return b.ClearDeadLetter(id, change, retry, c.By.Actor, at)
	})
	if err != nil {
		return Result{}, err
	}
	return result(stream, res), nil
}

// Alerts returns the alerts of plan planID that by may see, newest first,
// and the book's version: every alert for every role but sales, and for
// sales those of the nodes its scopes cover.
func (s *Service) Alerts(ctx context.Context, by Principal, planID string) ([]alert.Alert, uint64, error) {
	if err := authorize(by, "read alerts", access.Roles...); err != nil {
		return nil, 0, err
	}
	_, _, dims, err := s.openPlan(ctx, planID)
	if err != nil {
		return nil, 0, err
	}
	b, v, err := s.alerts.Load(ctx, alert.Stream(planID))
	if err != nil {
		return nil, 0, err
	}
	out := []alert.Alert{}
	for _, a := range b.Alerts() {
		if covers(by, a.Node, dims) {
			out = append(out, a)
		}
	}
	return out, v, nil
}

// AlertBook returns the alert book of plan planID and its version, for
// planners (rules) and admins (dead letters too).
func (s *Service) AlertBook(ctx context.Context, by Principal, planID string) (*alert.Book, uint64, error) {
	if err := authorize(by, "read alert rules", access.RolePlanner); err != nil {
		return nil, 0, err
	}
	if _, _, _, err := s.openPlan(ctx, planID); err != nil {
		return nil, 0, err
	}
	return s.alerts.Load(ctx, alert.Stream(planID))
}
