package commit

import (
	"fmt"
	"maps"
	"slices"
)

// Snapshot is a book's state as plain values, for read-model snapshots
// (package projections/view): FromSnapshot(b.Snapshot()) is a book equal
// to b, to which later events apply as they would to b. The changes
// recorded by commands are not part of it. Commits are by id, so equal
// books give equal snapshots; which commit is current in each slot
// follows from them (Entry.Current).
type Snapshot struct {
	Plan    string
	Commits []Entry // by id
	Order   []string
}

// Snapshot returns b's state as plain values (see Snapshot).
func (b *Book) Snapshot() Snapshot {
	s := Snapshot{Plan: b.plan, Order: slices.Clone(b.order)}
	for _, id := range slices.Sorted(maps.Keys(b.commits)) {
		s.Commits = append(s.Commits, *b.commits[id])
	}
	return s
}

// FromSnapshot returns the book s is a snapshot of. It fails when a
// commit appears twice, or two are current in one slot, as in a snapshot
// damaged or written by other code.
func FromSnapshot(s Snapshot) (*Book, error) {
	b := New()
	b.plan, b.order = s.Plan, s.Order
	for _, e := range s.Commits {
		if b.commits[e.ID] != nil {
			return nil, fmt.Errorf("commit snapshot of plan %q: commit %q appears twice", s.Plan, e.ID)
		}
		b.commits[e.ID] = &e
		if e.Current {
			k := slotOf(e.Submitted)
			if b.current[k] != "" {
				return nil, fmt.Errorf("commit snapshot of plan %q: commits %q and %q are both current", s.Plan, b.current[k], e.ID)
			}
			b.current[k] = e.ID
		}
	}
	return b, nil
}
