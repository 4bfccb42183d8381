package view_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/projections/view"
	"github.com/concord-planning/concord/projections/view/viewtest"
)

// TestClosedMonthWithoutActuals: a month closed with allow_missing while
// only EMEA reported counts each missing cell's forecast of the month in
// the latest estimate, never zero. On the demo, 2027-07 closes with
// DACH's and the UK's actuals only: the Americas' latest estimate of
// FY2028 stays within a few percent of a month of what it was while July
// was open, its P(target) moves by little, the answer lists 2027-07 as
// estimated, and the Americas' actual column has only what was booked.
// Before, the Americas' July counted 0: the estimate fell by a whole
// month (about 8% of the year) and P fell to about 0.
func TestClosedMonthWithoutActuals(t *testing.T) {
	reg := viewtest.Registry()
	store, d, _ := viewtest.Seeded(t, "", reg)
	ctx, v := context.Background(), view.NewService(store, reg)
	svc := planning.New(store, reg, planning.WithClock(func() time.Time { return time.Date(2027, time.August, 3, 9, 0, 0, 0, time.UTC) }))
	call := planning.Call{By: planning.Principal{Actor: "pat", Role: access.RolePlanner}}
	variance := func() map[string]view.VarianceRow {
		t.Helper()
		va, err := v.Variance(ctx, d.Plan, view.VarianceQuery{Metric: d.Metric, Year: "2028", Dimension: "region"})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]view.VarianceRow{}
		for _, r := range va.Rows {
			out[r.Node] = r
		}
		out["source"] = view.VarianceRow{Name: fmt.Sprint(va.Forecast.Estimated)}
		return out
	}
	before := variance()

	var rows []planning.ActualRow
	for _, r := range []string{"dach", "uk"} {
		for _, p := range []string{"pumps", "valves"} {
			rows = append(rows, planning.ActualRow{Cell: "region=" + r + ";product=" + p, Metric: d.Metric, Period: "2027-07", Amount: "100000.00"})
		}
	}
	if _, err := svc.RecordActuals(ctx, call, planning.RecordActuals{Plan: d.Plan, ImportID: "erp-2027-07-emea", Rows: rows}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ClosePeriod(ctx, call, planning.ClosePeriod{Period: "2027-07", AllowMissing: true, Reason: "the Americas report late"}); err != nil {
		t.Fatal(err)
	}
	after := variance()

	if got := after["source"].Name; got != "[2027-07]" {
		t.Errorf("forecast_source.estimated = %s, want [2027-07]", got)
	}
	am0, am1 := before["region=americas"], after["region=americas"]
	le0, le1 := float64(*am0.LatestEstimate), float64(*am1.LatestEstimate)
	month := le0 / 12
	t.Logf("Americas FY2028: latest estimate %.0f → %.0f, P %.3f → %.3f, sd %.0f → %.0f", le0, le1,
		float64(*am0.Probability), float64(*am1.Probability), float64(*am0.StdDev), float64(*am1.StdDev))
	if math.Abs(le1-le0) > 0.05*month {
		t.Errorf("Americas' latest estimate %.0f after closing July without its actuals, %.0f before: moved by %.0f, more than 5%% of a month (%.0f)", le1, le0, le1-le0, month)
	}
	if p0, p1 := float64(*am0.Probability), float64(*am1.Probability); math.Abs(p1-p0) > 0.15 {
		t.Errorf("Americas' P(target) %.3f after the close, %.3f before", p1, p0)
	}
	if !am1.Estimated || after["region=emea"].Estimated {
		t.Errorf("estimated: Americas %v, EMEA %v; want true, false", am1.Estimated, after["region=emea"].Estimated)
	}
	if *am1.Actual != *am0.Actual {
		t.Errorf("Americas' actual %s after the close, %s before: an estimate is not an actual", *am1.Actual, *am0.Actual)
	}
	if sd0, sd1 := float64(*am0.StdDev), float64(*am1.StdDev); !(sd1 > 0.8*sd0) {
		t.Errorf("Americas' sd %.0f after the close, %.0f before: the estimated month's error must still count", sd1, sd0)
	}

	roll, err := v.Rolling(ctx, d.Plan, d.Metric, "region=americas", "")
	if err != nil {
		t.Fatal(err)
	}
	k := slices.IndexFunc(roll.Periods, func(p view.RollingPeriod) bool { return p.Period == "2027-07" })
	if k < 0 {
		t.Fatal("rolling plan has no 2027-07")
	}
	jul := roll.Periods[k]
	if !jul.Closed || !jul.Estimated || jul.Actual != nil || jul.LatestEstimate == nil || float64(*jul.LatestEstimate) < 0.5*month {
		t.Errorf("Americas' July: closed %v, estimated %v, actual %v, latest estimate %v; want closed, estimated, no actual, about a month (%.0f)",
			jul.Closed, true, jul.Actual, jul.LatestEstimate, month)
	}
	// The phased target ties back: July shows the latest estimate, the
	// year's closed and open months add up to the target.
	var sum float64
	for _, p := range roll.Periods {
		if p.Target != nil && p.Period >= "2027-04" && p.Period <= "2028-03" {
			sum += float64(*p.Target)
		}
	}
	if target, _ := strconv.ParseFloat(*am1.Target, 64); math.Abs(sum-target) > 1 {
		t.Errorf("Americas' monthly targets add up to %.2f, the year's target is %.2f", sum, target)
	}
}
