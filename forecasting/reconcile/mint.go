package reconcile

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// sampleCovariance returns Ŵ = RᵀR/T, the (uncentred) sample covariance of
// one-step residuals R (T × n), as in Wickramasuriya et al. (2019) and the R
// packages hts and fabletools.
func sampleCovariance(r mat.Matrix) *mat.SymDense {
	t, n := r.Dims()
	w := mat.NewSymDense(n, nil)
	w.SymOuterK(1/float64(t), mat.DenseCopyOf(r).T())
	return w
}

// ShrinkCovariance returns the Schäfer–Strimmer (2005) shrinkage estimate
// W = λ·diag(Ŵ) + (1−λ)·Ŵ of the one-step forecast-error covariance from
// residuals R (T × n), with Ŵ = RᵀR/T and the intensity
//
//	λ = Σ_{i≠j} Var(r̂_ij) / Σ_{i≠j} r̂_ij²
//
// clamped to [0, 1], where r̂_ij are sample correlations (Wickramasuriya,
// Athanasopoulos & Hyndman 2019, §2.4; the formula of hts::MinT and
// fabletools::min_trace(method = "mint_shrink")). A node with zero residual
// variance makes the result singular.
func ShrinkCovariance(r mat.Matrix) (*mat.SymDense, float64) {
	t, n := r.Dims()
	w := sampleCovariance(r)
	sd := make([]float64, n)
	for i := range sd {
		sd[i] = math.Sqrt(w.At(i, i))
	}
	xs := mat.DenseCopyOf(r)
	x2 := mat.NewDense(t, n, nil)
	for k := 0; k < t; k++ {
		for i := 0; i < n; i++ {
			v := xs.At(k, i) / sd[i]
			xs.Set(k, i, v)
			x2.Set(k, i, v*v)
		}
	}
	// Correlations R = XsᵀXs/T; Var(r̂_ij) = (Σ x²x² − (Σ x x)²/T)/(T(T−1)).
	c := mat.NewSymDense(n, nil)
	c.SymOuterK(1, xs.T())
	c2 := mat.NewSymDense(n, nil)
	c2.SymOuterK(1, x2.T())
	ft := float64(t)
	var sumV, sumD float64
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			cij := c.At(i, j)
			sumV += (c2.At(i, j) - cij*cij/ft) / (ft * (ft - 1))
			corr := cij / ft
			sumD += corr * corr
		}
	}
	lambda := 1.0
	if sumD > 0 {
		lambda = max(0, min(1, sumV/sumD))
	}
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			w.SetSym(i, j, (1-lambda)*w.At(i, j))
		}
	}
	return w, lambda
}

// mintSolver implements the MinT projection in its constraint form
// (Wickramasuriya et al. 2019, eq. 9): with C = [I, −A] (Cy = 0 iff y is
// coherent), ỹ = ŷ − WCᵀ(CWCᵀ)⁻¹Cŷ. Only the aggregates × aggregates matrix
// CWCᵀ is factorised; W itself is the dense n × n covariance.
type mintSolver struct {
	s      *Structure
	w      *mat.SymDense
	wct    *mat.Dense // n × nAgg
	chol   mat.Cholesky
	lambda float64
	tol    float64
	wchol  *mat.Cholesky // W itself, only for non-negative reconciliation
}

func newMinTSolver(s *Structure, w *mat.SymDense, tol float64) (*mintSolver, error) {
	n := s.NumNodes()
	na := s.nAgg
	ms := &mintSolver{s: s, w: w, tol: tol}
	if na == 0 {
		return ms, nil
	}
	// WCᵀ[:, k] = W[:, k] − Σ_{j∈cells(k)} W[:, nAgg+j].
	wct := mat.NewDense(n, na, nil)
	row := make([]float64, n)
	for r := 0; r < n; r++ {
		for c := 0; c < n; c++ {
			row[c] = w.At(r, c)
		}
		dst := wct.RawRowView(r)
		for k := 0; k < na; k++ {
			v := row[k]
			for _, j := range s.NodeCells(k) {
				v -= row[na+j]
			}
			dst[k] = v
		}
	}
	m := mat.NewSymDense(na, nil)
	for k := 0; k < na; k++ {
		for l := k; l < na; l++ {
			v := wct.At(k, l)
			for _, j := range s.NodeCells(k) {
				v -= wct.At(na+j, l)
			}
			m.SetSym(k, l, v)
		}
	}
	if !ms.chol.Factorize(m) {
		return nil, fmt.Errorf("%w: CWCᵀ of the MinT covariance is not positive definite", ErrSingular)
	}
	ms.wct = wct
	return ms, nil
}

func (ms *mintSolver) bottom(base *mat.Dense) (*mat.Dense, error) {
	s := ms.s
	n, h := base.Dims()
	na := s.nAgg
	out := mat.DenseCopyOf(base.Slice(na, n, 0, h))
	if na == 0 {
		return out, nil
	}
	u := mat.NewDense(na, h, nil)
	for k := 0; k < na; k++ {
		for c := 0; c < h; c++ {
			v := base.At(k, c)
			for _, j := range s.NodeCells(k) {
				v -= base.At(na+j, c)
			}
			u.Set(k, c, v)
		}
	}
	var x mat.Dense
	if err := ms.chol.SolveTo(&x, u); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSingular, err)
	}
	var adj mat.Dense
	adj.Mul(ms.wct.Slice(na, n, 0, na), &x)
	out.Sub(out, &adj)
	return out, nil
}

func (ms *mintSolver) nonNegative(bottom *mat.Dense) (*mat.Dense, error) {
	if ms.wchol == nil {
		ms.wchol = new(mat.Cholesky)
		if !ms.wchol.Factorize(ms.w) {
			return nil, fmt.Errorf("%w: MinT covariance is not positive definite", ErrSingular)
		}
	}
	s := ms.s
	n := s.NumNodes()
	op := func(dst, v, work []float64) {
		s.summing.MulVec(work, v)
		var sol mat.VecDense
		_ = ms.wchol.SolveVecTo(&sol, mat.NewVecDense(n, work))
		s.summing.MulTransVec(dst, sol.RawVector().Data)
	}
	pre := make([]float64, s.NumCells())
	for i := range pre {
		pre[i] = 1
	}
	return nonNegativeColumns(bottom, op, pre, ms.tol, n)
}

// ShrinkFactor returns the shrinkage covariance of ShrinkCovariance in
// diagonal-plus-low-rank form, W = diag(d) + F Fᵀ with d_i = λ·Ŵ_ii and
// F = √((1−λ)/T)·Rᵀ (n × T), without forming the n × n matrix. It is how a
// shrunk sample covariance of cells enters TargetProblem.Factor: for one open
// period, rows of F are the cells' rows; for several periods, stack one
// scaled copy per period (errors fully correlated across periods) or use
// separate column blocks (independent periods).
func ShrinkFactor(r mat.Matrix) (d []float64, f *mat.Dense, lambda float64) {
	t, n := r.Dims()
	w, lambda := ShrinkCovariance(r)
	d = make([]float64, n)
	for i := range d {
		d[i] = lambda * w.At(i, i)
	}
	f = mat.NewDense(n, t, nil)
	sc := math.Sqrt((1 - lambda) / float64(t))
	for k := 0; k < t; k++ {
		for i := 0; i < n; i++ {
			f.Set(i, k, sc*r.At(k, i))
		}
	}
	return d, f, lambda
}
