package reconcile

import (
	"errors"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// planExample returns node forecasts of groupedExample for 3 periods
// (period 0 closed) and the cells' actuals.
func planExample() (base, actual *mat.Dense) {
	base = mat.NewDense(9, 3, []float64{
		100, 100, 110, 45, 45, 50, 52, 52, 50, 60, 60, 70, 38, 38, 35,
		24, 24, 30, 33, 33, 30, 17, 17, 15, 20, 20, 22})
	actual = mat.NewDense(4, 3, []float64{30, 0, 0, 28, 0, 0, 16, 0, 0, 19, 0, 0})
	return base, actual
}

func TestBuildPlan(t *testing.T) {
	s := groupedExample(t)
	base, actual := planExample()
	targets := []Target{
		{ID: "FY", Node: []string{TotalID, TotalID}, From: 0, To: 2, Value: 320},
		{ID: "A-P2", Node: []string{"A", TotalID}, From: 2, To: 2, Value: 70},
	}
	for _, m := range []Method{OLS, MinTShrink, BottomUp} {
		plan, err := BuildPlan(PlanInput{Structure: s, Base: base, Actual: actual, Closed: 1, Targets: targets,
			Options: Options{Method: m, Residuals: groupedResiduals, NonNegative: true}})
		if err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		assertCoherent(t, s, plan.Coherent)
		assertCoherent(t, s, plan.Reconciled)
		if got := plan.Reconciled.At(0, 0); got != 93 {
			t.Errorf("%v: closed total = %v, want actual 93", m, got)
		}
		fy := plan.Reconciled.At(0, 0) + plan.Reconciled.At(0, 1) + plan.Reconciled.At(0, 2)
		if math.Abs(fy-320) > 1e-9*320 {
			t.Errorf("%v: FY total = %.12g, want 320", m, fy)
		}
		if a := plan.Reconciled.At(3, 2); math.Abs(a-70) > 1e-9*70 {
			t.Errorf("%v: A in period 2 = %.12g, want 70", m, a)
		}
		for i := 0; i < 9; i++ {
			for q := 1; q < 3; q++ {
				sum := plan.Base.At(i, q) + plan.CoherenceAdjustment(i, q) + plan.TargetAdjustment(i, q)
				if math.Abs(sum-plan.Reconciled.At(i, q)) > 1e-9 {
					t.Errorf("%v: node %d period %d: base + adjustments = %v, reconciled %v", m, i, q, sum, plan.Reconciled.At(i, q))
				}
			}
		}
		if o := plan.Targets[0]; o.Booked != 93 || math.Abs(o.Reconciled-320) > 1e-9 {
			t.Errorf("%v: FY outcome %+v", m, o)
		}
	}
}

// TestBuildPlanCheck: a Check that fails at its n-th call stops BuildPlan
// there, for every n up to the number of calls of a whole run, and the
// error wraps Check's; a Check that never fails changes nothing.
func TestBuildPlanCheck(t *testing.T) {
	s := groupedExample(t)
	base, actual := planExample()
	in := PlanInput{Structure: s, Base: base, Actual: actual, Closed: 1, Options: Options{Method: OLS, NonNegative: true},
		Targets: []Target{{ID: "FY", Node: []string{TotalID, TotalID}, From: 0, To: 2, Value: 320}}}
	want, err := BuildPlan(in)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	in.Check = func() error { calls++; return nil }
	got, err := BuildPlan(in)
	if err != nil {
		t.Fatal(err)
	}
	if !mat.Equal(got.Reconciled, want.Reconciled) {
		t.Errorf("BuildPlan with a passing Check = %v, want %v", mat.Formatted(got.Reconciled), mat.Formatted(want.Reconciled))
	}
	if calls < 4 {
		t.Fatalf("Check called %d times, want at least 4 (before coherence, after validation, bookkeeping, dependence)", calls)
	}
	stop := errors.New("deadline")
	for n := 1; n <= calls; n++ {
		k := 0
		in.Check = func() error {
			if k++; k == n {
				return stop
			}
			return nil
		}
		if _, err := BuildPlan(in); !errors.Is(err, stop) {
			t.Errorf("BuildPlan with Check failing at call %d: error = %v, want %v", n, err, stop)
		}
		if k != n {
			t.Errorf("Check failing at call %d was called %d times, want the work to stop there", n, k)
		}
	}
}
