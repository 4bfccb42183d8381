package reconcile

import (
	"errors"
	"fmt"
	"math"
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
// R = diag(0 for hard, 1/w_k for soft); CWCᵀ is targets × targets, so the
// cost is linear in the number of cells × periods. With NonNegative the
// solution is y = max(0, ŷ + W Cᵀν) where ν solves the piecewise-linear
// system C·max(0, ŷ + WCᵀν) + Rν = t by a semi-smooth Newton method — the
// exact optimum, because for diagonal W the problem separates by variable
// given the multipliers ν.
//
// Hard targets that are linearly dependent but consistent (children that add
// up to their parent) are kept once; inconsistent ones, targets below actuals
// already booked, parts that exceed their whole and any set for which no
// non-negative plan exists are returned as a *ConflictError naming the
// targets. Malformed targets return ErrTarget, bad matrices ErrShape or
// ErrInput.
func ReconcileTargets(p TargetProblem) (*TargetSolution, error) {
	s := p.Structure
	if s == nil || p.Forecast == nil {
		return nil, fmt.Errorf("%w: structure and forecast are required", ErrInput)
	}
	m, P := p.Forecast.Dims()
	if m != s.NumCells() {
		return nil, fmt.Errorf("%w: forecast has %d rows, structure has %d cells", ErrShape, m, s.NumCells())
	}
	if p.Closed < 0 || p.Closed > P {
		return nil, fmt.Errorf("%w: %d closed periods of %d", ErrInput, p.Closed, P)
	}
	if p.Closed > 0 {
		if p.Actual == nil {
			return nil, fmt.Errorf("%w: %d closed periods but no actuals", ErrInput, p.Closed)
		}
		if r, c := p.Actual.Dims(); r != m || c != P {
			return nil, fmt.Errorf("%w: actuals are %d×%d, want %d×%d", ErrShape, r, c, m, P)
		}
	}
	if p.Variance != nil {
		if r, c := p.Variance.Dims(); r != m || c != P {
			return nil, fmt.Errorf("%w: variances are %d×%d, want %d×%d", ErrShape, r, c, m, P)
		}
	}
	nOpen := P - p.Closed
	nv := m * nOpen
	if p.Factor != nil {
		if r, _ := p.Factor.Dims(); r != nv {
			return nil, fmt.Errorf("%w: factor has %d rows, want cells × open periods = %d", ErrShape, r, nv)
		}
		if p.NonNegative {
			return nil, fmt.Errorf("%w: non-negative target reconciliation needs a diagonal covariance (no Factor)", ErrInput)
		}
	}
	// Variables: open cell-periods, v = j·nOpen + (p − Closed).
	yhat := make([]float64, nv)
	d := make([]float64, nv)
	var meanAbs float64
	for j := 0; j < m; j++ {
		for q := 0; q < nOpen; q++ {
			v := p.Forecast.At(j, p.Closed+q)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%w: forecast of cell %v period %d is %v", ErrInput, s.Node(s.nAgg+j), p.Closed+q, v)
			}
			yhat[j*nOpen+q] = v
			meanAbs += math.Abs(v)
		}
	}
	if nv > 0 {
		meanAbs /= float64(nv)
	}
	floor := 1e-9 * meanAbs
	if floor == 0 {
		floor = 1e-9
	}
	for j := 0; j < m; j++ {
		for q := 0; q < nOpen; q++ {
			k := j*nOpen + q
			if p.Variance == nil {
				d[k] = math.Max(math.Abs(yhat[k]), floor)
				continue
			}
			v := p.Variance.At(j, p.Closed+q)
			if !(v > 0) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%w: variance of cell %v period %d is %v, want > 0", ErrInput, s.Node(s.nAgg+j), p.Closed+q, v)
			}
			d[k] = v
		}
	}

	sol := &TargetSolution{Reconciled: mat.NewDense(m, P, nil), Targets: make([]TargetOutcome, len(p.Targets))}
	for j := 0; j < m; j++ {
		for q := 0; q < P; q++ {
			if q < p.Closed {
				sol.Reconciled.Set(j, q, p.Actual.At(j, q))
			} else {
				sol.Reconciled.Set(j, q, yhat[j*nOpen+q-p.Closed])
			}
		}
	}

	// Targets → rows of C over the open variables.
	var errs []error
	var conflicts []Conflict
	ids := map[string]bool{}
	var rows [][]int
	var active []int // target index of each row
	for k, t := range p.Targets {
		out := &sol.Targets[k]
		*out = TargetOutcome{ID: t.ID, Value: t.Value, Hard: t.Weight == 0, Probability: math.NaN(), StdDev: math.NaN()}
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
		cells := s.NodeCells(node)
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
			conflicts = append(conflicts, Conflict{Targets: []string{t.ID},
				Reason: fmt.Sprintf("target %g is below the %g already booked, and values cannot go negative", t.Value, booked)})
			continue
		}
		row := make([]int, 0, len(cells)*(t.To-lo+1))
		for _, j := range cells {
			for q := lo; q <= t.To; q++ {
				row = append(row, j*nOpen+q-p.Closed)
			}
		}
		rows = append(rows, row)
		active = append(active, k)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c := newPatternCSR(rows, nv)
	k := len(rows)
	tReq := make([]float64, k)
	rDiag := make([]float64, k)
	for r, ti := range active {
		tReq[r] = sol.Targets[ti].Required
		if w := p.Targets[ti].Weight; w > 0 {
			rDiag[r] = 1 / w
		}
	}
	// M = C W Cᵀ and the shared-variable counts.
	cw := newConstraintSystem(c, d, p.Factor)
	cyhat := make([]float64, k)
	c.MulVec(cyhat, yhat)
	for r, ti := range active {
		out := &sol.Targets[ti]
		out.Forecast = out.Booked + cyhat[r]
		out.Gap = out.Value - out.Forecast
		out.StdDev = math.Sqrt(cw.m[r*k+r])
		if p.Variance != nil {
			out.Probability = probabilityAtLeast(out.Value, out.Forecast, out.StdDev)
		}
	}
	if p.NonNegative {
		conflicts = append(conflicts, partExceedsWhole(p.Targets, active, tReq, cw.shared, k)...)
	}
	// Hard rows first (in input order), then soft rows; dependent hard rows are
	// checked for consistency and dropped.
	order := make([]int, 0, k)
	for r := range active {
		if rDiag[r] == 0 {
			order = append(order, r)
		}
	}
	for r := range active {
		if rDiag[r] > 0 {
			order = append(order, r)
		}
	}
	rhs := make([]float64, k)
	for r := range rhs {
		rhs[r] = tReq[r] - cyhat[r]
	}
	ch := newIncrementalCholesky(k)
	var kept []int
	for _, r := range order {
		col := make([]float64, len(kept))
		for a, q := range kept {
			col[a] = cw.m[q*k+r]
		}
		alpha, dependent := ch.add(col, cw.m[r*k+r]+rDiag[r])
		if !dependent {
			kept = append(kept, r)
			continue
		}
		// c_r = Σ alpha_a c_kept[a]: consistent iff t_r = Σ alpha_a t_kept[a].
		var comb, scale float64
		involved := []string{p.Targets[active[r]].ID}
		for a, q := range kept {
			comb += alpha[a] * tReq[q]
			scale += math.Abs(alpha[a] * tReq[q])
			if math.Abs(alpha[a]) > 1e-9 {
				involved = append(involved, p.Targets[active[q]].ID)
			}
		}
		if math.Abs(tReq[r]-comb) > 1e-9*(math.Abs(tReq[r])+scale)+1e-12 {
			conflicts = append(conflicts, Conflict{Targets: involved,
				Reason: fmt.Sprintf("linearly dependent targets are inconsistent (the others imply %g to go, this one %g)", comb, tReq[r])})
		}
	}
	if len(conflicts) > 0 {
		return nil, &ConflictError{Conflicts: conflicts}
	}
	// Solve on the kept rows.
	nu := make([]float64, k)
	sub := make([]float64, len(kept))
	for a, r := range kept {
		sub[a] = rhs[r]
	}
	ch.solve(sub)
	for a, r := range kept {
		nu[r] = sub[a]
	}
	y := make([]float64, nv)
	cw.adjust(y, yhat, nu)
	if p.NonNegative {
		var err error
		y, err = nonNegativeTargets(cw, yhat, nu, kept, tReq, rDiag, func(r int) string { return p.Targets[active[r]].ID })
		if err != nil {
			return nil, err
		}
	}
	cy := make([]float64, k)
	c.MulVec(cy, y)
	for r, ti := range active {
		sol.Targets[ti].Reconciled = sol.Targets[ti].Booked + cy[r]
	}
	for j := 0; j < m; j++ {
		for q := 0; q < nOpen; q++ {
			sol.Reconciled.Set(j, p.Closed+q, y[j*nOpen+q])
		}
	}
	return sol, nil
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

// constraintSystem holds C, W = diag(d) + F Fᵀ and M = C W Cᵀ (k × k, dense).
type constraintSystem struct {
	c      *CSR
	d      []float64
	f      *mat.Dense
	cf     *mat.Dense // C F (k × r)
	m      []float64
	shared []int // shared[a*k+b]: number of variables in both rows a and b
	cols   [][]int32
}

func newConstraintSystem(c *CSR, d []float64, f *mat.Dense) *constraintSystem {
	k, nv := c.Dims()
	cw := &constraintSystem{c: c, d: d, f: f, m: make([]float64, k*k), shared: make([]int, k*k)}
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
		rows := flat[cnt[v]:cnt[v+1]]
		cw.cols[v] = rows
		for a, ra := range rows {
			for _, rb := range rows[a:] {
				cw.m[int(ra)*k+int(rb)] += d[v]
				cw.shared[int(ra)*k+int(rb)]++
			}
		}
	}
	for a := 0; a < k; a++ {
		for b := a + 1; b < k; b++ {
			cw.m[b*k+a] = cw.m[a*k+b]
			cw.shared[b*k+a] = cw.shared[a*k+b]
		}
	}
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
		var g mat.Dense
		g.Mul(cw.cf, cw.cf.T())
		for a := 0; a < k; a++ {
			for b := 0; b < k; b++ {
				cw.m[a*k+b] += g.At(a, b)
			}
		}
	}
	return cw
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
func partExceedsWhole(targets []Target, active []int, tReq []float64, shared []int, k int) []Conflict {
	var out []Conflict
	for a := 0; a < k; a++ {
		if targets[active[a]].Weight != 0 {
			continue
		}
		for b := 0; b < k; b++ {
			if a == b || targets[active[b]].Weight != 0 {
				continue
			}
			// a ⊆ b (strictly or equal as sets) and a needs more than b.
			if shared[a*k+b] == shared[a*k+a] && tReq[a] > tReq[b]+1e-9*math.Max(math.Abs(tReq[a]), math.Abs(tReq[b])) {
				out = append(out, Conflict{Targets: []string{targets[active[a]].ID, targets[active[b]].ID},
					Reason: fmt.Sprintf("a part needs %g to go but its whole only %g, and values cannot go negative", tReq[a], tReq[b])})
			}
		}
	}
	return out
}

// incrementalCholesky factorises a symmetric matrix row by row, detecting rows
// that are (numerically) linear combinations of the rows already added.
type incrementalCholesky struct {
	l [][]float64 // lower triangular rows
}

func newIncrementalCholesky(capacity int) *incrementalCholesky {
	return &incrementalCholesky{l: make([][]float64, 0, capacity)}
}

// add appends a row with off-diagonal entries col (against the rows already
// added) and diagonal diag. When the row is dependent it is not added and add
// returns the coefficients alpha with row = Σ alpha_a row_a.
func (ch *incrementalCholesky) add(col []float64, diag float64) (alpha []float64, dependent bool) {
	n := len(ch.l)
	z := make([]float64, n)
	for i := 0; i < n; i++ {
		s := col[i]
		for j := 0; j < i; j++ {
			s -= ch.l[i][j] * z[j]
		}
		z[i] = s / ch.l[i][i]
	}
	var zz float64
	for _, v := range z {
		zz += v * v
	}
	rest := diag - zz
	if rest <= 1e-10*diag {
		// alpha = L⁻ᵀ z.
		alpha = make([]float64, n)
		copy(alpha, z)
		for i := n - 1; i >= 0; i-- {
			alpha[i] /= ch.l[i][i]
			for j := 0; j < i; j++ {
				alpha[j] -= ch.l[i][j] * alpha[i]
			}
		}
		return alpha, true
	}
	row := append(z, math.Sqrt(rest))
	ch.l = append(ch.l, row)
	return nil, false
}

// solve overwrites b with the solution of L Lᵀ x = b.
func (ch *incrementalCholesky) solve(b []float64) {
	n := len(ch.l)
	for i := 0; i < n; i++ {
		s := b[i]
		for j := 0; j < i; j++ {
			s -= ch.l[i][j] * b[j]
		}
		b[i] = s / ch.l[i][i]
	}
	for i := n - 1; i >= 0; i-- {
		b[i] /= ch.l[i][i]
		for j := 0; j < i; j++ {
			b[j] -= ch.l[i][j] * b[i]
		}
	}
}

// nonNegativeTargets solves C_K·max(0, ŷ + W C_Kᵀν) + Rν = t over the kept
// rows K by a damped semi-smooth Newton method on the multipliers, starting
// from the unconstrained ν. For diagonal W, y(ν) = max(0, ŷ + W Cᵀν)
// minimises the Lagrangian over y ≥ 0, so a root gives the exact optimum.
func nonNegativeTargets(cw *constraintSystem, yhat, nu0 []float64, kept []int, tReq, rDiag []float64, id func(int) string) ([]float64, error) {
	k, nv := cw.c.Dims()
	nk := len(kept)
	pos := make([]int, k)
	for r := range pos {
		pos[r] = -1
	}
	for a, r := range kept {
		pos[r] = a
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
		// Generalised Jacobian J = C_K diag(d·[y > 0]) C_Kᵀ + R.
		j := mat.NewSymDense(nk, nil)
		var tr float64
		for v := 0; v < nv; v++ {
			if y[v] <= 0 {
				continue
			}
			rows := cw.cols[v]
			for ia, ra := range rows {
				a := pos[ra]
				if a < 0 {
					continue
				}
				for _, rb := range rows[ia:] {
					if b := pos[rb]; b >= 0 {
						if a <= b {
							j.SetSym(a, b, j.At(a, b)+cw.d[v])
						} else {
							j.SetSym(b, a, j.At(b, a)+cw.d[v])
						}
					}
				}
			}
		}
		for a, r := range kept {
			j.SetSym(a, a, j.At(a, a)+rDiag[r])
			tr += j.At(a, a)
		}
		var chol mat.Cholesky
		ridge := 0.0
		for !chol.Factorize(j) {
			if ridge == 0 {
				ridge = 1e-12 * (tr/float64(nk) + 1)
			} else {
				ridge *= 100
			}
			if ridge > tr+1 {
				break
			}
			for a := 0; a < nk; a++ {
				j.SetSym(a, a, j.At(a, a)+ridge)
			}
		}
		var step mat.VecDense
		neg := make([]float64, nk)
		for a := range f {
			neg[a] = -f[a]
		}
		if err := chol.SolveVecTo(&step, mat.NewVecDense(nk, neg)); err != nil {
			break
		}
		accepted := false
		for t := 1.0; t > 1e-9; t /= 2 {
			copy(trial, nu)
			for a, r := range kept {
				trial[r] += t * step.AtVec(a)
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
