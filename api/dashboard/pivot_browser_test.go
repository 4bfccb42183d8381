package dashboard_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/view/viewtest"
)

// apiJSON reads path from the API server as the holder of token into v.
func apiJSON(t *testing.T, base, token, path string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// rollingAnswer and varianceAnswer are the parts of the API's answers the
// pivot test checks the grid against.
type rollingAnswer struct {
	Periods []struct {
		Period         string   `json:"period"`
		Closed         bool     `json:"closed"`
		Actual         *string  `json:"actual"`
		Target         *float64 `json:"target"`
		LatestEstimate *float64 `json:"latest_estimate"`
	} `json:"periods"`
}

type varianceAnswer struct {
	Rows []varianceRow `json:"rows"`
}

type varianceRow struct {
	Member         string   `json:"member"`
	Target         *string  `json:"target"`
	LatestEstimate *float64 `json:"latest_estimate"`
	Probability    *float64 `json:"probability"`
}

// TestDashboardPivot: a finance user opens the pivot by region, expands
// EMEA from the keyboard, reads quarters, year to date and the full year,
// sorts by the full year's gap and exports the grid; every figure is
// checked against the rolling plan and the variance table of the API.
func TestDashboardPivot(t *testing.T) {
	ctx := browser(t)
	srv, demo, cr := server(t)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	axeSource := axeCore(t)
	must("signing in", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/signin"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SetValue(chromedp.ID("token"), cr.viewer),
		chromedp.Click(chromedp.CSS(`#signin-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("overview-table")),
	))
	must("opening the pivot", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/pivot?dimension=region&cols=quarter,qtd,ytd,fy&measures=target,actual,le,forecast,gap,variance,p"),
		chromedp.WaitVisible(chromedp.CSS(`#pivot-table tr[data-member="emea"]`)),
	))
	// EMEA is collapsed: DACH is not shown until it is expanded, from the
	// keyboard.
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#pivot-table tr[data-member="dach"]').length`)); err != nil || n != 0 {
		t.Errorf("collapsed EMEA shows %d DACH rows (%v), want none", n, err)
	}
	must("expanding EMEA", chromedp.Do(ctx,
		chromedp.Focus(chromedp.CSS(`button.toggle[data-member="emea"]`)),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#pivot-table tr[data-member="dach"]`)),
	))
	cell := func(member, col, measure string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#pivot-table tr[data-member="`+member+`"] td[data-col="`+col+`"][data-measure="`+measure+`"]`)))
		must("reading "+member+" "+col+" "+measure, err)
		return v
	}
	var v varianceAnswer
	apiJSON(t, srv.URL, cr.viewer, "/api/v1/plans/"+demo.Plan+"/variance?metric="+demo.Metric+"&year="+strconv.Itoa(demo.Year)+"&dimension=region&parent=emea", &v)
	var vTop varianceAnswer
	apiJSON(t, srv.URL, cr.viewer, "/api/v1/plans/"+demo.Plan+"/variance?metric="+demo.Metric+"&year="+strconv.Itoa(demo.Year)+"&dimension=region", &vTop)
	rows := append(v.Rows, vTop.Rows...)
	for _, member := range []string{"dach", "uk", "emea", "americas"} {
		i := slices.IndexFunc(rows, func(r varianceRow) bool { return r.Member == member })
		if i < 0 || rows[i].Target == nil || rows[i].LatestEstimate == nil || rows[i].Probability == nil {
			t.Fatalf("variance has no full row for %s: %+v", member, rows)
		}
		r := rows[i]
		want, _ := strconv.ParseFloat(*r.Target, 64)
		if got := num(cell(member, "FY", "target")); math.Abs(got-want) > 1 {
			t.Errorf("pivot %s full-year target = %v, variance says %v", member, got, want)
		}
		if got := num(cell(member, "FY", "le")); math.Abs(got-*r.LatestEstimate) > 1 {
			t.Errorf("pivot %s full-year latest estimate = %v, variance says %v", member, got, *r.LatestEstimate)
		}
		digits := 0
		if p := *r.Probability; p > 0.995 || p < 0.005 {
			digits = 1
		}
		if got, want := cell(member, "FY", "p"), strconv.FormatFloat(*r.Probability*100, 'f', digits, 64)+"%"; got != want {
			t.Errorf("pivot %s P(target) = %q, variance says %q", member, got, want)
		}
		// Quarters add up to the year; the year to date's actual is the
		// closed months' actuals of the rolling plan.
		var quarters float64
		for q := 1; q <= 4; q++ {
			quarters += num(cell(member, "Q"+strconv.Itoa(q), "target"))
		}
		if math.Abs(quarters-want) > 4 {
			t.Errorf("pivot %s: quarters' targets sum to %v, the year's is %v", member, quarters, want)
		}
		var ro rollingAnswer
		apiJSON(t, srv.URL, cr.viewer, "/api/v1/plans/"+demo.Plan+"/rolling?metric="+demo.Metric+"&node=region%3D"+member, &ro)
		var ytd, le float64
		closed := 0
		for _, p := range ro.Periods[:12] {
			if p.LatestEstimate != nil {
				le += *p.LatestEstimate
			}
			if p.Closed && p.Actual != nil {
				a, _ := strconv.ParseFloat(*p.Actual, 64)
				ytd += a
				closed++
			}
		}
		if closed == 0 {
			t.Fatalf("rolling plan of %s has no closed month", member)
		}
		if got := num(cell(member, "YTD", "actual")); math.Abs(got-ytd) > 1 {
			t.Errorf("pivot %s year-to-date actual = %v, the rolling plan's closed months sum to %v", member, got, ytd)
		}
		// Quarter to date: the quarter of the last closed month, up to it.
		var qtd float64
		for k := (closed - 1) / 3 * 3; k < closed; k++ {
			a, _ := strconv.ParseFloat(*ro.Periods[k].Actual, 64)
			qtd += a
		}
		if got := num(cell(member, "QTD", "actual")); math.Abs(got-qtd) > 1 {
			t.Errorf("pivot %s quarter-to-date actual = %v, the rolling plan's closed months of the quarter sum to %v", member, got, qtd)
		}
		if got := num(cell(member, "FY", "le")); math.Abs(got-le) > 1 {
			t.Errorf("pivot %s full-year latest estimate = %v, the rolling plan's months sum to %v", member, got, le)
		}
		gap := signed(cell(member, "FY", "gap"))
		if math.Abs(gap-(want-*r.LatestEstimate)) > 1 {
			t.Errorf("pivot %s full-year gap = %v, want target − LE = %v", member, gap, want-*r.LatestEstimate)
		}
		pct := cell(member, "FY", "variance")
		wantPct := (*r.LatestEstimate - want) / want * 100
		if got, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(pct, "+"), "%"), 64); err != nil || math.Abs(got-wantPct) > 0.051 {
			t.Errorf("pivot %s variance %% = %q, want %.1f%%", member, pct, wantPct)
		}
	}
	if axeSource != "" {
		for _, vi := range axeViolations(t, ctx, axeSource) {
			t.Errorf("pivot: axe-core %s violation %s (%s) at %v", vi.Impact, vi.ID, vi.Help, vi.Targets)
		}
	}

	// Sort by the full year's gap: EMEA's children, largest gap first, stay
	// under EMEA.
	must("sorting by the full year's gap", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#pivot-table th[data-col="FY"][data-measure="gap"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`#pivot-table th[data-col="FY"][data-measure="gap"][aria-sort="descending"]`)),
	))
	order, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#pivot-table tbody tr[aria-rowindex]')].map((r) => r.dataset.member)`))
	must("reading the order", err)
	at := func(m string) int { return slices.Index(order, m) }
	gapOf := func(m string) float64 { return signed(cell(m, "FY", "gap")) }
	if at("emea") < 0 || at("dach") != at("emea")+1 && at("uk") != at("emea")+1 || at("world") != 0 {
		t.Errorf("sorted rows %q: want World first and EMEA's children right under EMEA", order)
	}
	if first, second := order[at("emea")+1], order[at("emea")+2]; gapOf(first) < gapOf(second) {
		t.Errorf("sorted by gap, %s (%v) comes before %s (%v)", first, gapOf(first), second, gapOf(second))
	}
	if (gapOf("emea") < gapOf("americas")) != (at("emea") > at("americas")) {
		t.Errorf("sorted by gap: EMEA %v at %d, Americas %v at %d", gapOf("emea"), at("emea"), gapOf("americas"), at("americas"))
	}

	// The CSV holds exactly the rows and figures shown, in the order shown.
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`new Promise((resolve) => {
		const made = URL.createObjectURL;
		URL.createObjectURL = (b) => { URL.createObjectURL = made; b.text().then(resolve); return made(b); };
		document.getElementById('pivot-csv').click();
	})`, chromedp.EvalAwaitPromise))
	must("exporting the pivot", err)
	recs, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	must("reading the CSV", err)
	shownCols, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#pivot-table tbody tr[aria-rowindex="3"] td').length`))
	must("counting the columns", err)
	// Each forecast cell is three columns: mean, 80% low and high.
	forecasts := strings.Count(strings.Join(recs[0], "|"), "Forecast 80% low")
	if len(recs) != len(order)+1 || len(recs[0]) != 1+shownCols+2*forecasts {
		t.Fatalf("CSV %d rows × %d columns; the grid shows %d rows × %d figures (%d forecasts)", len(recs), len(recs[0]), len(order), shownCols, forecasts)
	}
	for i, m := range order {
		name, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#pivot-table tr[data-member="`+m+`"] th`)))
		must("reading a row's name", err)
		if strings.TrimSpace(strings.TrimLeft(name, "▸▾ ")) != recs[i+1][0] {
			t.Errorf("CSV row %d = %q, the grid's is %q", i+1, recs[i+1][0], name)
		}
	}
	col := slices.Index(recs[0], "Gap to target · FY")
	for i, m := range order {
		got, err := strconv.ParseFloat(recs[i+1][col], 64)
		if err != nil || math.Abs(got-gapOf(m)) > 1 {
			t.Errorf("CSV gap of %s = %q, the grid shows %v", m, recs[i+1][col], gapOf(m))
		}
	}

	// Expand all: every member of the dimension is a row.
	var sum struct {
		Dimensions []struct {
			ID      string `json:"id"`
			Members []struct {
				ID string `json:"id"`
			} `json:"members"`
		} `json:"dimensions"`
	}
	apiJSON(t, srv.URL, cr.viewer, "/api/v1/plans/"+demo.Plan+"/summary", &sum)
	var members []string
	for _, d := range sum.Dimensions {
		if d.ID == "region" {
			for _, m := range d.Members {
				members = append(members, m.ID)
			}
		}
	}
	must("expanding all", chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("pivot-expand-all")),
		chromedp.WaitVisible(chromedp.CSS(`#pivot-table tr[data-member="brazil"]`)),
	))
	all, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#pivot-table tbody tr[aria-rowindex]')].map((r) => r.dataset.member)`))
	must("reading the rows", err)
	slices.Sort(all)
	slices.Sort(members)
	if len(members) < 2 || !slices.Equal(all, members) {
		t.Errorf("expanded pivot rows %q, want every region %q", all, members)
	}

	// Every cell as a row, from the form: the total and the 4 regions × 2
	// products of the demo; a cell's full year is its rolling plan's months.
	must("choosing every cell", chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("p-dimension"), ":cells"),
		chromedp.Click(chromedp.CSS(`#pivot-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#pivot-table tr[data-node="product=pumps;region=dach"]`)),
	))
	nodes, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#pivot-table tbody tr[aria-rowindex]')].map((r) => r.dataset.node)`))
	must("reading the cells", err)
	if len(nodes) != 9 || nodes[0] != "" || !slices.Contains(nodes, "product=valves;region=brazil") {
		t.Errorf("pivot of every cell: rows %q, want the total and 8 cells", nodes)
	}
	var ro rollingAnswer
	apiJSON(t, srv.URL, cr.viewer, "/api/v1/plans/"+demo.Plan+"/rolling?metric="+demo.Metric+"&node="+url.QueryEscape("product=pumps;region=dach"), &ro)
	var le float64
	for _, p := range ro.Periods[:12] {
		le += *p.LatestEstimate
	}
	if got := num(cell("product=pumps;region=dach", "FY", "le")); math.Abs(got-le) > 1 {
		t.Errorf("pivot DACH pumps full-year latest estimate = %v, the rolling plan's months sum to %v", got, le)
	}

	// The README's screenshot: year to date and the full year, EMEA open.
	must("the README's pivot", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/pivot?dimension=region&cols=ytd,fy&measures=target,actual,forecast,gap,variance,p&open=world,emea"),
		// The grid before had quarters: wait until it is replaced.
		chromedp.WaitNotPresent(chromedp.CSS(`#pivot-table th[data-col="Q1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#pivot-table tr[data-member="dach"] td[data-col="YTD"][data-measure="target"]`)),
	))
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	must("screenshot", err)
	if os.Getenv("CONCORD_UPDATE_SCREENSHOTS") == "1" {
		must("saving the README screenshot", os.WriteFile(filepath.Join("testdata", "pivot.png"), png, 0o644))
	}
}

// TestDashboardPivotOfEveryCell: the pivot of every cell of a generated
// company (company.Small: more cells than a screenful of rows, the demo
// has 8) writes only the rows in view, exports every row, reaches the last
// from the keyboard and passes axe-core scrolled there.
func TestDashboardPivotOfEveryCell(t *testing.T) {
	ctx := browser(t)
	bg := context.Background()
	l, err := company.Generate(company.Small(3))
	if err != nil {
		t.Fatal(err)
	}
	clock := &viewtest.Clock{}
	store := viewtest.OpenStore(t, "", clock)
	if err := l.AppendTo(bg, store, clock.Set); err != nil {
		t.Fatal(err)
	}
	reg := planning.NewRegistry()
	svc := planning.New(store, reg)
	viewer := issueToken(t, svc, "vera", access.RoleViewer)
	hs := apiOver(t, store, reg, svc, clock)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(hs.URL+"/#/signin"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SetValue(chromedp.ID("token"), viewer),
		chromedp.Click(chromedp.CSS(`#signin-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("overview-table")),
	); err != nil {
		t.Fatalf("signing in: %v", err)
	}
	pivotOfEveryCell(t, ctx, hs.URL, viewer)
	if axeSource := axeCore(t); axeSource != "" {
		for _, vi := range axeViolations(t, ctx, axeSource) {
			t.Errorf("pivot of every cell: axe-core %s violation %s (%s) at %v", vi.Impact, vi.ID, vi.Help, vi.Targets)
		}
	}
}

// TestDashboardOnRunningServer times the overview and the pivot in the
// browser against a server already running (CONCORD_DASHBOARD_URL, with
// CONCORD_DASHBOARD_TOKEN), e.g. on the Realistic company; skipped
// without them.
func TestDashboardOnRunningServer(t *testing.T) {
	base, tok := os.Getenv("CONCORD_DASHBOARD_URL"), os.Getenv("CONCORD_DASHBOARD_TOKEN")
	if base == "" || tok == "" {
		t.Skip("set CONCORD_DASHBOARD_URL and CONCORD_DASHBOARD_TOKEN to time the dashboard on a running server")
	}
	// A large store's first answers (its analyses) on a shared machine
	// take longer than the demo's two minutes: it reports, it does not
	// fail on time.
	ctx := browserFor(t, 10*time.Minute)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("signing in", chromedp.Do(ctx,
		chromedp.Navigate(base+"/#/signin"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SetValue(chromedp.ID("token"), tok),
		chromedp.Click(chromedp.CSS(`#signin-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("overview-table")),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.ID("overview-table")),
	))
	ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`performance.getEntriesByName('rendered:overview')[0].startTime`))
	must("reading the overview's mark", err)
	t.Logf("overview rendered %.0f ms after navigation start", ms)
	// timed opens a pivot and returns the milliseconds until it rendered
	// and the figures it shows.
	timed := func(q string) (float64, int) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`performance.clearMarks('rendered:pivot'); window.t0 = performance.now(); location.hash = '#/pivot?`+q+`'; true`))
		must("opening "+q, err)
		ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`new Promise((ok) => { const f = () => { const m = performance.getEntriesByName('rendered:pivot')[0]; if (m) ok(m.startTime - window.t0); else requestAnimationFrame(f); }; f(); })`, chromedp.EvalAwaitPromise))
		must("reading the pivot's mark", err)
		cells, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#pivot-table tbody td').length`))
		must("counting the cells", err)
		return ms, cells
	}
	// The heatmap fills its place after the table, when it comes.
	heat, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`new Promise((ok) => { const f = () => { const m = performance.getEntriesByName('rendered:heatmap')[0]; if (m) ok(m.startTime); else if (document.getElementById('heatmap-none')) ok(-1); else setTimeout(f, 50); }; f(); })`, chromedp.EvalAwaitPromise))
	must("waiting for the heatmap", err)
	t.Logf("heatmap drawn %.0f ms after navigation start (-1: none of the layouts tried has targets)", heat)
	for _, q := range []string{"cols=quarter,ytd,fy", "cols=month&measures=target,le,gap", "open=*&cols=month&measures=target,le,gap"} {
		ms, cells := timed(q)
		rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#pivot-table tbody tr[aria-rowindex]').length`))
		must("counting the rows", err)
		t.Logf("pivot %s: %d rows, %d figures, rendered in %.0f ms", q, rows, cells, ms)
	}
	pivotOfEveryCell(t, ctx, base, tok)
}

// pivotAnswer is the part of the pivot answer (GET …/pivot) the pivot of
// every cell is checked against.
type pivotAnswer struct {
	Months []struct {
		Period string `json:"period"`
	} `json:"months"`
	Rows []struct {
		Node           string     `json:"node"`
		Name           string     `json:"name"`
		LatestEstimate []*float64 `json:"latest_estimate"`
	} `json:"rows"`
}

// pivotOfEveryCell chooses, as a user does in the pivot's form, every cell
// of the plan as rows and the twelve months of its first fiscal year as
// columns, and logs the time from pressing Show to the frame painted. It
// checks that the grid counts every cell as a row (aria-rowcount) but
// writes only the rows in view (more than maxRows rows of a grid larger
// than that fail), that the CSV holds every row with the API's figures,
// and, scrolling from the keyboard (End) and by the scroll bar, that the
// last and the middle row show their rolling plans' months.
func pivotOfEveryCell(t *testing.T, ctx context.Context, base, tok string) {
	t.Helper()
	const maxRows = 60 // a screenful (70% of 1,000 pixels) and the overscan
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	var plans struct {
		Plans []struct {
			ID string `json:"id"`
		} `json:"plans"`
	}
	apiJSON(t, base, tok, "/api/v1/plans", &plans)
	plan := plans.Plans[0].ID
	var sum summaryAnswer
	apiJSON(t, base, tok, "/api/v1/plans/"+plan+"/summary", &sum)
	cells := 1
	for _, d := range sum.Dimensions {
		leaves := 0
		for _, m := range d.Members {
			if !slices.ContainsFunc(d.Members, func(c summaryMember) bool { return c.Parent == m.ID && c.ID != m.ID }) {
				leaves++
			}
		}
		cells *= leaves
	}
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`location.hash = '#/pivot?cols=fy&measures=target'; true`))
	must("opening the pivot", err)
	must("opening the pivot's form", chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#pivot-table th[data-col="FY"]`))))
	// busy reads the page's main-thread time so far (Performance.getMetrics,
	// seconds): its tasks, and of them script, layout and style.
	busy := func() map[string]float64 {
		t.Helper()
		m, err := chromedp.Run(ctx, chromedp.Action[map[string]float64](func(ctx context.Context, tg *chromedp.Target) (map[string]float64, error) {
			if _, err := cdp.Call(ctx, tg, performance.Enable, performance.EnableParams{}); err != nil {
				return nil, err
			}
			res, err := cdp.Call(ctx, tg, performance.GetMetrics, cdp.Empty{})
			if err != nil {
				return nil, err
			}
			out := map[string]float64{}
			for _, x := range res.Metrics {
				out[x.Name] = x.Value
			}
			return out, nil
		}))
		must("reading the page's metrics", err)
		return m
	}
	before := busy()
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const form = document.getElementById('pivot-form');
		form.elements['p-dimension'].value = ':cells';
		for (const c of form.querySelectorAll('input[name="col"]')) c.checked = c.value === 'month';
		for (const c of form.querySelectorAll('input[name="measure"]')) c.checked = ['target', 'le', 'gap'].includes(c.value);
		performance.clearMarks('rendered:pivot');
		window.t0 = performance.now();
		form.querySelector('button[type="submit"]').click();
		return true;
	})()`))
	must("choosing every cell", err)
	// Rendered: the frame after the view's mark is painted.
	ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`new Promise((ok) => { const f = () => { if (performance.getEntriesByName('rendered:pivot')[0]) requestAnimationFrame(() => setTimeout(() => ok(performance.now() - window.t0))); else requestAnimationFrame(f); }; f(); })`, chromedp.EvalAwaitPromise))
	must("waiting for the pivot of every cell", err)
	after := busy()
	t.Logf("pivot of every cell: the page's main thread busy %.2f s (script %.2f s, layout %.2f s, style %.2f s) from Show to painted", after["TaskDuration"]-before["TaskDuration"],
		after["ScriptDuration"]-before["ScriptDuration"], after["LayoutDuration"]-before["LayoutDuration"], after["RecalcStyleDuration"]-before["RecalcStyleDuration"])
	// shape: the rows counted (aria-rowcount less the two header rows),
	// the months, the rows written and their figures.
	const shapeJS = `[Number(document.getElementById('pivot-table').getAttribute('aria-rowcount')) - 2, document.querySelectorAll('#pivot-table thead th[data-measure="target"]').length, document.querySelectorAll('#pivot-table tbody tr[aria-rowindex]').length, document.querySelectorAll('#pivot-table tbody td[data-measure]').length]`
	shape, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](shapeJS))
	must("counting the rows", err)
	t.Logf("pivot of every cell: %d rows (the total and %d cells) × %d months, %d rows (%d figures) written, rendered %.0f ms after Show", shape[0], shape[0]-1, shape[1], shape[2], shape[3], ms)
	if shape[0] != cells+1 || shape[1] != 12 {
		t.Fatalf("pivot of every cell: %d rows × %d months, want the total and %d cells × 12 months", shape[0], shape[1], cells)
	}
	if shape[0] <= maxRows {
		t.Fatalf("the plan has %d cells: too few to check that the grid writes only the rows in view", cells)
	}
	if shape[2] == 0 || shape[2] > maxRows {
		t.Errorf("pivot of every cell: %d of its %d rows written, want at most %d (the rows in view)", shape[2], shape[0], maxRows)
	}
	var ans pivotAnswer
	apiJSON(t, base, tok, "/api/v1/plans/"+plan+"/pivot?rows=cells&metric="+sum.Metrics[0].ID, &ans)
	if len(ans.Rows) != cells+1 || len(ans.Months) != 12 {
		t.Fatalf("GET …/pivot?rows=cells: %d rows × %d months, want %d × 12", len(ans.Rows), len(ans.Months), cells+1)
	}
	// The CSV holds every row, written or not, in the API's order, with
	// its months' latest estimates.
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`new Promise((resolve) => {
		const made = URL.createObjectURL;
		URL.createObjectURL = (b) => { URL.createObjectURL = made; b.text().then(resolve); return made(b); };
		document.getElementById('pivot-csv').click();
	})`, chromedp.EvalAwaitPromise))
	must("exporting the pivot of every cell", err)
	recs, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	must("reading the CSV", err)
	if len(recs) != len(ans.Rows)+1 {
		t.Fatalf("CSV of the pivot of every cell: %d rows, want the header and %d", len(recs), len(ans.Rows))
	}
	for i, r := range ans.Rows {
		rec := recs[i+1]
		if name := rec[0]; name != r.Name && !(i == 0 && name == "All cells (total)") {
			t.Errorf("CSV row %d = %q, the API's %q", i+1, name, r.Name)
			continue
		}
		for k, m := range ans.Months {
			col := slices.Index(recs[0], "Latest estimate · "+m.Period)
			want := r.LatestEstimate[k]
			got, err := strconv.ParseFloat(rec[col], 64)
			if want == nil && rec[col] != "" || want != nil && (err != nil || math.Abs(got-*want) > 0.01) {
				t.Errorf("CSV %s %s latest estimate %q, the API's %v", r.Node, m.Period, rec[col], want)
			}
		}
	}
	// row reads the months' latest estimates of the i-th row (0: the
	// total) once it is written, and checks them against the row's rolling
	// plan and the API's pivot.
	row := func(i int) {
		t.Helper()
		sel := `#pivot-table tr[aria-rowindex="` + strconv.Itoa(i+3) + `"]`
		must("showing row "+strconv.Itoa(i), chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))))
		node, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('`+sel+`').dataset.node`))
		must("reading row "+strconv.Itoa(i), err)
		if node != ans.Rows[i].Node {
			t.Errorf("row %d is %q, the API's %q", i, node, ans.Rows[i].Node)
		}
		var ro rollingAnswer
		apiJSON(t, base, tok, "/api/v1/plans/"+plan+"/rolling?metric="+sum.Metrics[0].ID+"&node="+url.QueryEscape(node), &ro)
		for k, p := range ro.Periods[:12] {
			text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel+` td[data-col="`+p.Period+`"][data-measure="le"]`)))
			must("reading "+node+" "+p.Period, err)
			if p.LatestEstimate == nil {
				if text != "—" || ans.Rows[i].LatestEstimate[k] != nil {
					t.Errorf("pivot %s %s latest estimate %q, the rolling plan has none", node, p.Period, text)
				}
				continue
			}
			if got := num(text); math.Abs(got-*p.LatestEstimate) > 1 || math.Abs(got-*ans.Rows[i].LatestEstimate[k]) > 1 {
				t.Errorf("pivot %s %s latest estimate %v, the rolling plan's %v", node, p.Period, got, *p.LatestEstimate)
			}
		}
	}
	// shoot saves a screenshot into CONCORD_SCREENSHOTS_DIR, when set.
	shoot := func(name string) {
		t.Helper()
		if dir := os.Getenv("CONCORD_SCREENSHOTS_DIR"); dir != "" {
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			must("screenshot", err)
			must("saving a screenshot", os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
		}
	}
	shoot("pivot-cells")
	row(1)
	// To the end from the keyboard: Tab reaches the grid's scrolling box,
	// End scrolls it to the last row.
	must("scrolling to the last row", chromedp.Do(ctx, chromedp.Focus(chromedp.ID("pivot-scroll")), chromedp.KeyEvent(kb.End)))
	row(len(ans.Rows) - 1)
	shoot("pivot-cells-end")
	// To the middle: a row's height times its index.
	mid := len(ans.Rows) / 2
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const rs = document.querySelectorAll('#pivot-table tbody tr[aria-rowindex]');
		const pitch = (rs[rs.length - 1].getBoundingClientRect().bottom - rs[0].getBoundingClientRect().top) / rs.length;
		document.getElementById('pivot-scroll').scrollTop = `+strconv.Itoa(mid)+` * pitch;
		return true;
	})()`))
	must("scrolling to the middle", err)
	row(mid)
	shape, err = chromedp.Run(ctx, chromedp.Evaluate[[]int](shapeJS))
	must("counting the rows", err)
	if shape[2] == 0 || shape[2] > maxRows {
		t.Errorf("pivot of every cell scrolled: %d of its %d rows written, want at most %d", shape[2], shape[0], maxRows)
	}
}

// summaryAnswer is the part of the plan summary the pivot of every cell
// reads: the dimensions' members and the metrics.
type summaryAnswer struct {
	Metrics []struct {
		ID string `json:"id"`
	} `json:"metrics"`
	Dimensions []struct {
		ID      string          `json:"id"`
		Members []summaryMember `json:"members"`
	} `json:"dimensions"`
}

type summaryMember struct {
	ID     string `json:"id"`
	Parent string `json:"parent"`
}
