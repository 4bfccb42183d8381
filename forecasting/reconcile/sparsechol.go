package reconcile

import (
	"math"
	"slices"
)

// sparseCholesky is a sparse Cholesky factor L (A = L Lᵀ) built one row at a
// time by the up-looking method (Davis, Direct Methods for Sparse Linear
// Systems, SIAM 2006, §4.8): row i of L solves L₁₁ z = a₁₂ over the rows
// already added, and its pattern is the reach of a₁₂'s pattern in the
// elimination tree (ereach, §4.3), so the work is proportional to the
// factor's non-zeros rather than to the square of the order. A row whose
// pivot a₂₂ − zᵀz is not above the caller's threshold is not added: that is
// how dependent rows are detected (its z then expresses it in the added
// rows). Positions are the rows' indices in the order they were added.
//
// The order rows are added in decides the fill: adding the rows of small
// scopes before those of the scopes that contain them (children before
// parents) keeps L about as sparse as A for hierarchies of targets.
type sparseCholesky struct {
	idx    [][]int32   // idx[i]: positions < i of row i's stored entries, ascending
	val    [][]float64 // the matching values of L
	diag   []float64
	parent []int32   // elimination tree: parent position, -1 for a root
	child  [][]int32 // the elimination tree's children of each position

	x     []float64 // scratch, by position: zero outside a solve
	mark  []uint32
	stamp uint32
	pat   []int32
}

// entry is one off-diagonal entry of a row being added: the position of the
// added row it couples to, and the value.
type entry struct {
	pos int32
	v   float64
}

func newSparseCholesky(capacity int) *sparseCholesky {
	return &sparseCholesky{
		idx: make([][]int32, 0, capacity), val: make([][]float64, 0, capacity),
		diag: make([]float64, 0, capacity), parent: make([]int32, 0, capacity),
		child: make([][]int32, 0, capacity),
		x:     make([]float64, capacity+1), mark: make([]uint32, capacity+1),
	}
}

// size returns the number of rows added.
func (ch *sparseCholesky) size() int { return len(ch.diag) }

// lower solves L z = b for the sparse b and returns z's pattern, ascending;
// z's values are left in ch.x at those positions until the next call.
func (ch *sparseCholesky) lower(b []entry) []int32 {
	n := len(ch.diag)
	if len(ch.x) < n+1 {
		ch.x = append(ch.x, make([]float64, n+1-len(ch.x))...)
		ch.mark = append(ch.mark, make([]uint32, n+1-len(ch.mark))...)
	}
	for _, j := range ch.pat {
		ch.x[j] = 0
	}
	ch.stamp++
	pat := ch.pat[:0]
	for _, e := range b {
		for j := e.pos; j >= 0 && ch.mark[j] != ch.stamp; j = ch.parent[j] {
			ch.mark[j] = ch.stamp
			pat = append(pat, j)
		}
	}
	slices.Sort(pat)
	for _, e := range b {
		ch.x[e.pos] += e.v
	}
	for _, j := range pat {
		s := ch.x[j]
		for t, l := range ch.idx[j] {
			s -= ch.val[j][t] * ch.x[l]
		}
		ch.x[j] = s / ch.diag[j]
	}
	ch.pat = pat
	return pat
}

// add appends a row with off-diagonal entries b (against the rows added) and
// diagonal a when its squared pivot a − zᵀz exceeds minPivot (and is not
// NaN), and reports whether it did. When it did not, the row's pattern and
// z (in ch.x) stay available to combination.
func (ch *sparseCholesky) add(b []entry, a, minPivot float64) (pat []int32, added bool) {
	pat = ch.lower(b)
	rest := a
	for _, j := range pat {
		rest -= ch.x[j] * ch.x[j]
	}
	if !(rest > minPivot) {
		return pat, false
	}
	i := int32(len(ch.diag))
	idx := slices.Clone(pat)
	val := make([]float64, len(pat))
	for t, j := range pat {
		val[t] = ch.x[j]
		if ch.parent[j] < 0 {
			ch.parent[j] = i
		}
	}
	var kids []int32
	for _, j := range pat {
		if ch.parent[j] == i {
			kids = append(kids, j)
		}
	}
	ch.idx, ch.val = append(ch.idx, idx), append(ch.val, val)
	ch.diag, ch.parent = append(ch.diag, math.Sqrt(rest)), append(ch.parent, -1)
	ch.child = append(ch.child, kids)
	return pat, true
}

// combination turns the z that add left for a row it did not add into
// alpha = L⁻ᵀ z (in ch.x), the row's coefficients on the added rows,
// row = Σ alpha_j row_j, and returns alpha's support, ascending: z's pattern
// and its descendants in the elimination tree.
func (ch *sparseCholesky) combination(pat []int32) []int32 {
	ch.stamp++
	sup := pat
	for _, j := range pat {
		ch.mark[j] = ch.stamp
	}
	for k := 0; k < len(sup); k++ {
		for _, c := range ch.child[sup[k]] {
			if ch.mark[c] != ch.stamp {
				ch.mark[c] = ch.stamp
				sup = append(sup, c)
			}
		}
	}
	slices.Sort(sup)
	for k := len(sup) - 1; k >= 0; k-- {
		j := sup[k]
		ch.x[j] /= ch.diag[j]
		for t, l := range ch.idx[j] {
			ch.x[l] -= ch.val[j][t] * ch.x[j]
		}
	}
	ch.pat = sup
	return sup
}

// solve overwrites b (by position) with the solution of L Lᵀ x = b.
func (ch *sparseCholesky) solve(b []float64) {
	for i := range ch.diag {
		s := b[i]
		for t, l := range ch.idx[i] {
			s -= ch.val[i][t] * b[l]
		}
		b[i] = s / ch.diag[i]
	}
	for i := len(ch.diag) - 1; i >= 0; i-- {
		b[i] /= ch.diag[i]
		for t, l := range ch.idx[i] {
			b[l] -= ch.val[i][t] * b[i]
		}
	}
}
