package api_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/concord-planning/concord/api"
	"github.com/concord-planning/concord/projections/view"
)

// The standard normal quantiles the query side reads intervals with.
const (
	z95 = 1.959963984540054
	z80 = 1.2815515655446004
)

// company is the small seeded company of the query tests, on the env
// fixture (region: world > emea > de, fr; amer > us; product: all >
// pumps, valves), plan fy27 (fiscal years from April: FY2027 is 2026-04 …
// 2027-03):
//
//   - revenue actuals for 2026-04, -05 and -06, closed: de×pumps 30,000.00,
//     fr×pumps 20,000.00, us×valves 25,000.00 each month (the other cells
//     none);
//   - one published forecast of every cell for 2026-07 … 2027-03 (nine
//     months), a constant mean per cell (de×pumps 32,000, de×valves 8,000,
//     fr×pumps 21,000, fr×valves 5,000, us×pumps 12,000, us×valves 26,000)
//     and intervals of a normal with σ = 10,000 per cell-month;
//   - FY2027 revenue targets: total 1,200,000 revised to 1,250,000 (at
//     position revised), EMEA 800,000;
//   - sam's (sales, EMEA) commit for EMEA FY2027: 780,000.
type company struct {
	beforeRevision string // the log position just before the revision
}

// By hand, FY2027 revenue:
//
//	actuals to date: total 3×75,000 = 225,000; EMEA 3×50,000 = 150,000;
//	  Americas 3×25,000 = 75,000
//	forecast = actuals + 9 open months × Σ cell means:
//	  total 225,000 + 9×104,000 = 1,161,000; EMEA 150,000 + 9×66,000 = 744,000;
//	  Americas 75,000 + 9×38,000 = 417,000
//	σ of a total: √(cells × 9) × 10,000: total √54 × 10⁴, EMEA √36 × 10⁴ = 60,000
//	gap = target − forecast: total 89,000; EMEA 56,000
//	latest estimate = actuals + the coherent forecast = the forecast here
//	  (never the target); gap to commit (EMEA) = 780,000 − 744,000 = 36,000
//	plan to target = the reconciled plan, which meets both targets: total
//	  1,250,000; EMEA 800,000; Americas 450,000 (the rest)
//	P(reaching the target) = P(N(forecast, σ²) ≥ target) = ½·erfc(gap / (σ√2))
const (
	sigma      = 10000.0
	openMonths = 9
)

var cellMeans = map[string]float64{
	"region=de;product=pumps": 32000, "region=de;product=valves": 8000,
	"region=fr;product=pumps": 21000, "region=fr;product=valves": 5000,
	"region=us;product=pumps": 12000, "region=us;product=valves": 26000,
}

func pAbove(mean, sd, target float64) float64 { return 0.5 * math.Erfc((target-mean)/(sd*math.Sqrt2)) }

func (e *env) seedCompany() company {
	e.t.Helper()
	e.openPlan()
	ok := func(w interface{ Result() *http.Response }, what string) {
		e.t.Helper()
		if code := w.Result().StatusCode; code >= 300 {
			e.t.Fatalf("seeding, %s: %d", what, code)
		}
	}
	for _, per := range []string{"2026-04", "2026-05", "2026-06"} {
		body := fmt.Sprintf(`{"import_id":"erp-%s","rows":[
			{"cell":"region=de;product=pumps","metric":"revenue","period":"%[1]s","amount":"30000.00"},
			{"cell":"region=fr;product=pumps","metric":"revenue","period":"%[1]s","amount":"20000.00"},
			{"cell":"region=us;product=valves","metric":"revenue","period":"%[1]s","amount":"25000.00"}]}`, per)
		ok(e.do(req{method: "POST", path: "/api/v1/plans/fy27/actuals", as: "alice", body: body}), "actuals "+per)
		ok(e.do(req{method: "POST", path: "/api/v1/periods/" + per + "/close", as: "alice",
			body: `{"allow_missing":true,"reason":"the ERP sends only the cells that sold"}`}), "close "+per)
	}
	var ss []map[string]any
	for node, m := range cellMeans {
		s := map[string]any{"node": node, "first": "2026-07"}
		for k, v := range map[string]float64{"mean": m, "lo80": m - z80*sigma, "hi80": m + z80*sigma, "lo95": m - z95*sigma, "hi95": m + z95*sigma} {
			vals := make([]float64, openMonths)
			for i := range vals {
				vals[i] = v
			}
			s[k] = vals
		}
		ss = append(ss, s)
	}
	fc, _ := json.Marshal(map[string]any{"run_id": "f1", "metric": "revenue", "data_position": e.head().String(), "model": map[string]any{}, "series": ss})
	ok(e.do(req{method: "POST", path: "/api/v1/plans/fy27/forecasts", as: "alice", body: string(fc)}), "forecast")
	for _, t := range [][2]string{{"", "1200000"}, {"region=emea", "800000"}} {
		ok(e.do(req{method: "POST", path: "/api/v1/plans/fy27/targets/set", as: "alice",
			body: `{"node":"` + t[0] + `","metric":"revenue","span":"FY2027","amount":"` + t[1] + `","reason":"budget"}`}), "target "+t[0])
	}
	ok(e.do(req{method: "POST", path: "/api/v1/plans/fy27/commits", as: "sam",
		body: `{"id":"c1","node":"region=emea","metric":"revenue","span":"FY2027","amount":"780000","confidence":"commit","comment":"pipeline"}`}), "commit")
	c := company{beforeRevision: e.head().String()}
	ok(e.do(req{method: "POST", path: "/api/v1/plans/fy27/targets/revise", as: "alice",
		body: `{"node":"","metric":"revenue","span":"FY2027","amount":"1250000","reason":"board raised the bar"}`}), "revision")
	return c
}

// getJSON GETs path as who, wants 200, and decodes the body into v.
func (e *env) getJSON(path, who string, v any) {
	e.t.Helper()
	w := e.do(req{method: "GET", path: path, as: who})
	if w.Code != http.StatusOK {
		e.t.Fatalf("GET %s = %d %s", path, w.Code, w.Body.String())
	}
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
}

func num[T ~float64](p *T) float64 {
	if p == nil {
		return math.NaN()
	}
	return float64(*p)
}

func str(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// TestVarianceOfSeededCompany pins the overview table of the seeded
// company to the figures computed by hand (see company).
func TestVarianceOfSeededCompany(t *testing.T) {
	e := newEnv(t, api.Config{})
	e.seedCompany()
	var v view.Variance
	e.getJSON("/api/v1/plans/fy27/variance?metric=revenue&year=2027", "vera", &v)
	if v.ClosedThrough != "2026-06" || v.Span.First != "2026-04" || v.Span.Last != "2027-03" || v.Parent != "world" {
		t.Errorf("variance header = closed through %q, span %+v, parent %q; want 2026-06, 2026-04..2027-03, world", v.ClosedThrough, v.Span, v.Parent)
	}
	if len(v.Conflicts) != 0 {
		t.Errorf("conflicts = %v, want none", v.Conflicts)
	}
	rows := map[string]view.VarianceRow{}
	for _, r := range v.Rows {
		rows[r.Member] = r
	}
	if len(v.Rows) != 3 || !v.Rows[0].ParentRow || v.Rows[0].Member != "world" {
		t.Fatalf("rows = %d (first %+v), want world (parent row), emea, amer", len(v.Rows), v.Rows[0])
	}
	sdTotal, sdEMEA := math.Sqrt(54)*sigma, math.Sqrt(36)*sigma
	// The latest estimate is the actuals plus the coherent statistical
	// forecast (never the target, as it was before issue 13); the plan to
	// target is what meets the targets; EMEA's gap to commit is its
	// commit less its latest estimate.
	tests := []struct {
		member, target, actual, commit                    string
		forecast, sd, le, planToTarget, gap, gapCommit, p float64
	}{
		{"world", "1250000", "225000.00", "<null>", 1161000, sdTotal, 1161000, 1250000, 89000, math.NaN(), pAbove(1161000, sdTotal, 1250000)},
		{"emea", "800000", "150000.00", "780000", 744000, sdEMEA, 744000, 800000, 56000, 780000 - 744000, pAbove(744000, sdEMEA, 800000)},
		{"amer", "<null>", "75000.00", "<null>", 417000, math.Sqrt(18) * sigma, 417000, 450000, math.NaN(), math.NaN(), math.NaN()},
	}
	for _, tc := range tests {
		r, ok := rows[tc.member]
		if !ok {
			t.Errorf("no row for %s", tc.member)
			continue
		}
		if str(r.Target) != tc.target || str(r.Actual) != tc.actual || str(r.Commit) != tc.commit {
			t.Errorf("%s: target %s, actual %s, commit %s; want %s, %s, %s", tc.member, str(r.Target), str(r.Actual), str(r.Commit), tc.target, tc.actual, tc.commit)
		}
		if r.Forecast == nil || !near(float64(r.Forecast.Mean), tc.forecast, 1e-6) {
			t.Errorf("%s: forecast %+v, want mean %v", tc.member, r.Forecast, tc.forecast)
		} else if lo, hi := float64(r.Forecast.Lo95), float64(r.Forecast.Hi95); !near(lo, tc.forecast-z95*tc.sd, 1e-3) || !near(hi, tc.forecast+z95*tc.sd, 1e-3) {
			t.Errorf("%s: 95%% interval [%v, %v], want %v ± %v·%v", tc.member, lo, hi, tc.forecast, z95, tc.sd)
		}
		if !near(num(r.StdDev), tc.sd, 0.005) {
			t.Errorf("%s: std_dev %v, want %v", tc.member, num(r.StdDev), tc.sd)
		}
		if !near(num(r.LatestEstimate), tc.le, 0.005) {
			t.Errorf("%s: latest estimate %v, want %v", tc.member, num(r.LatestEstimate), tc.le)
		}
		if !near(num(r.PlanToTarget), tc.planToTarget, 0.005) {
			t.Errorf("%s: plan to target %v, want %v", tc.member, num(r.PlanToTarget), tc.planToTarget)
		}
		if got := num(r.GapToCommit); !(math.IsNaN(tc.gapCommit) && math.IsNaN(got)) && !near(got, tc.gapCommit, 0.005) {
			t.Errorf("%s: gap to commit %v, want %v", tc.member, got, tc.gapCommit)
		}
		if math.IsNaN(tc.gap) {
			if r.Gap != nil || r.Probability != nil {
				t.Errorf("%s has no target: gap %v, probability %v, want null", tc.member, num(r.Gap), num(r.Probability))
			}
			continue
		}
		if !near(num(r.Gap), tc.gap, 1e-6) {
			t.Errorf("%s: gap %v, want %v", tc.member, num(r.Gap), tc.gap)
		}
		if !near(num(r.Probability), tc.p, 1e-9) {
			t.Errorf("%s: probability %v, want %v", tc.member, num(r.Probability), tc.p)
		}
	}
	// EMEA's row drills to DACH's siblings: de and fr, with EMEA first.
	e.getJSON("/api/v1/plans/fy27/variance?parent=emea&cross=product", "vera", &v)
	if len(v.Rows) != 3 || v.Rows[1].Member != "de" || v.Rows[2].Member != "fr" || len(v.Columns) != 2 {
		t.Fatalf("drill into EMEA: %d rows, %d columns", len(v.Rows), len(v.Columns))
	}
	if de := v.Rows[1]; str(de.Actual) != "90000.00" || !near(float64(de.Forecast.Mean), 90000+9*40000, 1e-6) {
		t.Errorf("de: actual %s, forecast %v; want 90000.00, 450000", str(de.Actual), de.Forecast.Mean)
	}
	if c := v.Rows[1].Cells[0]; c.Node != "product=pumps;region=de" {
		t.Errorf("de's first heat cell is %q, want product=pumps;region=de", c.Node)
	}
}

// TestQueryAsOf: the state before the revision shows the old target; the
// diff and the history show the revision.
func TestQueryAsOf(t *testing.T) {
	e := newEnv(t, api.Config{})
	c := e.seedCompany()
	var v view.Variance
	e.getJSON("/api/v1/plans/fy27/variance?as_of="+c.beforeRevision, "vera", &v)
	if str(v.Rows[0].Target) != "1200000" || v.AsOf.Position != c.beforeRevision {
		t.Errorf("as of %s: total target %s (as of %s), want 1200000", c.beforeRevision, str(v.Rows[0].Target), v.AsOf.Position)
	}
	if !near(num(v.Rows[0].Gap), 1200000-1161000, 1e-6) {
		t.Errorf("as of %s: gap %v, want 39000", c.beforeRevision, num(v.Rows[0].Gap))
	}
	var d view.Diff
	e.getJSON("/api/v1/plans/fy27/diff?from="+c.beforeRevision, "vera", &d)
	if len(d.Changes) != 1 || d.Changes[0].Kind != "changed" || d.Changes[0].Delta != "50000" || str(d.Changes[0].From) != "1200000" {
		t.Errorf("diff since %s = %+v, want the one revision of +50000", c.beforeRevision, d.Changes)
	}
	var h view.History
	e.getJSON("/api/v1/plans/fy27/history?type=plan.TargetRevised", "vera", &h)
	if len(h.Items) != 1 || str(h.Items[0].From) != "1200000" || str(h.Items[0].To) != "1250000" || h.Items[0].Actor != "token:alice" || h.Items[0].Reason != "board raised the bar" {
		t.Errorf("revisions = %+v, want alice's one", h.Items)
	}
	// A tag names a version wherever as_of is taken; the list of plans
	// honours as_of too.
	tagged := e.head().String() // the version a tag made now names
	if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/tags", as: "alice", body: `{"tag":"Budget FY27"}`}); w.Code != 200 {
		t.Fatalf("tag = %d: %s", w.Code, w.Body.String())
	}
	var byTag, byPos view.PlanDetail
	e.getJSON("/api/v1/plans/fy27/summary?as_of=tag:Budget%20FY27", "vera", &byTag)
	e.getJSON("/api/v1/plans/fy27/summary?as_of="+tagged, "vera", &byPos)
	if byTag.AsOf.Position == "" || byTag.AsOf.Position != byPos.AsOf.Position || byTag.AsOf.Position != tagged {
		t.Errorf("summary as of tag:Budget FY27 at %s with tags %+v, want the version tagged, at %s", byTag.AsOf.Position, byTag.Tags, tagged)
	}
	var none, now struct{ Plans []view.PlanSummary }
	e.getJSON("/api/v1/plans?as_of=1", "vera", &none)
	e.getJSON("/api/v1/plans", "vera", &now)
	if len(none.Plans) != 0 || len(now.Plans) != 1 {
		t.Errorf("plans as of 1: %d, now: %d; want 0 and 1", len(none.Plans), len(now.Plans))
	}
	var s view.PlanDetail
	e.getJSON("/api/v1/plans/fy27/summary", "vera", &s)
	if s.ClosedThrough != "2026-06" || len(s.Dimensions) != 2 || s.Horizon.First != "2026-07" {
		t.Errorf("summary: closed through %q, %d dimensions, horizon %+v; want 2026-06, 2, from 2026-07 (rolled)", s.ClosedThrough, len(s.Dimensions), s.Horizon)
	}
}

// TestRollingOfSeededCompany: the window starts with the fiscal year, so
// EMEA's three closed FY2027 months come first, with their actuals; its
// open months sum to its target less its actuals once reconciled, and each
// month's forecast is the sum of its cells' means.
func TestRollingOfSeededCompany(t *testing.T) {
	e := newEnv(t, api.Config{})
	e.seedCompany()
	var r view.Rolling
	e.getJSON("/api/v1/plans/fy27/rolling?node=region%3Demea", "vera", &r)
	var rec float64
	months, closed := 0, 0
	for _, p := range r.Periods {
		if p.Period > "2027-03" {
			continue
		}
		if p.Closed {
			if closed++; p.Actual == nil || p.Forecast != nil {
				t.Errorf("%s (closed): actual %v, forecast %+v; want an actual and no forecast", p.Period, p.Actual, p.Forecast)
			}
			continue
		}
		months++
		if p.Forecast == nil || !near(float64(p.Forecast.Mean), 66000, 1e-6) {
			t.Errorf("%s: forecast %+v, want 66000", p.Period, p.Forecast)
		}
		rec += num(p.PlanToTarget)
	}
	if closed != 12-openMonths || r.Window.First != "2026-04" {
		t.Errorf("EMEA: window %+v with %d closed FY2027 months, want from 2026-04, %d", r.Window, closed, 12-openMonths)
	}
	if months != openMonths || !near(rec, 800000-150000, 0.005*openMonths) {
		t.Errorf("EMEA: %d open FY2027 months reconciled to %v, want 9 months, 650000", months, rec)
	}
	if len(r.Targets) != 1 || r.Targets[0].Amount != "800000" {
		t.Errorf("targets = %+v, want EMEA's 800000", r.Targets)
	}
}

// TestQueryCSV: every table comes as CSV on ?format=csv or Accept:
// text/csv, with a header row and the JSON's values.
func TestQueryCSV(t *testing.T) {
	e := newEnv(t, api.Config{})
	e.seedCompany()
	for _, r := range []req{
		{method: "GET", path: "/api/v1/plans/fy27/variance?format=csv", as: "vera"},
		{method: "GET", path: "/api/v1/plans/fy27/variance", as: "vera", header: map[string]string{"Accept": "text/csv"}},
	} {
		w := e.do(r)
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") {
			t.Fatalf("%v = %d %s", r.header, w.Code, w.Header().Get("Content-Type"))
		}
		recs, err := csv.NewReader(w.Body).ReadAll()
		if err != nil || len(recs) != 4 {
			t.Fatalf("CSV: %d records, %v; want a header and 3 rows", len(recs), err)
		}
		col := map[string]int{}
		for k, h := range recs[0] {
			col[h] = k
		}
		for _, h := range []string{"node", "target", "actual", "forecast_mean", "forecast_lo95", "gap", "probability"} {
			if _, ok := col[h]; !ok {
				t.Errorf("CSV header %v lacks %s", recs[0], h)
			}
		}
		if emea := recs[2]; emea[col["node"]] != "region=emea" || emea[col["target"]] != "800000" || emea[col["gap"]] != "56000" || emea[col["forecast_mean"]] != "744000" {
			t.Errorf("EMEA row = %v", emea)
		}
		if amer := recs[3]; amer[col["target"]] != "" {
			t.Errorf("Americas has no target, CSV says %q", amer[col["target"]])
		}
	}
	w := e.do(req{method: "GET", path: "/api/v1/plans/fy27/history?format=csv&type=ledger.PeriodClosed", as: "vera"})
	recs, err := csv.NewReader(w.Body).ReadAll()
	if w.Code != 200 || err != nil || len(recs) != 4 {
		t.Errorf("history CSV = %d, %d records, %v; want a header and 3 closes", w.Code, len(recs), err)
	}
}

// TestQueryBadParameters: each bad parameter is a 400 problem naming it
// (errors[0].field), an unknown plan 404, and nothing is recorded.
func TestQueryBadParameters(t *testing.T) {
	e := newEnv(t, api.Config{})
	e.seedCompany()
	tests := []struct {
		path  string
		code  int
		field string
	}{
		{"/api/v1/plans/fy27/variance?as_of=yesterday", 400, "as_of"},
		{"/api/v1/plans/fy27/variance?as_of=2027-13-45", 400, "as_of"},
		{"/api/v1/plans/fy27/variance?as_of=12x", 400, "as_of"},
		{"/api/v1/plans/fy27/variance?metric=profit", 400, "metric"},
		{"/api/v1/plans/fy27/variance?node=region%3Dmars", 400, "node"},
		{"/api/v1/plans/fy27/variance?node=colour%3Dred", 400, "node"},
		{"/api/v1/plans/fy27/variance?node=%3B%3B", 400, "node"},
		{"/api/v1/plans/fy27/variance?year=27", 400, "year"},
		{"/api/v1/plans/fy27/variance?dimension=colour", 400, "dimension"},
		{"/api/v1/plans/fy27/variance?parent=mars", 400, "parent"},
		{"/api/v1/plans/fy27/variance?level=-1", 400, "level"},
		{"/api/v1/plans/fy27/variance?cross=colour", 400, "cross"},
		{"/api/v1/plans/fy27/variance?format=xml", 400, "format"},
		{"/api/v1/plans/fy27/rolling?node=region%3Dmars", 400, "node"},
		{"/api/v1/plans/fy27/history?cursor=abc", 400, "cursor"},
		{"/api/v1/plans/fy27/history?limit=0", 400, "limit"},
		{"/api/v1/plans/fy27/history?limit=501", 400, "limit"},
		{"/api/v1/plans/fy27/history?from=soon", 400, "from"},
		{"/api/v1/plans/fy27/diff", 400, "from"},
		{"/api/v1/plans/fy27/diff?from=tag:nope", 400, "from"},
		{"/api/v1/plans/fy27/diff?from=1&to=later", 400, "to"},
		{"/api/v1/plans/fy27/reallocations?status=maybe", 400, "status"},
		{"/api/v1/plans/fy27/accuracy?metric=profit", 400, "metric"},
		{"/api/v1/plans/fy27/forecasts?as_of=x", 400, "as_of"},
		{"/api/v1/plans/nope/variance", 404, ""},
		{"/api/v1/plans/nope/summary", 404, ""},
		{"/api/v1/plans/nope/history", 404, ""},
		{"/api/v1/plans/fy27/variance?as_of=1", 404, ""}, // the plan did not exist yet
		// Parameters a route does not take are refused, not ignored.
		{"/api/v1/plans/fy27/variance?dimenson=region", 400, "dimenson"},
		{"/api/v1/plans/fy27/targets?as_of=1", 404, ""}, // the plan did not exist yet
		{"/api/v1/plans/fy27/targets?as_of=tag:nope", 400, "as_of"},
		{"/api/v1/plans/fy27/targets?asof=1", 400, "asof"},
		{"/api/v1/me?verbose=1", 400, "verbose"},
		{"/api/v1/plans?as_of=tag:Budget", 400, "as_of"},
		{"/api/v1/plans/fy27/summary?as_of=tag:nope", 400, "as_of"},
	}
	before := e.head()
	for _, tc := range tests {
		w := e.do(req{method: "GET", path: tc.path, as: "vera"})
		if w.Code != tc.code {
			t.Errorf("GET %s = %d, want %d: %s", tc.path, w.Code, tc.code, w.Body.String())
			continue
		}
		p := problem(t, w)
		if tc.field == "" {
			continue
		}
		if len(p.Errors) != 1 || p.Errors[0].Field != tc.field || p.Errors[0].Reason == "" {
			t.Errorf("GET %s: errors %+v, want one naming %s", tc.path, p.Errors, tc.field)
		}
	}
	previews := []struct {
		body, field string
	}{
		{`{"moves":[{"node":"region=emea","delta":"-1"},{"node":"region=de","delta":"2"}]}`, "moves"},
		{`{"moves":[{"node":"region=emea","delta":"-1"}]}`, "moves"},
		{`{"moves":[{"node":"region=emea","delta":"x"},{"node":"","delta":"1"}]}`, "moves[0].delta"},
		{`{"moves":[{"node":"region=emea","delta":"-1"},{"node":"region=de","delta":"1"}]}`, "moves[1].node"}, // de has no target
		{`{"metric":"profit","moves":[{"node":"region=emea","delta":"-1"},{"node":"","delta":"1"}]}`, "metric"},
		{`{"moves":[],"by":"mallory"}`, "by"},
	}
	for _, tc := range previews {
		w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/reallocations/preview", as: "alice", body: tc.body})
		if w.Code != 400 {
			t.Errorf("preview %s = %d, want 400: %s", tc.body, w.Code, w.Body.String())
			continue
		}
		if p := problem(t, w); !strings.Contains(p.Detail+fmt.Sprint(p.Errors), tc.field) {
			t.Errorf("preview %s: %+v does not name %s", tc.body, p, tc.field)
		}
	}
	if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/reallocations/preview", as: "alice", body: `{}`, ctype: "text/plain"}); w.Code != 415 {
		t.Errorf("preview as text/plain = %d, want 415", w.Code)
	}
	if after := e.head(); after != before {
		t.Errorf("bad queries moved the log from %v to %v", before, after)
	}
}

// TestQueryRoles: every role reads; nobody anonymous; the preview is for
// those who may propose, sales only within its scopes.
func TestQueryRoles(t *testing.T) {
	e := newEnv(t, api.Config{})
	e.seedCompany()
	for _, who := range []string{"vera", "sam", "alice", "admin"} {
		if w := e.do(req{method: "GET", path: "/api/v1/plans/fy27/variance", as: who}); w.Code != 200 {
			t.Errorf("%s GET variance = %d", who, w.Code)
		}
	}
	if w := e.do(req{method: "GET", path: "/api/v1/plans/fy27/variance"}); w.Code != 401 || w.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("anonymous GET variance = %d, want 401 with WWW-Authenticate", w.Code)
	}
	if w := e.do(req{method: "GET", path: "/api/v1/me", as: "cnc_forged"}); w.Code != 401 {
		t.Errorf("GET /me with an unknown token = %d, want 401", w.Code)
	}
	outOfScope := `{"moves":[{"node":"region=emea","delta":"-50000"},{"node":"","delta":"50000"}]}`
	// Within sam's scope the gate lets the preview through; DACH then has
	// no target to move.
	if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/reallocations/preview", as: "sam",
		body: `{"moves":[{"node":"region=emea","delta":"-1"},{"node":"region=de","delta":"1"}]}`}); w.Code != 400 || problem(t, w).Errors[0].Field != "moves[1].node" {
		t.Errorf("sam's preview within EMEA = %d %s, want past the gate to 400 on moves[1].node", w.Code, w.Body.String())
	}
	for _, tc := range []struct {
		who, body string
		want      int
	}{
		{"vera", outOfScope, 403},
		{"sam", outOfScope, 403},   // the total is outside EMEA
		{"ann", outOfScope, 403},   // ann's scope is the Americas
		{"alice", outOfScope, 200}, // planners preview anything
	} {
		w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/reallocations/preview", as: tc.who, body: tc.body})
		if w.Code != tc.want {
			t.Errorf("%s preview = %d, want %d: %s", tc.who, w.Code, tc.want, w.Body.String())
		}
		if tc.want == 403 && !strings.Contains(problem(t, w).Detail, tc.who) {
			t.Errorf("%s's refusal does not say who was refused", tc.who)
		}
	}
	// alice's preview: moving 50,000 of target from EMEA to the rest
	// leaves EMEA at 750,000 (gap 6,000) and the total unchanged.
	var p view.Preview
	w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/reallocations/preview", as: "alice", body: outOfScope})
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || len(p.Rows) != 2 {
		t.Fatalf("preview = %s (%v)", w.Body.String(), err)
	}
	emea := p.Rows[0]
	if str(emea.TargetBefore) != "800000" || str(emea.TargetAfter) != "750000" || !near(num(emea.GapBefore), 56000, 1e-6) || !near(num(emea.GapAfter), 6000, 1e-6) ||
		!near(num(emea.ProbabilityAfter), pAbove(744000, 60000, 750000), 1e-9) {
		t.Errorf("EMEA before/after = %+v", emea)
	}
	var me api.Me
	e.getJSON("/api/v1/me", "sam", &me)
	if me.Subject != "token:sam" || me.Role != "sales" || len(me.Roles) != 1 || me.Roles[0] != "sales" || len(me.Owns) != 1 || me.Owns[0] != "region=emea" {
		t.Errorf("sam's /me = %+v", me)
	}
	e.getJSON("/api/v1/me", "vera", &me)
	if me.Subject != "token:vera" || me.Role != "viewer" || len(me.Owns) != 0 {
		t.Errorf("vera's /me = %+v", me)
	}
}

// TestHistoryPaging walks the whole history a page at a time: every event
// once, newest first, and the same events as one big page.
func TestHistoryPaging(t *testing.T) {
	e := newEnv(t, api.Config{})
	e.seedCompany()
	var all view.History
	e.getJSON("/api/v1/plans/fy27/history?limit=500", "vera", &all)
	if len(all.Items) < 10 || all.NextCursor != "" {
		t.Fatalf("history: %d items, next %q", len(all.Items), all.NextCursor)
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > len(all.Items) {
			t.Fatal("paging does not end")
		}
		var h view.History
		e.getJSON("/api/v1/plans/fy27/history?limit=3&cursor="+url.QueryEscape(cursor), "vera", &h)
		for _, it := range h.Items {
			got = append(got, it.Position)
		}
		if h.NextCursor == "" {
			break
		}
		cursor = h.NextCursor
	}
	if len(got) != len(all.Items) {
		t.Fatalf("paged %d events, one page has %d", len(got), len(all.Items))
	}
	for k := range got {
		if got[k] != all.Items[k].Position {
			t.Fatalf("event %d: paged %s, one page %s", k, got[k], all.Items[k].Position)
		}
	}
}

// TestDashboardServed: the index and assets need no credentials and carry
// the dashboard's CSP; other paths are 404 problems.
func TestDashboardServed(t *testing.T) {
	e := newEnv(t, api.Config{})
	for _, tc := range []struct {
		path, ctype, contains string
	}{
		{"/", "text/html", `<script type="module" src="app.js">`},
		{"/app.js", "text/javascript", "import"},
		{"/style.css", "text/css", "{"},
	} {
		w := e.do(req{method: "GET", path: tc.path})
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), tc.ctype) || !strings.Contains(w.Body.String(), tc.contains) {
			t.Errorf("GET %s = %d %s", tc.path, w.Code, w.Header().Get("Content-Type"))
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: CSP %q", tc.path, csp)
		}
	}
	for _, path := range []string{"/nope.js", "/index.html", "/api"} {
		if w := e.do(req{method: "GET", path: path}); w.Code != 404 {
			t.Errorf("GET %s = %d, want 404", path, w.Code)
		} else {
			problem(t, w)
		}
	}
}

// FuzzQueryParameters: whatever the parameters, the query side answers
// 200, 400 (naming a parameter) or 404, never a server error, and every
// answer matches the OpenAPI document.
func FuzzQueryParameters(f *testing.F) {
	e := newEnv(f, api.Config{})
	e.seedCompany()
	f.Add("", "", "", "")
	f.Add("3", "region=emea", "5", "2")
	f.Add("2027-03-15", "product=pumps;region=de", "18446744073709551615/1", "500")
	f.Add("2027-03-15T10:00:00Z", "region=", "0/0", "-1")
	f.Add("tag:x", "region=emea;region=de", "1/2", "1e3")
	f.Add("99999999999999999999", "=;=", "/", "")
	f.Fuzz(func(t *testing.T, asOf, node, cursor, limit string) {
		e := *e
		e.t = t
		q := url.Values{"as_of": {asOf}, "node": {node}}
		h := url.Values{"cursor": {cursor}, "limit": {limit}, "node": {node}, "from": {asOf}}
		for _, path := range []string{
			"/api/v1/plans/fy27/variance?" + q.Encode(),
			"/api/v1/plans/fy27/rolling?" + q.Encode(),
			"/api/v1/plans/fy27/history?" + h.Encode(),
			"/api/v1/plans/fy27/diff?" + url.Values{"from": {asOf}, "to": {cursor}}.Encode(),
		} {
			w := e.do(req{method: "GET", path: path, as: "vera"})
			switch w.Code {
			case 200, 404:
			case 400:
				if p := problem(t, w); len(p.Errors) == 0 || p.Errors[0].Field == "" {
					t.Errorf("GET %s: 400 names no parameter: %s", path, w.Body.String())
				}
			default:
				t.Errorf("GET %s = %d: %s", path, w.Code, w.Body.String())
			}
		}
	})
}
