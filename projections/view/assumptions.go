package view

import (
	"gonum.org/v1/gonum/mat"
)

// shock applies the shocks assumed in the state's scenario (State.shocks)
// for a's plan and metric to base, the node base forecasts (nodes ×
// periods), before reconciliation. A shock of node n changes the base
// forecast of n's cells in the open months of its span — by Percent of
// each cell's own, or by the cells' share of Amount (the span's months
// share it equally, each month's part split across the cells in proportion
// to their forecasts, equally when they forecast nothing) — and every
// node's base by the sum of its cells' changes, so that n, its descendants
// and its ancestors move together and every level still adds up, while
// nodes that do not contain n's cells do not move. Several shocks add up,
// each measured against the unshocked forecast. Months already closed keep
// their actuals: an amount's share of them does not apply.
func (a *analysis) shock(base *mat.Dense) {
	shocks := a.st.shocks[a.plan.ID()]
	if len(shocks) == 0 {
		return
	}
	P := len(a.periods)
	delta := map[int][]float64{} // cell → change per period
	for _, e := range shocks {
		i, ok := a.index(e.Node)
		if e.Metric != a.metric.ID || !ok {
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
				cell := base.At(rows[k], q)
				var d float64
				switch {
				case e.Percent != nil:
					d = cell * e.Percent.Float64() / 100
				case total != 0:
					d = e.Amount.Float64() / float64(e.Span.Len()) * cell / total
				default:
					d = e.Amount.Float64() / float64(e.Span.Len()) / float64(len(cells))
				}
				if delta[j] == nil {
					delta[j] = make([]float64, P)
				}
				delta[j][q] += d
			}
		}
	}
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
