package main

import (
	"math"
	"net/url"
	"strings"
	"testing"
)

// TestShockStory: a planner opens a scenario of the demo plan and assumes
// that APAC's net revenue slips 10% from Q3 (October 2026); comparing it
// with the plan, the latest estimate and P(target) change for APAC, its
// country and the world, and nowhere else; the closed months and the plan
// itself do not change. The shock's size is 10% of APAC's forecast of the
// open months of the span.
func TestShockStory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo company")
	}
	d := startDemo(t)
	const plan = "/api/v1/plans/" + demoPlan
	const sc = "apac-slips"
	d.call(t, d.tokens.planner, "POST", plan+"/scenarios", map[string]any{"id": sc, "name": "APAC slips 10% from Q3"}, 201)
	shock := map[string]any{"metric": "net-revenue", "node": "region=apac", "span": "2026-10..2027-03", "percent": "-10", "reason": "APAC distributor loses a key account"}
	for _, c := range []struct {
		field, value, want string
	}{
		{"metric", "sales", `metric "sales"`},
		{"node", "region=atlantis", "atlantis"},
		{"percent", "-100", "−100% or less"},
		{"amount", "5", "exactly one of them"},
	} {
		bad := map[string]any{}
		for k, v := range shock {
			bad[k] = v
		}
		bad[c.field] = c.value
		p := d.call(t, d.tokens.planner, "POST", plan+"/scenarios/"+sc+"/assumptions", bad, 422)
		if !strings.Contains(p["detail"].(string), c.want) {
			t.Errorf("shock with %s %q: detail %q, want it to say %q", c.field, c.value, p["detail"], c.want)
		}
	}
	// Sales scoped to EMEA may not shock APAC.
	d.call(t, d.tokens.sales, "POST", plan+"/scenarios/"+sc+"/assumptions", shock, 403)

	openLE := 0.0 // the plan's APAC forecast of the shocked months still open
	for _, p := range rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/rolling?"+url.Values{"metric": {"net-revenue"}, "node": {"region=apac"}}.Encode(), nil, 200), "periods") {
		if m := p["period"].(string); m >= "2026-10" && m <= "2027-03" && p["closed"] == false {
			openLE += number(t, p["latest_estimate"])
		}
	}
	if openLE <= 0 {
		t.Fatalf("APAC has no open forecast in the shocked months")
	}
	before := d.call(t, d.tokens.viewer, "GET", plan+"/variance?metric=net-revenue&year=2027&dimension=region&level=1", nil, 200)
	d.call(t, d.tokens.planner, "POST", plan+"/scenarios/"+sc+"/assumptions", shock, 200)
	after := d.call(t, d.tokens.viewer, "GET", plan+"/variance?metric=net-revenue&year=2027&dimension=region&level=1", nil, 200)
	if b, a := rows(t, before, "rows"), rows(t, after, "rows"); len(b) != len(a) || number(t, b[0]["latest_estimate"]) != number(t, a[0]["latest_estimate"]) {
		t.Errorf("the plan's variance changed with a scenario's assumption: %v → %v", b[0], a[0])
	}

	changes := map[string]map[string]any{} // node → the scenario's FY2027 figures
	for _, parent := range []string{"world", "emea", "americas", "apac"} {
		q := url.Values{"scenarios": {sc}, "metric": {"net-revenue"}, "year": {"2027"}, "dimension": {"region"}, "parent": {parent}}
		for _, r := range rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/compare?"+q.Encode(), nil, 200), "rows") {
			f := r["scenarios"].([]any)[0].(map[string]any)
			switch r["period"].(map[string]any)["label"] {
			case "FY2027":
				changes[r["node"].(string)] = f
			case "FY2027-Q1", "FY2027-Q2":
				if v := number(t, f["latest_estimate_change"]); v != 0 {
					t.Errorf("%s %v: latest estimate changed by %v in a closed quarter before the shock", r["node"], r["period"], v)
				}
			}
		}
	}
	for _, node := range []string{"", "region=apac", "region=asia-pacific"} {
		f, ok := changes[node]
		if !ok {
			t.Fatalf("compare has no FY2027 row for %q: %v", node, changes)
		}
		if got, want := number(t, f["latest_estimate_change"]), -0.1*openLE; math.Abs(got-want) > 1e-3*math.Abs(want) {
			t.Errorf("%q: latest estimate change %v, want 10%% of APAC's open forecast, %v", node, got, want)
		}
		if f["probability_change"] != nil && number(t, f["probability_change"]) > 0 {
			t.Errorf("%q: P(target) rose by %v with a negative shock", node, f["probability_change"])
		}
	}
	if number(t, changes["region=apac"]["probability_change"]) >= 0 {
		t.Errorf("APAC P(target) change %v, want a fall", changes["region=apac"]["probability_change"])
	}
	for _, node := range []string{"region=emea", "region=americas", "region=dach", "region=nordics", "region=uki", "region=north-america", "region=latam"} {
		f, ok := changes[node]
		if !ok {
			t.Fatalf("compare has no FY2027 row for %q", node)
		}
		if v := number(t, f["latest_estimate_change"]); math.Abs(v) > 1e-6 {
			t.Errorf("%s: latest estimate changed by %v; the shock is APAC's", node, v)
		}
		if v := f["probability_change"]; v != nil && math.Abs(number(t, v)) > 1e-9 {
			t.Errorf("%s: P(target) changed by %v; the shock is APAC's", node, v)
		}
	}
	// The history of the scenario names the assumption.
	hist := rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/history?"+url.Values{"scenario": {sc}, "limit": {"3"}}.Encode(), nil, 200), "items")
	if len(hist) == 0 || hist[0]["type"] != "scenario.ShockAssumed" || !strings.Contains(hist[0]["summary"].(string), "shocked -10%") || hist[0]["actor"] == "" {
		t.Errorf("scenario history starts with %v, want the shock", hist[:min(1, len(hist))])
	}
	for _, it := range rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/history?limit=20", nil, 200), "items") {
		if it["type"] == "scenario.ShockAssumed" {
			t.Errorf("the plan's history lists the scenario's assumption %v; it is the scenario's own", it)
		}
	}
}
