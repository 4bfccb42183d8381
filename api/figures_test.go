package api_test

import (
	"encoding/csv"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"testing"

	"github.com/concord-planning/concord/api"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/projections/view"
)

// decEq reports whether the decimal text got is the amount want.
func decEq(got *string, want string) bool {
	if got == nil {
		return false
	}
	g, err := decimal.Parse(*got)
	return err == nil && g.Equal(decimal.MustParse(want))
}

// TestCommitsRollUp (issue 13, finding 4): on the seeded company (EMEA
// commits 780,000 for FY2027), the Americas commit by quarter and, for the
// last quarter, by month. The Americas' year commit is then its closed
// first quarter's actuals (75,000.00) plus its commits (120,000 +
// 110,000 + 3 × 40,000) = 425,000.00, and the total, which has none, rolls
// up EMEA's and the Americas': 1,205,000.00. Before, both were blank. The
// monthly commit and target lines tie back to the year: the actuals of the
// closed months plus the line's open months make the commit (target) set.
func TestCommitsRollUp(t *testing.T) {
	e := newEnv(t, api.Config{})
	e.seedCompany()
	for _, c := range [][3]string{{"a-q2", "FY2027-Q2", "120000"}, {"a-q3", "FY2027-Q3", "110000"},
		{"a-jan", "2027-01", "40000"}, {"a-feb", "2027-02", "40000"}, {"a-mar", "2027-03", "40000"}} {
		w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/commits", as: "alice",
			body: `{"id":"` + c[0] + `","node":"region=amer","metric":"revenue","span":"` + c[1] + `","amount":"` + c[2] + `","confidence":"commit","comment":"pipeline"}`})
		if w.Code != 200 {
			t.Fatalf("commit %s: %d %s", c[1], w.Code, w.Body.String())
		}
	}
	var v view.Variance
	e.getJSON("/api/v1/plans/fy27/variance?metric=revenue&year=2027", "vera", &v)
	rows := map[string]view.VarianceRow{}
	for _, r := range v.Rows {
		rows[r.Member] = r
	}
	for _, tc := range []struct {
		member, commit, source string
		le                     float64
	}{
		{"world", "1205000", "rolled up", 1161000},
		{"emea", "780000", "submitted", 744000},
		{"amer", "425000", "rolled up", 417000},
	} {
		r := rows[tc.member]
		if !decEq(r.Commit, tc.commit) || r.CommitSource != tc.source {
			t.Errorf("%s: commit %s (%q), want %s (%s)", tc.member, str(r.Commit), r.CommitSource, tc.commit, tc.source)
		}
		want, _ := strconv.ParseFloat(tc.commit, 64)
		if !near(num(r.GapToCommit), want-tc.le, 0.005) {
			t.Errorf("%s: gap to commit %v, want %v", tc.member, num(r.GapToCommit), want-tc.le)
		}
	}

	for _, tc := range []struct {
		node   string
		line   func(view.RollingPeriod) *view.Amount
		annual float64
	}{
		{"region=emea", func(p view.RollingPeriod) *view.Amount { return p.Commit }, 780000},
		{"region=emea", func(p view.RollingPeriod) *view.Amount { return p.Target }, 800000},
		{"region=amer", func(p view.RollingPeriod) *view.Amount { return p.Commit }, 425000},
		{"", func(p view.RollingPeriod) *view.Amount { return p.Commit }, 1205000},
	} {
		var r view.Rolling
		e.getJSON("/api/v1/plans/fy27/rolling?node="+url.QueryEscape(tc.node), "vera", &r)
		var implied float64
		for _, p := range r.Periods {
			if p.Period > "2027-03" {
				continue
			}
			if p.Closed {
				a, _ := strconv.ParseFloat(str(p.Actual), 64)
				if !near(num(tc.line(p)), a, 0.005) {
					t.Errorf("%q %s (closed): line %v, want its actual %v", tc.node, p.Period, num(tc.line(p)), a)
				}
				implied += a
				continue
			}
			implied += num(tc.line(p))
		}
		if !near(implied, tc.annual, 0.05) {
			t.Errorf("%q: actuals + open months of the line = %v, want the year's %v", tc.node, implied, tc.annual)
		}
	}
}

// TestFarYearsArePartial (issue 13, finding 3): the seeded company's
// forecast run reaches 2027-03 and its actuals end in 2026-06, so the
// stand-in takes over from 2027-04 and reaches 24 months past the last
// actual. FY2028 is answered and says where the stand-in starts; FY2029 is
// marked partial from 2028-07 with no latest estimate, gap or P (before,
// the months beyond were zeros); FY2030 likewise.
func TestFarYearsArePartial(t *testing.T) {
	e := newEnv(t, api.Config{})
	e.seedCompany()
	w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/targets/set", as: "alice",
		body: `{"node":"","metric":"revenue","span":"FY2029","amount":"1500000","reason":"long range"}`})
	if w.Code != 200 {
		t.Fatalf("target FY2029: %d %s", w.Code, w.Body.String())
	}
	for _, tc := range []struct {
		year                string
		partial             bool
		standInFrom, beyond string
	}{
		{"2027", false, "", ""},
		{"2028", false, "2027-04", ""},
		{"2029", true, "2028-04", "2028-07"},
		{"2030", true, "", "2029-04"},
	} {
		var v view.Variance
		e.getJSON("/api/v1/plans/fy27/variance?year="+tc.year, "vera", &v)
		fs := v.Forecast
		if v.Partial != tc.partial || fs.Kind != "statistical" || fs.RunID != "f1" || fs.StandInFrom != tc.standInFrom || fs.Beyond != tc.beyond {
			t.Errorf("FY%s: partial %v, source %+v; want partial %v, run f1, stand-in from %q, beyond %q",
				tc.year, v.Partial, fs, tc.partial, tc.standInFrom, tc.beyond)
		}
		total := v.Rows[0]
		if tc.partial {
			if total.LatestEstimate != nil || total.Forecast != nil || total.PlanToTarget != nil || total.Gap != nil || total.Probability != nil {
				t.Errorf("FY%s (partial): total LE %v, forecast %+v, plan %v, gap %v, P %v; want all null",
					tc.year, num(total.LatestEstimate), total.Forecast, num(total.PlanToTarget), num(total.Gap), num(total.Probability))
			}
			if tc.year == "2029" && !decEq(total.Target, "1500000") {
				t.Errorf("FY2029: target %s, want 1500000 (still shown)", str(total.Target))
			}
		} else if total.LatestEstimate == nil || *total.LatestEstimate <= 0 {
			t.Errorf("FY%s: total LE %v, want a figure", tc.year, num(total.LatestEstimate))
		}
	}
	// The rolling plan's months beyond the forecast have no latest
	// estimate or plan to target either.
	var r view.Rolling
	e.getJSON("/api/v1/plans/fy27/rolling?node=region%3Demea", "vera", &r)
	for _, p := range r.Periods {
		if p.Period >= "2028-07" && (p.LatestEstimate != nil || p.PlanToTarget != nil || p.Forecast != nil) {
			t.Errorf("rolling %s: LE %v, plan %v, forecast %+v; want null beyond the forecast", p.Period, num(p.LatestEstimate), num(p.PlanToTarget), p.Forecast)
		}
	}
}

// TestTargetsAsOf (issue 13, finding 8): /targets and the plan's header
// honour as_of, as a log position or a tag, like every other read. Before,
// as_of was refused.
func TestTargetsAsOf(t *testing.T) {
	e := newEnv(t, api.Config{})
	c := e.seedCompany()
	if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/tags", as: "alice", body: `{"tag":"Board"}`}); w.Code != 200 {
		t.Fatalf("tag: %d %s", w.Code, w.Body.String())
	}
	total := func(query string) string {
		t.Helper()
		var page struct {
			Items []api.Target `json:"items"`
		}
		e.getJSON("/api/v1/plans/fy27/targets"+query, "vera", &page)
		for _, it := range page.Items {
			if it.Node == "" && it.Span == "FY2027" {
				return it.Amount
			}
		}
		return "<none>"
	}
	for _, tc := range []struct{ query, want string }{
		{"", "1250000"},
		{"?as_of=" + c.beforeRevision, "1200000"},
		{"?as_of=tag:Board", "1250000"},
	} {
		if got := total(tc.query); got != tc.want {
			t.Errorf("GET /targets%s: total FY2027 target %s, want %s", tc.query, got, tc.want)
		}
	}
	w := e.do(req{method: "GET", path: "/api/v1/plans/fy27/targets?as_of=" + c.beforeRevision, as: "vera"})
	if got := w.Header().Get(api.HeaderPosition); got != c.beforeRevision || w.Header().Get("ETag") != "" {
		t.Errorf("X-Concord-Position = %q, ETag %q; want %s and none", got, w.Header().Get("ETag"), c.beforeRevision)
	}
	// The plan's header too: before the tag it has none.
	var before, now api.Plan
	e.getJSON("/api/v1/plans/fy27?as_of="+c.beforeRevision, "vera", &before)
	e.getJSON("/api/v1/plans/fy27", "vera", &now)
	if len(before.Tags) != 0 || len(now.Tags) != 1 || before.Version >= now.Version {
		t.Errorf("plan as of %s: %d tags, version %d; now %d tags, version %d; want 0 then 1, an older version",
			c.beforeRevision, len(before.Tags), before.Version, len(now.Tags), now.Version)
	}
}

// TestAmountsAreExactDecimals (issue 13, finding 8): computed amounts come
// rounded to the cent and other numbers without binary noise, in JSON and
// CSV; recorded amounts keep what was entered.
func TestAmountsAreExactDecimals(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{view.Amount(120286999.99999985), "120287000"},
		{view.Amount(-0.001), "0"},
		{view.Amount(1234.5678), "1234.57"},
		{view.Amount(1e21), "1000000000000000000000"},
		{view.Amount(math.NaN()), "null"},
		{view.Num(0.1 + 0.2), "0.3"},
		{view.Num(0.00031), "0.00031"},
		{view.Num(math.Inf(1)), "null"},
	} {
		b, err := tc.v.(interface{ MarshalJSON() ([]byte, error) }).MarshalJSON()
		if err != nil || string(b) != tc.want {
			t.Errorf("MarshalJSON(%T %v) = %s, %v; want %s", tc.v, tc.v, b, err, tc.want)
		}
	}
	e := newEnv(t, api.Config{})
	e.seedCompany()
	w := e.do(req{method: "GET", path: "/api/v1/plans/fy27/variance?format=csv&parent=emea", as: "vera"})
	recs, err := csv.NewReader(w.Body).ReadAll()
	if w.Code != 200 || err != nil || len(recs) < 2 {
		t.Fatalf("variance CSV = %d, %d records, %v", w.Code, len(recs), err)
	}
	amount := regexp.MustCompile(`^-?[0-9]+(\.[0-9]{1,2})?$`)
	for k, h := range recs[0] {
		switch h {
		case "latest_estimate", "plan_to_target", "gap", "gap_to_commit", "std_dev", "forecast_mean", "forecast_lo80", "forecast_hi95":
		default:
			continue
		}
		for _, r := range recs[1:] {
			if r[k] != "" && !amount.MatchString(r[k]) {
				t.Errorf("CSV %s = %q, want an amount to the cent", h, r[k])
			}
		}
	}
}
