package reforecast

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/forecasting"
	"gonum.org/v1/gonum/mat"
)

// The sum of many short, noisy cells shows a trend or a season that few
// of the cells' own models find: per-cell forecasts of such series are
// mostly flat (ETS(·,N,N)), and their sum then misses the year's growth
// and its season, always in the same direction. A run in which forecasting
// chooses each model therefore also forecasts the aggregates — the total
// and, in every dimension the cells name, each member's sum — from their
// own histories, and makes the cells' forecasts coherent with them: at
// each step h it takes the cell forecasts b̃ that minimise
//
//	(ŷ − S b)ᵀ W⁻¹ (ŷ − S b),   S = [A; I],
//
// ŷ the base forecasts of aggregates (â) and cells (b̂), A the aggregates'
// summing rows and W the diagonal of every base model's own h-step
// forecast variance (read off its 95% interval): WLS reconciliation with
// variance scaling (Wickramasuriya, Athanasopoulos & Hyndman 2019, JASA
// 114:804; Hyndman & Athanasopoulos, FPP3, ch. 11), solved in the
// constraint form
//
//	b̃ = b̂ + W_b Aᵀ (W_a + A W_b Aᵀ)⁻¹ (â − A b̂),
//
// which factorises only the aggregates × aggregates matrix. A model that
// is surer of its forecast moves less; a cell's intervals move with its
// mean (their widths, what the query side reads the cell's variance from,
// stay the model's). Cells with missing closed months or a pinned method
// keep their model's forecast and are in no aggregate.

// coherence returns, per cell of fcs (the cells' base forecasts), the
// adjustment to add to its forecast at each step of the horizon (nil for
// a cell in no aggregate), and the number of aggregates used: aggs are
// the aggregates' cells, afc their base forecasts, nil for an aggregate
// whose fit failed. A step where a variance is not finite and positive,
// or whose system is singular, is left as the models forecast it.
func coherence(fcs []forecasting.Forecast, aggs [][]int, afc []*forecasting.Forecast, horizon int) ([][]float64, int) {
	adj := make([][]float64, len(fcs))
	var rows [][]int
	var base []*forecasting.Forecast
	for g, cells := range aggs {
		if afc[g] != nil {
			rows, base = append(rows, cells), append(base, afc[g])
		}
	}
	if len(rows) == 0 {
		return adj, 0
	}
	memberOf := map[int][]int{} // cell → the rows that sum it
	for g, cells := range rows {
		for _, j := range cells {
			memberOf[j] = append(memberOf[j], g)
		}
	}
	cells := slices.Sorted(maps.Keys(memberOf))
	for _, j := range cells {
		adj[j] = make([]float64, horizon)
	}
	a := len(rows)
	w := make([]float64, len(fcs))
	m := mat.NewSymDense(a, nil)
	r := mat.NewVecDense(a, nil)
	var x mat.VecDense
	var chol mat.Cholesky
steps:
	for h := range horizon {
		for _, j := range cells {
			w[j] = stepVariance(fcs[j], h)
			if !(w[j] > 0) || math.IsInf(w[j], 0) {
				continue steps
			}
		}
		m.Zero()
		for g, f := range base {
			v := stepVariance(*f, h)
			if !(v > 0) || math.IsInf(v, 0) {
				continue steps
			}
			m.SetSym(g, g, v)
			gap := f.Mean[h]
			for _, j := range rows[g] {
				gap -= fcs[j].Mean[h]
			}
			r.SetVec(g, gap)
		}
		for _, j := range cells {
			for _, g := range memberOf[j] {
				for _, k := range memberOf[j] {
					if k >= g {
						m.SetSym(g, k, m.At(g, k)+w[j])
					}
				}
			}
		}
		if !chol.Factorize(m) {
			continue
		}
		if err := chol.SolveVecTo(&x, r); err != nil {
			continue
		}
		for _, j := range cells {
			var s float64
			for _, g := range memberOf[j] {
				s += x.AtVec(g)
			}
			adj[j][h] = w[j] * s
		}
	}
	return adj, len(rows)
}

// stepVariance is the variance of fc's forecast at step h (0-based) that
// its 95% interval implies, or its 80% one's when that is all it has.
func stepVariance(fc forecasting.Forecast, h int) float64 {
	const z95, z80 = 1.959963984540054, 1.2815515655446004
	if iv, ok := fc.Interval(95); ok {
		sd := (iv.Upper[h] - iv.Lower[h]) / (2 * z95)
		return sd * sd
	}
	if iv, ok := fc.Interval(80); ok {
		sd := (iv.Upper[h] - iv.Lower[h]) / (2 * z80)
		return sd * sd
	}
	return math.NaN()
}

// aggregates returns the cell index lists of the aggregates a run
// forecasts to make the cells coherent: the total of the cells in use
// and, in every dimension they name, each member's, in the order of
// dimension and member ids; an aggregate of one cell, or of the same
// cells as an earlier one, is left out.
func aggregates(cells []dimension.Node, use []bool) [][]int {
	var total []int
	byMember := map[dimension.Coord][]int{}
	for j, c := range cells {
		if !use[j] {
			continue
		}
		total = append(total, j)
		for _, co := range c.Coords() {
			byMember[co] = append(byMember[co], j)
		}
	}
	out := [][]int{total}
	for _, k := range slices.SortedFunc(maps.Keys(byMember), func(a, b dimension.Coord) int {
		return cmp.Or(strings.Compare(a.Dimension, b.Dimension), strings.Compare(a.Member, b.Member))
	}) {
		out = append(out, byMember[k])
	}
	seen := map[string]bool{}
	return slices.DeleteFunc(out, func(g []int) bool {
		key := fmt.Sprint(g)
		dup := len(g) < 2 || seen[key]
		seen[key] = true
		return dup
	})
}
