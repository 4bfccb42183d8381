package dashboard_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/concord-planning/concord/api"
	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/domain/planning/csvimport"
	"github.com/concord-planning/concord/projections/view/viewtest"
)

const chromium = "/usr/bin/chromium"

// creds are the tokens of the browser test's principals, issued through
// planning.Service.IssueToken like any other.
type creds struct {
	viewer, sales, planner string
	head                   string // the log's last position once they are issued
}

// server is the real API server (api.New) over a SQLite store in a
// temporary directory seeded with the demo company, with a viewer, a sales
// leader scoped to EMEA and a planner.
func server(t *testing.T) (*httptest.Server, viewtest.Demo, creds) {
	t.Helper()
	ctx := context.Background()
	reg := planning.NewRegistry()
	store, demo, clock := viewtest.Seeded(t, "", reg)
	svc := planning.New(store, reg)
	cr := creds{viewer: issueToken(t, svc, "vera", access.RoleViewer), sales: issueToken(t, svc, "ana", access.RoleSales, "region=emea"),
		planner: issueToken(t, svc, "paul", access.RolePlanner)}
	head, err := store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cr.head = head.String()
	return apiOver(t, store, reg, svc, clock), demo, cr
}

// issueToken has an admin issue svc's token name of role (within scopes)
// and returns its secret.
func issueToken(t *testing.T, svc *planning.Service, name string, role access.Role, scopes ...string) string {
	t.Helper()
	root := planning.Call{By: planning.Principal{Actor: "setup", Role: access.RoleAdmin}}
	it, err := svc.IssueToken(context.Background(), root, planning.IssueToken{Name: name, Role: role, Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	return it.Secret
}

// apiOver serves the real API (api.New) over store, with svc on reg and
// the clock's time, until the test ends.
func apiOver(t *testing.T, store eventstore.Store, reg *eventstore.Registry, svc *planning.Service, clock *viewtest.Clock) *httptest.Server {
	t.Helper()
	srv, err := api.New(api.Config{Clock: clock.Now}, api.Deps{Store: store, Registry: reg, Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return hs
}

// browser starts headless Chromium with a fresh profile, or skips; the
// test has two minutes.
func browser(t *testing.T) context.Context {
	t.Helper()
	return browserFor(t, 2*time.Minute)
}

// browserFor starts headless Chromium with a fresh profile for a test that
// has d, or skips.
func browserFor(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("skipping the browser test: %s is missing (apt-get install chromium)", chromium)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1000),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, d)
	t.Cleanup(cancel3)
	return ctx
}

func TestDashboardInBrowser(t *testing.T) {
	ctx := browser(t)
	srv, demo, cr := server(t)
	shots := t.TempDir() // CONCORD_SCREENSHOTS_DIR keeps them
	if dir := os.Getenv("CONCORD_SCREENSHOTS_DIR"); dir != "" {
		shots = dir
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.Search(sel)))
		must("reading "+sel, err)
		return v
	}
	axeSource := axeCore(t)
	// shot saves a screenshot of the view (CONCORD_UPDATE_SCREENSHOTS=1
	// also those of the README into testdata) and checks it with axe-core.
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		must("screenshot", err)
		must("saving a screenshot", os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644))
		if readme := []string{"overview", "node", "compare", "history", "accuracy", "conflict", "preview", "approve"}; os.Getenv("CONCORD_UPDATE_SCREENSHOTS") == "1" && slices.Contains(readme, name) {
			must("saving the README screenshot", os.WriteFile(filepath.Join("testdata", name+".png"), png, 0o644))
		}
		if axeSource != "" {
			for _, v := range axeViolations(t, ctx, axeSource) {
				t.Errorf("view %s: axe-core %s violation %s (%s) at %v", name, v.Impact, v.ID, v.Help, v.Targets)
			}
		}
	}
	gap := func(row string) string {
		return `//table[@id="overview-table"]//tr[th[contains(., "` + row + `")]]/td[6]`
	}
	table := func(row string) string { return `//table[@id="overview-table"]//th[contains(., "` + row + `")]` }
	cell := func(row string) string {
		return `//table[@id="overview-table"]//tr[th[contains(., "` + row + `")]]/td[1]`
	}

	// Sign in: a wrong token is refused, the right one shows the overview.
	must("signing in with a wrong token", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/signin"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), "wrong"),
		chromedp.Click(chromedp.CSS(`#signin-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[@id="status" and contains(., "not accepted")]`)),
	))
	must("signing in", chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("token"), cr.viewer),
		chromedp.Click(chromedp.CSS(`#signin-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.Search(table("EMEA"))),
	))
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#overview-table tbody tr').length`))
	must("counting rows", err)
	if rows != 3 {
		t.Errorf("overview rows = %d, want 3 (World, EMEA, Americas)", rows)
	}

	// Reload: the token survives in sessionStorage; time the overview.
	must("reloading the overview", chromedp.Do(ctx,
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.Search(table("Americas"))),
		chromedp.WaitVisible(chromedp.CSS("svg.heatmap")),
	))
	rendered, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`performance.getEntriesByName('rendered:overview')[0].startTime`))
	must("reading the render mark", err)
	t.Logf("overview rendered %.0f ms after navigation start (loopback, demo company)", rendered)
	// The default heatmap is of crossings that have targets (product ×
	// region), so every cell has a probability.
	cells, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('svg.heatmap text.value')].map((x) => x.textContent)`))
	must("reading the heatmap", err)
	if len(cells) == 0 || slices.Contains(cells, "—") {
		t.Errorf("heatmap cells = %q, want a probability in every one", cells)
	}
	shot("overview")

	// Drill down into EMEA.
	must("drilling into EMEA", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a.drill[data-member="emea"]`)),
		chromedp.WaitVisible(chromedp.Search(table("DACH"))),
	))
	liveDACH := text(cell("DACH"))
	liveUK := text(cell("UK"))
	liveDACHGap := text(gap("DACH"))
	shot("drilldown")

	// As of the budget tag, DACH's target is the one before the approved
	// reallocation moved 60,000 to the UK.
	must("moving the as-of date", chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("asof"), demo.Budget.String()),
		chromedp.Click(chromedp.CSS(`#asof-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[@class="asof-note" and contains(., "position `+demo.Budget.String()+` ")]`)),
		chromedp.WaitVisible(chromedp.Search(table("DACH"))),
	))
	budgetDACH := text(cell("DACH"))
	if num(budgetDACH)-num(liveDACH) != 60000 {
		t.Errorf("DACH target as of the budget = %s, now %s; want 60,000 more at the budget", budgetDACH, liveDACH)
	}
	shot("asof")

	// Node view of DACH: chart with bands, and the adjustment explained.
	// Node view of DACH, found by name: chart with bands, and the
	// adjustment explained.
	must("node view", chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("asof-clear")),
		chromedp.WaitVisible(chromedp.Search(`//p[@class="asof-note" and contains(., "position `+cr.head+` ")]`)),
		chromedp.Navigate(srv.URL+"/#/node"),
		chromedp.WaitVisible(chromedp.ID("node-input")),
	))
	must("finding DACH by name", chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("node-input"), "dac"),
		chromedp.WaitVisible(chromedp.CSS(`#node-input-list li[data-node="region=dach"]`)),
	))
	must("picking DACH", chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("node-input"), kb.ArrowDown+kb.Enter),
		chromedp.WaitVisible(chromedp.Search(`//h1[.="Node: DACH"]`)),
	))
	must("charting DACH", chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`figure.chart svg path.band.b95`)),
		chromedp.WaitVisible(chromedp.Search(`//section[contains(@class,"explain")]//dt[contains(., "Target part")]`)),
	))
	// The monthly chart marks one actual per closed month of the table, and
	// the year-to-date chart sums them.
	closedRows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('table.data tbody tr')].filter((r) => r.cells[1].textContent === 'closed').map((r) => r.cells[2].textContent)`))
	must("reading the closed months", err)
	dots, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[...document.querySelectorAll('figure.chart svg')].map((s) => s.querySelectorAll('circle.dot.actual').length)`))
	must("counting the actuals charted", err)
	if len(closedRows) != 3 || len(dots) != 2 || dots[0] != 3 || dots[1] != 3 {
		t.Errorf("node view: closed months %q, actuals charted %v; want 3 in the monthly and the year-to-date chart", closedRows, dots)
	}
	// The year-to-date chart ends at the year's cumulative target and
	// estimate (actuals, then the forecast), the rolling plan's sums.
	var roll struct {
		Periods []struct {
			Closed   bool     `json:"closed"`
			Actual   *string  `json:"actual"`
			Target   *float64 `json:"target"`
			Forecast *struct {
				Mean float64 `json:"mean"`
			} `json:"forecast"`
		} `json:"periods"`
	}
	apiJSON(t, srv.URL, cr.viewer, "/api/v1/plans/"+demo.Plan+"/rolling?metric="+demo.Metric+"&node=region%3Ddach", &roll)
	var yearTarget, yearEstimate float64
	for _, p := range roll.Periods[:12] {
		yearTarget += *p.Target
		if p.Closed {
			a, _ := strconv.ParseFloat(*p.Actual, 64)
			yearEstimate += a
		} else {
			yearEstimate += p.Forecast.Mean
		}
	}
	ends, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries([...document.querySelectorAll('figure.chart')[1].querySelectorAll('text.end')].map((e) => [e.dataset.series, e.textContent]))`))
	must("reading the year-to-date chart's end labels", err)
	if math.Abs(num(ends["target"])-yearTarget) > 1 || math.Abs(num(ends["forecast"])-yearEstimate) > 1 {
		t.Errorf("year-to-date chart ends at target %s, estimate %s; the rolling plan sums to %.0f and %.0f", ends["target"], ends["forecast"], yearTarget, yearEstimate)
	}
	if note := text(`//p[@class="chart-note"]`); !strings.Contains(note, amount(yearTarget)) {
		t.Errorf("year-to-date note %q does not name the year's target %s", note, amount(yearTarget))
	}
	shot("node")

	// History: filter the timeline to approvals, then diff the two tags.
	must("history", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/history"),
		chromedp.WaitVisible(chromedp.CSS(`#timeline li`)),
	))
	// By default the timeline shows plan changes only, in words.
	types, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#timeline li')].map((li) => li.dataset.type + ' ' + li.querySelector('strong').textContent)`))
	must("reading the timeline", err)
	for _, ty := range types {
		if !strings.HasPrefix(ty, "plan.") {
			t.Errorf("default timeline shows %q, want plan changes only", ty)
		}
	}
	if len(types) == 0 || !slices.ContainsFunc(types, func(s string) bool { return strings.HasSuffix(s, " Target set") }) {
		t.Errorf("default timeline = %q, want the budget's targets as \"Target set\"", types)
	}
	must("filtering the history", chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.Search(`//p[@id="integrity" and contains(@class, "intact") and contains(., "Event log intact") and contains(., "stream heads")]`)),
		chromedp.SetValue(chromedp.ID("f-type"), "plan.ReallocationApproved"),
		chromedp.Click(chromedp.CSS(`#history-form button[type="submit"]`)),
		// The unfiltered timeline shows the approval too: wait for the
		// filtered one, a single item.
		chromedp.WaitVisible(chromedp.Search(`//ol[@id="timeline"][count(li)=1]/li[contains(., "r-1 approved")]`)),
	))
	if item := text(`//ol[@id="timeline"]`); !strings.Contains(item, "Reallocation approved by paul") {
		t.Errorf("filtered timeline = %q, want r-1's approval by paul, in words", item)
	}
	must("diff", chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("d-from"), "tag:Budget FY28"),
		chromedp.SetValue(chromedp.ID("d-to"), "tag:Q1 reforecast"),
		chromedp.Click(chromedp.CSS(`#diff-form button[type="submit"]`)),
		// The default comparison (of the same two tags) is the first: wait
		// for the one asked for, lest it replace the rows being read.
		chromedp.WaitVisible(chromedp.Search(`//div[@id="diff-out" and @data-run="2"]//td[contains(., "changed")]`)),
	))
	// Each change says who made it and why, as the diff answer does.
	var diff struct {
		Changes []struct {
			Label     string `json:"label"`
			ChangedBy string `json:"changed_by"`
			Reason    string `json:"reason"`
		} `json:"changes"`
	}
	apiJSON(t, srv.URL, cr.viewer, "/api/v1/plans/"+demo.Plan+"/diff?from="+url.QueryEscape("tag:Budget FY28")+"&to="+url.QueryEscape("tag:Q1 reforecast"), &diff)
	if len(diff.Changes) == 0 {
		t.Fatal("the diff of the two tags has no changes")
	}
	for _, c := range diff.Changes {
		by := text(`//div[@id="diff-out"]//tr[th[.="` + c.Label + `"]]//span[@class="by"]`)
		reason := text(`//div[@id="diff-out"]//tr[th[.="` + c.Label + `"]]//span[@class="reason"]`)
		if !strings.HasPrefix(by, c.ChangedBy) || c.ChangedBy == "" || reason != c.Reason || reason == "" {
			t.Errorf("diff row %s: by %q, reason %q; the API's %q, %q", c.Label, by, reason, c.ChangedBy, c.Reason)
		}
	}
	shot("history")

	// Versions side by side: the budget and the Q1 reforecast tags and the
	// live plan, by region at level 2. The approved r-1 moved 60,000 from
	// DACH between the two tags; the live plan is the Q1 reforecast's.
	must("comparing versions", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/compare?dimension=region&level=2&measures=target,gap&versions="+url.QueryEscape("tag:Budget FY28|tag:Q1 reforecast|live")),
		chromedp.WaitVisible(chromedp.Search(`//table[@id="compare-table"]//th[@scope="colgroup" and .="Target"]`)),
		chromedp.WaitVisible(chromedp.Search(`//table[@id="compare-table"]//th/a[.="Budget FY28"]`)),
	))
	compare := func(name string, col int) string {
		return text(`//table[@id="compare-table"]//tr[th[.="` + name + `"]]/td[` + strconv.Itoa(col) + `]`)
	}
	if budget, q1, live, delta := num(compare("DACH", 1)), num(compare("DACH", 2)), num(compare("DACH", 3)), signed(compare("DACH", 4)); budget-q1 != 60000 || live != num(liveDACH) || live != q1 || delta != -60000 {
		t.Errorf("compare DACH: target %v (budget), %v (Q1), %v (live), Δ %v; want the budget 60,000 above the Q1 reforecast, live = %s", budget, q1, live, delta, liveDACH)
	}
	shot("compare")

	// Forecast accuracy: vintages and FVA.
	must("accuracy", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/accuracy"),
		chromedp.WaitVisible(chromedp.Search(`//table//th[contains(., "v2027-04")]`)),
		chromedp.WaitVisible(chromedp.ID("fva")),
	))
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('main button')].filter((b) => b.textContent.includes('CSV')).length`)); err != nil || n != 1 {
		t.Errorf("accuracy view: %d CSV buttons (%v), want 1", n, err)
	}
	shot("accuracy")
	// A viewer is not offered the replan view.
	hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-route="replan"]').hidden`))
	must("reading the nav", err)
	if !hidden {
		t.Error("the Replan link is offered to a viewer")
	}

	// The sales leader (EMEA) reallocates 10,000 of target from DACH to
	// the UK: the preview comes first, and only then may it be submitted.
	signIn := func(who, token string) {
		t.Helper()
		must("signing in as "+who, chromedp.Do(ctx,
			chromedp.Click(chromedp.ID("signout")),
			chromedp.WaitVisible(chromedp.ID("token")),
			chromedp.SetValue(chromedp.ID("token"), token),
			chromedp.Click(chromedp.CSS(`#signin-form button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.Search(`//span[@id="who-name" and contains(., "token:`+who+`")]`)),
			chromedp.WaitVisible(chromedp.Search(table("EMEA"))),
		))
	}
	signIn("ana", cr.sales)
	must("opening the replan view", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/replan"),
		chromedp.WaitVisible(chromedp.ID("replan-form")),
	))
	disabled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('submit-realloc').disabled`))
	must("reading the submit button", err)
	if !disabled {
		t.Error("a reallocation can be submitted before it was previewed")
	}
	row := func(tbl, name string, col int) string {
		return `//div[@id="` + tbl + `"]//tr[th[contains(., "` + name + `")]]/td[` + strconv.Itoa(col) + `]`
	}
	// She may move every node with a target in EMEA: EMEA, DACH, the UK
	// and the two product lines in EMEA.
	offered, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`document.getElementById('mv-node-0').focus(), [...document.querySelectorAll('#mv-node-0-list li')].map((li) => li.dataset.node)`))
	must("reading the nodes offered", err)
	slices.Sort(offered)
	if want := []string{"product=pumps;region=emea", "product=valves;region=emea", "region=dach", "region=emea", "region=uk"}; !slices.Equal(offered, want) {
		t.Errorf("replan offers %q, want %q", offered, want)
	}
	// Moving 10,000 from EMEA to Pumps × EMEA breaks the targets' sums: the
	// preview says so, shows the gap after from the new target, and the
	// move cannot be submitted.
	must("previewing a conflicting move", chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("mv-node-0"), "emea"),
		chromedp.WaitVisible(chromedp.CSS(`#mv-node-0-list li[data-node="region=emea"]`)),
		chromedp.SendKeys(chromedp.ID("mv-node-0"), kb.Enter),
		chromedp.SendKeys(chromedp.ID("mv-delta-0"), "-10000"),
		chromedp.WaitVisible(chromedp.Search(`//span[@id="mv-fig-0" and contains(., "Target ") and contains(., "after: target")]`)),
		chromedp.SendKeys(chromedp.ID("mv-node-1"), "pumps emea"),
		chromedp.WaitVisible(chromedp.CSS(`#mv-node-1-list li[data-node="product=pumps;region=emea"]`)),
		chromedp.SendKeys(chromedp.ID("mv-node-1"), kb.Enter),
		chromedp.SendKeys(chromedp.ID("mv-delta-1"), "10000"),
		chromedp.SetValue(chromedp.ID("mv-reason"), "Pumps ahead"),
		chromedp.Click(chromedp.ID("preview-btn")),
		chromedp.WaitVisible(chromedp.ID("preview-conflicts")),
	))
	if d := signed(text(row("preview", "EMEA", 5))) - signed(text(row("preview", "EMEA", 4))); math.Abs(d+10000) > 1 {
		t.Errorf("conflicting preview of EMEA: gap %s → %s, want 10,000 less", text(row("preview", "EMEA", 4)), text(row("preview", "EMEA", 5)))
	}
	if disabled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('submit-realloc').disabled`)); err != nil || !disabled {
		t.Errorf("a conflicting reallocation can be submitted (disabled %v, %v)", disabled, err)
	}
	shot("conflict")
	must("previewing", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/replan?again=1"),
		chromedp.WaitVisible(chromedp.Search(`//form[@id="replan-form"]//div[@id="preview" and count(*)=0]`)),
		// Nodes found by name, as a sales leader would type them.
		chromedp.SendKeys(chromedp.ID("mv-node-0"), "dach"),
		chromedp.WaitVisible(chromedp.CSS(`#mv-node-0-list li[data-node="region=dach"]`)),
		chromedp.SendKeys(chromedp.ID("mv-node-0"), kb.Enter),
		chromedp.SendKeys(chromedp.ID("mv-delta-0"), "-10000"),
		chromedp.SendKeys(chromedp.ID("mv-node-1"), "uk"),
		chromedp.WaitVisible(chromedp.CSS(`#mv-node-1-list li[data-node="region=uk"]`)),
		chromedp.SendKeys(chromedp.ID("mv-node-1"), kb.Enter),
		chromedp.SendKeys(chromedp.ID("mv-delta-1"), "10000"),
		chromedp.SetValue(chromedp.ID("mv-reason"), "UK order book ahead of plan"),
		chromedp.Click(chromedp.ID("preview-btn")),
		chromedp.WaitVisible(chromedp.Search(`//div[@id="preview"]//th[contains(., "DACH")]`)),
		chromedp.WaitEnabled(chromedp.ID("submit-realloc")),
	))
	if before, after := num(text(row("preview", "DACH", 1))), num(text(row("preview", "DACH", 2))); before-after != 10000 || before != num(liveDACH) {
		t.Errorf("preview of DACH: target %v → %v, want %s → 10,000 less", before, after, liveDACH)
	}
	if before, after := num(text(row("preview", "UK", 1))), num(text(row("preview", "UK", 2))); after-before != 10000 {
		t.Errorf("preview of UK: target %v → %v, want 10,000 more", before, after)
	}
	shot("preview")
	must("submitting", chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("submit-realloc")),
		chromedp.WaitVisible(chromedp.Search(`//p[@id="status" and contains(., "submitted for approval")]`)),
	))
	status := strings.Fields(text(`//p[@id="status"]`))
	if len(status) < 2 || !strings.HasPrefix(status[1], "r-") {
		t.Fatalf("status after submitting = %q, want the new reallocation's id", status)
	}
	id := status[1]
	must("seeing the proposal", chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.Search(`//tr[th[.="`+id+`"]]//span[@data-status="proposed"]`)),
	))

	// The planner approves it.
	signIn("paul", cr.planner)
	must("previewing the proposal before approving it", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/replan"),
		chromedp.WaitVisible(chromedp.CSS(`button.approve[data-id="`+id+`"]`)),
		chromedp.Click(chromedp.CSS(`button.effect[data-id="`+id+`"]`)),
		chromedp.WaitVisible(chromedp.Search(`//div[@id="approve-preview"]//th[contains(., "DACH")]`)),
	))
	if before, after := num(text(row("approve-preview", "DACH", 1))), num(text(row("approve-preview", "DACH", 2))); before-after != 10000 {
		t.Errorf("the planner's preview of DACH: target %v → %v, want 10,000 less", before, after)
	}
	shot("approve")
	must("approving", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`button.approve[data-id="`+id+`"]`)),
		chromedp.WaitVisible(chromedp.Search(`//tr[th[.="`+id+`"]]//span[@data-status="approved"]`)),
	))

	// Plan and variance: DACH's target and gap are 10,000 lower, the UK's
	// target 10,000 higher.
	must("drilling into EMEA after the approval", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/overview?dimension=region&parent=emea"),
		chromedp.WaitVisible(chromedp.Search(table("DACH"))),
	))
	if got := num(text(cell("DACH"))); got != num(liveDACH)-10000 {
		t.Errorf("DACH target after the approval = %v, want %v − 10,000", got, liveDACH)
	}
	if got := num(text(cell("UK"))); got != num(liveUK)+10000 {
		t.Errorf("UK target after the approval = %v, want %v + 10,000", got, liveUK)
	}
	if d := signed(text(gap("DACH"))) - signed(liveDACHGap); math.Abs(d+10000) > 1 {
		t.Errorf("DACH gap moved by %v (%s → %s), want −10,000", d, liveDACHGap, text(gap("DACH")))
	}
	shot("after-approval")
	// History: both approvals, the seed's and this one.
	must("history after the approval", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/history?type=plan.ReallocationApproved"),
		chromedp.WaitVisible(chromedp.Search(`//ol[@id="timeline"]/li[contains(., "`+id+` approved")]`)),
	))
	if item := text(`//ol[@id="timeline"]`); strings.Count(item, "Reallocation approved by") != 2 || !strings.Contains(item, "token:paul") {
		t.Errorf("approvals = %q, want r-1's and %s's by token:paul", item, id)
	}
	t.Logf("screenshots in %s", shots)
}

// signed reads a displayed amount with its sign ("-1,234" or "−1,234").
func signed(s string) float64 {
	s = strings.TrimSpace(s)
	v := num(s)
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "−") {
		return -math.Abs(v)
	}
	return math.Abs(v)
}

// amount writes v as the dashboard does: rounded, with thousands separators.
func amount(v float64) string {
	s := strconv.FormatInt(int64(math.Round(math.Abs(v))), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if v < 0 {
		return "-" + s
	}
	return s
}

// num reads a displayed amount such as "1,234,000".
func num(s string) float64 {
	var v float64
	for _, r := range s {
		if r >= '0' && r <= '9' {
			v = v*10 + float64(r-'0')
		}
	}
	if strings.HasPrefix(strings.TrimSpace(s), "-") {
		v = -v
	}
	return v
}

// TestDashboardEmptyStates: on a new store the dashboard says what is
// missing and how to add it, step by step, instead of empty tables; once
// a plan exists, its overview says that targets, actuals and a published
// forecast are missing.
func TestDashboardEmptyStates(t *testing.T) {
	ctx := browser(t)
	bg := context.Background()
	reg := planning.NewRegistry()
	clock := &viewtest.Clock{}
	clock.Set(viewtest.SeedDay)
	store := viewtest.OpenStore(t, "", clock)
	svc := planning.New(store, reg)
	root := planning.Call{By: planning.Principal{Actor: "setup", Role: access.RoleAdmin}}
	viewer := issueToken(t, svc, "vera", access.RoleViewer)
	hs := apiOver(t, store, reg, svc, clock)
	step := func(name string) string {
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.Search(`//li[@data-step="`+name+`"]`)))
		if err != nil {
			t.Fatalf("reading the %s step: %v", name, err)
		}
		return v
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(hs.URL+"/#/signin"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SetValue(chromedp.ID("token"), viewer), chromedp.Click(chromedp.CSS(`#signin-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("setup-steps"))); err != nil {
		t.Fatalf("signing in on an empty store: %v", err)
	}
	for _, tt := range []struct{ step, want string }{
		{"Dimensions", "○ Dimensions"}, {"Dimensions", "concord import dimensions"}, {"A plan", "concord import plan"},
		{"Targets", "op,node,metric,span,amount,reason"}, {"Actuals", "concord import actuals"},
	} {
		if got := step(tt.step); !strings.Contains(got, tt.want) {
			t.Errorf("empty store, step %s = %q, want it to say %q", tt.step, got, tt.want)
		}
	}

	rows, _, err := csvimport.ReadMembers(strings.NewReader("dimension,member,name,parent\nregion,world,World,\nregion,emea,EMEA,world\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ImportDimensions(bg, root, rows, false); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("setup-steps"))); err != nil {
		t.Fatal(err)
	}
	if got := step("Dimensions"); !strings.Contains(got, "✓ Dimensions") || !strings.Contains(got, "Region (2 members)") {
		t.Errorf("after importing dimensions, step Dimensions = %q, want it done, naming Region", got)
	}

	if _, err := svc.OpenPlan(bg, root, planning.OpenPlan{ID: "p", Name: "P", Currency: "EUR", FiscalYearStart: 1, Dimensions: []string{"region"},
		HorizonStart: "2027-01", HorizonMonths: 12, Metrics: []plan.Metric{{ID: "revenue", Name: "Revenue"}}}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("forecast-source"))); err != nil {
		t.Fatal(err)
	}
	for sel, want := range map[string]string{
		"#forecast-source": "No statistical forecast yet", "#no-targets": "concord import targets", "#no-actuals": "concord import actuals",
	} {
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.Search(sel)))
		if err != nil || !strings.Contains(v, want) {
			t.Errorf("overview of a plan without numbers: %s = %q (%v), want it to say %q", sel, v, err, want)
		}
	}
}

// axeCore returns axe-core's script (npm's axe-core package, which .ci/run
// installs under api/dashboard/.axe), or "" after saying that the
// accessibility checks are skipped.
func axeCore(t *testing.T) string {
	t.Helper()
	path := filepath.Join(".axe", "node_modules", "axe-core", "axe.min.js")
	if p := os.Getenv("CONCORD_AXE_CORE"); p != "" {
		path = p
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Logf("skipping the accessibility checks: %v (npm install --prefix api/dashboard/.axe axe-core)", err)
		return ""
	}
	return string(b)
}

// violation is one axe-core rule broken on a view.
type violation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

// axeViolations runs axe-core on the page and returns its serious and
// critical violations.
func axeViolations(t *testing.T, ctx context.Context, source string) []violation {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](source+";\ntrue")); err != nil {
		t.Fatalf("loading axe-core: %v", err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ['violations']}).then((r) => JSON.stringify(
		r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
			.map((v) => ({id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' '))}))))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("running axe-core: %v", err)
	}
	var vs []violation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("axe-core's answer %q: %v", out, err)
	}
	return vs
}
