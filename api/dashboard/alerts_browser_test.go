package dashboard_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/alert"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/projections/view/viewtest"
)

// TestDashboardAlerts: a sales leader scoped to EMEA sees a badge with the
// one open alert of EMEA (not the Americas' one), lists it, follows its link
// to EMEA's chart as of the position that raised it, and acknowledges it.
func TestDashboardAlerts(t *testing.T) {
	ctx := browser(t)
	bg := context.Background()
	reg := planning.NewRegistry()
	store, demo, clock := viewtest.Seeded(t, "", reg)
	svc := planning.New(store, reg)
	root := planning.Call{By: planning.Principal{Actor: "setup", Role: access.RoleAdmin}}
	sales := issueToken(t, svc, "ana", access.RoleSales, "region=emea")
	emea, americas := dimension.MustParseNode("region=emea"), dimension.MustParseNode("region=americas")
	if _, err := svc.DefineAlertRule(bg, root, demo.Plan, planning.DefineAlertRule{ID: "fy-at-risk", Kind: string(alert.ProbabilityBelow),
		Nodes: []string{emea.String(), americas.String()}, Metric: demo.Metric, Year: demo.Year, Threshold: 0.5, Severity: string(alert.Critical)}); err != nil {
		t.Fatal(err)
	}
	// The alert process's observations, as it would record them at the
	// reforecast's position.
	books := eventstore.NewRepository(store, reg, alert.New)
	raisedAt := demo.Reforecast
	if _, err := books.Update(bg, alert.Stream(demo.Plan), eventstore.Any, eventstore.Command{}, func(b *alert.Book) error {
		before := 0.62
		return errors.Join(
			b.Observe(alert.Observation{Rule: "fy-at-risk", Node: emea, Holds: true, Before: &before, After: 0.31, Position: raisedAt, At: viewtest.SeedDay}),
			b.Observe(alert.Observation{Rule: "fy-at-risk", Node: americas, Holds: true, After: 0.2, Position: raisedAt, At: viewtest.SeedDay}))
	}); err != nil {
		t.Fatal(err)
	}
	hs := apiOver(t, store, reg, svc, clock)
	axeSource := axeCore(t)
	checkA11y := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if d := os.Getenv("CONCORD_SCREENSHOTS_DIR"); d != "" {
			dir = d
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
		if os.Getenv("CONCORD_UPDATE_SCREENSHOTS") == "1" && name == "alerts" {
			if err := os.WriteFile(filepath.Join("testdata", name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if axeSource != "" {
			for _, v := range axeViolations(t, ctx, axeSource) {
				t.Errorf("view %s: axe-core %s violation %s (%s) at %v", name, v.Impact, v.ID, v.Help, v.Targets)
			}
		}
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(hs.URL+"/#/signin"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SetValue(chromedp.ID("token"), sales), chromedp.Click(chromedp.CSS(`#signin-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("alert-badge"))); err != nil {
		t.Fatalf("signing in: %v", err)
	}
	if badge, err := chromedp.Run(ctx, chromedp.Text(chromedp.Search("#alert-badge"))); err != nil || badge != "1" {
		t.Errorf("alert badge = %q (%v), want 1: EMEA's alert, not the Americas'", badge, err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("alerts-link")), chromedp.WaitVisible(chromedp.ID("alerts-table"))); err != nil {
		t.Fatalf("opening the alerts: %v", err)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#alerts-table tbody tr')].map((r) => r.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || !strings.Contains(rows[0], "EMEA") || !strings.Contains(rows[0], "62% → 31%") || !strings.Contains(rows[0], "critical") {
		t.Errorf("alert rows = %q, want EMEA's alone, critical, 62%% → 31%%", rows)
	}
	checkA11y("alerts")

	href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#alerts-table tbody tr a').getAttribute('href')`))
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(strings.TrimPrefix(href, "#"))
	if err != nil {
		t.Fatal(err)
	}
	if q := u.Query(); u.Path != "/node" || q.Get("node") != emea.String() || q.Get("as_of") != raisedAt.String() || q.Get("metric") != demo.Metric {
		t.Errorf("the alert links to %q, want EMEA's node chart as of position %s", href, raisedAt)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#alerts-table tbody tr a`)),
		chromedp.WaitVisible(chromedp.Search(`//p[@class="asof-note" and contains(., "position `+raisedAt.String()+` ")]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[contains(., "EMEA")]`))); err != nil {
		t.Fatalf("following the alert's link: %v", err)
	}

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("alerts-link")), chromedp.WaitVisible(chromedp.ID("alerts-table")),
		chromedp.SetValue(chromedp.CSS(`#alerts-table input[name="comment"]`), "Calling the DACH key account today"),
		chromedp.Click(chromedp.CSS(`#alerts-table form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[@id="status" and contains(., "acknowledged")]`))); err != nil {
		t.Fatalf("acknowledging: %v", err)
	}
	as, _, err := svc.Alerts(bg, planning.Principal{Actor: "setup", Role: access.RoleAdmin}, demo.Plan)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.Node == emea && (a.Acknowledged == nil || a.Acknowledged.Comment != "Calling the DACH key account today" || !strings.Contains(a.Acknowledged.By, "ana")) {
			t.Errorf("EMEA's alert after the acknowledgement = %+v, want acknowledged by ana with her comment", a)
		}
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.Search(`//td[contains(., "seen by")]`))); err != nil {
		t.Errorf("the list after the acknowledgement does not say who saw it: %v", err)
	}
}
