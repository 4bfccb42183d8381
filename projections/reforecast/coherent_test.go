package reforecast

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/forecasting"
)

// constant returns a forecast of mean over h steps whose 95% interval
// implies the variance v at every step.
func constant(mean, v float64, h int) forecasting.Forecast {
	half := 1.959963984540054 * math.Sqrt(v)
	fc := forecasting.Forecast{Intervals: []forecasting.Interval{{Level: 95}}}
	for range h {
		fc.Mean = append(fc.Mean, mean)
		fc.Intervals[0].Lower = append(fc.Intervals[0].Lower, mean-half)
		fc.Intervals[0].Upper = append(fc.Intervals[0].Upper, mean+half)
	}
	return fc
}

// TestCoherenceIsWLS checks the solution against the minimiser of
// (36 − b₁ − b₂)²/1 + (10 − b₁)²/1 + (20 − b₂)²/3, worked by hand: setting
// the gradient to zero gives bⱼ = b̂ⱼ + wⱼ(36 − s), so s = 30 + 4(36 − s),
// s = 34.8, b = (11.2, 23.6), when the cells are independent. A cell in
// no aggregate is left as it is.
func TestCoherenceIsWLS(t *testing.T) {
	fcs := []forecasting.Forecast{constant(10, 1, 2), constant(20, 3, 2), constant(5, 1, 2)}
	total := constant(36, 1, 2)
	independent := Covariance{Diag: []float64{1, 1, 1}, Factor: make([][]float64, 3)}
	adj := coherence(fcs, independent, [][]int{{0, 1}}, []*forecasting.Forecast{&total}, 2)
	if adj[2] != nil {
		t.Fatalf("coherence = %v, want no adjustment of cell 3", adj)
	}
	for h, want := range [][]float64{{1.2, 3.6}, {1.2, 3.6}} {
		for j := range want {
			if math.Abs(adj[j][h]-want[j]) > 1e-9 {
				t.Errorf("adjustment of cell %d at h=%d = %v, want %v", j+1, h+1, adj[j][h], want[j])
			}
		}
	}
	// Correlation 0.5 between the two cells: W_b = [[1, √3/2], [√3/2, 3]],
	// W_b Aᵀ = (1 + √3/2, 3 + √3/2), A W_b Aᵀ + W_a = 5 + √3, so the
	// adjustment is W_b Aᵀ · 6 / (5 + √3): the sum is less certain than
	// with independent cells, and moves further towards the total's 36.
	half := math.Sqrt(0.5)
	correlated := Covariance{Diag: []float64{0.5, 0.5, 1}, Factor: [][]float64{{half}, {half}, {0}}}
	adj = coherence(fcs, correlated, [][]int{{0, 1}}, []*forecasting.Forecast{&total}, 2)
	for j, want := range []float64{1.66311169400545, 3.445629435331517} {
		if math.Abs(adj[j][0]-want) > 1e-9 {
			t.Errorf("adjustment of correlated cell %d = %v, want %v", j+1, adj[j][0], want)
		}
	}
	failed := coherence(fcs, independent, [][]int{{0, 1}}, []*forecasting.Forecast{nil}, 2)
	if slices.ContainsFunc(failed, func(a []float64) bool { return a != nil }) {
		t.Errorf("coherence with the aggregate's fit failed = %v, want no adjustment", failed)
	}
}

// TestAggregates: the total and each member of each dimension, without
// single cells, duplicates or cells left out.
func TestAggregates(t *testing.T) {
	node := func(r, p string) dimension.Node {
		return dimension.MustNode(dimension.Coord{Dimension: "region", Member: r}, dimension.Coord{Dimension: "product", Member: p})
	}
	cells := []dimension.Node{node("emea", "pumps"), node("emea", "valves"), node("apac", "pumps"), node("apac", "valves"), node("amer", "pumps")}
	got, nodes := aggregates(cells, []bool{true, true, true, true, false})
	want := [][]int{{0, 1, 2, 3}, {0, 2}, {1, 3}, {2, 3}, {0, 1}} // total; product pumps, valves; region apac, emea
	wantNodes := []string{"", "product=pumps", "product=valves", "region=apac", "region=emea"}
	if fmt.Sprint(got) != fmt.Sprint(want) || !slices.Equal(nodes, wantNodes) {
		t.Errorf("aggregates = %v %q, want %v %q", got, nodes, want, wantNodes)
	}
}

// TestRunFindsTheTrendOfTheSum: 24 short, noisy cells growing 8% a year
// with a season, each alone mostly forecast flat; their sum shows the
// growth. Made coherent with the aggregates, the cells' forecast of the
// next twelve months' total is nearer the truth than the sum of their
// own models' forecasts, and the published cells add up to it.
func TestRunFindsTheTrendOfTheSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	const months, horizon = 30, 12
	truth := func(t int) float64 {
		return 100 * math.Pow(1.08, float64(t)/12) * (1 + 0.15*math.Sin(2*math.Pi*float64(t)/12))
	}
	in := Input{RunID: "run-1", Plan: "fy27", Metric: "net-revenue", Horizon: horizon, First: input(1, 1, 1).First}
	for i := range 24 {
		in.Cells = append(in.Cells, dimension.MustNode(dimension.Coord{Dimension: "region", Member: fmt.Sprintf("r%d", i%4)}, dimension.Coord{Dimension: "product", Member: fmt.Sprintf("p%d", i/4)}))
		h := make([]float64, months)
		for t := range h {
			h[t] = truth(t) * (1 + 0.1*rng.NormFloat64())
		}
		in.History = append(in.History, h)
	}
	got, err := Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	var doc Model
	if err := json.Unmarshal(got.Model, &doc); err != nil || len(doc.Aggregates) < 1 {
		t.Fatalf("run model %s (%v), want aggregates", got.Model, err)
	}
	// Each published aggregate sums the cells that name it, and its
	// variance grows with the step as a forecast's does.
	aggs, member, err := ReadAggregates(got)
	if err != nil {
		t.Fatal(err)
	}
	for g, ag := range aggs {
		n := 0
		for _, m := range member {
			if slices.Contains(m, g) {
				n++
			}
		}
		if n != ag.Cells || len(ag.Variance) != horizon || !(ag.Variance[0] > 0) || ag.Variance[horizon-1] < ag.Variance[0] || ag.Model == "" {
			t.Errorf("aggregate %d (%q, %s): %d cells name it, it says %d; variance %v", g, ag.Node, ag.Model, n, ag.Cells, ag.Variance)
		}
	}
	var want, published, base float64
	for h := range horizon {
		want += 24 * truth(months+h)
	}
	for i, s := range got.Series {
		var d Detail
		if err := json.Unmarshal(s.Detail, &d); err != nil {
			t.Fatal(err)
		}
		for h := range horizon {
			published += s.Mean[h]
			base += s.Mean[h] - d.Coherence[h]
		}
		if i == 0 && len(d.Coherence) != horizon {
			t.Fatalf("cell 1 has %d coherence adjustments, want %d", len(d.Coherence), horizon)
		}
	}
	if math.Abs(published-want) >= math.Abs(base-want) {
		t.Errorf("next year's total: published %.0f, the cells' own models %.0f, truth %.0f: coherence did not bring it nearer", published, base, want)
	}
}

// TestWithinBudget: the aggregates published are the first whose encoding
// fits the budget, with their cell lists.
func TestWithinBudget(t *testing.T) {
	aggs := []Aggregate{{Node: "", Model: "ETS(A,A,N)", Cells: 4, Variance: []float64{1, 2}}, {Node: "region=emea", Model: "ETS(A,N,A)", Cells: 2, Variance: []float64{1, 3}}}
	members := [][]int{{0, 1, 2, 3}, {0, 1}}
	one, err := json.Marshal(aggs[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		budget, want int
	}{{1 << 20, 2}, {len(one) + 3, 1}, {len(one), 0}} {
		got, gotMembers := withinBudget(aggs, members, tt.budget)
		if len(got) != tt.want || len(gotMembers) != tt.want {
			t.Errorf("withinBudget(%d bytes) = %d aggregates, %d cell lists; want %d", tt.budget, len(got), len(gotMembers), tt.want)
		}
	}
}
