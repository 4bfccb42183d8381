package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
)

// demoCompany is the made-up company `concord demo` builds: Northwind
// Industrial, four business units selling eight product lines in six
// regions, with a fiscal year starting in April. Everything in it derives
// from the seed and the demo's "today", so two demos built on the same day
// with the same seed are identical.
type demoCompany struct {
	calendar   fiscal.Calendar
	dimensions []demoDimension
	metrics    []demoMetric
	// history is the closed periods with actuals: at least 36 months up to
	// the month before today.
	history fiscal.Span
	// cells lists every bottom-level series: one leaf per dimension.
	cells []demoCell
}

type demoDimension struct {
	id, name         string
	rootID, rootName string
	members          []demoMember // parents before children
}

type demoMember struct{ id, name, parent string }

type demoMetric struct {
	id, name, unit string
}

// demoCell is one business unit × region × product line, with its monthly
// actuals per metric over the history.
type demoCell struct {
	bu, region, product string
	intermittent        bool
	revenue, margin     []decimal.Decimal // one per history period
	units               []decimal.Decimal
}

var demoBUs = []demoMember{
	{"industrial", "Industrial", "all-bu"}, {"consumer", "Consumer", "all-bu"},
	{"healthcare", "Healthcare", "all-bu"}, {"energy", "Energy", "all-bu"},
}

var demoRegions = []demoMember{
	{"emea", "EMEA", "world"}, {"americas", "Americas", "world"}, {"apac", "APAC", "world"},
	{"dach", "DACH", "emea"}, {"nordics", "Nordics", "emea"}, {"uki", "UK & Ireland", "emea"},
	{"north-america", "North America", "americas"}, {"latam", "Latin America", "americas"},
	{"asia-pacific", "Asia Pacific", "apac"},
}

var demoProducts = []demoMember{
	{"hardware", "Hardware", "all-products"}, {"solutions", "Solutions", "all-products"},
	{"pumps", "Pumps", "hardware"}, {"valves", "Valves", "hardware"}, {"motors", "Motors", "hardware"},
	{"sensors", "Sensors", "hardware"}, {"controls", "Controls", "solutions"}, {"filters", "Filters", "hardware"},
	{"services", "Field services", "solutions"}, {"software", "Software", "solutions"},
}

// leaves returns the members that are nobody's parent.
func leaves(ms []demoMember) []demoMember {
	parent := map[string]bool{}
	for _, m := range ms {
		parent[m.parent] = true
	}
	var out []demoMember
	for _, m := range ms {
		if !parent[m.id] {
			out = append(out, m)
		}
	}
	return out
}

// newDemoCompany builds the company as known on today, from seed.
func newDemoCompany(today time.Time, seed uint64) demoCompany {
	cal := fiscal.MustCalendar(time.April)
	last := fiscal.PeriodOf(today).Add(-1)
	// History from the start of the fiscal year three years before the
	// current one: at least 36 months, always whole fiscal years at the start.
	first := cal.YearStart(cal.Year(last) - 3)
	c := demoCompany{
		calendar: cal,
		dimensions: []demoDimension{
			{id: "bu", name: "Business unit", rootID: "all-bu", rootName: "All business units", members: demoBUs},
			{id: "region", name: "Region", rootID: "world", rootName: "World", members: demoRegions},
			{id: "product", name: "Product line", rootID: "all-products", rootName: "All product lines", members: demoProducts},
		},
		metrics: []demoMetric{
			{"net-revenue", "Net revenue", "EUR"},
			{"gross-margin", "Gross margin", "EUR"},
			{"units", "Units", "units"},
		},
		history: fiscal.Span{First: first, Last: last, Kind: fiscal.KindRange},
	}
	rng := rand.New(rand.NewPCG(seed, 0x636f6e636f7264)) // "concord"
	buScale := map[string]float64{"industrial": 1.6, "consumer": 1.0, "healthcare": 0.8, "energy": 1.2}
	regionScale := map[string]float64{"dach": 1.3, "nordics": 0.5, "uki": 0.7, "north-america": 1.8, "latam": 0.45, "asia-pacific": 1.1}
	price := map[string]float64{"pumps": 1800, "valves": 420, "motors": 950, "sensors": 160, "controls": 2600, "filters": 75, "services": 1200, "software": 5400}
	marginRate := map[string]float64{"pumps": 0.34, "valves": 0.38, "motors": 0.31, "sensors": 0.46, "controls": 0.52, "filters": 0.41, "services": 0.55, "software": 0.78}
	for _, bu := range demoBUs {
		for _, region := range leaves(demoRegions) {
			for _, product := range leaves(demoProducts) {
				cell := demoCell{bu: bu.id, region: region.id, product: product.id}
				// A few slow-moving lines: big-ticket items in small markets.
				cell.intermittent = (product.id == "controls" || product.id == "software") &&
					(region.id == "latam" || region.id == "nordics") && bu.id != "industrial"
				level := 40_000 * buScale[bu.id] * regionScale[region.id] * (0.6 + 0.8*rng.Float64())
				growth := 0.01 + 0.07*rng.Float64() // per year
				amplitude := 0.05 + 0.2*rng.Float64()
				phase := rng.Float64() * 2 * math.Pi
				for i, p := range c.history.Periods() {
					years := float64(i) / 12
					fm := float64(cal.MonthOfYear(p))
					season := 1 + amplitude*math.Sin(2*math.Pi*fm/12+phase)
					if cal.MonthOfYear(p) == 12 { // the fiscal year-end push
						season += 0.15
					}
					rev := level * math.Pow(1+growth, years) * season * (1 + 0.06*rng.NormFloat64())
					if cell.intermittent {
						rev = 0
						if rng.Float64() < 0.25 {
							rev = level * (1.5 + 2*rng.Float64())
						}
					}
					rev = math.Max(rev, 0)
					units := math.Round(rev / price[product.id])
					rev = units * price[product.id] * (0.97 + 0.06*rng.Float64()) // price realisation
					margin := rev * marginRate[product.id] * (1 + 0.05*rng.NormFloat64())
					cell.revenue = append(cell.revenue, cents(rev))
					cell.margin = append(cell.margin, cents(margin))
					cell.units = append(cell.units, decimal.FromInt(int64(units)))
				}
				c.cells = append(c.cells, cell)
			}
		}
	}
	return c
}

// cents rounds v to a decimal with two places.
func cents(v float64) decimal.Decimal {
	return decimal.New(int64(math.Round(v*100)), 2)
}

// series returns the history of one metric of a cell.
func (c demoCell) series(metric string) []decimal.Decimal {
	switch metric {
	case "net-revenue":
		return c.revenue
	case "gross-margin":
		return c.margin
	case "units":
		return c.units
	}
	panic(fmt.Sprintf("demo: unknown metric %q", metric))
}

// node returns the cell's node text.
func (c demoCell) node() string {
	return "bu=" + c.bu + ";product=" + c.product + ";region=" + c.region
}

// regionParent maps each demo region to its parent.
var regionParent = func() map[string]string {
	parent := map[string]string{}
	for _, m := range demoRegions {
		parent[m.id] = m.parent
	}
	return parent
}()

// regionUnder reports whether region is ancestor or equal to leaf.
func (c demoCompany) regionUnder(leaf, region string) bool {
	for r := leaf; r != ""; r = regionParent[r] {
		if r == region {
			return true
		}
	}
	return false
}

// fyTotal returns the revenue, margin or units of fiscal year fy summed over
// the cells keep accepts, scaled up to twelve months when only part of the
// year has closed (and 0 before the history).
func (c demoCompany) fyTotal(fy int, metric string, keep func(demoCell) bool) float64 {
	span := c.calendar.FiscalYear(fy)
	var total float64
	months := 0
	for i, p := range c.history.Periods() {
		if !span.Contains(p) {
			continue
		}
		months++
		for _, cell := range c.cells {
			if keep(cell) {
				total += cell.series(metric)[i].Float64()
			}
		}
	}
	if months == 0 {
		return 0
	}
	return total * 12 / float64(months)
}

// mustNodes parses node texts known to be valid.
func mustNodes(texts ...string) []dimension.Node {
	out := make([]dimension.Node, len(texts))
	for i, t := range texts {
		out[i] = dimension.MustParseNode(t)
	}
	return out
}
