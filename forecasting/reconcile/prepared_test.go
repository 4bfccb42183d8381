package reconcile

import (
	"errors"
	"math"
	"sync"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// preparedExample is planExample's input with variances and three targets
// (one soft), and a second base forecast: cell AX (row 5) shocked by −10%
// in the open periods, its ancestors moved with it.
func preparedExample(t *testing.T) (in PlanInput, shocked *mat.Dense) {
	t.Helper()
	s := groupedExample(t)
	base, actual := planExample()
	variance := mat.NewDense(4, 3, []float64{1, 9, 12, 1, 8, 10, 1, 4, 5, 1, 3, 6})
	in = PlanInput{Structure: s, Base: base, Actual: actual, Closed: 1, Variance: variance, Options: Options{Method: OLS},
		Targets: []Target{
			{ID: "FY", Node: []string{TotalID, TotalID}, From: 0, To: 2, Value: 320},
			{ID: "A-P2", Node: []string{"A", TotalID}, From: 2, To: 2, Value: 70},
			{ID: "X-P1", Node: []string{TotalID, "X"}, From: 1, To: 1, Value: 50, Weight: 0.5},
		}}
	shocked = mat.DenseCopyOf(base)
	ax := s.nAgg // the first cell, A × X
	for q := 1; q < 3; q++ {
		d := -0.1 * base.At(ax, q)
		for i := 0; i < s.NumNodes(); i++ {
			for _, j := range s.NodeCells(i) {
				if s.nAgg+j == ax {
					shocked.Set(i, q, shocked.At(i, q)+d)
				}
			}
		}
	}
	return in, shocked
}

// samePlan fails t unless got and want are equal in every matrix and
// target outcome (NaN equal to NaN).
func samePlan(t *testing.T, name string, got, want *Plan) {
	t.Helper()
	for _, c := range []struct {
		what     string
		got, wnt *mat.Dense
	}{{"Base", got.Base, want.Base}, {"Coherent", got.Coherent, want.Coherent}, {"Reconciled", got.Reconciled, want.Reconciled}} {
		if !mat.Equal(c.got, c.wnt) {
			t.Errorf("%s: %s = %v, want %v", name, c.what, mat.Formatted(c.got), mat.Formatted(c.wnt))
		}
	}
	if len(got.Targets) != len(want.Targets) {
		t.Fatalf("%s: %d target outcomes, want %d", name, len(got.Targets), len(want.Targets))
	}
	for k, g := range got.Targets {
		w := want.Targets[k]
		same := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
		if g.ID != w.ID || g.Hard != w.Hard || g.Closed != w.Closed || !same(g.Value, w.Value) || !same(g.Booked, w.Booked) ||
			!same(g.Required, w.Required) || !same(g.Forecast, w.Forecast) || !same(g.Reconciled, w.Reconciled) ||
			!same(g.Gap, w.Gap) || !same(g.StdDev, w.StdDev) || !same(g.Probability, w.Probability) {
			t.Errorf("%s: target %d = %+v, want %+v", name, k, g, w)
		}
	}
}

// TestPreparedPlan: a plan prepared once reconciles other base forecasts
// (a shock) exactly as BuildPlan does from scratch, also from several
// goroutines at once, with and without non-negativity and variances.
func TestPreparedPlan(t *testing.T) {
	for _, c := range []struct {
		name        string
		nonNegative bool
		noVariance  bool
	}{{"linear", false, false}, {"non-negative", true, false}, {"no variance", false, true}} {
		t.Run(c.name, func(t *testing.T) {
			in, shocked := preparedExample(t)
			in.Options.NonNegative = c.nonNegative
			if c.noVariance {
				in.Variance = nil
			}
			pr, err := Prepare(in)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := BuildPlan(in)
			if err != nil {
				t.Fatal(err)
			}
			shock := in
			shock.Base = shocked
			want, err := BuildPlan(shock)
			if err != nil {
				t.Fatal(err)
			}
			if mat.Equal(want.Reconciled, plain.Reconciled) {
				t.Fatal("the shock does not change the reconciled plan: the test shows nothing")
			}
			got, err := pr.Plan(in)
			if err != nil {
				t.Fatal(err)
			}
			samePlan(t, "prepared, base", got, plain)
			var wg sync.WaitGroup
			plans := make([]*Plan, 4)
			errs := make([]error, 4)
			for g := range plans {
				wg.Go(func() { plans[g], errs[g] = pr.Plan(shock) })
			}
			wg.Wait()
			for g := range plans {
				if errs[g] != nil {
					t.Fatalf("goroutine %d: %v", g, errs[g])
				}
				samePlan(t, "prepared, shocked", plans[g], want)
			}
		})
	}
}

// TestPreparedFits: a prepared plan fits inputs that differ in the base
// forecasts, the coherence method or the actuals of open periods, and no
// other: Plan refuses those with ErrInput.
func TestPreparedFits(t *testing.T) {
	in, shocked := preparedExample(t)
	pr, err := Prepare(in)
	if err != nil {
		t.Fatal(err)
	}
	fits := map[string]func(*PlanInput){
		"base":        func(in *PlanInput) { in.Base = shocked },
		"method":      func(in *PlanInput) { in.Options.Method = BottomUp },
		"open actual": func(in *PlanInput) { in.Actual = mat.DenseCopyOf(in.Actual); in.Actual.Set(0, 2, 99) },
		"check":       func(in *PlanInput) { in.Check = func() error { return nil } },
	}
	for name, change := range fits {
		c := in
		change(&c)
		if !pr.Fits(c) {
			t.Errorf("Fits(input with another %s) = false, want true", name)
		}
	}
	differs := map[string]func(*PlanInput){
		"structure":       func(in *PlanInput) { in.Structure = groupedExample(t) },
		"closed":          func(in *PlanInput) { in.Closed = 2 },
		"non-negative":    func(in *PlanInput) { in.Options.NonNegative = true },
		"closed actual":   func(in *PlanInput) { in.Actual = mat.DenseCopyOf(in.Actual); in.Actual.Set(0, 0, 31) },
		"variance":        func(in *PlanInput) { in.Variance = mat.DenseCopyOf(in.Variance); in.Variance.Set(1, 2, 11) },
		"no variance":     func(in *PlanInput) { in.Variance = nil },
		"factor":          func(in *PlanInput) { in.Factor = mat.NewDense(8, 1, []float64{1, 1, 1, 1, 1, 1, 1, 1}) },
		"target value":    func(in *PlanInput) { in.Targets = cloneTargets(in.Targets); in.Targets[0].Value = 321 },
		"target node":     func(in *PlanInput) { in.Targets = cloneTargets(in.Targets); in.Targets[1].Node[0] = "B" },
		"fewer targets":   func(in *PlanInput) { in.Targets = in.Targets[:2] },
		"periods of base": func(in *PlanInput) { in.Base = mat.NewDense(9, 4, nil) },
	}
	for name, change := range differs {
		c := in
		change(&c)
		if pr.Fits(c) {
			t.Errorf("Fits(input with another %s) = true, want false", name)
		}
		if _, err := pr.Plan(c); !errors.Is(err, ErrInput) {
			t.Errorf("Plan(input with another %s) error = %v, want ErrInput", name, err)
		}
	}
}

// TestPreparedConflict: conflicting targets are found by Prepare, not
// returned by it; Plan returns them as BuildPlan does.
func TestPreparedConflict(t *testing.T) {
	in, _ := preparedExample(t)
	in.Targets = append(cloneTargets(in.Targets[:2]),
		Target{ID: "B-P2", Node: []string{"B", TotalID}, From: 2, To: 2, Value: 10},
		Target{ID: "P2", Node: []string{TotalID, TotalID}, From: 2, To: 2, Value: 100})
	pr, err := Prepare(in)
	if err != nil {
		t.Fatalf("Prepare: %v, want no error", err)
	}
	var want *ConflictError
	if _, err := BuildPlan(in); !errors.As(err, &want) {
		t.Fatalf("BuildPlan error = %v, want *ConflictError", err)
	}
	if got := pr.Conflict(); got == nil || got.Error() != want.Error() {
		t.Errorf("Conflict() = %v, want %v", got, want)
	}
	if _, err := pr.Plan(in); err == nil || err.Error() != want.Error() {
		t.Errorf("Plan error = %v, want %v", err, want)
	}
}
