package reconcile

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestIntervalsAgainstR: testdata/r/small_reference.R,
//
//	G <- solve(t(S) %*% S, t(S)); sdrec <- sqrt(diag(S %*% G %*% W1 %*% t(G) %*% t(S)))
//	S %*% G %*% yhat[, 1] -/+ qnorm(0.9) * sdrec
func TestIntervalsAgainstR(t *testing.T) {
	s := groupedExample(t)
	w1 := sampleCovariance(groupedResiduals)
	lo, up, err := Intervals(s, groupedBase.Slice(0, 9, 0, 1), []mat.Symmetric{w1}, Options{Method: OLS}, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "lower", lo, []float64{86.923901609168993, 39.313595323783495, 47.283339584149765, 54.462284932242881,
		32.328376224397211, 23.727556800080315, 30.285851133588292, 15.244227911922289, 16.680462504441717}, 1e-10)
	assertClose(t, "upper", up, []float64{109.520542835275492, 50.241960231772076, 59.605549304739121,
		65.093270623312705, 44.560512664491675, 28.716887644364121, 36.825259977522819, 21.866883199188827, 23.097315273336061}, 1e-10)
	if _, _, err := Intervals(s, groupedBase.Slice(0, 9, 0, 1), []mat.Symmetric{w1}, Options{Method: TopDown}, 0.8); !errors.Is(err, ErrNotLinear) {
		t.Errorf("Intervals(top-down FP) error = %v, want ErrNotLinear", err)
	}
}

func TestPathsCoherentAndSeeded(t *testing.T) {
	s := groupedExample(t)
	w1 := sampleCovariance(groupedResiduals)
	covs := []mat.Symmetric{w1, w1}
	opts := Options{Method: MinTShrink, Residuals: groupedResiduals}
	g1, err := GaussianPaths(s, groupedBase, covs, opts, 50, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	g2, _ := GaussianPaths(s, groupedBase, covs, opts, 50, rand.New(rand.NewPCG(1, 2)))
	b, err := BootstrapPaths(s, groupedBase, groupedResiduals, Options{Method: OLS, NonNegative: true}, 50, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	for p := range g1 {
		assertCoherent(t, s, g1[p])
		assertCoherent(t, s, b[p])
		if !mat.Equal(g1[p], g2[p]) {
			t.Fatalf("GaussianPaths path %d differs for the same seed", p)
		}
		for i := 0; i < 9; i++ {
			if b[p].At(i, 0) < 0 {
				t.Errorf("non-negative bootstrap path %d node %d = %v", p, i, b[p].At(i, 0))
			}
		}
	}
}

// TestGaussianPathsMatchIntervals: the 10% and 90% quantiles of many
// reconciled Gaussian paths converge to the analytic interval. With 20000
// paths the standard error of a 10% quantile is ≈ 0.012 sd, so 0.05 sd is a
// safe (seeded) bound.
func TestGaussianPathsMatchIntervals(t *testing.T) {
	s := groupedExample(t)
	w1 := sampleCovariance(groupedResiduals)
	base := groupedBase.Slice(0, 9, 0, 1)
	opts := Options{Method: WLSStructural}
	lo, up, err := Intervals(s, base, []mat.Symmetric{w1}, opts, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	paths, err := GaussianPaths(s, base, []mat.Symmetric{w1}, opts, 20000, rand.New(rand.NewPCG(7, 7)))
	if err != nil {
		t.Fatal(err)
	}
	qlo, qup := PathQuantiles(paths, 0.1), PathQuantiles(paths, 0.9)
	for i := 0; i < 9; i++ {
		sd := (up.At(i, 0) - lo.At(i, 0)) / (2 * 1.2815515655446004)
		if math.Abs(qlo.At(i, 0)-lo.At(i, 0)) > 0.05*sd || math.Abs(qup.At(i, 0)-up.At(i, 0)) > 0.05*sd {
			t.Errorf("node %d: path quantiles [%v, %v], analytic [%v, %v]", i, qlo.At(i, 0), qup.At(i, 0), lo.At(i, 0), up.At(i, 0))
		}
	}
}

// TestPathProbabilityMatchesGaussian: with correlated cells, the share of
// joint paths reaching a target agrees with P(cᵀy ≥ t) from cᵀWc, and
// differs clearly from the value that assumes independent cells.
func TestPathProbabilityMatchesGaussian(t *testing.T) {
	s := groupedExample(t)
	// Cells × 1 period; W = diag(d) + f fᵀ with a strong common factor.
	d := []float64{1, 1, 1, 1}
	f := []float64{3, 3, 3, 3}
	fc := mat.NewDense(4, 1, []float64{10, 12, 9, 11})
	target := Target{ID: "t", Node: []string{TotalID, TotalID}, From: 0, To: 0, Value: 46}
	sol, err := ReconcileTargets(TargetProblem{Structure: s, Forecast: fc, Variance: mat.NewDense(4, 1, d),
		Factor: mat.NewDense(4, 1, f), Targets: []Target{{ID: "t", Node: target.Node, Value: 46, Weight: 1e-12}}})
	if err != nil {
		t.Fatal(err)
	}
	gauss := sol.Targets[0].Probability
	// R: 1 - pnorm((46 - 42) / sqrt(4 + 12^2))
	if want := 0.37115419703585817; math.Abs(gauss-want) > 1e-9 {
		t.Errorf("Probability = %.15g, want %.15g", gauss, want)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	paths := make([]*mat.Dense, 20000)
	for p := range paths {
		common := rng.NormFloat64()
		m := mat.NewDense(4, 1, nil)
		for j := 0; j < 4; j++ {
			m.Set(j, 0, fc.At(j, 0)+d[j]*rng.NormFloat64()+f[j]*common)
		}
		paths[p] = m
	}
	got, err := PathProbability(s, paths, target)
	if err != nil {
		t.Fatal(err)
	}
	// Binomial standard error ≈ 0.0034; independence would give 0.023.
	if math.Abs(got-gauss) > 0.015 {
		t.Errorf("PathProbability = %v, Gaussian %v", got, gauss)
	}
}
