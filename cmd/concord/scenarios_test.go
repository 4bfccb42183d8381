package main

import (
	"math"
	"net/url"
	"strings"
	"testing"
)

// TestScenarioStory: a planner opens a scenario of the demo plan at the
// tag and moves 2 M of the industrial target from DACH to North America
// in it; the plan is unchanged while the scenario's reads and the
// comparison show the move (target and P(target) change where the target
// moved, nothing where it did not); promoting makes one
// proposal on the plan, which another planner approves, and the plan's
// history names the scenario.
func TestScenarioStory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo company")
	}
	d := startDemo(t)
	const plan = "/api/v1/plans/" + demoPlan
	const sc = "dach-to-americas"
	variance := func(extra url.Values) map[string]map[string]any {
		q := url.Values{"metric": {"net-revenue"}, "year": {"2027"}, "dimension": {"region"}, "level": {"2"}}
		for k, v := range extra {
			q[k] = v
		}
		out := map[string]map[string]any{}
		for _, r := range rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/variance?"+q.Encode(), nil, 200), "rows") {
			out[r["node"].(string)] = r
		}
		return out
	}
	before := variance(nil)

	// The scenario branches from a tag: it sees the log as it was there
	// (the commits and forecasts since are not in it).
	const tag = "tag:Q2 reforecast FY27"
	opened := d.call(t, d.tokens.planner, "POST", plan+"/scenarios", map[string]any{"id": sc, "name": "Industrial: DACH to the Americas",
		"from": tag}, 201)
	if opened["id"] != sc || !strings.HasPrefix(opened["stream"].(string), "scenarios-") {
		t.Fatalf("open = %v, want scenario %s in the plan's scenario stream", opened, sc)
	}
	d.call(t, d.tokens.planner, "POST", plan+"/scenarios", map[string]any{"id": sc, "name": "again"}, 409)
	d.call(t, d.tokens.planner, "POST", plan+"/scenarios", map[string]any{"id": "nope", "name": "x", "from": "tag:no such tag"}, 400)

	moves := []map[string]any{
		{"node": "bu=industrial;region=dach", "delta": "-2000000"}, {"node": "region=dach", "delta": "-2000000"}, {"node": "region=emea", "delta": "-2000000"},
		{"node": "bu=industrial;region=north-america", "delta": "2000000"}, {"node": "region=north-america", "delta": "2000000"}, {"node": "region=americas", "delta": "2000000"},
	}
	// Sales, scoped to EMEA, may not move North America's target, even in a scenario.
	d.call(t, d.tokens.sales, "POST", plan+"/scenarios/"+sc+"/reallocations", map[string]any{"metric": "net-revenue", "span": "FY2027", "moves": moves, "reason": "not mine"}, 403)
	d.call(t, d.tokens.planner, "POST", plan+"/scenarios/"+sc+"/reallocations", map[string]any{"metric": "net-revenue", "span": "FY2027",
		"moves": moves, "reason": "what if DACH industrial demand moves to North America"}, 200)

	// The plan is unchanged; the scenario shows the move.
	now := variance(nil)
	inScenario := variance(url.Values{"scenario": {sc}})
	for node, delta := range map[string]float64{"region=dach": -2e6, "region=north-america": 2e6, "region=nordics": 0, "region=uki": 0, "region=asia-pacific": 0} {
		planT, scT := number(t, now[node]["target"]), number(t, inScenario[node]["target"])
		if planT != number(t, before[node]["target"]) {
			t.Errorf("plan target of %s moved from %v to %v while only the scenario changed", node, before[node]["target"], planT)
		}
		if scT-planT != delta {
			t.Errorf("scenario target of %s = %v, plan %v: want a difference of %v", node, scT, planT, delta)
		}
	}

	// Compare with the plan at the scenario's base: per node and period,
	// the difference and the change in P are the scenario's own.
	cq := url.Values{"scenarios": {sc}, "metric": {"net-revenue"}, "year": {"2027"}, "dimension": {"region"}, "parent": {"emea"}, "as_of": {tag}}
	cmp := d.call(t, d.tokens.viewer, "GET", plan+"/compare?"+cq.Encode(), nil, 200)
	if sides := rows(t, cmp, "sides"); len(sides) != 2 || sides[1]["scenario"] != sc {
		t.Fatalf("compare sides = %v, want the plan and %s", sides, sc)
	}
	var dachFY, nordicsFY map[string]any
	for _, r := range rows(t, cmp, "rows") {
		if r["period"].(map[string]any)["label"] != "FY2027" {
			continue
		}
		switch r["node"] {
		case "region=dach":
			dachFY = r
		case "region=nordics":
			nordicsFY = r
		}
	}
	if dachFY == nil || nordicsFY == nil {
		t.Fatalf("compare has no FY2027 rows for DACH and Nordics: %v", cmp["rows"])
	}
	dachSc := dachFY["scenarios"].([]any)[0].(map[string]any)
	if number(t, dachSc["target_change"]) != -2e6 || number(t, dachSc["probability_change"]) <= 0 || dachFY["changed"] != true {
		t.Errorf("DACH FY2027 in the scenario = %v: want the target 2 M lower and P(target) higher", dachSc)
	}
	nordicsSc := nordicsFY["scenarios"].([]any)[0].(map[string]any)
	if number(t, nordicsSc["target_change"]) != 0 || math.Abs(number(t, nordicsSc["probability_change"])) > 1e-9 ||
		math.Abs(number(t, nordicsSc["latest_estimate_change"])) > 1e-6 || nordicsFY["changed"] != false {
		t.Errorf("Nordics FY2027 in the scenario = %v: want nothing changed", nordicsSc)
	}

	// The scenario's history: the plan's up to the tag, then its own moves.
	hist := rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/history?"+url.Values{"scenario": {sc}, "limit": {"10"}}.Encode(), nil, 200), "items")
	if len(hist) == 0 || hist[0]["type"] != "scenario.TargetRevised" || !strings.Contains(hist[0]["summary"].(string), "Scenario "+sc) {
		t.Errorf("scenario history starts with %v, want its own revisions", hist[:min(1, len(hist))])
	}

	// Promote: the pending EMEA reallocation moves DACH, so first it is refused.
	d.call(t, d.tokens.planner, "POST", plan+"/scenarios/"+sc+"/promote", map[string]any{"reason": "board asked for it"}, 409)
	d.call(t, d.tokens.planner, "POST", plan+"/reallocations/emea-shift-FY2027/reject", map[string]any{"reason": "superseded by the scenario"}, 200)
	promoted := d.call(t, d.tokens.planner, "POST", plan+"/scenarios/"+sc+"/promote", map[string]any{"reason": "board asked for it"}, 201)
	pid := promoted["id"].(string)
	if pid != "scenario-"+sc {
		t.Fatalf("promote = %v, want proposal scenario-%s", promoted, sc)
	}
	if v := variance(nil); number(t, v["region=dach"]["target"]) != number(t, before["region=dach"]["target"]) {
		t.Errorf("the plan changed on promotion, before approval: DACH %v", v["region=dach"]["target"])
	}
	proposals := rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/reallocations?status=proposed", nil, 200), "reallocations")
	p := byField(t, proposals, "id", pid)
	if p["scenario"] != sc || len(p["changes"].([]any)) != len(moves) {
		t.Errorf("proposal = %v, want the scenario's %d changes", p, len(moves))
	}
	listed := d.call(t, d.tokens.viewer, "GET", plan+"/scenarios/"+sc, nil, 200)
	if listed["status"] != "promoted" || listed["proposal"] != pid {
		t.Errorf("scenario after promotion = %v", listed)
	}
	d.call(t, d.tokens.planner, "POST", plan+"/scenarios/"+sc+"/reallocations", map[string]any{"metric": "net-revenue", "span": "FY2027", "moves": moves, "reason": "again"}, 409)

	// The normal approval: not by the proposer.
	d.call(t, d.tokens.planner, "POST", plan+"/reallocations/"+pid+"/approve", map[string]any{}, 403)
	d.call(t, d.tokens.admin, "POST", plan+"/reallocations/"+pid+"/approve", map[string]any{"comment": "ok"}, 200)
	after := variance(nil)
	for node, delta := range map[string]float64{"region=dach": -2e6, "region=north-america": 2e6, "region=nordics": 0} {
		if got := number(t, after[node]["target"]) - number(t, before[node]["target"]); got != delta {
			t.Errorf("plan target of %s moved by %v after approval, want %v", node, got, delta)
		}
	}
	hq := url.Values{"node": {"region=dach"}, "type": {"plan.TargetRevised"}, "limit": {"5"}}
	revs := rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/history?"+hq.Encode(), nil, 200), "items")
	if len(revs) == 0 || !strings.Contains(revs[0]["reason"].(string), "scenario "+sc) {
		t.Errorf("the plan's latest DACH revision = %v, want its reason to name scenario %s", revs[:min(1, len(revs))], sc)
	}
}
