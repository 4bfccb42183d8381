package dimension

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Coord is one coordinate of a node: a member of a dimension.
type Coord struct {
	Dimension string `json:"dimension"`
	Member    string `json:"member"`
}

// Node addresses one member per dimension; a dimension the node does not
// name stands for its root, the dimension's total. The zero Node names no
// dimension: the grand total.
//
// Nodes are comparable values (usable as map keys): two nodes are equal when
// they name the same members of the same dimensions. A node that names a
// root explicitly differs from one that omits it; Resolve returns the
// canonical form, without roots.
type Node struct {
	key string // canonical text: "dim=member;dim=member", sorted by dimension
}

// Total is the node that names no dimension: the grand total.
var Total = Node{}

// NewNode returns the node of coords, in any order. It returns
// ErrNodeSyntax when an id is not valid (see ValidID) or a dimension
// appears twice.
func NewNode(coords ...Coord) (Node, error) {
	cs := slices.Clone(coords)
	slices.SortFunc(cs, func(a, b Coord) int { return strings.Compare(a.Dimension, b.Dimension) })
	var errs []error
	for i, c := range cs {
		if !ValidID(c.Dimension) {
			errs = append(errs, fmt.Errorf("%w: dimension %s", ErrNodeSyntax, idReason(c.Dimension)))
		}
		if !ValidID(c.Member) {
			errs = append(errs, fmt.Errorf("%w: member of dimension %q: %s", ErrNodeSyntax, c.Dimension, idReason(c.Member)))
		}
		if i > 0 && cs[i-1].Dimension == c.Dimension {
			errs = append(errs, fmt.Errorf("%w: dimension %q appears twice", ErrNodeSyntax, c.Dimension))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Node{}, err
	}
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(c.Dimension)
		b.WriteByte('=')
		b.WriteString(c.Member)
	}
	return Node{key: b.String()}, nil
}

// MustNode is NewNode for constants; it panics on error.
func MustNode(coords ...Coord) Node {
	n, err := NewNode(coords...)
	if err != nil {
		panic(err)
	}
	return n
}

// ParseNode reads a node written "dim=member;dim=member" in any dimension
// order; "" is the grand total. It returns an error matching ErrNodeSyntax
// saying what is wrong.
func ParseNode(s string) (Node, error) {
	if s == "" {
		return Node{}, nil
	}
	if canonical(s) {
		return Node{key: s}, nil
	}
	parts := strings.Split(s, ";")
	coords := make([]Coord, 0, len(parts))
	for _, p := range parts {
		dim, mem, ok := strings.Cut(p, "=")
		if !ok {
			return Node{}, fmt.Errorf("%w: %q: part %q is not dimension=member", ErrNodeSyntax, s, p)
		}
		coords = append(coords, Coord{Dimension: dim, Member: mem})
	}
	n, err := NewNode(coords...)
	if err != nil {
		return Node{}, fmt.Errorf("node %q: %w", s, err)
	}
	return n, nil
}

// canonical reports whether s is already a node's canonical text: valid
// dimension=member parts in strictly increasing order of dimension, which
// NewNode would rebuild into s itself. Stored events carry canonical text,
// so ParseNode then takes s as it is, without splitting and joining it.
func canonical(s string) bool {
	prev := ""
	for part := range strings.SplitSeq(s, ";") {
		dim, mem, ok := strings.Cut(part, "=")
		if !ok || !ValidID(dim) || !ValidID(mem) || (prev != "" && dim <= prev) {
			return false
		}
		prev = dim
	}
	return true
}

// MustParseNode is ParseNode for constants; it panics on error.
func MustParseNode(s string) Node {
	n, err := ParseNode(s)
	if err != nil {
		panic(err)
	}
	return n
}

// String returns the canonical text of n, e.g. "product=pumps;region=emea".
func (n Node) String() string { return n.key }

// IsTotal reports whether n names no dimension.
func (n Node) IsTotal() bool { return n.key == "" }

// Coords returns n's coordinates sorted by dimension id.
func (n Node) Coords() []Coord {
	if n.key == "" {
		return nil
	}
	parts := strings.Split(n.key, ";")
	out := make([]Coord, len(parts))
	for i, p := range parts {
		dim, mem, _ := strings.Cut(p, "=")
		out[i] = Coord{Dimension: dim, Member: mem}
	}
	return out
}

// Member returns the member n names in dimension, and whether it names one.
func (n Node) Member(dimension string) (string, bool) {
	for rest := n.key; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, ";")
		if dim, mem, _ := strings.Cut(part, "="); dim == dimension {
			return mem, true
		}
	}
	return "", false
}

// With returns n with member in dimension, replacing any member n named
// there. It returns ErrNodeSyntax for an invalid id.
func (n Node) With(dimension, member string) (Node, error) {
	return NewNode(append(n.Without(dimension).Coords(), Coord{Dimension: dimension, Member: member})...)
}

// Without returns n without a member in dimension: at that dimension's
// total.
func (n Node) Without(dimension string) Node {
	cs := slices.DeleteFunc(n.Coords(), func(c Coord) bool { return c.Dimension == dimension })
	return MustNode(cs...) // n's coordinates are valid
}

// MarshalText implements encoding.TextMarshaler: JSON carries a node as its
// canonical string.
func (n Node) MarshalText() ([]byte, error) { return []byte(n.key), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseNode. The
// canonical texts of the nodes it has read are shared (keys): a log names
// the same cells again and again, and a process that reads it whole would
// otherwise keep one copy of a cell's text per event.
func (n *Node) UnmarshalText(b []byte) error {
	if k, ok := keys.get(b); ok {
		*n = Node{key: k}
		return nil
	}
	v, err := ParseNode(string(b))
	if err != nil {
		return err
	}
	*n = Node{key: keys.put(v.key)}
	return nil
}

// keys are the canonical texts of the nodes read so far, each kept once.
var keys = keyTable{m: map[string]string{}}

// maxKeys bounds keyTable: past it, texts are no longer shared but still
// read. A company's cells number in the tens of thousands.
const maxKeys = 1 << 20

// keyTable shares equal node texts; it is safe for concurrent use.
type keyTable struct {
	mu sync.RWMutex
	m  map[string]string
}

// get returns the shared text equal to b, if there is one.
func (t *keyTable) get(b []byte) (string, bool) {
	t.mu.RLock()
	k, ok := t.m[string(b)] // no allocation for the lookup
	t.mu.RUnlock()
	return k, ok
}

// put returns the shared text equal to k, making k the shared one if
// there is none yet (and room for it).
func (t *keyTable) put(k string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.m[k]; ok {
		return s
	}
	if len(t.m) < maxKeys {
		t.m[k] = k
	}
	return k
}

// GobEncode implements gob.GobEncoder: gob carries a node as its
// canonical string too (read-model snapshots, package projections/view).
func (n Node) GobEncode() ([]byte, error) { return []byte(n.key), nil }

// GobDecode implements gob.GobDecoder with ParseNode.
func (n *Node) GobDecode(b []byte) error { return n.UnmarshalText(b) }

// index returns dims by id.
func index(dims []*Dimension) map[string]*Dimension {
	m := make(map[string]*Dimension, len(dims))
	for _, d := range dims {
		m[d.ID()] = d
	}
	return m
}

// Resolve checks n against dims and returns its canonical form: every
// dimension n names must be among dims (else ErrUnknownDimension), every
// member must be an active member of its dimension (else ErrUnknownMember or
// ErrRetired), and members that are their dimension's root are dropped, a
// root being the same as an absent dimension. All problems are joined.
func (n Node) Resolve(dims ...*Dimension) (Node, error) {
	byID := index(dims)
	var errs []error
	var keep []Coord
	for _, c := range n.Coords() {
		d := byID[c.Dimension]
		if d == nil {
			errs = append(errs, &MemberError{Dimension: c.Dimension, Member: c.Member, Reason: "node names a dimension that is not in use here", Err: ErrUnknownDimension})
			continue
		}
		if _, err := d.active(c.Member); err != nil {
			errs = append(errs, err)
			continue
		}
		if c.Member != d.Root() {
			keep = append(keep, c)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Node{}, err
	}
	return MustNode(keep...), nil
}

// CheckCell returns nil when n is a cell of dims: it names only dimensions
// among dims, and in each of dims its member (the root where n names none)
// is an active leaf. Otherwise it returns every problem, joined:
// ErrUnknownDimension, ErrUnknownMember, ErrRetired or ErrNotLeaf.
func (n Node) CheckCell(dims ...*Dimension) error {
	byID := index(dims)
	var errs []error
	for _, c := range n.Coords() {
		if byID[c.Dimension] == nil {
			errs = append(errs, &MemberError{Dimension: c.Dimension, Member: c.Member, Reason: "cell names a dimension that is not in use here", Err: ErrUnknownDimension})
		}
	}
	for _, d := range dims {
		m, named := n.Member(d.ID())
		if !named {
			m = d.Root()
		}
		if _, err := d.active(m); err != nil {
			errs = append(errs, err)
			continue
		}
		if !d.IsLeaf(m) {
			errs = append(errs, d.fail(m, d.notLeafReason(m, named), ErrNotLeaf))
		}
	}
	return errors.Join(errs...)
}

// Contains reports whether n contains cell, given dims: for each dimension n
// names, cell's member there (its root where cell names none) is n's member
// or lies below it. A node naming a dimension not among dims, or a member
// the dimension does not have, contains nothing.
func (n Node) Contains(cell Node, dims ...*Dimension) bool {
	byID := index(dims)
	for _, c := range n.Coords() {
		d := byID[c.Dimension]
		if d == nil {
			return false
		}
		m, ok := cell.Member(c.Dimension)
		if !ok {
			m = d.Root()
		}
		if !d.Covers(c.Member, m) {
			return false
		}
	}
	return true
}

// notLeafReason says why member m is not a cell's member of d and what to
// name instead: a few of the leaves below it. named is false when the cell
// left the dimension out (so m is the root).
func (d *Dimension) notLeafReason(m string, named bool) string {
	leaves := d.Leaves(m)
	const shown = 5
	eg := make([]string, 0, shown)
	for _, l := range leaves[:min(shown, len(leaves))] {
		eg = append(eg, d.id+"="+l)
	}
	more := ""
	if len(leaves) > shown {
		more = fmt.Sprintf(" … (%d leaves in all)", len(leaves))
	}
	if !named {
		return fmt.Sprintf("a cell names a leaf member of every dimension of the plan, and it names none of dimension %q; add one of its leaves, e.g. %s%s",
			d.id, strings.Join(eg, ", "), more)
	}
	return fmt.Sprintf("a cell names leaf members only, and %q has children (%s); name one of the leaves below it, e.g. %s%s",
		m, strings.Join(d.Children(m), ", "), strings.Join(eg, ", "), more)
}
