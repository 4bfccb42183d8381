package dashboard_test

import (
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestDashboardDerivedMetrics: a planner defines two derived metrics of
// the demo plan, a sum (revenue doubled) and a ratio (revenue's share of
// it, a percentage); every metric list of the dashboard offers both by
// name with their formula (overview, node, pivot, compare, the history's
// comparison), the plan grid only the measured one (a derived metric has
// no targets of its own). The ratio is shown as a percentage of each
// node's own sums — never summed over months or members — and its gaps in
// percentage points; the sum as an amount, the API's. The pivot's metric
// is chosen from the keyboard, and axe-core finds no serious violation.
func TestDashboardDerivedMetrics(t *testing.T) {
	ctx := browser(t)
	srv, demo, cr := server(t)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	axeSource := axeCore(t)
	axe := func(view string) {
		t.Helper()
		if axeSource == "" {
			return
		}
		for _, v := range axeViolations(t, ctx, axeSource) {
			t.Errorf("%s: axe-core %s violation %s (%s) at %v", view, v.Impact, v.ID, v.Help, v.Targets)
		}
	}
	plans := "/api/v1/plans/" + demo.Plan
	year := strconv.Itoa(demo.Year)
	apiPost(t, srv.URL, cr.planner, plans+"/derived-metrics", map[string]any{"id": "rev2", "name": "Revenue doubled", "unit": "EUR", "formula": demo.Metric + " + " + demo.Metric})
	apiPost(t, srv.URL, cr.planner, plans+"/derived-metrics", map[string]any{"id": "rev-share", "name": "Revenue share %", "formula": demo.Metric + " / rev2"})
	variance := func(metric string) map[string]varianceRow {
		t.Helper()
		var a varianceAnswer
		apiJSON(t, srv.URL, cr.viewer, plans+"/variance?metric="+metric+"&year="+year+"&dimension=region", &a)
		out := map[string]varianceRow{}
		for _, r := range a.Rows {
			out[r.Member] = r
		}
		return out
	}
	share, doubled := variance("rev-share"), variance("rev2")
	if r := share["emea"]; r.Target == nil || r.LatestEstimate == nil || r.Probability != nil {
		t.Fatalf("the API's share of EMEA: %+v, want a target and an estimate, no probability", r)
	}
	pct := func(s string) string {
		v, err := strconv.ParseFloat(s, 64)
		must("reading "+s, err)
		return strconv.FormatFloat(v, 'f', 1, 64) + "%"
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.Search(sel)))
		must("reading "+sel, err)
		return strings.TrimSpace(v)
	}
	// offers reads the options of a metric control: value → label.
	offers := func(id string) map[string]string {
		t.Helper()
		m, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries([...document.querySelectorAll('#`+id+` option')].map((o) => [o.value, o.textContent]))`))
		must("reading the options of "+id, err)
		return m
	}
	wantDerived := func(view, id string) {
		t.Helper()
		got := offers(id)
		if !strings.HasPrefix(got["rev2"], "Revenue doubled") || !strings.HasPrefix(got["rev-share"], "Revenue share %") || got[demo.Metric] == "" {
			t.Errorf("%s's metric control %s offers %q, want %s and both derived metrics by name", view, id, got, demo.Metric)
		}
	}

	must("signing in", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/signin"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SetValue(chromedp.ID("token"), cr.planner),
		chromedp.Click(chromedp.CSS(`#signin-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("overview-table")),
	))
	wantDerived("overview", "metric")

	// Overview of the ratio: percentages of each node's sums, the gap in
	// percentage points, no P(target), no heatmap.
	must("the overview of the share", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/overview?metric=rev-share&dimension=region"),
		chromedp.WaitVisible(chromedp.ID("derived-note")),
		chromedp.WaitVisible(chromedp.Search(`//table[@id="overview-table"]/caption[contains(., "Revenue share %")]`)),
		chromedp.WaitVisible(chromedp.ID("heatmap-none")),
	))
	row := func(name string, col int) string {
		return text(`//table[@id="overview-table"]//tr[th[contains(., "` + name + `")]]/td[` + strconv.Itoa(col) + `]`)
	}
	for _, m := range []struct{ id, name string }{{"emea", "EMEA"}, {"americas", "Americas"}} {
		r := share[m.id]
		if got, want := row(m.name, 1), pct(*r.Target); got != want {
			t.Errorf("overview share of %s: target %q, the API's %q", m.name, got, want)
		}
		if got, want := row(m.name, 3), pct(strconv.FormatFloat(*r.LatestEstimate, 'f', -1, 64)); got != want {
			t.Errorf("overview share of %s: latest estimate %q, the API's %q", m.name, got, want)
		}
		if got := row(m.name, 6); !strings.HasSuffix(got, " pp") {
			t.Errorf("overview share of %s: gap %q, want percentage points", m.name, got)
		}
		if got := row(m.name, 9); got != "—" {
			t.Errorf("overview share of %s: P(target) %q, want — (not modelled for a derived metric)", m.name, got)
		}
	}
	axe("overview of a derived ratio")

	// The pivot: choose the sum, then the ratio, from the keyboard.
	must("opening the pivot", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/pivot?dimension=region&cols=quarter,fy&measures=target,le,gap"),
		chromedp.WaitVisible(chromedp.CSS(`#pivot-table tr[data-member="emea"]`)),
	))
	wantDerived("pivot", "p-metric")
	pivotCell := func(member, col, measure string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#pivot-table tr[data-member="`+member+`"] td[data-col="`+col+`"][data-measure="`+measure+`"]`)))
		must("reading "+member+" "+col+" "+measure, err)
		return strings.TrimSpace(v)
	}
	choose := func(value string) {
		t.Helper()
		options := offers("p-metric")
		keys, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#p-metric option')].map((o) => o.value)`))
		must("reading the metrics' order", err)
		from, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('p-metric').value`))
		must("reading the metric", err)
		steps := slices.Index(keys, value) - slices.Index(keys, from)
		key := kb.ArrowDown
		if steps < 0 {
			key, steps = kb.ArrowUp, -steps
		}
		actions := []chromedp.Action[chromedp.Void]{chromedp.Focus(chromedp.ID("p-metric"))}
		for range steps {
			actions = append(actions, chromedp.KeyEvent(key))
		}
		actions = append(actions, chromedp.Focus(chromedp.CSS(`#pivot-form button[type="submit"]`)), chromedp.KeyEvent(kb.Enter),
			chromedp.WaitVisible(chromedp.Search(`//table[@id="pivot-table"]/caption[contains(., "`+options[value][:strings.Index(options[value], " (")]+`")]`)))
		must("choosing "+value+" from the keyboard", chromedp.Do(ctx, actions...))
	}
	choose("rev2")
	for _, m := range []string{"emea", "americas"} {
		want, _ := strconv.ParseFloat(*doubled[m].Target, 64)
		if got := num(pivotCell(m, "FY", "target")); math.Abs(got-want) > 1 {
			t.Errorf("pivot revenue doubled of %s: full-year target %v, the API's %v", m, got, want)
		}
	}
	choose("rev-share")
	for _, m := range []string{"world", "emea", "americas"} {
		// Every column is the ratio of its sums: a quarter is not the sum
		// of its months' ratios, the year not the sum of its quarters'.
		want := pct(*share[m].Target)
		for _, col := range []string{"Q1", "Q4", "FY"} {
			if got := pivotCell(m, col, "target"); got != want {
				t.Errorf("pivot share of %s: %s target %q, want %q (the ratio of the sums)", m, col, got, want)
			}
		}
		if got := pivotCell(m, "FY", "gap"); !strings.HasSuffix(got, " pp") {
			t.Errorf("pivot share of %s: gap %q, want percentage points", m, got)
		}
	}
	axe("pivot of a derived ratio")

	// Node view: the ratio's months as percentages, no year-to-date sum.
	must("the node view of the share", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/node?metric=rev-share&node=region%3Demea"),
		chromedp.WaitVisible(chromedp.ID("node-form")),
		chromedp.WaitVisible(chromedp.Search(`//table[caption[contains(., "Monthly detail of EMEA: Revenue share %")]]`)),
	))
	wantDerived("node view", "node-metric")
	monthly, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('table.data tbody tr')].map((tr) => tr.querySelectorAll('td')[2].textContent)`))
	must("reading the monthly targets", err)
	if !slices.Contains(monthly, "50.0%") {
		t.Errorf("node view: the months' share of target %q, want 50.0%% where there is one", monthly)
	}
	for _, v := range monthly {
		if v != "—" && v != "50.0%" {
			t.Errorf("node view: a month's share of target %q, want 50.0%%", v)
		}
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('figure.chart').length`)); err != nil || n != 1 {
		t.Errorf("node view of a ratio draws %d charts (%v), want the monthly one only (its months do not add up)", n, err)
	}
	axe("node view of a derived ratio")

	// Compare: the budget was tagged before the metric was defined, so its
	// column is empty and says why; the live plan and a scenario opened
	// now show the ratio, their difference in percentage points.
	apiPost(t, srv.URL, cr.planner, plans+"/scenarios", map[string]any{"id": "same", "name": "Same"})
	must("comparing the share", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/compare?metric=rev-share&dimension=region&level=1&measures=target,gap&versions="+url.QueryEscape("tag:Budget FY28|live|scenario:same")),
		chromedp.WaitVisible(chromedp.Search(`//table[@id="compare-table"]/caption[contains(., "Revenue share %")]`)),
	))
	wantDerived("compare", "c-metric")
	compared := func(col int) string {
		return text(`//table[@id="compare-table"]//tr[th[.="EMEA"]]/td[` + strconv.Itoa(col) + `]`)
	}
	if got := text(`//div[@id="compare-missing"]`); !strings.Contains(got, "Budget FY28") {
		t.Errorf("compare says %q, want it to name the budget, which has no share", got)
	}
	if got, want := []string{compared(1), compared(2), compared(3), compared(4)}, []string{"—", pct(*share["emea"].Target), pct(*share["emea"].Target), "—"}; !slices.Equal(got, want) {
		t.Errorf("compare share of EMEA (budget, live, scenario, Δ) = %q, want %q", got, want)
	}
	must("comparing the share with the scenario only", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/compare?metric=rev-share&dimension=region&level=1&measures=target,gap&versions="+url.QueryEscape("live|scenario:same")),
		chromedp.WaitNotPresent(chromedp.ID("compare-missing")),
		chromedp.WaitVisible(chromedp.Search(`//table[@id="compare-table"]/caption[contains(., "Live vs Same (scenario)")]`)),
	))
	if got := compared(3); got != "0.0 pp" {
		t.Errorf("compare Δ share of EMEA: %q, want 0.0 pp", got)
	}
	if got := compared(5); !strings.HasSuffix(got, " pp") {
		t.Errorf("compare scenario gap of EMEA: %q, want percentage points", got)
	}
	axe("compare of a derived ratio")

	// History: the comparison of versions offers them (and then shows
	// the changes of their operands); the plan grid does not.
	must("the history", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/history"),
		chromedp.WaitVisible(chromedp.ID("d-metric")),
	))
	wantDerived("history", "d-metric")
	must("the plan grid", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/grid?metric=rev-share"),
		chromedp.WaitVisible(chromedp.ID("grid-derived")),
		chromedp.WaitVisible(chromedp.ID("grid-table")),
	))
	if got := offers("g-metric"); len(got) != 1 || got[demo.Metric] == "" {
		t.Errorf("the plan grid offers metrics %q, want only the measured %s (targets are set on it)", got, demo.Metric)
	}
	if got := text(`//p[@id="grid-derived"]`); !strings.Contains(got, "Revenue share %") || !strings.Contains(got, "Revenue doubled") {
		t.Errorf("the plan grid's note %q does not name the derived metrics", got)
	}
}
