package main

import (
	"math"
	"net/url"
	"strings"
	"testing"
)

// TestDriverStory: driver planning in a scenario of the demo plan. A
// planner defines price = net-revenue / units and gross-margin % and, in a
// scenario, raises EMEA's price 3% and lowers its units 2% at constant
// price from October 2026. Net revenue (price × units) rises by
// 1.03 × 0.98 − 1 = +0.94% of its open forecast at EMEA, its countries and
// the world — and nowhere else; units fall 2%; the derived price rises 3%
// month by month and gross-margin % falls as revenue rises with margin
// unchanged; P(target) of revenue rises and of units falls where they
// moved. The plan itself does not change.
func TestDriverStory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo company")
	}
	d := startDemo(t)
	const plan = "/api/v1/plans/" + demoPlan
	const sc = "price-up"
	for id, f := range map[string]string{"price": "net-revenue / units", "gm-pct": "gross-margin / net-revenue", "rev-units": "net-revenue * units"} {
		d.call(t, d.tokens.planner, "POST", plan+"/derived-metrics", map[string]any{"id": id, "name": id, "formula": f}, 200)
	}
	d.call(t, d.tokens.planner, "POST", plan+"/scenarios", map[string]any{"id": sc, "name": "Price +3%, volume −2%"}, 201)
	const span = "2026-10..2027-03"
	assume := func(body map[string]any, want int) map[string]any {
		return d.call(t, d.tokens.planner, "POST", plan+"/scenarios/"+sc+"/assumptions", body, want)
	}
	for _, c := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"metric": "rev-units", "percent": "3"}, "change net-revenue or units instead"},
		{map[string]any{"metric": "price", "amount": "3"}, "by a percentage, not by an amount"},
		{map[string]any{"metric": "price", "percent": "3", "holding": []string{"price"}}, "the shocked metric cannot be held"},
		{map[string]any{"metric": "units", "percent": "-2", "holding": []string{"gross-margin"}}, `holding "gross-margin": plan northwind derives no such metric`},
	} {
		body := map[string]any{"node": "region=emea", "span": span, "reason": "pricing review"}
		for k, v := range c.body {
			body[k] = v
		}
		if p := assume(body, 422); !strings.Contains(p["detail"].(string), c.want) {
			t.Errorf("assume %v: detail %q, want it to say %q", c.body, p["detail"], c.want)
		}
	}

	// The plan's figures before: open latest estimates of the span's
	// months by node, and the FY2027 variance rows.
	rolling := func(metric, node, scenario string) []map[string]any {
		q := url.Values{"metric": {metric}, "node": {node}}
		if scenario != "" {
			q.Set("scenario", scenario)
		}
		return rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/rolling?"+q.Encode(), nil, 200), "periods")
	}
	openLE := func(metric, node string) float64 {
		total := 0.0
		for _, p := range rolling(metric, node, "") {
			if m := p["period"].(string); m >= "2026-10" && m <= "2027-03" && p["closed"] == false {
				total += number(t, p["latest_estimate"])
			}
		}
		return total
	}
	variance := func(metric, level, scenario string) map[string]map[string]any {
		q := url.Values{"metric": {metric}, "year": {"2027"}, "dimension": {"region"}, "level": {level}}
		if scenario != "" {
			q.Set("scenario", scenario)
		}
		out := map[string]map[string]any{}
		for _, r := range rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/variance?"+q.Encode(), nil, 200), "rows") {
			out[r["node"].(string)] = r
		}
		return out
	}
	// Where the drivers move, and whose open forecast sets by how much.
	shocked := map[string]string{"": "region=emea", "region=emea": "region=emea", "region=dach": "region=dach", "region=nordics": "region=nordics", "region=uki": "region=uki"}
	open := map[string]map[string]float64{"net-revenue": {}, "units": {}}
	for metric := range open {
		for node, of := range shocked {
			if open[metric][node] = openLE(metric, of); open[metric][node] <= 0 {
				t.Fatalf("%s of %s: no open forecast in %s", metric, of, span)
			}
		}
	}
	before := map[string]map[string]map[string]any{}
	for _, level := range []string{"0", "1", "2"} {
		for _, metric := range []string{"net-revenue", "units", "gm-pct"} {
			for node, r := range variance(metric, level, "") {
				if before[metric] == nil {
					before[metric] = map[string]map[string]any{}
				}
				before[metric][node] = r
			}
		}
	}

	assume(map[string]any{"metric": "price", "node": "region=emea", "span": span, "percent": "3", "reason": "list prices up 3%"}, 200)
	assume(map[string]any{"metric": "units", "node": "region=emea", "span": span, "percent": "-2", "holding": []string{"price"}, "reason": "volume elasticity"}, 200)

	for _, level := range []string{"0", "1", "2"} {
		for _, m := range []struct {
			metric string
			change float64 // of the open forecast of the span's months
		}{{"net-revenue", 1.03*0.98 - 1}, {"units", -0.02}} {
			plan := variance(m.metric, level, "")
			after := variance(m.metric, level, sc)
			for node, r := range after {
				b := before[m.metric][node]
				if number(t, plan[node]["latest_estimate"]) != number(t, b["latest_estimate"]) {
					t.Errorf("%s of %q: the plan's latest estimate changed with the scenario's drivers", m.metric, node)
				}
				got := number(t, r["latest_estimate"]) - number(t, b["latest_estimate"])
				want := 0.0
				if _, ok := shocked[node]; ok {
					want = m.change * open[m.metric][node]
				}
				if math.Abs(got-want) > 1e-3*math.Abs(want)+1e-6 {
					t.Errorf("level %s %s of %q: latest estimate moved by %v, want %v", level, m.metric, node, got, want)
				}
				if _, ok := shocked[node]; ok && node != "" && r["probability"] != nil && b["probability"] != nil {
					dp := number(t, r["probability"]) - number(t, b["probability"])
					if (m.change > 0 && dp < 0) || (m.change < 0 && dp > 0) {
						t.Errorf("level %s %s of %q: P(target) moved by %v against a %+v change", level, m.metric, node, dp, m.change)
					}
				}
			}
		}
		// Gross-margin %: margin unchanged over more revenue.
		for node, r := range variance("gm-pct", level, sc) {
			b, a := number(t, before["gm-pct"][node]["latest_estimate"]), number(t, r["latest_estimate"])
			if _, ok := shocked[node]; ok && a >= b {
				t.Errorf("level %s gm-pct of %q: %v → %v, want a fall (margin unchanged, revenue up)", level, node, b, a)
			} else if !ok && math.Abs(a-b) > 1e-9 {
				t.Errorf("level %s gm-pct of %q: %v → %v, want no change outside EMEA", level, node, b, a)
			}
		}
	}
	// Net revenue at EMEA's P(target) rises (the demo sets regional
	// targets): the driver change reaches the reconciled plan.
	if b, a := before["net-revenue"]["region=emea"]["probability"], variance("net-revenue", "1", sc)["region=emea"]["probability"]; b == nil || a == nil || number(t, a) <= number(t, b) {
		t.Errorf("EMEA net-revenue P(target) %v → %v, want a rise", b, a)
	}
	// The derived price rises 3% in every open month of the span, at EMEA
	// and at a country.
	for _, node := range []string{"region=emea", "region=dach"} {
		pl, sp := rolling("price", node, ""), rolling("price", node, sc)
		months := 0
		for k, p := range sp {
			m := p["period"].(string)
			if m < "2026-10" || m > "2027-03" || p["closed"] != false {
				continue
			}
			if r := number(t, p["latest_estimate"]) / number(t, pl[k]["latest_estimate"]); math.Abs(r-1.03) > 1e-3 {
				t.Errorf("price of %s in %s: scenario / plan = %v, want 1.03", node, m, r)
			}
			months++
		}
		if months == 0 {
			t.Errorf("price of %s: no open month in %s", node, span)
		}
	}
}
