package view

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/plan"
)

// derivedVariance answers the variance query for derived metric d: each
// row's rowFigures are evaluated from its operands' rowFigures at the row's own
// node, as plan.Formula defines: a sum or difference of the operands' rows,
// a ratio of the operands' rows (never a sum of ratios), a product summed
// over the node's cells and months (never a product of sums).
//
// Target, actual, forecast mean, latest estimate, plan to target, gap,
// commit and best case are derived; the forecast's intervals, its standard
// deviation and P(target) are null: the operands' joint distribution is
// not modelled. A ratio whose denominator is zero is null, and the answer's
// Undefined says which node and figure.
func (st *State) derivedVariance(ctx context.Context, p *plan.Plan, d plan.DerivedMetric, q VarianceQuery) (*Variance, error) {
	if q.Cross != "" && q.Cross != "-" {
		return nil, BadParam("cross", q.Cross, "metric %s is derived (%s): its variance has no heatmap; leave cross out", d.ID, d.Formula)
	}
	side := func(id string) (*Variance, error) {
		oq := q
		oq.Metric = id
		return st.variance(ctx, p, oq)
	}
	l, err := side(d.Formula.Left)
	if err != nil {
		return nil, err
	}
	r, err := side(d.Formula.Right)
	if err != nil {
		return nil, err
	}
	out := *l
	out.Metric = d.ID
	out.Formula = d.Formula.String()
	out.Uncertainty = "none: the intervals, standard deviation and P(target) of a derived metric are not modelled (null)"
	out.Conflicts = append(append([]string{}, l.Conflicts...), r.Conflicts...)
	out.Partial = l.Partial || r.Partial
	out.Undefined = append(append([]string{}, l.Undefined...), r.Undefined...)
	out.Rows = make([]VarianceRow, len(l.Rows))
	var prod *products
	if d.Formula.Op == plan.OpProduct {
		if prod, err = st.products(ctx, p, d, p.Calendar().FiscalYear(l.Year)); err != nil {
			return nil, err
		}
	}
	for k, lr := range l.Rows {
		rr := r.Rows[k] // the same query: the same rows in the same order
		row := VarianceRow{Node: lr.Node, Member: lr.Member, Name: lr.Name, Depth: lr.Depth, HasChildren: lr.HasChildren, ParentRow: lr.ParentRow}
		var f rowFigures
		if prod != nil {
			node, err := parseNode(st, p, "node", lr.Node)
			if err != nil {
				return nil, err
			}
			f = prod.of(node)
		} else {
			f = combine(d.Formula.Op, figuresOf(lr), figuresOf(rr))
		}
		for _, name := range f.undefined {
			out.Undefined = append(out.Undefined, fmt.Sprintf("%s: %s: %s is zero", lr.Node, name, d.Formula.Right))
		}
		row.Target, row.Actual = f.target.str(), f.actual.str()
		row.Commit, row.BestCase = f.commit.str(), f.bestCase.str()
		if row.Commit != nil {
			row.CommitSource = lr.CommitSource
		}
		if f.le.ok {
			row.LatestEstimate = amountPtr(f.le.v, true)
			row.Forecast = &Interval{Mean: Amount(f.le.v), Lo80: Amount(math.NaN()), Hi80: Amount(math.NaN()), Lo95: Amount(math.NaN()), Hi95: Amount(math.NaN())}
			if f.target.ok {
				row.Gap = amountPtr(f.target.v-f.le.v, true)
			}
			if f.commit.ok {
				row.GapToCommit = amountPtr(f.commit.v-f.le.v, true)
			}
		}
		if f.p2t.ok {
			row.PlanToTarget = amountPtr(f.p2t.v, true)
		}
		out.Rows[k] = row
	}
	if out.Undefined == nil {
		out.Undefined = []string{}
	}
	return &out, nil
}

// value is a derived figure, or none.
type value struct {
	v  float64
	ok bool
}

func (v value) str() *string {
	if !v.ok {
		return nil
	}
	// At most 15 significant digits: no binary noise (0.30000000000000004).
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v.v, 'g', 15, 64), 64)
	s := strconv.FormatFloat(r, 'f', -1, 64)
	return &s
}

// rowFigures are the derivable rowFigures of one row.
type rowFigures struct {
	target, actual, le, p2t, commit, bestCase value
	undefined                                 []string // names of the rowFigures whose denominator is zero
}

func figuresOf(r VarianceRow) rowFigures {
	dec := func(s *string) value {
		if s == nil {
			return value{}
		}
		f, err := strconv.ParseFloat(*s, 64)
		return value{f, err == nil}
	}
	amt := func(a *Amount) value {
		if a == nil || math.IsNaN(float64(*a)) {
			return value{}
		}
		return value{float64(*a), true}
	}
	return rowFigures{target: dec(r.Target), actual: dec(r.Actual), le: amt(r.LatestEstimate), p2t: amt(r.PlanToTarget), commit: dec(r.Commit), bestCase: dec(r.BestCase)}
}

// apply returns l op r; a ratio over zero is none and reports undefined.
func apply(op plan.Operator, l, r value) (v value, undefined bool) {
	if !l.ok || !r.ok {
		return value{}, false
	}
	switch op {
	case plan.OpSum:
		return value{l.v + r.v, true}, false
	case plan.OpDifference:
		return value{l.v - r.v, true}, false
	case plan.OpProduct:
		return value{l.v * r.v, true}, false
	case plan.OpRatio:
		if r.v == 0 {
			return value{}, true
		}
		return value{100 * l.v / r.v, true}, false // a percentage
	}
	return value{}, false
}

// combine evaluates op figure by figure at one node.
func combine(op plan.Operator, l, r rowFigures) rowFigures {
	var out rowFigures
	for _, f := range []struct {
		name   string
		dst    *value
		lv, rv value
	}{
		{"target", &out.target, l.target, r.target},
		{"actual", &out.actual, l.actual, r.actual},
		{"latest estimate", &out.le, l.le, r.le},
		{"plan to target", &out.p2t, l.p2t, r.p2t},
		{"commit", &out.commit, l.commit, r.commit},
		{"best case", &out.bestCase, l.bestCase, r.bestCase},
	} {
		v, undefined := apply(op, f.lv, f.rv)
		*f.dst = v
		if undefined {
			out.undefined = append(out.undefined, f.name)
		}
	}
	return out
}

// products evaluates a product metric at any node as the sum over the
// node's cells and the span's months of each cell's and month's product.
type products struct {
	l, r *analysis
	p    *plan.Plan
	d    plan.DerivedMetric
	span fiscal.Span
}

func (st *State) products(ctx context.Context, p *plan.Plan, d plan.DerivedMetric, span fiscal.Span) (*products, error) {
	lm, _ := p.Metric(d.Formula.Left)
	rm, _ := p.Metric(d.Formula.Right)
	pr := &products{p: p, d: d, span: span}
	var err error
	if pr.l, err = st.analysis(ctx, p, lm, pr.span); err != nil {
		return nil, err
	}
	if pr.r, err = st.analysis(ctx, p, rm, pr.span); err != nil {
		return nil, err
	}
	return pr, nil
}

// month returns node row i's product in period q of the span: the sum over
// its cells of the product of the operands' actuals (cells recorded in
// both), of their latest estimates (actuals when closed, the coherent
// forecast when open) and of their plans to target. Both analyses share
// the plan's layout (the same cells in the same order).
func (pr *products) month(i, q int) (act, le, p2t value) {
	P := len(pr.l.periods)
	le.ok = !pr.l.beyond[q] && !pr.r.beyond[q]
	p2t.ok = le.ok && pr.l.result != nil && pr.r.result != nil
	for _, j := range pr.l.cellsOf(i) {
		if pr.l.recordedAt[j*P+q] && pr.r.recordedAt[j*P+q] {
			act.v += pr.l.actual.At(j, q) * pr.r.actual.At(j, q)
			act.ok = true
		}
		ci, _ := pr.l.index(pr.l.cells[j])
		if le.ok {
			lm, _ := pr.l.stat(ci, q, q)
			rm, _ := pr.r.stat(ci, q, q)
			le.v += lm * rm
		}
		if p2t.ok {
			lm, _ := pr.l.reconciled(ci, q, q)
			rm, _ := pr.r.reconciled(ci, q, q)
			p2t.v += lm * rm
		}
	}
	return act, le, p2t
}

// of returns node's figures over the whole span: the sums of its months'
// (month). The target is the sum of the cells' target products when every
// cell of the node has both operands' targets for the span, else none.
// Commits are not derived.
func (pr *products) of(node dimension.Node) rowFigures {
	var f rowFigures
	i, ok := pr.l.index(node)
	if !ok {
		return f
	}
	f.actual.ok, f.le.ok, f.p2t.ok, f.target.ok = true, true, true, true
	for q := range pr.l.periods {
		act, le, p2t := pr.month(i, q)
		f.actual.v += act.v
		f.le.v, f.le.ok = f.le.v+le.v, f.le.ok && le.ok
		f.p2t.v, f.p2t.ok = f.p2t.v+p2t.v, f.p2t.ok && p2t.ok
	}
	for _, j := range pr.l.cellsOf(i) {
		lt, lok := pr.p.Target(pr.l.cells[j], pr.d.Formula.Left, pr.span)
		rt, rok := pr.p.Target(pr.l.cells[j], pr.d.Formula.Right, pr.span)
		if !lok || !rok {
			f.target = value{}
			break
		}
		f.target.v += lt.Amount.Float64() * rt.Amount.Float64()
	}
	return f
}

// derivedRolling answers the rolling-plan query for derived metric d at
// nodeText, month by month, as derivedVariance does for the year: a sum,
// difference or ratio of the operands' months at the node, a product
// summed over the node's cells (products.month). The forecast's intervals
// are null; a product's phased target and commit are not derived (null).
func (st *State) derivedRolling(ctx context.Context, p *plan.Plan, d plan.DerivedMetric, nodeText string) (*Rolling, error) {
	l, err := st.rolling(ctx, p, d.Formula.Left, nodeText)
	if err != nil {
		return nil, err
	}
	r, err := st.rolling(ctx, p, d.Formula.Right, nodeText)
	if err != nil {
		return nil, err
	}
	out := *l
	out.Metric = d.ID
	out.Conflicts = append(append([]string{}, l.Conflicts...), r.Conflicts...)
	out.Targets = []TargetJSON{}
	out.Explanation = Explanation{Text: fmt.Sprintf("%s is derived: %s, month by month at this node (see the rolling plans of %s and %s for how each is made).", d.ID, d.Formula, d.Formula.Left, d.Formula.Right)}
	out.Periods = make([]RollingPeriod, len(l.Periods))
	var prod *products
	var i int
	if d.Formula.Op == plan.OpProduct {
		cal := p.Calendar()
		window := p.Horizon()
		window.First = yearsSpan(cal, window).First
		if prod, err = st.products(ctx, p, d, yearsSpan(cal, window)); err != nil {
			return nil, err
		}
		node, err := parseNode(st, p, "node", nodeText)
		if err != nil {
			return nil, err
		}
		i, _ = prod.l.index(node) // found: the operands' rolling plans answered
	}
	for k, lp := range l.Periods {
		rp := r.Periods[k] // the same window: the same months
		var f rowFigures
		if prod != nil {
			q := slices.IndexFunc(prod.l.periods, func(per fiscal.Period) bool { return per.String() == lp.Period })
			f.actual, f.le, f.p2t = prod.month(i, q)
		} else {
			f = combine(d.Formula.Op, monthFigures(lp), monthFigures(rp))
		}
		out.Periods[k] = RollingPeriod{Period: lp.Period, Closed: lp.Closed, Actual: f.actual.str(),
			Target: amountPtr(f.target.v, f.target.ok), Commit: amountPtr(f.commit.v, f.commit.ok),
			LatestEstimate: amountPtr(f.le.v, f.le.ok), PlanToTarget: amountPtr(f.p2t.v, f.p2t.ok)}
		if f.le.ok && !lp.Closed {
			out.Periods[k].Forecast = &Interval{Mean: Amount(f.le.v), Lo80: Amount(math.NaN()), Hi80: Amount(math.NaN()), Lo95: Amount(math.NaN()), Hi95: Amount(math.NaN())}
		}
	}
	return &out, nil
}

// monthFigures reads a rolling month's derivable figures.
func monthFigures(p RollingPeriod) rowFigures {
	return figuresOf(VarianceRow{Actual: p.Actual, LatestEstimate: p.LatestEstimate, PlanToTarget: p.PlanToTarget,
		Target: amountStr(p.Target), Commit: amountStr(p.Commit)})
}

func amountStr(a *Amount) *string {
	if a == nil {
		return nil
	}
	return value{float64(*a), true}.str()
}
