package dashboard_test

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// versionRow is a row of GET …/variance as the compare view reads it.
type versionRow struct {
	Member      string   `json:"member"`
	Target      *string  `json:"target"`
	Gap         *float64 `json:"gap"`
	Probability *float64 `json:"probability"`
	Forecast    *struct {
		Mean float64 `json:"mean"`
	} `json:"forecast"`
}

// decimalOf reads a displayed figure with its sign and decimals: "+1,234",
// "−12.5%", "+3.1 pp".
func decimalOf(t *testing.T, s string) float64 {
	t.Helper()
	s = strings.NewReplacer(",", "", "−", "-", "%", "", "pp", "", "+", "").Replace(strings.TrimSpace(s))
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		t.Fatalf("reading %q: %v", s, err)
	}
	return v
}

// TestDashboardCompareTags: a finance user puts the two tagged versions
// of the plan side by side (the budget and the Q1 reforecast, without the
// live plan), by country, with target, forecast, gap, variance % and
// P(target); every column is the variance answer as of the tag's plan
// version (as_of=tag:NAME), and the difference column is the reforecast's minus the
// budget's (P in percentage points).
func TestDashboardCompareTags(t *testing.T) {
	ctx := browser(t)
	srv, demo, cr := server(t)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	year := strconv.Itoa(demo.Year)
	// A tag's state is the log as of the plan version it names (as_of=tag:NAME).
	versions := []struct{ at string }{{"tag:Budget FY28"}, {"tag:Q1 reforecast"}}
	answers := make([]map[string]versionRow, len(versions))
	for k, v := range versions {
		var a struct {
			Rows []versionRow `json:"rows"`
		}
		apiJSON(t, srv.URL, cr.viewer, "/api/v1/plans/"+demo.Plan+"/variance?metric="+demo.Metric+"&year="+year+"&dimension=region&level=2&as_of="+url.QueryEscape(v.at), &a)
		answers[k] = map[string]versionRow{}
		for _, r := range a.Rows {
			answers[k][r.Member] = r
		}
	}

	must("signing in", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/signin"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SetValue(chromedp.ID("token"), cr.viewer),
		chromedp.Click(chromedp.CSS(`#signin-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("overview-table")),
	))
	// The form: by region at level 2; the two tags (the default) without
	// the live plan; gap, variance % and P besides target and forecast.
	must("choosing the versions", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/compare"),
		chromedp.WaitVisible(chromedp.ID("compare-table")),
		chromedp.SetValue(chromedp.ID("c-dimension"), "region"),
		chromedp.SetValue(chromedp.ID("c-level"), "2"),
		chromedp.Click(chromedp.CSS(`#compare-form input[name="version"][value="live"]`)),
		chromedp.Click(chromedp.ID("c-m-gap")),
		chromedp.Click(chromedp.ID("c-m-p")),
		chromedp.Click(chromedp.CSS(`#compare-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.Search(`//table[@id="compare-table"]/caption[contains(., "Budget FY28 vs Q1 reforecast") and not(contains(., "Live"))]`)),
		chromedp.WaitVisible(chromedp.Search(`//table[@id="compare-table"]//tr[th[.="DACH"]]`)),
	))
	headers, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#compare-table thead tr:last-child th a')].map((a) => a.getAttribute('aria-label'))`))
	must("reading the columns", err)
	if len(headers) != 15 {
		t.Fatalf("columns = %q, want 5 measures × (2 tags + difference)", headers)
	}
	cell := func(name string, col int) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.Search(`//table[@id="compare-table"]//tr[th[.="`+name+`"]]/td[`+strconv.Itoa(col)+`]`)))
		must("reading "+name, err)
		return v
	}
	type measure struct {
		name  string
		get   func(versionRow) float64
		read  func(string) float64
		delta func(string) float64
		tol   float64
	}
	amountOf := func(s string) float64 { return decimalOf(t, s) }
	ms := []measure{
		{"Target", func(r versionRow) float64 { v, _ := strconv.ParseFloat(*r.Target, 64); return v }, amountOf, amountOf, 1},
		{"Forecast", func(r versionRow) float64 { return r.Forecast.Mean }, amountOf, amountOf, 1},
		{"Gap to target", func(r versionRow) float64 { return *r.Gap }, amountOf, amountOf, 1},
		{"Variance %", func(r versionRow) float64 {
			tg, _ := strconv.ParseFloat(*r.Target, 64)
			return (r.Forecast.Mean - tg) / tg * 100
		}, amountOf, amountOf, 0.051},
		{"P(target)", func(r versionRow) float64 { return *r.Probability * 100 }, amountOf, amountOf, 0.51},
	}
	for _, member := range []struct{ id, name string }{{"dach", "DACH"}, {"uk", "UK"}, {"us", "US"}, {"brazil", "Brazil"}} {
		b, q := answers[0][member.id], answers[1][member.id]
		if b.Target == nil || q.Target == nil || b.Forecast == nil || q.Forecast == nil || b.Probability == nil || q.Probability == nil || b.Gap == nil || q.Gap == nil {
			t.Fatalf("variance has no full row for %s: %+v, %+v", member.id, b, q)
		}
		for k, m := range ms {
			wantB, wantQ := m.get(b), m.get(q)
			gotB, gotQ, gotD := m.read(cell(member.name, 3*k+1)), m.read(cell(member.name, 3*k+2)), m.delta(cell(member.name, 3*k+3))
			if math.Abs(gotB-wantB) > m.tol || math.Abs(gotQ-wantQ) > m.tol || math.Abs(gotD-(wantQ-wantB)) > 2*m.tol {
				t.Errorf("%s %s: budget %v, Q1 %v, Δ %v; the API's %v, %v, Δ %v", member.name, m.name, gotB, gotQ, gotD, wantB, wantQ, wantQ-wantB)
			}
		}
	}
	// The approved reallocation between the tags moved 60,000 from DACH to
	// the UK: the difference column says so.
	if d := decimalOf(t, cell("DACH", 3)); d != -60000 {
		t.Errorf("DACH's target difference = %v, want −60,000", d)
	}
	if d := decimalOf(t, cell("UK", 3)); d != 60000 {
		t.Errorf("UK's target difference = %v, want +60,000", d)
	}
}
