package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/projections/calibration"
)

// BenchmarkDemoCalibration backtests P(target) and the fiscal-year
// intervals on the demo's history (projections/calibration): the demo
// company as known on 2026-12-04 (seed 1, 192 cells, April fiscal years,
// actuals from 2023-04) is written into a store; at each month end the
// cells' net revenue so far is forecast as the reforecaster does, and the
// variance tables of the next open period's fiscal year are read by
// business unit, region and product line. The answers of FY2025 and
// FY2026 (the finished years; FY2024 before a year of history has only
// the stand-in) are scored against the booked totals: the P of the demo's
// own targets (its budgets) and of spread targets, and the coverage of
// the 80% and 95% intervals.
//
//	go test ./cmd/concord -run '^$' -bench DemoCalibration -benchtime 1x -timeout 60m
func BenchmarkDemoCalibration(b *testing.B) {
	ctx := context.Background()
	today := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	for b.Loop() {
		c := newDemoCompany(today, 1)
		clock := &scriptClock{limit: today}
		demoStore, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "demo.db"), sqlite.Options{Clock: clock.now, Synchronous: "OFF"})
		if err != nil {
			b.Fatal(err)
		}
		logger := slog.New(slog.NewTextHandler(io.Discard, nil))
		a, err := newApp(ctx, appConfig{listen: "127.0.0.1:0", demo: true}, &openedStore{Store: demoStore, close: demoStore.Close, sqlite: demoStore}, logger)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := buildDemo(ctx, a, c, clock); err != nil {
			b.Fatal(err)
		}

		var at time.Time
		store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "backtest.db"), sqlite.Options{Clock: func() time.Time { return at }, Synchronous: "OFF"})
		if err != nil {
			b.Fatal(err)
		}
		bt := calibration.New(store, newRegistry(), calibration.Config{Plan: demoPlan, Metric: "net-revenue",
			Dimensions: []string{"bu", "region", "product"}, First: c.history.First, SetClock: func(t time.Time) { at = t }})
		if err := replayInto(ctx, demoStore, bt); err != nil {
			b.Fatal(err)
		}
		cases, err := bt.Cases(ctx, c.history.Last, 1)
		if err != nil {
			b.Fatal(err)
		}
		s := calibration.Summarise(cases, 2026)
		fmt.Printf("calibration on the demo's history (2023-04 … %v, 192 cells):\n%s", c.history.Last, s) // b.Logf would cut it to ten lines
		for _, y := range []int{2025, 2026} {
			var of []calibration.Case
			for _, k := range cases {
				if k.Year == y {
					of = append(of, k)
				}
			}
			sy := calibration.Summarise(of, 2026)
			fmt.Printf("FY%d: %d answers, 80%% covers %.1f%%, 95%% covers %.1f%%, standardised error mean %+.2f, rms %.2f; Brier of the budgets %.3f (%d, %.1f%% met: %.3f)\n",
				y, sy.Cases, 100*sy.Coverage80, 100*sy.Coverage95, sy.Bias, sy.ZRMS, sy.Plan.Brier, sy.Plan.N, 100*sy.Plan.BaseRate, sy.Plan.Climatology)
		}
		b.ReportMetric(100*s.Coverage80, "%cover80")
		b.ReportMetric(100*s.Coverage95, "%cover95")
		b.ReportMetric(s.Plan.Brier, "brier-plan")
		b.ReportMetric(s.Spread.Brier, "brier-spread")
		bt.Close()
		store.Close()
		demoStore.Close()
	}
}

// replayInto writes the log of from into the backtest, append by append:
// consecutive events of one stream go in one append, at the time they
// were recorded.
func replayInto(ctx context.Context, from eventstore.Store, bt *calibration.Backtest) error {
	var batch []eventstore.EventData
	var stream string
	var expected uint64
	var at time.Time
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := bt.Append(ctx, stream, expected, at, batch)
		batch = nil
		return err
	}
	for after := eventstore.Start; ; {
		page, err := from.ReadAll(ctx, after, 4096)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return flush()
		}
		for _, e := range page {
			if e.Stream != stream || expected+uint64(len(batch))+1 != e.Version {
				if err := flush(); err != nil {
					return err
				}
				stream, expected, at = e.Stream, e.Version-1, e.RecordedAt
			}
			batch = append(batch, eventstore.EventData{ID: e.ID, Type: e.Type, SchemaVersion: e.SchemaVersion, Data: e.Data, Metadata: e.Metadata})
		}
		after = page[len(page)-1].Position
	}
}
