package reconcile

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// The realistic target problems are what the query service handed
// ReconcileTargets for the variance of fiscal year 2028 of the generator's
// company.Realistic(1) (2,048 cells = 4 business units × 8 regions × 16
// products × 4 segments; 12 open months): 24,540 month targets on cells
// (36 were cleared), 32 quarter targets on business unit × region group,
// 4 business unit years and the total year; hard, in the plan's order
// (metric, node, span). Revenue is non-negative, margin is not. Written
// once from the service (JSON: dimensions, cells, cell-major matrices,
// targets), gzipped.
var realisticFiles = map[string]string{
	"revenue": "testdata/realistic_fy2028_revenue.json.gz",
	"margin":  "testdata/realistic_fy2028_margin.json.gz",
}

type realisticDump struct {
	Dims        []Dimension
	Cells       [][]string
	M, P        int
	Forecast    []float64
	Actual      []float64
	Variance    []float64
	Closed      int
	Targets     []Target
	NonNegative bool
}

func realisticProblem(tb testing.TB, metric string) TargetProblem {
	tb.Helper()
	var d realisticDump
	if err := json.NewDecoder(openGzip(tb, realisticFiles[metric])).Decode(&d); err != nil {
		tb.Fatal(err)
	}
	s, err := NewStructure(d.Dims, d.Cells)
	if err != nil {
		tb.Fatal(err)
	}
	p := TargetProblem{Structure: s, Forecast: mat.NewDense(d.M, d.P, d.Forecast), Closed: d.Closed,
		Targets: d.Targets, NonNegative: d.NonNegative}
	if d.Actual != nil {
		p.Actual = mat.NewDense(d.M, d.P, d.Actual)
	}
	if d.Variance != nil {
		p.Variance = mat.NewDense(d.M, d.P, d.Variance)
	}
	return p
}

// consistentRealistic revalues the realistic targets from one plan (the
// forecast, each cell and month scaled by 1 ± 3%, seeded), so that every
// target can be met: the quarter and year targets are then dependent on
// the month targets and consistent with them.
func consistentRealistic(tb testing.TB, metric string) TargetProblem {
	p := realisticProblem(tb, metric)
	rng := rand.New(rand.NewPCG(12, 1))
	m, P := p.Forecast.Dims()
	plan := mat.NewDense(m, P, nil)
	for j := 0; j < m; j++ {
		for q := 0; q < P; q++ {
			plan.Set(j, q, p.Forecast.At(j, q)*(1+0.03*rng.NormFloat64()))
		}
	}
	s := p.Structure
	targets := make([]Target, len(p.Targets))
	for k, t := range p.Targets {
		i, _ := s.NodeIndex(t.Node)
		var v float64
		for _, j := range s.NodeCells(i) {
			for q := t.From; q <= t.To; q++ {
				v += plan.At(j, q)
			}
		}
		t.Value = v
		targets[k] = t
	}
	p.Targets = targets
	return p
}

// oneBusinessUnit keeps the targets of business unit bu (its year, its
// quarters and its cells' months, 6,129 in all): a quarter of the company,
// small enough for the dense factorisation that came before to finish.
func oneBusinessUnit(p TargetProblem, bu string) TargetProblem {
	var kept []Target
	for _, t := range p.Targets {
		if t.Node[0] == bu {
			kept = append(kept, t)
		}
	}
	p.Targets = kept
	return p
}

// TestRealisticTargets: the company's own targets conflict (its quarter
// targets are not the sums of its month targets), and each conflict names
// a quarter, business-unit or total target with the targets it depends
// on; revalued from one plan, every target is met, with y ≥ 0 for revenue.
func TestRealisticTargets(t *testing.T) {
	for _, metric := range []string{"revenue", "margin"} {
		t.Run(metric, func(t *testing.T) {
			p := realisticProblem(t, metric)
			_, err := ReconcileTargets(p)
			var ce *ConflictError
			if !errors.As(err, &ce) {
				t.Fatalf("ReconcileTargets(%s FY2028) error = %v, want *ConflictError", metric, err)
			}
			t.Logf("%d conflicts; first names %d targets: %.200s", len(ce.Conflicts), len(ce.Conflicts[0].Targets), ce.Conflicts[0].Reason)

			p = consistentRealistic(t, metric)
			sol, err := ReconcileTargets(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range sol.Targets {
				if math.Abs(o.Reconciled-o.Value) > 1e-9*math.Abs(o.Value)+1e-9 {
					t.Errorf("target %s reconciled to %.12g, want %.12g", o.ID, o.Reconciled, o.Value)
				}
			}
			if p.NonNegative {
				m, per := sol.Reconciled.Dims()
				for j := 0; j < m; j++ {
					for q := 0; q < per; q++ {
						if v := sol.Reconciled.At(j, q); v < 0 {
							t.Fatalf("cell %d month %d = %v, want ≥ 0", j, q, v)
						}
					}
				}
			}
		})
	}
}
