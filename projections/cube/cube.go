package cube

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/projections/catalog"
	"github.com/concord-planning/concord/projections/vintage"
)

// ErrEventMismatch is returned by Apply when the event value is not of the
// Go type its record's type name stands for: a wiring error.
var ErrEventMismatch = errors.New("cube: event value does not match its type name")

// Cube is the actuals read model. The zero value is not usable; use New.
type Cube struct {
	mu    sync.RWMutex
	pos   eventstore.Position
	times vintage.Timeline
	cat   *catalog.Catalog

	cells   []cellInfo // in the order first recorded
	cellIdx map[dimension.Node]int32
	metrics map[string]int
	mfirst  []eventstore.Position       // the first recording of each metric
	series  [][]cellSeries              // [metric][cell]
	closed  map[fiscal.Period][]closing // each close of a period, in log order
	text    texts

	cacheMu sync.Mutex
	cache   map[cacheKey]*cellList
}

type cellInfo struct {
	node   dimension.Node
	coords []dimension.Coord
	first  eventstore.Position
}

// cellSeries holds one cell's amounts of one metric, by period from first.
type cellSeries struct {
	first fiscal.Period
	hist  []vintage.History[amount]
}

type amount struct {
	value  decimal.Decimal
	by     uint32 // texts index
	reason uint32 // texts index; 0 ("") for a recording
}

// closing is one close of a period: at pos, by; until its reopen at
// reopened (Start while it stands).
type closing struct {
	pos      eventstore.Position
	by       string
	reopened eventstore.Position
}

// closingAt returns the close of p that stands at asOf, if any. The
// caller holds c.mu.
func (c *Cube) closingAt(p fiscal.Period, asOf eventstore.Position) (closing, bool) {
	cls := c.closed[p]
	for i := len(cls) - 1; i >= 0; i-- {
		cl := cls[i]
		if asOf.Before(cl.pos) {
			continue
		}
		if cl.reopened != eventstore.Start && !asOf.Before(cl.reopened) {
			return closing{}, false
		}
		return cl, true
	}
	return closing{}, false
}

type cacheKey struct {
	hierarchy eventstore.Position
	node      dimension.Node
}

type cellList struct {
	mu      sync.Mutex
	cells   []int32
	scanned int
}

// texts interns the repetitive strings (actors, reasons).
type texts struct {
	idx map[string]uint32
	all []string
}

func (t *texts) id(s string) uint32 {
	if i, ok := t.idx[s]; ok {
		return i
	}
	if t.idx == nil {
		t.idx = map[string]uint32{"": 0}
		t.all = []string{""}
		if s == "" {
			return 0
		}
	}
	i := uint32(len(t.all))
	t.idx[s] = i
	t.all = append(t.all, s)
	return i
}

func (t *texts) at(i uint32) string { return t.all[i] }

// New returns an empty cube with its own catalog.
func New() *Cube {
	c := &Cube{cat: catalog.New(), cellIdx: map[dimension.Node]int32{}, metrics: map[string]int{},
		closed: map[fiscal.Period][]closing{}, cache: map[cacheKey]*cellList{}}
	c.text.id("")
	return c
}

// Catalog returns the catalog the cube keeps: the dimensions as of any
// position. Do not Apply to it; the cube does.
func (c *Cube) Catalog() *catalog.Catalog { return c.cat }

// Position returns the position of the last event applied.
func (c *Cube) Position() eventstore.Position {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.pos
}

// PositionAt returns the last position applied whose event was recorded at
// or before t (eventstore.Start when none was).
func (c *Cube) PositionAt(t time.Time) eventstore.Position {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.times.PositionAt(t)
}

func actor(by string, md eventstore.Metadata) string {
	if by != "" {
		return by
	}
	return md.Actor
}

// Apply folds one event into the cube: ledger events and dimension events;
// others are ignored, as are events at or before Position. It returns
// ErrEventMismatch (or the catalog's), leaving the cube unchanged, when
// event is not the value rec.Type names.
func (c *Cube) Apply(rec eventstore.RecordedEvent, event any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.pos.Before(rec.Position) {
		return nil
	}
	switch e := event.(type) {
	case ledger.ActualRecorded:
		if rec.Type != ledger.TypeActualRecorded {
			return mismatch(rec, event)
		}
		h := c.slot(rec.Position, e.Cell, e.Metric, e.Period)
		h.Set(rec.Position, amount{value: e.Amount, by: c.text.id(actor(e.By, rec.Metadata))})
	case ledger.ActualRestated:
		if rec.Type != ledger.TypeActualRestated {
			return mismatch(rec, event)
		}
		h := c.slot(rec.Position, e.Cell, e.Metric, e.Period)
		h.Set(rec.Position, amount{value: e.To, by: c.text.id(actor(e.By, rec.Metadata)), reason: c.text.id(e.Reason)})
	case ledger.PeriodClosed:
		if rec.Type != ledger.TypePeriodClosed {
			return mismatch(rec, event)
		}
		cls := c.closed[e.Period]
		if n := len(cls); n == 0 || cls[n-1].reopened != eventstore.Start {
			c.closed[e.Period] = append(cls, closing{pos: rec.Position, by: actor(e.By, rec.Metadata)})
		}
	case ledger.PeriodReopened:
		if rec.Type != ledger.TypePeriodReopened {
			return mismatch(rec, event)
		}
		if cls := c.closed[e.Period]; len(cls) > 0 && cls[len(cls)-1].reopened == eventstore.Start {
			cls[len(cls)-1].reopened = rec.Position
		}
	case dimension.Event:
		if err := c.cat.Apply(rec, event); err != nil {
			return err
		}
	}
	c.pos = rec.Position
	c.times.Record(rec.Position, rec.RecordedAt)
	return nil
}

func mismatch(rec eventstore.RecordedEvent, event any) error {
	return fmt.Errorf("%w: %q at position %v holds a %T", ErrEventMismatch, rec.Type, rec.Position, event)
}

// slot returns the history of cell, metric and period, creating it.
func (c *Cube) slot(pos eventstore.Position, cell dimension.Node, metric string, p fiscal.Period) *vintage.History[amount] {
	ci, ok := c.cellIdx[cell]
	if !ok {
		ci = int32(len(c.cells))
		c.cellIdx[cell] = ci
		c.cells = append(c.cells, cellInfo{node: cell, coords: cell.Coords(), first: pos})
		for m := range c.series {
			c.series[m] = append(c.series[m], cellSeries{})
		}
	}
	mi, ok := c.metrics[metric]
	if !ok {
		mi = len(c.series)
		c.metrics[metric] = mi
		c.mfirst = append(c.mfirst, pos)
		c.series = append(c.series, make([]cellSeries, len(c.cells)))
	}
	s := &c.series[mi][ci]
	switch {
	case len(s.hist) == 0:
		s.first = p
		s.hist = make([]vintage.History[amount], 1, 12)
	case p < s.first:
		s.hist = append(make([]vintage.History[amount], int(s.first-p)), s.hist...)
		s.first = p
	case int(p-s.first) >= len(s.hist):
		s.hist = append(s.hist, make([]vintage.History[amount], int(p-s.first)+1-len(s.hist))...)
	}
	return &s.hist[p-s.first]
}

// value returns the amount of cell series s at period p as of asOf.
func (s *cellSeries) at(p fiscal.Period, asOf eventstore.Position) (amount, int, bool) {
	i := int(p - s.first)
	if i < 0 || i >= len(s.hist) {
		return amount{}, 0, false
	}
	h := &s.hist[i]
	v, ok := h.At(asOf)
	if !ok {
		return amount{}, 0, false
	}
	return v, len(h.Until(asOf)), true
}

// Amount is an actual rolled up to a node.
type Amount struct {
	Value    decimal.Decimal // the exact sum of the node's recorded cells
	Cells    int             // how many cells have a recorded actual
	Restated bool            // some of them were restated
}

// cellsOf returns the cells node contains as of asOf, from the cache.
// Call it under the read lock.
func (c *Cube) cellsOf(node dimension.Node, asOf eventstore.Position) ([]int32, error) {
	h := c.cat.Hierarchy(asOf)
	key := cacheKey{hierarchy: h.Position(), node: node}
	c.cacheMu.Lock()
	l := c.cache[key]
	if l == nil {
		if len(c.cache) >= maxCached {
			clear(c.cache)
		}
		l = &cellList{}
		c.cache[key] = l
	}
	c.cacheMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.scanned < len(c.cells) {
		m, err := h.Matcher(node)
		if err != nil {
			return nil, err
		}
		for i := l.scanned; i < len(c.cells); i++ {
			if m.Contains(c.cells[i].coords) {
				l.cells = append(l.cells, int32(i))
			}
		}
		l.scanned = len(c.cells)
	} else if _, err := h.Resolve(node); err != nil {
		return nil, err
	}
	return l.cells, nil
}

// maxCached bounds the cached cell lists of nodes.
const maxCached = 1 << 14

// Actuals returns the actuals of node for metric over every period of
// span, rolled up through the dimensions as they stood at asOf, with the
// amounts as known at asOf (vintage.Latest for now). It returns the
// catalog's ErrUnknownDimension or ErrUnknownMember for a node the
// dimensions did not have, or a decimal.ErrOverflow for a sum out of range.
// An unknown metric has no actuals: its amounts are zero.
func (c *Cube) Actuals(node dimension.Node, metric string, span fiscal.Span, asOf eventstore.Position) ([]Amount, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !span.Valid() {
		return nil, fmt.Errorf("cube: invalid span %v..%v", span.First, span.Last)
	}
	cells, err := c.cellsOf(node, asOf)
	if err != nil {
		return nil, err
	}
	out := make([]Amount, span.Len())
	mi, ok := c.metrics[metric]
	if !ok {
		return out, nil
	}
	series := c.series[mi]
	for _, ci := range cells {
		s := &series[ci]
		if len(s.hist) == 0 {
			continue
		}
		lo, hi := max(span.First, s.first), min(span.Last, s.first+fiscal.Period(len(s.hist)-1))
		for p := lo; p <= hi; p++ {
			v, versions, ok := s.at(p, asOf)
			if !ok {
				continue
			}
			a := &out[p-span.First]
			if a.Value, err = a.Value.Add(v.value); err != nil {
				return nil, fmt.Errorf("cube: actuals of %q, %s, %v: %w", node, metric, p, err)
			}
			a.Cells++
			a.Restated = a.Restated || versions > 1
		}
	}
	return out, nil
}

// Actual returns the actual of node for metric and period as known at
// asOf; see Actuals.
func (c *Cube) Actual(node dimension.Node, metric string, p fiscal.Period, asOf eventstore.Position) (Amount, error) {
	out, err := c.Actuals(node, metric, fiscal.Month(p), asOf)
	if err != nil {
		return Amount{}, err
	}
	return out[0], nil
}

// Total returns the actual of node for metric summed over span; see
// Actuals. Cells counts cell-periods.
func (c *Cube) Total(node dimension.Node, metric string, span fiscal.Span, asOf eventstore.Position) (Amount, error) {
	out, err := c.Actuals(node, metric, span, asOf)
	if err != nil {
		return Amount{}, err
	}
	var t Amount
	for _, a := range out {
		if t.Value, err = t.Value.Add(a.Value); err != nil {
			return Amount{}, fmt.Errorf("cube: total of %q, %s: %w", node, metric, err)
		}
		t.Cells += a.Cells
		t.Restated = t.Restated || a.Restated
	}
	return t, nil
}

// Change is one version of a cell's actual: the recording or a
// restatement.
type Change struct {
	Position   eventstore.Position
	RecordedAt time.Time
	Amount     decimal.Decimal
	By         string
	Reason     string // empty for the recording
	Restated   bool   // false for the recording
}

// History returns every version of the actual of cell, metric and period
// known at asOf, oldest first: the recording, then each restatement. A cell
// never recorded has none.
func (c *Cube) History(cell dimension.Node, metric string, p fiscal.Period, asOf eventstore.Position) []Change {
	c.mu.RLock()
	defer c.mu.RUnlock()
	ci, ok1 := c.cellIdx[cell]
	mi, ok2 := c.metrics[metric]
	if !ok1 || !ok2 {
		return nil
	}
	s := &c.series[mi][ci]
	i := int(p - s.first)
	if len(s.hist) == 0 || i < 0 || i >= len(s.hist) {
		return nil
	}
	var out []Change
	for k, v := range s.hist[i].Until(asOf) {
		at, _ := c.times.TimeOf(v.Position)
		out = append(out, Change{Position: v.Position, RecordedAt: at, Amount: v.Value.value,
			By: c.text.at(v.Value.by), Reason: c.text.at(v.Value.reason), Restated: k > 0})
	}
	return out
}

// Cells returns the cells with at least one actual recorded at or before
// asOf, in the order first recorded.
func (c *Cube) Cells(asOf eventstore.Position) []dimension.Node {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []dimension.Node
	for _, ci := range c.cells {
		if asOf.Before(ci.first) {
			break
		}
		out = append(out, ci.node)
	}
	return out
}

// Metrics returns the metrics with at least one actual recorded at or
// before asOf, sorted.
func (c *Cube) Metrics(asOf eventstore.Position) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []string
	for m, mi := range c.metrics {
		if !asOf.Before(c.mfirst[mi]) {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return out
}

// Closing says when and by whom a period was closed.
type Closing struct {
	Period     fiscal.Period
	Position   eventstore.Position
	RecordedAt time.Time
	By         string
}

// Closed returns the periods closed at asOf (closed at or before it and
// not reopened since), in period order, each with its standing close.
func (c *Cube) Closed(asOf eventstore.Position) []Closing {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []Closing
	for p := range c.closed {
		if cl, ok := c.closingAt(p, asOf); ok {
			at, _ := c.times.TimeOf(cl.pos)
			out = append(out, Closing{Period: p, Position: cl.pos, RecordedAt: at, By: cl.by})
		}
	}
	slices.SortFunc(out, func(a, b Closing) int { return int(a.Period - b.Period) })
	return out
}

// IsClosed reports whether period p is closed at asOf.
func (c *Cube) IsClosed(p fiscal.Period, asOf eventstore.Position) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.closingAt(p, asOf)
	return ok
}

// LastClosed returns the latest period closed at asOf, and whether any
// is.
func (c *Cube) LastClosed(asOf eventstore.Position) (fiscal.Period, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var last fiscal.Period
	found := false
	for p := range c.closed {
		if _, ok := c.closingAt(p, asOf); ok && (!found || p > last) {
			last, found = p, true
		}
	}
	return last, found
}
