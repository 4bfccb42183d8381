package company

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/google/uuid"
)

// Config sizes a company and how busy its planners are.
type Config struct {
	Seed uint64

	BusinessUnits   int // flat under the root
	RegionGroups    int // the first level of regions
	RegionsPerGroup int
	ProductLines    int
	ProductsPerLine int
	Segments        int
	Metrics         int // 1 to 3: revenue, margin, units

	Start           fiscal.Period // the first month of actuals
	Months          int           // months simulated
	FiscalYearStart time.Month

	// Fractions of cells (or nodes) touched each month or quarter.
	Restatements   float64 // of last month's actuals restated each month
	Reforecast     float64 // of cells whose open month targets are revised each quarter
	Clears         float64 // of cells with a month target cleared each quarter
	ForecastCells  bool    // forecast the cells too (else only the total, the business units and BU × region group)
	ForecastEvery  int     // months between forecast runs (default 3)
	ForecastMonths int     // forecast horizon (default 12)
	DimensionChurn float64 // chance per month of a change to the dimensions
	Reallocations  int     // reallocations proposed per month
}

// Small returns a company small enough for property tests, busy enough to
// use every event type.
func Small(seed uint64) Config {
	return Config{Seed: seed, BusinessUnits: 2, RegionGroups: 2, RegionsPerGroup: 2, ProductLines: 2, ProductsPerLine: 2, Segments: 2,
		Metrics: 2, Start: fiscal.NewPeriod(2026, time.April), Months: 14, FiscalYearStart: time.April,
		Restatements: 0.1, Reforecast: 0.5, Clears: 0.05, ForecastCells: true, ForecastEvery: 2, ForecastMonths: 6,
		DimensionChurn: 0.5, Reallocations: 2}
}

// Realistic returns the company of the benchmarks: 4 business units × 8
// regions (in 2 groups) × 16 products (in 4 lines) × 4 segments = 2,048
// cells, 3 metrics, 36 months; about a million events.
func Realistic(seed uint64) Config {
	return Config{Seed: seed, BusinessUnits: 4, RegionGroups: 2, RegionsPerGroup: 4, ProductLines: 4, ProductsPerLine: 4, Segments: 4,
		Metrics: 3, Start: fiscal.NewPeriod(2025, time.April), Months: 36, FiscalYearStart: time.April,
		Restatements: 0.02, Reforecast: 0.9, Clears: 0.002, ForecastCells: true, ForecastEvery: 3, ForecastMonths: 12,
		DimensionChurn: 0.15, Reallocations: 6}
}

// Large returns a company ten times Realistic: 5 business units × 10
// regions (in 2 groups) × 40 products (in 5 lines) × 10 segments = 20,000
// cells, 3 metrics, 36 months; about ten million events.
func Large(seed uint64) Config {
	c := Realistic(seed)
	c.BusinessUnits, c.RegionGroups, c.RegionsPerGroup, c.ProductLines, c.ProductsPerLine, c.Segments = 5, 2, 5, 5, 8, 10
	return c
}

// Registry returns a registry of every domain event type.
func Registry() *eventstore.Registry {
	r := eventstore.NewRegistry()
	dimension.RegisterEvents(r)
	plan.RegisterEvents(r)
	ledger.RegisterEvents(r)
	commit.RegisterEvents(r)
	forecast.RegisterEvents(r)
	return r
}

// Log is a generated event log, held in memory (Generate).
type Log struct {
	// Events are the recorded events, positions 1, 2, … in order.
	Events []eventstore.RecordedEvent
	// Appends are the same events as they were appended, one command each,
	// to write them to a store in the same order.
	Appends []Append
	Summary
}

// Summary describes a generated log.
type Summary struct {
	// PlanID is the id of the company's plan.
	PlanID string
	// Metrics are the plan's metric ids.
	Metrics []string
	// Count is the number of events.
	Count int
	// Rejected counts the commands the aggregates refused (they record
	// nothing); a sign the generator exercises the invariants.
	Rejected int
}

// Append is one append of a command's events to a stream.
type Append struct {
	Stream   string
	Expected uint64 // the stream's version before the append
	At       time.Time
	Events   []eventstore.EventData
}

// AppendTo writes the log to s, append by append, expecting each stream at
// the version it had when generated. Before each append it calls at with
// the append's recorded time, so a store with a settable clock records the
// generated times. The store must be empty; positions then match Events'.
func (l *Log) AppendTo(ctx context.Context, s eventstore.Store, at func(time.Time)) error {
	for i, a := range l.Appends {
		if at != nil {
			at(a.At)
		}
		if _, err := s.Append(ctx, a.Stream, eventstore.Exact(a.Expected), a.Events...); err != nil {
			return fmt.Errorf("company: append %d to %q: %w", i, a.Stream, err)
		}
	}
	return nil
}

var metricDefs = []plan.Metric{
	{ID: "revenue", Name: "Net revenue", Unit: "EUR", NonNegative: true},
	{ID: "margin", Name: "Gross margin", Unit: "EUR"},
	{ID: "units", Name: "Units", Unit: "units", NonNegative: true},
}

// gen is the state of one generation.
type gen struct {
	cfg      Config
	rng      *rand.Rand
	reg      *eventstore.Registry
	emit     func(Append, []eventstore.RecordedEvent) error
	log      *Summary
	clock    time.Time
	versions map[string]uint64
	hashes   map[string][]byte
	corr     int

	dims    map[string]*dimension.Dimension
	dimIDs  []string
	plan    *plan.Plan
	ledgers map[fiscal.Period]*ledger.Ledger
	book    *commit.Book
	cal     fiscal.Calendar
	metrics []string

	base     map[dimension.Node]float64 // monthly revenue level of each cell
	cellList []dimension.Node           // the current cells; nil after a change to the dimensions
	levels   map[dimension.Node]float64 // the summed level of nodes, for the current cells
	commitN  int
	reallocN int
	runN     int
	open     []string // open reallocation ids
	currents []string // current commit ids
}

// Generate builds the log of cfg's company in memory.
func Generate(cfg Config) (*Log, error) {
	l := &Log{}
	sum, err := GenerateTo(cfg, func(a Append, events []eventstore.RecordedEvent) error {
		l.Appends = append(l.Appends, a)
		l.Events = append(l.Events, events...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	l.Summary = sum
	return l, nil
}

// GenerateTo generates the log of cfg's company and hands it to emit
// append by append, in order, as it is made: the append, and its events
// as recorded (positions 1, 2, … over the whole log, stream versions,
// hash chain, recorded times). It keeps no event once emitted, so the
// memory it needs grows with the company's size (its cells, targets and
// commits), not with the length of its log. An error from emit stops the
// generation and is returned.
func GenerateTo(cfg Config, emit func(Append, []eventstore.RecordedEvent) error) (Summary, error) {
	if cfg.Metrics < 1 || cfg.Metrics > len(metricDefs) {
		return Summary{}, fmt.Errorf("company: %d metrics (want 1 to %d)", cfg.Metrics, len(metricDefs))
	}
	if cfg.ForecastEvery <= 0 {
		cfg.ForecastEvery = 3
	}
	if cfg.ForecastMonths <= 0 {
		cfg.ForecastMonths = 12
	}
	g := &gen{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)), reg: Registry(), emit: emit,
		log: &Summary{PlanID: "corp"}, clock: cfg.Start.Start().AddDate(0, -1, 1).Add(9 * time.Hour),
		versions: map[string]uint64{}, hashes: map[string][]byte{}, dims: map[string]*dimension.Dimension{},
		ledgers: map[fiscal.Period]*ledger.Ledger{}, book: commit.New(), plan: plan.New(), base: map[dimension.Node]float64{}, levels: map[dimension.Node]float64{},
		cal: fiscal.MustCalendar(cfg.FiscalYearStart)}
	for _, m := range metricDefs[:cfg.Metrics] {
		g.metrics = append(g.metrics, m.ID)
	}
	g.log.Metrics = g.metrics
	if err := g.run(); err != nil {
		return Summary{}, err
	}
	return *g.log, nil
}

// tick advances the clock by up to max.
func (g *gen) tick(max time.Duration) {
	g.clock = g.clock.Add(time.Second + time.Duration(g.rng.Int64N(int64(max))))
}

func (g *gen) uuid() uuid.UUID {
	var u uuid.UUID
	a, b := g.rng.Uint64(), g.rng.Uint64()
	for i := range 8 {
		u[i], u[8+i] = byte(a>>(8*i)), byte(b>>(8*i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

// record runs cmd on aggregate a, whose stream is stream, and appends the
// events it recorded as one append by actor. It returns whether cmd was
// accepted.
func record[E any](g *gen, stream string, a eventstore.Aggregate[E], actor string, cmd func() error) (bool, error) {
	before := len(a.Changes())
	if err := cmd(); err != nil {
		g.log.Rejected++
		return false, nil
	}
	news := a.Changes()[before:]
	if len(news) == 0 {
		return true, nil
	}
	g.corr++
	md := eventstore.Metadata{Actor: actor, CorrelationID: fmt.Sprintf("cmd-%d", g.corr)}
	app := Append{Stream: stream, Expected: g.versions[stream], At: g.clock}
	recs := make([]eventstore.RecordedEvent, 0, len(news))
	for _, e := range news {
		data, err := g.reg.Encode(g.uuid(), e, md)
		if err != nil {
			return false, err
		}
		app.Events = append(app.Events, data)
		rec := eventstore.Seal(g.hashes[stream], stream, g.versions[stream], g.clock, data)[0]
		g.versions[stream]++
		g.hashes[stream] = rec.Hash
		g.log.Count++
		n := uint64(g.log.Count)
		rec.Position = eventstore.Position{Commit: n, Prepare: n}
		recs = append(recs, rec)
	}
	return true, g.emit(app, recs)
}

// batch runs cmds on a in one append (each command that fails records
// nothing and is skipped), at most eventstore.MaxBatch events per append.
func batch[E any](g *gen, stream string, a eventstore.Aggregate[E], actor string, cmds []func() error) error {
	for len(cmds) > 0 {
		n := min(len(cmds), eventstore.MaxBatch/2) // a command may record a few events
		part := cmds[:n]
		cmds = cmds[n:]
		if _, err := record(g, stream, a, actor, func() error {
			for _, c := range part {
				if err := c(); err != nil {
					g.log.Rejected++
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

func (g *gen) dimCmd(id, actor string, cmd func(d *dimension.Dimension) error) error {
	d := g.dims[id]
	if d == nil {
		d = dimension.New()
		g.dims[id] = d
	}
	g.cellList, g.levels = nil, map[dimension.Node]float64{}
	_, err := record(g, dimension.Stream(id), d, actor, func() error { return cmd(d) })
	return err
}

func (g *gen) planCmd(actor string, cmd func(p *plan.Plan) error) (bool, error) {
	return record(g, plan.Stream(g.log.PlanID), g.plan, actor, func() error { return cmd(g.plan) })
}

func (g *gen) ledger(p fiscal.Period) *ledger.Ledger {
	l := g.ledgers[p]
	if l == nil {
		l = ledger.New(p)
		g.ledgers[p] = l
	}
	return l
}

// cells returns the current cells: every combination of active leaves.
func (g *gen) cells() []dimension.Node {
	if g.cellList != nil {
		return g.cellList
	}
	out := []dimension.Node{dimension.Total}
	for _, id := range g.dimIDs {
		d := g.dims[id]
		leaves := d.Leaves(d.Root())
		var next []dimension.Node
		for _, n := range out {
			for _, l := range leaves {
				next = append(next, must(n.With(id, l)))
			}
		}
		out = next
	}
	for _, c := range out {
		g.level(c)
	}
	g.cellList = out
	return out
}

// levelOf returns the summed level of the current cells node contains.
func (g *gen) levelOf(n dimension.Node) float64 {
	if v, ok := g.levels[n]; ok {
		return v
	}
	if b, ok := g.base[n]; ok && len(n.Coords()) == len(g.dimIDs) {
		return b // a cell contains only itself
	}
	v := 0.0
	for _, c := range g.cells() {
		if g.contains(n, c) {
			v += g.level(c)
		}
	}
	g.levels[n] = v
	return v
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// level returns the monthly revenue level of a cell, drawn once.
func (g *gen) level(cell dimension.Node) float64 {
	b, ok := g.base[cell]
	if !ok {
		b = math.Exp(7 + 2*g.rng.Float64()) // about 1,100 to 8,100 a month
		g.base[cell] = b
	}
	return b
}

// seasonal returns the expected amount of metric for a base level in p.
func (g *gen) expected(base float64, metric string, p fiscal.Period) float64 {
	season := 1 + 0.15*math.Sin(2*math.Pi*float64(p.Month())/12)
	growth := math.Pow(1.004, float64(p-g.cfg.Start))
	v := base * season * growth
	switch metric {
	case "margin":
		return v * 0.32
	case "units":
		return v / 45
	}
	return v
}

// amount rounds v to the metric's precision.
func amount(metric string, v float64) decimal.Decimal {
	if metric == "units" {
		return decimal.New(int64(math.Round(v)), 0)
	}
	return decimal.New(int64(math.Round(v*100)), 2)
}

func (g *gen) noise(sd float64) float64 { return 1 + sd*g.rng.NormFloat64() }

var (
	actors     = []string{"anna.cfo", "ben.controller", "carla.fpa", "dev.sales-emea", "erin.sales-amer", "finn.sales-apac"}
	approvers  = []string{"board", "anna.cfo"}
	salesLeads = []string{"dev.sales-emea", "erin.sales-amer", "finn.sales-apac"}
)

func (g *gen) pick(xs []string) string { return xs[g.rng.IntN(len(xs))] }

func (g *gen) run() error {
	if err := g.define(); err != nil {
		return err
	}
	start := g.cfg.Start
	if ok, err := g.planCmd("anna.cfo", func(p *plan.Plan) error {
		var ms []plan.Metric
		ms = append(ms, metricDefs[:g.cfg.Metrics]...)
		return p.Open(plan.Opened{ID: g.log.PlanID, Name: "Corporate plan", Currency: "EUR", Metrics: ms, FiscalYearStart: g.cfg.FiscalYearStart,
			Dimensions: g.dimIDs, HorizonStart: start, HorizonMonths: plan.DefaultHorizonMonths})
	}); err != nil || !ok {
		return fmt.Errorf("company: open plan: %v", err)
	}
	if err := g.budget(g.cal.Year(start)); err != nil {
		return err
	}
	for m := range g.cfg.Months {
		p := start.Add(m)
		g.clock = later(g.clock, p.Start().Add(9*time.Hour))
		if err := g.month(p); err != nil {
			return err
		}
	}
	// Last, the plan gets a better name, and a plan opened by mistake is
	// discarded, as a planner fixing mistakes would.
	if _, err := g.planCmd("carla.fpa", func(p *plan.Plan) error { return p.Rename("Corporate plan (rolling)", "carla.fpa") }); err != nil {
		return err
	}
	draft := plan.New()
	_, err := record(g, plan.Stream(g.log.PlanID+"-draft"), draft, "carla.fpa", func() error {
		return errors.Join(draft.Open(plan.Opened{ID: g.log.PlanID + "-draft", Name: "Corporate plan (draft)", Currency: "EUR",
			Metrics: metricDefs[:g.cfg.Metrics], FiscalYearStart: g.cfg.FiscalYearStart, Dimensions: g.dimIDs, HorizonStart: g.cfg.Start}),
			draft.Discard("opened twice by mistake", "carla.fpa"))
	})
	return err
}

// define records the dimensions.
func (g *gen) define() error {
	type def struct{ id, name, root, rootName string }
	defs := []def{{"bu", "Business unit", "group", "Group"}, {"region", "Region", "world", "World"}, {"product", "Product", "all", "All products"}, {"segment", "Segment", "market", "Market"}}
	for _, d := range defs {
		g.dimIDs = append(g.dimIDs, d.id)
		if err := g.dimCmd(d.id, "carla.fpa", func(x *dimension.Dimension) error { return x.Define(d.id, d.name, d.root, d.rootName) }); err != nil {
			return err
		}
	}
	add := func(dim string, cmds func(d *dimension.Dimension) error) error {
		return g.dimCmd(dim, "carla.fpa", cmds)
	}
	if err := add("bu", func(d *dimension.Dimension) error {
		for i := range g.cfg.BusinessUnits {
			if err := d.Add(fmt.Sprintf("bu%d", i+1), fmt.Sprintf("Business unit %d", i+1), "group"); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := add("region", func(d *dimension.Dimension) error {
		for i := range g.cfg.RegionGroups {
			grp := fmt.Sprintf("rg%d", i+1)
			if err := d.Add(grp, fmt.Sprintf("Region group %d", i+1), "world"); err != nil {
				return err
			}
			for j := range g.cfg.RegionsPerGroup {
				if err := d.Add(fmt.Sprintf("r%d-%d", i+1, j+1), fmt.Sprintf("Region %d.%d", i+1, j+1), grp); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := add("product", func(d *dimension.Dimension) error {
		for i := range g.cfg.ProductLines {
			line := fmt.Sprintf("pl%d", i+1)
			if err := d.Add(line, fmt.Sprintf("Product line %d", i+1), "all"); err != nil {
				return err
			}
			for j := range g.cfg.ProductsPerLine {
				if err := d.Add(fmt.Sprintf("p%d-%d", i+1, j+1), fmt.Sprintf("Product %d.%d", i+1, j+1), line); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		return err
	}
	return add("segment", func(d *dimension.Dimension) error {
		for i := range g.cfg.Segments {
			if err := d.Add(fmt.Sprintf("s%d", i+1), fmt.Sprintf("Segment %d", i+1), "market"); err != nil {
				return err
			}
		}
		return nil
	})
}

// upper returns the nodes above cells the plan targets at quarter and year
// level: each business unit, each business unit × region group, and the
// total.
func (g *gen) upper() []dimension.Node {
	out := []dimension.Node{dimension.Total}
	bu, region := g.dims["bu"], g.dims["region"]
	for _, b := range bu.Children("group") {
		n := must(dimension.Total.With("bu", b))
		out = append(out, n)
		for _, rg := range region.Children("world") {
			out = append(out, must(n.With("region", rg)))
		}
	}
	return out
}

// budget records the budget of fiscal year fy: month targets for every
// cell, quarter targets for business unit × region group, year targets for
// business units and the total; then tags and approves it.
func (g *gen) budget(fy int) error {
	year := g.cal.FiscalYear(fy)
	actor := "carla.fpa"
	reason := fmt.Sprintf("Budget FY%d", fy)
	var cmds []func() error
	cells := g.cells()
	for _, metric := range g.metrics {
		for _, c := range cells {
			lvl := g.level(c)
			for _, p := range year.Periods() {
				amt := amount(metric, g.expected(lvl, metric, p)*1.05*g.noise(0.03))
				cmds = append(cmds, func() error { return g.plan.SetTarget(c, metric, fiscal.Month(p), amt, reason, actor) })
			}
		}
		for _, n := range g.upper() {
			total := 0.0
			for _, p := range year.Periods() {
				total += g.expected(g.levelOf(n), metric, p) * 1.05
			}
			if n.IsTotal() || len(n.Coords()) == 1 {
				amt := amount(metric, total*g.noise(0.01))
				cmds = append(cmds, func() error { return g.plan.SetTarget(n, metric, year, amt, reason, actor) })
				continue
			}
			for q := 1; q <= 4; q++ {
				amt := amount(metric, total/4*g.noise(0.02))
				span := g.cal.FiscalQuarter(fy, q)
				cmds = append(cmds, func() error { return g.plan.SetTarget(n, metric, span, amt, reason, actor) })
			}
		}
	}
	if err := batch(g, plan.Stream(g.log.PlanID), eventstore.Aggregate[plan.Event](g.plan), actor, cmds); err != nil {
		return err
	}
	return g.tagAndApprove(reason)
}

func (g *gen) contains(n, cell dimension.Node) bool {
	ds := make([]*dimension.Dimension, 0, len(g.dimIDs))
	for _, id := range g.dimIDs {
		ds = append(ds, g.dims[id])
	}
	return n.Contains(cell, ds...)
}

func (g *gen) tagAndApprove(tag string) error {
	g.tick(time.Hour)

	if _, err := g.planCmd("anna.cfo", func(p *plan.Plan) error { return p.TagVersion(tag, "anna.cfo") }); err != nil {
		return err
	}
	v, _ := g.plan.Tag(tag)
	g.tick(24 * time.Hour)
	if g.rng.IntN(4) == 0 { // a stale approval, refused: the numbers changed since the tag
		_, err := g.planCmd("board", func(p *plan.Plan) error { return p.ApproveVersion(1, "", "board", "late") })
		if err != nil {
			return err
		}
	}
	_, err := g.planCmd("board", func(p *plan.Plan) error { return p.ApproveVersion(v, tag, "board", "approved in the board meeting") })
	return err
}
