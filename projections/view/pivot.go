package view

import (
	"context"
	"math"
	"slices"
	"strings"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/plan"
)

// PivotCells is the PivotQuery.Rows that asks for every cell of the plan
// (the leaf combination of its dimensions) as a row, under the total.
const PivotCells = "cells"

// PivotQuery holds the parameters of the pivot query. Rows is "" or
// "members" for the members of Dimension (the root, then the children of
// every member of Open, a comma-separated list where "*" opens every one),
// or PivotCells for every cell of the plan.
type PivotQuery struct {
	Metric, Year, AsOf, Dimension, Open, Rows string
}

// PivotMonth is one month of the pivot's fiscal year.
type PivotMonth struct {
	Period string `json:"period"`
	Closed bool   `json:"closed"`
}

// PivotRow is one node of the pivot with its figures month by month: each
// figure list has one entry per month of the answer's Months, null where
// the node has none (as the rolling plan's months, api/COLUMNS.md).
type PivotRow struct {
	Node string `json:"node"`
	// Member is the row's member of the answer's dimension; for cells,
	// the cell's node, and "" for the total above them.
	Member      string `json:"member"`
	Name        string `json:"name"`
	Depth       int    `json:"depth"`
	Parent      string `json:"parent"` // the Member of the row above it in the tree, "" for the first row
	HasChildren bool   `json:"has_children"`
	// Actual is a closed month's recorded actual; Target and Commit are
	// phased by month; LatestEstimate is the actual of a closed month and
	// the coherent forecast of an open one, which Forecast and StdDev
	// give with its standard deviation (null for a derived metric).
	Actual         Amounts `json:"actual"`
	Target         Amounts `json:"target"`
	Commit         Amounts `json:"commit"`
	LatestEstimate Amounts `json:"latest_estimate"`
	Forecast       Amounts `json:"forecast"`
	StdDev         Amounts `json:"std_dev"`
	// Probability is P(target) of the fiscal year, as the variance table
	// answers it; null without a target or for a derived metric.
	Probability *Num `json:"probability"`
}

// Pivot is the answer of the pivot query: every row of the pivot grid in
// one answer, its figures from one analysis of the fiscal year (the one the
// variance table of that year reads).
type Pivot struct {
	Plan          string         `json:"plan"`
	Metric        string         `json:"metric"`
	Year          int            `json:"year"`
	Span          SpanJSON       `json:"span"`
	Dimension     string         `json:"dimension,omitempty"` // the rows' dimension; none for cells
	Cells         bool           `json:"cells"`               // whether the rows are the plan's cells
	ClosedThrough string         `json:"closed_through"`
	Forecast      ForecastSource `json:"forecast_source"`
	AsOf          ref            `json:"as_of"`
	Conflicts     []string       `json:"conflicts"`
	Months        []PivotMonth   `json:"months"`
	Rows          []PivotRow     `json:"rows"`
}

// Pivot answers the pivot grid in one answer: the rows the query chooses,
// each with its figures for every month of one fiscal year and the year's
// P(target). It returns a *ParamError for a bad parameter and ErrNotFound
// for an unknown plan or version.
func (s *Service) Pivot(ctx context.Context, planID string, q PivotQuery) (*Pivot, error) {
	st, err := s.state(ctx, planID, "as_of", q.AsOf)
	if err != nil {
		return nil, err
	}
	p, err := planOf(st, planID)
	if err != nil {
		return nil, err
	}
	rows, dim, err := pivotRows(st, p, q)
	if err != nil {
		return nil, err
	}
	year, err := yearOf(p, q.Year)
	if err != nil {
		return nil, err
	}
	out, err := st.pivot(ctx, p, q.Metric, year, rows)
	if err != nil {
		return nil, err
	}
	out.Dimension, out.Cells = dim, q.Rows == PivotCells
	return out, nil
}

// pivotRows lists the rows of q without their figures, in tree order, and
// the dimension they are members of ("" for cells).
func pivotRows(st *State, p *plan.Plan, q PivotQuery) ([]PivotRow, string, error) {
	dims := make([]*dimension.Dimension, len(p.Dimensions()))
	for k, id := range p.Dimensions() {
		if dims[k] = st.dims[id]; dims[k] == nil {
			return nil, "", errNoDimensions
		}
	}
	switch q.Rows {
	case PivotCells:
		total := PivotRow{Name: "Total", HasChildren: true}
		return append([]PivotRow{total}, cellRows(st, dims)...), "", nil
	case "", "members":
	default:
		return nil, "", BadParam("rows", q.Rows, "want members or %s", PivotCells)
	}
	dimID := q.Dimension
	if dimID == "" {
		dimID = p.Dimensions()[0]
	}
	d := st.dims[dimID]
	if d == nil || !containsStr(p.Dimensions(), dimID) {
		return nil, "", BadParam("dimension", dimID, "not a dimension of plan %s", p.ID())
	}
	open := map[string]bool{d.Root(): q.Open == ""}
	for _, m := range strings.Split(q.Open, ",") {
		open[m] = true
	}
	var rows []PivotRow
	var walk func(id, parent string, depth int)
	walk = func(id, parent string, depth int) {
		m, _ := d.Member(id)
		kids := d.Children(id)
		node, _ := dimension.NewNode(dimension.Coord{Dimension: dimID, Member: id})
		if id == d.Root() {
			node = dimension.Node{}
		}
		rows = append(rows, PivotRow{Node: node.String(), Member: id, Name: m.Name, Depth: depth, Parent: parent, HasChildren: len(kids) > 0})
		if open["*"] || open[id] {
			for _, k := range kids {
				walk(k, id, depth+1)
			}
		}
	}
	walk(d.Root(), "", 0)
	return rows, dimID, nil
}

// cellRows returns a row per cell of dims (every combination of their
// active leaves), in the order of the dimensions' members, under the total.
func cellRows(st *State, dims []*dimension.Dimension) []PivotRow {
	leaves := make([][]string, len(dims))
	for k, d := range dims {
		var walk func(id string)
		walk = func(id string) {
			kids := d.Children(id)
			if len(kids) == 0 {
				leaves[k] = append(leaves[k], id)
			}
			for _, c := range kids {
				walk(c)
			}
		}
		walk(d.Root())
	}
	var rows []PivotRow
	coords := make([]dimension.Coord, len(dims))
	var combine func(k int)
	combine = func(k int) {
		if k == len(dims) {
			node := dimension.MustNode(coords...)
			rows = append(rows, PivotRow{Node: node.String(), Member: node.String(), Name: label(st, node), Depth: 1})
			return
		}
		for _, m := range leaves[k] {
			coords[k] = dimension.Coord{Dimension: dims[k].ID(), Member: m}
			combine(k + 1)
		}
	}
	combine(0)
	return rows
}

// pivot fills rows with metric's figures over fiscal year year: a
// measured metric's from its analysis of the year, a derived metric's
// from its operands' (derivedPivot).
func (st *State) pivot(ctx context.Context, p *plan.Plan, metricID string, year int, rows []PivotRow) (*Pivot, error) {
	if d, ok := p.DerivedMetric(metricID); ok {
		return st.derivedPivot(ctx, p, d, year, rows)
	}
	metric, err := metricOf(p, metricID)
	if err != nil {
		return nil, err
	}
	cal := p.Calendar()
	span := cal.FiscalYear(year)
	a, err := st.analysis(ctx, p, metric, span)
	if err != nil {
		return nil, err
	}
	out := &Pivot{Plan: p.ID(), Metric: metric.ID, Year: year, Span: spanJSON(cal, span), ClosedThrough: a.closedThrough(),
		Forecast: a.source(0, len(a.periods)-1), AsOf: refOf(st, ""), Conflicts: a.conflicts, Months: pivotMonths(a.periods, a.closed)}
	if out.Conflicts == nil {
		out.Conflicts = []string{}
	}
	rc := a.rowCommits()
	for k := range rows {
		node, err := parseNode(st, p, "node", rows[k].Node)
		if err != nil {
			return nil, err
		}
		a.pivotRow(&rows[k], node, span, rc)
	}
	out.Rows = rows
	return out, nil
}

// pivotMonths lists periods, the first closed of them closed.
func pivotMonths(periods []fiscal.Period, closed int) []PivotMonth {
	out := make([]PivotMonth, len(periods))
	for q, per := range periods {
		out[q] = PivotMonth{Period: per.String(), Closed: q < closed}
	}
	return out
}

// pivotRow fills r with node's figures in the analysis a of fiscal year
// span: month by month as the rolling plan computes them, and the year's
// P(target) as the variance table does.
func (a *analysis) pivotRow(r *PivotRow, node dimension.Node, span fiscal.Span, rc rowCommits) {
	P := len(a.periods)
	r.Actual, r.Target, r.Commit = nans(P), nans(P), nans(P)
	r.LatestEstimate, r.Forecast, r.StdDev = nans(P), nans(P), nans(P)
	i, ok := a.index(node)
	if !ok {
		return
	}
	targets := a.monthly(i, func(sp fiscal.Span) (decimal.Decimal, bool) {
		t, ok := a.plan.Target(node, a.metric.ID, sp)
		return t.Amount, ok
	})
	commits := a.monthly(i, func(sp fiscal.Span) (decimal.Decimal, bool) {
		c, ok := rc.commit.resolve(node, sp)
		return c.amount, ok
	})
	for q := range P {
		r.Target[q], r.Commit[q] = Amount(targets[q]), Amount(commits[q])
		if v, ok := a.recorded(i, q, q); ok {
			r.Actual[q] = Amount(v.Float64())
		}
		if a.beyond[q] {
			continue // nothing forecasts this month: no figure rather than zero
		}
		mean, sd := a.stat(i, q, q)
		r.LatestEstimate[q] = Amount(a.latest(i, q, q, mean))
		if q >= a.closed {
			r.Forecast[q], r.StdDev[q] = Amount(mean), Amount(sd)
		}
	}
	r.Probability = a.varianceRow(node, span, rc).Probability
}

// Amounts is a list of amounts, encoded as a JSON array of Amount (null
// for NaN) in one piece: a pivot of every cell holds hundreds of thousands.
type Amounts []Amount

// MarshalJSON implements json.Marshaler.
func (as Amounts) MarshalJSON() ([]byte, error) {
	if as == nil {
		return []byte("null"), nil
	}
	out := make([]byte, 0, 2+len(as)*12)
	out = append(out, '[')
	for k, a := range as {
		if k > 0 {
			out = append(out, ',')
		}
		out = a.appendJSON(out)
	}
	return append(out, ']'), nil
}

// nans returns n amounts, each none (NaN, encoded null).
func nans(n int) Amounts {
	out := make(Amounts, n)
	for k := range out {
		out[k] = Amount(math.NaN())
	}
	return out
}

// derivedPivot fills rows with derived metric d's figures, month by month
// as derivedRolling evaluates them from its operands: a sum, difference
// or ratio of the operands' months at the row's node, a product summed
// over the node's cells (products.month). The forecast is the latest
// estimate, without a standard deviation; P(target) is null.
func (st *State) derivedPivot(ctx context.Context, p *plan.Plan, d plan.DerivedMetric, year int, rows []PivotRow) (*Pivot, error) {
	l, err := st.pivot(ctx, p, d.Formula.Left, year, slices.Clone(rows))
	if err != nil {
		return nil, err
	}
	r, err := st.pivot(ctx, p, d.Formula.Right, year, slices.Clone(rows))
	if err != nil {
		return nil, err
	}
	var prod *products
	if d.Formula.Op == plan.OpProduct {
		if prod, err = st.products(ctx, p, d, p.Calendar().FiscalYear(year)); err != nil {
			return nil, err
		}
	}
	out := *l
	out.Metric = d.ID
	out.Conflicts = append(append([]string{}, l.Conflicts...), r.Conflicts...)
	P := len(out.Months)
	for k := range rows {
		row, lr, rr := &rows[k], &l.Rows[k], &r.Rows[k] // the same rows in the same order
		row.Actual, row.Target, row.Commit = nans(P), nans(P), nans(P)
		row.LatestEstimate, row.Forecast, row.StdDev = nans(P), nans(P), nans(P)
		i := -1
		if prod != nil {
			node, err := parseNode(st, p, "node", row.Node)
			if err != nil {
				return nil, err
			}
			if j, ok := prod.l.index(node); ok {
				i = j
			}
		}
		for q := range P {
			var f rowFigures
			switch {
			case prod == nil:
				f = combine(d.Formula.Op, lr.figures(q), rr.figures(q))
			case i >= 0:
				f.actual, f.le, _ = prod.month(i, q)
			}
			row.Actual[q], row.Target[q], row.Commit[q] = f.actual.amount(), f.target.amount(), f.commit.amount()
			row.LatestEstimate[q] = f.le.amount()
			if !out.Months[q].Closed {
				row.Forecast[q] = f.le.amount()
			}
		}
	}
	out.Rows = rows
	return &out, nil
}

// figures reads month q of r as derivable figures.
func (r *PivotRow) figures(q int) rowFigures {
	v := func(a Amounts) value { return value{float64(a[q]), !math.IsNaN(float64(a[q]))} }
	return rowFigures{target: v(r.Target), actual: v(r.Actual), le: v(r.LatestEstimate), commit: v(r.Commit)}
}

// amount returns v as an amount, NaN (null) for none.
func (v value) amount() Amount {
	if !v.ok {
		return Amount(math.NaN())
	}
	return Amount(v.v)
}
