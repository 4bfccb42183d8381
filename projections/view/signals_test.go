package view_test

import (
	"context"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/projections/view"
	"github.com/concord-planning/concord/projections/view/viewtest"
)

// TestSignals checks the alert signals of the demo against the published
// runs read back from the store: the demo closes FY2028 (April to March)
// through June 2027, published v2027-04 (cells only, April on) and then
// v2027-07 (every node, July on).
func TestSignals(t *testing.T) {
	ctx := context.Background()
	reg := viewtest.Registry()
	store, demo, _ := viewtest.Seeded(t, "", reg)
	q := view.NewService(store, reg)
	runs := eventstore.NewRepository(store, reg, forecast.New)
	series := func(run, node string) forecast.Series {
		t.Helper()
		r, _, err := runs.Load(ctx, forecast.Stream(run))
		if err != nil {
			t.Fatal(err)
		}
		p, ok := r.Published()
		if !ok {
			t.Fatalf("run %s is not published", run)
		}
		for _, s := range p.Series {
			if s.Node.String() == node {
				return s
			}
		}
		t.Fatalf("run %s has no series of %q", run, node)
		return forecast.Series{}
	}
	// actual returns node's recorded actual of month (2027-04 to 2027-06).
	actual := func(node, month string) float64 {
		t.Helper()
		r, err := q.Rolling(ctx, demo.Plan, demo.Metric, node, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range r.Periods {
			if p.Period == month && p.Actual != nil {
				a, _ := strconv.ParseFloat(*p.Actual, 64)
				return a
			}
		}
		t.Fatalf("no actual of %s in the rolling plan of %s", month, node)
		return 0
	}
	sum := func(xs []float64) (s float64) {
		for _, x := range xs {
			s += x
		}
		return s
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }

	cells := []string{"product=pumps;region=dach", "product=valves;region=dach", "product=pumps;region=uk", "product=valves;region=uk"}
	for _, tt := range []struct {
		node  string
		cells []string
	}{{"product=pumps;region=uk", cells[2:3]}, {"region=emea", cells}} {
		s, err := q.Signals(ctx, demo.Plan, demo.Metric, tt.node, demo.Year)
		if err != nil {
			t.Fatal(err)
		}
		// The latest run forecasts July on: April to June are actuals.
		wantLatest, wantPrevious := actual(tt.node, "2027-04")+actual(tt.node, "2027-05")+actual(tt.node, "2027-06"), 0.0
		var mean, variance float64
		for _, c := range tt.cells {
			wantLatest += sum(series("v2027-07", c).Mean)
			prev := series("v2027-04", c)
			wantPrevious += sum(prev.Mean)
			mean += prev.Mean[2]
			sd := (prev.Hi95[2] - prev.Lo95[2]) / (2 * 1.959963984540054)
			variance += sd * sd
		}
		if s.Latest == nil || s.Previous == nil || s.Latest.RunID != "v2027-07" || s.Previous.RunID != "v2027-04" ||
			!near(s.Latest.Total, wantLatest) || !near(s.Previous.Total, wantPrevious) {
			t.Errorf("Signals(%s) runs = %+v, %+v, want v2027-07 %v, v2027-04 %v", tt.node, s.Latest, s.Previous, wantLatest, wantPrevious)
		}
		// June, the last closed month, was forecast by v2027-04 (its third month).
		c := s.Closed
		lo, hi := mean-1.959963984540054*math.Sqrt(variance), mean+1.959963984540054*math.Sqrt(variance)
		if c == nil || c.Period != "2027-06" || c.RunID != "v2027-04" || !near(c.Actual, actual(tt.node, "2027-06")) || !near(c.Mean, mean) ||
			!near(c.Lo95, lo) || !near(c.Hi95, hi) {
			t.Errorf("Signals(%s).Closed = %+v, want June %v in v2027-04's [%v, %v] around %v", tt.node, c, actual(tt.node, "2027-06"), lo, hi, mean)
		}
		if want := fiscal.NewPeriod(2027, time.August).Start(); !s.OpenSince.Equal(want) {
			t.Errorf("Signals(%s).OpenSince = %v, want %v (July, the first open month, ends then)", tt.node, s.OpenSince, want)
		}
	}
	if _, err := q.Signals(ctx, demo.Plan, demo.Metric, "region=mars", demo.Year); err == nil {
		t.Error("Signals of an unknown member: no error")
	}
}
