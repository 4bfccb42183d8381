package dashboard_test

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// apiPost sends body to path as the holder of token and fails the test
// unless the API answers 2xx.
func apiPost(t *testing.T, base, token, path string, body any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		var problem map[string]any
		_ = json.NewDecoder(res.Body).Decode(&problem)
		t.Fatalf("POST %s: %s %v", path, res.Status, problem)
	}
}

// TestDashboardCompareScenario: a planner opens a what-if scenario that
// moves 20,000 of target from DACH to the UK, then picks it beside the
// live plan in the compare view from the keyboard; the columns and the
// difference are the API's (variance with and without ?scenario).
func TestDashboardCompareScenario(t *testing.T) {
	ctx := browser(t)
	srv, demo, cr := server(t)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	plans := "/api/v1/plans/" + demo.Plan
	year := strconv.Itoa(demo.Year)
	apiPost(t, srv.URL, cr.planner, plans+"/scenarios", map[string]any{"id": "uk-push", "name": "UK push"})
	apiPost(t, srv.URL, cr.planner, plans+"/scenarios/uk-push/reallocations", map[string]any{
		"metric": demo.Metric, "span": "FY" + year, "reason": "What if the UK carries more",
		"moves": []map[string]string{{"node": "region=dach", "delta": "-20000"}, {"node": "region=uk", "delta": "20000"}},
	})
	var live, what varianceAnswer
	q := plans + "/variance?metric=" + demo.Metric + "&year=" + year + "&dimension=region&level=2"
	apiJSON(t, srv.URL, cr.planner, q, &live)
	apiJSON(t, srv.URL, cr.planner, q+"&scenario=uk-push", &what)
	row := func(a varianceAnswer, member string) varianceRow {
		t.Helper()
		for _, r := range a.Rows {
			if r.Member == member && r.Target != nil && r.Probability != nil {
				return r
			}
		}
		t.Fatalf("variance has no full row for %s: %+v", member, a.Rows)
		return varianceRow{}
	}

	must("signing in", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/signin"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SetValue(chromedp.ID("token"), cr.planner),
		chromedp.Click(chromedp.CSS(`#signin-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("overview-table")),
	))
	must("opening compare", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/compare?dimension=region&level=2&measures=target,gap,p"),
		chromedp.WaitVisible(chromedp.ID("compare-table")),
	))
	// The picker offers the scenario by name; keep only the live plan and
	// the scenario, from the keyboard.
	ids, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries([...document.querySelectorAll('#compare-form input[name="version"]')].map((i) => [i.value, i.id]))`))
	must("reading the versions offered", err)
	box, ok := ids["scenario:uk-push"]
	if !ok {
		t.Fatalf("compare offers versions %v, want the scenario uk-push", ids)
	}
	for v, id := range ids {
		checked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('`+id+`').checked`))
		must("reading a version box", err)
		if want := v == "live" || id == box; checked != want {
			must("toggling "+v, chromedp.Do(ctx, chromedp.Focus(chromedp.ID(id)), chromedp.KeyEvent(" ")))
		}
	}
	must("showing live against the scenario", chromedp.Do(ctx,
		chromedp.Focus(chromedp.CSS(`#compare-form button[type="submit"]`)),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.Search(`//table[@id="compare-table"]//th/a[.="UK push (scenario)"]`)),
	))
	text := func(name string, col int) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.Search(`//table[@id="compare-table"]//tr[th[.="`+name+`"]]/td[`+strconv.Itoa(col)+`]`)))
		must("reading "+name, err)
		return v
	}
	// Columns: target (live, scenario, Δ), gap (live, scenario, Δ), P (live, scenario, Δ).
	for _, c := range []struct {
		name, member string
		delta        float64
	}{{"DACH", "dach", -20000}, {"UK", "uk", 20000}} {
		l, s := row(live, c.member), row(what, c.member)
		lt, _ := strconv.ParseFloat(*l.Target, 64)
		st, _ := strconv.ParseFloat(*s.Target, 64)
		if got := num(text(c.name, 1)); got != lt {
			t.Errorf("%s live target = %v, the API's %v", c.name, got, lt)
		}
		if got := num(text(c.name, 2)); got != st || st-lt != c.delta {
			t.Errorf("%s scenario target = %v, the API's %v (live %v, want Δ %v)", c.name, got, st, lt, c.delta)
		}
		if got := signed(text(c.name, 3)); got != c.delta {
			t.Errorf("%s Δ target = %v, want %v", c.name, got, c.delta)
		}
		wantGap := st - *s.LatestEstimate
		if got := signed(text(c.name, 5)); math.Abs(got-wantGap) > 1 {
			t.Errorf("%s scenario gap = %v, the API's %v", c.name, got, wantGap)
		}
		digits := 0
		if p := *s.Probability; p > 0.995 || p < 0.005 {
			digits = 1
		}
		if got, want := text(c.name, 8), strconv.FormatFloat(*s.Probability*100, 'f', digits, 64)+"%"; got != want {
			t.Errorf("%s scenario P(target) = %q, the API's %q", c.name, got, want)
		}
		if got, want := text(c.name, 9), strconv.FormatFloat((*s.Probability-*l.Probability)*100, 'f', 1, 64)+" pp"; got != want && got != "+"+want {
			t.Errorf("%s Δ P(target) = %q, the API's difference %q", c.name, got, want)
		}
	}
	if axe := axeCore(t); axe != "" {
		for _, v := range axeViolations(t, ctx, axe) {
			t.Errorf("compare with a scenario: axe-core %s violation %s (%s) at %v", v.Impact, v.ID, v.Help, v.Targets)
		}
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	must("screenshot", err)
	if os.Getenv("CONCORD_UPDATE_SCREENSHOTS") == "1" {
		must("saving the README screenshot", os.WriteFile(filepath.Join("testdata", "scenario.png"), png, 0o644))
	}
}

// TestDashboardPivotScenario: a planner opens a scenario from the pivot
// with the keyboard (POST …/scenarios), the pivot then shows it; the
// scenario moves 20,000 of target from DACH to the UK (through the API),
// and the pivot's version control switches between the scenario and the
// live plan from the keyboard, each column the API's (variance with and
// without ?scenario). A viewer is not offered the form.
func TestDashboardPivotScenario(t *testing.T) {
	ctx := browser(t)
	srv, demo, cr := server(t)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	plans := "/api/v1/plans/" + demo.Plan
	year := strconv.Itoa(demo.Year)
	must("signing in", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/signin"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SetValue(chromedp.ID("token"), cr.planner),
		chromedp.Click(chromedp.CSS(`#signin-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("overview-table")),
	))
	must("opening the pivot", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/pivot?dimension=region&cols=fy&measures=target,le,gap&open=world,emea"),
		chromedp.WaitVisible(chromedp.CSS(`#pivot-table tr[data-member="dach"]`)),
	))
	must("opening a scenario from the keyboard", chromedp.Do(ctx,
		chromedp.Focus(chromedp.ID("sc-name")),
		chromedp.KeyEvent("UK push"),
		chromedp.Focus(chromedp.ID("sc-open")),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.Search(`//table[@id="pivot-table"]/caption[contains(., "UK push (scenario)")]`)),
	))
	var list struct {
		Scenarios []struct{ ID, Name, Status string } `json:"scenarios"`
	}
	apiJSON(t, srv.URL, cr.viewer, plans+"/scenarios", &list)
	if len(list.Scenarios) != 1 || list.Scenarios[0].Name != "UK push" || list.Scenarios[0].Status != "open" {
		t.Fatalf("scenarios after opening one from the pivot: %+v, want UK push, open", list.Scenarios)
	}
	id := list.Scenarios[0].ID
	apiPost(t, srv.URL, cr.planner, plans+"/scenarios/"+id+"/reallocations", map[string]any{
		"metric": demo.Metric, "span": "FY" + year, "reason": "What if the UK carries more",
		"moves": []map[string]string{{"node": "region=dach", "delta": "-20000"}, {"node": "region=uk", "delta": "20000"}},
	})
	targets := func(q string) map[string]float64 {
		t.Helper()
		var a varianceAnswer
		apiJSON(t, srv.URL, cr.viewer, plans+"/variance?metric="+demo.Metric+"&year="+year+"&dimension=region&parent=emea"+q, &a)
		out := map[string]float64{}
		for _, r := range a.Rows {
			if r.Target != nil {
				out[r.Member], _ = strconv.ParseFloat(*r.Target, 64)
			}
		}
		return out
	}
	live, what := targets(""), targets("&scenario="+id)
	if what["dach"]-live["dach"] != -20000 || what["uk"]-live["uk"] != 20000 {
		t.Fatalf("the API's targets: live %v, scenario %v; want 20,000 moved from DACH to the UK", live, what)
	}
	shown := func() map[string]float64 {
		t.Helper()
		out := map[string]float64{}
		for _, m := range []string{"dach", "uk", "emea"} {
			v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#pivot-table tr[data-member="`+m+`"] td[data-col="FY"][data-measure="target"]`)))
			must("reading "+m, err)
			out[m] = num(v)
		}
		return out
	}
	must("reading the scenario's pivot", chromedp.Do(ctx,
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.Search(`//table[@id="pivot-table"]/caption[contains(., "UK push (scenario)")]`)),
		chromedp.WaitVisible(chromedp.CSS(`#pivot-table tr[data-member="dach"]`)),
	))
	for m, v := range shown() {
		if v != what[m] {
			t.Errorf("pivot of the scenario: %s full-year target %v, the API's %v", m, v, what[m])
		}
	}
	if axe := axeCore(t); axe != "" {
		for _, v := range axeViolations(t, ctx, axe) {
			t.Errorf("pivot of a scenario: axe-core %s violation %s (%s) at %v", v.Impact, v.ID, v.Help, v.Targets)
		}
	}
	// Back to the live plan with the version control, from the keyboard:
	// the live plan is its first choice.
	options, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#p-version option')].map((o) => o.value + '=' + o.textContent)`))
	must("reading the versions offered", err)
	if !slices.Contains(options, "=Live plan") || !slices.Contains(options, "scenario:"+id+"=UK push (scenario)") {
		t.Fatalf("the pivot's version control offers %q, want the live plan and the scenario", options)
	}
	must("choosing the live plan from the keyboard", chromedp.Do(ctx,
		chromedp.Focus(chromedp.ID("p-version")),
		chromedp.KeyEvent(kb.Home),
		chromedp.Focus(chromedp.CSS(`#pivot-form button[type="submit"]`)),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitNotPresent(chromedp.Search(`//table[@id="pivot-table"]/caption[contains(., "(scenario)")]`)),
		chromedp.WaitVisible(chromedp.CSS(`#pivot-table tr[data-member="dach"]`)),
	))
	for m, v := range shown() {
		if v != live[m] {
			t.Errorf("pivot of the live plan: %s full-year target %v, the API's %v", m, v, live[m])
		}
	}

	// A viewer may not open scenarios: no form.
	must("signing in as a viewer", chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("signout")),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SetValue(chromedp.ID("token"), cr.viewer),
		chromedp.Click(chromedp.CSS(`#signin-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("overview-table")),
		chromedp.Navigate(srv.URL+"/#/pivot?dimension=region&version="+url.QueryEscape("scenario:"+id)),
		chromedp.WaitVisible(chromedp.Search(`//table[@id="pivot-table"]/caption[contains(., "UK push (scenario)")]`)),
	))
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#scenario-form').length`)); err != nil || n != 0 {
		t.Errorf("a viewer is offered %d scenario forms (%v), want none", n, err)
	}
}
