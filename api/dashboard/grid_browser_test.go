package dashboard_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// targetList is GET …/targets.
type targetList struct {
	Items []struct {
		Node   string `json:"node"`
		Metric string `json:"metric"`
		Span   string `json:"span"`
		Amount string `json:"amount"`
	} `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// yearTargets reads the plan's targets of metric for span from the API:
// node → amount.
func yearTargets(t *testing.T, base, token, plan, metric, span string) map[string]float64 {
	t.Helper()
	var l targetList
	apiJSON(t, base, token, "/api/v1/plans/"+plan+"/targets?limit=500", &l)
	if l.NextCursor != "" {
		t.Fatal("the demo has more than 500 targets")
	}
	out := map[string]float64{}
	for _, it := range l.Items {
		if it.Metric == metric && it.Span == span {
			v, err := strconv.ParseFloat(it.Amount, 64)
			if err != nil {
				t.Fatalf("target %s %s: amount %q: %v", it.Node, it.Span, it.Amount, err)
			}
			out[it.Node] = v
		}
	}
	return out
}

// TestDashboardPlanGrid: a planner types targets into the plan grid. A
// child's change rolls up to its parents, and the review shows the sum it
// breaks (EMEA's product split) with submit disabled; nothing is written.
// EMEA's new value spread evenly halves it between DACH and the UK; spread
// in proportion to the targets, it moves DACH, the UK and EMEA's two
// product lines in proportion and rolls up to the total; the server's
// check passes, and the batch is written as one change with its reason,
// every target as the grid showed it (read back from the API).
func TestDashboardPlanGrid(t *testing.T) {
	ctx := browser(t)
	srv, demo, cr := server(t)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	axeSource := axeCore(t)
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		must("screenshot", err)
		if dir := os.Getenv("CONCORD_SCREENSHOTS_DIR"); dir != "" {
			must("saving a screenshot", os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
		}
		if os.Getenv("CONCORD_UPDATE_SCREENSHOTS") == "1" && name == "grid" {
			must("saving the README screenshot", os.WriteFile(filepath.Join("testdata", name+".png"), png, 0o644))
		}
		if axeSource != "" {
			for _, v := range axeViolations(t, ctx, axeSource) {
				t.Errorf("view %s: axe-core %s violation %s (%s) at %v", name, v.Impact, v.ID, v.Help, v.Targets)
			}
		}
	}
	span := "FY" + strconv.Itoa(demo.Year)
	before := yearTargets(t, srv.URL, cr.planner, demo.Plan, demo.Metric, span)
	cellSel := func(node string) string {
		return `#grid-table tr[data-node="` + node + `"] input[data-span="` + span + `"]`
	}
	value := func(node string) float64 {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('`+cellSel(node)+`').value`))
		must("reading the cell of "+node, err)
		return num(v)
	}
	typeInto := func(node string, amount float64) {
		t.Helper()
		must("focusing "+node, chromedp.Do(ctx, chromedp.Focus(chromedp.CSS(cellSel(node)))))
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelector('`+cellSel(node)+`').select(), true)`))
		must("selecting the text of "+node, err)
		must("typing into "+node, chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.CSS(cellSel(node)), strconv.FormatFloat(amount, 'f', 0, 64)+kb.Enter),
			chromedp.WaitVisible(chromedp.Search(`//p[@id="grid-pending" and contains(., "changed")]`)),
		))
	}
	head := func() string {
		t.Helper()
		var l targetList
		apiJSON(t, srv.URL, cr.planner, "/api/v1/plans/"+demo.Plan+"/targets?limit=500", &l)
		b, _ := json.Marshal(l)
		return string(b)
	}

	must("signing in as the planner", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/signin"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SetValue(chromedp.ID("token"), cr.planner),
		chromedp.Click(chromedp.CSS(`#signin-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("overview-table")),
	))
	must("opening the plan grid", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a[data-route="grid"]`)), // the navigation offers it to a planner
		chromedp.WaitVisible(chromedp.CSS(`#grid-table tr[data-node="region=emea"]`)),
		// EMEA expands from the keyboard.
		chromedp.Focus(chromedp.CSS(`#grid-table button.toggle[data-member="emea"]`)),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(cellSel("region=dach"))),
	))
	for _, node := range []string{"", "region=emea", "region=dach", "region=uk", "region=americas"} {
		if got := value(node); got != before[node] {
			t.Errorf("grid cell of %q = %v, the API's target %v", node, got, before[node])
		}
	}

	// A child's change: DACH +40,000 rolls up to EMEA and the total, and
	// EMEA's product lines no longer add up to it.
	typeInto("region=dach", before["region=dach"]+40000)
	if emea, total := value("region=emea"), value(""); emea != before["region=emea"]+40000 || total != before[""]+40000 {
		t.Errorf("after DACH +40,000: EMEA %v, total %v; want both 40,000 up (rolled up)", emea, total)
	}
	note, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('`+cellSel("region=emea")+`').closest('td').textContent`))
	must("reading EMEA's note", err)
	if !strings.Contains(note, "rolled up") || !strings.Contains(note, "Σ of its Product parts") {
		t.Errorf("EMEA's cell says %q; want it rolled up and its product parts' sum shown", note)
	}
	targetsBefore := head()
	must("reviewing a batch that breaks a sum", chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("g-reason"), "DACH key account won back"),
		chromedp.Click(chromedp.ID("grid-review-btn")),
		chromedp.WaitVisible(chromedp.ID("grid-conflicts")),
	))
	conflict, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("grid-conflicts")))
	must("reading the conflicts", err)
	if !strings.Contains(conflict, "but EMEA") {
		t.Errorf("the review's conflicts = %q, want the server's sum that EMEA breaks", conflict)
	}
	if disabled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('grid-submit').disabled`)); err != nil || !disabled {
		t.Errorf("a batch with a conflict can be submitted (disabled %v, %v)", disabled, err)
	}
	shot("grid-conflict")
	if head() != targetsBefore {
		t.Fatal("the review wrote targets")
	}

	// A parent's value spread evenly: DACH and the UK get half each.
	emeaNew := before["region=emea"] + 100000
	must("discarding and choosing to spread evenly", chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("grid-discard")),
		chromedp.Click(chromedp.ID("g-spread-even")),
	))
	typeInto("region=emea", emeaNew)
	if dach, uk := value("region=dach"), value("region=uk"); math.Abs(dach-emeaNew/2) > 1 || math.Abs(uk-emeaNew/2) > 1 {
		t.Errorf("EMEA %v spread evenly: DACH %v, UK %v; want half each", emeaNew, dach, uk)
	}

	// In proportion to the forecast: DACH and the UK share EMEA's new value
	// as their latest estimates of the year share theirs (the variance API's).
	var emea varianceAnswer
	apiJSON(t, srv.URL, cr.planner, "/api/v1/plans/"+demo.Plan+"/variance?metric="+demo.Metric+"&year="+strconv.Itoa(demo.Year)+"&dimension=region&parent=emea", &emea)
	le := map[string]float64{}
	for _, r := range emea.Rows {
		if r.LatestEstimate != nil {
			le[r.Member] = *r.LatestEstimate
		}
	}
	must("discarding and choosing to spread in proportion to the forecast", chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("grid-discard")),
		chromedp.Click(chromedp.ID("g-spread-forecast")),
	))
	typeInto("region=emea", emeaNew)
	if dach, uk, w := value("region=dach"), value("region=uk"), emeaNew*le["dach"]/(le["dach"]+le["uk"]); math.Abs(dach-w) > 2 || dach+uk != emeaNew {
		t.Errorf("EMEA %v spread to the forecast: DACH %v, UK %v; want DACH %.0f (latest estimates %v)", emeaNew, dach, uk, w, le)
	}

	// In proportion to the targets: DACH, the UK and EMEA's product lines
	// keep their shares; the total rolls up.
	must("discarding and choosing to spread in proportion", chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("grid-discard")),
		chromedp.Click(chromedp.ID("g-spread-targets")),
	))
	typeInto("region=emea", emeaNew)
	want := map[string]float64{"region=emea": emeaNew, "": before[""] + 100000}
	for _, node := range []string{"region=dach", "region=uk", "product=pumps;region=emea", "product=valves;region=emea"} {
		want[node] = before[node] * emeaNew / before["region=emea"]
	}
	for _, node := range []string{"region=dach", "region=uk", "region=emea", ""} {
		if got := value(node); math.Abs(got-want[node]) > 1 {
			t.Errorf("EMEA %v spread in proportion: %q = %v, want %v", emeaNew, node, got, want[node])
		}
	}
	must("reviewing the batch", chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("g-reason"), "EMEA stretch after the Q1 review"),
		chromedp.Click(chromedp.ID("grid-review-btn")),
		chromedp.WaitVisible(chromedp.ID("grid-check")),
		chromedp.WaitEnabled(chromedp.ID("grid-submit")),
	))
	reviewed, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#grid-review-table tbody tr')].map((r) => r.cells[0].textContent + '|' + r.cells[3].textContent)`))
	must("reading the review", err)
	if len(reviewed) != len(want) {
		t.Errorf("the review lists %q, want the %d changed targets", reviewed, len(want))
	}
	shot("grid")
	if head() != targetsBefore {
		t.Fatal("the review wrote targets")
	}
	must("submitting", chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("grid-submit")),
		chromedp.WaitVisible(chromedp.Search(`//p[@id="status" and contains(., "written as one change")]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[@id="grid-pending" and contains(., "No changes")]`)),
	))
	after := yearTargets(t, srv.URL, cr.planner, demo.Plan, demo.Metric, span)
	for node, w := range want {
		if math.Abs(after[node]-w) > 0.01 {
			t.Errorf("written target of %q = %v, want %v", node, after[node], w)
		}
	}
	for node, v := range before {
		if _, moved := want[node]; !moved && after[node] != v {
			t.Errorf("target of %q moved from %v to %v; the batch did not touch it", node, v, after[node])
		}
	}
	// One change, with its reason and its author, in the history.
	var hist struct {
		Items []struct {
			Position string `json:"position"`
			Type     string `json:"type"`
			Actor    string `json:"actor"`
			Reason   string `json:"reason"`
		} `json:"items"`
	}
	apiJSON(t, srv.URL, cr.planner, "/api/v1/plans/"+demo.Plan+"/history?type=plan.TargetRevised&limit=50", &hist)
	n := 0
	for _, it := range hist.Items {
		if it.Reason == "EMEA stretch after the Q1 review" {
			n++
			if it.Actor != "token:paul" {
				t.Errorf("revision at %s by %q, want token:paul", it.Position, it.Actor)
			}
		}
	}
	if n != len(want) {
		t.Errorf("history has %d revisions with the batch's reason, want %d", n, len(want))
	}
	// The grid shows the written targets.
	for _, node := range []string{"region=dach", "region=uk", "region=emea", ""} {
		if got, w := value(node), want[node]; math.Abs(got-w) > 1 {
			t.Errorf("grid after the submission: %q = %v, want %v", node, got, w)
		}
	}
}
