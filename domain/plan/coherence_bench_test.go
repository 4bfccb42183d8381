package plan

import (
	"fmt"
	"testing"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
)

// shape sizes a company the way projections/company does: business units,
// region groups × regions, product lines × products, segments, metrics,
// fiscal years budgeted.
type shape struct {
	name                                              string
	bus, groups, regions, lines, products, segs, mets int
	years                                             int
}

// targetSet returns a plan with the targets of a company of shape s, as
// projections/company budgets it: month targets for every cell, quarter
// targets for business unit × region group, year targets for business
// units and the total (each the sum of its business units), and its
// dimensions.
func targetSet(b *testing.B, s shape) (*Plan, []*dimension.Dimension) {
	b.Helper()
	bu, region, product, segment := dimension.New(), dimension.New(), dimension.New(), dimension.New()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(bu.Define("bu", "Business unit", "group", "Group"))
	must(region.Define("region", "Region", "world", "World"))
	must(product.Define("product", "Product", "all", "All products"))
	must(segment.Define("segment", "Segment", "any", "Any segment"))
	var bus, groups, regions, products, segs []string
	for i := range s.bus {
		id := fmt.Sprintf("bu%d", i)
		must(bu.Add(id, id, "group"))
		bus = append(bus, id)
	}
	for g := range s.groups {
		gid := fmt.Sprintf("rg%d", g)
		must(region.Add(gid, gid, "world"))
		groups = append(groups, gid)
		for r := range s.regions {
			id := fmt.Sprintf("r%d-%d", g, r)
			must(region.Add(id, id, gid))
			regions = append(regions, id)
		}
	}
	for l := range s.lines {
		lid := fmt.Sprintf("pl%d", l)
		must(product.Add(lid, lid, "all"))
		for p := range s.products {
			id := fmt.Sprintf("p%d-%d", l, p)
			must(product.Add(id, id, lid))
			products = append(products, id)
		}
	}
	for i := range s.segs {
		id := fmt.Sprintf("s%d", i)
		must(segment.Add(id, id, "any"))
		segs = append(segs, id)
	}
	o := opened
	o.Dimensions = []string{"bu", "region", "product", "segment"}
	o.Metrics = nil
	for m := range s.mets {
		o.Metrics = append(o.Metrics, Metric{ID: fmt.Sprintf("m%d", m), Name: "m"})
	}
	p := given(o)
	amount := decimal.FromInt(1000)
	for _, m := range o.Metrics {
		for fy := 2027; fy < 2027+s.years; fy++ {
			year := cal.FiscalYear(fy)
			for _, b := range bus {
				for _, r := range regions {
					for _, pr := range products {
						for _, sg := range segs {
							cell := dimension.MustNode(dimension.Coord{Dimension: "bu", Member: b}, dimension.Coord{Dimension: "region", Member: r},
								dimension.Coord{Dimension: "product", Member: pr}, dimension.Coord{Dimension: "segment", Member: sg})
							for _, per := range year.Periods() {
								p.Apply(TargetSet{Node: cell, Metric: m.ID, Span: fiscal.Month(per), Amount: amount, Reason: "budget", By: "cfo"})
							}
						}
					}
				}
				bun := dimension.MustNode(dimension.Coord{Dimension: "bu", Member: b})
				for _, g := range groups {
					n, _ := bun.With("region", g)
					for q := 1; q <= 4; q++ {
						p.Apply(TargetSet{Node: n, Metric: m.ID, Span: cal.FiscalQuarter(fy, q), Amount: amount, Reason: "budget", By: "cfo"})
					}
				}
				p.Apply(TargetSet{Node: bun, Metric: m.ID, Span: year, Amount: amount, Reason: "budget", By: "cfo"})
			}
			p.Apply(TargetSet{Node: dimension.Total, Metric: m.ID, Span: year, Amount: decimal.FromInt(1000 * int64(s.bus)), Reason: "budget", By: "cfo"})
		}
	}
	return p, []*dimension.Dimension{bu, region, product, segment}
}

// BenchmarkCheckCoherence times a revision of a business unit's year
// target (a part of the total, and a parent of its region groups) and its
// coherence check, on the target set of projections/company's Small and
// Realistic companies (Realistic: 4 × 8 × 16 × 4 = 2,048 cells, 3
// metrics, 3 budgeted years: 221,184 month targets).
func BenchmarkCheckCoherence(b *testing.B) {
	for _, s := range []shape{
		{name: "small", bus: 2, groups: 2, regions: 2, lines: 2, products: 2, segs: 2, mets: 2, years: 2},
		{name: "realistic", bus: 4, groups: 2, regions: 4, lines: 4, products: 4, segs: 4, mets: 3, years: 3},
	} {
		b.Run(s.name, func(b *testing.B) {
			p, dims := targetSet(b, s)
			bu0 := dimension.MustParseNode("bu=bu0")
			year := cal.FiscalYear(2027)
			b.ResetTimer()
			for range b.N {
				p.Apply(TargetRevised{Node: bu0, Metric: "m0", Span: year, To: decimal.FromInt(1000)}) // coherent again
				p.changes = nil
				if err := p.ReviseTarget(bu0, "m0", year, decimal.FromInt(2000), "stretch", "cfo"); err != nil {
					b.Fatal(err)
				}
				if err := p.CheckCoherence(dims); err == nil {
					b.Fatal("the total no longer adds up, and CheckCoherence took it")
				}
			}
			b.ReportMetric(float64(p.targets.len()), "targets")
		})
	}
}
