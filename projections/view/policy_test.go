package view_test

import (
	"math"
	"strconv"
	"testing"

	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/projections/view"
)

// TestEstimatePolicy: the plan's latest-estimate policy decides what the
// open months of latest_estimate are. On the demo (FY2028 commits for the
// world, both regions and the four countries, none adding up to its
// parent's): statistical (the default) is the forecast; commit meets the
// finest commits — each country's estimate is its commit, a region's the
// sum of its countries' — and leaves the forecast, P(target) and the plan
// to target as they were; a blend of 0.25 lies a quarter of the way from
// the forecast to the commit. The rolling plan's months add up to the
// year's estimate under each policy.
func TestEstimatePolicy(t *testing.T) {
	ctx, svc, call, v, d := diffFixture(t)
	read := func() (*view.Variance, map[string]view.VarianceRow) {
		t.Helper()
		va, err := v.Variance(ctx, d.Plan, view.VarianceQuery{Metric: d.Metric, Year: "2028", Dimension: "region", Level: "2"})
		if err != nil {
			t.Fatal(err)
		}
		top, err := v.Variance(ctx, d.Plan, view.VarianceQuery{Metric: d.Metric, Year: "2028", Dimension: "region"})
		if err != nil {
			t.Fatal(err)
		}
		rows := map[string]view.VarianceRow{}
		for _, r := range append(va.Rows, top.Rows...) {
			rows[r.Node] = r
		}
		return va, rows
	}
	f := func(p *view.Amount) float64 { return float64(*p) }
	commitOf := func(r view.VarianceRow) float64 {
		t.Helper()
		c, err := strconv.ParseFloat(*r.Commit, 64)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	countries := []string{"region=dach", "region=uk", "region=us", "region=brazil"}

	va, stat := read()
	if va.EstimatePolicy.Kind != plan.PolicyStatistical {
		t.Errorf("default estimate_policy = %+v, want statistical", va.EstimatePolicy)
	}
	for node, r := range stat {
		if f(r.LatestEstimate) != float64(r.Forecast.Mean) {
			t.Errorf("statistical: %s latest estimate %.2f, forecast %.2f", node, f(r.LatestEstimate), float64(r.Forecast.Mean))
		}
	}

	if _, err := svc.SetEstimatePolicy(ctx, call, d.Plan, d.Metric, plan.EstimatePolicy{Kind: plan.PolicyCommit}, "sales own the number this year"); err != nil {
		t.Fatal(err)
	}
	va, com := read()
	if va.EstimatePolicy.Kind != plan.PolicyCommit || va.EstimatePolicy.Commits != 4 {
		t.Errorf("estimate_policy = %+v, want commit meeting the 4 countries' commits", va.EstimatePolicy)
	}
	for _, n := range countries {
		if le, c := f(com[n].LatestEstimate), commitOf(com[n]); math.Abs(le-c) > 0.01 {
			t.Errorf("commit policy: %s latest estimate %.2f, its commit %.2f", n, le, c)
		}
		if math.Abs(f(com[n].GapToCommit)) > 0.005 {
			t.Errorf("commit policy: %s gap to commit %v, want 0", n, *com[n].GapToCommit)
		}
	}
	for parent, kids := range map[string][]string{"region=emea": countries[:2], "region=americas": countries[2:], "": countries} {
		sum := 0.0
		for _, k := range kids {
			sum += f(com[k].LatestEstimate)
		}
		if le := f(com[parent].LatestEstimate); math.Abs(le-sum) > 0.05 {
			t.Errorf("commit policy: %q latest estimate %.2f, its countries' %.2f", parent, le, sum)
		}
	}
	for node, r := range com {
		s := stat[node]
		if float64(r.Forecast.Mean) != float64(s.Forecast.Mean) || *r.Probability != *s.Probability || f(r.PlanToTarget) != f(s.PlanToTarget) {
			t.Errorf("commit policy moved %s's forecast, P or plan to target: %v %v %v, were %v %v %v", node,
				r.Forecast.Mean, *r.Probability, f(r.PlanToTarget), s.Forecast.Mean, *s.Probability, f(s.PlanToTarget))
		}
		if target, err := strconv.ParseFloat(*r.Target, 64); err == nil && math.Abs(f(r.Gap)-(target-f(r.LatestEstimate))) > 0.01 {
			t.Errorf("commit policy: %s gap %.2f, target − latest estimate %.2f", node, f(r.Gap), target-f(r.LatestEstimate))
		}
	}
	roll, err := v.Rolling(ctx, d.Plan, d.Metric, "region=dach", "")
	if err != nil {
		t.Fatal(err)
	}
	var year float64
	for _, p := range roll.Periods {
		if p.Period >= "2027-04" && p.Period <= "2028-03" {
			year += f(p.LatestEstimate)
		}
	}
	if c := commitOf(com["region=dach"]); math.Abs(year-c) > 0.05 || roll.EstimatePolicy.Kind != plan.PolicyCommit {
		t.Errorf("commit policy: DACH's rolling months add up to %.2f (policy %s), its commit is %.2f", year, roll.EstimatePolicy.Kind, c)
	}

	if _, err := svc.SetEstimatePolicy(ctx, call, d.Plan, d.Metric, plan.EstimatePolicy{Kind: plan.PolicyBlend, CommitWeight: 0.25}, "a quarter sales"); err != nil {
		t.Fatal(err)
	}
	_, bl := read()
	for _, n := range countries {
		want := 0.25*commitOf(bl[n]) + 0.75*float64(stat[n].Forecast.Mean)
		if le := f(bl[n].LatestEstimate); math.Abs(le-want) > 0.05 {
			t.Errorf("blend 0.25: %s latest estimate %.2f, want %.2f", n, le, want)
		}
	}
}
