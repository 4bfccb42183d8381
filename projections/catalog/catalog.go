package catalog

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/projections/vintage"
)

// Errors returned by the queries; check them with errors.Is.
var (
	// ErrUnknownDimension is returned for a node or query naming a dimension
	// not defined as of the query's position.
	ErrUnknownDimension = errors.New("catalog: unknown dimension")
	// ErrUnknownMember is returned for a member a dimension did not have as
	// of the query's position.
	ErrUnknownMember = errors.New("catalog: unknown member")
	// ErrEventMismatch is returned by Apply when the event value is not of
	// the Go type its record's type name stands for: a wiring error
	// (events decoded with another registry).
	ErrEventMismatch = errors.New("catalog: event value does not match its type name")
)

// Catalog is the dimensions read model. The zero value is not usable; use
// New.
type Catalog struct {
	mu     sync.RWMutex
	pos    eventstore.Position
	times  vintage.Timeline
	dims   map[string]*dim
	order  []*dim
	epochs []eventstore.Position // the position of every dimension event applied

	cacheMu sync.Mutex
	cache   map[int]*Hierarchy // by the number of epochs it reflects
}

type dim struct {
	id, name, root string
	defined        eventstore.Position
	members        map[string]*member
	order          []*member // in the order added
}

type member struct {
	id      string
	added   eventstore.Position
	name    vintage.History[string]
	parent  vintage.History[string]
	retired vintage.History[bool]
	removed eventstore.Position // where it was removed (the zero Position: never)
}

// New returns an empty catalog.
func New() *Catalog {
	return &Catalog{dims: map[string]*dim{}, cache: map[int]*Hierarchy{}}
}

// Position returns the position of the last event applied.
func (c *Catalog) Position() eventstore.Position {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.pos
}

// PositionAt returns the last position applied whose event was recorded at
// or before t (eventstore.Start when none was).
func (c *Catalog) PositionAt(t time.Time) eventstore.Position {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.times.PositionAt(t)
}

const streamPrefix = "dimension-"

// Apply folds one event into the catalog. Events at or before Position are
// ignored, as are events of other aggregates. It returns ErrEventMismatch,
// leaving the catalog unchanged, when event is not the value rec.Type
// names.
func (c *Catalog) Apply(rec eventstore.RecordedEvent, event any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.pos.Before(rec.Position) {
		return nil
	}
	if err := c.apply(rec, event); err != nil {
		return err
	}
	c.pos = rec.Position
	c.times.Record(rec.Position, rec.RecordedAt)
	return nil
}

func mismatch(rec eventstore.RecordedEvent, event any) error {
	return fmt.Errorf("%w: %q at position %v holds a %T", ErrEventMismatch, rec.Type, rec.Position, event)
}

func (c *Catalog) apply(rec eventstore.RecordedEvent, event any) error {
	if e, ok := event.(dimension.Defined); ok {
		if rec.Type != dimension.TypeDefined {
			return mismatch(rec, event)
		}
		if c.dims[e.ID] != nil {
			return nil // a second definition cannot happen; keep the first
		}
		d := &dim{id: e.ID, name: e.Name, root: e.RootID, defined: rec.Position, members: map[string]*member{}}
		c.dims[e.ID] = d
		c.order = append(c.order, d)
		d.add(rec.Position, e.RootID, e.RootName, "")
		c.epochs = append(c.epochs, rec.Position)
		return nil
	}
	id, ok := strings.CutPrefix(rec.Stream, streamPrefix)
	d := c.dims[id]
	var m *member
	switch e := event.(type) {
	case dimension.MemberAdded:
		if rec.Type != dimension.TypeMemberAdded {
			return mismatch(rec, event)
		}
		if !ok || d == nil || d.members[e.ID] != nil {
			return nil
		}
		d.add(rec.Position, e.ID, e.Name, e.Parent)
	case dimension.MemberRenamed:
		if rec.Type != dimension.TypeMemberRenamed {
			return mismatch(rec, event)
		}
		if m = d.member(e.ID); m == nil {
			return nil
		}
		m.name.Set(rec.Position, e.To)
	case dimension.MemberMoved:
		if rec.Type != dimension.TypeMemberMoved {
			return mismatch(rec, event)
		}
		if m = d.member(e.ID); m == nil {
			return nil
		}
		m.parent.Set(rec.Position, e.ToParent)
	case dimension.MemberRetired:
		if rec.Type != dimension.TypeMemberRetired {
			return mismatch(rec, event)
		}
		if m = d.member(e.ID); m == nil {
			return nil
		}
		m.retired.Set(rec.Position, true)
	case dimension.MemberRemoved:
		if rec.Type != dimension.TypeMemberRemoved {
			return mismatch(rec, event)
		}
		if m = d.member(e.ID); m == nil {
			return nil
		}
		m.removed = rec.Position
	default:
		return nil
	}
	c.epochs = append(c.epochs, rec.Position)
	return nil
}

func (d *dim) member(id string) *member {
	if d == nil {
		return nil
	}
	return d.members[id]
}

func (d *dim) add(pos eventstore.Position, id, name, parent string) {
	m := &member{id: id, added: pos}
	m.name.Set(pos, name)
	m.parent.Set(pos, parent)
	d.members[id] = m
	d.order = append(d.order, m)
}

// Hierarchy returns the dimensions as they stood at position asOf
// (vintage.Latest for the latest). The snapshot is cached and shared: it
// never changes.
func (c *Catalog) Hierarchy(asOf eventstore.Position) *Hierarchy {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.hierarchy(asOf)
}

// hierarchy is Hierarchy under the read lock.
func (c *Catalog) hierarchy(asOf eventstore.Position) *Hierarchy {
	e := sort.Search(len(c.epochs), func(i int) bool { return asOf.Before(c.epochs[i]) })
	c.cacheMu.Lock()
	defer c.cacheMu.Unlock()
	if h := c.cache[e]; h != nil {
		return h
	}
	at := eventstore.Start
	if e > 0 {
		at = c.epochs[e-1]
	}
	h := c.build(at)
	if len(c.cache) >= maxCached {
		for k := range c.cache { // drop one at random, keeping the latest
			if k != len(c.epochs) {
				delete(c.cache, k)
				break
			}
		}
	}
	c.cache[e] = h
	return h
}

// maxCached bounds the snapshots kept for past vintages.
const maxCached = 32

// build makes the snapshot at position at, which is the position of a
// dimension event (or Start).
func (c *Catalog) build(at eventstore.Position) *Hierarchy {
	h := &Hierarchy{position: at, byID: map[string]*Tree{}}
	for _, d := range c.order {
		if at.Before(d.defined) {
			continue
		}
		t := &Tree{id: d.id, name: d.name, root: d.root, index: map[string]int32{}}
		arrived := []eventstore.Position{}
		for _, m := range d.order {
			if at.Before(m.added) {
				break // members are in the order added
			}
			if m.removed != eventstore.Start && !at.Before(m.removed) {
				continue // removed by then: as if never added
			}
			name, _ := m.name.At(at)
			pv, _ := m.parent.VersionAt(at)
			retired, _ := m.retired.At(at)
			t.index[m.id] = int32(len(t.members))
			t.members = append(t.members, dimension.Member{ID: m.id, Name: name, Parent: pv.Value, Retired: retired})
			arrived = append(arrived, pv.Position)
		}
		t.parent = make([]int32, len(t.members))
		t.children = make([][]int32, len(t.members))
		for i, m := range t.members {
			t.parent[i] = -1
			if p, ok := t.index[m.Parent]; ok && m.Parent != "" {
				t.parent[i] = p
				t.children[p] = append(t.children[p], int32(i))
			}
		}
		// Children in the order they arrived under their parent.
		for _, kids := range t.children {
			slices.SortStableFunc(kids, func(a, b int32) int { return arrived[a].Compare(arrived[b]) })
		}
		h.dims = append(h.dims, t)
		h.byID[t.id] = t
	}
	return h
}
