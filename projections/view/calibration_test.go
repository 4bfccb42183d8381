package view_test

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/reforecast"
	"github.com/concord-planning/concord/projections/view"
	"github.com/concord-planning/concord/projections/view/viewtest"
)

// The calibration backtest: a generated company (projections/company) is
// written to a store month by month; after each period closes, the cells'
// actuals so far are forecast by projections/reforecast (the reforecaster's
// model: forecasting.Auto per cell and the cells' shrunk covariance), the
// run is published, and the variance table of the fiscal year of the next
// open period is read as the API reads it: per fiscal-year target, P(target)
// and the 80% and 95% intervals of the year's total. The generator's own
// made-up forecasts are left out of the log, so every probability comes
// from a real run (or, before a year of history, from the stand-in). Once
// the company's last month has closed, each answer is scored against what
// happened: the year's booked total against the target as it stood then
// (Brier score, reliability table) and against the intervals (coverage).

// calibrationCase is one answer of the backtest: a node's fiscal-year
// target as of one month end.
type calibrationCase struct {
	origin   fiscal.Period
	node     string
	year     int
	standIn  bool
	target   float64
	p        float64
	interval view.Interval
	outcome  float64
	company  uint64 // the generator's seed
}

// calibration is the scored backtest.
type calibration struct {
	cases       int // answers: a node's fiscal-year total as of a month end
	years       int // distinct node × fiscal-year outcomes
	targets     int // answers with a target: P(target) scored
	brier       float64
	coverage80  float64
	coverage95  float64
	reliability [5]struct {
		n, met int
		p      float64
	}
	standInCases int
	standIn80    float64
	standIn95    float64
}

func (c calibration) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d answers (%d node-year outcomes): 80%% interval covers %.1f%%, 95%% interval covers %.1f%%\n",
		c.cases, c.years, 100*c.coverage80, 100*c.coverage95)
	fmt.Fprintf(&b, "%d answers with a target: Brier score %.4f\n", c.targets, c.brier)
	fmt.Fprintf(&b, "reliability: P bin | answers | mean P | share met\n")
	for k, r := range c.reliability {
		if r.n == 0 {
			fmt.Fprintf(&b, "  %.1f–%.1f | 0 | – | –\n", float64(k)/5, float64(k+1)/5)
			continue
		}
		fmt.Fprintf(&b, "  %.1f–%.1f | %d | %.3f | %.3f\n", float64(k)/5, float64(k+1)/5, r.n, r.p/float64(r.n), float64(r.met)/float64(r.n))
	}
	if c.standInCases > 0 {
		fmt.Fprintf(&b, "stand-in answers (before a year of history): %d, 80%% covers %.1f%%, 95%% covers %.1f%%\n",
			c.standInCases, 100*c.standIn80, 100*c.standIn95)
	}
	return b.String()
}

// minRunHistory is how many months of actuals a run needs in the backtest;
// before that the stand-in answers.
const minRunHistory = 12

// backtestCompany runs the calibration backtest on cfg's company, reading
// the variance tables of dims, and returns the answers whose fiscal year
// finished within the company's history, with their outcomes.
func backtestCompany(tb testing.TB, cfg company.Config, dims []string) []calibrationCase {
	tb.Helper()
	ctx := context.Background()
	clock := &viewtest.Clock{}
	store := viewtest.OpenStore(tb, "", clock)
	reg := company.Registry()
	svc := view.NewService(store, reg)
	defer svc.Close()
	runs := eventstore.NewRepository(store, reg, forecast.New)
	cal := fiscal.MustCalendar(cfg.FiscalYearStart)
	handled := map[fiscal.Period]bool{}
	var cases []calibrationCase
	const planID = "corp" // the generator's plan

	answer := func(p fiscal.Period) error {
		st, err := svc.Live(ctx)
		if err != nil {
			return err
		}
		if months := int(p-cfg.Start) + 1; months >= minRunHistory {
			if err := publishRun(ctx, st, runs, planID, "revenue", cfg.Start, p); err != nil {
				return err
			}
		}
		year := cal.Year(p.Add(1))
		seen := map[string]bool{}
		for _, d := range dims {
			v, err := svc.Variance(ctx, planID, view.VarianceQuery{Metric: "revenue", Year: fmt.Sprint(year), Dimension: d})
			if err != nil {
				return err
			}
			for _, r := range v.Rows {
				if seen[r.Node] || r.Forecast == nil {
					continue
				}
				seen[r.Node] = true
				c := calibrationCase{origin: p, node: r.Node, year: year, standIn: v.Forecast.Kind == "stand-in", interval: *r.Forecast, p: math.NaN()}
				if r.Target != nil && r.Probability != nil {
					fmt.Sscan(*r.Target, &c.target)
					c.p = float64(*r.Probability)
				}
				cases = append(cases, c)
			}
		}
		return nil
	}
	_, err := company.GenerateTo(cfg, func(a company.Append, events []eventstore.RecordedEvent) error {
		if strings.HasPrefix(a.Stream, "forecast-") {
			return nil // the generator's made-up forecasts: real runs stand in their place
		}
		clock.Set(a.At)
		if _, err := store.Append(ctx, a.Stream, eventstore.Exact(a.Expected), a.Events...); err != nil {
			return err
		}
		for _, e := range events {
			switch e.Type {
			case ledger.TypePeriodClosed:
				p, err := fiscal.ParsePeriod(strings.TrimPrefix(a.Stream, "ledger-"))
				if err != nil {
					return err
				}
				if handled[p] {
					continue // closed again after a reopen
				}
				handled[p] = true
				if err := answer(p); err != nil {
					return fmt.Errorf("as of %v: %w", p, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	// Outcomes: each fiscal year's booked total, once all its months closed.
	last := cfg.Start.Add(cfg.Months - 1)
	outcomes := map[string]float64{}
	for _, d := range dims {
		for y := cal.Year(cfg.Start); cal.FiscalYear(y).Last <= last; y++ {
			v, err := svc.Variance(ctx, planID, view.VarianceQuery{Metric: "revenue", Year: fmt.Sprint(y), Dimension: d})
			if err != nil {
				tb.Fatal(err)
			}
			for _, r := range v.Rows {
				if r.Actual != nil {
					var a float64
					fmt.Sscan(*r.Actual, &a)
					outcomes[fmt.Sprint(r.Node, "@", y)] = a
				}
			}
		}
	}
	var out []calibrationCase
	for _, c := range cases {
		o, ok := outcomes[fmt.Sprint(c.node, "@", c.year)]
		if !ok {
			continue // the year did not finish in the company's history
		}
		c.outcome = o
		c.company = cfg.Seed
		out = append(out, c)
	}
	return out
}

// score scores the answers of a backtest.
func score(cases []calibrationCase) calibration {
	var out calibration
	years := map[string]bool{}
	for _, c := range cases {
		o := c.outcome
		in80 := o >= float64(c.interval.Lo80) && o <= float64(c.interval.Hi80)
		in95 := o >= float64(c.interval.Lo95) && o <= float64(c.interval.Hi95)
		if c.standIn {
			out.standInCases++
			out.standIn80 += b2f(in80)
			out.standIn95 += b2f(in95)
			continue
		}
		out.cases++
		years[fmt.Sprint(c.company, c.node, "@", c.year)] = true
		out.coverage80 += b2f(in80)
		out.coverage95 += b2f(in95)
		if math.IsNaN(c.p) {
			continue // a node without a target
		}
		met := o >= c.target
		out.targets++
		out.brier += (c.p - b2f(met)) * (c.p - b2f(met))
		k := min(int(c.p*5), 4)
		out.reliability[k].n++
		out.reliability[k].p += c.p
		if met {
			out.reliability[k].met++
		}
	}
	if out.cases > 0 {
		n := float64(out.cases)
		out.coverage80, out.coverage95 = out.coverage80/n, out.coverage95/n
	}
	if out.targets > 0 {
		out.brier /= float64(out.targets)
	}
	if out.standInCases > 0 {
		out.standIn80 /= float64(out.standInCases)
		out.standIn95 /= float64(out.standInCases)
	}
	out.years = len(years)
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// publishRun forecasts metric from the cells' actuals from first through
// last, as the reforecaster does, and publishes the run.
func publishRun(ctx context.Context, st *view.State, runs *eventstore.Repository[*forecast.Run, forecast.Event], planID, metric string, first, last fiscal.Period) error {
	span := fiscal.Span{First: first, Last: last, Kind: fiscal.KindRange}
	cells := st.CurrentCells()
	history := make([][]float64, len(cells))
	for i, cell := range cells {
		amounts, _ := st.Actuals(cell, metric, span)
		history[i] = make([]float64, len(amounts))
		for k, a := range amounts {
			history[i][k] = a.Float64()
		}
	}
	runID := fmt.Sprintf("backtest-%s-%v", metric, last)
	pub, err := reforecast.Run(ctx, reforecast.Input{RunID: runID, Plan: planID, Metric: metric, Cells: cells, First: first,
		History: history, Horizon: 24, Seed: 1, DataPosition: st.Position, Workers: runtime.GOMAXPROCS(0)})
	if err != nil {
		return err
	}
	_, err = runs.Update(ctx, forecast.Stream(runID), eventstore.NoStream,
		eventstore.Command{IdempotencyKey: runID, MaxAppendBytes: forecast.AppendSize},
		func(r *forecast.Run) error { return r.Publish(pub) })
	return err
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

// TestCalibration backtests P(target) and the fiscal-year intervals on a
// small generated company and requires the 80% and 95% intervals to cover
// 75–85% and 92–98% of the outcomes.
func TestCalibration(t *testing.T) {
	if testing.Short() {
		t.Skip("fits a forecast run per month end")
	}
	c := score(backtestCompany(t, smallCalibrationCompany(11), calibrationDims))
	t.Logf("calibration on a small company (seed 11):\n%s", c)
	if c.cases < 200 {
		t.Fatalf("backtest scored %d answers, want at least 200", c.cases)
	}
	if c.coverage80 < 0.75 || c.coverage80 > 0.85 {
		t.Errorf("80%% intervals cover %.1f%% of outcomes, want 75–85%%", 100*c.coverage80)
	}
	if c.coverage95 < 0.92 || c.coverage95 > 0.98 {
		t.Errorf("95%% intervals cover %.1f%% of outcomes, want 92–98%%", 100*c.coverage95)
	}
	if c.targets == 0 || c.brier > 0.25 {
		t.Errorf("Brier score %.4f, want at most 0.25 (a constant P of 0.5)", c.brier)
	}
}

// BenchmarkCalibration runs the backtest on larger companies: 64 cells
// (company.Small's dimensions: 2 business units × 4 regions × 4 products ×
// 2 segments), four fiscal years, seeds 1 to 3, and reports the coverage
// of the 80% and 95% intervals and the Brier score:
//
//	go test ./projections/view -run '^$' -bench Calibration -benchtime 1x -timeout 60m
func BenchmarkCalibration(b *testing.B) {
	for b.Loop() {
		var cases []calibrationCase
		for seed := uint64(1); seed <= 3; seed++ {
			cfg := company.Small(seed)
			cfg.Metrics, cfg.Months, cfg.DimensionChurn = 1, 48, 0
			cases = append(cases, backtestCompany(b, cfg, calibrationDims)...)
		}
		c := score(cases)
		b.Logf("calibration on three companies of 64 cells (seeds 1–3):\n%s", c)
		b.ReportMetric(100*c.coverage80, "%cover80")
		b.ReportMetric(100*c.coverage95, "%cover95")
		b.ReportMetric(c.brier, "brier")
	}
}
