package view

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/forecasting/reconcile"
)

// The standard normal quantiles of the published central intervals.
const (
	z95 = 1.959963984540054
	z80 = 1.2815515655446004
)

// analysis is the reconciled plan of one plan and metric over a span of
// periods, as known in one State.
type analysis struct {
	st      *State
	plan    *plan.Plan
	metric  plan.Metric
	span    fiscal.Span
	periods []fiscal.Period
	closed  int // leading periods of span that are closed

	dimIDs    []string
	dims      []*dimension.Dimension
	structure *reconcile.Structure
	cells     []dimension.Node
	cellIDs   []string // cells[j].String()

	actual     *mat.Dense        // cells × periods, recorded actuals (0 where none); in closed months a cell has no actual for, its estimate (estimated)
	amount     []decimal.Decimal // cells × periods (row-major), recorded actuals exactly
	recordedAt []bool            // cells × periods (row-major), whether an actual is recorded
	estimated  []bool            // cells × periods (row-major): a closed month after the cell's last actual, its forecast standing in (fillMissing)
	estFrom    []int             // per cell: its first estimated closed period, a.closed when none
	estMin     int               // the least of estFrom (a.closed when no month is estimated)
	past       []float64         // cells × (lookBack months before span, then span), recorded actuals
	pastAt     []bool            // as past, whether an actual is recorded
	variance   *mat.Dense        // cells × periods, forecast-error variance of open periods
	standInAt  []bool            // per period: some cell's forecast is the stand-in
	beyond     []bool            // per open period: no cell has a published forecast or a stand-in
	vintage    *vintage          // the forecast used; nil when none was published
	standIns   []int             // per cell, the last open period whose base forecast is a stand-in (standIn), -1 for none; nil when none is
	runFrom    []int             // per cell, the period its published series starts (may be past the span), len(periods) for a cell no run forecasts; nil when no run is used
	ownBase    bool              // the vintage forecasts every node: coherence by WLS

	result    *reconcile.Plan // nil when the targets conflict
	rec       *reconciliation // the reconciliation prepared for result, shared with the analyses it fits
	conflicts []string
	// targetSpans holds the node and span of each target reconciled, in
	// the order of result.Targets: sorted as plan.TargetsWithin sorts them.
	targetSpans []targetSpan

	unc *lazyUncertainty // see uncertainty; a pointer, so that copies of the analysis share it

	policy plan.EstimatePolicy // the plan's latest-estimate policy of the metric
	input  reconcile.PlanInput // what was reconciled, without the targets (policy.go reconciles it to the commits)
	est    *lazyEstimate       // see latest; a pointer, so that copies of the analysis share it
}

// targetID names a target for the reconciler.
func targetID(node dimension.Node, span fiscal.Span) string {
	k := node.String()
	b := make([]byte, 0, len(k)+17)
	b = append(append(b, k...), '@')
	b = append(span.First.Append(b), ".."...)
	return string(span.Last.Append(b))
}

// errNoDimensions is returned for a plan whose dimensions are not defined.
var errNoDimensions = errors.New("query: the plan's dimensions are not defined yet")

// analyse builds and reconciles the plan of metric over span. override, if
// not nil, replaces target amounts (by targetID) — used by the preview.
func analyse(st *State, p *plan.Plan, metric plan.Metric, span fiscal.Span, override map[string]float64) (*analysis, error) {
	a := &analysis{st: st, plan: p, metric: metric, span: span, periods: span.Periods(), dimIDs: p.Dimensions(), unc: new(lazyUncertainty),
		policy: p.EstimatePolicy(metric.ID), est: new(lazyEstimate)}
	for _, q := range a.periods {
		if !st.closed[q] {
			break
		}
		a.closed++
	}
	for _, id := range a.dimIDs {
		d := st.dims[id]
		if d == nil || d.ID() == "" {
			return nil, fmt.Errorf("%w: %q", errNoDimensions, id)
		}
		a.dims = append(a.dims, d)
	}
	l, err := st.layouts.of(a.dimIDs, a.dims, func() (*layout, error) { return newLayout(a.dimIDs, a.dims) })
	if err != nil {
		return nil, fmt.Errorf("query: plan %s: %w", p.ID(), err)
	}
	a.structure, a.cells, a.cellIDs = l.structure, l.cells, l.cellIDs
	m, P := len(a.cells), len(a.periods)
	a.actual = mat.NewDense(m, P, nil)
	a.amount, a.recordedAt = make([]decimal.Decimal, m*P), make([]bool, m*P)
	H := lookBack + P
	months := make([]map[string]decimal.Decimal, H)
	for h := range months {
		months[h] = st.actuals[monthOf{metric.ID, span.First.Add(h - lookBack)}]
	}
	a.past, a.pastAt = make([]float64, m*H), make([]bool, m*H)
	for j, cell := range l.cellIDs {
		for h := range H {
			v, ok := months[h][cell]
			if !ok {
				continue
			}
			f := v.Float64()
			a.past[j*H+h], a.pastAt[j*H+h] = f, true
			if q := h - lookBack; q >= 0 {
				a.actual.Set(j, q, f)
				a.amount[j*P+q], a.recordedAt[j*P+q] = v, true
			}
		}
	}
	base, err := a.baseForecast()
	if err != nil {
		return nil, err
	}
	a.assume(base) // a scenario's assumptions (assumptions.go)
	within := p.TargetsWithin(metric.ID, span)
	targets := make([]reconcile.Target, 0, len(within))
	spans := make([]targetSpan, 0, len(within))
	var (
		node    dimension.Node // of the target before, whose members are
		members []string       // shared: within is sorted by node
		known   bool
	)
	for k, t := range within {
		if k == 0 || t.Node != node {
			node = t.Node
			members, known = a.members(node)
		}
		if !known {
			continue // a node of retired members
		}
		id := targetID(t.Node, t.Span)
		v := t.Amount.Float64()
		if o, ok := override[id]; ok {
			v = o
		}
		spans = append(spans, targetSpan{t.Node, t.Span})
		targets = append(targets, reconcile.Target{ID: id, Node: members,
			From: int(t.Span.First - span.First), To: int(t.Span.Last - span.First), Value: v})
	}
	opts := reconcile.Options{Method: reconcile.BottomUp, NonNegative: metric.NonNegative}
	if a.ownBase {
		opts.Method = reconcile.WLSStructural
	}
	in := reconcile.PlanInput{
		Structure: a.structure, Base: base, Options: opts, Actual: a.actual, Closed: a.closed,
		Variance: a.variance, Targets: targets, Check: st.work.check,
	}
	a.input = in
	rec, err := prepareReconciliation(in, st.work.analyses.reconciliations(analysisKey{plan: p.ID(), metric: metric.ID, span: span}))
	if err != nil {
		return nil, fmt.Errorf("query: reconciling plan %s, %s: %w", p.ID(), metric.ID, err)
	}
	a.rec = rec
	if rec.keep != nil {
		// Report the conflicting targets and reconcile the others: one
		// incoherent target (from a log older than the commands' coherence
		// check) must not blank every node.
		a.conflicts = slices.Clip(rec.conflicts) // shared: an append below copies
		in.Targets = make([]reconcile.Target, 0, len(rec.keep))
		kept := make([]targetSpan, 0, len(rec.keep))
		for _, k := range rec.keep {
			in.Targets = append(in.Targets, targets[k])
			kept = append(kept, spans[k])
		}
		spans = kept
	}
	a.targetSpans = spans
	res, err := rec.rest.Plan(in)
	var conflict *reconcile.ConflictError
	switch {
	case errors.As(err, &conflict):
		for _, c := range conflict.Conflicts {
			a.conflicts = append(a.conflicts, conflictText(c))
		}
	case err != nil:
		return nil, fmt.Errorf("query: reconciling plan %s, %s: %w", p.ID(), metric.ID, err)
	default:
		a.result = res
	}
	return a, nil
}

// reconciliation is an analysis's reconciliation to its targets, prepared
// for any base forecasts (reconcile.Prepare): of every target, and of the
// targets left when some of them conflict. It depends on the structure,
// the actuals of closed periods, the variances and the targets, not on the
// base forecasts' means, so the analyses of a scenario that only shocks
// the forecasts reconcile with their plan's (and the plan's with a
// scenario's, whichever is read first) by a solve. It is immutable and
// shared by the analyses that use it.
type reconciliation struct {
	all  *reconcile.Prepared // of every target
	rest *reconcile.Prepared // of the targets not in all's conflicts; all when none conflict
	// When all has conflicts: keep holds the indices (in the input's
	// order) of the targets rest reconciles, and conflicts describes all's
	// conflicts (conflictText). Both nil when none conflict.
	keep      []int
	conflicts []string
}

// prepareReconciliation returns the reconciliation of in: the first of
// donors that fits it (reconcile.Prepared.Fits: in differs at most in its
// base forecasts), else one prepared now.
func prepareReconciliation(in reconcile.PlanInput, donors []*reconciliation) (*reconciliation, error) {
	for _, d := range donors {
		if d.all.Fits(in) {
			return d, nil
		}
	}
	all, err := reconcile.Prepare(in)
	if err != nil {
		return nil, err
	}
	rec := &reconciliation{all: all, rest: all}
	if c := all.Conflict(); c != nil {
		targets := in.Targets
		rec.keep = withoutConflicts(targets, c)
		for _, c := range c.Conflicts {
			rec.conflicts = append(rec.conflicts, conflictText(c))
		}
		in.Targets = make([]reconcile.Target, 0, len(rec.keep))
		for _, k := range rec.keep {
			in.Targets = append(in.Targets, targets[k])
		}
		if rec.rest, err = reconcile.Prepare(in); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// withoutConflicts returns the indices of the targets no conflict of c
// names, in order.
func withoutConflicts(targets []reconcile.Target, c *reconcile.ConflictError) []int {
	drop := map[string]bool{}
	for _, c := range c.Conflicts {
		for _, id := range c.Targets {
			drop[id] = true
		}
	}
	kept := make([]int, 0, len(targets))
	for k, t := range targets {
		if !drop[t.ID] {
			kept = append(kept, k)
		}
	}
	return kept
}

// bytes estimates the memory r holds.
func (r *reconciliation) bytes() int64 {
	if r.rest == r.all {
		return r.all.Bytes()
	}
	size := r.all.Bytes() + r.rest.Bytes() + 8*int64(len(r.keep))
	for _, c := range r.conflicts {
		size += 16 + int64(len(c))
	}
	return size
}

// node turns one member per dimension (structure order) into a Node,
// leaving out dimensions at their root.
func (a *analysis) node(members []string) dimension.Node { return nodeOf(a.dimIDs, a.dims, members) }

func nodeOf(dimIDs []string, dims []*dimension.Dimension, members []string) dimension.Node {
	var coords []dimension.Coord
	for d, id := range members {
		if id != dims[d].Root() {
			coords = append(coords, dimension.Coord{Dimension: dimIDs[d], Member: id})
		}
	}
	return dimension.MustNode(coords...)
}

// layout is the reconciliation structure of a plan's dimensions (their
// active members) with its cells as nodes. It depends only on the
// dimension aggregates, which a new state shares with the one it follows
// unless an event changed them, so consecutive states share it.
type layout struct {
	structure *reconcile.Structure
	cells     []dimension.Node
	cellIDs   []string // cells[j].String()
}

func newLayout(dimIDs []string, dims []*dimension.Dimension) (*layout, error) {
	var rdims []reconcile.Dimension
	for k, d := range dims {
		rd := reconcile.Dimension{Name: dimIDs[k]}
		for _, m := range d.Members() {
			if m.Retired {
				continue
			}
			rd.Members = append(rd.Members, reconcile.Member{ID: m.ID, Parent: m.Parent})
		}
		rdims = append(rdims, rd)
	}
	s, err := reconcile.NewStructure(rdims, nil)
	if err != nil {
		return nil, err
	}
	l := &layout{structure: s, cells: make([]dimension.Node, s.NumCells()), cellIDs: make([]string, s.NumCells())}
	for j := range l.cells {
		l.cells[j] = nodeOf(dimIDs, dims, s.Node(s.NumAggregates()+j))
		l.cellIDs[j] = l.cells[j].String()
	}
	return l, nil
}

// layouts keeps the few most recently used layouts, by the members of the
// dimensions they were built from. It is shared by the states of a Service
// and safe for concurrent use.
type layouts struct {
	mu      sync.Mutex
	entries []layoutEntry // most recently used last
}

type layoutEntry struct {
	ids []string
	key string // layoutKey of the dimensions
	l   *layout
}

// layoutKey is what a layout is built from: each dimension's members in
// the order they were added, with their parents and whether retired. Past
// states (as_of) hold dimension aggregates of their own, equal in this to
// those of many other states: they share a layout by it.
func layoutKey(dims []*dimension.Dimension) string {
	var b strings.Builder
	for _, d := range dims {
		b.WriteString(d.ID())
		b.WriteByte(0)
		for _, m := range d.Members() {
			b.WriteString(m.ID)
			b.WriteByte(1)
			b.WriteString(m.Parent)
			if m.Retired {
				b.WriteByte(2)
			}
			b.WriteByte(0)
		}
		b.WriteByte(3)
	}
	return b.String()
}

// keptLayouts is how many layouts a Service keeps.
const keptLayouts = 8

// of returns the layout of dims (named ids), built by build when none is
// kept for aggregates of the same members (layoutKey).
func (c *layouts) of(ids []string, dims []*dimension.Dimension, build func() (*layout, error)) (*layout, error) {
	if c == nil {
		return build()
	}
	key := layoutKey(dims)
	c.mu.Lock()
	for k, e := range c.entries {
		if slices.Equal(e.ids, ids) && e.key == key {
			c.entries = append(slices.Delete(c.entries, k, k+1), e)
			c.mu.Unlock()
			return e.l, nil
		}
	}
	c.mu.Unlock()
	l, err := build()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = append(c.entries, layoutEntry{ids: slices.Clone(ids), key: key, l: l})
	if len(c.entries) > keptLayouts {
		c.entries = slices.Delete(c.entries, 0, len(c.entries)-keptLayouts)
	}
	return l, nil
}

// members returns n's member per dimension (structure order) and whether
// n is a node of the structure.
func (a *analysis) members(n dimension.Node) ([]string, bool) {
	out := make([]string, len(a.dims))
	for d, dim := range a.dims {
		out[d] = dim.Root()
		if m, ok := n.Member(a.dimIDs[d]); ok {
			out[d] = m
		}
	}
	_, ok := a.structure.NodeIndex(out)
	return out, ok
}

// index returns n's row in the structure.
func (a *analysis) index(n dimension.Node) (int, bool) {
	m, ok := a.members(n)
	if !ok {
		return 0, false
	}
	return a.structure.NodeIndex(m)
}

// baseForecast returns the node base forecasts (nodes × periods) from the
// latest published forecast of the metric, and fills a.variance with the
// cells' forecast-error variances derived from the published intervals.
// Where a cell has no published forecast for an open period, the mean of
// its last three months of actuals stands in, with a standard deviation of
// a quarter of it.
func (a *analysis) baseForecast() (*mat.Dense, error) {
	s := a.structure
	n, m, P := s.NumNodes(), s.NumCells(), len(a.periods)
	a.vintage = latestVintage(a.st, a.plan.ID(), a.metric.ID)
	series := map[string]map[fiscal.Period]cellFc{}
	first := map[string]fiscal.Period{} // each series' first period
	if a.vintage != nil {
		for _, sr := range a.vintage.Series {
			first[sr.Node.String()] = sr.First
			byP := map[fiscal.Period]cellFc{}
			for k := range sr.Mean {
				sd := (sr.Hi95[k] - sr.Lo95[k]) / (2 * z95)
				if sd <= 0 {
					sd = (sr.Hi80[k] - sr.Lo80[k]) / (2 * z80)
				}
				byP[sr.First.Add(k)] = cellFc{sr.Mean[k], sd}
			}
			series[sr.Node.String()] = byP
		}
	}
	if a.vintage != nil {
		a.runFrom = make([]int, m)
		for j, id := range a.cellIDs {
			a.runFrom[j] = P
			if f, ok := first[id]; ok {
				a.runFrom[j] = max(int(f-a.span.First), -lookBack)
			}
		}
	}
	base := mat.NewDense(n, P, nil)
	a.variance = mat.NewDense(m, P, nil)
	a.standInAt, a.beyond = make([]bool, P), make([]bool, P)
	supported := make([]bool, P)
	for j, c := range a.cells {
		for q := a.closed; q < P; q++ {
			f, ok := series[c.String()][a.periods[q]]
			if !ok {
				var found bool
				f, found = a.standIn(j, q)
				a.standInAt[q] = true
				ok = found
				if a.standIns == nil {
					a.standIns = slices.Repeat([]int{-1}, m)
				}
				a.standIns[j] = q
			}
			supported[q] = supported[q] || ok
			base.Set(s.NumAggregates()+j, q, f.mean)
			a.variance.Set(j, q, math.Max(f.sd*f.sd, 1e-6))
		}
	}
	for q := a.closed; q < P; q++ {
		a.beyond[q] = !supported[q]
	}
	a.fillMissing(series)
	// Aggregates: their own published forecasts when the vintage has one
	// for every node and open period, else the sums of their cells.
	agg := s.Aggregate(base.Slice(s.NumAggregates(), n, 0, P))
	a.ownBase = a.vintage != nil && a.closed < P
	for i := 0; i < s.NumAggregates() && a.ownBase; i++ {
		byP := series[a.node(s.Node(i)).String()]
		for q := a.closed; q < P; q++ {
			f, ok := byP[a.periods[q]]
			if !ok {
				a.ownBase = false
				break
			}
			base.Set(i, q, f.mean)
		}
	}
	if !a.ownBase {
		for i := 0; i < s.NumAggregates(); i++ {
			for q := range P {
				base.Set(i, q, agg.At(i, q))
			}
		}
	}
	return base, nil
}

// cellFc is a cell's forecast of one period: mean and standard deviation.
type cellFc struct{ mean, sd float64 }

// fillMissing fills the closed months a cell has no actual for after its last
// recorded one (a close with allow_missing: actuals reporting late) with
// the cell's forecast of them, never zero: the published run's mean where
// it covers the month (the reforecaster models such a cell on what it
// reported and forecasts through the missing months), else the stand-in
// (the mean of its last three recorded months). The reconciliation takes
// them as it takes actuals; the latest estimate, the statistical forecast
// and the plan to target include them, the actual column does not, and
// their errors count in the uncertainty (sd). A gap followed by a later
// actual in a closed month is read as a month without sales, as the
// reforecaster reads it.
func (a *analysis) fillMissing(series map[string]map[fiscal.Period]cellFc) {
	m, P := len(a.cells), len(a.periods)
	H := lookBack + P
	a.estFrom = slices.Repeat([]int{a.closed}, m)
	a.estMin = a.closed
	for j, c := range a.cells {
		q := a.closed
		for q > 0 && !a.pastAt[j*H+lookBack+q-1] {
			q--
		}
		if q == a.closed || q == 0 && !slices.Contains(a.pastAt[j*H:j*H+lookBack], true) {
			continue // nothing missing, or a cell that never reported: nothing to estimate from
		}
		a.estFrom[j] = q
		a.estMin = min(a.estMin, q)
		if a.estimated == nil {
			a.estimated = make([]bool, m*P)
		}
		for ; q < a.closed; q++ {
			f, ok := series[c.String()][a.periods[q]]
			if !ok {
				f, _ = a.standIn(j, q)
			}
			a.actual.Set(j, q, f.mean)
			a.estimated[j*P+q] = true
		}
	}
}

// unbooked returns cell j's first period without an actual: its first
// estimated closed month, else the first open period.
func (a *analysis) unbooked(j int) int {
	if a.estFrom == nil {
		return a.closed
	}
	return a.estFrom[j]
}

// firstUnbooked returns the least of unbooked over the cells.
func (a *analysis) firstUnbooked() int {
	if a.estFrom == nil {
		return a.closed
	}
	return a.estMin
}

// estimatedIn returns whether some cell of node row i has an estimated
// closed month within periods q0..q1.
func (a *analysis) estimatedIn(i, q0, q1 int) bool {
	if a.estimated == nil {
		return false
	}
	P := len(a.periods)
	for _, j := range a.cellsOf(i) {
		for q := max(q0, a.estFrom[j]); q <= q1 && q < a.closed; q++ {
			if a.estimated[j*P+q] {
				return true
			}
		}
	}
	return false
}

// lookBack is how many months before an open period standIn searches for
// recorded actuals.
const lookBack = 24

// standIn is the forecast of cell j for open period q when none was
// published: the mean of its last three recorded months before q (within
// lookBack months), and whether there was any. For a cell the published
// run forecasts (q is then past the run's horizon), only the months before
// the run's first are read: the actuals the run was made from, so that a
// newer actual changes the cell's forecast when it is forecast again, in
// every period alike, not in the far periods alone (sinceRun).
func (a *analysis) standIn(j, q int) (cellFc, bool) {
	H := lookBack + len(a.periods)
	var sum float64
	var k int
	for back := 1 + a.sinceRun(j, q); back <= lookBack && k < 3; back++ {
		if h := j*H + lookBack + q - back; a.pastAt[h] {
			sum += a.past[h]
			k++
		}
	}
	mean := 0.0
	if k > 0 {
		mean = sum / float64(k)
	}
	return cellFc{mean, math.Abs(mean) / 4}, k > 0
}

// sinceRun returns how many of the months just before period q the
// stand-in of cell j leaves out: those from the first period of the cell's
// published series on (none for a cell no run forecasts).
func (a *analysis) sinceRun(j, q int) int {
	if a.runFrom == nil {
		return 0
	}
	return max(0, q-a.runFrom[j])
}

// forecastGaps returns, within periods q0..q1, the first open period whose
// forecast is (for some cell) the stand-in and the first that nothing
// supports (beyond both the published forecast and the stand-in's reach),
// each -1 when there is none.
func (a *analysis) forecastGaps(q0, q1 int) (standIn, beyond int) {
	standIn, beyond = -1, -1
	for q := max(q0, a.closed); q <= q1; q++ {
		if standIn < 0 && a.standInAt[q] {
			standIn = q
		}
		if beyond < 0 && a.beyond[q] {
			beyond = q
		}
	}
	return standIn, beyond
}

// cellsOf returns the cell indices of node row i.
func (a *analysis) cellsOf(i int) []int { return a.structure.NodeCells(i) }

// recorded returns the exact sum of the recorded actuals of node n over
// periods q0..q1 (inclusive) and whether any was recorded.
func (a *analysis) recorded(i int, q0, q1 int) (decimal.Decimal, bool) {
	var sum decimal.Decimal
	any := false
	P := len(a.periods)
	for _, j := range a.cellsOf(i) {
		for q := q0; q <= q1; q++ {
			if a.recordedAt[j*P+q] {
				if s, err := sum.Add(a.amount[j*P+q]); err == nil {
					sum = s
				}
				any = true
			}
		}
	}
	return sum, any
}

// stat returns node i's statistical forecast over periods q0..q1: actuals in
// closed periods plus the coherent base forecast of open ones, and the
// standard deviation of that total (correlated cells and periods, see sd).
func (a *analysis) stat(i, q0, q1 int) (mean, sd float64) {
	for q := q0; q <= q1; q++ {
		if q < a.closed {
			for _, j := range a.cellsOf(i) {
				mean += a.actual.At(j, q)
			}
			continue
		}
		mean += a.coherent(i, q)
	}
	return mean, a.sd(i, q0, q1)
}

// coherent returns node i's coherent statistical forecast in open period q
// (the sum of its cells' coherent forecasts).
func (a *analysis) coherent(i, q int) float64 {
	if a.result != nil {
		return a.result.Coherent.At(i, q)
	}
	var sum float64
	for _, j := range a.cellsOf(i) {
		sum += a.cellBase(j, q)
	}
	return sum
}

func (a *analysis) cellBase(j, q int) float64 {
	f := a.standInOrPublished(j, q)
	return f
}

// standInOrPublished re-reads cell j's base forecast (used only when the
// targets conflict and there is no reconciled plan).
func (a *analysis) standInOrPublished(j, q int) float64 {
	if a.vintage != nil {
		for _, sr := range a.vintage.Series {
			if sr.Node.String() == a.cells[j].String() {
				if k := int(a.periods[q] - sr.First); k >= 0 && k < len(sr.Mean) {
					return sr.Mean[k]
				}
			}
		}
	}
	f, _ := a.standIn(j, q)
	return f.mean
}

// reconciled returns node i's reconciled plan over q0..q1 (actuals in
// closed periods), and false when the targets conflict.
func (a *analysis) reconciled(i, q0, q1 int) (float64, bool) {
	if a.result == nil {
		return 0, false
	}
	var sum float64
	for q := q0; q <= q1; q++ {
		sum += a.result.Reconciled.At(i, q)
	}
	return sum, true
}

// outcome returns the reconciler's report on the target of node over span.
func (a *analysis) outcome(node dimension.Node, span fiscal.Span) (reconcile.TargetOutcome, bool) {
	if a.result == nil {
		return reconcile.TargetOutcome{}, false
	}
	k, ok := slices.BinarySearchFunc(a.targetSpans, targetSpan{node, span}, compareTargetSpans)
	if !ok {
		return reconcile.TargetOutcome{}, false
	}
	return a.result.Targets[k], true
}

// targetSpan is the node and span of a target of the analysis's metric.
type targetSpan struct {
	node dimension.Node
	span fiscal.Span
}

// compareTargetSpans orders targets of one metric as plan.TargetsWithin
// does (plan.CompareTargets).
func compareTargetSpans(a, b targetSpan) int {
	return plan.CompareTargets(plan.Target{Node: a.node, Span: a.span}, plan.Target{Node: b.node, Span: b.span})
}

// monthly returns node i's target (or commit, via get) per period of the
// analysis, so that each figure ties back to the span it was set for: a
// month's figure as set; a quarter's or a year's less the figures of its
// finer spans and the actuals of its closed months (which show those
// actuals), the rest spread over its other open months in proportion to
// the node's coherent forecast (equally when that is not positive). The
// finest span set wins. Periods with none are NaN.
func (a *analysis) monthly(i int, get func(fiscal.Span) (decimal.Decimal, bool)) []float64 {
	P := len(a.periods)
	out := make([]float64, P)
	for q := range out {
		out[q] = math.NaN()
	}
	fixed := make([]bool, P)
	fill := func(span fiscal.Span) {
		v, ok := get(span)
		if !ok {
			return
		}
		q0, q1 := int(span.First-a.span.First), int(span.Last-a.span.First)
		if q0 < 0 || q1 >= P {
			return
		}
		rest := v.Float64()
		var free []int
		for q := q0; q <= q1; q++ {
			switch {
			case fixed[q]:
			case q < a.closed:
				out[q] = 0
				for _, j := range a.cellsOf(i) {
					out[q] += a.actual.At(j, q)
				}
			default:
				free = append(free, q)
				continue
			}
			rest -= out[q]
		}
		w := make([]float64, len(free))
		var total float64
		for k, q := range free {
			w[k] = math.Max(a.coherent(i, q), 0)
			total += w[k]
		}
		for k, q := range free {
			share := 1 / float64(len(free))
			if total > 0 {
				share = w[k] / total
			}
			out[q] = rest * share
		}
		for q := q0; q <= q1; q++ {
			fixed[q] = true
		}
	}
	cal := a.plan.Calendar()
	for _, per := range a.periods {
		fill(fiscal.Month(per))
	}
	years := yearsSpan(cal, a.span)
	for y := cal.Year(years.First); y <= cal.Year(years.Last); y++ {
		for k := 1; k <= 4; k++ {
			fill(cal.FiscalQuarter(y, k))
		}
	}
	for y := cal.Year(years.First); y <= cal.Year(years.Last); y++ {
		fill(cal.FiscalYear(y))
	}
	return out
}

// yearsSpan returns the fiscal years of cal that cover span, as one span.
func yearsSpan(cal fiscal.Calendar, span fiscal.Span) fiscal.Span {
	first := cal.FiscalYear(cal.Year(span.First)).First
	last := cal.FiscalYear(cal.Year(span.Last)).Last
	return fiscal.Span{First: first, Last: last, Kind: fiscal.KindRange}
}

// sortedMembers returns dimension d's active children of parent, in the
// order they were added.
func activeChildren(d *dimension.Dimension, parent string) []string {
	return slices.Clone(d.Children(parent))
}

// withActuals returns a as computed in st, where only the months of
// actuals at the indices changed (of lookBack months before the span, then
// the span) differ from a's state, all of them open periods, which the
// reconciliation does not read (it reads the actuals of closed periods):
// the recorded actuals of those months are read again from st and the
// reconciled plan is shared with a. It returns false when a stand-in base
// forecast (the mean of a cell's last recorded months before an open
// period; of a cell a run forecasts, before the run's first period) read a
// changed actual: the plan must then be reconciled again.
func (a *analysis) withActuals(st *State, changed []int) (*analysis, bool) {
	P := len(a.periods)
	H := lookBack + P
	months := make([]map[string]decimal.Decimal, len(changed))
	for k, h := range changed {
		months[k] = st.actuals[monthOf{a.metric.ID, a.span.First.Add(h - lookBack)}]
		if a.standIns == nil {
			continue
		}
		for j, cell := range a.cellIDs {
			v, ok := months[k][cell]
			if (ok != a.pastAt[j*H+h] || ok && v.Float64() != a.past[j*H+h]) && a.standIns[j] > h-lookBack && (a.runFrom == nil || h-lookBack < a.runFrom[j]) {
				return nil, false
			}
		}
	}
	b := *a
	b.st = st
	// The stand-ins' measured errors read the actuals of closed months and
	// each cell's first recorded month: the model is shared unless a
	// changed month moves the latter.
	b.unc = new(lazyUncertainty)
	if u := a.unc.computed(); u != nil {
		shared := true
		for k, h := range changed {
			for j, cell := range a.cellIDs {
				if _, ok := months[k][cell]; ok != a.pastAt[j*H+h] && u.readsAfter(j, h) {
					shared = false
				}
			}
		}
		if shared {
			b.unc = a.unc
		}
	}
	b.est = new(lazyEstimate)
	b.actual = mat.DenseCopyOf(a.actual)
	b.amount, b.recordedAt = slices.Clone(a.amount), slices.Clone(a.recordedAt)
	b.past, b.pastAt = slices.Clone(a.past), slices.Clone(a.pastAt)
	for k, h := range changed {
		q := h - lookBack
		for j, cell := range a.cellIDs {
			v, ok := months[k][cell]
			f := 0.0
			if ok {
				f = v.Float64()
			}
			b.past[j*H+h], b.pastAt[j*H+h] = f, ok
			if q >= 0 {
				b.actual.Set(j, q, f)
				b.amount[j*P+q], b.recordedAt[j*P+q] = v, ok
			}
		}
	}
	return &b, true
}

// conflictNames bounds the targets a conflict's description names.
const conflictNames = 20

// conflictText describes a conflict as "[targets]: reason", without fmt's
// reflection. It names the target found in conflict and, after it, at most
// conflictNames−1 of the targets it depends on, then counts the others: a
// year target inconsistent with its months on a company's hierarchy
// depends on thousands of them, and listing them all made an answer of
// megabytes that nobody reads (every target a conflict involves is left
// out of the reconciliation all the same).
func conflictText(c reconcile.Conflict) string {
	ids, more := c.Targets, ""
	if n := len(ids); n > conflictNames {
		ids, more = ids[:conflictNames], " ("+strconv.Itoa(n-conflictNames)+" more targets involved and left out, not named)"
	}
	return "[" + strings.Join(ids, " ") + "]: " + c.Reason + more
}
