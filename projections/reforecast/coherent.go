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
// summing rows and W = blockdiag(W_a, W_b) the base forecasts' h-step
// error covariance: W_a the diagonal of each aggregate model's own h-step
// variance, W_b = diag(s)·R·diag(s) with s the cells' h-step standard
// deviations and R the correlation of the run's shrunk covariance of the
// cells' one-step residuals (what the query side takes their errors'
// correlation from). This is MinT reconciliation (Wickramasuriya,
// Athanasopoulos & Hyndman 2019, JASA 114:804; Hyndman & Athanasopoulos,
// FPP3, ch. 11) with the aggregates' errors taken as independent of each
// other and of the cells'. The correlation matters: cells whose models all
// miss the same season have errors that add up, so their sum is less
// certain than the aggregates' own models, which see it. It is solved in
// the constraint form
//
//	b̃ = b̂ + W_b Aᵀ (W_a + A W_b Aᵀ)⁻¹ (â − A b̂),
//
// which factorises only the aggregates × aggregates matrix; with R =
// diag(d) + F·Fᵀ of rank k, A W_b Aᵀ = A diag(s²d) Aᵀ + G Gᵀ, G = A diag(s) F,
// so a step costs O(cells · (aggregates per cell² + k) + aggregates³). A
// model that is surer of its forecast moves less; a cell's intervals move
// with its mean (their widths, what the query side reads the cell's
// variance from, stay the model's); the query side reads the variance of a
// node that is exactly an aggregate from the aggregate's own model
// (Model.Aggregates). Cells with missing closed months or a
// pinned method keep their model's forecast and are in no aggregate.

// coherence returns, per cell of fcs (the cells' base forecasts), the
// adjustment to add to its forecast at each step of the horizon (nil for
// a cell in no aggregate): aggs are
// the aggregates' cells, afc their base forecasts, nil for an aggregate
// whose fit failed; cov the cells' error covariance (Run's). A step where
// a variance is not finite and positive, or whose system is singular, is
// left as the models forecast it.
func coherence(fcs []forecasting.Forecast, cov Covariance, aggs [][]int, afc []*forecasting.Forecast, horizon int) [][]float64 {
	adj := make([][]float64, len(fcs))
	var rows [][]int
	var base []*forecasting.Forecast
	for g, cells := range aggs {
		if afc[g] != nil {
			rows, base = append(rows, cells), append(base, afc[g])
		}
	}
	if len(rows) == 0 {
		return adj
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
	d, f, rank := correlation(cov)
	a := len(rows)
	sd := make([]float64, len(fcs))
	m := mat.NewSymDense(a, nil)
	g := mat.NewDense(a, max(rank, 1), nil)
	r := mat.NewVecDense(a, nil)
	var x mat.VecDense
	var chol mat.Cholesky
	fx := make([]float64, rank)
steps:
	for h := range horizon {
		for _, j := range cells {
			v := stepVariance(fcs[j], h)
			if !(v > 0) || math.IsInf(v, 0) {
				continue steps
			}
			sd[j] = math.Sqrt(v)
		}
		m.Zero()
		g.Zero()
		for k, fc := range base {
			v := stepVariance(*fc, h)
			if !(v > 0) || math.IsInf(v, 0) {
				continue steps
			}
			m.SetSym(k, k, v)
			gap := fc.Mean[h]
			for _, j := range rows[k] {
				gap -= fcs[j].Mean[h]
				for c, fjc := range f[j] {
					g.Set(k, c, g.At(k, c)+sd[j]*fjc)
				}
			}
			r.SetVec(k, gap)
		}
		for _, j := range cells {
			own := sd[j] * sd[j] * d[j]
			for _, p := range memberOf[j] {
				for _, q := range memberOf[j] {
					if q >= p {
						m.SetSym(p, q, m.At(p, q)+own)
					}
				}
			}
		}
		if rank > 0 {
			var ggt mat.SymDense
			ggt.SymOuterK(1, g)
			m.AddSym(m, &ggt)
		}
		if !chol.Factorize(m) || chol.SolveVecTo(&x, r) != nil {
			continue
		}
		// W_b Aᵀx: with u = Aᵀx, s ∘ (d ∘ s ∘ u + F (Gᵀx)).
		for c := range fx {
			fx[c] = 0
			for k := range a {
				fx[c] += g.At(k, c) * x.AtVec(k)
			}
		}
		for _, j := range cells {
			var u float64
			for _, p := range memberOf[j] {
				u += x.AtVec(p)
			}
			shared := 0.0
			for c, fjc := range f[j] {
				shared += fjc * fx[c]
			}
			adj[j][h] = sd[j] * (d[j]*sd[j]*u + shared)
		}
	}
	return adj
}

// correlation returns the correlation of cov as diag(d) + F·Fᵀ, and the
// rank of F. A cell without a positive finite variance is uncorrelated.
func correlation(cov Covariance) (d []float64, f [][]float64, rank int) {
	d, f = make([]float64, len(cov.Diag)), make([][]float64, len(cov.Diag))
	for j, dj := range cov.Diag {
		total := dj
		for _, x := range cov.Factor[j] {
			total += x * x
		}
		if !(total > 0) || math.IsInf(total, 0) {
			d[j] = 1
			continue
		}
		d[j] = dj / total
		s := 1 / math.Sqrt(total)
		f[j] = make([]float64, len(cov.Factor[j]))
		for c, x := range cov.Factor[j] {
			f[j][c] = x * s
		}
		rank = max(rank, len(f[j]))
	}
	return d, f, rank
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
// forecasts to make the cells coherent, and their nodes ("" for the
// total, else "dimension=member"): the total of the cells in use and, in
// every dimension they name, each member's, in the order of dimension and
// member ids; an aggregate of one cell, or of the same cells as an earlier
// one, is left out.
func aggregates(cells []dimension.Node, use []bool) ([][]int, []string) {
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
	out, nodes := [][]int{total}, []string{""}
	for _, k := range slices.SortedFunc(maps.Keys(byMember), func(a, b dimension.Coord) int {
		return cmp.Or(strings.Compare(a.Dimension, b.Dimension), strings.Compare(a.Member, b.Member))
	}) {
		out, nodes = append(out, byMember[k]), append(nodes, k.Dimension+"="+k.Member)
	}
	seen := map[string]bool{}
	var keep [][]int
	var keepNodes []string
	for i, g := range out {
		key := fmt.Sprint(g)
		if len(g) < 2 || seen[key] {
			continue
		}
		seen[key] = true
		keep, keepNodes = append(keep, g), append(keepNodes, nodes[i])
	}
	return keep, keepNodes
}
