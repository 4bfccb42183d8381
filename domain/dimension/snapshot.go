package dimension

import (
	"fmt"
	"maps"
	"slices"
)

// Snapshot is a dimension's state as plain values, for read-model
// snapshots (package projections/view): FromSnapshot(d.Snapshot()) is a
// dimension equal to d, to which later events apply as they would to d.
// The changes recorded by commands are not part of it. Members are by id
// and Removed is sorted, so equal dimensions give equal snapshots.
type Snapshot struct {
	ID, Name, Root string
	Members        []MemberSnapshot // by id
	Order          []string
	Removed        []string
}

// MemberSnapshot is a member with its children, in the order they arrived.
type MemberSnapshot struct {
	Member
	Children []string
}

// Snapshot returns d's state as plain values (see Snapshot).
func (d *Dimension) Snapshot() Snapshot {
	s := Snapshot{ID: d.id, Name: d.name, Root: d.root, Order: slices.Clone(d.order), Removed: slices.Sorted(maps.Keys(d.removed))}
	for _, id := range slices.Sorted(maps.Keys(d.members)) {
		m := d.members[id]
		s.Members = append(s.Members, MemberSnapshot{Member: m.Member, Children: slices.Clone(m.children)})
	}
	return s
}

// FromSnapshot returns the dimension s is a snapshot of. It fails when a
// member appears twice, as in a snapshot damaged or written by other code.
func FromSnapshot(s Snapshot) (*Dimension, error) {
	d := New()
	d.id, d.name, d.root, d.order = s.ID, s.Name, s.Root, s.Order
	for _, m := range s.Members {
		if d.members[m.ID] != nil {
			return nil, fmt.Errorf("dimension snapshot %q: member %q appears twice", s.ID, m.ID)
		}
		d.members[m.ID] = &member{Member: m.Member, children: m.Children}
	}
	for _, id := range s.Removed {
		d.removed[id] = true
	}
	return d, nil
}
