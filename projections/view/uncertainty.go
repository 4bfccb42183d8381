package view

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/concord-planning/concord/projections/reforecast"
)

// The uncertainty of a node's total over a span of periods: the standard
// deviation of Σ (cells of the node) Σ (open periods of the span) of the
// forecast errors, correlated across cells and across periods, given the
// actuals booked. It is what the variance table's intervals and
// P(target) use.
//
// # Cells forecast by a published run
//
// Each cell j follows a linear innovations model (every ETS with additive
// errors, ARIMA, Theta and the benchmarks are one): its h-step error is
// e_j(h) = Σ_{i=1..h} g_j(h−i)·z_j(i), where z_j(i) is the standardised
// innovation of step i, serially independent, and g_j are the cell's
// (absolute) impulse weights. The run publishes each cell's h-step
// variance v_j(h) = Σ_{k<h} g_j(k)² (its intervals), so the weights are
// read off the increments: g_j(0)² = v_j(1), g_j(k)² = v_j(k+1) − v_j(k)
// (Hyndman et al. 2008, ch. 6: the ψ-weights of the innovations form).
// Taking the weights non-negative is the one assumption made: it holds for
// every ETS model with additive errors inside the usual parameter space and
// for the random walks, and it is what makes the errors of a span's months
// add up rather than cancel. Across cells, the innovations of one step
// have the correlation of the run's error covariance, diag(d) + F·Fᵀ (the
// Schäfer–Strimmer shrunk covariance of the cells' one-step residuals that
// projections/reforecast stores with every run); a run without one (older
// runs, other producers) has independent cells, and the answer says so.
// The variance of the node's span total is then
//
//	Var = Σ_i wᵢᵀ R wᵢ,  wᵢⱼ = Σ_{q in span, step(q) ≥ i} g_j(step(q) − i),
//
// R the correlation of diag(d) + F·Fᵀ, summed over the innovations i not
// yet realised (steps after the last closed period: a run published
// before actuals that were booked since counts only what is still open).
// With R = d̃ + F̃F̃ᵀ this is Σ_i (Σ_j w²ᵢⱼ d̃_j + ‖Σ_j wᵢⱼ F̃_j‖²): linear in
// the cells, so a total of 2,048 cells over 12 months costs well under a
// millisecond.
//
// # Nodes that are an aggregate of the run
//
// A run that made its cells coherent with the own, non-flat forecasts of
// their aggregates (projections/reforecast: the total and each member of
// each dimension, Model.Aggregates) publishes each aggregate's h-step
// variance. A node whose cells are exactly such an aggregate has that
// forecast as its mean, up to the reconciliation, and its span's variance
// is the aggregate's, with the same across-period construction as a
// cell's (impulse weights from the variance's increments, innovations
// already booked left out): the aggregate's model sees the trend and
// season its flat cells miss, and its level's variance is that of the
// sum, not the sum of the cells' random-walk levels, which grows much
// faster with the months open. It keeps its own variance as a seasonal or
// trending cell's model does (no flat-forecast floor, below). A span past
// the run's horizon, a cell with an estimated closed month, or any other
// node takes its cells'.
//
// # Cells forecast flat
//
// The model's variance holds when the model is right. A cell the run
// forecasts flat (ETS with neither trend nor season, the naive and mean
// forecasts, the intermittent methods: isFlat) makes the stand-in's kind of
// forecast, and what a flat forecast missed by on the node's own history
// is measured (below): for a node with such cells, the variance is the
// larger of the model's and the one where those cells' errors are
// measured. Per-cell models of short, noisy series often miss a season or
// trend their sum shows plainly; their intervals then stay honest (the
// calibration backtest, calibration_test.go, measures it).
//
// # Stand-ins
//
// Cell-periods that no run forecasts (no run published yet, a cell the
// run does not know, periods past its horizon) have the stand-in as
// forecast: the mean of the cell's last three months. Its error is
// measured, not assumed: the stand-in is replayed on the node's own
// history at every earlier month end o (the mean of the three months up
// to o for each cell), its error over exactly the node's stand-in cells
// and steps is summed, and the mean square of these errors over the
// origins is the variance. Correlation across cells and periods, trend
// and seasonality the flat stand-in misses are in it by construction. What
// a flat forecast misses depends on where in the year it is made (a
// year-end push is missed by every forecast made the month before it and
// by none made after it), so the same error is also measured at the same
// month end of earlier years, over the span's whole horizon; where its
// mean square is significantly larger than over every month end (F test
// at 5%), it is the variance.
// When the history is too short for minStandInOrigins origins at the
// span's farthest step, the farthest step that has them stands in for the
// farther ones; with no such step, a standard deviation of a quarter of
// the stand-in's value per cell and period (independent) is the last
// resort. Each answer labels which of these it used (Variance.Uncertainty).

// minStandInOrigins is the least number of month ends a stand-in error
// is measured over.
const minStandInOrigins = 6

// runCovariance is the error correlation of a run's cells, decoded once
// per published run and shared by every state that holds the run.
type runCovariance struct {
	once sync.Once
	// byNode maps a series' node to its row; d and f hold the
	// correlation's diagonal part and factor row per series (nil without
	// a covariance: independent cells).
	byNode map[string]int
	d      []float64
	f      [][]float64
	rank   int
	err    error
	// aggs are the run's aggregates (reforecast.Aggregate) and member
	// per series the indices of those that sum it; none when the run
	// has none or they cannot be read.
	aggs   []reforecast.Aggregate
	member [][]int
}

// correlation returns the cells' error correlation of vintage v.
func (v *vintage) correlation() *runCovariance {
	c := v.cov
	if c == nil { // a vintage built without one (tests): decode now
		c = &runCovariance{}
	}
	c.once.Do(func() {
		c.byNode = make(map[string]int, len(v.Series))
		for k, s := range v.Series {
			c.byNode[s.Node.String()] = k
		}
		_, cov, err := reforecast.Read(v.Published)
		if err != nil {
			c.err = err
			return
		}
		if aggs, member, err := reforecast.ReadAggregates(v.Published); err == nil {
			c.aggs, c.member = aggs, member
		}
		c.d, c.f = make([]float64, len(cov.Diag)), make([][]float64, len(cov.Diag))
		for j, dj := range cov.Diag {
			var ff float64
			for _, x := range cov.Factor[j] {
				ff += x * x
			}
			total := dj + ff
			if !(total > 0) || math.IsInf(total, 0) {
				c.d[j] = 1 // no variance known: on its own
				continue
			}
			c.d[j] = dj / total
			if len(cov.Factor[j]) > 0 {
				s := 1 / math.Sqrt(total)
				row := make([]float64, len(cov.Factor[j]))
				for k, x := range cov.Factor[j] {
					row[k] = x * s
				}
				c.f[j] = row
				c.rank = max(c.rank, len(row))
			}
		}
	})
	return c
}

// cellPath is the published forecast-error model of one cell: first is
// the analysis period index of the run's step 1, g the cell's impulse
// weights by step, row its row of the run's correlation (−1 when the run
// has no covariance).
type cellPath struct {
	first int
	g     []float64
	row   int
	flat  bool // the cell's model forecasts flat (isFlat) and its published mean does not vary
}

// uncertaintyModel holds what the variance of any node and span needs,
// built once per analysis.
type uncertaintyModel struct {
	paths    []*cellPath // per cell; nil when no run forecasts it
	aggs     []*cellPath // per aggregate of the run (runCovariance.aggs), from the run's first period
	corr     *runCovariance
	runCells int       // cells the run forecasts
	standIn  []float64 // cells × H: the stand-in made at each past index (mean of the three recorded months up to it)
	since    []int     // per cell: the past index of its first recorded month (H when none)
	label    string
}

// uncertainty returns the analysis's uncertainty model.
func (a *analysis) uncertainty() *uncertaintyModel {
	a.unc.once.Do(func() {
		a.unc.model = newUncertaintyModel(a)
		a.unc.done.Store(true)
	})
	return a.unc.model
}

// lazyUncertainty is an analysis's uncertainty model, computed once on
// first use.
type lazyUncertainty struct {
	once  sync.Once
	done  atomic.Bool // model is set
	model *uncertaintyModel
}

// computed returns the model when it is computed, else nil.
func (l *lazyUncertainty) computed() *uncertaintyModel {
	if !l.done.Load() {
		return nil
	}
	return l.model
}

// readsAfter reports whether the model of an analysis whose last closed
// period has past index last reads an actual of cell j at past index h >
// last (an open period): only through the cell's first recorded month
// (since), which such an actual moves when the cell had none before it
// (or was that first month). The stand-ins it replays and their outcomes
// are those of closed months (standInVariance), and the runs' paths read
// no actuals.
func (u *uncertaintyModel) readsAfter(j, h int) bool { return u.since[j] >= h }

func newUncertaintyModel(a *analysis) *uncertaintyModel {
	m, P := len(a.cells), len(a.periods)
	u := &uncertaintyModel{paths: make([]*cellPath, m)}
	covered, first := 0, -1
	if v := a.vintage; v != nil {
		u.corr = v.correlation()
		for j, c := range a.cells {
			k, ok := u.corr.byNode[c.String()]
			if !ok {
				continue
			}
			sr := v.Series[k]
			p := &cellPath{first: int(sr.First - a.span.First), g: make([]float64, sr.Len()), row: -1, flat: isFlat(sr.Model) && !varies(sr.Mean)}
			if u.corr.err == nil {
				p.row = k
			}
			for h := range p.g {
				sd := (sr.Hi95[h] - sr.Lo95[h]) / (2 * z95)
				if !(sd > 0) {
					sd = (sr.Hi80[h] - sr.Lo80[h]) / (2 * z80)
				}
				p.g[h] = sd * sd
			}
			impulse(p.g)
			u.paths[j] = p
			covered++
			if p.row >= 0 && len(u.corr.member) > 0 && len(u.corr.member[p.row]) > 0 {
				first = p.first // the aggregates' step 1: a cell they sum has no missing month
			}
		}
		for _, ag := range u.corr.aggs {
			if first < 0 {
				break
			}
			p := &cellPath{first: first, g: slices.Clone(ag.Variance), row: -1}
			impulse(p.g)
			u.aggs = append(u.aggs, p)
		}
	}
	u.runCells = covered
	H := lookBack + P
	u.standIn, u.since = make([]float64, m*H), make([]int, m)
	for j := range m {
		u.since[j] = H
		for o := range H {
			if a.pastAt[j*H+o] {
				u.since[j] = o
				break
			}
		}
		for o := range H {
			var sum float64
			var k int
			for back := 0; back < lookBack && o-back >= 0 && k < 3; back++ {
				if h := j*H + o - back; a.pastAt[h] {
					sum += a.past[h]
					k++
				}
			}
			if k > 0 {
				u.standIn[j*H+o] = sum / float64(k)
			}
		}
	}
	switch {
	case a.vintage == nil:
		u.label = fmt.Sprintf("stand-in: the variance of each total is the mean squared error of the stand-in (each cell's mean of its last three months) replayed at every earlier month end over the node's own history (at least %d month ends; fewer, and the farthest step measured stands in for farther ones; with no such step, a quarter of the total)", minStandInOrigins)
	case u.corr.err != nil:
		u.label = fmt.Sprintf("run %s: each cell's errors correlated across periods as implied by its published intervals (non-negative impulse weights); the run carries no error covariance, so cells are taken as independent", a.vintage.RunID)
	default:
		u.label = fmt.Sprintf("run %s: each cell's errors correlated across periods as implied by its published intervals (non-negative impulse weights), and across cells by the run's shrunk error covariance (rank %d)", a.vintage.RunID, u.corr.rank)
	}
	if len(u.aggs) > 0 {
		u.label += fmt.Sprintf("; a node whose cells are exactly one of the run's %d aggregates with a trend or season (the total, a dimension member) takes its span's variance from that aggregate's own model, across periods as for a cell", len(u.aggs))
	}
	if a.vintage != nil && covered < m {
		u.label += fmt.Sprintf("; %d of %d cells and the periods past the run's horizon use the stand-in's measured errors", m-covered, m)
	}
	return u
}

// sd returns the standard deviation of node i's total over periods q0..q1
// given the actuals of the closed periods (0 when none is open and no
// closed month of the span is estimated). A closed month a cell has no
// actual for (fillMissing) is uncertain as an open one: its error, and its
// innovation's share in the months after it, count.
func (a *analysis) sd(i, q0, q1 int) float64 {
	lo := max(q0, a.firstUnbooked())
	if lo > q1 {
		return 0
	}
	u := a.uncertainty()
	cells := a.cellsOf(i)
	if v, ok := a.aggregateVariance(u, cells, lo, q1); ok {
		return math.Sqrt(v)
	}
	all := func(*cellPath) bool { return true }
	open := max(lo, a.closed)
	est := a.estimateVariance(u, cells, lo, q1)
	model := a.runVariance(u, cells, lo, q1, all) + a.standInVariance(u, cells, open, q1, nil) + est
	if !slices.ContainsFunc(cells, func(j int) bool { return u.paths[j] != nil && u.paths[j].flat }) {
		return math.Sqrt(model)
	}
	// Cells the run forecasts flat: the measured error of a flat forecast
	// on this node's history is a floor to the model's own.
	flat := func(p *cellPath) bool { return p.flat }
	floor := a.runVariance(u, cells, lo, q1, func(p *cellPath) bool { return !p.flat }) + a.standInVariance(u, cells, open, q1, flat) + est
	return math.Sqrt(max(model, floor))
}

// impulse turns a variance path v(1..H) into the impulse weights
// g(k) = √(v(k+1) − v(k)), g(0) = √v(1), in place: a variance path never
// shrinks, and a step whose variance is not a number keeps the previous
// step's.
func impulse(v []float64) {
	prev := 0.0
	for h, x := range v {
		x = math.Max(x, prev)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			x = prev
		}
		v[h] = math.Sqrt(x - prev)
		prev = x
	}
}

// aggregateVariance is the variance of the errors of the span lo..q1 of
// the total of cells when they are exactly an aggregate of the run
// (reforecast.Aggregate: the cells' forecasts were made coherent with its
// own, non-flat forecast), from that forecast's impulse weights as for a
// cell (runVariance); ok is false when they are not, or when some cell has
// an estimated closed month or the span reaches past the run's horizon.
func (a *analysis) aggregateVariance(u *uncertaintyModel, cells []int, lo, q1 int) (v float64, ok bool) {
	if len(u.aggs) == 0 || len(cells) == 0 {
		return 0, false
	}
	var common []int
	for k, j := range cells {
		p := u.paths[j]
		if p == nil || p.row < 0 || a.unbooked(j) != a.closed {
			return 0, false
		}
		member := u.corr.member[p.row]
		if k == 0 {
			common = slices.Clone(member)
			continue
		}
		common = slices.DeleteFunc(common, func(g int) bool { return !slices.Contains(member, g) })
	}
	for _, g := range common {
		if u.corr.aggs[g].Cells != len(cells) {
			continue
		}
		p := u.aggs[g]
		if q1-p.first >= len(p.g) {
			return 0, false
		}
		w := make([]float64, q1+1)
		from := max(a.closed, p.first)
		for q := max(lo, from); q <= q1; q++ {
			for iq := from; iq <= q; iq++ {
				w[iq] += p.g[q-iq]
			}
		}
		for _, x := range w {
			v += x * x
		}
		return v, true
	}
	return 0, false
}

// estimateVariance is the variance of the estimated closed months of cells
// within lo..q1 that no run forecasts (their estimate is the stand-in): a
// quarter of their total, as one error they share.
func (a *analysis) estimateVariance(u *uncertaintyModel, cells []int, lo, q1 int) float64 {
	if a.estimated == nil {
		return 0
	}
	P := len(a.periods)
	var s float64
	for _, j := range cells {
		p := u.paths[j]
		for q := max(lo, a.estFrom[j]); q <= q1 && q < a.closed; q++ {
			if !a.estimated[j*P+q] || p != nil && q-p.first >= 0 && q-p.first < len(p.g) {
				continue
			}
			s += math.Abs(a.actual.At(j, q)) / 4
		}
	}
	return s * s
}

// flatModels are the models whose forecast is flat (no trend, no
// seasonality), as forecasting names them; ETS(·,N,N) besides.
var flatModels = []string{"Naive", "Mean", "Croston", "SBA", "TSB"}

// isFlat tells whether a run's model name is of a flat forecast.
func isFlat(model string) bool {
	if strings.HasPrefix(model, "ETS(") && strings.HasSuffix(model, ",N,N)") {
		return true
	}
	return slices.Contains(flatModels, model)
}

// varies tells whether a published mean path is not the same at every
// step (to a part in 10⁹): a flat model's path varies when the run made
// it coherent with the forecasts of aggregates that carry a trend or a
// season (projections/reforecast).
func varies(mean []float64) bool {
	if len(mean) == 0 {
		return false
	}
	lo, hi := slices.Min(mean), slices.Max(mean)
	return hi-lo > 1e-9*max(math.Abs(lo), math.Abs(hi))
}

// runVariance is the variance of the errors of the cell-periods of cells ×
// lo..q1 that the run forecasts and that are open or estimated (see the
// file comment). A cell's innovations are realised up to its last actual:
// the last closed period, or the month before its first estimated one.
func (a *analysis) runVariance(u *uncertaintyModel, cells []int, lo, q1 int, use func(*cellPath) bool) float64 {
	// Innovation steps (0-based, relative to each run's step 1) are taken
	// relative to the analysis' periods, so cells of one run share them.
	var total float64
	var fac [][]float64 // per innovation period: Σ_j w_ij F̃_j
	base := a.firstUnbooked()
	w := make([]float64, q1+1-base)
	for _, j := range cells {
		p := u.paths[j]
		if p == nil || !use(p) {
			continue
		}
		clear(w)
		any := false
		from := a.unbooked(j) // the cell's first period without an actual
		for q := max(lo, from); q <= q1; q++ {
			s := q - p.first
			if s < 0 || s >= len(p.g) {
				continue
			}
			any = true
			// innovations of periods from..q (those before are realised)
			for iq := max(from, p.first); iq <= q; iq++ {
				w[iq-base] += p.g[q-iq]
			}
		}
		if !any {
			continue
		}
		d, f := 1.0, []float64(nil)
		if p.row >= 0 {
			d, f = u.corr.d[p.row], u.corr.f[p.row]
		}
		for k, wk := range w {
			if wk == 0 {
				continue
			}
			total += wk * wk * d
			if len(f) == 0 {
				continue
			}
			if fac == nil {
				fac = make([][]float64, len(w))
			}
			if fac[k] == nil {
				fac[k] = make([]float64, u.corr.rank)
			}
			for r, x := range f {
				fac[k][r] += wk * x
			}
		}
	}
	for _, row := range fac {
		for _, x := range row {
			total += x * x
		}
	}
	return total
}

// standInVariance is the measured variance of the stand-in's errors over
// the cell-periods of cells × lo..q1 that no run forecasts (see the file
// comment).
func (a *analysis) standInVariance(u *uncertaintyModel, cells []int, lo, q1 int, also func(*cellPath) bool) float64 {
	H := lookBack + len(a.periods)
	last := lookBack + a.closed - 1 // past index of the last closed period: the stand-in's origin
	// Cells with the same stand-in steps are replayed as one: their summed
	// history and summed stand-ins (the replay is linear in the cells).
	type group struct {
		steps    []int     // h = 1 for the first open period
		y, stand []float64 // summed past and stand-ins, by past index
		abs      float64   // Σ |stand-in at the origin|
	}
	groups := map[string]*group{}
	var order []string
	hmax := 0
	since := H
	flags := make([]byte, q1-lo+1)
	for _, j := range cells {
		p := u.paths[j]
		var steps []int
		for q := lo; q <= q1; q++ {
			flags[q-lo] = 0
			if p != nil && q-p.first >= 0 && q-p.first < len(p.g) && (also == nil || !also(p)) {
				continue
			}
			flags[q-lo] = 1
			steps = append(steps, q-a.closed+1)
		}
		if len(steps) == 0 {
			continue
		}
		since = min(since, u.since[j])
		hmax = max(hmax, steps[len(steps)-1])
		g := groups[string(flags)]
		if g == nil {
			g = &group{steps: steps, y: make([]float64, H), stand: make([]float64, H)}
			groups[string(flags)] = g
			order = append(order, string(flags))
		}
		for o := range H {
			g.y[o] += a.past[j*H+o]
			g.stand[o] += u.standIn[j*H+o]
		}
		g.abs += math.Abs(u.standIn[j*H+last])
	}
	if len(groups) == 0 {
		return 0
	}
	// Origins o = since+2 … last−h (three months of the node's history up
	// to the origin, the outcome h months after it, both booked).
	first := since + 2
	hcap := min(hmax, last-first-(minStandInOrigins-1))
	if hcap < 1 {
		// Too little history to measure: a quarter of the stand-in's
		// total, as one error its cells and periods share.
		var s float64
		for _, k := range order {
			s += float64(len(groups[k].steps)) * groups[k].abs / 4
		}
		return s * s
	}
	missed := func(o, hcap int) float64 {
		var e float64
		for _, k := range order { // in first-seen order: the sum is deterministic
			g := groups[k]
			for _, h := range g.steps {
				e += g.y[o+min(h, hcap)] - g.stand[o]
			}
		}
		return e
	}
	var sumSq float64
	n := 0
	for o := first; o+hcap <= last; o++ {
		e := missed(o, hcap)
		sumSq += e * e
		n++
	}
	all := sumSq / float64(n)
	// The same month ends of earlier years: what a flat forecast misses
	// may depend on where in the year it is made (a season, a year-end
	// push, a year's growth ahead), which the mean over every month end
	// dilutes. Their mean square is used where it is significantly larger
	// (F test at 5%: under equal error variance the ratio of the two mean
	// squares is F-distributed), not merely larger by chance.
	var seasonal float64
	ns := 0
	for o := last - seasonalPeriod; o >= first && o+hmax <= last; o -= seasonalPeriod {
		e := missed(o, hmax)
		seasonal += e * e
		ns++
	}
	if ns == 0 || !(all > 0) {
		return all
	}
	seasonal /= float64(ns)
	if seasonal/all > fQuantile95(ns, n) {
		return seasonal
	}
	return all
}

// fQuantiles95 remembers the 95% quantiles of the F distribution that
// fQuantile95 computed, by degrees of freedom: few pairs occur (months of
// history), and each quantile inverts the regularised incomplete beta
// function, which costs more than the rest of a node's variance.
var fQuantiles95 sync.Map // [2]int → float64

// fQuantile95 returns the 95% quantile of the F distribution with d1 and
// d2 degrees of freedom.
func fQuantile95(d1, d2 int) float64 {
	k := [2]int{d1, d2}
	if v, ok := fQuantiles95.Load(k); ok {
		return v.(float64)
	}
	v := distuv.F{D1: float64(d1), D2: float64(d2)}.Quantile(0.95)
	fQuantiles95.Store(k, v)
	return v
}

// seasonalPeriod is the number of periods in a year: the stand-in's error
// is also measured at the same month ends of earlier years.
const seasonalPeriod = 12

// ProbabilityAtLeast is P(total ≥ target) for a normal total of the given
// mean and standard deviation: the P(target) of every answer, and what the
// calibration backtest (projections/calibration) scores.
func ProbabilityAtLeast(target, mean, sd float64) float64 {
	if !(sd > 0) {
		if mean >= target {
			return 1
		}
		return 0
	}
	return distuv.UnitNormal.Survival((target - mean) / sd)
}
