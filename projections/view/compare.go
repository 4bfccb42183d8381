package view

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
)

// MaxCompared is the most scenarios one compare answer sets beside the
// plan.
const MaxCompared = 4

// CompareQuery holds the parameters of the compare query: the plan (as of
// AsOf, now by default) beside Scenarios, for a metric and fiscal year, on
// the children of Parent in Dimension (below Node in the others).
type CompareQuery struct {
	Metric, Year, AsOf, Dimension, Parent, Node string
	Scenarios                                   []string
}

// CompareSide is one side of a comparison: the plan, or one scenario.
type CompareSide struct {
	Scenario  string   `json:"scenario,omitempty"` // "" for the plan
	Name      string   `json:"name"`
	From      string   `json:"from,omitempty"` // how the scenario's base was named
	Status    string   `json:"status,omitempty"`
	AsOf      ref      `json:"as_of"` // the log position the side reads (a scenario's base)
	Conflicts []string `json:"conflicts"`
}

// Figures are one side's numbers for a node and period; the changes are a
// scenario's difference from the plan (null for the plan, or where either
// side has no figure).
type Figures struct {
	Target               *string `json:"target"`
	LatestEstimate       *Amount `json:"latest_estimate"`
	Gap                  *Amount `json:"gap"`
	Probability          *Num    `json:"probability"`
	TargetChange         *Amount `json:"target_change,omitempty"`
	LatestEstimateChange *Amount `json:"latest_estimate_change,omitempty"`
	ProbabilityChange    *Num    `json:"probability_change,omitempty"`
}

// CompareRow is one node and period: the plan's figures and each
// scenario's, in the order of Compare.Sides after the plan.
type CompareRow struct {
	Node      string    `json:"node"`
	Member    string    `json:"member"`
	Name      string    `json:"name"`
	Depth     int       `json:"depth"`
	Period    SpanJSON  `json:"period"`
	Plan      Figures   `json:"plan"`
	Scenarios []Figures `json:"scenarios"`
	// Changed is true when a scenario's target, latest estimate or
	// probability differs from the plan's.
	Changed bool `json:"changed"`
}

// Compare is the answer of the compare query.
type Compare struct {
	Plan      string        `json:"plan"`
	Metric    string        `json:"metric"`
	Year      int           `json:"year"`
	Dimension string        `json:"dimension"`
	Parent    string        `json:"parent"`
	Sides     []CompareSide `json:"sides"` // the plan, then each scenario
	Rows      []CompareRow  `json:"rows"`
}

// side is one state compared, with its analysis of the year.
type side struct {
	st *State
	a  *analysis
	rc rowCommits
}

// Compare sets the plan and up to MaxCompared of its scenarios side by
// side, node by node (Parent and its children in Dimension) and period by
// period (the fiscal year and its quarters): target, latest estimate, gap
// and P(target) of each, with each scenario's difference from the plan.
func (s *Service) Compare(ctx context.Context, planID string, q CompareQuery) (*Compare, error) {
	ids := slices.DeleteFunc(slices.Clone(q.Scenarios), func(id string) bool { return strings.TrimSpace(id) == "" })
	switch {
	case len(ids) == 0:
		return nil, BadParam("scenarios", strings.Join(q.Scenarios, ","), "name one to %d scenarios of the plan, comma-separated", MaxCompared)
	case len(ids) > MaxCompared:
		return nil, BadParam("scenarios", strings.Join(q.Scenarios, ","), "at most %d scenarios are compared at once, got %d", MaxCompared, len(ids))
	}
	for i, id := range ids {
		if slices.Contains(ids[:i], id) {
			return nil, BadParam("scenarios", strings.Join(q.Scenarios, ","), "scenario %q is named twice", id)
		}
	}
	st, p, metric, err := s.planMetric(ctx, planID, q.Metric, q.AsOf)
	if err != nil {
		return nil, err
	}
	year, err := yearOf(p, q.Year)
	if err != nil {
		return nil, err
	}
	dimID := q.Dimension
	if dimID == "" {
		dimID = p.Dimensions()[0]
	}
	d := st.dims[dimID]
	if d == nil || !containsStr(p.Dimensions(), dimID) {
		return nil, BadParam("dimension", dimID, "not a dimension of plan %s", p.ID())
	}
	parent := q.Parent
	if parent == "" {
		parent = d.Root()
	}
	if m, ok := d.Member(parent); !ok || m.Retired {
		return nil, BadParam("parent", q.Parent, "not an active member of dimension %s", dimID)
	}
	base, err := parseNode(st, p, "node", q.Node)
	if err != nil {
		return nil, err
	}
	base = base.Without(dimID)
	cal := p.Calendar()
	yearSpan := cal.FiscalYear(year)
	a, err := st.analysis(ctx, p, metric, yearSpan)
	if err != nil {
		return nil, err
	}
	out := &Compare{Plan: p.ID(), Metric: metric.ID, Year: year, Dimension: dimID, Parent: parent, Rows: []CompareRow{},
		Sides: []CompareSide{{Name: p.Name(), AsOf: refOf(st, q.AsOf), Conflicts: nonNil(a.conflicts)}}}
	sides := []side{{st, a, a.rowCommits()}}
	for _, id := range ids {
		sc, err := s.ScenarioOf(ctx, planID, id)
		if err != nil {
			return nil, BadParam("scenarios", id, "plan %s has no scenario %q", planID, id)
		}
		sst, err := s.scenarioState(ctx, planID, "scenarios", id)
		if err != nil {
			return nil, err
		}
		sp, err := planOf(sst, planID)
		if err != nil {
			return nil, err
		}
		sm, err := metricOf(sp, metric.ID)
		if err != nil {
			return nil, err
		}
		sa, err := sst.analysis(ctx, sp, sm, yearSpan)
		if err != nil {
			return nil, err
		}
		sides = append(sides, side{sst, sa, sa.rowCommits()})
		out.Sides = append(out.Sides, CompareSide{Scenario: id, Name: sc.Name, From: sc.From, Status: string(sc.Status),
			AsOf: refOf(sst, ScenarioRef+id), Conflicts: nonNil(sa.conflicts)})
	}
	periods := []fiscal.Span{yearSpan}
	for k := 1; k <= 4; k++ {
		periods = append(periods, cal.FiscalQuarter(year, k))
	}
	for _, mem := range append([]string{parent}, d.Children(parent)...) {
		m, _ := d.Member(mem)
		if m.Retired {
			continue
		}
		node, _ := base.With(dimID, mem)
		for _, span := range periods {
			row := CompareRow{Member: mem, Name: m.Name, Depth: len(d.Ancestors(mem)), Period: spanJSON(cal, span), Scenarios: []Figures{}}
			for k, sd := range sides {
				n, err := node.Resolve(sd.a.dims...)
				if err != nil {
					n = dimension.Node{}
				}
				f := figures(sd.a, n, span, sd.rc)
				if k == 0 {
					row.Node, row.Plan = n.String(), f
					continue
				}
				f.TargetChange = change(decAmount(f.Target), decAmount(row.Plan.Target))
				f.LatestEstimateChange = change(f.LatestEstimate, row.Plan.LatestEstimate)
				f.ProbabilityChange = change(f.Probability, row.Plan.Probability)
				row.Changed = row.Changed || nonZero(f.TargetChange) || nonZero(f.LatestEstimateChange) || nonZero(f.ProbabilityChange) ||
					(f.Target == nil) != (row.Plan.Target == nil)
				row.Scenarios = append(row.Scenarios, f)
			}
			out.Rows = append(out.Rows, row)
		}
	}
	return out, nil
}

// figures returns the compared figures of node over span in a.
func figures(a *analysis, node dimension.Node, span fiscal.Span, rc rowCommits) Figures {
	if _, ok := a.index(node); !ok {
		return Figures{}
	}
	r := a.varianceRow(node, span, rc)
	return Figures{Target: r.Target, LatestEstimate: r.LatestEstimate, Gap: r.Gap, Probability: r.Probability}
}

func decAmount(s *string) *Amount {
	if s == nil {
		return nil
	}
	f, err := strconv.ParseFloat(*s, 64)
	if err != nil {
		return nil
	}
	n := Amount(f)
	return &n
}

// change returns a − b, or nil when either is missing.
func change[T ~float64](a, b *T) *T {
	if a == nil || b == nil {
		return nil
	}
	d := *a - *b
	return &d
}

func nonZero[T ~float64](n *T) bool { return n != nil && *n != 0 }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
