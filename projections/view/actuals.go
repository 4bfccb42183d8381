package view

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/projections/reforecast"
)

// The history a reforecast fits: which cells have actuals, of what, and
// how far the books are closed, as known in one state.

// LastClosed returns the latest period closed in s, and whether any is.
func (s *State) LastClosed() (fiscal.Period, bool) {
	var last fiscal.Period
	found := false
	for p, closed := range s.closed {
		if closed && (!found || p > last) {
			last, found = p, true
		}
	}
	return last, found
}

// CurrentCells returns the cells with an actual of any metric in s none of
// whose members is retired (or unknown) in s, ordered by their canonical
// text: a retired member has no future to forecast, and a forecast naming
// one is refused.
func (s *State) CurrentCells() []dimension.Node {
	seen := map[string]bool{}
	for _, cells := range s.actuals {
		for cell := range cells {
			seen[cell] = true
		}
	}
	texts := make([]string, 0, len(seen))
	for cell := range seen {
		texts = append(texts, cell)
	}
	slices.SortFunc(texts, strings.Compare)
	out := make([]dimension.Node, 0, len(texts))
	for _, text := range texts {
		cell, err := dimension.ParseNode(text)
		if err != nil {
			continue // recorded cells are canonical: not reached
		}
		if !slices.ContainsFunc(cell.Coords(), s.retired) {
			out = append(out, cell)
		}
	}
	return out
}

// retired reports whether member c is retired, or not known, in s.
func (s *State) retired(c dimension.Coord) bool {
	d := s.dims[c.Dimension]
	if d == nil {
		return true
	}
	m, ok := d.Member(c.Member)
	return !ok || m.Retired
}

// Actuals returns the actual of cell and metric in each month of span, and
// whether one is recorded, as known in s.
func (s *State) Actuals(cell dimension.Node, metric string, span fiscal.Span) ([]decimal.Decimal, []bool) {
	values, recorded := make([]decimal.Decimal, span.Len()), make([]bool, span.Len())
	text := cell.String()
	for k := range values {
		values[k], recorded[k] = s.actual(text, metric, span.First.Add(k))
	}
	return values, recorded
}

// Dimensions returns the dimensions named by ids as s knows them (nil for
// one s does not), for checks such as dimension.Node.Contains.
func (s *State) Dimensions(ids []string) []*dimension.Dimension {
	out := make([]*dimension.Dimension, len(ids))
	for k, id := range ids {
		out[k] = s.dims[id]
	}
	return out
}

// HistoryMonths bounds how much history a reforecast fits.
const HistoryMonths = 60

// ForecastInput returns the input of a reforecast of plan planID's metric
// from the cells' actuals up to period last, as known in s: the current
// cells, their histories (at most HistoryMonths, from the first month any
// cell has an actual; closed months after a cell's last actual are
// missing, NaN, not zero), the plan's horizon (18 months when it has none)
// and whether the metric is non-negative. The caller sets the run's id,
// seed, data position and workers.
func (s *State) ForecastInput(planID, metric string, last fiscal.Period) (reforecast.Input, error) {
	p, ok := s.Plan(planID)
	if !ok {
		return reforecast.Input{}, fmt.Errorf("%w: plan %s", ErrNotFound, planID)
	}
	span := fiscal.Span{First: last.Add(1 - HistoryMonths), Last: last, Kind: fiscal.KindRange}
	cells := s.CurrentCells()
	history := make([][]float64, len(cells))
	first := span.Len() // index of the first period with any actual
	for i, cell := range cells {
		amounts, recorded := s.Actuals(cell, metric, span)
		history[i] = make([]float64, len(amounts))
		lastRecorded := -1
		for j, a := range amounts {
			history[i][j] = a.Float64()
			if recorded[j] {
				first = min(first, j)
				lastRecorded = j
			}
		}
		// Closed months after the cell's last actual (a close with
		// allow_missing) are missing, not zero: the cell is modelled on
		// what it reported.
		if lastRecorded >= 0 {
			for j := lastRecorded + 1; j < len(amounts); j++ {
				history[i][j] = math.NaN()
			}
		}
	}
	if first == span.Len() {
		return reforecast.Input{}, fmt.Errorf("plan %s has no actuals of %s up to %v", planID, metric, last)
	}
	for i := range history {
		history[i] = history[i][first:]
	}
	in := reforecast.Input{Plan: planID, Metric: metric, Cells: cells, First: span.First.Add(first), History: history, Horizon: p.Horizon().Len()}
	if m, ok := p.Metric(metric); ok {
		in.NonNegative = m.NonNegative
	}
	if in.Horizon == 0 {
		in.Horizon = 18
	}
	return in, nil
}
