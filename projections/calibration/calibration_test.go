package calibration_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/projections/calibration"
	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/view/viewtest"
)

// backtestCompany runs the backtest on cfg's generated company, reading
// the variance tables of dims, and returns its scored answers.
func backtestCompany(tb testing.TB, cfg company.Config, dims []string) []calibration.Case {
	tb.Helper()
	ctx := context.Background()
	clock := &viewtest.Clock{}
	store := viewtest.OpenStore(tb, "", clock)
	b := calibration.New(store, company.Registry(), calibration.Config{Plan: "corp", Metric: "revenue", Dimensions: dims,
		First: cfg.Start, SetClock: clock.Set})
	defer b.Close()
	_, err := company.GenerateTo(cfg, func(a company.Append, _ []eventstore.RecordedEvent) error {
		return b.Append(ctx, a.Stream, a.Expected, a.At, a.Events)
	})
	if err != nil {
		tb.Fatal(err)
	}
	cases, err := b.Cases(ctx, cfg.Start.Add(cfg.Months-1), cfg.Seed)
	if err != nil {
		tb.Fatal(err)
	}
	return cases
}

// smallCalibrationCompany is the company the test suite backtests: 16
// cells (4 business units × 2 regions × 2 products × 1 segment), four
// fiscal years of monthly revenue.
func smallCalibrationCompany(seed uint64) company.Config {
	return company.Config{Seed: seed, BusinessUnits: 4, RegionGroups: 2, RegionsPerGroup: 1, ProductLines: 2, ProductsPerLine: 1, Segments: 1,
		Metrics: 1, Start: fiscal.NewPeriod(2026, time.April), Months: 48, FiscalYearStart: time.April,
		Restatements: 0.05, Reforecast: 0.5, ForecastCells: true, ForecastEvery: 1, ForecastMonths: 12, Reallocations: 1}
}

// calibrationDims are the dimensions whose variance tables the backtest
// reads (each table's rows: the total and the dimension's top members).
var calibrationDims = []string{"bu", "region", "product"}

// spreadSeed draws the spread targets of every backtest.
const spreadSeed = 2026

// TestCalibration backtests P(target) and the fiscal-year intervals on a
// small generated company and requires the 80% and 95% intervals to cover
// 75–85% and 92–98% of the outcomes, and P of spread targets (met and
// missed, see the package comment) to score a better Brier score than
// always answering the share met.
func TestCalibration(t *testing.T) {
	if testing.Short() {
		t.Skip("fits a forecast run per month end")
	}
	c := calibration.Summarise(backtestCompany(t, smallCalibrationCompany(11), calibrationDims), spreadSeed)
	t.Logf("calibration on a small company (seed 11):\n%s", c)
	if c.Cases < 200 {
		t.Fatalf("backtest scored %d answers, want at least 200", c.Cases)
	}
	if c.Coverage80 < 0.75 || c.Coverage80 > 0.85 {
		t.Errorf("80%% intervals cover %.1f%% of outcomes, want 75–85%%", 100*c.Coverage80)
	}
	if c.Coverage95 < 0.92 || c.Coverage95 > 0.98 {
		t.Errorf("95%% intervals cover %.1f%% of outcomes, want 92–98%%", 100*c.Coverage95)
	}
	if c.Plan.N == 0 || c.Plan.Brier > 0.25 {
		t.Errorf("plan targets: Brier score %.4f over %d answers, want at most 0.25 (a constant P of 0.5)", c.Plan.Brier, c.Plan.N)
	}
	s := c.Spread
	if s.N < 100 || s.BaseRate < 0.2 || s.BaseRate > 0.8 {
		t.Fatalf("spread targets: %d answers, %.0f%% met; want at least 100, met and missed (20–80%% met)", s.N, 100*s.BaseRate)
	}
	if s.Brier >= s.Climatology {
		t.Errorf("spread targets: Brier score %.4f, no better than always answering the share met (%.4f)", s.Brier, s.Climatology)
	}
}

// BenchmarkCalibration runs the backtest on larger companies: 64 cells
// (company.Small's dimensions: 2 business units × 4 regions × 4 products ×
// 2 segments), four fiscal years, seeds 1 to 3, and reports the coverage
// of the 80% and 95% intervals and the Brier scores:
//
//	go test ./projections/calibration -run '^$' -bench Calibration -benchtime 1x -timeout 60m
func BenchmarkCalibration(b *testing.B) {
	for b.Loop() {
		var cases []calibration.Case
		for seed := uint64(1); seed <= 3; seed++ {
			cfg := company.Small(seed)
			cfg.Metrics, cfg.Months, cfg.DimensionChurn = 1, 48, 0
			cases = append(cases, backtestCompany(b, cfg, calibrationDims)...)
		}
		c := calibration.Summarise(cases, spreadSeed)
		fmt.Printf("calibration on three companies of 64 cells (seeds 1–3):\n%s", c) // b.Logf would cut it to ten lines
		b.ReportMetric(100*c.Coverage80, "%cover80")
		b.ReportMetric(100*c.Coverage95, "%cover95")
		b.ReportMetric(c.Plan.Brier, "brier-plan")
		b.ReportMetric(c.Spread.Brier, "brier-spread")
		b.ReportMetric(c.Spread.Climatology, "brier-base")
	}
}
