package main

import (
	"math"
	"net/url"
	"strings"
	"testing"
)

// TestDerivedMetricsStory: a planner defines gross-margin % (a ratio) and a
// product of two measured metrics on the demo plan; the variance answers
// for both at three levels of the region hierarchy: the ratio at every
// node is the ratio of that node's own sums (never a sum of ratios), the
// product at a parent is the sum of its children's (never the product of
// sums), and at a cell it is the sum of the months' products. Bad formulas
// are refused naming the problem; sales may not define metrics.
func TestDerivedMetricsStory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo company")
	}
	d := startDemo(t)
	const plan = "/api/v1/plans/" + demoPlan
	define := func(token string, id, formula string, want int) map[string]any {
		return d.call(t, token, "POST", plan+"/derived-metrics", map[string]any{"id": id, "name": id, "formula": formula}, want)
	}
	define(d.tokens.planner, "gm-pct", "gross-margin / net-revenue", 200)
	define(d.tokens.planner, "rev-units", "net-revenue * units", 200)
	for _, c := range []struct{ token, id, formula, want string }{
		{d.tokens.planner, "x", "gross-margin / sales", `right operand "sales" is not a metric of plan`},
		{d.tokens.planner, "y", "y + units", "refers to the metric itself (a cycle)"},
		{d.tokens.planner, "z", "gm-pct * units", "a product's operands must be measured metrics"},
		{d.tokens.planner, "gm-pct", "gross-margin - units", `derived metric "gm-pct" already`},
		{d.tokens.planner, "w", "units", `want "metric op metric"`},
	} {
		p := define(c.token, c.id, c.formula, 422)
		if !strings.Contains(p["detail"].(string), c.want) {
			t.Errorf("define %s = %s: detail %q, want it to say %q", c.id, c.formula, p["detail"], c.want)
		}
	}
	define(d.tokens.sales, "s", "gross-margin / net-revenue", 403)

	variance := func(metric, level string) []map[string]any {
		q := url.Values{"metric": {metric}, "year": {"2027"}, "dimension": {"region"}, "level": {level}}
		return rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/variance?"+q.Encode(), nil, 200), "rows")
	}
	opt := func(v any) (float64, bool) {
		if v == nil {
			return 0, false
		}
		return number(t, v), true
	}
	le := func(r map[string]any) (float64, bool) {
		return opt(r["latest_estimate"])
	}
	close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b))) }

	// The ratio, at levels 0 (world), 1 (EMEA, Americas, APAC) and 2
	// (countries): each figure is the node's margin over its revenue.
	sumOfRatios := 0.0
	for _, level := range []string{"0", "1", "2"} {
		pct, gm, rev := variance("gm-pct", level), variance("gross-margin", level), variance("net-revenue", level)
		if len(pct) == 0 || len(pct) != len(gm) || len(pct) != len(rev) {
			t.Fatalf("level %s: %d rows of gm-pct, %d of gross-margin, %d of net-revenue", level, len(pct), len(gm), len(rev))
		}
		for k, r := range pct {
			if r["node"] != gm[k]["node"] || r["node"] != rev[k]["node"] {
				t.Fatalf("level %s row %d: nodes %v, %v, %v differ", level, k, r["node"], gm[k]["node"], rev[k]["node"])
			}
			for _, fig := range []string{"actual", "latest_estimate", "plan_to_target", "target"} {
				g, gok := opt(gm[k][fig])
				v, vok := opt(rev[k][fig])
				got, ok := opt(r[fig])
				// A ratio is a percentage, given to the cent of a percent.
				if want := gok && vok && v != 0; ok != want || (ok && math.Abs(got-100*g/v) > 0.005+1e-9) {
					t.Errorf("level %s %s %s = %v, want 100 × %v / %v", level, r["node"], fig, r[fig], gm[k][fig], rev[k][fig])
				}
			}
			if r["probability"] != nil {
				t.Errorf("level %s %s probability = %v, want null (not modelled for a derived metric)", level, r["node"], r["probability"])
			}
			if level == "1" {
				v, _ := opt(r["actual"])
				sumOfRatios += v
			}
		}
		if level == "0" {
			if v, _ := opt(pct[0]["actual"]); v <= 20 || v >= 80 {
				t.Errorf("world gross-margin %% actual = %v, want a margin rate (the demo's lie between 31%% and 78%%)", v)
			}
		}
	}
	if world, _ := opt(variance("gm-pct", "0")[0]["actual"]); close(world, sumOfRatios) {
		t.Errorf("world gross-margin %% = %v = the sum of its regions' ratios; want the ratio of its sums", world)
	}

	// The product: a parent's is the sum of its children's, at every level.
	byNode := map[string]map[string]any{}
	for _, level := range []string{"0", "1", "2"} {
		for _, r := range variance("rev-units", level) {
			byNode[r["node"].(string)] = r
		}
	}
	children := map[string][]string{}
	for child, parent := range regionParent {
		children[parent] = append(children[parent], child)
	}
	for _, fig := range []string{"actual", "latest_estimate"} {
		checked := 0
		for parent, kids := range children {
			pnode := "region=" + parent
			if parent == "" || parent == "world" {
				pnode = ""
			}
			pr, ok := byNode[pnode]
			if !ok {
				continue
			}
			want := 0.0
			for _, k := range kids {
				v, ok := opt(byNode["region="+k][fig])
				if !ok {
					t.Fatalf("rev-units %s of region=%s is null", fig, k)
				}
				want += v
			}
			if got, _ := opt(pr[fig]); !close(got, want) {
				t.Errorf("rev-units %s of %q = %v, want the sum of its children's %v", fig, pnode, got, want)
			}
			checked++
		}
		if checked < 2 {
			t.Errorf("rev-units %s: checked %d parents, want the world and the regions", fig, checked)
		}
	}
	world := byNode[""]
	rev, units := variance("net-revenue", "0")[0], variance("units", "0")[0]
	if got, prod := number(t, world["actual"]), number(t, rev["actual"])*number(t, units["actual"]); close(got, prod) || got >= prod {
		t.Errorf("world rev-units actual = %v, the product of the sums is %v: want the (smaller) sum of the cells' products", got, prod)
	}

	// At a cell, the year's product is the sum over the months of each
	// month's product (actual when closed, latest estimate when open).
	const cell = "bu=industrial;product=pumps;region=dach"
	monthly := func(metric string) map[string]float64 {
		q := url.Values{"metric": {metric}, "node": {cell}}
		out := map[string]float64{}
		for _, p := range rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/rolling?"+q.Encode(), nil, 200), "periods") {
			if v, ok := le(p); ok {
				out[p["period"].(string)] = v
			}
		}
		return out
	}
	mr, mu := monthly("net-revenue"), monthly("units")
	q := url.Values{"metric": {"rev-units"}, "year": {"2027"}, "dimension": {"region"}, "node": {cell}, "parent": {"dach"}}
	cr := rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/variance?"+q.Encode(), nil, 200), "rows")[0]
	// The rolling plan's monthly figures are given to the cent: the sum of
	// their products is exact to within what that rounding can move it.
	want, tol, months := 0.0, 0.0, 0
	for _, m := range []string{"2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12", "2027-01", "2027-02", "2027-03"} {
		r, rok := mr[m]
		u, uok := mu[m]
		if rok && uok {
			want += r * u
			tol += 0.005 * (math.Abs(r) + math.Abs(u))
			months++
		}
	}
	if months != 12 {
		t.Fatalf("the rolling plan of %s answers %d months of FY2027 (%v), want 12", cell, months, mr)
	}
	// The rolling plan answers for both, month by month: the product of
	// the cell's months, and the ratio of a region's.
	for _, p := range rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/rolling?"+url.Values{"metric": {"rev-units"}, "node": {cell}}.Encode(), nil, 200), "periods") {
		m := p["period"].(string)
		got, ok := le(p)
		r, u := mr[m], mu[m]
		if !ok || math.Abs(got-r*u) > 0.005*(math.Abs(r)+math.Abs(u))+0.005 {
			t.Errorf("rolling rev-units of %s in %s = %v, want %v × %v", cell, m, p["latest_estimate"], r, u)
		}
	}
	ratioMonths := func(metric string) []map[string]any {
		return rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/rolling?"+url.Values{"metric": {metric}, "node": {"region=emea"}}.Encode(), nil, 200), "periods")
	}
	pm, gm, rm := ratioMonths("gm-pct"), ratioMonths("gross-margin"), ratioMonths("net-revenue")
	if len(pm) == 0 || len(pm) != len(gm) || len(pm) != len(rm) {
		t.Fatalf("rolling of EMEA: %d months of gm-pct, %d of gross-margin, %d of net-revenue", len(pm), len(gm), len(rm))
	}
	for k, p := range pm {
		got, ok := le(p)
		g, _ := le(gm[k])
		r, _ := le(rm[k])
		if !ok || math.Abs(got-100*g/r) > 0.005+1e-9 {
			t.Errorf("rolling gm-pct of EMEA in %s = %v, want 100 × %v / %v", p["period"], p["latest_estimate"], g, r)
		}
	}
	if got, _ := le(cr); cr["node"] != cell || math.Abs(got-want) > tol {
		t.Errorf("rev-units latest estimate of %s = %v (row %v), want the sum of the months' products %v ± %v", cell, got, cr["node"], want, tol)
	}
}
