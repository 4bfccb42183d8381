package history

import (
	"container/heap"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/projections/vintage"
)

// DefaultLimit and MaxLimit bound a page.
const (
	DefaultLimit = 100
	MaxLimit     = 10_000
)

// Filter selects entries; a zero field selects everything.
type Filter struct {
	Node    *dimension.Node // entries of this node …
	Subtree bool            // … or of any node at or below it
	Plan    string
	Metric  string
	Span    *fiscal.Span // entries whose span overlaps this one
	Actor   string
	Kinds   []Kind
	From    time.Time // recorded at or after
	To      time.Time // recorded before
	// AsOf shows the log as known at a position: entries at or before it,
	// and subtrees as the dimensions stood then. Zero means the latest.
	AsOf eventstore.Position
	// Cursor continues a query: entries after it (before it when
	// Descending). Pass the previous Page's Next. Zero starts at the
	// oldest (newest) entry.
	Cursor     eventstore.Position
	Descending bool
	// Limit bounds a page: 0 means DefaultLimit; at most MaxLimit. A page
	// never splits the entries of one event (a reallocation has one per
	// move), since the cursor is a position: it holds more than Limit
	// entries when its last event has several.
	Limit int
}

// Page is one page of a query's entries.
type Page struct {
	Entries []Entry
	Next    eventstore.Position // the cursor of the next page
	More    bool                // whether a next page has entries
}

// Query returns the entries f selects, in position order (newest first
// when f.Descending), a page at a time. It returns ErrInvalidFilter, or the
// catalog's ErrUnknownDimension or ErrUnknownMember for a subtree of a node
// the dimensions did not have.
func (l *Log) Query(f Filter) (Page, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if err := f.check(); err != nil {
		return Page{}, err
	}
	limit := f.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	asOf := f.AsOf
	if asOf == (eventstore.Position{}) {
		asOf = vintage.Latest
	}
	lo, hi := l.bounds(f, asOf)
	kindSet := uint32(0)
	for _, k := range f.Kinds {
		kindSet |= 1 << kindID(k)
	}
	match := func(e *entry) bool {
		return (kindSet == 0 || kindSet&(1<<e.kind) != 0) &&
			(f.Plan == "" || l.texts[e.plan] == f.Plan) &&
			(f.Metric == "" || l.texts[e.metric] == f.Metric) &&
			(f.Actor == "" || l.texts[e.actor] == f.Actor) &&
			(f.Span == nil || (e.span.Valid() && e.span.Overlaps(*f.Span)))
	}
	it, err := l.candidates(f, asOf, lo, hi)
	if err != nil {
		return Page{}, err
	}
	var page Page
	for {
		i, ok := it.next()
		if !ok {
			break
		}
		e := l.entries.at(int(i))
		if !match(e) {
			continue
		}
		if len(page.Entries) >= limit && e.pos != page.Next {
			page.More = true
			break
		}
		page.Entries = append(page.Entries, l.export(e))
		page.Next = e.pos
	}
	if len(page.Entries) == 0 {
		page.Next = f.Cursor
	}
	return page, nil
}

func (f Filter) check() error {
	var errs []error
	if f.Limit < 0 || f.Limit > MaxLimit {
		errs = append(errs, fmt.Errorf("%w: limit %d (want 0 to %d)", ErrInvalidFilter, f.Limit, MaxLimit))
	}
	for _, k := range f.Kinds {
		known := false
		for _, x := range kinds {
			known = known || x == k
		}
		if !known {
			errs = append(errs, fmt.Errorf("%w: kind %q", ErrInvalidFilter, k))
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		errs = append(errs, fmt.Errorf("%w: time range %v to %v ends before it starts", ErrInvalidFilter, f.From, f.To))
	}
	if f.Subtree && f.Node == nil {
		errs = append(errs, fmt.Errorf("%w: a subtree needs a node", ErrInvalidFilter))
	}
	return errors.Join(errs...)
}

// bounds returns the range [lo, hi) of entry indexes that the filter's
// as-of position, cursor and time range allow.
func (l *Log) bounds(f Filter, asOf eventstore.Position) (int, int) {
	n := l.entries.len()
	hi := sort.Search(n, func(i int) bool { return asOf.Before(l.entries.at(i).pos) })
	lo := 0
	if f.Cursor != (eventstore.Position{}) {
		c := sort.Search(n, func(i int) bool { return f.Cursor.Before(l.entries.at(i).pos) }) // first after the cursor
		if f.Descending {
			hi = min(hi, sort.Search(n, func(i int) bool { return !l.entries.at(i).pos.Before(f.Cursor) }))
		} else {
			lo = c
		}
	}
	if !f.From.IsZero() {
		at := f.From.UnixNano()
		lo = max(lo, sort.Search(n, func(i int) bool { return l.entries.at(i).upTo >= at }))
	}
	if !f.To.IsZero() {
		at := f.To.UnixNano()
		hi = min(hi, sort.Search(n, func(i int) bool { return l.entries.at(i).upTo >= at }))
	}
	return lo, max(lo, hi)
}

// iterator yields entry indexes in the query's order.
type iterator interface{ next() (uint32, bool) }

// span walks [lo, hi) of all entries.
type span struct {
	i, end, step int
}

func (s *span) next() (uint32, bool) {
	if s.i == s.end {
		return 0, false
	}
	i := s.i
	s.i += s.step
	return uint32(i), true
}

func newSpan(lo, hi int, desc bool) *span {
	if desc {
		return &span{i: hi - 1, end: lo - 1, step: -1}
	}
	return &span{i: lo, end: hi, step: 1}
}

// merge walks several ascending posting lists, restricted to [lo, hi), in
// order (reverse order when desc).
type merge struct {
	lists [][]uint32
	desc  bool
}

func (m *merge) Len() int { return len(m.lists) }
func (m *merge) Less(i, j int) bool {
	if m.desc {
		return m.lists[i][len(m.lists[i])-1] > m.lists[j][len(m.lists[j])-1]
	}
	return m.lists[i][0] < m.lists[j][0]
}
func (m *merge) Swap(i, j int) { m.lists[i], m.lists[j] = m.lists[j], m.lists[i] }
func (m *merge) Push(x any)    { m.lists = append(m.lists, x.([]uint32)) }
func (m *merge) Pop() any {
	x := m.lists[len(m.lists)-1]
	m.lists = m.lists[:len(m.lists)-1]
	return x
}

func (m *merge) next() (uint32, bool) {
	if len(m.lists) == 0 {
		return 0, false
	}
	top := m.lists[0]
	var v uint32
	if m.desc {
		v, m.lists[0] = top[len(top)-1], top[:len(top)-1]
	} else {
		v, m.lists[0] = top[0], top[1:]
	}
	if len(m.lists[0]) == 0 {
		heap.Pop(m)
	} else {
		heap.Fix(m, 0)
	}
	return v, true
}

// candidates returns the entries to test: a node's posting lists when the
// filter names a node, else every entry in range.
func (l *Log) candidates(f Filter, asOf eventstore.Position, lo, hi int) (iterator, error) {
	if f.Node == nil {
		return newSpan(lo, hi, f.Descending), nil
	}
	var ids []uint32
	if !f.Subtree {
		if i, ok := l.nodeIdx[*f.Node]; ok {
			ids = []uint32{i}
		}
	} else {
		m, err := l.cat.Hierarchy(asOf).Matcher(*f.Node)
		if err != nil {
			return nil, err
		}
		for i := range l.nodes {
			if m.Contains(l.nodes[i].coords) {
				ids = append(ids, uint32(i))
			}
		}
	}
	mg := &merge{desc: f.Descending}
	for _, id := range ids {
		list := l.nodes[id].entries
		a := sort.Search(len(list), func(k int) bool { return int(list[k]) >= lo })
		b := sort.Search(len(list), func(k int) bool { return int(list[k]) >= hi })
		if a < b {
			mg.lists = append(mg.lists, list[a:b])
		}
	}
	heap.Init(mg)
	return mg, nil
}
