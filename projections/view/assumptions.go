package view

import (
	"slices"

	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/scenario"
	"gonum.org/v1/gonum/mat"
)

// assumed are a scenario's assumptions about one plan's forecasts.
type assumed struct {
	shocks []scenario.ShockAssumed
	// policies is the base policy of each metric that has one other than
	// the statistical forecast (scenario.PolicyAssumed), by metric id.
	policies map[string]string
	// methods is the forecasting method assumed for each metric, by
	// metric id: the scenario state holds a vintage made with it
	// (scenarioState), which its analyses read as the latest.
	methods map[string]string
}

// assume applies the state's scenario assumptions for a's plan and metric
// to base, the node base forecasts (nodes × periods), before
// reconciliation: first the base policy (policy), then the shocks (shock).
func (a *analysis) assume(base *mat.Dense) {
	as := a.st.assumed[a.plan.ID()]
	if as == nil {
		return
	}
	a.assumedPolicy(base, as.policies[a.metric.ID])
	a.shock(base, as.shocks)
}

// assumedPolicy applies base policy pol (scenario.PolicyCommit or PolicyBlend;
// PolicyStatistical and "" change nothing) to base. Under the commit
// policy, each current commit of a's metric (confidence "commit") of node
// n over span S scales the base forecast of n's cells in S's open months
// so that n's open months plus its recorded actuals of S's closed months
// equal the commit (shared equally when n forecasts nothing there); under
// the blend policy, halfway. Commits apply in the book's order, each
// against the base as the earlier ones left it, so a commit of a node
// within another's span applied later holds exactly. Every node's base
// moves by the sum of its cells' changes, as a shock's does.
func (a *analysis) assumedPolicy(base *mat.Dense, pol string) {
	weight := 0.0
	switch pol {
	case scenario.PolicyCommit:
		weight = 1
	case scenario.PolicyBlend:
		weight = 0.5
	default:
		return
	}
	b := a.st.books[a.plan.ID()]
	if b == nil {
		return
	}
	P := len(a.periods)
	cellBase := map[int][]float64{} // cell → its base per period as the policy leaves it
	get := func(j int) []float64 {
		if cellBase[j] == nil {
			r, _ := a.index(a.cells[j])
			row := make([]float64, P)
			for q := range P {
				row[q] = base.At(r, q)
			}
			cellBase[j] = row
		}
		return cellBase[j]
	}
	for _, e := range b.Entries() {
		if !e.Current || e.Metric != a.metric.ID || e.Confidence != commit.ConfidenceCommit {
			continue
		}
		i, ok := a.index(e.Node)
		if !ok {
			continue
		}
		cells := a.cellsOf(i)
		var open []int
		closedActual, forecast := 0.0, 0.0
		for q, per := range a.periods {
			if !e.Span.Contains(per) {
				continue
			}
			if q < a.closed {
				for _, j := range cells {
					closedActual += a.actual.At(j, q)
				}
				continue
			}
			open = append(open, q)
			for _, j := range cells {
				forecast += get(j)[q]
			}
		}
		if len(open) == 0 || e.Span.First < a.periods[0] || e.Span.Last > a.periods[P-1] {
			continue // nothing open, or the commit reaches outside the analysed span
		}
		want := e.Amount.Float64() - closedActual
		for _, j := range cells {
			row := get(j)
			for _, q := range open {
				var to float64
				if forecast != 0 {
					to = row[q] * want / forecast
				} else {
					to = want / float64(len(open)*len(cells))
				}
				row[q] += weight * (to - row[q])
			}
		}
	}
	delta := map[int][]float64{}
	for j, row := range cellBase {
		r, _ := a.index(a.cells[j])
		d := make([]float64, P)
		for q := range P {
			d[q] = row[q] - base.At(r, q)
		}
		delta[j] = d
	}
	a.addCells(base, delta)
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
