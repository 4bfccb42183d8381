package reconcile

import (
	"errors"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// groupedExample is Geo {A, B} × Product {X, Y}; node order TT, TX, TY, AT,
// BT, AX, AY, BX, BY (R: S <- rbind(c(1,1,1,1), c(1,0,1,0), c(0,1,0,1),
// c(1,1,0,0), c(0,0,1,1), diag(4))).
func groupedExample(t *testing.T) *Structure {
	t.Helper()
	s, err := NewStructure([]Dimension{
		{Name: "Geo", Members: []Member{{ID: "A"}, {ID: "B"}}},
		{Name: "Product", Members: []Member{{ID: "X"}, {ID: "Y"}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hierExample is Total > A (AA, AB), B (BA, BB, BC); order T, A, B, AA, AB,
// BA, BB, BC.
func hierExample(t *testing.T) *Structure {
	t.Helper()
	s, err := NewStructure([]Dimension{{Name: "Geo", Members: []Member{
		{ID: "T"}, {ID: "A", Parent: "T"}, {ID: "B", Parent: "T"},
		{ID: "AA", Parent: "A"}, {ID: "AB", Parent: "A"},
		{ID: "BA", Parent: "B"}, {ID: "BB", Parent: "B"}, {ID: "BC", Parent: "B"},
	}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// assertCoherent checks that every node equals the sum of its cells to 1e-9
// relative.
func assertCoherent(t *testing.T, s *Structure, y mat.Matrix) {
	t.Helper()
	_, h := y.Dims()
	for i := 0; i < s.NumAggregates(); i++ {
		for c := 0; c < h; c++ {
			var sum, abs float64
			for _, j := range s.NodeCells(i) {
				v := y.At(s.NumAggregates()+j, c)
				sum += v
				abs += math.Abs(v)
			}
			if d := math.Abs(y.At(i, c) - sum); d > 1e-9*math.Max(abs, 1) {
				t.Errorf("node %v horizon %d = %v, sum of its cells %v", s.Node(i), c, y.At(i, c), sum)
			}
		}
	}
}

func assertClose(t *testing.T, name string, got mat.Matrix, want []float64, tol float64) {
	t.Helper()
	r, c := got.Dims()
	if r*c != len(want) {
		t.Fatalf("%s: got %d×%d values, want %d", name, r, c, len(want))
	}
	// want is column-major like R's print.
	for k, w := range want {
		i, j := k%r, k/r
		if g := got.At(i, j); math.Abs(g-w) > tol*math.Max(1, math.Abs(w)) {
			t.Errorf("%s[%d,%d] = %.15g, want %.15g", name, i, j, g, w)
		}
	}
}

func TestStructureGrouped(t *testing.T) {
	s := groupedExample(t)
	if s.NumNodes() != 9 || s.NumCells() != 4 || s.NumAggregates() != 5 {
		t.Fatalf("NumNodes, NumCells, NumAggregates = %d, %d, %d, want 9, 4, 5", s.NumNodes(), s.NumCells(), s.NumAggregates())
	}
	want := mat.NewDense(9, 4, []float64{
		1, 1, 1, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1,
		1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1})
	if !mat.Equal(s.Summing(), want) {
		t.Errorf("Summing() =\n%v\nwant\n%v", mat.Formatted(s.Summing()), mat.Formatted(want))
	}
	if i, ok := s.NodeIndex([]string{TotalID, "Y"}); !ok || i != 2 {
		t.Errorf("NodeIndex(Total, Y) = %d, %v, want 2, true", i, ok)
	}
}

func TestStructureErrors(t *testing.T) {
	tests := []struct {
		name  string
		dims  []Dimension
		cells [][]string
	}{
		{"unknown parent", []Dimension{{Name: "G", Members: []Member{{ID: "A", Parent: "Z"}}}}, nil},
		{"duplicate member", []Dimension{{Name: "G", Members: []Member{{ID: "A"}, {ID: "A"}}}}, nil},
		{"cycle", []Dimension{{Name: "G", Members: []Member{{ID: "R"}, {ID: "A", Parent: "B"}, {ID: "B", Parent: "A"}}}}, nil},
		{"no root", []Dimension{{Name: "G", Members: []Member{{ID: "A", Parent: "B"}, {ID: "B", Parent: "A"}}}}, nil},
		{"cell not a leaf", []Dimension{{Name: "G", Members: []Member{{ID: "T"}, {ID: "A", Parent: "T"}}}}, [][]string{{"T"}}},
		{"duplicate cell", []Dimension{{Name: "G", Members: []Member{{ID: "A"}, {ID: "B"}}}}, [][]string{{"A"}, {"A"}}},
		{"short cell", []Dimension{{Name: "G", Members: []Member{{ID: "A"}}}, {Name: "H", Members: []Member{{ID: "X"}}}}, [][]string{{"A"}}},
		{"no dimensions", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewStructure(tt.dims, tt.cells)
			if !errors.Is(err, ErrStructure) {
				t.Errorf("NewStructure() error = %v, want ErrStructure", err)
			}
		})
	}
}

func TestStructureSparseCells(t *testing.T) {
	// Only three of the four cells exist: node (B, Y) is absent and (B, Total)
	// holds one cell.
	s, err := NewStructure([]Dimension{
		{Name: "Geo", Members: []Member{{ID: "A"}, {ID: "B"}}},
		{Name: "Product", Members: []Member{{ID: "X"}, {ID: "Y"}}},
	}, [][]string{{"A", "X"}, {"A", "Y"}, {"B", "X"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.NumNodes() != 8 {
		t.Errorf("NumNodes() = %d, want 8", s.NumNodes())
	}
	if _, ok := s.NodeIndex([]string{"B", "Y"}); ok {
		t.Errorf("NodeIndex(B, Y) exists, want absent")
	}
}

var groupedBase = mat.NewDense(9, 2, []float64{
	100, 110, 45, 50, 52, 50, 60, 70, 38, 35, 24, 30, 33, 30, 17, 15, 20, 22})

// groupedResiduals: R> set.seed(1); R <- round(matrix(rnorm(12 * 9, sd = 2),
// 12, 9) + rnorm(12, sd = 3) %o% c(4, 2, 2, 2, 2, 1, 1, 1, 1), 3)
var groupedResiduals = mat.NewDense(12, 9, nil)

func init() {
	v := []float64{3.357, 20.553, -9.3, -2.349, 17.846, -9.449, -1.514,
		-3.237, -2.688, -3.96, 8.954, -1.348, 1.063, 5.664, -1.565, -2.86,
		8.561, -2.017, 0.398, -1.169, -0.082, -0.11, 3.114, -5.043, 3.545,
		9.981, -4.126, -5.711, 7.637, -3.068, 1.473, -2.562, -1.145,
		-1.782, 0.211, -1.894, 1.517, 9.974, -1.614, -1.244, 8.265, -4.411,
		0.15, -1.244, -3.297, -3.09, 3.694, 0.473, 2.08, 11.855, -3.018,
		-3.994, 9.276, -6.163, 1.622, 1.604, -2.654, -3.763, 4.105, -1.334,
		5.956, 4.968, -0.528, -1.329, 2.81, -1.575, -4.232, 1.753, -0.653,
		3.508, 2.434, -1.952, 2.374, 3.178, -4.414, -0.802, 3.41, -1.95,
		-0.473, -2.357, -2.097, -1.108, 3.839, -3.579, 2.34, 5.712, 0.219,
		-1.993, 5.037, -1.418, -1.707, 1.237, 1.361, 0.563, 4.656, 0.585,
		-1.401, 3.9, -4.356, -2.332, 3.056, -1.868, -2.444, -0.862, -2.269,
		2.697, 2.916, 1.288}
	for k, x := range v { // column-major, as R stores it
		groupedResiduals.Set(k%12, k/12, x)
	}
}

// TestReconcileGroupedAgainstR pins the projections to plain R matrix algebra
// (testdata/r/small_reference.R):
//
//	recon <- function(W) S %*% solve(t(S) %*% solve(W) %*% S, t(S) %*% solve(W) %*% yhat)
//	OLS: recon(diag(9)); WLS structural: recon(diag(rowSums(S)));
//	W1 <- crossprod(R) / nrow(R); WLS variance: recon(diag(diag(W1)));
//	MinT shrink: recon(lambda * diag(diag(W1)) + (1 - lambda) * W1) with the
//	Schäfer–Strimmer lambda of hts::MinT (0.23036578236796079).
func TestReconcileGroupedAgainstR(t *testing.T) {
	s := groupedExample(t)
	tests := []struct {
		method Method
		want   []float64
	}{
		{OLS, []float64{
			98.222222222222214, 44.777777777777779, 53.444444444444443, 59.777777777777771, 38.444444444444443,
			26.222222222222225, 33.555555555555550, 18.555555555555554, 19.888888888888889,
			105.222222222222229, 51.444444444444450, 53.777777777777771, 68.111111111111114, 37.111111111111114,
			35.222222222222229, 32.888888888888886, 16.222222222222221, 20.888888888888889}},
		{WLSStructural, []float64{
			97.25, 43.875, 53.375, 59.125, 38.125, 25.6875, 33.4375, 18.1875, 19.9375,
			103, 49.75, 53.25, 66, 37, 33.875, 32.125, 15.875, 21.125}},
		{WLSVariance, []float64{
			96.921695510475033, 43.794027708039891, 53.127667802435134, 58.987340503467607, 37.934355007007419,
			25.737943713331202, 33.249396790136409, 18.056083994708693, 19.878271012298725,
			102.110478992839376, 49.348994200132523, 52.761484792706867, 65.267617830630783, 36.842861162208600,
			33.741214610758448, 31.526403219872339, 15.607779589374077, 21.235081572834524}},
		{MinTShrink, []float64{
			97.981867676859451, 44.850159138981262, 53.131708537878183, 59.642765368010828, 38.339102308848609,
			26.525548730438114, 33.117216637572717, 18.324610408543148, 20.014491900305465,
			103.689128459703809, 51.067964434303626, 52.621164025400191, 66.947145197679362, 36.741983262024455,
			35.231739823299094, 31.715405374380271, 15.836224611004530, 20.905758651019923}},
	}
	for _, tt := range tests {
		t.Run(tt.method.String(), func(t *testing.T) {
			res, err := Reconcile(s, groupedBase, Options{Method: tt.method, Residuals: groupedResiduals})
			if err != nil {
				t.Fatal(err)
			}
			assertClose(t, "Reconciled", res.Reconciled, tt.want, 1e-10)
			assertCoherent(t, s, res.Reconciled)
			if tt.method == MinTShrink && math.Abs(res.Lambda-0.23036578236796079) > 1e-12 {
				t.Errorf("Lambda = %.17g, want 0.23036578236796079", res.Lambda)
			}
		})
	}
}

// TestReconcileHierarchyAgainstR pins top-down and middle-out
// (testdata/r/small_reference.R, hist and fc as below):
//
//	tot <- colSums(hist)
//	AHP: H %*% (rowMeans(sweep(hist, 2, tot, "/")) * fc[1])
//	PHA: H %*% (rowSums(hist) / sum(tot) * fc[1])
//	FP:  H %*% c(fc[1]*fc[2]/(fc[2]+fc[3])*fc[4:5]/sum(fc[4:5]), fc[1]*fc[3]/(fc[2]+fc[3])*fc[6:8]/sum(fc[6:8]))
//	MO level 1 (FP): H %*% c(fc[2]*fc[4:5]/sum(fc[4:5]), fc[3]*fc[6:8]/sum(fc[6:8]))
func TestReconcileHierarchyAgainstR(t *testing.T) {
	s := hierExample(t)
	hist := mat.NewDense(5, 6, []float64{
		10, 12, 11, 13, 12, 14, 5, 6, 4, 5, 7, 6, 20, 18, 22, 21, 19, 23, 8, 9, 7, 8, 10, 9, 3, 2, 4, 3, 2, 3})
	fc := mat.NewDense(8, 1, []float64{70, 25, 40, 14, 9, 22, 12, 4})
	tests := []struct {
		name string
		opts Options
		want []float64
	}{
		{"top-down AHP", Options{Method: TopDown, Proportions: AverageHistoricalProportions, History: hist}, []float64{
			70, 24.7940238415608434, 45.2059761584391566, 16.9915967024547037, 7.8024271391061397,
			29.0998923088423567, 12.0735078584176652, 4.0325759911791357}},
		{"top-down PHA", Options{Method: TopDown, Proportions: ProportionsOfHistoricalAverages, History: hist}, []float64{
			70, 24.8310810810810807, 45.1689189189189193, 17.0270270270270281, 7.8040540540540544,
			29.0878378378378351, 12.0608108108108105, 4.0202702702702702}},
		{"top-down FP", Options{Method: TopDown}, []float64{
			70, 26.9230769230769269, 43.0769230769230802, 16.3879598662207364, 10.5351170568561887,
			24.9392712550607314, 13.6032388663967598, 4.5344129554655872}},
		{"middle-out FP", Options{Method: MiddleOut, Level: []int{1}}, []float64{
			65, 25, 40, 15.2173913043478262, 9.7826086956521738, 23.1578947368421062, 12.6315789473684212, 4.2105263157894735}},
		{"bottom-up", Options{Method: BottomUp}, []float64{61, 23, 38, 14, 9, 22, 12, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Reconcile(s, fc, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			assertClose(t, "Reconciled", res.Reconciled, tt.want, 1e-12)
			assertCoherent(t, s, res.Reconciled)
		})
	}
}

// TestReconcileNonNegative: R (testdata/r/small_reference.R) solves the
// non-negative OLS problem by enumerating all active sets:
//
//	yneg <- c(40, 30, 5, 25, 12, 20, -12, 9, -10)
//	unconstrained: solve(t(S) %*% S, t(S) %*% yneg) = 23.2222, -0.1111, 10.8889, 0.5556
//	non-negative bottom: 23.166666666666668, 0, 10.916666666666666, 0.5
func TestReconcileNonNegative(t *testing.T) {
	s := groupedExample(t)
	base := mat.NewDense(9, 1, []float64{40, 30, 5, 25, 12, 20, -12, 9, -10})
	res, err := Reconcile(s, base, Options{Method: OLS, NonNegative: true})
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "Bottom", res.Bottom, []float64{23.166666666666668, 0, 10.916666666666666, 0.5}, 1e-10)
	assertCoherent(t, s, res.Reconciled)
	for _, m := range []Method{BottomUp, TopDown, OLS, WLSStructural, WLSVariance, MinTShrink} {
		res, err := Reconcile(s, base, Options{Method: m, NonNegative: true, Residuals: groupedResiduals})
		if err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		assertCoherent(t, s, res.Reconciled)
		for i := 0; i < s.NumNodes(); i++ {
			if v := res.Reconciled.At(i, 0); v < 0 {
				t.Errorf("%v: node %v = %v, want ≥ 0", m, s.Node(i), v)
			}
		}
	}
}

func TestReconcileErrors(t *testing.T) {
	s := groupedExample(t)
	nan := mat.NewDense(9, 1, []float64{math.NaN(), 0, 0, 0, 0, 0, 0, 0, 0})
	tests := []struct {
		name string
		base mat.Matrix
		opts Options
		want error
	}{
		{"wrong rows", mat.NewDense(3, 1, nil), Options{Method: OLS}, ErrShape},
		{"NaN", nan, Options{Method: OLS}, ErrInput},
		{"MinT without residuals", groupedBase, Options{Method: MinTShrink}, ErrInput},
		{"historical without history", groupedBase, Options{Method: TopDown, Proportions: AverageHistoricalProportions}, ErrInput},
		{"bad level", groupedBase, Options{Method: MiddleOut, Level: []int{5, 0}}, ErrLevel},
		{"unknown method", groupedBase, Options{Method: Method(99)}, ErrInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Reconcile(s, tt.base, tt.opts); !errors.Is(err, tt.want) {
				t.Errorf("Reconcile() error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestShrinkFactor(t *testing.T) {
	w, lambda := ShrinkCovariance(groupedResiduals)
	d, f, l2 := ShrinkFactor(groupedResiduals)
	if l2 != lambda {
		t.Fatalf("ShrinkFactor λ = %v, ShrinkCovariance λ = %v", l2, lambda)
	}
	var ffT mat.Dense
	ffT.Mul(f, f.T())
	for i := 0; i < 9; i++ {
		ffT.Set(i, i, ffT.At(i, i)+d[i])
	}
	if !mat.EqualApprox(&ffT, w, 1e-12) {
		t.Errorf("diag(d) + FFᵀ =\n%v\nwant\n%v", mat.Formatted(&ffT), mat.Formatted(w))
	}
}
