package view

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/forecasting/reconcile"
	"github.com/concord-planning/concord/projections/reforecast"
)

// TestRunVariance checks the variance of a span total against the sums
// of the innovations' coefficients worked out by hand.
func TestRunVariance(t *testing.T) {
	rw := func(sd float64, h int) []float64 { // a random walk: every impulse weight sd
		g := make([]float64, h)
		for k := range g {
			g[k] = sd
		}
		return g
	}
	white := []float64{2, 0, 0, 0} // independent errors of sd 2
	tests := []struct {
		name   string
		closed int
		paths  []*cellPath
		corr   *runCovariance
		lo, q1 int
		want   float64
	}{
		// e1+e2+e3 = 3z1 + 2z2 + z3: 9+4+1 = 14.
		{"random walk, 3 months", 0, []*cellPath{{g: rw(1, 6), row: -1}}, nil, 0, 2, 14},
		{"white noise, 3 months", 0, []*cellPath{{g: white, row: -1}}, nil, 0, 2, 12},
		// Periods 1..2 open, z0 booked: e1+e2 = 2z1 + z2 (+ the booked z0).
		{"random walk, first month booked", 1, []*cellPath{{g: rw(1, 6), row: -1}}, nil, 1, 2, 5},
		// Two white-noise cells of sd 2 and 3, perfectly correlated: (2+3)².
		{"correlated cells", 0, []*cellPath{{g: white, row: 0}, {g: []float64{3, 0}, row: 1}},
			&runCovariance{d: []float64{0, 0}, f: [][]float64{{1}, {1}}, rank: 1}, 0, 0, 25},
		// Independent cells: 2² + 3².
		{"independent cells", 0, []*cellPath{{g: white, row: 0}, {g: []float64{3, 0}, row: 1}},
			&runCovariance{d: []float64{1, 1}, f: [][]float64{nil, nil}}, 0, 0, 13},
		// Correlation ½ (d = f² = ½): 4 + 9 + 2·½·6.
		{"half correlated cells", 0, []*cellPath{{g: white, row: 0}, {g: []float64{3, 0}, row: 1}},
			&runCovariance{d: []float64{0.5, 0.5}, f: [][]float64{{math.Sqrt(0.5)}, {math.Sqrt(0.5)}}, rank: 1}, 0, 0, 19},
		// A run one month older than the span (first = −1): its step 2 is
		// period 0; e0 + e1 = (z₋₁ + z0) + (z₋₁ + z0 + z1), z₋₁ booked.
		{"older run", 0, []*cellPath{{first: -1, g: rw(1, 6), row: -1}}, nil, 0, 1, 5},
		// Periods past the run's horizon are the stand-in's, not the run's.
		{"past the horizon", 0, []*cellPath{{g: white[:2], row: -1}}, nil, 0, 3, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &analysis{closed: tt.closed, unc: new(lazyUncertainty)}
			u := &uncertaintyModel{paths: tt.paths, corr: tt.corr}
			cells := make([]int, len(tt.paths))
			for j := range cells {
				cells[j] = j
			}
			got := a.runVariance(u, cells, tt.lo, tt.q1, func(*cellPath) bool { return true })
			if math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("runVariance = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIsFlat(t *testing.T) {
	for model, want := range map[string]bool{
		"ETS(A,N,N)": true, "ETS(M,N,N)": true, "Naive": true, "Croston": true, "TSB": true,
		"ETS(M,A,M)": false, "ETS(A,N,A)": false, "ETS(A,Ad,N)": false, "Theta": false, "Seasonal naive": false, "ARIMA(0,1,1)": false,
	} {
		if got := isFlat(model); got != want {
			t.Errorf("isFlat(%q) = %v, want %v", model, got, want)
		}
	}
}

func TestProbabilityAtLeast(t *testing.T) {
	tests := []struct{ target, mean, sd, want float64 }{
		{100, 100, 10, 0.5},
		{100, 110, 0, 1},
		{100, 90, 0, 0},
		{100, 90, 10, 0.15865525393145707}, // pnorm(-1) in R
		{100, 120, 10, 0.9772498680518208}, // pnorm(2) in R
	}
	for _, tt := range tests {
		if got := ProbabilityAtLeast(tt.target, tt.mean, tt.sd); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("ProbabilityAtLeast(%v, %v, %v) = %v, want %v", tt.target, tt.mean, tt.sd, got, tt.want)
		}
	}
}

// BenchmarkSpanVariance times the variance of a fiscal-year total of 2,048
// cells (the Realistic company's size), all on the stand-in and all
// forecast by a run with a rank-8 covariance:
//
//	go test ./projections/view -run '^$' -bench SpanVariance
func BenchmarkSpanVariance(b *testing.B) {
	const m, P = 2048, 12
	rng := rand.New(rand.NewPCG(1, 2))
	H := lookBack + P
	a := &analysis{cells: make([]dimension.Node, m), periods: make([]fiscal.Period, P), closed: 0, past: make([]float64, m*H), pastAt: make([]bool, m*H), unc: new(lazyUncertainty)}
	for j := range m {
		for h := range lookBack {
			a.past[j*H+h], a.pastAt[j*H+h] = 1000*(1+0.1*rng.NormFloat64()), true
		}
	}
	cells := make([]int, m)
	for j := range cells {
		cells[j] = j
	}
	all := func(*cellPath) bool { return true }
	b.Run("stand-in", func(b *testing.B) {
		u := newUncertaintyModel(a)
		for b.Loop() {
			_ = a.runVariance(u, cells, 0, P-1, all) + a.standInVariance(u, cells, 0, P-1, nil)
		}
	})
	b.Run("run", func(b *testing.B) {
		u := newUncertaintyModel(a)
		u.corr = &runCovariance{d: make([]float64, m), f: make([][]float64, m), rank: 8}
		for j := range m {
			u.paths[j] = &cellPath{g: make([]float64, 18), row: j}
			for k := range u.paths[j].g {
				u.paths[j].g[k] = 50
			}
			u.corr.d[j] = 0.5
			u.corr.f[j] = make([]float64, 8)
			for r := range 8 {
				u.corr.f[j][r] = 0.25
			}
		}
		for b.Loop() {
			_ = a.runVariance(u, cells, 0, P-1, all) + a.standInVariance(u, cells, 0, P-1, nil)
		}
	})
}

// TestStandInVarianceSeason checks the measured error of a flat forecast
// made just before a year-end push: over every month end the push is one
// miss in twelve, at the same month end of earlier years it is missed
// every time, and that mean square is used; made just after the push, the
// same month ends are no worse than the rest, and the mean square over
// every month end is kept.
func TestStandInVarianceSeason(t *testing.T) {
	const P = 12
	H := lookBack + P
	tests := []struct {
		name   string
		closed int // the past index of the last closed period is lookBack+closed−1
		want   float64
	}{
		// Origins 10 and 22 are followed by the push (11, 23): 100² each.
		{"before the push", 11, 100 * 100},
		// Origins 2..34 (33): +100 after 10, 22 and 34; −33⅓ when the
		// push is among the three months averaged (11–13, 23–25).
		{"after the push", 12, (3*100*100 + 6*100.0/3*100/3) / 33},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			last := lookBack + tt.closed - 1
			past, pastAt := make([]float64, H), make([]bool, H)
			for o := range H {
				past[o], pastAt[o] = 100, o <= last
				if o%12 == 11 {
					past[o] = 200
				}
			}
			a := &analysis{cells: make([]dimension.Node, 1), periods: make([]fiscal.Period, P), closed: tt.closed, past: past, pastAt: pastAt}
			u := newUncertaintyModel(a)
			got := a.standInVariance(u, []int{0}, tt.closed, tt.closed, nil)
			if math.Abs(got-tt.want) > 1e-6 {
				t.Errorf("standInVariance = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestAggregateVariance: a node whose cells are exactly an aggregate of
// the run takes its span's variance from the aggregate's own variance path
// (here a random walk's, v(h) = h, so every impulse weight is 1), not from
// its cells'; any other node, a span past the run's horizon or a cell with
// an estimated closed month falls back.
func TestAggregateVariance(t *testing.T) {
	tests := []struct {
		name     string
		closed   int
		estFrom  []int
		cells    []int
		agg      reforecast.Aggregate
		lo, q1   int
		want     float64
		wantUsed bool
	}{
		// e1+e2+e3 = 3z1 + 2z2 + z3: 9+4+1.
		{"the aggregate, 3 months", 0, nil, []int{0, 1}, reforecast.Aggregate{Cells: 2, Variance: []float64{1, 2, 3, 4}}, 0, 2, 14, true},
		// z0 booked: e1+e2 = 2z1 + z2.
		{"first month booked", 1, nil, []int{0, 1}, reforecast.Aggregate{Cells: 2, Variance: []float64{1, 2, 3, 4}}, 1, 2, 5, true},
		{"one of its cells", 0, nil, []int{0}, reforecast.Aggregate{Cells: 2, Variance: []float64{1, 2, 3, 4}}, 0, 2, 0, false},
		{"an aggregate of more cells", 0, nil, []int{0, 1}, reforecast.Aggregate{Cells: 3, Variance: []float64{1, 2, 3, 4}}, 0, 2, 0, false},
		{"past the horizon", 0, nil, []int{0, 1}, reforecast.Aggregate{Cells: 2, Variance: []float64{1, 2}}, 0, 2, 0, false},
		{"an estimated closed month", 1, []int{0, 1}, []int{0, 1}, reforecast.Aggregate{Cells: 2, Variance: []float64{1, 2, 3, 4}}, 0, 2, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &analysis{closed: tt.closed, estFrom: tt.estFrom}
			g := slices.Clone(tt.agg.Variance)
			impulse(g)
			u := &uncertaintyModel{
				paths: []*cellPath{{g: []float64{5, 5, 5, 5}, row: 0}, {g: []float64{5, 5, 5, 5}, row: 1}},
				corr:  &runCovariance{aggs: []reforecast.Aggregate{tt.agg}, member: [][]int{{0}, {0}}},
				aggs:  []*cellPath{{g: g, row: -1}},
			}
			got, used := a.aggregateVariance(u, tt.cells, tt.lo, tt.q1)
			if used != tt.wantUsed || math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("aggregateVariance = %v, %v; want %v, %v", got, used, tt.want, tt.wantUsed)
			}
		})
	}
}

// TestConflictText: a conflict reads as fmt's "%v: %s" of its targets and
// reason.
func TestConflictText(t *testing.T) {
	for _, c := range []reconcile.Conflict{
		{Targets: []string{"a@2027-01..2027-01", "b@2027-01..2027-03"}, Reason: "linearly dependent targets are inconsistent"},
		{Targets: []string{"x"}, Reason: "r"},
		{Reason: "none"},
	} {
		if got, want := conflictText(c), fmt.Sprintf("%v: %s", c.Targets, c.Reason); got != want {
			t.Errorf("conflictText(%+v) = %q, want %q", c, got, want)
		}
	}
	// A year target inconsistent with its months depends on thousands of
	// targets: the text names the first conflictNames and counts the rest.
	many := reconcile.Conflict{Reason: "linearly dependent targets are inconsistent"}
	for k := range 6148 {
		many.Targets = append(many.Targets, fmt.Sprintf("c%d@2027-01..2027-01", k))
	}
	want := fmt.Sprintf("%v: %s (6128 more targets involved and left out, not named)", many.Targets[:conflictNames], many.Reason)
	if got := conflictText(many); got != want {
		t.Errorf("conflictText of 6,148 targets = %.200q…, want %.200q…", got, want)
	}
}
