package view

import (
	"slices"

	"github.com/concord-planning/concord/domain/scenario"
	"gonum.org/v1/gonum/mat"
)

// assumed are a scenario's assumptions about one plan's forecasts.
type assumed struct {
	shocks []scenario.ShockAssumed
	// methods is the forecasting method assumed for each metric, by
	// metric id: the scenario state holds a vintage made with it
	// (scenarioState), which its analyses read as the latest.
	methods map[string]string
}

// assume applies the state's scenario assumptions for a's plan and metric
// to base, the node base forecasts (nodes × periods), before
// reconciliation: the shocks (shock). (A scenario's estimate policy is a
// plan event of the scenario's plan, read as the plan's own: policy.go.)
func (a *analysis) assume(base *mat.Dense) {
	as := a.st.assumed[a.plan.ID()]
	if as == nil {
		return
	}
	a.shock(base, as.shocks)
}

// shock applies shocks, the shocks assumed in the state's scenario
// for a's plan and metric to base, the node base forecasts (nodes ×
// periods), before reconciliation. A shock of node n changes the base
// forecast of n's cells in the open months of its span — by Percent of
// each cell's own, or by the cells' share of Amount (the span's months
// share it equally, each month's part split across the cells in proportion
// to their forecasts, equally when they forecast nothing) — and every
// node's base by the sum of its cells' changes, so that n, its descendants
// and its ancestors move together and every level still adds up, while
// nodes that do not contain n's cells do not move. Months already closed
// keep their actuals: an amount's share of them does not apply.
//
// A percentage shock reaches a's metric when the plan scales it with the
// shocked driver (plan.Plan.Scaled: the metric itself, a derived metric's
// operands, the other operand of a held ratio). Percentages on the same
// cell and month compound (price +3% and units −2% holding price move
// revenue by 1.03 × 0.98 − 1 = +0.94%); amounts add, each share measured
// against the unshocked forecast.
func (a *analysis) shock(base *mat.Dense, shocks []scenario.ShockAssumed) {
	if len(shocks) == 0 {
		return
	}
	P := len(a.periods)
	factor := map[int][]float64{} // cell → compounded percentage factor per period
	delta := map[int][]float64{}  // cell → change by amounts per period
	for _, e := range shocks {
		i, ok := a.index(e.Node)
		if !ok || !a.reaches(e) {
			continue
		}
		cells := a.cellsOf(i)
		rows := make([]int, len(cells))
		for k, j := range cells {
			rows[k], _ = a.index(a.cells[j])
		}
		for q, per := range a.periods {
			if q < a.closed || !e.Span.Contains(per) {
				continue
			}
			var total float64
			for _, r := range rows {
				total += base.At(r, q)
			}
			for k, j := range cells {
				if e.Percent != nil {
					if factor[j] == nil {
						factor[j] = slices.Repeat([]float64{1}, P)
					}
					factor[j][q] *= 1 + e.Percent.Float64()/100
					continue
				}
				var d float64
				if total != 0 {
					d = e.Amount.Float64() / float64(e.Span.Len()) * base.At(rows[k], q) / total
				} else {
					d = e.Amount.Float64() / float64(e.Span.Len()) / float64(len(cells))
				}
				if delta[j] == nil {
					delta[j] = make([]float64, P)
				}
				delta[j][q] += d
			}
		}
	}
	if len(delta)+len(factor) == 0 {
		return
	}
	for j, f := range factor {
		r, _ := a.index(a.cells[j])
		if delta[j] == nil {
			delta[j] = make([]float64, P)
		}
		for q, v := range f {
			delta[j][q] += base.At(r, q) * (v - 1)
		}
	}
	a.addCells(base, delta)
}

// addCells adds delta, changes of cells' base forecasts (cell → change per
// period), to every node containing each cell.
func (a *analysis) addCells(base *mat.Dense, delta map[int][]float64) {
	if len(delta) == 0 {
		return
	}
	n, _ := base.Dims()
	for i := range n {
		for _, j := range a.structure.NodeCells(i) {
			if d := delta[j]; d != nil {
				for q, v := range d {
					if v != 0 {
						base.Set(i, q, base.At(i, q)+v)
					}
				}
			}
		}
	}
}

// reaches reports whether shock e changes a's metric: an amount only the
// metric it names, a percentage every metric the plan scales with it.
func (a *analysis) reaches(e scenario.ShockAssumed) bool {
	if e.Percent == nil {
		return e.Metric == a.metric.ID
	}
	scaled, err := a.plan.Scaled(e.Metric, e.Holding)
	return err == nil && slices.Contains(scaled, a.metric.ID) // checked when assumed
}
