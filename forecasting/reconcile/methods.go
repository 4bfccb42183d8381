package reconcile

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Method is a hierarchical reconciliation method.
type Method int

// The reconciliation methods. All return coherent forecasts ỹ = S·b̃ where b̃
// are the reconciled cell forecasts; they differ in how b̃ is obtained from the
// base forecasts ŷ of every node.
const (
	// BottomUp uses the cells' base forecasts: b̃ = ŷ_b.
	BottomUp Method = iota
	// TopDown disaggregates the total's forecast to the cells by
	// Options.Proportions (it is MiddleOut at the top level).
	TopDown
	// MiddleOut takes the base forecasts of the nodes at Options.Level,
	// disaggregates them below by Options.Proportions and sums them above.
	MiddleOut
	// OLS is the generalised least-squares projection with W = I:
	// b̃ = (SᵀS)⁻¹Sᵀŷ (Hyndman et al. 2011).
	OLS
	// WLSStructural is the projection with W = diag(S·1), the number of cells
	// under each node (Athanasopoulos et al. 2017).
	WLSStructural
	// WLSVariance is the projection with W = diag of the in-sample one-step
	// residual variances (mean squared residual) of each node.
	WLSVariance
	// MinTShrink is the minimum-trace projection with W the Schäfer–Strimmer
	// shrinkage of the in-sample one-step residual covariance towards its
	// diagonal (Wickramasuriya, Athanasopoulos & Hyndman 2019).
	MinTShrink
	// MinTSample is the minimum-trace projection with the unshrunk sample
	// covariance; it needs more residual periods than nodes to be definite.
	MinTSample
)

var methodNames = map[Method]string{
	BottomUp: "bottom-up", TopDown: "top-down", MiddleOut: "middle-out", OLS: "ols",
	WLSStructural: "wls-structural", WLSVariance: "wls-variance", MinTShrink: "mint-shrink", MinTSample: "mint-sample",
}

// String returns the method's name as accepted by ParseMethod.
func (m Method) String() string {
	if s, ok := methodNames[m]; ok {
		return s
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// ParseMethod returns the method with the given name (see Method.String).
func ParseMethod(name string) (Method, error) {
	for m, s := range methodNames {
		if s == name {
			return m, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown method %q", ErrInput, name)
}

// Proportions selects how TopDown and MiddleOut split a node's forecast among
// its cells (Forecasting: Principles and Practice, 3rd ed., §11.3).
type Proportions int

const (
	// ForecastProportions splits each node in proportion to its children's base
	// forecasts, level by level (dimension by dimension for grouped
	// structures), per horizon. This is the default.
	ForecastProportions Proportions = iota
	// AverageHistoricalProportions uses p_j = mean over t of y_{j,t}/y_{node,t}.
	AverageHistoricalProportions
	// ProportionsOfHistoricalAverages uses p_j = mean(y_j)/mean(y_node).
	ProportionsOfHistoricalAverages
)

// Options configures Reconcile.
type Options struct {
	Method Method
	// Level is the depth per dimension of the middle level for MiddleOut.
	Level []int
	// Proportions selects the disaggregation for TopDown and MiddleOut.
	Proportions Proportions
	// History holds the cells' history (m × T), needed for historical
	// proportions.
	History mat.Matrix
	// Residuals holds in-sample one-step forecast errors (T × n, one column per
	// node), needed for WLSVariance and the MinT methods.
	Residuals mat.Matrix
	// Variances, if not nil, gives WLSVariance its weights directly (one
	// forecast-error variance per node, all > 0) instead of Residuals.
	Variances []float64
	// NonNegative constrains the reconciled cells (hence every node) to be ≥ 0.
	// For the projection methods it solves the non-negative least-squares
	// problem exactly (see NonNegative in doc.go); for the others it sets
	// negative cell forecasts to zero.
	NonNegative bool
	// Tolerance is the relative residual at which conjugate gradient stops;
	// zero means 1e-12.
	Tolerance float64
}

// Result is the outcome of Reconcile.
type Result struct {
	// Reconciled holds the coherent forecasts of every node (n × h).
	Reconciled *mat.Dense
	// Bottom holds the reconciled cell forecasts b̃ (m × h).
	Bottom *mat.Dense
	// Lambda is the shrinkage intensity used by MinTShrink (0 otherwise).
	Lambda float64
}

// Reconcile reconciles base forecasts (n × h: one row per node in structure
// order, one column per horizon) by opts.Method. The result is coherent by
// construction: every aggregate equals the sum of its cells. Reconcile is
// deterministic and safe for concurrent use.
func Reconcile(s *Structure, base mat.Matrix, opts Options) (*Result, error) {
	n, h := base.Dims()
	if n != s.NumNodes() {
		return nil, fmt.Errorf("%w: base forecasts have %d rows, structure has %d nodes", ErrShape, n, s.NumNodes())
	}
	for i := 0; i < n; i++ {
		for c := 0; c < h; c++ {
			if v := base.At(i, c); math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%w: base forecast of node %v, horizon %d is %v", ErrInput, s.Node(i), c+1, v)
			}
		}
	}
	sol, err := newSolver(s, opts)
	if err != nil {
		return nil, err
	}
	bottom, err := sol.bottom(mat.DenseCopyOf(base))
	if err != nil {
		return nil, err
	}
	if opts.NonNegative {
		if bottom, err = sol.nonNegative(bottom); err != nil {
			return nil, err
		}
	}
	res := &Result{Bottom: bottom, Reconciled: s.Aggregate(bottom)}
	if ms, ok := sol.(*mintSolver); ok {
		res.Lambda = ms.lambda
	}
	return res, nil
}

// solver computes reconciled cell forecasts from base forecasts, column by
// column (each horizon independently).
type solver interface {
	bottom(base *mat.Dense) (*mat.Dense, error)
	// nonNegative turns a reconciled bottom into the non-negative solution.
	nonNegative(bottom *mat.Dense) (*mat.Dense, error)
}

func newSolver(s *Structure, opts Options) (solver, error) {
	tol := opts.Tolerance
	if tol == 0 {
		tol = 1e-12
	}
	switch opts.Method {
	case BottomUp:
		return &disaggSolver{s: s, level: s.bottomLevel()}, nil
	case TopDown, MiddleOut:
		level := make([]int, len(s.dims))
		if opts.Method == MiddleOut {
			level = opts.Level
		}
		nodes, err := s.levelNodes(level)
		if err != nil {
			return nil, err
		}
		d := &disaggSolver{s: s, level: nodes, props: opts.Proportions}
		if opts.Proportions != ForecastProportions {
			if err := d.historicalProportions(opts.History); err != nil {
				return nil, err
			}
		}
		return d, nil
	case OLS:
		w := make([]float64, s.NumNodes())
		for i := range w {
			w[i] = 1
		}
		return newDiagSolver(s, w, tol), nil
	case WLSStructural:
		return newDiagSolver(s, StructuralWeights(s), tol), nil
	case WLSVariance:
		if opts.Variances != nil {
			if len(opts.Variances) != s.NumNodes() {
				return nil, fmt.Errorf("%w: %d variances for %d nodes", ErrShape, len(opts.Variances), s.NumNodes())
			}
			for i, v := range opts.Variances {
				if !(v > 0) || math.IsInf(v, 0) {
					return nil, fmt.Errorf("%w: variance of node %v is %v, want > 0", ErrInput, s.Node(i), v)
				}
			}
			return newDiagSolver(s, opts.Variances, tol), nil
		}
		w, err := VarianceWeights(s, opts.Residuals)
		if err != nil {
			return nil, err
		}
		return newDiagSolver(s, w, tol), nil
	case MinTShrink, MinTSample:
		if opts.Residuals == nil {
			return nil, fmt.Errorf("%w: %v needs residuals", ErrInput, opts.Method)
		}
		if r, _ := opts.Residuals.Dims(); r < 2 {
			return nil, fmt.Errorf("%w: %v needs at least 2 residual periods, have %d", ErrInput, opts.Method, r)
		}
		if _, c := opts.Residuals.Dims(); c != s.NumNodes() {
			return nil, fmt.Errorf("%w: residuals have %d columns, structure has %d nodes", ErrShape, c, s.NumNodes())
		}
		var w *mat.SymDense
		var lambda float64
		if opts.Method == MinTShrink {
			w, lambda = ShrinkCovariance(opts.Residuals)
		} else {
			w = sampleCovariance(opts.Residuals)
		}
		ms, err := newMinTSolver(s, w, tol)
		if err != nil {
			return nil, err
		}
		ms.lambda = lambda
		return ms, nil
	}
	return nil, fmt.Errorf("%w: unknown method %v", ErrInput, opts.Method)
}

// StructuralWeights returns the diagonal of the structural scaling
// W = diag(S·1): the number of cells under each node.
func StructuralWeights(s *Structure) []float64 {
	w := make([]float64, s.NumNodes())
	for i := range w {
		w[i] = float64(len(s.NodeCells(i)))
	}
	return w
}

// VarianceWeights returns each node's mean squared in-sample residual (the
// diagonal of the MinT sample covariance) from residuals (T × n). It returns
// ErrInput when residuals are missing, non-finite or a node's variance is zero.
func VarianceWeights(s *Structure, residuals mat.Matrix) ([]float64, error) {
	if residuals == nil {
		return nil, fmt.Errorf("%w: variance weights need residuals", ErrInput)
	}
	t, n := residuals.Dims()
	if n != s.NumNodes() {
		return nil, fmt.Errorf("%w: residuals have %d columns, structure has %d nodes", ErrShape, n, s.NumNodes())
	}
	w := make([]float64, n)
	for i := 0; i < n; i++ {
		var ss float64
		for r := 0; r < t; r++ {
			v := residuals.At(r, i)
			ss += v * v
		}
		w[i] = ss / float64(t)
		if !(w[i] > 0) || math.IsInf(w[i], 0) {
			return nil, fmt.Errorf("%w: residual variance of node %v is %v", ErrInput, s.Node(i), w[i])
		}
	}
	return w, nil
}

func (s *Structure) bottomLevel() []int {
	out := make([]int, s.NumCells())
	for j := range out {
		out[j] = s.nAgg + j
	}
	return out
}
