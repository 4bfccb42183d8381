package reconcile

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// linear reports whether opts describe a linear map ŷ ↦ ỹ.
func (o Options) linear() bool {
	if o.NonNegative {
		return false
	}
	if (o.Method == TopDown || o.Method == MiddleOut) && o.Proportions == ForecastProportions {
		return false
	}
	return true
}

// Intervals returns central prediction intervals with the given coverage
// (e.g. 0.8) for every node (rows) and horizon (columns) under the reconciled
// Gaussian distribution N(SGŷ, SGΣ_cGᵀSᵀ), where ŷ are the base forecasts,
// Σ_c (covs[c], n × n) the base forecast-error covariance of horizon c and G
// the reconciliation by opts. The intervals are those of coherent
// forecasts: each node's distribution is that of the sum of its cells.
// It returns ErrNotLinear for non-linear options (forecast proportions,
// non-negative), ErrSingular when a covariance is not positive definite.
func Intervals(s *Structure, base mat.Matrix, covs []mat.Symmetric, opts Options, coverage float64) (lower, upper *mat.Dense, err error) {
	if !opts.linear() {
		return nil, nil, fmt.Errorf("%w: Gaussian intervals need a linear reconciliation", ErrNotLinear)
	}
	n, h := base.Dims()
	if len(covs) != h {
		return nil, nil, fmt.Errorf("%w: %d covariances for %d horizons", ErrShape, len(covs), h)
	}
	if !(coverage > 0 && coverage < 1) {
		return nil, nil, fmt.Errorf("%w: coverage %v, want in (0, 1)", ErrInput, coverage)
	}
	mean, err := Reconcile(s, base, opts)
	if err != nil {
		return nil, nil, err
	}
	z := distuv.UnitNormal.Quantile((1 + coverage) / 2)
	lower, upper = mat.NewDense(n, h, nil), mat.NewDense(n, h, nil)
	for c := 0; c < h; c++ {
		if r := covs[c].SymmetricDim(); r != n {
			return nil, nil, fmt.Errorf("%w: covariance %d is %d×%d, want %d×%d", ErrShape, c, r, r, n, n)
		}
		var ch mat.Cholesky
		if !ch.Factorize(covs[c]) {
			return nil, nil, fmt.Errorf("%w: base covariance of horizon %d", ErrSingular, c+1)
		}
		var l mat.TriDense
		ch.LTo(&l)
		// Columns of SGL are the reconciled images of the columns of L; the
		// reconciled variance of node i is the squared norm of row i.
		img, err := Reconcile(s, &l, opts)
		if err != nil {
			return nil, nil, err
		}
		for i := 0; i < n; i++ {
			sd := mat.Norm(img.Reconciled.RowView(i), 2)
			m := mean.Reconciled.At(i, c)
			lower.Set(i, c, m-z*sd)
			upper.Set(i, c, m+z*sd)
		}
	}
	return lower, upper, nil
}

// GaussianPaths draws k sample paths of the base forecasts, ŷ + L_c z with
// z standard normal and L_cL_cᵀ = covs[c] (independently per horizon), and
// reconciles each path by opts; every returned path (n × h) is coherent. For
// linear options the paths are draws from the reconciled Gaussian
// N(SGŷ, SGΣGᵀSᵀ). Deterministic for a given rng state.
func GaussianPaths(s *Structure, base mat.Matrix, covs []mat.Symmetric, opts Options, k int, rng *rand.Rand) ([]*mat.Dense, error) {
	n, h := base.Dims()
	if len(covs) != h {
		return nil, fmt.Errorf("%w: %d covariances for %d horizons", ErrShape, len(covs), h)
	}
	ls := make([]mat.TriDense, h)
	for c := range covs {
		var ch mat.Cholesky
		if covs[c].SymmetricDim() != n || !ch.Factorize(covs[c]) {
			return nil, fmt.Errorf("%w: base covariance of horizon %d is not %d×%d positive definite", ErrSingular, c+1, n, n)
		}
		ch.LTo(&ls[c])
	}
	stack := mat.NewDense(n, h*k, nil)
	z := make([]float64, n)
	for p := 0; p < k; p++ {
		for c := 0; c < h; c++ {
			for i := range z {
				z[i] = rng.NormFloat64()
			}
			var e mat.VecDense
			e.MulVec(&ls[c], mat.NewVecDense(n, z))
			for i := 0; i < n; i++ {
				stack.Set(i, p*h+c, base.At(i, c)+e.AtVec(i))
			}
		}
	}
	return reconcileStack(s, stack, opts, k, h)
}

// BootstrapPaths draws k sample paths by adding to the base forecasts blocks
// of h consecutive rows of the in-sample one-step residuals (T × n), which
// keeps their correlation across nodes and (approximately) across horizons,
// and reconciles each path by opts (Panagiotelis et al. 2023). Every returned
// path (n × h) is coherent. Deterministic for a given rng state.
func BootstrapPaths(s *Structure, base mat.Matrix, residuals mat.Matrix, opts Options, k int, rng *rand.Rand) ([]*mat.Dense, error) {
	n, h := base.Dims()
	t, rn := residuals.Dims()
	if rn != n {
		return nil, fmt.Errorf("%w: residuals have %d columns, want %d", ErrShape, rn, n)
	}
	if t < h {
		return nil, fmt.Errorf("%w: %d residual periods cannot make blocks of %d", ErrInput, t, h)
	}
	stack := mat.NewDense(n, h*k, nil)
	for p := 0; p < k; p++ {
		t0 := rng.IntN(t - h + 1)
		for c := 0; c < h; c++ {
			for i := 0; i < n; i++ {
				stack.Set(i, p*h+c, base.At(i, c)+residuals.At(t0+c, i))
			}
		}
	}
	return reconcileStack(s, stack, opts, k, h)
}

func reconcileStack(s *Structure, stack *mat.Dense, opts Options, k, h int) ([]*mat.Dense, error) {
	res, err := Reconcile(s, stack, opts)
	if err != nil {
		return nil, err
	}
	n := s.NumNodes()
	out := make([]*mat.Dense, k)
	for p := range out {
		out[p] = mat.DenseCopyOf(res.Reconciled.Slice(0, n, p*h, (p+1)*h))
	}
	return out, nil
}

// PathQuantiles returns the empirical p-quantile (gonum stat.Empirical) of
// every entry across sample paths of equal shape.
func PathQuantiles(paths []*mat.Dense, p float64) *mat.Dense {
	r, c := paths[0].Dims()
	out := mat.NewDense(r, c, nil)
	x := make([]float64, len(paths))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			for k, pa := range paths {
				x[k] = pa.At(i, j)
			}
			slices.Sort(x)
			out.Set(i, j, stat.Quantile(p, stat.Empirical, x, nil))
		}
	}
	return out
}

// PathProbability returns the share of joint sample paths (each cells ×
// periods, actuals in closed periods) whose total over the target's node and
// span reaches its value: P(total ≥ Value) with the correlation across cells
// and periods that the paths carry.
func PathProbability(s *Structure, paths []*mat.Dense, t Target) (float64, error) {
	node, ok := s.NodeIndex(t.Node)
	if !ok {
		return 0, fmt.Errorf("%w: target %q: no node %v", ErrTarget, t.ID, t.Node)
	}
	if len(paths) == 0 {
		return 0, fmt.Errorf("%w: no paths", ErrInput)
	}
	hit := 0
	for _, pa := range paths {
		m, p := pa.Dims()
		if m != s.NumCells() || t.From < 0 || t.To >= p || t.From > t.To {
			return 0, fmt.Errorf("%w: path is %d×%d, target %q spans %d..%d", ErrShape, m, p, t.ID, t.From, t.To)
		}
		var sum float64
		for _, j := range s.NodeCells(node) {
			for q := t.From; q <= t.To; q++ {
				sum += pa.At(j, q)
			}
		}
		if sum >= t.Value {
			hit++
		}
	}
	return float64(hit) / float64(len(paths)), nil
}
