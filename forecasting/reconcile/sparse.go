package reconcile

import "gonum.org/v1/gonum/mat"

// CSR is a sparse matrix in compressed sparse row form. Row i holds the
// column indices ColIdx[RowPtr[i]:RowPtr[i+1]] (strictly increasing) and, when
// Val is non-nil, the matching values; a nil Val means every stored entry is 1,
// which is the case for summing matrices.
//
// CSR implements mat.Matrix so that small instances can be copied into gonum
// dense types (mat.DenseCopyOf) for checks; At costs a binary search.
// A CSR is immutable after construction and safe for concurrent reads.
type CSR struct {
	rows, cols int
	RowPtr     []int
	ColIdx     []int
	Val        []float64
}

var _ mat.Matrix = (*CSR)(nil)

// Dims returns the number of rows and columns.
func (a *CSR) Dims() (r, c int) { return a.rows, a.cols }

// T returns the implicit transpose.
func (a *CSR) T() mat.Matrix { return mat.Transpose{Matrix: a} }

// At returns the element at row i, column j. It panics when i or j is out of
// range, like gonum's matrices.
func (a *CSR) At(i, j int) float64 {
	if i < 0 || i >= a.rows || j < 0 || j >= a.cols {
		panic(mat.ErrIndexOutOfRange)
	}
	lo, hi := a.RowPtr[i], a.RowPtr[i+1]
	for lo < hi {
		mid := (lo + hi) / 2
		switch c := a.ColIdx[mid]; {
		case c == j:
			return a.value(mid)
		case c < j:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return 0
}

// NNZ returns the number of stored entries.
func (a *CSR) NNZ() int { return len(a.ColIdx) }

func (a *CSR) value(k int) float64 {
	if a.Val == nil {
		return 1
	}
	return a.Val[k]
}

// Row returns the column indices of the stored entries of row i. The slice
// aliases the matrix and must not be modified.
func (a *CSR) Row(i int) []int { return a.ColIdx[a.RowPtr[i]:a.RowPtr[i+1]] }

// MulVec sets dst = A x. It panics on a length mismatch.
func (a *CSR) MulVec(dst, x []float64) {
	if len(dst) != a.rows || len(x) != a.cols {
		panic(mat.ErrShape)
	}
	for i := 0; i < a.rows; i++ {
		var s float64
		if a.Val == nil {
			for _, j := range a.ColIdx[a.RowPtr[i]:a.RowPtr[i+1]] {
				s += x[j]
			}
		} else {
			for k := a.RowPtr[i]; k < a.RowPtr[i+1]; k++ {
				s += a.Val[k] * x[a.ColIdx[k]]
			}
		}
		dst[i] = s
	}
}

// MulTransVec sets dst = Aᵀ x. It panics on a length mismatch.
func (a *CSR) MulTransVec(dst, x []float64) {
	if len(dst) != a.cols || len(x) != a.rows {
		panic(mat.ErrShape)
	}
	clear(dst)
	for i := 0; i < a.rows; i++ {
		xi := x[i]
		if xi == 0 {
			continue
		}
		if a.Val == nil {
			for _, j := range a.ColIdx[a.RowPtr[i]:a.RowPtr[i+1]] {
				dst[j] += xi
			}
		} else {
			for k := a.RowPtr[i]; k < a.RowPtr[i+1]; k++ {
				dst[a.ColIdx[k]] += a.Val[k] * xi
			}
		}
	}
}

// newPatternCSR builds a 0/1 CSR matrix from sorted column lists per row.
func newPatternCSR(rows [][]int, cols int) *CSR {
	a := &CSR{rows: len(rows), cols: cols, RowPtr: make([]int, len(rows)+1)}
	n := 0
	for _, r := range rows {
		n += len(r)
	}
	a.ColIdx = make([]int, 0, n)
	for i, r := range rows {
		a.ColIdx = append(a.ColIdx, r...)
		a.RowPtr[i+1] = len(a.ColIdx)
	}
	return a
}
