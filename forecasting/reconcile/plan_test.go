package reconcile

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestBuildPlan(t *testing.T) {
	s := groupedExample(t)
	// Node forecasts for 3 periods (period 0 closed).
	base := mat.NewDense(9, 3, []float64{
		100, 100, 110, 45, 45, 50, 52, 52, 50, 60, 60, 70, 38, 38, 35,
		24, 24, 30, 33, 33, 30, 17, 17, 15, 20, 20, 22})
	actual := mat.NewDense(4, 3, []float64{30, 0, 0, 28, 0, 0, 16, 0, 0, 19, 0, 0})
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
