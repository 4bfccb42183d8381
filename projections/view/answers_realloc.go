package view

import (
	"context"
	"errors"
	"math"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/plan"
)

// MoveJSON is one node's part of a reallocation.
type MoveJSON struct {
	Node  string `json:"node"`
	Label string `json:"label"`
	Delta string `json:"delta"`
}

// ReallocationJSON is a proposed or decided reallocation.
type ReallocationJSON struct {
	ID             string     `json:"id"`
	Metric         string     `json:"metric"`
	Span           SpanJSON   `json:"span"`
	Moves          []MoveJSON `json:"moves"`
	Reason         string     `json:"reason"`
	By             string     `json:"by"`
	Status         string     `json:"status"`
	DecidedBy      string     `json:"decided_by"`
	DecisionReason string     `json:"decision_reason"`
	// Scenario and Changes describe a scenario's promoted changes (which
	// have no metric, span nor moves).
	Scenario string       `json:"scenario,omitempty"`
	Changes  []ChangeJSON `json:"changes,omitempty"`
}

// Reallocations lists a plan's reallocations (status "proposed",
// "approved", "rejected" or "" for all), in the order proposed.
func (s *Service) Reallocations(ctx context.Context, planID, status, asOf string) ([]ReallocationJSON, error) {
	switch status {
	case "", "proposed", "approved", "rejected":
	default:
		return nil, BadParam("status", status, "want proposed, approved or rejected")
	}
	st, err := s.state(ctx, planID, "as_of", asOf)
	if err != nil {
		return nil, err
	}
	p, err := planOf(st, planID)
	if err != nil {
		return nil, err
	}
	out := []ReallocationJSON{}
	for _, r := range p.Reallocations() {
		sts := string(r.Status)
		if r.Status == plan.StatusOpen {
			sts = "proposed"
		}
		if status != "" && sts != status {
			continue
		}
		rj := ReallocationJSON{ID: r.ID, Metric: r.Metric, Span: spanJSON(p.Calendar(), r.Span), Reason: r.Reason, By: r.By,
			Status: sts, DecidedBy: r.DecidedBy, DecisionReason: r.DecisionReason, Moves: []MoveJSON{}}
		for _, m := range r.Moves {
			rj.Moves = append(rj.Moves, MoveJSON{Node: m.Node.String(), Label: label(st, m.Node), Delta: m.Delta.String()})
		}
		rj.Scenario, rj.Changes = r.Scenario, proposedChanges(st, p, r.Changes)
		out = append(out, rj)
	}
	return out, nil
}

// PreviewRequest is a proposed reallocation of year targets.
type PreviewRequest struct {
	Metric string `json:"metric"`
	Year   int    `json:"year"`
	Moves  []struct {
		Node  string `json:"node"`
		Delta string `json:"delta"`
	} `json:"moves"`
}

// PreviewRow compares one node before and after a reallocation.
type PreviewRow struct {
	Node              string  `json:"node"`
	Label             string  `json:"label"`
	TargetBefore      *string `json:"target_before"`
	TargetAfter       *string `json:"target_after"`
	Forecast          Amount  `json:"forecast"`
	GapBefore         *Amount `json:"gap_before"`
	GapAfter          *Amount `json:"gap_after"`
	ProbabilityBefore *Num    `json:"probability_before"`
	ProbabilityAfter  *Num    `json:"probability_after"`
}

// Preview is the answer of the reallocation preview.
type Preview struct {
	Forecast  ForecastSource `json:"forecast_source"`
	Rows      []PreviewRow   `json:"rows"`
	Total     PreviewRow     `json:"total"`
	Conflicts []string       `json:"conflicts"`
	// Incoherent lists the sums of targets the move would break: a
	// proposal of it is refused.
	Incoherent []string `json:"incoherent"`
}

// Preview reconciles the plan with a reallocation applied to the year
// targets, without recording anything, and reports each moved node's
// target, gap and probability of reaching it before and after, and the
// plan total's.
func (s *Service) Preview(ctx context.Context, planID string, req PreviewRequest) (*Preview, error) {
	st, err := s.Live(ctx)
	if err != nil {
		return nil, err
	}
	p, err := planOf(st, planID)
	if err != nil {
		return nil, err
	}
	metric, err := metricOf(p, req.Metric)
	if err != nil {
		return nil, err
	}
	if req.Year == 0 {
		req.Year = p.Calendar().Year(p.Horizon().First)
	}
	if len(req.Moves) < 2 {
		return nil, BadParam("moves", "", "a reallocation moves target between at least two nodes")
	}
	span := p.Calendar().FiscalYear(req.Year)
	override := map[string]float64{}
	var nodes []dimension.Node
	var moves []plan.Move
	var sum decimal.Decimal
	after := map[string]decimal.Decimal{}
	change := map[string]float64{} // node → its change of target
	for k, m := range req.Moves {
		field := "moves[" + itoa(k) + "]"
		n, err := parseNode(st, p, field+".node", m.Node)
		if err != nil {
			return nil, err
		}
		d, err := decimal.Parse(m.Delta)
		if err != nil {
			return nil, BadParam(field+".delta", m.Delta, "not a decimal amount")
		}
		t, ok := p.Target(n, metric.ID, span)
		if !ok {
			return nil, BadParam(field+".node", m.Node, "has no %s target for FY%d to reallocate", metric.ID, req.Year)
		}
		if sum, err = sum.Add(d); err != nil {
			return nil, BadParam(field+".delta", m.Delta, "%v", err)
		}
		na, err := t.Amount.Add(d)
		if err != nil {
			return nil, BadParam(field+".delta", m.Delta, "%v", err)
		}
		if metric.NonNegative && na.Sign() < 0 {
			return nil, BadParam(field+".delta", m.Delta, "would make the target negative (%s)", na)
		}
		after[n.String()] = na
		change[n.String()] = d.Float64()
		override[targetID(n, span)] = na.Float64()
		nodes = append(nodes, n)
		moves = append(moves, plan.Move{Node: n, Delta: d})
	}
	if !sum.IsZero() {
		return nil, BadParam("moves", sum.String(), "the changes must sum to zero; they sum to %s", sum)
	}
	before, err := st.analysis(ctx, p, metric, span)
	if err != nil {
		return nil, err
	}
	moved, err := st.reanalysis(ctx, p, metric, span, override)
	if err != nil {
		return nil, err
	}
	out := &Preview{Forecast: before.source(0, len(before.periods)-1), Rows: []PreviewRow{}, Conflicts: append([]string{}, moved.conflicts...), Incoherent: []string{}}
	// The sums the move would break, which the proposal would be refused for.
	var dims []*dimension.Dimension
	for _, id := range p.Dimensions() {
		if d := st.dims[id]; d != nil {
			dims = append(dims, d)
		}
	}
	var joined interface{ Unwrap() []error }
	if err := p.CheckReallocation(dims, metric.ID, span, moves); errors.As(err, &joined) {
		for _, e := range joined.Unwrap() {
			out.Incoherent = append(out.Incoherent, e.Error())
		}
	}
	rcBefore, rcMoved := before.rowCommits(), moved.rowCommits()
	row := func(n dimension.Node) PreviewRow {
		r := PreviewRow{Node: n.String(), Label: label(st, n)}
		b := before.varianceRow(n, span, rcBefore)
		a := moved.varianceRow(n, span, rcMoved)
		r.TargetBefore, r.GapBefore, r.ProbabilityBefore = b.Target, b.Gap, b.Probability
		r.TargetAfter, r.ProbabilityAfter = b.Target, a.Probability
		if v, ok := after[n.String()]; ok {
			s := v.String()
			r.TargetAfter = &s
		}
		if b.Gap != nil {
			// The latest estimate does not depend on targets, so the gap
			// (target − latest estimate) moves by exactly the target's
			// change, whether or not the moved targets conflict.
			g := *b.Gap + Amount(change[n.String()])
			r.GapAfter = &g
			if moved.result == nil || len(moved.conflicts) > 0 {
				r.ProbabilityAfter = nil // the moved targets conflict
			}
		}
		if b.Forecast != nil {
			r.Forecast = b.Forecast.Mean
		} else {
			r.Forecast = Amount(math.NaN())
		}
		return r
	}
	for _, n := range nodes {
		out.Rows = append(out.Rows, row(n))
	}
	out.Total = row(dimension.Node{})
	return out, nil
}

func itoa(k int) string {
	const digits = "0123456789"
	if k < 10 {
		return digits[k : k+1]
	}
	return itoa(k/10) + digits[k%10:k%10+1]
}
