package company

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
)

// month simulates what happens in and right after period p.
func (g *gen) month(p fiscal.Period) error {
	steps := []func(fiscal.Period) error{g.churn, g.commits, g.reallocate}
	for _, s := range steps {
		g.tick(48 * time.Hour)
		if err := s(p); err != nil {
			return err
		}
	}
	// Early next month: actuals, restatements of last month, close.
	g.clock = later(g.clock, p.Add(1).Start().Add(2*24*time.Hour+8*time.Hour))
	for _, s := range []func(fiscal.Period) error{g.actuals, g.restate, g.close, g.publish} {
		g.tick(6 * time.Hour)
		if err := s(p); err != nil {
			return err
		}
	}
	if g.cal.MonthOfYear(p)%3 == 0 {
		g.tick(72 * time.Hour)
		if err := g.reforecast(p); err != nil {
			return err
		}
	}
	if g.cal.MonthOfYear(p) == 9 {
		g.tick(72 * time.Hour)
		if err := g.budget(g.cal.Year(p) + 1); err != nil {
			return err
		}
	}
	delete(g.ledgers, p.Add(-2)) // restated for the last time this month
	return nil
}

// actuals records the actuals of p: one import per business unit and
// metric.
func (g *gen) actuals(p fiscal.Period) error {
	l := g.ledger(p)
	cells := g.cells()
	for _, bu := range g.dims["bu"].Children("group") {
		for _, metric := range g.metrics {
			var rows []ledger.Row
			for _, c := range cells {
				if m, _ := c.Member("bu"); m != bu {
					continue
				}
				v := g.expected(g.level(c), metric, p) * g.noise(0.12)
				if metric != "margin" && v < 0 {
					v = 0
				}
				rows = append(rows, ledger.Row{Cell: c, Metric: metric, Period: p, Amount: amount(metric, v)})
			}
			id := fmt.Sprintf("erp-%v-%s-%s.csv", p, bu, metric)
			for len(rows) > 0 {
				n := min(len(rows), ledger.MaxRows)
				part := rows[:n]
				rows = rows[n:]
				if _, err := record(g, ledger.Stream(p), l, "erp-import", func() error { return l.Record(id+"#"+strconv.Itoa(len(rows)), part, "erp-import") }); err != nil {
					return err
				}
			}
			g.tick(time.Minute)
		}
	}
	return nil
}

// restate corrects a fraction of the actuals of earlier periods.
func (g *gen) restate(p fiscal.Period) error {
	for back := 1; back <= 2; back++ {
		l := g.ledgers[p.Add(-back)]
		if l == nil {
			continue
		}
		all := l.Actuals()
		n := int(float64(len(all)) * g.cfg.Restatements / float64(back))
		var cmds []func() error
		for range n {
			a := all[g.rng.IntN(len(all))]
			to := amount(a.Metric, a.Amount.Float64()*g.noise(0.05))
			cmds = append(cmds, func() error { return l.Restate(a.Cell, a.Metric, to, "late credit note", "ben.controller") })
		}
		if err := batch(g, ledger.Stream(l.Period()), eventstore.Aggregate[ledger.Event](l), "ben.controller", cmds); err != nil {
			return err
		}
	}
	return nil
}

// close closes p and rolls the plan's horizon past it.
func (g *gen) close(p fiscal.Period) error {
	l := g.ledger(p)
	if _, err := record(g, ledger.Stream(p), l, "ben.controller", func() error { return l.Close("ben.controller", 0, "") }); err != nil {
		return err
	}
	if g.rng.IntN(5) == 0 { // a second close is refused
		if _, err := record(g, ledger.Stream(p), l, "ben.controller", func() error { return l.Close("ben.controller", 0, "") }); err != nil {
			return err
		}
	}
	g.tick(time.Hour)
	if _, err := g.planCmd("concord/reforecast", func(x *plan.Plan) error { return x.RollHorizon(p) }); err != nil {
		return err
	}
	if int(p-g.cfg.Start)%7 != 3 { // now and then a close is reopened, then made again (no draw: the seed's log stays as it was)
		return nil
	}
	g.tick(time.Hour)
	if _, err := record(g, ledger.Stream(p), l, "ben.controller", func() error { return l.Reopen("ben.controller", "late invoices") }); err != nil {
		return err
	}
	if _, err := g.planCmd("ben.controller", func(x *plan.Plan) error { return x.ReturnHorizon(p) }); err != nil {
		return err
	}
	g.tick(time.Hour)
	if _, err := record(g, ledger.Stream(p), l, "ben.controller", func() error { return l.Close("ben.controller", 0, "") }); err != nil {
		return err
	}
	_, err := g.planCmd("concord/reforecast", func(x *plan.Plan) error { return x.RollHorizon(p) })
	return err
}

// publish publishes statistical forecasts after p closed, every
// ForecastEvery months: per metric, the reforecast the close asked for,
// one run of every node forecast (the upper nodes, and the cells when
// ForecastCells), as the reforecast process publishes it (the answers read
// the latest run of a metric and nothing older; Publish splits the series
// into parts).
func (g *gen) publish(p fiscal.Period) error {
	if int(p-g.cfg.Start)%g.cfg.ForecastEvery != 0 {
		return nil
	}
	nodes := g.upper()
	if g.cfg.ForecastCells {
		nodes = append(nodes, g.cells()...)
	}
	for _, metric := range g.metrics {
		g.runN++
		id := fmt.Sprintf("run-%d", g.runN)
		pub := forecast.Published{RunID: id, Plan: g.log.PlanID, Metric: metric, DataPosition: strconv.Itoa(g.log.Count),
			Seed: g.rng.Uint64(), Model: json.RawMessage(`{"method":"auto","candidates":["ets","theta","snaive"]}`)}
		for _, n := range nodes {
			pub.Series = append(pub.Series, g.series(n, metric, p.Add(1)))
		}
		run := forecast.New()
		if _, err := record(g, forecast.Stream(id), run, "concord/reforecast", func() error {
			return run.Request(id, g.log.PlanID, metric, fmt.Sprintf("period %v closed", p), p)
		}); err != nil {
			return err
		}
		if _, err := record(g, forecast.Stream(id), run, "concord/forecaster", func() error { return run.Publish(pub) }); err != nil {
			return err
		}
	}
	return nil
}

// series forecasts node's metric from first on.
func (g *gen) series(n dimension.Node, metric string, first fiscal.Period) forecast.Series {
	h := g.cfg.ForecastMonths
	s := forecast.Series{Node: n, First: first, Model: "ETS(M,N,M)", Mean: make([]float64, h), Lo80: make([]float64, h),
		Hi80: make([]float64, h), Lo95: make([]float64, h), Hi95: make([]float64, h)}
	lvl := g.levelOf(n)
	bias := g.noise(0.04)
	for t := range h {
		m := g.expected(lvl, metric, first.Add(t)) * bias
		sd := 0.06 * m * (1 + float64(t)/4)
		if sd < 0 {
			sd = -sd
		}
		s.Mean[t] = round2(m)
		s.Lo80[t], s.Hi80[t] = round2(m-1.2816*sd), round2(m+1.2816*sd)
		s.Lo95[t], s.Hi95[t] = round2(m-1.96*sd), round2(m+1.96*sd)
	}
	return s
}

func round2(v float64) float64 { return float64(int64(v*100)) / 100 }

// commits records sales commits for business unit × region group nodes:
// the next month and the quarter it falls in, at both confidences; and
// withdraws the odd one.
func (g *gen) commits(p fiscal.Period) error {
	next := p.Add(1)
	q := g.cal.FiscalQuarter(g.cal.Year(next), g.cal.Quarter(next))
	for _, n := range g.upper() {
		if len(n.Coords()) != 2 {
			continue
		}
		lead := g.pick(salesLeads)
		for _, metric := range g.metrics {
			if metric == "units" {
				continue
			}
			for _, sc := range []struct {
				span fiscal.Span
				conf commit.Confidence
				f    float64
			}{{fiscal.Month(next), commit.ConfidenceCommit, 0.97}, {q, commit.ConfidenceCommit, 0.96}, {q, commit.ConfidenceBestCase, 1.04}} {
				lvl := g.levelOf(n)
				v := 0.0
				for _, per := range sc.span.Periods() {
					v += g.expected(lvl, metric, per)
				}
				g.commitN++
				s := commit.Submitted{ID: fmt.Sprintf("c%d", g.commitN), Plan: g.log.PlanID, Node: n, Metric: metric, Span: sc.span,
					Amount: amount(metric, v*sc.f*g.noise(0.03)), Confidence: sc.conf, Comment: "pipeline review " + p.String(), By: lead}
				ok, err := record(g, commit.Stream(g.log.PlanID), g.book, lead, func() error { return g.book.Submit(s) })
				if err != nil {
					return err
				}
				if ok {
					g.currents = append(g.currents, s.ID)
				}
			}
		}
	}
	// Withdraw a few; some of them were superseded already and are refused.
	for range max(1, len(g.currents)/40) {
		if len(g.currents) == 0 {
			break
		}
		i := g.rng.IntN(len(g.currents))
		id := g.currents[i]
		g.currents = append(g.currents[:i], g.currents[i+1:]...)
		if _, err := record(g, commit.Stream(g.log.PlanID), g.book, "dev.sales-emea", func() error {
			return g.book.Withdraw(id, "dev.sales-emea", "deal slipped")
		}); err != nil {
			return err
		}
	}
	if len(g.currents) > 400 {
		g.currents = g.currents[len(g.currents)-400:]
	}
	return nil
}

// reallocate decides the open reallocations and proposes new ones between
// business unit × region group quarter targets.
func (g *gen) reallocate(p fiscal.Period) error {
	for _, id := range g.open {
		approve := g.rng.IntN(3) > 0
		by := g.pick(approvers)
		if _, err := g.planCmd(by, func(x *plan.Plan) error {
			if approve {
				return x.ApproveReallocation(id, by, "")
			}
			return x.RejectReallocation(id, by, "keep the regions' targets")
		}); err != nil {
			return err
		}
	}
	g.open = g.open[:0]
	next := p.Add(1)
	span := g.cal.FiscalQuarter(g.cal.Year(next), g.cal.Quarter(next))
	var pairs []dimension.Node
	for _, n := range g.upper() {
		if len(n.Coords()) == 2 {
			pairs = append(pairs, n)
		}
	}
	for range g.cfg.Reallocations {
		metric := g.metrics[g.rng.IntN(len(g.metrics))]
		a, b := pairs[g.rng.IntN(len(pairs))], pairs[g.rng.IntN(len(pairs))]
		ta, ok := g.plan.Target(a, metric, span)
		if !ok {
			continue
		}
		delta := amount(metric, ta.Amount.Float64()*0.02*g.rng.Float64())
		g.reallocN++
		id := fmt.Sprintf("ra%d", g.reallocN)
		by := g.pick(salesLeads)
		ok, err := g.planCmd(by, func(x *plan.Plan) error {
			return x.ProposeReallocation(id, metric, span, []plan.Move{{Node: a, Delta: delta.Neg()}, {Node: b, Delta: delta}}, "shift to where the pipeline is", by)
		})
		if err != nil {
			return err
		}
		if ok {
			g.open = append(g.open, id)
		}
	}
	return nil
}

// reforecast revises the open month targets of the next twelve months for
// a fraction of the cells, clears a few, then tags and approves the
// version.
func (g *gen) reforecast(p fiscal.Period) error {
	fy := g.cal.Year(p)
	tag := fmt.Sprintf("FY%d Q%d reforecast", fy, g.cal.Quarter(p))
	var cmds []func() error
	for _, c := range g.cells() {
		r := g.rng.Float64()
		for _, metric := range g.metrics {
			for per := p.Add(1); per <= p.Add(12); per++ {
				t, ok := g.plan.Target(c, metric, fiscal.Month(per))
				switch {
				case !ok:
					continue
				case r < g.cfg.Clears:
					cmds = append(cmds, func() error {
						return g.plan.ClearTarget(c, metric, fiscal.Month(per), "cell discontinued", "carla.fpa")
					})
				case r < g.cfg.Reforecast:
					to := amount(metric, t.Amount.Float64()*g.noise(0.04))
					cmds = append(cmds, func() error { return g.plan.ReviseTarget(c, metric, fiscal.Month(per), to, tag, "carla.fpa") })
				}
			}
		}
	}
	if err := batch(g, plan.Stream(g.log.PlanID), eventstore.Aggregate[plan.Event](g.plan), "carla.fpa", cmds); err != nil {
		return err
	}
	return g.tagAndApprove(tag)
}

// churn changes the dimensions now and then: a rename, a new product (and
// a mistyped one removed), a region moving to another group, a product
// retired.
func (g *gen) churn(p fiscal.Period) error {
	if g.rng.Float64() >= g.cfg.DimensionChurn {
		return nil
	}
	product, region := g.dims["product"], g.dims["region"]
	switch g.rng.IntN(4) {
	case 0:
		leaves := product.Leaves("all")
		id := leaves[g.rng.IntN(len(leaves))]
		return g.dimCmd("product", "carla.fpa", func(d *dimension.Dimension) error { return d.Rename(id, "Product "+id+" (renamed "+p.String()+")") })
	case 1:
		lines := product.Children("all")
		line := lines[g.rng.IntN(len(lines))]
		id := fmt.Sprintf("new-%v-%d", p, g.rng.IntN(1000))
		return g.dimCmd("product", "carla.fpa", func(d *dimension.Dimension) error {
			// A mistyped twin is added too and removed at once, as a
			// planner undoing a mistake would.
			return errors.Join(d.Add(id, "New product "+id, line), d.Add(id+"-typo", "New prodcut "+id, line), d.Remove(id+"-typo"))
		})
	case 2:
		groups := region.Children("world")
		if len(groups) < 2 {
			return nil
		}
		from := groups[g.rng.IntN(len(groups))]
		kids := region.Children(from)
		if len(kids) < 2 {
			return nil
		}
		id := kids[g.rng.IntN(len(kids))]
		to := groups[g.rng.IntN(len(groups))]
		return g.dimCmd("region", "carla.fpa", func(d *dimension.Dimension) error { return d.Move(id, to) }) // to == from records nothing
	default:
		leaves := product.Leaves("all")
		if len(leaves) <= 2 {
			return nil
		}
		id := leaves[g.rng.IntN(len(leaves))]
		return g.dimCmd("product", "carla.fpa", func(d *dimension.Dimension) error { return d.Retire(id) })
	}
}

// later returns the later of two times: the clock never goes back.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
