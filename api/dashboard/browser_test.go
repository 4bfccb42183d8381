package dashboard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"

	"github.com/concord-planning/concord/api/dashboard"
	"github.com/concord-planning/concord/api/query"
	"github.com/concord-planning/concord/api/query/querytest"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
)

const chromium = "/usr/bin/chromium"

// server serves the dashboard and the query API over a seeded demo store.
// Until the API package's authentication is wired in, the bearer token is
// checked here: "viewer-token" is a viewer (the test stands in for
// api.Server's token check, which has tests of its own).
func server(t *testing.T) (*httptest.Server, querytest.Demo) {
	t.Helper()
	ctx := context.Background()
	clock := &querytest.Clock{}
	clock.Set(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "demo.db"), sqlite.Options{Clock: clock.Now, Synchronous: "OFF"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	reg := querytest.Registry()
	demo, err := querytest.Seed(ctx, store, reg, clock)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	v1 := e.Group("/api/v1", func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().Header.Get("Authorization") != "Bearer viewer-token" {
				return echo.NewHTTPError(http.StatusUnauthorized, "send Authorization: Bearer <token>")
			}
			return next(c)
		}
	})
	v1.GET("/me", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]any{"subject": "vera", "roles": []string{"viewer"}, "owns": []string{}})
	})
	query.NewService(store, reg).Register(v1, func(query.Route) []echo.MiddlewareFunc { return nil })
	e.GET("/*", echo.WrapHandler(dashboard.Handler()))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv, demo
}

// browser starts headless Chromium with a fresh profile, or skips.
func browser(t *testing.T) context.Context {
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
	ctx, cancel3 := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancel3)
	return ctx
}

func TestDashboardInBrowser(t *testing.T) {
	ctx := browser(t)
	srv, demo := server(t)
	shots := t.TempDir()
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
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		must("screenshot", err)
		must("saving a screenshot", os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644))
		if name == "overview" && os.Getenv("CONCORD_UPDATE_SCREENSHOTS") == "1" {
			must("saving the README screenshot", os.WriteFile(filepath.Join("testdata", "overview.png"), png, 0o644))
		}
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
		chromedp.SetValue(chromedp.ID("token"), "viewer-token"),
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
	shot("overview")

	// Drill down into EMEA.
	must("drilling into EMEA", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a.drill[data-member="emea"]`)),
		chromedp.WaitVisible(chromedp.Search(table("DACH"))),
	))
	liveDACH := text(cell("DACH"))
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
	must("node view", chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("asof-clear")),
		chromedp.WaitVisible(chromedp.Search(`//p[@class="asof-note" and contains(., "position `+demo.Reforecast.String()+` ")]`)),
		chromedp.Navigate(srv.URL+"/#/node?node=region%3Ddach"),
		chromedp.WaitVisible(chromedp.CSS(`figure.chart svg path.band.b95`)),
		chromedp.WaitVisible(chromedp.Search(`//section[contains(@class,"explain")]//dt[contains(., "Target part")]`)),
	))
	shot("node")

	// History: filter the timeline to approvals, then diff the two tags.
	must("history", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/history"),
		chromedp.WaitVisible(chromedp.CSS(`#timeline li`)),
		chromedp.SetValue(chromedp.ID("f-type"), "plan.ReallocationApproved"),
		chromedp.Click(chromedp.CSS(`#history-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.Search(`//ol[@id="timeline"]/li[contains(., "r-1 approved")]`)),
	))
	if item := text(`//ol[@id="timeline"]`); strings.Count(item, "approved") != 1 {
		t.Errorf("filtered timeline = %q, want the one approval", item)
	}
	must("diff", chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("d-from"), "tag:Budget FY28"),
		chromedp.SetValue(chromedp.ID("d-to"), "tag:Q1 reforecast"),
		chromedp.Click(chromedp.CSS(`#diff-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.Search(`//div[@id="diff-out"]//td[contains(., "changed")]`)),
	))
	shot("history")

	// Forecast accuracy: vintages and FVA.
	must("accuracy", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/#/accuracy"),
		chromedp.WaitVisible(chromedp.Search(`//table//th[contains(., "v2027-04")]`)),
		chromedp.WaitVisible(chromedp.ID("fva")),
	))
	shot("accuracy")
	// A viewer is not offered the replan view.
	hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-route="replan"]').hidden`))
	must("reading the nav", err)
	if !hidden {
		t.Error("the Replan link is offered to a viewer")
	}
	t.Logf("screenshots in %s", shots)
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
