package reconcile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"
)

// TotalID is the member that NewStructure adds as the root of a dimension
// whose members have more than one root (members with an empty Parent).
const TotalID = "Total"

// Member is one member of a dimension tree. Parent is empty for a root.
type Member struct {
	ID     string
	Parent string
}

// Dimension is a named tree of members, e.g. Region: World > EMEA > DACH.
// Leaves (members without children) are the members cells are made of.
type Dimension struct {
	Name    string
	Members []Member
}

type dimIndex struct {
	name     string
	ids      []string
	index    map[string]int
	parent   []int
	children [][]int
	depth    []int
	pre      []int
	post     []int
	root     int
}

// ancestorOf reports whether member a is b or an ancestor of b.
func (d *dimIndex) ancestorOf(a, b int) bool {
	return d.pre[a] <= d.pre[b] && d.post[b] <= d.post[a]
}

func (d *dimIndex) isLeaf(m int) bool { return len(d.children[m]) == 0 }

// Structure is a validated hierarchical or grouped structure: the cross
// product of dimension trees restricted to the cells that exist. Its nodes are
// every combination of one member (at any level, including the root) per
// dimension that contains at least one cell; nodes are ordered aggregates
// first (by level, coarsest first) and then the cells in the order given, so
// node NumAggregates()+j is cell j and the summing matrix is S = [A; I].
//
// A Structure is immutable and safe for concurrent use.
type Structure struct {
	dims      []*dimIndex
	cells     [][]int
	nodes     [][]int
	nodeIndex map[string]int
	nAgg      int
	summing   *CSR
	agg       *CSR
}

// NewStructure validates the dimension trees and the cells and builds the
// structure. cells lists, for each cell, one leaf member ID per dimension (in
// the order of dims); nil means every combination of leaves (the full cross
// product). All problems found are returned at once, joined, each wrapping
// ErrStructure.
func NewStructure(dims []Dimension, cells [][]string) (*Structure, error) {
	if len(dims) == 0 {
		return nil, fmt.Errorf("%w: no dimensions", ErrStructure)
	}
	var errs []error
	s := &Structure{}
	names := map[string]bool{}
	for _, d := range dims {
		if names[d.Name] {
			errs = append(errs, fmt.Errorf("%w: dimension %q given twice", ErrStructure, d.Name))
		}
		names[d.Name] = true
		di, err := indexDimension(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.dims = append(s.dims, di)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cells == nil {
		cells = allLeafCells(s.dims)
	}
	seen := make(map[string]int, len(cells))
	for j, c := range cells {
		if len(c) != len(s.dims) {
			errs = append(errs, fmt.Errorf("%w: cell %d has %d members, want one per dimension (%d)", ErrStructure, j, len(c), len(s.dims)))
			continue
		}
		idx := make([]int, len(c))
		ok := true
		for d, id := range c {
			m, found := s.dims[d].index[id]
			switch {
			case !found:
				errs = append(errs, fmt.Errorf("%w: cell %d: dimension %q has no member %q", ErrStructure, j, s.dims[d].name, id))
				ok = false
			case !s.dims[d].isLeaf(m):
				errs = append(errs, fmt.Errorf("%w: cell %d: member %q of dimension %q is not a leaf", ErrStructure, j, id, s.dims[d].name))
				ok = false
			}
			idx[d] = m
		}
		if !ok {
			continue
		}
		k := key(idx)
		if first, dup := seen[k]; dup {
			errs = append(errs, fmt.Errorf("%w: cell %d (%s) repeats cell %d", ErrStructure, j, strings.Join(c, " × "), first))
			continue
		}
		seen[k] = j
		s.cells = append(s.cells, idx)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(s.cells) == 0 {
		return nil, fmt.Errorf("%w: no cells", ErrStructure)
	}
	s.build()
	if err := s.validate(); err != nil {
		return nil, err
	}
	return s, nil
}

func indexDimension(d Dimension) (*dimIndex, error) {
	var errs []error
	di := &dimIndex{name: d.Name, index: make(map[string]int, len(d.Members)+1)}
	for i, m := range d.Members {
		if m.ID == "" {
			errs = append(errs, fmt.Errorf("%w: dimension %q member %d has an empty id", ErrStructure, d.Name, i))
			continue
		}
		if _, dup := di.index[m.ID]; dup {
			errs = append(errs, fmt.Errorf("%w: dimension %q member %q given twice", ErrStructure, d.Name, m.ID))
			continue
		}
		di.index[m.ID] = len(di.ids)
		di.ids = append(di.ids, m.ID)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(di.ids) == 0 {
		return nil, fmt.Errorf("%w: dimension %q has no members", ErrStructure, d.Name)
	}
	di.parent = make([]int, len(di.ids))
	var roots []int
	for _, m := range d.Members {
		i := di.index[m.ID]
		if m.Parent == "" {
			di.parent[i] = -1
			roots = append(roots, i)
			continue
		}
		p, ok := di.index[m.Parent]
		if !ok {
			errs = append(errs, fmt.Errorf("%w: dimension %q member %q: parent %q is not a member", ErrStructure, d.Name, m.ID, m.Parent))
			continue
		}
		di.parent[i] = p
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	switch len(roots) {
	case 0:
		return nil, fmt.Errorf("%w: dimension %q has no root (every member has a parent: a cycle)", ErrStructure, d.Name)
	case 1:
		di.root = roots[0]
	default:
		if _, taken := di.index[TotalID]; taken {
			return nil, fmt.Errorf("%w: dimension %q has %d roots and a non-root member %q, so no total can be added", ErrStructure, d.Name, len(roots), TotalID)
		}
		di.root = len(di.ids)
		di.index[TotalID] = di.root
		di.ids = append(di.ids, TotalID)
		di.parent = append(di.parent, -1)
		for _, r := range roots {
			di.parent[r] = di.root
		}
	}
	n := len(di.ids)
	di.children = make([][]int, n)
	for i, p := range di.parent {
		if p >= 0 {
			di.children[p] = append(di.children[p], i)
		}
	}
	// Depth-first numbering from the root; members not reached lie on a cycle.
	di.depth = make([]int, n)
	di.pre = make([]int, n)
	di.post = make([]int, n)
	for i := range di.pre {
		di.pre[i] = -1
	}
	counter := 0
	type frame struct{ m, next int }
	stack := []frame{{di.root, 0}}
	di.pre[di.root] = counter
	counter++
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.next < len(di.children[f.m]) {
			c := di.children[f.m][f.next]
			f.next++
			di.depth[c] = di.depth[f.m] + 1
			di.pre[c] = counter
			counter++
			stack = append(stack, frame{c, 0})
			continue
		}
		di.post[f.m] = counter
		counter++
		stack = stack[:len(stack)-1]
	}
	for i, p := range di.pre {
		if p < 0 {
			errs = append(errs, fmt.Errorf("%w: dimension %q member %q lies on a parent cycle", ErrStructure, d.Name, di.ids[i]))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return di, nil
}

func allLeafCells(dims []*dimIndex) [][]string {
	cells := [][]string{nil}
	for _, d := range dims {
		var leaves []string
		for m := range d.ids {
			if d.isLeaf(m) {
				leaves = append(leaves, d.ids[m])
			}
		}
		next := make([][]string, 0, len(cells)*len(leaves))
		for _, c := range cells {
			for _, l := range leaves {
				next = append(next, append(slices.Clip(c), l))
			}
		}
		cells = next
	}
	return cells
}

func key(members []int) string {
	b := make([]byte, 4*len(members))
	for i, m := range members {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(m))
	}
	return string(b)
}

// build enumerates the nodes (every combination of ancestors-or-self of the
// cells' members) and the summing matrix.
func (s *Structure) build() {
	nd := len(s.dims)
	m := len(s.cells)
	aggIndex := map[string]int{}
	var aggNodes [][]int
	cellKeys := make(map[string]bool, m)
	for _, c := range s.cells {
		cellKeys[key(c)] = true
	}
	cur := make([]int, nd)
	var rec func(j, d int)
	rec = func(j, d int) {
		if d == nd {
			k := key(cur)
			if cellKeys[k] {
				return
			}
			if _, ok := aggIndex[k]; !ok {
				aggIndex[k] = len(aggNodes)
				aggNodes = append(aggNodes, slices.Clone(cur))
			}
			return
		}
		for a := s.cells[j][d]; a >= 0; a = s.dims[d].parent[a] {
			cur[d] = a
			rec(j, d+1)
		}
	}
	for j := range s.cells {
		rec(j, 0)
	}
	slices.SortFunc(aggNodes, func(a, b []int) int {
		if c := s.totalDepth(a) - s.totalDepth(b); c != 0 {
			return c
		}
		for d := range a {
			if c := s.dims[d].depth[a[d]] - s.dims[d].depth[b[d]]; c != 0 {
				return c
			}
		}
		for d := range a {
			if c := s.dims[d].pre[a[d]] - s.dims[d].pre[b[d]]; c != 0 {
				return c
			}
		}
		return 0
	})
	s.nAgg = len(aggNodes)
	s.nodes = append(aggNodes, s.cells...)
	s.nodeIndex = make(map[string]int, len(s.nodes))
	for i, n := range s.nodes {
		s.nodeIndex[key(n)] = i
	}
	rows := make([][]int, len(s.nodes))
	for j, c := range s.cells {
		var walk func(d int)
		walk = func(d int) {
			if d == nd {
				i := s.nodeIndex[key(cur)]
				rows[i] = append(rows[i], j)
				return
			}
			for a := c[d]; a >= 0; a = s.dims[d].parent[a] {
				cur[d] = a
				walk(d + 1)
			}
		}
		walk(0)
	}
	s.summing = newPatternCSR(rows, m)
	s.agg = newPatternCSR(rows[:s.nAgg], m)
}

// validate checks that every cell aggregates exactly once along every
// dimension path: cell j appears in exactly Π_d (depth_d(j)+1) nodes, one per
// combination of its ancestors, and each node's cells all descend from it.
func (s *Structure) validate() error {
	count := make([]int, len(s.cells))
	for i, n := range s.nodes {
		for _, j := range s.summing.Row(i) {
			count[j]++
			for d, dm := range s.dims {
				if !dm.ancestorOf(n[d], s.cells[j][d]) {
					return fmt.Errorf("%w: node %d holds cell %d outside its scope", ErrStructure, i, j)
				}
			}
		}
	}
	for j, c := range s.cells {
		want := 1
		for d, dm := range s.dims {
			want *= dm.depth[c[d]] + 1
		}
		if count[j] != want {
			return fmt.Errorf("%w: cell %d aggregates into %d nodes, want %d", ErrStructure, j, count[j], want)
		}
	}
	return nil
}

func (s *Structure) totalDepth(n []int) int {
	t := 0
	for d, m := range n {
		t += s.dims[d].depth[m]
	}
	return t
}

// NumNodes returns n, the number of nodes (aggregates and cells).
func (s *Structure) NumNodes() int { return len(s.nodes) }

// NumCells returns m, the number of cells (bottom-level series).
func (s *Structure) NumCells() int { return len(s.cells) }

// NumAggregates returns n − m, the number of aggregate nodes.
func (s *Structure) NumAggregates() int { return s.nAgg }

// Dimensions returns the dimension names in order.
func (s *Structure) Dimensions() []string {
	out := make([]string, len(s.dims))
	for d, dm := range s.dims {
		out[d] = dm.name
	}
	return out
}

// Root returns the ID of dimension d's root member (its total); TotalID when
// NewStructure added it.
func (s *Structure) Root(d int) string { return s.dims[d].ids[s.dims[d].root] }

// Node returns the member IDs (one per dimension) of node i.
func (s *Structure) Node(i int) []string {
	out := make([]string, len(s.dims))
	for d, m := range s.nodes[i] {
		out[d] = s.dims[d].ids[m]
	}
	return out
}

// NodeLevel returns the depth of each of node i's members in its dimension
// (0 for the root).
func (s *Structure) NodeLevel(i int) []int {
	out := make([]int, len(s.dims))
	for d, m := range s.nodes[i] {
		out[d] = s.dims[d].depth[m]
	}
	return out
}

// NodeIndex returns the index of the node with the given members (one ID per
// dimension), and whether it exists.
func (s *Structure) NodeIndex(members []string) (int, bool) {
	if len(members) != len(s.dims) {
		return 0, false
	}
	idx := make([]int, len(members))
	for d, id := range members {
		m, ok := s.dims[d].index[id]
		if !ok {
			return 0, false
		}
		idx[d] = m
	}
	i, ok := s.nodeIndex[key(idx)]
	return i, ok
}

// NodeCells returns the cells that node i sums, in increasing order. The slice
// aliases the structure and must not be modified.
func (s *Structure) NodeCells(i int) []int { return s.summing.Row(i) }

// Summing returns the n × m summing matrix S (rows: nodes, columns: cells).
func (s *Structure) Summing() *CSR { return s.summing }

// Aggregation returns the (n−m) × m aggregation matrix A, the top block of S.
func (s *Structure) Aggregation() *CSR { return s.agg }

// Aggregate returns S·bottom: for an m × k matrix of cell values, the n × k
// matrix of every node's values. It panics if bottom does not have m rows.
func (s *Structure) Aggregate(bottom mat.Matrix) *mat.Dense {
	m, k := bottom.Dims()
	if m != len(s.cells) {
		panic(mat.ErrShape)
	}
	n := len(s.nodes)
	out := mat.NewDense(n, k, nil)
	col := make([]float64, m)
	res := make([]float64, n)
	for c := 0; c < k; c++ {
		for j := 0; j < m; j++ {
			col[j] = bottom.At(j, c)
		}
		s.summing.MulVec(res, col)
		out.SetCol(c, res)
	}
	return out
}

// splitChildren returns the children of node i used by top-down and
// middle-out disaggregation: node i's member in the first dimension whose
// member is not a leaf is replaced by each of its children (those that form an
// existing node). It returns nil for a cell. Disaggregating dimension by
// dimension makes top-down well defined for grouped structures.
func (s *Structure) splitChildren(i int) []int {
	n := s.nodes[i]
	for d, m := range n {
		dm := s.dims[d]
		if dm.isLeaf(m) {
			continue
		}
		var out []int
		cur := slices.Clone(n)
		for _, c := range dm.children[m] {
			cur[d] = c
			if k, ok := s.nodeIndex[key(cur)]; ok {
				out = append(out, k)
			}
		}
		return out
	}
	return nil
}

// NodesAtLevel returns the nodes at the given level: a depth per dimension
// (0 = the dimension's total); a leaf shallower than the depth stands in for
// its own level. The nodes of a level partition the cells. It returns
// ErrLevel for a depth outside a dimension's tree.
func (s *Structure) NodesAtLevel(level []int) ([]int, error) { return s.levelNodes(level) }

// levelNodes returns the nodes at the given level (a depth per dimension;
// members shallower than the depth count when they are leaves). The nodes of a
// level partition the cells.
func (s *Structure) levelNodes(level []int) ([]int, error) {
	if len(level) != len(s.dims) {
		return nil, fmt.Errorf("%w: level has %d depths, want one per dimension (%d)", ErrLevel, len(level), len(s.dims))
	}
	for d, dm := range s.dims {
		if level[d] < 0 || level[d] > slices.Max(dm.depth) {
			return nil, fmt.Errorf("%w: depth %d in dimension %q, which has depths 0 to %d", ErrLevel, level[d], dm.name, slices.Max(dm.depth))
		}
	}
	var out []int
	for i, n := range s.nodes {
		ok := true
		for d, m := range n {
			dep := s.dims[d].depth[m]
			if dep != level[d] && !(dep < level[d] && s.dims[d].isLeaf(m)) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, i)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no node at level %v", ErrLevel, level)
	}
	return out, nil
}
