// Package calibration backtests the query side's P(target) and the
// intervals of fiscal-year totals against what happened.
//
// A Backtest writes a company's event log into an empty store append by
// append. Each time a period closes, the cells' actuals so far are
// forecast the way the reforecaster does (projections/reforecast:
// forecasting.Auto per cell and the cells' shrunk error covariance), the
// run is published, and the variance tables of the fiscal year of the next
// open period are read as the API reads them: per node, the year's
// forecast with its 80% and 95% intervals, and P(target) where the plan
// has a target. Forecast runs already in the log are left out, so every
// answer comes from a run made with the data of its month end (or, before
// MinHistory months of actuals, from the stand-in). Once the log is
// written, Cases scores every answer whose fiscal year finished against
// the year's booked total, and Score summarises them: coverage of the
// intervals, Brier score and reliability table of P(target).
//
// A plan's own targets are few and often all met or all missed (a demo's
// budgets, a generator's), which leaves a Brier score with little to say.
// Score therefore also scores spread targets: for every node and finished
// fiscal year with a finished year before it, a target drawn around the
// previous year's outcome (grown by −5% to +15%, uniformly, from a seed
// and the node and year), the same at every month end of the year, as a
// budget would be. P of a spread target is what the API would answer for
// it: the answer's forecast distribution does not depend on the target
// (view.ProbabilityAtLeast of the answer's mean and standard deviation).
// The targets are drawn around the previous year's outcome, not the
// year's own: a target that knows the outcome makes even a perfect
// forecaster look miscalibrated.
//
// A Backtest is not safe for concurrent use; it is deterministic given
// the log, the seed and the number of workers' results (forecasting.Auto
// is deterministic).
package calibration

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/projections/reforecast"
	"github.com/concord-planning/concord/projections/view"
)

// Config is what a backtest reads.
type Config struct {
	Plan, Metric string
	// Dimensions whose variance tables are read (each table: the total
	// and the dimension's top members).
	Dimensions []string
	// First is the first month of the company's actuals.
	First fiscal.Period
	// MinHistory is how many months of actuals a run needs; before that
	// the stand-in answers (default 12).
	MinHistory int
	// Horizon is how many months each run forecasts (default 24).
	Horizon int
	// Seed draws the spread targets.
	Seed uint64
	// SetClock, if set, is called with each append's time before it is
	// written (a store with a settable clock then records it).
	SetClock func(time.Time)
}

// Case is one answer of the backtest: a node's fiscal-year total as of a
// month end.
type Case struct {
	Origin fiscal.Period // the month end
	Node   string
	Year   int
	Open   int // months of the year still open at the month end
	// StandIn: no run answered (fewer than MinHistory months).
	StandIn bool
	// Mean and SD of the year's total; Lo80 … Hi95 its intervals.
	Mean, SD, Lo80, Hi80, Lo95, Hi95 float64
	// Target and P: the plan's target of the year and P(target) (NaN when
	// the node has none).
	Target, P float64
	// Outcome is the year's booked total; Prior the previous year's (NaN
	// when that year is not in the history).
	Outcome, Prior float64
	Company        uint64 // which company (several may be scored together)
}

// Backtest writes a log and answers at every close; see the package
// comment.
type Backtest struct {
	cfg     Config
	store   eventstore.Store
	svc     *view.Service
	runs    *eventstore.Repository[*forecast.Run, forecast.Event]
	handled map[fiscal.Period]bool
	answers []Case
}

// New returns a backtest writing into store, which must be empty; reg
// registers every event type of the log. Close it when done.
func New(store eventstore.Store, reg *eventstore.Registry, cfg Config) *Backtest {
	if cfg.MinHistory <= 0 {
		cfg.MinHistory = 12
	}
	if cfg.Horizon <= 0 {
		cfg.Horizon = 24
	}
	return &Backtest{cfg: cfg, store: store, svc: view.NewService(store, reg),
		runs: eventstore.NewRepository(store, reg, forecast.New), handled: map[fiscal.Period]bool{}}
}

// Close releases the read side.
func (b *Backtest) Close() { b.svc.Close() }

// Append writes one append of the company's log (events of stream, which
// stood at version expected) and, after a period's first close, publishes
// a run and reads the answers. Forecast runs of the log are skipped.
func (b *Backtest) Append(ctx context.Context, stream string, expected uint64, at time.Time, events []eventstore.EventData) error {
	if strings.HasPrefix(stream, forecast.Stream("")) {
		return nil // the log's own forecasts: runs made at each month end stand in their place
	}
	if b.cfg.SetClock != nil {
		b.cfg.SetClock(at)
	}
	if _, err := b.store.Append(ctx, stream, eventstore.Exact(expected), events...); err != nil {
		return err
	}
	p, ok := ledger.ParseStream(stream)
	if !ok {
		return nil
	}
	for _, e := range events {
		if e.Type != ledger.TypePeriodClosed || b.handled[p] {
			continue // closed again after a reopen: answered the first time
		}
		b.handled[p] = true
		if err := b.answer(ctx, p); err != nil {
			return fmt.Errorf("calibration: as of %v: %w", p, err)
		}
	}
	return nil
}

// answer publishes the run of the month end p (once MinHistory months
// closed) and reads the variance tables of the next open period's year.
func (b *Backtest) answer(ctx context.Context, p fiscal.Period) error {
	st, err := b.svc.Live(ctx)
	if err != nil {
		return err
	}
	pl, ok := st.Plan(b.cfg.Plan)
	if !ok {
		return nil // no plan yet
	}
	standIn := int(p-b.cfg.First)+1 < b.cfg.MinHistory
	if !standIn {
		if err := b.publish(ctx, st, p); err != nil {
			return err
		}
	}
	year := pl.Calendar().Year(p.Add(1))
	seen := map[string]bool{}
	for _, d := range b.cfg.Dimensions {
		v, err := b.svc.Variance(ctx, b.cfg.Plan, view.VarianceQuery{Metric: b.cfg.Metric, Year: strconv.Itoa(year), Dimension: d})
		if err != nil {
			return err
		}
		for _, r := range v.Rows {
			if seen[r.Node] || r.Forecast == nil || r.StdDev == nil {
				continue
			}
			seen[r.Node] = true
			c := Case{Origin: p, Node: r.Node, Year: year, Open: int(pl.Calendar().FiscalYear(year).Last - p), StandIn: v.Forecast.Kind == "stand-in",
				Mean: float64(r.Forecast.Mean), SD: float64(*r.StdDev),
				Lo80: float64(r.Forecast.Lo80), Hi80: float64(r.Forecast.Hi80), Lo95: float64(r.Forecast.Lo95), Hi95: float64(r.Forecast.Hi95),
				Target: math.NaN(), P: math.NaN()}
			if r.Target != nil && r.Probability != nil {
				if c.Target, err = strconv.ParseFloat(*r.Target, 64); err != nil {
					return fmt.Errorf("target of %s: %w", r.Node, err)
				}
				c.P = float64(*r.Probability)
			}
			b.answers = append(b.answers, c)
		}
	}
	return nil
}

// publish forecasts the metric from the cells' actuals from First through
// last, as the reforecaster does, and publishes the run.
func (b *Backtest) publish(ctx context.Context, st *view.State, last fiscal.Period) error {
	span := fiscal.Span{First: b.cfg.First, Last: last, Kind: fiscal.KindRange}
	cells := st.CurrentCells()
	history := make([][]float64, len(cells))
	for i, cell := range cells {
		amounts, _ := st.Actuals(cell, b.cfg.Metric, span)
		history[i] = make([]float64, len(amounts))
		for k, a := range amounts {
			history[i][k] = a.Float64()
		}
	}
	runID := fmt.Sprintf("backtest-%s-%v", b.cfg.Metric, last)
	pub, err := reforecast.Run(ctx, reforecast.Input{RunID: runID, Plan: b.cfg.Plan, Metric: b.cfg.Metric, Cells: cells, First: b.cfg.First,
		History: history, Horizon: b.cfg.Horizon, Seed: 1, DataPosition: st.Position, Workers: runtime.GOMAXPROCS(0)})
	if err != nil {
		return err
	}
	_, err = b.runs.Update(ctx, forecast.Stream(runID), eventstore.NoStream,
		eventstore.Command{IdempotencyKey: runID, MaxAppendBytes: forecast.AppendSize},
		func(r *forecast.Run) error { return r.Publish(pub) })
	return err
}

// Cases returns the answers whose fiscal year finished by last (the
// company's last closed month), with their outcomes.
func (b *Backtest) Cases(ctx context.Context, last fiscal.Period, company uint64) ([]Case, error) {
	st, err := b.svc.Live(ctx)
	if err != nil {
		return nil, err
	}
	pl, ok := st.Plan(b.cfg.Plan)
	if !ok {
		return nil, fmt.Errorf("calibration: no plan %s in the log", b.cfg.Plan)
	}
	cal := pl.Calendar()
	outcomes := map[string]float64{}
	for y := cal.Year(b.cfg.First); cal.FiscalYear(y).Last <= last; y++ {
		if cal.FiscalYear(y).First < b.cfg.First {
			continue // a year the history starts within
		}
		for _, d := range b.cfg.Dimensions {
			v, err := b.svc.Variance(ctx, b.cfg.Plan, view.VarianceQuery{Metric: b.cfg.Metric, Year: strconv.Itoa(y), Dimension: d})
			if err != nil {
				return nil, err
			}
			for _, r := range v.Rows {
				if r.Actual == nil {
					continue
				}
				a, err := strconv.ParseFloat(*r.Actual, 64)
				if err != nil {
					return nil, fmt.Errorf("actual of %s in %d: %w", r.Node, y, err)
				}
				outcomes[outcomeKey(r.Node, y)] = a
			}
		}
	}
	var out []Case
	for _, c := range b.answers {
		o, ok := outcomes[outcomeKey(c.Node, c.Year)]
		if !ok {
			continue // the year did not finish in the history
		}
		c.Outcome, c.Prior, c.Company = o, math.NaN(), company
		if prior, ok := outcomes[outcomeKey(c.Node, c.Year-1)]; ok {
			c.Prior = prior
		}
		out = append(out, c)
	}
	return out, nil
}

func outcomeKey(node string, year int) string { return node + "@" + strconv.Itoa(year) }

// Bin is one row of a reliability table: the answers whose P fell in
// [Lo, Hi), their mean P and the share of them whose target was met.
type Bin struct {
	Lo, Hi float64
	N, Met int
	SumP   float64
}

// Score summarises scored answers; see Summarise.
type Score struct {
	Cases, Years           int // answers from a run; distinct company × node × year outcomes
	Coverage80, Coverage95 float64
	// Bias is the mean of (outcome − mean) / sd over the answers from a
	// run, Spread the root mean square of it: 0 and 1 when the forecast
	// distribution is right; a positive Bias is a forecast too low.
	Bias, ZRMS float64
	// ByOpen breaks the answers from a run down by the months of the year
	// still open (index 0: one month), where a bias that depends on the
	// horizon shows.
	ByOpen []Horizon
	// Plan scores P(target) of the plan's own targets; Spread of the
	// spread targets (see the package comment).
	Plan, Spread Probabilities
	// StandIn counts the answers before a run could be made, and the
	// coverage of their intervals.
	StandIn                              int
	StandInCoverage80, StandInCoverage95 float64
}

// Horizon scores the answers made with the same number of months open.
type Horizon struct {
	Open, Cases            int
	Coverage80, Coverage95 float64
	Bias, ZRMS             float64 // as Score's
}

// Probabilities scores the P(target) of a set of targets.
type Probabilities struct {
	N int
	// Brier is the mean squared difference of P and whether the target was
	// met; Climatology the Brier score of always answering the share met
	// (BaseRate), the score to beat.
	Brier, Climatology, BaseRate float64
	Reliability                  [5]Bin
}

func (p *Probabilities) add(prob float64, met bool) {
	m := 0.0
	if met {
		m = 1
	}
	p.N++
	p.Brier += (prob - m) * (prob - m)
	p.BaseRate += m
	k := min(int(prob*5), 4)
	b := &p.Reliability[k]
	b.N++
	b.SumP += prob
	if met {
		b.Met++
	}
}

func (p *Probabilities) finish() {
	for k := range p.Reliability {
		p.Reliability[k].Lo, p.Reliability[k].Hi = float64(k)/5, float64(k+1)/5
	}
	if p.N == 0 {
		return
	}
	n := float64(p.N)
	p.Brier /= n
	p.BaseRate /= n
	p.Climatology = p.BaseRate * (1 - p.BaseRate)
}

// Summarise scores cases; spread targets are drawn with seed.
func Summarise(cases []Case, seed uint64) Score {
	var out Score
	years := map[string]bool{}
	for _, c := range cases {
		o := c.Outcome
		in80 := o >= c.Lo80 && o <= c.Hi80
		in95 := o >= c.Lo95 && o <= c.Hi95
		if c.StandIn {
			out.StandIn++
			out.StandInCoverage80 += b2f(in80)
			out.StandInCoverage95 += b2f(in95)
			continue
		}
		out.Cases++
		years[fmt.Sprint(c.Company, c.Node, "@", c.Year)] = true
		out.Coverage80 += b2f(in80)
		out.Coverage95 += b2f(in95)
		for len(out.ByOpen) < c.Open {
			out.ByOpen = append(out.ByOpen, Horizon{Open: len(out.ByOpen) + 1})
		}
		hz := &out.ByOpen[c.Open-1]
		hz.Cases++
		hz.Coverage80 += b2f(in80)
		hz.Coverage95 += b2f(in95)
		if c.SD > 0 {
			z := (o - c.Mean) / c.SD
			out.Bias += z
			out.ZRMS += z * z
			hz.Bias += z
			hz.ZRMS += z * z
		}
		if !math.IsNaN(c.P) {
			out.Plan.add(c.P, o >= c.Target)
		}
		if !math.IsNaN(c.Prior) {
			t := SpreadTarget(c.Prior, seed, c.Company, c.Node, c.Year)
			out.Spread.add(view.ProbabilityAtLeast(t, c.Mean, c.SD), o >= t)
		}
	}
	if out.Cases > 0 {
		n := float64(out.Cases)
		out.Coverage80, out.Coverage95 = out.Coverage80/n, out.Coverage95/n
		out.Bias, out.ZRMS = out.Bias/n, math.Sqrt(out.ZRMS/n)
	}
	for k := range out.ByOpen {
		if hz := &out.ByOpen[k]; hz.Cases > 0 {
			n := float64(hz.Cases)
			hz.Coverage80, hz.Coverage95 = hz.Coverage80/n, hz.Coverage95/n
			hz.Bias, hz.ZRMS = hz.Bias/n, math.Sqrt(hz.ZRMS/n)
		}
	}
	if out.StandIn > 0 {
		n := float64(out.StandIn)
		out.StandInCoverage80, out.StandInCoverage95 = out.StandInCoverage80/n, out.StandInCoverage95/n
	}
	out.Plan.finish()
	out.Spread.finish()
	out.Years = len(years)
	return out
}

// SpreadTarget is the spread target of node in year: the previous year's
// outcome prior grown by g, uniform on [−5%, +15%], drawn from seed, the
// company and the node and year.
func SpreadTarget(prior float64, seed, company uint64, node string, year int) float64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%d", company, node, year)
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))
	return prior * (0.95 + 0.20*rng.Float64())
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// String reports the score as the README shows it.
func (s Score) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d answers (%d node-year outcomes): 80%% interval covers %.1f%%, 95%% interval covers %.1f%%\n",
		s.Cases, s.Years, 100*s.Coverage80, 100*s.Coverage95)
	fmt.Fprintf(&b, "standardised error (outcome − mean) / sd: mean %+.2f, root mean square %.2f (0 and 1 when right)\n", s.Bias, s.ZRMS)
	fmt.Fprintf(&b, "  months open | answers | 80%% covers | 95%% covers | mean | rms\n")
	for _, hz := range s.ByOpen {
		if hz.Cases > 0 {
			fmt.Fprintf(&b, "  %-11d | %-7d | %5.1f%%     | %5.1f%%     | %+.2f | %.2f\n", hz.Open, hz.Cases, 100*hz.Coverage80, 100*hz.Coverage95, hz.Bias, hz.ZRMS)
		}
	}
	for _, p := range []struct {
		name string
		p    Probabilities
	}{{"the plan's targets", s.Plan}, {"spread targets (previous year's outcome −5% to +15%)", s.Spread}} {
		if p.p.N == 0 {
			fmt.Fprintf(&b, "%s: none scored\n", p.name)
			continue
		}
		fmt.Fprintf(&b, "%s: %d answers, %.1f%% met; Brier score %.4f (always answering the share met: %.4f)\n",
			p.name, p.p.N, 100*p.p.BaseRate, p.p.Brier, p.p.Climatology)
		fmt.Fprintf(&b, "  P bin   | answers | mean P | share met\n")
		for _, r := range p.p.Reliability {
			if r.N == 0 {
				fmt.Fprintf(&b, "  %.1f–%.1f | 0       | –      | –\n", r.Lo, r.Hi)
				continue
			}
			fmt.Fprintf(&b, "  %.1f–%.1f | %-7d | %.3f  | %.3f\n", r.Lo, r.Hi, r.N, r.SumP/float64(r.N), float64(r.Met)/float64(r.N))
		}
	}
	if s.StandIn > 0 {
		fmt.Fprintf(&b, "stand-in answers (before a run): %d, 80%% covers %.1f%%, 95%% covers %.1f%%\n",
			s.StandIn, 100*s.StandInCoverage80, 100*s.StandInCoverage95)
	}
	return b.String()
}
