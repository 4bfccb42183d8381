package query_test

import (
	"context"
	"testing"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/projections/view"
	"github.com/concord-planning/concord/projections/view/viewtest"
)

// TestRollingWindowStartsWithItsFiscalYear: a plan whose horizon starts in
// July (fiscal years from April) shows the node view from April, the
// year's closed months with their actuals, then the open months. Before,
// the window started with the horizon and the closed months were missing.
func TestRollingWindowStartsWithItsFiscalYear(t *testing.T) {
	ctx := context.Background()
	reg := viewtest.Registry()
	store, _, _ := viewtest.Seeded(t, "", reg)
	svc := planning.New(store, reg)
	call := planning.Call{By: planning.Principal{Actor: "paul", Role: access.RolePlanner}}
	if _, err := svc.OpenPlan(ctx, call, planning.OpenPlan{ID: "mid", Name: "Mid-year", Currency: "EUR", FiscalYearStart: 4,
		Dimensions: []string{"region", "product"}, HorizonStart: "2027-07", HorizonMonths: 9,
		Metrics: []plan.Metric{{ID: "revenue", Name: "Net revenue", NonNegative: true}}}); err != nil {
		t.Fatal(err)
	}
	r, err := view.NewService(store, reg).Rolling(ctx, "mid", "revenue", "region=dach", "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Window.First != "2027-04" || r.Window.Last != "2028-03" || len(r.Periods) != 12 {
		t.Fatalf("Rolling(mid, region=dach) window %+v with %d periods, want 2027-04..2028-03, 12 months", r.Window, len(r.Periods))
	}
	for k, p := range r.Periods {
		if closed := k < 3; p.Closed != closed || (p.Actual != nil) != closed || (p.Forecast != nil) == closed {
			t.Errorf("period %s: closed %v, actual %v, forecast %v; want closed months with actuals and open ones with a forecast", p.Period, p.Closed, p.Actual, p.Forecast)
		}
	}
}
