package view

import (
	"slices"
	"strings"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
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
