package main

import (
	"math"
	"net/url"
	"strings"
	"testing"
)

// TestCounterfactualReplay: "what would the forecast and P(target) have
// been on 7 April 2026 (March just closed, FY2027 budgeted) with method M"
// is a scenario opened at that date with that method. Seasonal naive
// forecasts each month as the same month a year before, naive as the last
// closed month: the replays answer exactly that at the world level, with a
// P(target) for the year. Their accuracy against the actuals that followed
// (April to September 2026, closed since) is compared across methods and
// with the plan as it stood then (no forecast published yet: the mean of
// the last three months stood in).
func TestCounterfactualReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo company")
	}
	d := startDemo(t)
	const plan = "/api/v1/plans/" + demoPlan
	const date = "2026-04-07"
	methods := []string{"snaive", "naive", "drift"}
	for _, m := range methods {
		d.call(t, d.tokens.planner, "POST", plan+"/scenarios", map[string]any{"id": "cf-" + m, "name": "Replay with " + m, "from": date}, 201)
		d.call(t, d.tokens.planner, "POST", plan+"/scenarios/cf-"+m+"/method", map[string]any{"metric": "net-revenue", "method": m, "reason": "counterfactual replay"}, 200)
	}
	for _, c := range []struct {
		token string
		body  map[string]any
		code  int
		want  string
	}{
		{d.tokens.planner, map[string]any{"metric": "net-revenue", "method": "crystal-ball", "reason": "r"}, 422, `method "crystal-ball"`},
		{d.tokens.planner, map[string]any{"metric": "gm-pct", "method": "ets", "reason": "r"}, 422, `metric "gm-pct"`},
		{d.tokens.sales, map[string]any{"metric": "net-revenue", "method": "ets", "reason": "r"}, 403, "planner"},
	} {
		if p := d.call(t, c.token, "POST", plan+"/scenarios/cf-drift/method", c.body, c.code); !strings.Contains(p["detail"].(string), c.want) {
			t.Errorf("method %v: detail %q, want it to say %q", c.body, p["detail"], c.want)
		}
	}

	// World quarters: FY2027 as each side forecast it, FY2026 as it was.
	quarters := func(year string, scenarios []string) map[string][]map[string]any {
		q := url.Values{"scenarios": {strings.Join(scenarios, ",")}, "metric": {"net-revenue"}, "year": {year}, "dimension": {"region"}, "parent": {"world"}}
		out := map[string][]map[string]any{}
		for _, r := range rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/compare?"+q.Encode(), nil, 200), "rows") {
			if r["node"] != "" {
				continue
			}
			sides := []map[string]any{r["plan"].(map[string]any)}
			for _, s := range r["scenarios"].([]any) {
				sides = append(sides, s.(map[string]any))
			}
			out[r["period"].(map[string]any)["label"].(string)] = sides
		}
		return out
	}
	ids := []string{"cf-snaive", "cf-naive", "cf-drift"}
	now, lastYear := quarters("2027", ids), quarters("2026", ids[:1])
	// The plan as of the date, for the forecast value added.
	q := url.Values{"scenarios": {"cf-snaive"}, "metric": {"net-revenue"}, "year": {"2027"}, "dimension": {"region"}, "parent": {"world"}, "as_of": {date}}
	then := map[string]float64{}
	for _, r := range rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/compare?"+q.Encode(), nil, 200), "rows") {
		if r["node"] == "" {
			then[r["period"].(map[string]any)["label"].(string)] = number(t, r["plan"].(map[string]any)["latest_estimate"])
		}
	}
	le := func(f map[string]any) float64 { return number(t, f["latest_estimate"]) }
	for _, quarter := range []string{"Q1", "Q2"} {
		fy27, fy26 := now["FY2027-"+quarter], lastYear["FY2026-"+quarter]
		if fy27 == nil || fy26 == nil {
			t.Fatalf("compare has no world row for %s: %v", quarter, now)
		}
		// Seasonal naive: the same quarter a year before, exactly.
		if got, want := le(fy27[1]), le(fy26[0]); math.Abs(got-want) > 0.01*3 {
			t.Errorf("snaive replay of FY2027-%s = %v, want FY2026-%s's actuals %v", quarter, got, quarter, want)
		}
	}
	// Naive: every month as March 2026, so each quarter forecast alike.
	if a, b := le(now["FY2027-Q1"][2]), le(now["FY2027-Q2"][2]); math.Abs(a-b) > 0.01*3 {
		t.Errorf("naive replay: Q1 %v, Q2 %v, want the same (three months of March 2026 each)", a, b)
	}
	// P(target) of the year as it would have been.
	for k, id := range ids {
		if p := now["FY2027"][k+1]["probability"]; p == nil {
			t.Errorf("%s: no P(target) for FY2027", id)
		}
	}
	// Accuracy over the two quarters that closed since: absolute
	// percentage error of each replay, and of the plan as it stood then.
	mape := func(forecast func(quarter string) float64) float64 {
		sum := 0.0
		for _, quarter := range []string{"FY2027-Q1", "FY2027-Q2"} {
			actual := le(now[quarter][0]) // closed since: the live plan's figure is the actual
			sum += math.Abs(forecast(quarter)-actual) / actual
		}
		return 100 * sum / 2
	}
	standIn := mape(func(quarter string) float64 { return then[quarter] })
	errs := map[string]float64{}
	for k, id := range ids {
		errs[id] = mape(func(quarter string) float64 { return le(now[quarter][k+1]) })
		if math.IsNaN(errs[id]) || errs[id] <= 0 || errs[id] > 100 {
			t.Errorf("%s: MAPE %v%%, want a finite, positive error", id, errs[id])
		}
		t.Logf("%s: MAPE %.2f%% over FY2027-Q1..Q2 (forecast value added over the stand-in: %+.2f points)", id, errs[id], standIn-errs[id])
	}
	if errs["cf-snaive"] == errs["cf-naive"] || errs["cf-naive"] == errs["cf-drift"] {
		t.Errorf("the methods' errors are equal (%v): the method is not applied", errs)
	}
	// The history of a replay names its method.
	hist := rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/history?"+url.Values{"scenario": {"cf-drift"}, "limit": {"2"}}.Encode(), nil, 200), "items")
	if len(hist) == 0 || hist[0]["type"] != "scenario.MethodAssumed" || !strings.Contains(hist[0]["summary"].(string), "made by method drift") {
		t.Errorf("replay history starts with %v, want the method", hist[:min(1, len(hist))])
	}
}

// TestBasePolicy: in a scenario whose net-revenue estimate policy is
// commit, every business unit and country sales committed for FY2027 has
// its latest estimate of the year at its commit; with a blend of weight
// 0.5, halfway between the statistical forecast and the commit;
// statistical changes nothing. The plan itself keeps its policy.
func TestBasePolicy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo company")
	}
	d := startDemo(t)
	const plan = "/api/v1/plans/" + demoPlan
	for _, pol := range []string{"commit", "blend", "statistical"} {
		d.call(t, d.tokens.planner, "POST", plan+"/scenarios", map[string]any{"id": "p-" + pol, "name": pol}, 201)
		body := map[string]any{"metric": "net-revenue", "policy": pol, "reason": "policy " + pol}
		if pol == "blend" {
			body["commit_weight"] = 0.5
		}
		d.call(t, d.tokens.planner, "POST", plan+"/scenarios/p-"+pol+"/estimate-policy", body, 200)
	}
	if p := d.call(t, d.tokens.planner, "POST", plan+"/scenarios/p-blend/estimate-policy", map[string]any{"metric": "net-revenue", "policy": "optimistic", "reason": "r"}, 422); !strings.Contains(p["detail"].(string), `policy "optimistic"`) {
		t.Errorf("policy optimistic: detail %q", p["detail"])
	}
	// The scenario's history says what it changed, as the plan's would.
	hist := rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/history?"+url.Values{"scenario": {"p-blend"}, "limit": {"1"}}.Encode(), nil, 200), "items")
	if len(hist) == 0 || hist[0]["type"] != "scenario.EstimatePolicySet" || hist[0]["summary"] != "Scenario p-blend: Latest estimate of net-revenue made by the blend (50% commit) policy: policy blend" {
		t.Errorf("p-blend's history starts with %v, want its estimate policy", hist[:min(1, len(hist))])
	}
	// The business units of EMEA's countries, each committed for FY2027.
	variance := func(scenario string) map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, bu := range []string{"industrial", "consumer", "healthcare", "energy"} {
			q := url.Values{"metric": {"net-revenue"}, "year": {"2027"}, "dimension": {"region"}, "parent": {"emea"}, "node": {"bu=" + bu}}
			if scenario != "" {
				q.Set("scenario", scenario)
			}
			for _, r := range rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/variance?"+q.Encode(), nil, 200), "rows") {
				out[r["node"].(string)] = r
			}
		}
		return out
	}
	stat, commit, blend, same := variance(""), variance("p-commit"), variance("p-blend"), variance("p-statistical")
	// The node whose statistical forecast is furthest from its commit.
	node, far := "", 0.0
	for n, r := range stat {
		if r["commit_source"] != "submitted" {
			continue
		}
		c, s := number(t, r["commit"]), number(t, r["latest_estimate"])
		if math.Abs(c-s)/c > far {
			node, far = n, math.Abs(c-s)/c
		}
	}
	if far < 0.01 {
		t.Fatalf("no submitted commit 1%% away from its statistical forecast in %v: nothing to tell", stat)
	}
	c, s := number(t, stat[node]["commit"]), number(t, stat[node]["latest_estimate"])
	for _, k := range []struct {
		name string
		rows map[string]map[string]any
		want float64
	}{{"commit", commit, c}, {"blend", blend, (s + c) / 2}, {"statistical", same, s}} {
		if got := number(t, k.rows[node]["latest_estimate"]); math.Abs(got-k.want) > 0.005*math.Abs(k.want) {
			t.Errorf("%s policy: %s latest estimate %v, want %v (statistical %v, commit %v)", k.name, node, got, k.want, s, c)
		}
	}
}
