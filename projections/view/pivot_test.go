package view_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"testing"

	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/view"
	"github.com/concord-planning/concord/projections/view/viewtest"
)

// TestPivotIsTheRollingPlanOfEveryRow: on the demo, the pivot of every
// cell (4 regions × 2 products under the total) answers, in one answer,
// each row's months of FY2028 as the row's rolling plan does and the
// year's P(target) as the variance table does; the pivot by region with
// EMEA open has World, its two regions and EMEA's two; a bad rows
// parameter is a *ParamError.
func TestPivotIsTheRollingPlanOfEveryRow(t *testing.T) {
	reg := viewtest.Registry()
	store, d, _ := viewtest.Seeded(t, "", reg)
	ctx, v := context.Background(), view.NewService(store, reg)
	year := strconv.Itoa(d.Year)
	cells, err := v.Pivot(ctx, d.Plan, view.PivotQuery{Metric: d.Metric, Year: year, Rows: view.PivotCells})
	if err != nil {
		t.Fatal(err)
	}
	if len(cells.Rows) != 1+4*2 || cells.Rows[0].Node != "" || !cells.Cells || len(cells.Months) != 12 {
		t.Fatalf("Pivot(cells) = %d rows (first %q), %d months; want the total and 8 cells, 12 months", len(cells.Rows), cells.Rows[0].Node, len(cells.Months))
	}
	close := func(a view.Amount, b *view.Amount) bool {
		if b == nil {
			return math.IsNaN(float64(a))
		}
		return math.Abs(float64(a)-float64(*b)) < 0.01
	}
	for _, r := range cells.Rows {
		ro, err := v.Rolling(ctx, d.Plan, d.Metric, r.Node, "")
		if err != nil {
			t.Fatal(err)
		}
		first := 0
		for first < len(ro.Periods) && ro.Periods[first].Period != cells.Months[0].Period {
			first++
		}
		if first+12 > len(ro.Periods) {
			t.Fatalf("rolling plan of %q has no %s", r.Node, cells.Months[0].Period)
		}
		for q, m := range cells.Months {
			p := ro.Periods[first+q]
			if p.Closed != m.Closed {
				t.Errorf("%s closed = %v, the rolling plan's %v", m.Period, m.Closed, p.Closed)
			}
			var mean, sd *view.Amount
			if p.Forecast != nil {
				mean = &p.Forecast.Mean
				s := (p.Forecast.Hi95 - p.Forecast.Lo95) / (2 * 1.959963984540054)
				sd = &s
			}
			for _, f := range []struct {
				name string
				got  view.Amount
				want *view.Amount
			}{
				{"target", r.Target[q], p.Target}, {"commit", r.Commit[q], p.Commit},
				{"latest estimate", r.LatestEstimate[q], p.LatestEstimate}, {"forecast", r.Forecast[q], mean}, {"std dev", r.StdDev[q], sd},
			} {
				if !close(f.got, f.want) {
					t.Errorf("pivot %q %s %s = %v, the rolling plan's %v", r.Node, m.Period, f.name, f.got, f.want)
				}
			}
			var actual *view.Amount
			if p.Actual != nil {
				a, _ := strconv.ParseFloat(*p.Actual, 64)
				actual = (*view.Amount)(&a)
			}
			if !close(r.Actual[q], actual) {
				t.Errorf("pivot %q %s actual = %v, the rolling plan's %v", r.Node, m.Period, r.Actual[q], p.Actual)
			}
		}
	}

	byRegion, err := v.Pivot(ctx, d.Plan, view.PivotQuery{Metric: d.Metric, Year: year, Dimension: "region", Open: "world,emea"})
	if err != nil {
		t.Fatal(err)
	}
	va, err := v.Variance(ctx, d.Plan, view.VarianceQuery{Metric: d.Metric, Year: year, Dimension: "region", Level: "2"})
	if err != nil {
		t.Fatal(err)
	}
	var members []string
	for _, r := range byRegion.Rows {
		members = append(members, r.Member)
	}
	if got, want := members, []string{"world", "emea", "dach", "uk", "americas"}; !slices.Equal(got, want) {
		t.Errorf("Pivot(region, open world,emea) rows %q, want %q", got, want)
	}
	withP := 0
	for _, vr := range va.Rows {
		for _, r := range byRegion.Rows {
			if r.Node != vr.Node {
				continue
			}
			if (r.Probability == nil) != (vr.Probability == nil) || r.Probability != nil && *r.Probability != *vr.Probability {
				t.Errorf("pivot %s P(target) = %v, the variance table's %v", r.Node, r.Probability, vr.Probability)
			}
			if r.Probability != nil {
				withP++
			}
		}
	}
	if withP < 2 {
		t.Errorf("%d rows of the pivot with a P(target) the variance table has too, want DACH and the UK at least", withP)
	}

	var pe *view.ParamError
	if _, err := v.Pivot(ctx, d.Plan, view.PivotQuery{Metric: d.Metric, Rows: "everything"}); !errors.As(err, &pe) || pe.Field != "rows" {
		t.Errorf("Pivot(rows=everything) = %v, want a *ParamError for rows", err)
	}
}

// BenchmarkPivotCells times the pivot of every cell of the plan over its
// first fiscal year on the store named by CONCORD_BENCH_STORE (a copy of
// a generated company), encoded as the API serves it, once its analysis
// of the year is computed (as after the overview):
//
//	CONCORD_BENCH_STORE=/tmp/r.db go test ./projections/view -run '^$' -bench PivotCells -benchtime 5x
func BenchmarkPivotCells(b *testing.B) {
	ctx := context.Background()
	svc := view.NewService(benchStore(b), company.Registry())
	plans, err := svc.Plans(ctx, "")
	if err != nil || len(plans) == 0 {
		b.Fatalf("Plans = %d, %v", len(plans), err)
	}
	q := view.PivotQuery{Rows: view.PivotCells}
	if _, err := svc.Variance(ctx, plans[0].ID, view.VarianceQuery{}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		p, err := svc.Pivot(ctx, plans[0].ID, q)
		if err != nil {
			b.Fatal(err)
		}
		body, err := json.Marshal(p) // as the API serves it
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(p.Rows)), "rows")
		b.ReportMetric(float64(len(body)), "bytes")
	}
}
