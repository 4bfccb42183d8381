package reconcile

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Target is a strategic number for a node over a span of periods: the sum of
// the node's cells over periods From..To (0-based, inclusive) should equal
// Value. A zero Weight makes the target hard (met exactly); a positive Weight
// makes it soft: the penalty Weight·(sum − Value)² is traded against the
// forecast misfit, i.e. 1/Weight acts as the target's variance in the units of
// W.
type Target struct {
	ID       string
	Node     []string
	From, To int
	Value    float64
	Weight   float64
}

// TargetProblem is the input of ReconcileTargets. Cells and periods are laid
// out as m × P matrices (rows: cells in structure order; columns: periods).
type TargetProblem struct {
	Structure *Structure
	// Forecast holds the base forecast ŷ of every cell and period (m × P);
	// entries of closed periods are ignored.
	Forecast *mat.Dense
	// Actual holds the actuals (m × P); only the first Closed periods are read.
	// It may be nil when Closed is 0.
	Actual *mat.Dense
	// Closed is the number of closed periods: they keep their actuals and are
	// excluded from the adjustment.
	Closed int
	// Variance is the diagonal of W, the forecast-error variance of each cell
	// and period (m × P, positive on open periods). When nil, W = diag(|ŷ|)
	// (floored at 1e-9 of the mean |ŷ|), which spreads an adjustment in
	// proportion to the forecasts; probabilities are then NaN.
	Variance *mat.Dense
	// Factor, if not nil, adds a low-rank part: W = diag(Variance) + F·Fᵀ with
	// F of size (m·(P−Closed)) × r, row j·(P−Closed) + (p−Closed) for cell j
	// and open period p. It carries the correlation across cells and periods.
	Factor *mat.Dense
	// Targets are the constraints, each with a unique ID.
	Targets []Target
	// NonNegative constrains every open cell value to be ≥ 0. It needs a
	// diagonal W (Factor nil).
	NonNegative bool
	// Check, if not nil, is called between the phases of the work and before
	// each step of the non-negative solver; an error stops the work and is
	// returned wrapped. It is how a caller with a deadline cancels (pass
	// ctx.Err): this package takes no context.
	Check func() error
}

// TargetOutcome reports one target.
type TargetOutcome struct {
	ID    string
	Value float64
	Hard  bool
	// Booked is the sum of actuals in the target's closed periods.
	Booked float64
	// Required is Value − Booked, what the open periods must deliver (the
	// required run rate times the number of open periods).
	Required float64
	// Forecast is Booked plus the base forecast of the open periods.
	Forecast float64
	// Reconciled is Booked plus the reconciled open periods; equal to Value for
	// a met hard target.
	Reconciled float64
	// Gap is Value − Forecast: how far the forecast falls short of the target.
	Gap float64
	// StdDev is the forecast standard deviation of the scope's total,
	// √(cᵀWc), including the correlation carried by Factor.
	StdDev float64
	// Probability is P(total ≥ Value) under the Gaussian forecast distribution
	// N(Forecast, cᵀWc); NaN when no Variance was given. 1 or 0 when all
	// periods are closed.
	Probability float64
	// Closed reports that every period of the target is closed: it was not a
	// constraint.
	Closed bool
}

// TargetSolution is the result of ReconcileTargets.
type TargetSolution struct {
	// Reconciled holds every cell and period (m × P): actuals in closed
	// periods, reconciled values in open ones.
	Reconciled *mat.Dense
	// Targets reports each target in input order.
	Targets []TargetOutcome
}

// ReconcileTargets reconciles cell forecasts to targets. Over the open
// periods it solves
//
//	min (y−ŷ)ᵀW⁻¹(y−ŷ) + Σ_soft w_k (c_kᵀy − t_k)²   s.t.  c_kᵀy = t_k for hard k,
//
// (and y ≥ 0 when NonNegative) where t_k is the target minus actuals booked
// in its closed periods. The closed form is y = ŷ + WCᵀ(CWCᵀ + R)⁻¹(t − Cŷ),
// R = diag(0 for hard, 1/w_k for soft). CWCᵀ is targets × targets and, for
// targets on a hierarchy, sparse: two targets couple only when their scopes
// (node × span) share a cell and period. It is factorised by a sparse
// Cholesky (sparseCholesky) in an order that puts small scopes before the
// scopes that contain them, so a company with a month target on every cell
// and quarter and year targets above costs about linear time in the number
// of targets; a low-rank Factor enters by the Woodbury identity. With
// NonNegative the solution is y = max(0, ŷ + W Cᵀν) where ν solves the
// piecewise-linear system C·max(0, ŷ + WCᵀν) + Rν = t by a semi-smooth
// Newton method — the exact optimum, because for diagonal W the problem
// separates by variable given the multipliers ν.
//
// Hard targets that are linearly dependent but consistent (children that add
// up to their parent) are kept once; inconsistent ones, targets below actuals
// already booked, parts that exceed their whole and any set for which no
// non-negative plan exists are returned as a *ConflictError naming the
// targets. A dependent target is reported against the targets before it in
// the input (hard targets first, then soft), whatever the order of the
// factorisation. Malformed targets return ErrTarget, bad matrices ErrShape or
// ErrInput; an error of TargetProblem.Check stops the work and is returned
// wrapped.
//
// The work runs in phases: validation (checkShapes, openForecasts,
// errorVariances, validateTargets), preparation (prepareTargets: booking
// each target's actuals, building C and CWCᵀ, finding dependence and
// conflicts, factorising), then solving for the forecasts and reporting
// (preparedTargets.reconcile). Only the last reads the forecasts when
// Variance is given, which is what lets Prepare do the rest once.
func ReconcileTargets(p TargetProblem) (*TargetSolution, error) {
	s := p.Structure
	if s == nil || p.Forecast == nil {
		return nil, fmt.Errorf("%w: structure and forecast are required", ErrInput)
	}
	m, P := p.Forecast.Dims()
	if m != s.NumCells() {
		return nil, fmt.Errorf("%w: forecast has %d rows, structure has %d cells", ErrShape, m, s.NumCells())
	}
	if err := checkShapes(p, P); err != nil {
		return nil, err
	}
	yhat, err := openForecasts(s, p.Forecast, p.Closed)
	if err != nil {
		return nil, err
	}
	d, err := errorVariances(p, P, yhat)
	if err != nil {
		return nil, err
	}
	pt, err := prepareTargets(p, P, d, p.Check)
	if err != nil {
		return nil, err
	}
	if pt.conflict != nil {
		return nil, pt.conflict
	}
	return pt.reconcile(yhat, p.Check)
}

// stopped calls check, if not nil, and wraps its error.
func stopped(check func() error) error {
	if check == nil {
		return nil
	}
	if err := check(); err != nil {
		return fmt.Errorf("reconcile: targets stopped: %w", err)
	}
	return nil
}

// checkShapes checks the closed periods and the shapes of the actuals,
// variances and factor of p against the structure's cells and P periods.
func checkShapes(p TargetProblem, P int) error {
	m := p.Structure.NumCells()
	if p.Closed < 0 || p.Closed > P {
		return fmt.Errorf("%w: %d closed periods of %d", ErrInput, p.Closed, P)
	}
	if p.Closed > 0 {
		if p.Actual == nil {
			return fmt.Errorf("%w: %d closed periods but no actuals", ErrInput, p.Closed)
		}
		if r, c := p.Actual.Dims(); r != m || c != P {
			return fmt.Errorf("%w: actuals are %d×%d, want %d×%d", ErrShape, r, c, m, P)
		}
	}
	if p.Variance != nil {
		if r, c := p.Variance.Dims(); r != m || c != P {
			return fmt.Errorf("%w: variances are %d×%d, want %d×%d", ErrShape, r, c, m, P)
		}
	}
	if p.Factor != nil {
		if r, _ := p.Factor.Dims(); r != m*(P-p.Closed) {
			return fmt.Errorf("%w: factor has %d rows, want cells × open periods = %d", ErrShape, r, m*(P-p.Closed))
		}
		if p.NonNegative {
			return fmt.Errorf("%w: non-negative target reconciliation needs a diagonal covariance (no Factor)", ErrInput)
		}
	}
	return nil
}

// openForecasts returns the forecasts of the open periods (from closed on)
// of every cell as the open variables v = j·nOpen + (p − closed), and
// ErrInput for one that is not finite.
func openForecasts(s *Structure, f *mat.Dense, closed int) ([]float64, error) {
	m, P := f.Dims()
	nOpen := P - closed
	yhat := make([]float64, m*nOpen)
	for j := 0; j < m; j++ {
		for q := 0; q < nOpen; q++ {
			v := f.At(j, closed+q)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%w: forecast of cell %v period %d is %v", ErrInput, s.Node(s.nAgg+j), closed+q, v)
			}
			yhat[j*nOpen+q] = v
		}
	}
	return yhat, nil
}

// errorVariances returns the diagonal of W over the open variables:
// p.Variance's, or, when it is nil, |ŷ| floored at 1e-9 of the mean |ŷ|
// (yhat, the open forecasts, is read only then).
func errorVariances(p TargetProblem, P int, yhat []float64) ([]float64, error) {
	s, m, nOpen := p.Structure, p.Structure.NumCells(), P-p.Closed
	d := make([]float64, m*nOpen)
	if p.Variance == nil {
		var meanAbs float64
		for _, v := range yhat {
			meanAbs += math.Abs(v)
		}
		if len(yhat) > 0 {
			meanAbs /= float64(len(yhat))
		}
		floor := 1e-9 * meanAbs
		if floor == 0 {
			floor = 1e-9
		}
		for k, v := range yhat {
			d[k] = math.Max(math.Abs(v), floor)
		}
		return d, nil
	}
	for j := 0; j < m; j++ {
		for q := 0; q < nOpen; q++ {
			v := p.Variance.At(j, p.Closed+q)
			if !(v > 0) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%w: variance of cell %v period %d is %v, want > 0", ErrInput, s.Node(s.nAgg+j), p.Closed+q, v)
			}
			d[j*nOpen+q] = v
		}
	}
	return d, nil
}

// validateTargets checks the targets against the structure and P periods,
// reports every malformed one at once and returns each target's node.
func validateTargets(s *Structure, targets []Target, P int) ([]int, error) {
	var errs []error
	ids := make(map[string]bool, len(targets))
	nodes := make([]int, len(targets))
	for k, t := range targets {
		switch {
		case t.ID == "":
			errs = append(errs, fmt.Errorf("%w: target %d has no ID", ErrTarget, k))
			continue
		case ids[t.ID]:
			errs = append(errs, fmt.Errorf("%w: target ID %q given twice", ErrTarget, t.ID))
			continue
		case math.IsNaN(t.Value) || math.IsInf(t.Value, 0):
			errs = append(errs, fmt.Errorf("%w: target %q value is %v", ErrTarget, t.ID, t.Value))
			continue
		case !(t.Weight >= 0) || math.IsInf(t.Weight, 0):
			errs = append(errs, fmt.Errorf("%w: target %q weight is %v, want 0 (hard) or > 0 (soft)", ErrTarget, t.ID, t.Weight))
			continue
		case t.From < 0 || t.To < t.From || t.To >= P:
			errs = append(errs, fmt.Errorf("%w: target %q spans periods %d..%d, want 0 ≤ from ≤ to < %d", ErrTarget, t.ID, t.From, t.To, P))
			continue
		}
		ids[t.ID] = true
		node, ok := s.NodeIndex(t.Node)
		if !ok {
			errs = append(errs, fmt.Errorf("%w: target %q: no node %s", ErrTarget, t.ID, strings.Join(t.Node, " × ")))
			continue
		}
		nodes[k] = node
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return nodes, nil
}

// preparedTargets is the part of a target reconciliation that does not
// depend on the forecasts, given W's diagonal d: each target's booked
// actuals, C and CWCᵀ, the dependent and conflicting targets and the
// factor of the independent rows. It is not modified after
// prepareTargets returns and is safe for concurrent use by reconcile.
type preparedTargets struct {
	p        TargetProblem // Forecast and Check are not read
	m, P     int
	nOpen    int
	d        []float64       // W's diagonal over the open variables v = j·nOpen + (p − Closed)
	outcomes []TargetOutcome // each target's report but for what the forecasts decide
	booked   []Conflict      // hard targets below the actuals booked (NonNegative)
	active   []int           // target index of each row
	cw       *constraintSystem
	tReq     []float64       // per row: target minus booked
	rDiag    []float64       // per row: 0 hard, 1/weight soft
	kept     []int           // rows kept (independent), in factorisation order
	solution *sparseCholesky // factor of the kept rows' C_K diag(d) C_Kᵀ + R_K; only solve is used after preparation
	conflict *ConflictError  // the conflicts among the targets, nil when none; when not nil, only p and d are kept beside it
}

// prepareTargets validates p's targets (ErrTarget), books them, builds the
// constraint system with W's diagonal d and finds the conflicts among the
// targets (recorded in conflict, not returned) and the factor of the
// independent ones. check is called between the phases. p.Forecast is not
// read.
func prepareTargets(p TargetProblem, P int, d []float64, check func() error) (*preparedTargets, error) {
	nodes, err := validateTargets(p.Structure, p.Targets, P)
	if err != nil {
		return nil, err
	}
	if err := stopped(check); err != nil {
		return nil, err
	}
	pt := &preparedTargets{p: p, m: p.Structure.NumCells(), P: P, nOpen: P - p.Closed, d: d}
	pt.book(nodes)
	if err := stopped(check); err != nil {
		return nil, err
	}
	conflicts := pt.booked
	if p.NonNegative {
		conflicts = append(conflicts, partExceedsWhole(p.Targets, pt.active, pt.tReq, pt.cw)...)
	}
	conflicts = append(conflicts, pt.dependent()...)
	if len(conflicts) > 0 {
		// Nothing is solved with conflicting targets: keep the conflicts
		// and drop the constraint system and its factor.
		pt = &preparedTargets{p: p, m: pt.m, P: P, nOpen: pt.nOpen, d: d, conflict: &ConflictError{Conflicts: conflicts}}
	}
	if err := stopped(check); err != nil {
		return nil, err
	}
	return pt, nil
}

// book books each target's closed periods, turns the targets with open
// periods into rows of C, builds the constraint system and reports each
// target's spread; nodes holds each target's structure node.
func (pt *preparedTargets) book(nodes []int) {
	p, s, nOpen := pt.p, pt.p.Structure, pt.nOpen
	pt.outcomes = make([]TargetOutcome, len(p.Targets))
	// C's pattern, built row by row: the open variables of each active
	// target, ascending.
	nnz, active := 0, 0
	for k, t := range p.Targets {
		if lo := max(t.From, p.Closed); lo <= t.To {
			nnz += len(s.NodeCells(nodes[k])) * (t.To - lo + 1)
			active++
		}
	}
	c := &CSR{cols: len(pt.d), RowPtr: make([]int, 1, active+1), ColIdx: make([]int, 0, nnz)}
	pt.active = make([]int, 0, active)
	for k, t := range p.Targets {
		out := &pt.outcomes[k]
		*out = TargetOutcome{ID: t.ID, Value: t.Value, Hard: t.Weight == 0, Probability: math.NaN(), StdDev: math.NaN()}
		cells := s.NodeCells(nodes[k])
		var booked float64
		for q := t.From; q < min(t.To+1, p.Closed); q++ {
			for _, j := range cells {
				booked += p.Actual.At(j, q)
			}
		}
		out.Booked = booked
		out.Required = t.Value - booked
		lo := max(t.From, p.Closed)
		if lo > t.To {
			out.Closed = true
			out.Forecast, out.Reconciled, out.Gap, out.StdDev = booked, booked, t.Value-booked, 0
			out.Probability = 0
			if booked >= t.Value {
				out.Probability = 1
			}
			continue
		}
		if p.NonNegative && out.Hard && out.Required < 0 {
			pt.booked = append(pt.booked, Conflict{Targets: []string{t.ID},
				Reason: fmt.Sprintf("target %g is below the %g already booked, and values cannot go negative", t.Value, booked)})
			continue
		}
		for _, j := range cells {
			for q := lo; q <= t.To; q++ {
				c.ColIdx = append(c.ColIdx, j*nOpen+q-p.Closed)
			}
		}
		c.RowPtr = append(c.RowPtr, len(c.ColIdx))
		pt.active = append(pt.active, k)
	}
	k := len(pt.active)
	c.rows = k
	pt.tReq, pt.rDiag = make([]float64, k), make([]float64, k)
	for a, ti := range pt.active {
		pt.tReq[a] = pt.outcomes[ti].Required
		if w := p.Targets[ti].Weight; w > 0 {
			pt.rDiag[a] = 1 / w
		}
	}
	pt.cw = newConstraintSystem(c, pt.d, p.Factor)
	for a, ti := range pt.active {
		pt.outcomes[ti].StdDev = math.Sqrt(pt.cw.variance(a))
	}
}

// id returns the target ID of row a.
func (pt *preparedTargets) id(a int) string { return pt.p.Targets[pt.active[a]].ID }

// reconcile solves for the open forecasts yhat (open variables) of a
// problem without conflicts and reports: the reconciled cells (actuals in
// closed periods) and each target's forecast, gap, probability and
// reconciled total. check is called before the solve and each step of
// the non-negative solver. It reads pt and writes nothing of it.
func (pt *preparedTargets) reconcile(yhat []float64, check func() error) (*TargetSolution, error) {
	p, m, P, nOpen := pt.p, pt.m, pt.P, pt.nOpen
	sol := &TargetSolution{Reconciled: mat.NewDense(m, P, nil), Targets: slices.Clone(pt.outcomes)}
	for j := 0; j < m; j++ {
		for q := 0; q < P; q++ {
			if q < p.Closed {
				sol.Reconciled.Set(j, q, p.Actual.At(j, q))
			} else {
				sol.Reconciled.Set(j, q, yhat[j*nOpen+q-p.Closed])
			}
		}
	}
	k := len(pt.active)
	cyhat := make([]float64, k)
	pt.cw.c.MulVec(cyhat, yhat)
	for a, ti := range pt.active {
		out := &sol.Targets[ti]
		out.Forecast = out.Booked + cyhat[a]
		out.Gap = out.Value - out.Forecast
		if p.Variance != nil {
			out.Probability = probabilityAtLeast(out.Value, out.Forecast, out.StdDev)
		}
	}
	if err := stopped(check); err != nil {
		return nil, err
	}
	nu := make([]float64, k)
	sub := make([]float64, len(pt.kept))
	for a, row := range pt.kept {
		sub[a] = pt.tReq[row] - cyhat[row]
	}
	pt.cw.solveKept(pt.solution, pt.kept, sub)
	for a, row := range pt.kept {
		nu[row] = sub[a]
	}
	y := make([]float64, len(yhat))
	pt.cw.adjust(y, yhat, nu)
	if p.NonNegative {
		var err error
		y, err = nonNegativeTargets(pt.cw, yhat, nu, pt.kept, pt.tReq, pt.rDiag, pt.id, func() error { return stopped(check) })
		if err != nil {
			return nil, err
		}
	}
	cy := make([]float64, k)
	pt.cw.c.MulVec(cy, y)
	for a, ti := range pt.active {
		sol.Targets[ti].Reconciled = sol.Targets[ti].Booked + cy[a]
	}
	for j := 0; j < m; j++ {
		for q := 0; q < nOpen; q++ {
			sol.Reconciled.Set(j, p.Closed+q, y[j*nOpen+q])
		}
	}
	return sol, nil
}

// dependent factorises CWCᵀ + R (without the low-rank part, which changes no
// dependence: W is positive definite) row by row, children before parents,
// keeping the independent rows (pt.kept, pt.solution). Each row it finds
// dependent gives a dependence among the rows; these are brought to echelon
// form in the input order (hard rows first, then soft, each in input
// order), which names, for every target that depends on the targets before
// it in that order, its unique combination of the independent ones among
// them — the same targets and coefficients that adding the rows in input
// order would find, without the fill that order causes. A dependent target
// whose value differs from the combination is a conflict.
func (pt *preparedTargets) dependent() []Conflict {
	k := len(pt.active)
	// rank: position of each row in the input order (hard first).
	rank := make([]int, k)
	byInput := make([]int, 0, k)
	for _, soft := range []bool{false, true} {
		for a := range k {
			if (pt.rDiag[a] > 0) == soft {
				rank[a] = len(byInput)
				byInput = append(byInput, a)
			}
		}
	}
	order := slices.Clone(byInput)
	slices.SortStableFunc(order, func(a, b int) int {
		if sa, sb := pt.rDiag[a] > 0, pt.rDiag[b] > 0; sa != sb {
			if sa {
				return 1
			}
			return -1
		}
		return len(pt.cw.c.Row(a)) - len(pt.cw.c.Row(b))
	})
	g := pt.cw.gram
	ch := newSparseCholesky(k)
	pos := make([]int32, k)
	for a := range pos {
		pos[a] = -1
	}
	var deps []map[int]float64
	longest := 0 // M's longest row: b holds at most that many entries
	for a := range k {
		longest = max(longest, g.RowPtr[a+1]-g.RowPtr[a])
	}
	b := make([]entry, 0, longest)
	pt.kept = make([]int, 0, k)
	for _, a := range order {
		b = b[:0]
		for t := g.RowPtr[a]; t < g.RowPtr[a+1]; t++ {
			if q := pos[g.ColIdx[t]]; q >= 0 {
				b = append(b, entry{q, g.Val[t]})
			}
		}
		diag := pt.cw.diag[a] + pt.rDiag[a]
		pat, added := ch.add(b, diag, 1e-10*diag)
		if added {
			pos[a] = int32(len(pt.kept))
			pt.kept = append(pt.kept, a)
			continue
		}
		comb := ch.combination(pat)
		dep := make(map[int]float64, len(comb)+1)
		dep[a] = 1
		for _, j := range comb {
			if x := ch.x[j]; x != 0 {
				dep[pt.kept[j]] = -x
			}
		}
		deps = append(deps, dep)
	}
	pt.solution = ch
	var out []Conflict
	for _, dep := range echelon(deps, rank) {
		// dep: row top (coefficient 1) = −Σ dep[s]·row s, s before top.
		top := dep.top
		var comb, scale float64
		involved := make([]string, 1, 1+len(dep.rest))
		involved[0] = pt.id(top)
		for _, s := range dep.rest {
			alpha := -dep.coef[s]
			comb += alpha * pt.tReq[s]
			scale += math.Abs(alpha * pt.tReq[s])
			if math.Abs(alpha) > 1e-9 {
				involved = append(involved, pt.id(s))
			}
		}
		if math.Abs(pt.tReq[top]-comb) > 1e-9*(math.Abs(pt.tReq[top])+scale)+1e-12 {
			out = append(out, Conflict{Targets: involved,
				Reason: fmt.Sprintf("linearly dependent targets are inconsistent (the others imply %g to go, this one %g)", comb, pt.tReq[top])})
		}
	}
	return out
}

// dependence is one linear dependence among rows in reduced echelon form:
// coef[top] = 1 and top comes after every other row of it (rest, in input
// order), none of which is the top of another dependence.
type dependence struct {
	top  int
	rest []int
	coef map[int]float64
}

// echelon brings dependences (each a map row → coefficient with
// Σ coef·row = 0) to reduced echelon form by rank (each row's position in
// the input order): every dependence gets a distinct last row, its top, and
// no dependence holds another's top. They are returned by top's rank.
func echelon(deps []map[int]float64, rank []int) []dependence {
	clean := func(v map[int]float64) {
		var big float64
		for _, x := range v {
			big = math.Max(big, math.Abs(x))
		}
		for s, x := range v {
			if math.Abs(x) <= 1e-12*big {
				delete(v, s)
			}
		}
	}
	last := func(v map[int]float64) int {
		top := -1
		for s := range v {
			if top < 0 || rank[s] > rank[top] {
				top = s
			}
		}
		return top
	}
	byTop := map[int]map[int]float64{}
	for _, v := range deps {
		for {
			clean(v)
			top := last(v)
			if top < 0 {
				break // numerically no dependence after all
			}
			u, taken := byTop[top]
			if !taken {
				byTop[top] = v
				break
			}
			f := v[top] / u[top]
			for s, x := range u {
				v[s] -= f * x
			}
			delete(v, top)
		}
	}
	tops := slices.SortedFunc(maps.Keys(byTop), func(a, b int) int { return rank[a] - rank[b] })
	// byRank inverts rank (a permutation of the rows): rows are sorted
	// by rank as plain integers, much faster than through a comparison
	// function for dependences of thousands of rows.
	byRank := make([]int, len(rank))
	for s, r := range rank {
		byRank[r] = s
	}
	out := make([]dependence, 0, len(tops))
	for i, top := range tops {
		v := byTop[top]
		for _, lower := range tops[:i] {
			if x, ok := v[lower]; ok {
				u := byTop[lower]
				f := x / u[lower]
				for s, y := range u {
					v[s] -= f * y
				}
				delete(v, lower)
			}
		}
		f := v[top]
		for s := range v {
			v[s] /= f
		}
		v[top] = 1
		rest := make([]int, 0, len(v)-1)
		for s := range v {
			if s != top {
				rest = append(rest, rank[s])
			}
		}
		slices.Sort(rest)
		for i, r := range rest {
			rest[i] = byRank[r]
		}
		out = append(out, dependence{top: top, rest: rest, coef: v})
	}
	return out
}

func probabilityAtLeast(target, mean, sd float64) float64 {
	if sd == 0 {
		if mean >= target {
			return 1
		}
		return 0
	}
	return distuv.UnitNormal.Survival((target - mean) / sd)
}

// constraintSystem holds C, W = diag(d) + F Fᵀ and the sparse Gram matrix
// M = C diag(d) Cᵀ (k × k; an entry wherever two rows share a variable).
type constraintSystem struct {
	c      *CSR
	d      []float64
	f      *mat.Dense
	cf     *mat.Dense // C F (k × r)
	gram   *CSR       // M, both triangles, columns ascending
	shared []int32    // parallel to gram.ColIdx: number of variables both rows hold
	diag   []float64  // M's diagonal
	cols   [][]int32  // rows holding each variable, ascending
}

func newConstraintSystem(c *CSR, d []float64, f *mat.Dense) *constraintSystem {
	k, nv := c.Dims()
	cw := &constraintSystem{c: c, d: d, f: f, diag: make([]float64, k)}
	// Column lists (rows containing each variable).
	cnt := make([]int32, nv+1)
	for _, v := range c.ColIdx {
		cnt[v+1]++
	}
	for v := 0; v < nv; v++ {
		cnt[v+1] += cnt[v]
	}
	flat := make([]int32, len(c.ColIdx))
	pos := make([]int32, nv)
	copy(pos, cnt[:nv])
	for r := 0; r < k; r++ {
		for _, v := range c.Row(r) {
			flat[pos[v]] = int32(r)
			pos[v]++
		}
	}
	cw.cols = make([][]int32, nv)
	for v := 0; v < nv; v++ {
		cw.cols[v] = flat[cnt[v]:cnt[v+1]]
	}
	// M's entries are counted first (for each row, the rows that share a
	// variable with it, each once), so its arrays are made at their size:
	// grown as they were filled, they took several times their final size
	// on the way to M's millions of entries, fresh memory that every first
	// analysis paid for.
	seen := make([]int32, k) // a+1 when row b was counted for row a
	nnz := 0
	for a := 0; a < k; a++ {
		for _, v := range c.Row(a) {
			for _, b := range cw.cols[v] {
				if seen[b] != int32(a+1) {
					seen[b] = int32(a + 1)
					nnz++
				}
			}
		}
	}
	// M row by row with a sparse accumulator.
	g := &CSR{rows: k, cols: k, RowPtr: make([]int, k+1), ColIdx: make([]int, 0, nnz), Val: make([]float64, 0, nnz)}
	cw.shared = make([]int32, 0, nnz)
	acc := make([]float64, k)
	n := seen // reused: every entry is set back to 0 after its row
	clear(n)
	var touched []int32
	for a := 0; a < k; a++ {
		touched = touched[:0]
		for _, v := range c.Row(a) {
			for _, b := range cw.cols[v] {
				if n[b] == 0 {
					touched = append(touched, b)
				}
				acc[b] += d[v]
				n[b]++
			}
		}
		slices.Sort(touched)
		for _, b := range touched {
			g.ColIdx = append(g.ColIdx, int(b))
			g.Val = append(g.Val, acc[b])
			cw.shared = append(cw.shared, n[b])
			acc[b], n[b] = 0, 0
		}
		g.RowPtr[a+1] = len(g.ColIdx)
		for _, v := range c.Row(a) {
			cw.diag[a] += d[v]
		}
	}
	cw.gram = g
	if f != nil {
		_, r := f.Dims()
		cw.cf = mat.NewDense(k, max(r, 1), nil)
		for a := 0; a < k; a++ {
			dst := cw.cf.RawRowView(a)
			for _, v := range c.Row(a) {
				for q, x := range f.RawRowView(v) {
					dst[q] += x
				}
			}
		}
	}
	return cw
}

// variance returns c_aᵀ W c_a, the variance of row a's total.
func (cw *constraintSystem) variance(a int) float64 {
	v := cw.diag[a]
	if cw.cf != nil {
		for _, x := range cw.cf.RawRowView(a) {
			v += x * x
		}
	}
	return v
}

// solveKept overwrites b with the solution of (C_K W C_Kᵀ + R_K) x = b over
// the kept rows K, given ch, the factor of C_K diag(d) C_Kᵀ + R_K. A
// low-rank part G Gᵀ, G = C_K F, enters by the Woodbury identity:
// (M + GGᵀ)⁻¹ = M⁻¹ − M⁻¹G (I + GᵀM⁻¹G)⁻¹ GᵀM⁻¹.
func (cw *constraintSystem) solveKept(ch *sparseCholesky, kept []int, b []float64) {
	ch.solve(b)
	if cw.cf == nil || len(kept) == 0 {
		return
	}
	_, r := cw.cf.Dims()
	nk := len(kept)
	z := mat.NewDense(nk, r, nil) // M⁻¹G
	col := make([]float64, nk)
	for q := 0; q < r; q++ {
		for a, row := range kept {
			col[a] = cw.cf.At(row, q)
		}
		ch.solve(col)
		z.SetCol(q, col)
	}
	small := mat.NewDense(r, r, nil) // I + GᵀM⁻¹G
	gu := make([]float64, r)         // GᵀM⁻¹b
	for a, row := range kept {
		g := cw.cf.RawRowView(row)
		zr := z.RawRowView(a)
		for q := 0; q < r; q++ {
			gu[q] += g[q] * b[a]
			for s := 0; s < r; s++ {
				small.Set(q, s, small.At(q, s)+g[q]*zr[s])
			}
		}
	}
	for q := 0; q < r; q++ {
		small.Set(q, q, small.At(q, q)+1)
	}
	var w mat.VecDense
	if err := w.SolveVec(small, mat.NewVecDense(r, gu)); err != nil {
		return // I + GᵀM⁻¹G is positive definite; not reached
	}
	for a := 0; a < nk; a++ {
		zr := z.RawRowView(a)
		for q := 0; q < r; q++ {
			b[a] -= zr[q] * w.AtVec(q)
		}
	}
}

// adjust sets y = ŷ + W Cᵀ ν.
func (cw *constraintSystem) adjust(y, yhat, nu []float64) {
	cw.c.MulTransVec(y, nu)
	for v := range y {
		y[v] = yhat[v] + cw.d[v]*y[v]
	}
	if cw.f != nil {
		_, r := cw.f.Dims()
		g := make([]float64, r) // (CF)ᵀν
		k, _ := cw.cf.Dims()
		for a := 0; a < k; a++ {
			if nu[a] != 0 {
				for q, x := range cw.cf.RawRowView(a) {
					g[q] += x * nu[a]
				}
			}
		}
		for v := range y {
			var s float64
			for q, x := range cw.f.RawRowView(v) {
				s += x * g[q]
			}
			y[v] += s
		}
	}
}

// partExceedsWhole finds hard targets whose scope (open variables) lies
// inside another's but which require more: impossible when values cannot be
// negative.
func partExceedsWhole(targets []Target, active []int, tReq []float64, cw *constraintSystem) []Conflict {
	var out []Conflict
	g := cw.gram
	for a := range active {
		if targets[active[a]].Weight != 0 {
			continue
		}
		size := int32(len(cw.c.Row(a)))
		for t := g.RowPtr[a]; t < g.RowPtr[a+1]; t++ {
			b := g.ColIdx[t]
			if a == b || targets[active[b]].Weight != 0 {
				continue
			}
			// a ⊆ b (strictly or equal as sets) and a needs more than b.
			if cw.shared[t] == size && tReq[a] > tReq[b]+1e-9*math.Max(math.Abs(tReq[a]), math.Abs(tReq[b])) {
				out = append(out, Conflict{Targets: []string{targets[active[a]].ID, targets[active[b]].ID},
					Reason: fmt.Sprintf("a part needs %g to go but its whole only %g, and values cannot go negative", tReq[a], tReq[b])})
			}
		}
	}
	return out
}

// nonNegativeTargets solves C_K·max(0, ŷ + W C_Kᵀν) + Rν = t over the kept
// rows K by a damped semi-smooth Newton method on the multipliers, starting
// from the unconstrained ν. For diagonal W, y(ν) = max(0, ŷ + W Cᵀν)
// minimises the Lagrangian over y ≥ 0, so a root gives the exact optimum.
// The generalised Jacobian has the pattern of C_K C_Kᵀ and is factorised by
// sparseCholesky in the order of kept; check is called before each step.
func nonNegativeTargets(cw *constraintSystem, yhat, nu0 []float64, kept []int, tReq, rDiag []float64, id func(int) string, check func() error) ([]float64, error) {
	k, nv := cw.c.Dims()
	nk := len(kept)
	pos := make([]int32, k)
	for r := range pos {
		pos[r] = -1
	}
	for a, r := range kept {
		pos[r] = int32(a)
	}
	nu := make([]float64, k)
	copy(nu, nu0)
	y := make([]float64, nv)
	cy := make([]float64, k)
	eval := func(nu []float64, f []float64) float64 {
		cw.c.MulTransVec(y, nu)
		for v := range y {
			y[v] = math.Max(0, yhat[v]+cw.d[v]*y[v])
		}
		cw.c.MulVec(cy, y)
		var phi float64
		for a, r := range kept {
			f[a] = cy[r] + rDiag[r]*nu[r] - tReq[r]
			phi += f[a] * f[a]
		}
		return phi / 2
	}
	var scale float64
	for _, r := range kept {
		scale = math.Max(scale, math.Abs(tReq[r]))
	}
	tol := 1e-11 * (1 + scale)
	f := make([]float64, nk)
	fTry := make([]float64, nk)
	trial := make([]float64, k)
	// The Jacobian's rows: entries against earlier kept rows, and diagonal.
	lowRows := make([][]entry, nk)
	jDiag := make([]float64, nk)
	acc := make([]float64, nk)
	var touched []int32
	phi := eval(nu, f)
	for it := 0; it < 200; it++ {
		worst := 0.0
		for _, v := range f {
			worst = math.Max(worst, math.Abs(v))
		}
		if worst <= tol {
			eval(nu, f) // leaves y at the solution
			return y, nil
		}
		if err := check(); err != nil {
			return nil, err
		}
		// Generalised Jacobian J = C_K diag(d·[y > 0]) C_Kᵀ + R.
		var tr float64
		for a, r := range kept {
			touched = touched[:0]
			for _, v := range cw.c.Row(r) {
				if y[v] <= 0 {
					continue
				}
				for _, rb := range cw.cols[v] {
					if b := pos[rb]; b >= 0 && b <= int32(a) {
						if acc[b] == 0 {
							touched = append(touched, b)
						}
						acc[b] += cw.d[v]
					}
				}
			}
			slices.Sort(touched)
			lowRows[a] = lowRows[a][:0]
			jDiag[a] = rDiag[r]
			for _, b := range touched {
				if b == int32(a) {
					jDiag[a] += acc[b]
				} else {
					lowRows[a] = append(lowRows[a], entry{b, acc[b]})
				}
				acc[b] = 0
			}
			tr += jDiag[a]
		}
		var ch *sparseCholesky
		for ridge, added := 0.0, 0.0; ; {
			ch = newSparseCholesky(nk)
			for a := range nk {
				if _, ok := ch.add(lowRows[a], jDiag[a]+added, 0); !ok {
					break
				}
			}
			if ch.size() == nk {
				break
			}
			if ridge == 0 {
				ridge = 1e-12 * (tr/float64(nk) + 1)
			} else {
				ridge *= 100
			}
			if ridge > tr+1 {
				ch = nil
				break
			}
			added += ridge
		}
		if ch == nil {
			break
		}
		step := make([]float64, nk)
		for a := range f {
			step[a] = -f[a]
		}
		ch.solve(step)
		accepted := false
		for t := 1.0; t > 1e-9; t /= 2 {
			copy(trial, nu)
			for a, r := range kept {
				trial[r] += t * step[a]
			}
			if p := eval(trial, fTry); p < (1-1e-4*t)*phi {
				copy(nu, trial)
				copy(f, fTry)
				phi = p
				accepted = true
				break
			}
		}
		if !accepted {
			break
		}
	}
	var involved []string
	for a, r := range kept {
		if math.Abs(f[a]) > tol {
			involved = append(involved, id(r))
		}
	}
	return nil, &ConflictError{Conflicts: []Conflict{{Targets: involved, Reason: "no non-negative plan meets these targets together"}}}
}
