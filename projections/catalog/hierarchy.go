package catalog

import (
	"errors"
	"fmt"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
)

// Hierarchy is every dimension as it stood at one position of the log. It
// is immutable and safe for concurrent use.
type Hierarchy struct {
	position eventstore.Position
	dims     []*Tree
	byID     map[string]*Tree
}

// Tree is one dimension's hierarchy within a Hierarchy.
type Tree struct {
	id, name, root string
	members        []dimension.Member // in the order added
	index          map[string]int32
	parent         []int32   // -1 for the root
	children       [][]int32 // active and retired, in arrival order
}

// Dimension describes a dimension.
type Dimension struct {
	ID, Name, Root string
}

// Position returns the position of the last dimension event the snapshot
// reflects (eventstore.Start when none).
func (h *Hierarchy) Position() eventstore.Position { return h.position }

// Dimensions returns the dimensions in the order they were defined.
func (h *Hierarchy) Dimensions() []Dimension {
	out := make([]Dimension, len(h.dims))
	for i, t := range h.dims {
		out[i] = Dimension{ID: t.id, Name: t.name, Root: t.root}
	}
	return out
}

// Tree returns dimension id's hierarchy, or ErrUnknownDimension.
func (h *Hierarchy) Tree(id string) (*Tree, error) {
	t := h.byID[id]
	if t == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownDimension, id)
	}
	return t, nil
}

// Dimension describes the tree's dimension.
func (t *Tree) Dimension() Dimension { return Dimension{ID: t.id, Name: t.name, Root: t.root} }

// Members returns every member, active and retired, in the order added.
func (t *Tree) Members() []dimension.Member { return append([]dimension.Member(nil), t.members...) }

// Member returns member id and whether the dimension has it.
func (t *Tree) Member(id string) (dimension.Member, bool) {
	i, ok := t.index[id]
	if !ok {
		return dimension.Member{}, false
	}
	return t.members[i], true
}

func (t *Tree) lookup(id string) (int32, error) {
	i, ok := t.index[id]
	if !ok {
		return -1, fmt.Errorf("%w: dimension %q has no member %q", ErrUnknownMember, t.id, id)
	}
	return i, nil
}

// Children returns the active children of id in the order they arrived
// under it, or ErrUnknownMember.
func (t *Tree) Children(id string) ([]string, error) {
	i, err := t.lookup(id)
	if err != nil {
		return nil, err
	}
	return t.activeChildren(i), nil
}

func (t *Tree) activeChildren(i int32) []string {
	var out []string
	for _, k := range t.children[i] {
		if !t.members[k].Retired {
			out = append(out, t.members[k].ID)
		}
	}
	return out
}

// Leaves returns the active leaves at or below id, depth first in child
// order (id itself when it is an active leaf; none when it is retired), or
// ErrUnknownMember.
func (t *Tree) Leaves(id string) ([]string, error) {
	i, err := t.lookup(id)
	if err != nil {
		return nil, err
	}
	var out []string
	var walk func(int32)
	walk = func(i int32) {
		if t.members[i].Retired {
			return
		}
		kids := 0
		for _, k := range t.children[i] {
			if !t.members[k].Retired {
				kids++
				walk(k)
			}
		}
		if kids == 0 {
			out = append(out, t.members[i].ID)
		}
	}
	walk(i)
	return out, nil
}

// IsLeaf reports whether id is an active member without active children.
func (t *Tree) IsLeaf(id string) bool {
	i, ok := t.index[id]
	return ok && !t.members[i].Retired && len(t.activeChildren(i)) == 0
}

// Ancestors returns the ids above id, from its parent up to the root, or
// ErrUnknownMember.
func (t *Tree) Ancestors(id string) ([]string, error) {
	i, err := t.lookup(id)
	if err != nil {
		return nil, err
	}
	var out []string
	for p := t.parent[i]; p >= 0; p = t.parent[p] {
		out = append(out, t.members[p].ID)
	}
	return out, nil
}

// Covers reports whether member id is ancestor or lies below it; retired
// members count, unknown ones are covered by nothing.
func (t *Tree) Covers(ancestor, id string) bool {
	a, ok1 := t.index[ancestor]
	i, ok2 := t.index[id]
	return ok1 && ok2 && t.covers(a, i)
}

func (t *Tree) covers(a, i int32) bool {
	for n := 0; i >= 0 && n <= len(t.parent); n++ { // n guards against a cycle in a corrupt log
		if i == a {
			return true
		}
		i = t.parent[i]
	}
	return false
}

// Resolve checks node against the snapshot and returns its canonical form,
// roots dropped. Unlike dimension.Node.Resolve it accepts retired members:
// read models answer about the past. Problems are joined:
// ErrUnknownDimension, ErrUnknownMember.
func (h *Hierarchy) Resolve(node dimension.Node) (dimension.Node, error) {
	var errs []error
	var keep []dimension.Coord
	for _, c := range node.Coords() {
		t, err := h.Tree(c.Dimension)
		if err != nil {
			errs = append(errs, fmt.Errorf("node %q: %w", node, err))
			continue
		}
		if _, err := t.lookup(c.Member); err != nil {
			errs = append(errs, fmt.Errorf("node %q: %w", node, err))
			continue
		}
		if c.Member != t.root {
			keep = append(keep, c)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return dimension.Node{}, err
	}
	return dimension.MustNode(keep...), nil
}

// Contains reports whether node contains other: for each dimension node
// names, other's member there (the root where other names none) is node's
// member or lies below it. It agrees with dimension.Node.Contains, and
// holds for any other node, not only cells. A node naming a dimension or
// member the snapshot lacks contains nothing.
func (h *Hierarchy) Contains(node, other dimension.Node) bool {
	m, err := h.Matcher(node)
	return err == nil && m.Contains(other.Coords())
}

// Matcher is a node compiled against a Hierarchy, to test many cells or
// nodes quickly.
type Matcher struct {
	conds []cond
}

type cond struct {
	tree     *Tree
	ancestor int32
}

// Matcher compiles node, or returns Resolve's errors.
func (h *Hierarchy) Matcher(node dimension.Node) (Matcher, error) {
	if _, err := h.Resolve(node); err != nil {
		return Matcher{}, err
	}
	var m Matcher
	for _, c := range node.Coords() {
		t := h.byID[c.Dimension]
		a := t.index[c.Member]
		if a == 0 && t.parent[0] < 0 { // the root covers everything
			continue
		}
		m.conds = append(m.conds, cond{tree: t, ancestor: a})
	}
	return m, nil
}

// Contains reports whether the node of coords (sorted by dimension, as
// dimension.Node.Coords returns them) lies at or below the matcher's node.
func (m Matcher) Contains(coords []dimension.Coord) bool {
	for _, c := range m.conds {
		member := c.tree.root
		for _, x := range coords {
			if x.Dimension == c.tree.id {
				member = x.Member
				break
			}
		}
		i, ok := c.tree.index[member]
		if !ok || !c.tree.covers(c.ancestor, i) {
			return false
		}
	}
	return true
}

// All reports whether the matcher's node is the grand total (or names only
// roots): it contains everything.
func (m Matcher) All() bool { return len(m.conds) == 0 }
