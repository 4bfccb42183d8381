package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/view/viewtest"
)

// BenchmarkAlertsAfterClose compares the cost of evaluating alert rules
// after a period close with the cost of the close itself, on a generated
// company (small: company.Small(1), 64 cells; realistic:
// company.Realistic(1), 2,048 cells, about a million events).
//
// Each iteration closes the next month and times, serially on one
// goroutine: the close — ClosePeriod and the reforecast it calls for (one
// run per metric, fitted and published, as the reforecast process does) —
// then the alert manager's evaluation of the plan's rules against the new
// read state (the query side folding the new events and analysing each
// rule's metric and fiscal year: nothing has asked for that state before).
// The rules: for each metric, one of each kind but the commit's — P(target)
// below 50%, a gap above 10% of the target, a forecast run moving the year
// by more than 5%, the closed month's actual outside the 95% interval, a
// close 10 days overdue — on the total and on each top-level member of the
// plan's first dimension. It reports close-ms, eval-ms and eval-%: the evaluation
// as a percentage of the close. Writing the realistic company to SQLite
// takes minutes:
//
//	go test ./cmd/concord -run '^$' -bench 'AlertsAfterClose/realistic' -benchtime 1x -timeout 60m
func BenchmarkAlertsAfterClose(b *testing.B) {
	for _, size := range []struct {
		name string
		cfg  company.Config
	}{{"small", company.Small(1)}, {"realistic", company.Realistic(1)}} {
		b.Run(size.name, func(b *testing.B) { benchAlertsAfterClose(b, size.cfg) })
	}
}

func benchAlertsAfterClose(b *testing.B, cfg company.Config) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log, err := company.Generate(cfg)
	if err != nil {
		b.Fatal(err)
	}
	clock := &viewtest.Clock{}
	store := viewtest.OpenStore(b, "", clock)
	if err := log.AppendTo(ctx, store, clock.Set); err != nil {
		b.Fatal(err)
	}
	// The command service's clock: the guarded close refuses a month that
	// has not begun, so each iteration sets it to the day after the month
	// it closes.
	var today time.Time
	a, err := newApp(ctx, appConfig{clock: func() time.Time { return today }}, &openedStore{Store: store, close: store.Close, sqlite: store}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer cancel()
	st, err := a.view.Live(ctx)
	if err != nil {
		b.Fatal(err)
	}
	admin := planning.Call{By: planning.Principal{Actor: "bench", Role: access.RoleAdmin}}
	p, _, err := a.svc.Plan(ctx, admin.By, log.PlanID)
	if err != nil {
		b.Fatal(err)
	}
	last, ok := st.LastClosed()
	if !ok {
		b.Fatal("the generated company has no closed month")
	}
	first, _, err := a.svc.Dimension(ctx, admin.By, p.Dimensions()[0])
	if err != nil {
		b.Fatal(err)
	}
	nodes := []string{""}
	for _, m := range first.Children(first.Root()) {
		n, _ := dimension.Total.With(first.ID(), m)
		nodes = append(nodes, n.String())
	}
	year := p.Calendar().Year(last.Add(1))
	for _, metric := range log.Metrics {
		for _, r := range []struct {
			kind      string
			threshold float64
		}{{"probability_below", 0.5}, {"gap_share_above", 10}, {"forecast_move", 5}, {"actual_outside_interval", 95}, {"close_overdue", 10}} {
			if _, err := a.svc.DefineAlertRule(ctx, admin, log.PlanID, planning.DefineAlertRule{ID: metric + "-" + r.kind, Kind: r.kind, Nodes: nodes,
				Metric: metric, Year: year, Threshold: r.threshold, Severity: "warning"}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Logf("%d events; %d rules of %d nodes each over FY%d; closing from %v", log.Count, 5*len(log.Metrics), len(nodes), year, last.Add(1))
	var closing, evaluating time.Duration
	n := 0
	for b.Loop() {
		period := last.Add(1 + n)
		n++
		today = period.Add(1).Start()
		start := time.Now()
		res, err := a.svc.ClosePeriod(ctx, admin, planning.ClosePeriod{Period: period.String(), AllowMissing: true, Reason: "benchmark: close without the month's actuals"})
		if err != nil {
			b.Fatal(err)
		}
		for _, metric := range log.Metrics {
			if _, err := a.reforec.produce(ctx, forecast.Requested{RunID: fmt.Sprintf("bench-%v-%s", period, metric), Plan: log.PlanID, Metric: metric, Period: period}, res.Position); err != nil {
				b.Fatal(err)
			}
		}
		closing += time.Since(start)
		head, err := store.Head(ctx)
		if err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		if err := a.alerts.manager.Evaluate(ctx, log.PlanID, eventstore.RecordedEvent{Position: head}); err != nil {
			b.Fatal(err)
		}
		evaluating += time.Since(start)
	}
	b.ReportMetric(float64(closing.Milliseconds())/float64(n), "close-ms")
	b.ReportMetric(float64(evaluating.Milliseconds())/float64(n), "eval-ms")
	b.ReportMetric(100*evaluating.Seconds()/closing.Seconds(), "eval-%")
}
