package rolling_test

import (
	"errors"
	"testing"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/projections/internal/given"
	"github.com/concord-planning/concord/projections/rolling"
	"github.com/concord-planning/concord/projections/vintage"
)

func scenario(t *testing.T) (*rolling.Plans, given.Marks) {
	t.Helper()
	l, m := given.Scenario()
	r := rolling.New()
	if err := l.ApplyTo(r); err != nil {
		t.Fatal(err)
	}
	return r, m
}

func TestWindowRollsWhenAPeriodCloses(t *testing.T) {
	r, m := scenario(t)
	tests := []struct {
		name        string
		asOf        eventstore.Position
		current     string
		first       string
		aprClosed   bool
		emeaAprLE   float64
		emeaAprSrc  rolling.Source
		emeaMayLE   float64
		emeaMaySrc  rolling.Source
		aprHasTarge bool
	}{
		{"before April closes", given.Before(m.AprClosed), "2026-04", "2026-01", false, 0, rolling.SourceNone, 95, rolling.SourceForecast, false},
		{"after April closes", vintage.Latest, "2026-05", "2026-02", true, 120, rolling.SourceActual, 95, rolling.SourceForecast, false},
		{"before the target was cleared", given.Before(m.AprTargetCleared), "2026-04", "2026-01", false, 0, rolling.SourceNone, 95, rolling.SourceForecast, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := r.Window(rolling.Query{Plan: given.Plan, Metric: "revenue", Nodes: []dimension.Node{given.EMEA}, Forward: 3, AsOf: tt.asOf})
			if err != nil {
				t.Fatal(err)
			}
			if w.Current.String() != tt.current || w.Periods[0].String() != tt.first || len(w.Periods) != 3+3 {
				t.Fatalf("Window as of %v: current %v, periods %v; want current %s from %s, 6 periods", tt.asOf, w.Current, w.Periods, tt.current, tt.first)
			}
			apr := cellAt(t, w.Rows[0], given.Apr)
			if apr.Period != given.Apr || apr.Closed != tt.aprClosed || apr.LE != tt.emeaAprLE || apr.LESource != tt.emeaAprSrc || apr.HasTarget != tt.aprHasTarge {
				t.Errorf("emea April = %+v, want closed %v, LE %v from %q, target %v", apr, tt.aprClosed, tt.emeaAprLE, tt.emeaAprSrc, tt.aprHasTarge)
			}
			may := cellAt(t, w.Rows[0], given.May)
			if may.Period != given.May || may.LE != tt.emeaMayLE || may.LESource != tt.emeaMaySrc || !may.HasForecastBounds || may.ForecastLo80 != 85 {
				t.Errorf("emea May = %+v, want LE %v from %q with its own 80%% bounds", may, tt.emeaMayLE, tt.emeaMaySrc)
			}
		})
	}
}

func TestWindowTargetsGapsPoliciesAndCells(t *testing.T) {
	r, m := scenario(t)
	// Before April closed and before its target was cleared: the month
	// target is shown in its month against the LE (nothing yet: no actual
	// counts until the period closes, no forecast for April).
	w, err := r.Window(rolling.Query{Plan: given.Plan, Metric: "revenue", Nodes: []dimension.Node{given.EMEA, dimension.Total}, Back: -1, Forward: 3, AsOf: given.Before(m.AprTargetCleared)})
	if err != nil {
		t.Fatal(err)
	}
	apr := w.Rows[0].Cells[0]
	if !apr.HasTarget || !apr.Target.Equal(decimal.FromInt(1100)) || apr.HasGap || !apr.HasActual || !apr.Actual.Equal(decimal.FromInt(170)) {
		t.Errorf("emea April = %+v, want target 1100, actual 170 (de 120 + fr 50, not yet moved), no gap without an LE", apr)
	}
	total := w.Rows[1]
	if len(total.Spans) != 1 || total.Spans[0].Label != "FY2027-Q1" || !total.Spans[0].Target.Equal(decimal.FromInt(3000)) {
		t.Fatalf("total spans = %+v, want the FY2027-Q1 target of 3000", total.Spans)
	}
	// The total has no forecast of its own: its cells' (de 70 + fr 30 in
	// May; de 61 + fr 31 in June) are summed.
	if c := total.Cells[1]; c.ForecastSource != rolling.SourceCells || c.Forecast != 100 || c.HasForecastBounds {
		t.Errorf("total May = %+v, want 100 from the cells, no bounds", c)
	}
	if c := total.Cells[2]; c.Forecast != 92 {
		t.Errorf("total June forecast = %v, want 92", c.Forecast)
	}
	if sp := total.Spans[0]; sp.Complete || sp.LE != 192 || sp.Gap != 3000-192 {
		t.Errorf("total FY2027-Q1 line = %+v, want LE 192 (April has none: incomplete), gap 2808", sp)
	}
	// Best case policy: us has a best-case commit of 200 for May.
	w, err = r.Window(rolling.Query{Plan: given.Plan, Metric: "revenue", Nodes: []dimension.Node{given.US}, Back: -1, Forward: 2, Policy: rolling.BestCase})
	if err != nil {
		t.Fatal(err)
	}
	if c := w.Rows[0].Cells[0]; c.Period != given.May || c.LESource != rolling.SourceCommit || c.LE != 200 || c.CommitConfidence == "" {
		t.Errorf("us May, best case = %+v, want LE 200 from the commit", c)
	}
	if _, err := r.Window(rolling.Query{Plan: given.Plan, Metric: "units"}); !errors.Is(err, rolling.ErrInvalidQuery) {
		t.Errorf("Window(units) = %v, want ErrInvalidQuery", err)
	}
	if _, err := r.Window(rolling.Query{Plan: given.Plan, Metric: "revenue", Policy: "hope"}); !errors.Is(err, rolling.ErrInvalidQuery) {
		t.Errorf("Window(policy hope) = %v, want ErrInvalidQuery", err)
	}
}

func cellAt(t *testing.T, row rolling.Row, p fiscal.Period) rolling.Cell {
	t.Helper()
	for _, c := range row.Cells {
		if c.Period == p {
			return c
		}
	}
	t.Fatalf("row %v has no period %v", row.Node, p)
	return rolling.Cell{}
}
