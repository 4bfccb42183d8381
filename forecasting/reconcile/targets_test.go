package reconcile

import (
	"errors"
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// cellMajor turns R's cell-major vector (v = cell·P + period) into m × P.
func cellMajor(m, p int, v []float64) *mat.Dense { return mat.NewDense(m, p, v) }

var (
	targetForecast = []float64{24, 26, 25, 33, 30, 35, 17, 15, 18, 20, 22, 21}
	targetVariance = []float64{4, 5, 6, 9, 9, 10, 2, 2, 3, 3, 4, 4}
	targetList     = []Target{
		{ID: "T1", Node: []string{TotalID, TotalID}, From: 0, To: 2, Value: 300},
		{ID: "T2", Node: []string{"A", TotalID}, From: 1, To: 1, Value: 60},
		{ID: "T3", Node: []string{TotalID, "X"}, From: 2, To: 2, Value: 50, Weight: 0.5},
	}
)

// TestReconcileTargetsAgainstR pins the closed form to R
// (testdata/r/targets_reference.R):
//
//	rec <- function(W, C, tt, R, yhat) yhat + W %*% t(C) %*% solve(C %*% W %*% t(C) + R, tt - C %*% yhat)
//	rec(diag(d), C, c(300, 60, 50), diag(c(0, 0, 2)), yhat)
//	probabilities: 1 - pnorm((tt - C %*% yhat) / sqrt(diag(C %*% W %*% t(C))))
//	low rank: W2 <- diag(d) + Fm %*% t(Fm), Fm = c(1,1,1, 2,2,2, .5,.5,.5, 1,1,1)
func TestReconcileTargetsAgainstR(t *testing.T) {
	s := groupedExample(t)
	factor := mat.NewDense(12, 1, []float64{1, 1, 1, 2, 2, 2, 0.5, 0.5, 0.5, 1, 1, 1})
	tests := []struct {
		name   string
		factor *mat.Dense
		want   []float64
		prob   []float64
	}{
		{"diagonal", nil, []float64{
			24.431192660550458, 27.428571428571427, 28.935779816513762, 33.970183486238533,
			32.571428571428569, 36.077981651376149, 17.215596330275229, 15.215596330275229,
			19.967889908256879, 20.323394495412845, 22.431192660550458, 21.431192660550458},
			[]float64{0.0365251487431815791, 0.1425247037013063212, 0.0098153286286453145}},
		{"low rank", factor, []float64{
			24.476139978791092, 27.378579003181336, 28.884411452810181, 33.896341463414636,
			32.621420996818664, 35.840402969247087, 17.238069989395544, 15.238069989395546,
			19.942205726405088, 20.532078472958641, 22.476139978791092, 21.476139978791092},
			[]float64{0.184689076208862546, 0.202124247369735555, 0.018444212853524933}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sol, err := ReconcileTargets(TargetProblem{
				Structure: s, Forecast: cellMajor(4, 3, targetForecast), Variance: cellMajor(4, 3, targetVariance),
				Factor: tt.factor, Targets: targetList,
			})
			if err != nil {
				t.Fatal(err)
			}
			for k, w := range tt.want {
				if g := sol.Reconciled.At(k/3, k%3); math.Abs(g-w) > 1e-11*w {
					t.Errorf("Reconciled[%d,%d] = %.15g, want %.15g", k/3, k%3, g, w)
				}
			}
			for k, w := range tt.prob {
				if g := sol.Targets[k].Probability; math.Abs(g-w) > 1e-12 {
					t.Errorf("Targets[%d].Probability = %.15g, want %.15g", k, g, w)
				}
			}
			for _, o := range sol.Targets[:2] {
				if math.Abs(o.Reconciled-o.Value) > 1e-9*o.Value {
					t.Errorf("hard target %s reconciled to %.12g, want %g", o.ID, o.Reconciled, o.Value)
				}
			}
			if o := sol.Targets[0]; o.Forecast != 286 || o.Gap != 14 {
				t.Errorf("T1 Forecast, Gap = %v, %v, want 286, 14", o.Forecast, o.Gap)
			}
		})
	}
}

// TestReconcileTargetsInYear: period 0 is closed with actuals 30, 28, 16, 19;
// R: rec(diag(d[open]), C[, open], tt - c(93, 0, 0), R, yhat[open]).
func TestReconcileTargetsInYear(t *testing.T) {
	s := groupedExample(t)
	actual := cellMajor(4, 3, []float64{30, 0, 0, 28, 0, 0, 16, 0, 0, 19, 0, 0})
	sol, err := ReconcileTargets(TargetProblem{
		Structure: s, Forecast: cellMajor(4, 3, targetForecast), Variance: cellMajor(4, 3, targetVariance),
		Actual: actual, Closed: 1, Targets: targetList,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{27.428571428571427, 29.084033613445378, 32.571428571428569, 37.436974789915965,
		15.487394957983193, 20.042016806722689, 22.974789915966387, 21.974789915966387}
	for k, w := range want {
		j, q := k/2, 1+k%2
		if g := sol.Reconciled.At(j, q); math.Abs(g-w) > 1e-11*w {
			t.Errorf("Reconciled[%d,%d] = %.15g, want %.15g", j, q, g, w)
		}
	}
	for j := 0; j < 4; j++ {
		if g, w := sol.Reconciled.At(j, 0), actual.At(j, 0); g != w {
			t.Errorf("closed Reconciled[%d,0] = %v, want actual %v", j, g, w)
		}
	}
	o := sol.Targets[0]
	if o.Booked != 93 || o.Required != 207 || math.Abs(o.Reconciled-300) > 1e-9 {
		t.Errorf("T1 Booked, Required, Reconciled = %v, %v, %v, want 93, 207, 300", o.Booked, o.Required, o.Reconciled)
	}
}

// TestReconcileTargetsNonNegative: R's quadprog gives the exact optimum
// (testdata/r/targets_reference.R):
//
//	solve.QP(Dmat = diag(1 / d), dvec = yn / d, Amat = t(rbind(Cn, diag(12))), bvec = c(10, 60, rep(0, 12)), meq = 2)
func TestReconcileTargetsNonNegative(t *testing.T) {
	s := groupedExample(t)
	fc := slices.Clone(targetForecast)
	fc[3] = 1
	sol, err := ReconcileTargets(TargetProblem{
		Structure: s, Forecast: cellMajor(4, 3, fc), Variance: cellMajor(4, 3, targetVariance), NonNegative: true,
		Targets: []Target{
			{ID: "P0", Node: []string{TotalID, TotalID}, From: 0, To: 0, Value: 10},
			{ID: "A1", Node: []string{"A", TotalID}, From: 1, To: 1, Value: 60},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{1.3333333333333321, 27.4285714285714306, 25, 0, 32.5714285714285765, 35,
		5.6666666666666670, 15, 18, 3.0000000000000036, 22, 21}
	for k, w := range want {
		if g := sol.Reconciled.At(k/3, k%3); math.Abs(g-w) > 1e-9*math.Max(1, w) || g < 0 {
			t.Errorf("Reconciled[%d,%d] = %.15g, want %.15g", k/3, k%3, g, w)
		}
	}
	for _, o := range sol.Targets {
		if math.Abs(o.Reconciled-o.Value) > 1e-9*o.Value {
			t.Errorf("target %s reconciled to %.12g, want %g", o.ID, o.Reconciled, o.Value)
		}
	}
}

func TestReconcileTargetsConflicts(t *testing.T) {
	s := groupedExample(t)
	actual := cellMajor(4, 3, []float64{30, 0, 0, 28, 0, 0, 16, 0, 0, 19, 0, 0})
	tt := func(id string, geo, prod string, from, to int, v float64) Target {
		return Target{ID: id, Node: []string{geo, prod}, From: from, To: to, Value: v}
	}
	tests := []struct {
		name    string
		nonNeg  bool
		targets []Target
		want    []string
	}{
		{"children do not add up", false, []Target{
			tt("total", TotalID, TotalID, 1, 1, 100), tt("A", "A", TotalID, 1, 1, 60), tt("B", "B", TotalID, 1, 1, 60)},
			[]string{"B", "total", "A"}},
		{"grouped rows and columns disagree", false, []Target{
			tt("A", "A", TotalID, 2, 2, 50), tt("B", "B", TotalID, 2, 2, 50),
			tt("X", TotalID, "X", 2, 2, 30), tt("Y", TotalID, "Y", 2, 2, 60)},
			[]string{"Y", "A", "B", "X"}},
		{"below actuals booked", true, []Target{tt("q", TotalID, TotalID, 0, 1, 80)}, []string{"q"}},
		{"part exceeds whole", true, []Target{tt("A", "A", TotalID, 2, 2, 80), tt("total", TotalID, TotalID, 2, 2, 50)},
			[]string{"A", "total"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReconcileTargets(TargetProblem{Structure: s, Forecast: cellMajor(4, 3, targetForecast),
				Actual: actual, Closed: 1, Targets: tc.targets, NonNegative: tc.nonNeg})
			var ce *ConflictError
			if !errors.As(err, &ce) || !errors.Is(err, ErrConflict) {
				t.Fatalf("ReconcileTargets() error = %v, want *ConflictError", err)
			}
			got := ce.Conflicts[0].Targets
			if !slices.Equal(got, tc.want) {
				t.Errorf("conflict targets = %v, want %v (%v)", got, tc.want, err)
			}
		})
	}
}

func TestReconcileTargetsRedundantConsistent(t *testing.T) {
	// Children that add up to their parent are consistent: kept once, all met.
	s := groupedExample(t)
	targets := []Target{
		{ID: "total", Node: []string{TotalID, TotalID}, From: 0, To: 0, Value: 100},
		{ID: "A", Node: []string{"A", TotalID}, From: 0, To: 0, Value: 55},
		{ID: "B", Node: []string{"B", TotalID}, From: 0, To: 0, Value: 45},
	}
	sol, err := ReconcileTargets(TargetProblem{Structure: s, Forecast: cellMajor(4, 3, targetForecast), Targets: targets})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range sol.Targets {
		if math.Abs(o.Reconciled-o.Value) > 1e-9*o.Value {
			t.Errorf("target %s reconciled to %.12g, want %g", o.ID, o.Reconciled, o.Value)
		}
	}
	// Without variances W = diag(|ŷ|): a single target scales proportionally.
	// A's cells in period 0 are 24 and 33 (57) → ×55/57.
	if g, w := sol.Reconciled.At(0, 0), 24*55.0/57; math.Abs(g-w) > 1e-9 {
		t.Errorf("Reconciled[0,0] = %v, want %v", g, w)
	}
	if !math.IsNaN(sol.Targets[0].Probability) {
		t.Errorf("Probability without variances = %v, want NaN", sol.Targets[0].Probability)
	}
}

func TestReconcileTargetsInvalid(t *testing.T) {
	s := groupedExample(t)
	tests := []struct {
		name string
		tgt  Target
	}{
		{"unknown node", Target{ID: "x", Node: []string{"C", TotalID}, To: 0, Value: 1}},
		{"span", Target{ID: "x", Node: []string{TotalID, TotalID}, From: 2, To: 1, Value: 1}},
		{"beyond periods", Target{ID: "x", Node: []string{TotalID, TotalID}, From: 0, To: 3, Value: 1}},
		{"NaN", Target{ID: "x", Node: []string{TotalID, TotalID}, Value: math.NaN()}},
		{"negative weight", Target{ID: "x", Node: []string{TotalID, TotalID}, Value: 1, Weight: -1}},
		{"no id", Target{Node: []string{TotalID, TotalID}, Value: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReconcileTargets(TargetProblem{Structure: s, Forecast: cellMajor(4, 3, targetForecast), Targets: []Target{tc.tgt}})
			if !errors.Is(err, ErrTarget) {
				t.Errorf("ReconcileTargets() error = %v, want ErrTarget", err)
			}
		})
	}
}
