package reforecast

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/forecasting"
)

// input builds n cells of seasonal monthly data sharing a common shock, so
// their errors are positively correlated.
func input(n, months int, seed uint64) Input {
	rng := rand.New(rand.NewPCG(seed, 1))
	in := Input{RunID: "run-1", Plan: "fy27", Metric: "net-revenue", First: fiscal.NewPeriod(2023, 4),
		Horizon: 12, Seed: seed, DataPosition: eventstore.Position{Commit: 99, Prepare: 99}}
	common := make([]float64, months)
	for t := range common {
		common[t] = rng.NormFloat64()
	}
	for i := range n {
		in.Cells = append(in.Cells, dimension.MustNode(dimension.Coord{Dimension: "region", Member: fmt.Sprintf("r%04d", i)}))
		h := make([]float64, months)
		for t := range h {
			h[t] = 1000 + 10*float64(t) + 150*math.Sin(2*math.Pi*float64(t)/12) + 40*common[t] + 20*rng.NormFloat64()
		}
		in.History = append(in.History, h)
	}
	return in
}

func TestRunPublishesEveryCell(t *testing.T) {
	in := input(5, 42, 7)
	got, err := Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Series) != 5 || got.RunID != "run-1" || got.DataPosition != "99" {
		t.Fatalf("Run = %d series, run %q at %q; want 5 series of run-1 at 99", len(got.Series), got.RunID, got.DataPosition)
	}
	wantFirst := fiscal.NewPeriod(2026, 10) // 2023-04 + 42 months
	for _, s := range got.Series {
		if s.First != wantFirst || s.Len() != 12 {
			t.Errorf("series %v starts %v with %d periods, want %v and 12", s.Node, s.First, s.Len(), wantFirst)
		}
		for h := range s.Mean {
			if !(s.Lo95[h] <= s.Lo80[h] && s.Lo80[h] <= s.Hi80[h] && s.Hi80[h] <= s.Hi95[h]) {
				t.Errorf("series %v h=%d: intervals do not nest: %v %v %v %v", s.Node, h+1, s.Lo95[h], s.Lo80[h], s.Hi80[h], s.Hi95[h])
			}
		}
	}
	cells, covariance, err := Read(got)
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 5 || len(covariance.Diag) != 5 || len(covariance.Factor) != 5 {
		t.Fatalf("model documents hold %d cells, %d variances, %d factor rows; want 5 each", len(cells), len(covariance.Diag), len(covariance.Factor))
	}
	checkCovariance(t, got, covariance)
	// The stored model and the coherence adjustment reproduce the
	// published forecast.
	m, err := forecasting.Restore(cells[2], in.History[2])
	if err != nil {
		t.Fatal(err)
	}
	fc, err := m.Forecast(12, []float64{80, 95})
	if err != nil {
		t.Fatal(err)
	}
	var d Detail
	if err := json.Unmarshal(got.Series[2].Detail, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Coherence) != 12 {
		t.Fatalf("detail of a cell in the total holds %d coherence adjustments, want 12", len(d.Coherence))
	}
	for h := range fc.Mean {
		if want := fc.Mean[h] + d.Coherence[h]; math.Abs(want-got.Series[2].Mean[h]) > 1e-9*math.Abs(want) {
			t.Fatalf("restored forecast h=%d + coherence = %v, published %v", h+1, want, got.Series[2].Mean[h])
		}
	}
	// The common shock shows as positive covariance between cells.
	cov := func(i, j int) float64 {
		var s float64
		for k := range covariance.Factor[i] {
			s += covariance.Factor[i][k] * covariance.Factor[j][k]
		}
		if i == j {
			s += covariance.Diag[i]
		}
		return s
	}
	if c := cov(0, 1) / math.Sqrt(cov(0, 0)*cov(1, 1)); c < 0.3 {
		t.Errorf("correlation of cells 0 and 1 = %.2f, want clearly positive (common shock)", c)
	}
}

// checkCovariance checks that the run's documents are small where they
// must be: the run's Model holds no per-cell data (its aggregates are at
// most one per dimension member and the total), each detail is the
// cell's own.
func checkCovariance(t *testing.T, p forecast.Published, cov Covariance) {
	t.Helper()
	var doc Model
	if err := json.Unmarshal(p.Model, &doc); err != nil {
		t.Fatal(err)
	}
	members := map[dimension.Coord]bool{}
	for _, s := range p.Series {
		for _, c := range s.Node.Coords() {
			members[c] = true
		}
	}
	if len(doc.Aggregates) > 1+len(members) {
		t.Errorf("run model document holds %d aggregates, want at most %d (the total and each member)", len(doc.Aggregates), 1+len(members))
	}
	doc.Aggregates = nil
	if rest, _ := json.Marshal(doc); len(rest) > 200 {
		t.Errorf("run model document is %d bytes without its aggregates (%s), want a small run-level document", len(rest), rest)
	}
	for i, s := range p.Series {
		var d Detail
		if err := json.Unmarshal(s.Detail, &d); err != nil || d.Variance != cov.Diag[i] || len(d.Factor) != len(cov.Factor[i]) || d.Model.Name != s.Model {
			t.Errorf("series %d detail = %s, %v; want its model %s and covariance row", i+1, s.Detail, err, s.Model)
		}
	}
}

// TestReadRunsPublishedInOneEvent reads the model documents of a run
// published before runs had parts: every cell's model and the covariance
// in the run's Model.
func TestReadRunsPublishedInOneEvent(t *testing.T) {
	got, err := Run(context.Background(), input(3, 40, 5))
	if err != nil {
		t.Fatal(err)
	}
	cells, cov, err := Read(got)
	if err != nil {
		t.Fatal(err)
	}
	old := got
	old.Series = slices.Clone(got.Series)
	for i := range old.Series {
		old.Series[i].Detail = nil
	}
	old.Model, _ = json.Marshal(Model{Method: "auto", Cells: cells, Covariance: &cov})
	oldCells, oldCov, err := Read(old)
	if err != nil || !reflect.DeepEqual(oldCells, cells) || !reflect.DeepEqual(oldCov, cov) {
		t.Errorf("Read(one-event run) = %d cells, %+v, %v; want what Read(parted run) gave", len(oldCells), oldCov, err)
	}
	old.Model = json.RawMessage(`{"method":"auto","cells":[],"covariance":{"diag":[]}}`)
	if _, _, err := Read(old); !errors.Is(err, ErrInput) {
		t.Errorf("Read(run with a short covariance) error = %v, want ErrInput", err)
	}
}

func TestRunDeterministicAcrossWorkers(t *testing.T) {
	a, err := Run(context.Background(), func() Input { in := input(6, 40, 3); in.Workers = 1; return in }())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(context.Background(), func() Input { in := input(6, 40, 3); in.Workers = 4; return in }())
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Error("Run with 1 and 4 workers published different results")
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	in := input(2, 30, 1)
	in.History[1] = in.History[1][:20]
	in.Horizon = 0
	_, err := Run(context.Background(), in)
	if !errors.Is(err, ErrInput) {
		t.Fatalf("Run(bad) error = %v, want ErrInput", err)
	}
	in = input(2, 30, 1)
	in.History[0][5] = math.NaN()
	_, err = Run(context.Background(), in)
	var ce *CellError
	if !errors.As(err, &ce) || ce.Cell != in.Cells[0] || !errors.Is(err, forecasting.ErrNonFinite) {
		t.Fatalf("Run(NaN) error = %v, want a CellError for the first cell wrapping ErrNonFinite", err)
	}
}

// BenchmarkRun times one run of the reforecast process: every cell of one
// metric, 36 months of history, an 18-month horizon, on every core, and
// the encoding of the publication into its parts. The Realistic company
// has 2,048 cells and 3 metrics: its reforecast is three such runs.
//
//	go test ./projections/reforecast -run '^$' -bench Run -benchtime 1x -count 3
func BenchmarkRun(b *testing.B) {
	for _, cells := range []int{256, 2048} {
		b.Run(fmt.Sprintf("cells=%d", cells), func(b *testing.B) {
			in := input(cells, 36, 11)
			in.Horizon = 18
			for b.Loop() {
				p, err := Run(context.Background(), in)
				if err != nil {
					b.Fatal(err)
				}
				r := forecast.New()
				if err := r.Publish(p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(cells), "µs/cell")
		})
	}
}

// TestRunStopsWhenCancelled: a run whose context has ended hands out no
// more cells and says so, instead of fitting every cell first.
func TestRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, input(50, 40, 3)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run(cancelled) error = %v, want context.Canceled", err)
	}
}

// TestMissingClosedMonths: a cell whose last two closed months have no
// actual (a close with allow_missing) is modelled on what it reported, not
// on zeros: its published forecast is the forecast of its shorter history,
// starting two months before every other cell's (with the missing months,
// which the query side counts for them instead of zeros). A
// declining non-negative cell's forecast and bounds stop at 0. Before, the
// missing months were read as zeros: the demo's Americas, closed without
// December, fell from about 4 M a month to a flat 1.2 M with a 95% lower
// bound of −167,000 EUR.
func TestMissingClosedMonths(t *testing.T) {
	in := input(3, 42, 11)
	full := slices.Clone(in.History[1])
	in.History[1][40], in.History[1][41] = math.NaN(), math.NaN()
	got, err := Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	short, err := forecasting.Auto(full[:40], 12, forecasting.AutoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := short.Forecast(2+in.Horizon, []float64{80, 95})
	if err != nil {
		t.Fatal(err)
	}
	s := got.Series[1]
	if s.First != got.Series[0].First.Add(-2) || !slices.Equal(s.Mean, want.Mean) {
		t.Errorf("cell with two missing months: from %v %v, want from %v the forecast of its 40 known months %v", s.First, s.Mean, got.Series[0].First.Add(-2), want.Mean)
	}
	if m := slices.Min(s.Mean); m < 700 {
		t.Errorf("cell with two missing months forecast down to %.0f: read as zeros?", m)
	}

	in = input(1, 42, 3)
	for t := range in.History[0] {
		in.History[0][t] = 5000 - 115*float64(t) + 30*math.Sin(float64(t)) // a product being phased out
	}
	in.NonNegative = true
	got, err = Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range [][]float64{got.Series[0].Mean, got.Series[0].Lo80, got.Series[0].Lo95} {
		if m := slices.Min(v); m < 0 {
			t.Errorf("non-negative metric: forecast or bound %v below 0", m)
		}
	}
	if slices.Max(got.Series[0].Hi95) <= 0 {
		t.Errorf("non-negative metric: upper bounds %v all clipped", got.Series[0].Hi95)
	}

	in = input(1, 10, 1)
	in.History[0][3] = math.NaN()
	if _, err := Run(context.Background(), in); !errors.Is(err, forecasting.ErrNonFinite) {
		t.Errorf("a missing month before the last actual: error %v, want ErrNonFinite", err)
	}
}
