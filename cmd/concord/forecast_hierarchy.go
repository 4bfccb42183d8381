package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/concord-planning/concord/forecasting/reconcile"
)

// hierarchy is the structure `concord forecast --structure` forecasts: the
// dimensions as `concord reconcile` reads them and the cells found in the
// bottom-level history.
type hierarchy struct {
	in  *reconcileInput
	s   *reconcile.Structure
	dim []string // column names, one per dimension
}

// readHierarchy reads the structure file and the bottom-level history (one
// column per dimension, a period and a value column), aggregates the cells'
// history to every node of the structure and returns one series per node, in
// the structure's node order (aggregates first, then the cells). Every row
// must name a leaf in every dimension; every cell must cover the same
// periods. All problems are reported at once, each naming the file, line,
// field and value.
//
// cut, when not nil, shortens the cells' history (--end) before the cells
// are compared and summed.
func readHierarchy(structurePath string, history io.Reader, historyName, periodCol, valueCol string, cut func([]*inputSeries) error) (*hierarchy, []*inputSeries, error) {
	in := &reconcileInput{}
	if err := in.readStructure(structurePath); err != nil {
		return nil, nil, err
	}
	dimCols := in.dimColumns()
	for _, c := range []string{periodCol, valueCol} {
		if slices.Contains(dimCols, c) {
			return nil, nil, fmt.Errorf("%w: column %q is both a dimension of %s and the period or value column", errBadCSV, c, structurePath)
		}
	}
	t, err := readTableFrom(history, historyName, in.dimColumns(periodCol, valueCol)...)
	if err != nil {
		return nil, nil, err
	}
	var errs errorList
	type cellRows struct {
		members []string
		kind    periodKind
		ords    []int
		values  []float64
		lines   []int
	}
	byKey := map[string]*cellRows{}
	var cells []*cellRows
	for i := range t.rows {
		ms, ok := in.members(t, i, &errs)
		if !ok {
			continue
		}
		for d, m := range ms {
			if !in.leaf[d][m] {
				errs.add(t.errorf(i, in.dims[d].Name, "not a leaf of dimension %q: give the history of the cells (bottom level); the totals are computed", in.dims[d].Name))
				ok = false
			}
		}
		kind, ord, perr := parsePeriod(t.get(i, periodCol))
		if perr != nil {
			errs.add(t.errorf(i, periodCol, "%v", perr))
			ok = false
		}
		v, verr := t.number(i, valueCol, false)
		if verr != nil {
			errs.add(verr)
			ok = false
		}
		if !ok {
			continue
		}
		k := strings.Join(ms, "\x00")
		c := byKey[k]
		if c == nil {
			c = &cellRows{members: ms, kind: kind}
			byKey[k] = c
			cells = append(cells, c)
		} else if c.kind != kind {
			errs.add(t.errorf(i, periodCol, "format differs from the cell's earlier periods (%s)", kindNames[c.kind]))
			continue
		}
		c.ords = append(c.ords, ord)
		c.values = append(c.values, v)
		c.lines = append(c.lines, t.lines[i])
	}
	if err := errs.err(); err != nil {
		return nil, nil, err
	}
	if len(cells) == 0 {
		return nil, nil, fmt.Errorf("%w: %s: no data rows", errBadCSV, historyName)
	}
	// Order each cell by period; reject duplicates and gaps; every cell must
	// cover the periods of the first.
	series := make([]*inputSeries, len(cells))
	for j, c := range cells {
		s := &inputSeries{id: strings.Join(c.members, " × "), kind: c.kind, ords: c.ords, values: c.values}
		orderSeries(s, c.lines, func(line int, value, msg string) {
			errs.add(fmt.Errorf("%w: %s:%d: field %q (value %q): %s", errBadCSV, historyName, line, periodCol, value, msg))
		})
		series[j] = s
	}
	if err := errs.err(); err != nil {
		return nil, nil, err
	}
	if cut != nil {
		if err := cut(series); err != nil {
			return nil, nil, err
		}
	}
	first := series[0]
	span := func(s *inputSeries) string {
		return formatPeriod(s.kind, s.ords[0]) + " … " + formatPeriod(s.kind, s.ords[len(s.ords)-1])
	}
	for _, s := range series[1:] {
		if s.kind != first.kind || s.delta != first.delta || s.ords[0] != first.ords[0] || len(s.ords) != len(first.ords) {
			errs.add(fmt.Errorf("%w: %s: cell %s covers %s (%d periods) but cell %s covers %s (%d periods): every cell needs the same periods to be aggregated",
				errBadCSV, historyName, s.id, span(s), len(s.ords), first.id, span(first), len(first.ords)))
		}
	}
	if err := errs.err(); err != nil {
		return nil, nil, err
	}
	cellMembers := make([][]string, len(cells))
	for j, c := range cells {
		cellMembers[j] = c.members
	}
	st, err := reconcile.NewStructure(in.dims, cellMembers)
	if err != nil {
		return nil, nil, err
	}
	in.s = st
	T := len(first.ords)
	hist := mat.NewDense(len(cells), T, nil)
	for j, s := range series {
		hist.SetRow(j, s.values)
	}
	all := st.Aggregate(hist)
	out := make([]*inputSeries, st.NumNodes())
	for i := range out {
		members := st.Node(i)
		out[i] = &inputSeries{
			id: strings.Join(members, " × "), members: members, kind: first.kind, delta: first.delta,
			ords: first.ords, values: mat.Row(nil, i, all),
		}
	}
	return &hierarchy{in: in, s: st, dim: dimCols}, out, nil
}

// intervalVariance is the forecast variance implied by a central interval
// at level percent under normality, ((hi − lo) / 2z)²: exact for the methods
// whose intervals are normal (additive-error ETS, ARIMA, Theta, the
// benchmarks), the normal equivalent of simulated bounds otherwise. NaN when
// the interval has no width (the variance is then unknown, not zero).
func intervalVariance(lo, hi, level float64) float64 {
	sd := (hi - lo) / (2 * zQuantile(level))
	if !(sd > 0) || math.IsInf(sd, 0) {
		return math.NaN()
	}
	return sd * sd
}
