// Package viewtest builds a small demo company in an event store, for the
// tests of the query side, the dashboard and the browser tests: two
// dimensions (Region: World > EMEA > DACH, UK; Americas > US, Brazil, and
// Product: All > Pumps, Valves), a plan for FY2028 (fiscal years start in
// April) with consistent targets at several levels, 27 months of actuals,
// sales commits, two published forecast vintages (automatic ETS from the
// forecasting package), two version tags and one approved reallocation.
//
// Everything goes through the domain aggregates' commands, so the demo obeys
// every invariant; randomness is seeded, and when a Clock is given every
// step is recorded at a fixed date, so the demo is deterministic.
package viewtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/scenario"
	"github.com/concord-planning/concord/forecasting"
)

// Clock is a settable clock for the store (sqlite.Options.Clock). It is
// safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond) // strictly increasing within a step
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Registry returns a registry of every domain event type.
func Registry() *eventstore.Registry {
	r := eventstore.NewRegistry()
	dimension.RegisterEvents(r)
	plan.RegisterEvents(r)
	ledger.RegisterEvents(r)
	commit.RegisterEvents(r)
	forecast.RegisterEvents(r)
	scenario.RegisterEvents(r)
	return r
}

// Demo describes what Seed built.
type Demo struct {
	Plan         string              // "acme"
	Metric       string              // "revenue"
	Year         int                 // 2028
	Budget       eventstore.Position // where "Budget FY28" was tagged
	Reforecast   eventstore.Position // where "Q1 reforecast" was tagged
	Reallocation string              // the id of the approved reallocation
}

// Regions and products of the demo, leaves last.
var (
	regions  = [][3]string{{"world", "World", ""}, {"emea", "EMEA", "world"}, {"americas", "Americas", "world"}, {"dach", "DACH", "emea"}, {"uk", "UK", "emea"}, {"us", "US", "americas"}, {"brazil", "Brazil", "americas"}}
	products = [][3]string{{"all", "All products", ""}, {"pumps", "Pumps", "all"}, {"valves", "Valves", "all"}}
	leafReg  = []string{"dach", "uk", "us", "brazil"}
	leafProd = []string{"pumps", "valves"}
)

type seeder struct {
	ctx   context.Context
	store eventstore.Store
	reg   *eventstore.Registry
	clock *Clock
	err   error
}

func (s *seeder) at(t time.Time) {
	if s.clock != nil {
		s.clock.Set(t)
	}
}

func update[A eventstore.Aggregate[E], E any](s *seeder, newA func() A, stream, actor string, decide func(A) error) eventstore.AppendResult {
	if s.err != nil {
		var zero eventstore.AppendResult
		return zero
	}
	repo := eventstore.NewRepository[A, E](s.store, s.reg, newA)
	res, err := repo.Update(s.ctx, stream, eventstore.Any, eventstore.Command{Metadata: eventstore.Metadata{Actor: actor}}, decide)
	if err != nil {
		s.err = fmt.Errorf("viewtest: %s: %w", stream, err)
	}
	return res
}

func cell(r, p string) dimension.Node {
	return dimension.MustNode(dimension.Coord{Dimension: "region", Member: r}, dimension.Coord{Dimension: "product", Member: p})
}

func node(coords ...string) dimension.Node {
	var cs []dimension.Coord
	for k := 0; k < len(coords); k += 2 {
		cs = append(cs, dimension.Coord{Dimension: coords[k], Member: coords[k+1]})
	}
	return dimension.MustNode(cs...)
}

func day(p fiscal.Period, d int) time.Time {
	return time.Date(p.Year(), p.Month(), d, 9, 0, 0, 0, time.UTC)
}

// Seed writes the demo company into store. Pass the store's clock to record
// every step at a fixed date (2025-04 … 2027-07); nil leaves the store's own.
func Seed(ctx context.Context, store eventstore.Store, reg *eventstore.Registry, clock *Clock) (Demo, error) {
	s := &seeder{ctx: ctx, store: store, reg: reg, clock: clock}
	demo := Demo{Plan: "acme", Metric: "revenue", Year: 2028, Reallocation: "r-1"}
	first := fiscal.NewPeriod(2025, time.April)
	horizon := fiscal.NewPeriod(2027, time.April)
	s.at(day(first, 1).Add(-24 * time.Hour))
	for _, dim := range []struct {
		id, name string
		members  [][3]string
	}{{"region", "Region", regions}, {"product", "Product", products}} {
		update[*dimension.Dimension, dimension.Event](s, dimension.New, dimension.Stream(dim.id), "paul", func(d *dimension.Dimension) error {
			if err := d.Define(dim.id, dim.name, dim.members[0][0], dim.members[0][1]); err != nil {
				return err
			}
			for _, m := range dim.members[1:] {
				if err := d.Add(m[0], m[1], m[2]); err != nil {
					return err
				}
			}
			return nil
		})
	}
	update[*plan.Plan, plan.Event](s, plan.New, plan.Stream("acme"), "paul", func(p *plan.Plan) error {
		return p.Open(plan.Opened{ID: "acme", Name: "ACME Pumps FY28", Currency: "EUR",
			Metrics:         []plan.Metric{{ID: "revenue", Name: "Net revenue", Unit: "EUR", NonNegative: true}},
			FiscalYearStart: time.April, Dimensions: []string{"region", "product"}, HorizonStart: horizon, HorizonMonths: 12})
	})

	// Actuals: level × seasonality × growth × noise per cell, seeded.
	rng := rand.New(rand.NewPCG(7, 2028))
	level := map[string]float64{}
	growth := map[string]float64{}
	for k, r := range leafReg {
		for q, p := range leafProd {
			level[r+p] = 90000 + 40000*float64(k) - 25000*float64(q)
			growth[r+p] = 0.004 + 0.003*float64((k+q)%3)
		}
	}
	const months = 27 // 2025-04 … 2027-06
	history := map[string][]float64{}
	for t := range months {
		per := first.Add(t)
		var rows []ledger.Row
		for _, r := range leafReg {
			for _, p := range leafProd {
				season := 1 + 0.15*math.Sin(2*math.Pi*float64(t)/12)
				v := level[r+p] * season * math.Pow(1+growth[r+p], float64(t)) * (1 + 0.04*rng.NormFloat64())
				v = math.Round(v*100) / 100
				history[r+p] = append(history[r+p], v)
				rows = append(rows, ledger.Row{Cell: cell(r, p), Metric: "revenue", Period: per, Amount: decimal.New(int64(math.Round(v*100)), 2)})
			}
		}
		s.at(day(per.Add(1), 2))
		update[*ledger.Ledger, ledger.Event](s, func() *ledger.Ledger { return ledger.New(per) }, ledger.Stream(per), "erp", func(l *ledger.Ledger) error {
			if err := l.Record("erp-"+per.String(), rows, "erp"); err != nil {
				return err
			}
			return l.Close("controller", 0, "")
		})
		if per == horizon.Add(-1) {
			// Budget time: targets, commits, the first forecast.
			s.at(day(horizon, 5))
			demo.Budget = s.budget(history, horizon, months-3)
			s.at(day(horizon, 6))
			s.publish("v2027-04", history, months-3, horizon, 12, false)
		}
	}
	// Q1 closed: a reallocation, a reforecast of every node and a tag.
	s.at(day(horizon.Add(3), 5))
	update[*plan.Plan, plan.Event](s, plan.New, plan.Stream("acme"), "ana", func(p *plan.Plan) error {
		span := p.Calendar().FiscalYear(2028)
		return p.ProposeReallocation("r-1", "revenue", span, []plan.Move{
			{Node: node("region", "dach"), Delta: decimal.MustParse("-60000")},
			{Node: node("region", "uk"), Delta: decimal.MustParse("60000")},
		}, "UK pipeline is stronger than planned; DACH lost a key account", "ana")
	})
	s.at(day(horizon.Add(3), 6))
	update[*plan.Plan, plan.Event](s, plan.New, plan.Stream("acme"), "paul", func(p *plan.Plan) error {
		return p.ApproveReallocation("r-1", "paul", "")
	})
	s.at(day(horizon.Add(3), 7))
	s.publish("v2027-07", history, months, horizon.Add(3), 9, true)
	s.at(day(horizon.Add(3), 8))
	res := update[*plan.Plan, plan.Event](s, plan.New, plan.Stream("acme"), "paul", func(p *plan.Plan) error {
		return p.TagVersion("Q1 reforecast", "paul")
	})
	demo.Reforecast = res.Position
	return demo, s.err
}

// budget sets the FY2028 targets (cells' last-year totals grown by 4–12%,
// summed exactly upwards), submits year commits and tags "Budget FY28".
func (s *seeder) budget(history map[string][]float64, horizon fiscal.Period, n int) eventstore.Position {
	cellTarget := map[string]decimal.Decimal{}
	for k, r := range leafReg {
		for q, p := range leafProd {
			var last float64
			for _, v := range history[r+p][n-12 : n] {
				last += v
			}
			up := 1.10 + 0.04*float64((k*2+q)%5)
			cellTarget[r+p] = decimal.FromInt(int64(math.Round(last*up/1000)) * 1000)
		}
	}
	sum := func(rs, ps []string) decimal.Decimal {
		var d decimal.Decimal
		for _, r := range rs {
			for _, p := range ps {
				d, _ = d.Add(cellTarget[r+p])
			}
		}
		return d
	}
	type tgt struct {
		n dimension.Node
		v decimal.Decimal
	}
	emea, americas := []string{"dach", "uk"}, []string{"us", "brazil"}
	targets := []tgt{{node(), sum(leafReg, leafProd)},
		{node("region", "emea"), sum(emea, leafProd)}, {node("region", "americas"), sum(americas, leafProd)}}
	for _, r := range leafReg {
		targets = append(targets, tgt{node("region", r), sum([]string{r}, leafProd)})
	}
	for _, g := range []struct {
		id string
		rs []string
	}{{"emea", emea}, {"americas", americas}} {
		for _, p := range leafProd {
			targets = append(targets, tgt{node("product", p, "region", g.id), sum(g.rs, []string{p})})
		}
	}
	update[*plan.Plan, plan.Event](s, plan.New, plan.Stream("acme"), "paul", func(p *plan.Plan) error {
		span := p.Calendar().FiscalYear(2028)
		for _, t := range targets {
			if err := p.SetTarget(t.n, "revenue", span, t.v, "Budget FY28", "paul"); err != nil {
				return err
			}
		}
		return nil
	})
	res := update[*plan.Plan, plan.Event](s, plan.New, plan.Stream("acme"), "paul", func(p *plan.Plan) error {
		return p.TagVersion("Budget FY28", "paul")
	})
	// Sales commits: a little below target, region by region.
	update[*commit.Book, commit.Event](s, commit.New, commit.Stream("acme"), "ana", func(b *commit.Book) error {
		span := fiscal.Span{First: horizon, Last: horizon.Add(11), Kind: fiscal.KindYear}
		for k, t := range targets[:7] {
			amt := decimal.FromInt(int64(math.Round(t.v.Float64()*(0.95+0.01*float64(k%4))/1000)) * 1000)
			if err := b.Submit(commit.Submitted{ID: fmt.Sprintf("c-%d", k+1), Plan: "acme", Node: t.n, Metric: "revenue", Span: span,
				Amount: amt, Confidence: commit.ConfidenceCommit, Comment: "Q4 pipeline review", By: "ana"}); err != nil {
				return err
			}
		}
		return nil
	})
	return res.Position
}

// publish fits automatic ETS to the first n months of every cell (and of
// every aggregate when all is set) and publishes the forecasts of h months
// from first.
func (s *seeder) publish(run string, history map[string][]float64, n int, first fiscal.Period, h int, all bool) {
	if s.err != nil {
		return
	}
	series := map[string][]float64{}
	nodes := map[string]dimension.Node{}
	regionsOf := map[string][]string{"world": leafReg, "emea": {"dach", "uk"}, "americas": {"us", "brazil"}}
	for _, r := range leafReg {
		regionsOf[r] = []string{r}
	}
	productsOf := map[string][]string{"all": leafProd, "pumps": {"pumps"}, "valves": {"valves"}}
	for r, rs := range regionsOf {
		for p, ps := range productsOf {
			leaf := len(rs) == 1 && len(ps) == 1
			if !leaf && !all {
				continue
			}
			y := make([]float64, n)
			for _, rr := range rs {
				for _, pp := range ps {
					for t := range n {
						y[t] += history[rr+pp][t]
					}
				}
			}
			var cs []string
			if r != "world" {
				cs = append(cs, "region", r)
			}
			if p != "all" {
				cs = append(cs, "product", p)
			}
			nd := node(cs...)
			series[nd.String()] = y
			nodes[nd.String()] = nd
		}
	}
	var out []forecast.Series
	models := map[string]string{}
	for key, y := range series {
		m, err := forecasting.Auto(y, 12, forecasting.AutoOptions{})
		if err != nil {
			s.err = fmt.Errorf("viewtest: forecasting %s: %w", key, err)
			return
		}
		f, err := m.Forecast(h, []float64{80, 95})
		if err != nil {
			s.err = err
			return
		}
		i80, _ := f.Interval(80)
		i95, _ := f.Interval(95)
		out = append(out, forecast.Series{Node: nodes[key], First: first, Mean: f.Mean, Lo80: i80.Lower, Hi80: i80.Upper,
			Lo95: i95.Lower, Hi95: i95.Upper, Model: m.Description().Name})
		models[key] = m.Description().Name
	}
	sortSeries(out)
	desc, _ := json.Marshal(map[string]any{"method": "auto-ets", "models": models})
	head, err := s.store.ReadAll(s.ctx, eventstore.Start, 1<<20)
	if err != nil {
		s.err = err
		return
	}
	pos := eventstore.Start
	if len(head) > 0 {
		pos = head[len(head)-1].Position
	}
	update[*forecast.Run, forecast.Event](s, forecast.New, forecast.Stream(run), "forecaster", func(r *forecast.Run) error {
		return r.Publish(forecast.Published{RunID: run, Plan: "acme", Metric: "revenue", DataPosition: pos.String(), Seed: 1, Model: desc, Series: out})
	})
}

func sortSeries(s []forecast.Series) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].Node.String() < s[j-1].Node.String(); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
