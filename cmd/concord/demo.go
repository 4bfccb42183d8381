package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/planning"
)

// demoPlan is the id of the demo company's plan.
const demoPlan = "northwind"

// scriptClock is the demo store's clock: while the demo's history is being
// written it tells the scripted time of each step, so that the log reads
// as three years of real planning (and as-of queries have a past to show);
// afterwards it is the wall clock. The scripted times only move forward
// and never pass limit (the demo's "today"): a step scripted earlier than
// the one before it, or later than today, is recorded at the latest of
// the two, or at today — so the log's recorded times are in order and
// never in the future, and as-of by date answers on the demo.
type scriptClock struct {
	at    atomic.Pointer[time.Time]
	limit time.Time // zero: none
	last  time.Time // the latest time set (set is called by one goroutine)
}

func (c *scriptClock) now() time.Time {
	if t := c.at.Load(); t != nil {
		return *t
	}
	return time.Now()
}

func (c *scriptClock) set(t time.Time) {
	if !c.limit.IsZero() && t.After(c.limit) {
		t = c.limit
	}
	if t.Before(c.last) {
		t = c.last
	}
	c.last = t
	c.at.Store(&t)
}
func (c *scriptClock) release() { c.at.Store(nil) }

// demoTokens are the secrets of one token per role, printed for the user.
type demoTokens struct {
	viewer, sales, planner, admin string
}

// demoCommand builds the demo company in a fresh embedded store and serves
// it on the loopback interface.
func demoCommand(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "demo", "Usage: concord demo [flags]\n\nBuilds Northwind Industrial — three years of monthly actuals for 4 business units × 6 regions × 8 product\n"+
		"lines, targets for this and next fiscal year, sales commits, tagged versions, a reallocation awaiting\napproval and statistical forecasts — in a new SQLite file, then serves it on 127.0.0.1.")
	st := storeFlags(fs, env)
	sf := declareServeFlags(fs, env, "127.0.0.1:8080")
	seed := fs.Uint64("seed", 1, "seed of the demo company's numbers")
	buildOnly := fs.Bool("build-only", false, "build the demo store and exit without serving")
	storeSet := false
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) { storeSet = storeSet || f.Name == "store" })
	cfg, err := sf.config()
	if err != nil {
		return err
	}
	cfg.demo = true
	logger, err := st.logger(env.stderr)
	if err != nil {
		return err
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("concord-demo-%d.db", time.Now().UnixNano()))
	if storeSet || env.getenv("CONCORD_STORE") != "" {
		var ok bool
		if path, ok = sqlitePath(st.store); !ok {
			return fmt.Errorf("--store %s: the demo builds an embedded store; give sqlite://PATH", redact(st.store))
		}
	}
	fmt.Fprintf(env.stderr, "Building the demo company in %s …\n", path)
	start := time.Now()
	d, err := openDemo(ctx, path, cfg, logger, time.Now(), *seed)
	if err != nil {
		return err
	}
	defer d.store.close()
	a, tokens, stop, s := d.app, d.tokens, d.stop, d.store.sqlite
	head, _ := s.Head(ctx)
	fmt.Fprintf(env.stderr, "Built %s events, forecasts included, in %v.\n", head, time.Since(start).Round(100*time.Millisecond))
	if *buildOnly {
		return stop()
	}
	url := "http://" + cfg.listen + "/"
	fmt.Fprintf(env.stdout, "\nConcord demo: %s\n\nSign in with one of these tokens (shown once):\n"+
		"  viewer  (finance, audit)       %s\n  sales   (EMEA sales leader)    %s\n  planner (strategy, approvals)  %s\n  admin                          %s\n\n"+
		"Store: %s (keep it with --store sqlite://%s next time you run `concord serve`).\n",
		url, tokens.viewer, tokens.sales, tokens.planner, tokens.admin, path, path)
	err = a.server.Start(ctx, cfg.listen)
	return errors.Join(ignoreCanceled(err), stop())
}

// forecastWait bounds how long the demo waits for its forecasts (they take
// a few seconds on two cores).
const forecastWait = 3 * time.Minute

// demo is a built demo company with its background work running.
type demo struct {
	app    *app
	store  *openedStore
	tokens demoTokens
	stop   func() error // stops the background work
}

// openDemo creates the embedded store at path (which must be new or
// empty), builds the demo company as known on today, has the read side
// read the log, starts the reforecast process, and waits for the
// forecasts. The caller closes d.store after d.stop.
func openDemo(ctx context.Context, path string, cfg appConfig, logger *slog.Logger, today time.Time, seed uint64) (d *demo, err error) {
	clock := &scriptClock{limit: today}
	s, err := sqlite.Open(ctx, path, sqlite.Options{Clock: clock.now})
	if err != nil {
		return nil, err
	}
	st := &openedStore{Store: s, close: s.Close, sqlite: s}
	d = &demo{store: st}
	defer func() {
		if err != nil {
			st.close() // d is nil here
		}
	}()
	if head, err := s.Head(ctx); err != nil || head != eventstore.Start {
		return nil, errors.Join(err, fmt.Errorf("demo store %s is not empty: give a new file with --store sqlite://PATH", path))
	}
	cfg.clock = clock.now
	if d.app, err = newApp(ctx, cfg, d.store, logger); err != nil {
		return nil, err
	}
	company := newDemoCompany(today, seed)
	if d.tokens, err = buildDemo(ctx, d.app, company, clock); err != nil {
		return nil, fmt.Errorf("build the demo: %w", err)
	}
	if d.stop, err = d.app.start(ctx); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, forecastWait)
	defer cancel()
	if err := d.app.waitForecasts(wctx, len(company.metrics)); err != nil {
		return nil, errors.Join(fmt.Errorf("the demo's forecasts were not published within %v: %w", forecastWait, err), d.stop())
	}
	return d, nil
}

// demoDay is the scripted time of a step: a day of a month, at 09:00 UTC.
func demoDay(p fiscal.Period, day int) time.Time {
	return time.Date(p.Year(), p.Month(), day, 9, 0, 0, 0, time.UTC)
}

// buildDemo writes the demo company's history through the application
// service, step by step at scripted times, and publishes its forecasts.
func buildDemo(ctx context.Context, a *app, c demoCompany, clock *scriptClock) (demoTokens, error) {
	defer clock.release()
	svc := a.svc
	ann := planning.Call{By: planning.Principal{Actor: "user:ann.planner", Role: access.RolePlanner}, CorrelationID: "demo"}
	ben := planning.Call{By: planning.Principal{Actor: "user:ben.cfo", Role: access.RolePlanner}, CorrelationID: "demo"}
	admin := planning.Call{By: planning.Principal{Actor: "user:ops", Role: access.RoleAdmin}, CorrelationID: "demo"}
	first := c.history.First
	clock.set(demoDay(first, 1).Add(-14 * 24 * time.Hour))

	// Dimensions and the plan.
	for _, d := range c.dimensions {
		if _, err := svc.DefineDimension(ctx, ann, planning.DefineDimension{ID: d.id, Name: d.name, RootID: d.rootID, RootName: d.rootName}); err != nil {
			return demoTokens{}, fmt.Errorf("dimension %s: %w", d.id, err)
		}
		for _, m := range d.members {
			if _, err := svc.AddMember(ctx, ann, planning.AddMember{Dimension: d.id, ID: m.id, Name: m.name, Parent: m.parent}); err != nil {
				return demoTokens{}, fmt.Errorf("member %s of %s: %w", m.id, d.id, err)
			}
		}
	}
	metrics := make([]plan.Metric, len(c.metrics))
	for i, m := range c.metrics {
		metrics[i] = plan.Metric{ID: m.id, Name: m.name, Unit: m.unit, NonNegative: true}
	}
	if _, err := svc.OpenPlan(ctx, ann, planning.OpenPlan{ID: demoPlan, Name: "Northwind Industrial — rolling plan", Currency: "EUR",
		Metrics: metrics, FiscalYearStart: int(c.calendar.StartMonth()), Dimensions: []string{"bu", "region", "product"},
		HorizonStart: first.String(), HorizonMonths: 18}); err != nil {
		return demoTokens{}, fmt.Errorf("open plan: %w", err)
	}

	// Each month: the actuals arrive on the 4th, the month closes on the 6th;
	// budgets are set in March for the fiscal year starting in April.
	for i, p := range c.history.Periods() {
		next := p.Add(1)
		clock.set(demoDay(next, 4))
		rows := make([]planning.ActualRow, 0, len(c.cells)*len(c.metrics))
		for _, cell := range c.cells {
			for _, m := range c.metrics {
				rows = append(rows, planning.ActualRow{Cell: cell.node(), Metric: m.id, Period: p.String(), Amount: cell.series(m.id)[i].String()})
			}
		}
		if _, err := svc.RecordActuals(ctx, ann, planning.RecordActuals{Plan: demoPlan, ImportID: "erp-" + p.String(), Rows: rows}); err != nil {
			return demoTokens{}, fmt.Errorf("actuals of %v: %w", p, err)
		}
		clock.set(demoDay(next, 6))
		if _, err := svc.ClosePeriod(ctx, ann, planning.ClosePeriod{Period: p.String()}); err != nil {
			return demoTokens{}, fmt.Errorf("close %v: %w", p, err)
		}
		if c.calendar.MonthOfYear(next) == 12 { // the last month of a fiscal year: budget the next, mid-month
			if err := demoBudget(ctx, svc, ann, ben, c, c.calendar.Year(next)+1, clock, demoDay(next, 15)); err != nil {
				return demoTokens{}, err
			}
		}
	}
	today := c.history.Last.Add(1)
	fy := c.calendar.Year(today)

	// In-year: a Q2 reforecast lowered APAC's revenue target and raised the
	// Americas'; next year's targets are being drafted.
	clock.set(demoDay(today, 10))
	if err := demoReforecast(ctx, svc, ann, c, fy); err != nil {
		return demoTokens{}, err
	}
	if err := demoTargets(ctx, svc, ann, c, fy+1, 1.06, "draft for FY"+fmt.Sprint(fy+1)); err != nil {
		return demoTokens{}, err
	}
	if _, err := svc.TagVersion(ctx, ann, demoPlan, fmt.Sprintf("Draft FY%d", (fy+1)%100)); err != nil {
		return demoTokens{}, err
	}

	// Tokens; then the sales leaders' commits and a reallocation awaiting approval.
	clock.set(demoDay(today, 12))
	var tokens demoTokens
	for _, t := range []struct {
		name, role string
		scopes     []string
		into       *string
	}{
		{"demo-viewer", "viewer", nil, &tokens.viewer}, {"demo-sales-emea", "sales", []string{"region=emea"}, &tokens.sales},
		{"demo-planner", "planner", nil, &tokens.planner}, {"demo-admin", "admin", nil, &tokens.admin},
	} {
		issued, err := svc.IssueToken(ctx, admin, planning.IssueToken{Name: t.name, Role: access.Role(t.role), Scopes: t.scopes})
		if err != nil {
			return demoTokens{}, fmt.Errorf("token %s: %w", t.name, err)
		}
		*t.into = issued.Secret
	}
	sales := map[string]planning.Call{}
	for _, r := range []string{"emea", "americas", "apac"} {
		sales[r] = planning.Call{By: planning.Principal{Actor: "user:" + r + ".sales", Role: access.RoleSales,
			Scopes: mustNodes("region=" + r)}, CorrelationID: "demo"}
	}
	// Each sales leader commits per business unit and country of the
	// region; the view rolls them up to every level (countries to regions
	// to the world, business units to the total).
	fySpan := fmt.Sprintf("FY%d", fy)
	for _, r := range []string{"emea", "americas", "apac"} {
		for _, country := range leaves(demoRegions) {
			if !c.regionUnder(country.id, r) {
				continue
			}
			for _, bu := range demoBUs {
				lastYear := c.fyTotal(fy-1, "net-revenue", func(cell demoCell) bool { return cell.bu == bu.id && cell.region == country.id })
				if lastYear == 0 {
					continue
				}
				for _, conf := range []struct {
					kind   string
					factor float64
				}{{"commit", 1.03}, {"best_case", 1.09}} {
					if _, err := svc.SubmitCommit(ctx, sales[r], demoPlan, planning.SubmitCommit{ID: fmt.Sprintf("%s-%s-%s-%s", bu.id, country.id, conf.kind, fySpan),
						Node: "bu=" + bu.id + ";region=" + country.id, Metric: "net-revenue", Span: fySpan, Amount: roundTo(lastYear*conf.factor, 1000).String(),
						Confidence: conf.kind, Comment: "pipeline review " + today.String()}); err != nil {
						return demoTokens{}, fmt.Errorf("commit of %s in %s: %w", bu.id, country.id, err)
					}
				}
			}
		}
	}
	clock.set(demoDay(today, 14))
	if _, err := svc.ProposeReallocation(ctx, sales["emea"], demoPlan, planning.ProposeReallocation{ID: "emea-shift-" + fySpan,
		Metric: "net-revenue", Span: fySpan, Reason: "DACH order book weaker than planned; UK & Ireland ahead",
		Moves: []planning.Move{{Node: "region=dach", Delta: "-250000"}, {Node: "region=uki", Delta: "250000"},
			{Node: "bu=industrial;region=dach", Delta: "-250000"}, {Node: "bu=industrial;region=uki", Delta: "250000"}}}); err != nil {
		return demoTokens{}, fmt.Errorf("reallocation: %w", err)
	}
	return tokens, nil
}

// waitForecasts waits until n forecast runs are published: once the demo's
// history is written and the background work started, the reforecast
// process publishes one run per metric for the last closed month (the
// requests of earlier closes are superseded by later ones).
func (a *app) waitForecasts(ctx context.Context, n int) error {
	sub, err := a.store.SubscribeAll(ctx, eventstore.Start)
	if err != nil {
		return err
	}
	defer sub.Close()
	published := 0
	for rec := range sub.Events() {
		if rec.Type != forecast.TypeSealed {
			continue
		}
		published++
		if published == n {
			return nil
		}
	}
	return errors.Join(sub.Err(), ctx.Err(), fmt.Errorf("the event log ended before %d forecasts were published", n))
}

// demoBudget sets the targets of fiscal year fy, tags them and has the CFO
// approve them.
func demoBudget(ctx context.Context, svc *planning.Service, ann, ben planning.Call, c demoCompany, fy int, clock *scriptClock, at time.Time) error {
	clock.set(at)
	if err := demoTargets(ctx, svc, ann, c, fy, 1.045, fmt.Sprintf("budget FY%d", fy)); err != nil {
		return err
	}
	tag := fmt.Sprintf("Budget FY%d", fy%100)
	res, err := svc.TagVersion(ctx, ann, demoPlan, tag)
	if err != nil {
		return fmt.Errorf("tag %s: %w", tag, err)
	}
	clock.set(at.Add(3 * 24 * time.Hour))
	if _, err := svc.ApproveVersion(ctx, ben, demoPlan, res.Version, tag, "approved by the board"); err != nil {
		return fmt.Errorf("approve %s: %w", tag, err)
	}
	return nil
}

// demoTargets sets fiscal year fy's targets: for every business unit ×
// leaf region, last year's actuals grown by about growth (varying by
// node), and for every parent the exact sum of its children, so the
// targets are coherent. Last year is scaled up to twelve months when only
// part of it has closed.
func demoTargets(ctx context.Context, svc *planning.Service, call planning.Call, c demoCompany, fy int, growth float64, reason string) error {
	span := fmt.Sprintf("FY%d", fy)
	var changes []planning.TargetChange
	for _, m := range c.metrics {
		base := map[[2]string]decimal.Decimal{}
		for bi, bu := range demoBUs {
			for ri, region := range leaves(demoRegions) {
				v := c.fyTotal(fy-1, m.id, func(cell demoCell) bool { return cell.bu == bu.id && cell.region == region.id })
				g := growth + 0.01*float64((bi*7+ri*3)%5-2)
				base[[2]string{bu.id, region.id}] = roundTo(v*g, 1000)
			}
		}
		sum := func(keep func(bu, region string) bool) decimal.Decimal {
			var total decimal.Decimal
			for k, v := range base {
				if keep(k[0], k[1]) {
					total, _ = total.Add(v)
				}
			}
			return total
		}
		add := func(node string, amount decimal.Decimal) {
			changes = append(changes, planning.TargetChange{Op: planning.OpSet, Node: node, Metric: m.id, Span: span, Amount: amount.String(), Reason: reason})
		}
		add("", sum(func(string, string) bool { return true }))
		for _, bu := range demoBUs {
			add("bu="+bu.id, sum(func(b, _ string) bool { return b == bu.id }))
		}
		for _, region := range demoRegions {
			add("region="+region.id, sum(func(_, r string) bool { return c.regionUnder(r, region.id) }))
		}
		for k, v := range base {
			add("bu="+k[0]+";region="+k[1], v)
		}
	}
	if _, err := svc.ChangeTargets(ctx, call, demoPlan, changes); err != nil {
		return fmt.Errorf("targets %s: %w", span, err)
	}
	return nil
}

// demoReforecast revises fiscal year fy's revenue targets after Q2: Energy
// in Asia Pacific down 4% of APAC, Industrial in North America up as much;
// every ancestor with a target moves with them, so the targets stay
// coherent and the total is unchanged.
func demoReforecast(ctx context.Context, svc *planning.Service, call planning.Call, c demoCompany, fy int) error {
	p, _, err := svc.Plan(ctx, call.By, demoPlan)
	if err != nil {
		return err
	}
	spanText := fmt.Sprintf("FY%d", fy)
	span, err := p.Calendar().ParseSpan(spanText)
	if err != nil {
		return err
	}
	apac, ok := p.Target(mustNodes("region=apac")[0], "net-revenue", span)
	if !ok {
		return fmt.Errorf("%s revenue target of APAC missing for the Q2 reforecast", spanText)
	}
	cut := roundTo(apac.Amount.Float64()*0.04, 1000)
	reason := "Q2 reforecast: APAC energy projects slipping, North American industrial demand ahead"
	var changes []planning.TargetChange
	for _, m := range []struct {
		nodes []string
		delta decimal.Decimal
	}{
		{[]string{"bu=energy;region=asia-pacific", "region=asia-pacific", "region=apac", "bu=energy"}, cut.Neg()},
		{[]string{"bu=industrial;region=north-america", "region=north-america", "region=americas", "bu=industrial"}, cut},
	} {
		for _, text := range m.nodes {
			t, ok := p.Target(mustNodes(text)[0], "net-revenue", span)
			if !ok {
				return fmt.Errorf("%s revenue target of %s missing for the Q2 reforecast", spanText, text)
			}
			to, err := t.Amount.Add(m.delta)
			if err != nil {
				return err
			}
			changes = append(changes, planning.TargetChange{Op: planning.OpRevise, Node: text, Metric: "net-revenue", Span: spanText, Amount: to.String(), Reason: reason})
		}
	}
	if _, err := svc.ChangeTargets(ctx, call, demoPlan, changes); err != nil {
		return fmt.Errorf("Q2 reforecast: %w", err)
	}
	_, err = svc.TagVersion(ctx, call, demoPlan, fmt.Sprintf("Q2 reforecast FY%d", fy%100))
	return err
}

// roundTo rounds v to a multiple of unit, as a decimal.
func roundTo(v, unit float64) decimal.Decimal {
	return decimal.FromInt(int64(math.Round(v/unit) * unit))
}
