package reconcile

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// disaggSolver implements bottom-up, top-down and middle-out: the forecasts
// of the nodes of one level are split among their cells.
type disaggSolver struct {
	s        *Structure
	level    []int
	props    Proportions
	hist     []float64 // historical proportion of each cell within its level node
	children map[int][]int
}

func (d *disaggSolver) historicalProportions(history mat.Matrix) error {
	if history == nil {
		return fmt.Errorf("%w: historical proportions need the cells' history", ErrInput)
	}
	m, t := history.Dims()
	if m != d.s.NumCells() {
		return fmt.Errorf("%w: history has %d rows, structure has %d cells", ErrShape, m, d.s.NumCells())
	}
	if t == 0 {
		return fmt.Errorf("%w: history has no periods", ErrInput)
	}
	d.hist = make([]float64, m)
	nAgg := d.s.nAgg
	for _, l := range d.level {
		cells := d.s.NodeCells(l)
		if l >= nAgg {
			d.hist[l-nAgg] = 1
			continue
		}
		total := make([]float64, t)
		for _, j := range cells {
			for c := 0; c < t; c++ {
				total[c] += history.At(j, c)
			}
		}
		sumTotal := floats.Sum(total)
		for _, j := range cells {
			var p float64
			switch d.props {
			case AverageHistoricalProportions:
				k := 0
				for c := 0; c < t; c++ {
					if total[c] != 0 {
						p += history.At(j, c) / total[c]
						k++
					}
				}
				if k == 0 {
					p = 1 / float64(len(cells))
				} else {
					p /= float64(k)
				}
			case ProportionsOfHistoricalAverages:
				if sumTotal == 0 {
					p = 1 / float64(len(cells))
				} else {
					var sj float64
					for c := 0; c < t; c++ {
						sj += history.At(j, c)
					}
					p = sj / sumTotal
				}
			default:
				return fmt.Errorf("%w: unknown proportions %d", ErrInput, d.props)
			}
			if math.IsNaN(p) || math.IsInf(p, 0) {
				return fmt.Errorf("%w: history of cell %v gives proportion %v", ErrInput, d.s.Node(nAgg+j), p)
			}
			d.hist[j] = p
		}
	}
	return nil
}

func (d *disaggSolver) bottom(base *mat.Dense) (*mat.Dense, error) {
	s := d.s
	_, h := base.Dims()
	out := mat.NewDense(s.NumCells(), h, nil)
	if d.hist != nil {
		for _, l := range d.level {
			for _, j := range s.NodeCells(l) {
				for c := 0; c < h; c++ {
					out.Set(j, c, d.hist[j]*base.At(l, c))
				}
			}
		}
		return out, nil
	}
	if d.children == nil {
		d.children = map[int][]int{}
	}
	var split func(node, c int, v float64)
	split = func(node, c int, v float64) {
		if node >= s.nAgg {
			out.Set(node-s.nAgg, c, v)
			return
		}
		ch, ok := d.children[node]
		if !ok {
			ch = s.splitChildren(node)
			d.children[node] = ch
		}
		var sum float64
		for _, k := range ch {
			sum += base.At(k, c)
		}
		for _, k := range ch {
			share := 1 / float64(len(ch))
			if sum != 0 {
				share = base.At(k, c) / sum
			}
			split(k, c, v*share)
		}
	}
	for _, l := range d.level {
		for c := 0; c < h; c++ {
			split(l, c, base.At(l, c))
		}
	}
	return out, nil
}

func (d *disaggSolver) nonNegative(b *mat.Dense) (*mat.Dense, error) {
	r, c := b.Dims()
	for i := 0; i < r; i++ {
		for k := 0; k < c; k++ {
			if b.At(i, k) < 0 {
				b.Set(i, k, 0)
			}
		}
	}
	return b, nil
}

// diagSolver implements OLS and WLS: b̃ solves (SᵀW⁻¹S) b = SᵀW⁻¹ŷ for
// diagonal W by preconditioned conjugate gradient, one horizon per goroutine.
// Only S (sparse) is stored: the m × m matrix SᵀW⁻¹S is never formed (it is
// dense: the total couples every pair of cells).
type diagSolver struct {
	s   *Structure
	inv []float64 // 1/w per node
	pre []float64 // diagonal of SᵀW⁻¹S (Jacobi preconditioner)
	tol float64
}

func newDiagSolver(s *Structure, w []float64, tol float64) *diagSolver {
	d := &diagSolver{s: s, inv: make([]float64, len(w)), pre: make([]float64, s.NumCells()), tol: tol}
	for i, v := range w {
		d.inv[i] = 1 / v
	}
	s.summing.MulTransVec(d.pre, d.inv)
	return d
}

// quad is a symmetric positive definite operator dst = Q v with workspace.
type quad func(dst, v, work []float64)

func (d *diagSolver) op() quad {
	return func(dst, v, work []float64) {
		d.s.summing.MulVec(work, v)
		for i := range work {
			work[i] *= d.inv[i]
		}
		d.s.summing.MulTransVec(dst, work)
	}
}

func (d *diagSolver) rhs(dst, yhat []float64) {
	work := make([]float64, len(yhat))
	for i, v := range yhat {
		work[i] = v * d.inv[i]
	}
	d.s.summing.MulTransVec(dst, work)
}

func (d *diagSolver) bottom(base *mat.Dense) (*mat.Dense, error) {
	s := d.s
	n, h := base.Dims()
	m := s.NumCells()
	out := mat.NewDense(m, h, nil)
	op := d.op()
	return out, parallelColumns(h, func(c int) error {
		yhat := mat.Col(nil, c, base)
		b := make([]float64, m)
		d.rhs(b, yhat)
		x := make([]float64, m)
		copy(x, yhat[s.nAgg:]) // bottom-up start
		if err := conjugateGradient(op, d.pre, b, x, nil, d.tol, n); err != nil {
			return fmt.Errorf("horizon %d: %w", c+1, err)
		}
		out.SetCol(c, x)
		return nil
	})
}

func (d *diagSolver) nonNegative(bottom *mat.Dense) (*mat.Dense, error) {
	return nonNegativeColumns(bottom, d.op(), d.pre, d.tol, d.s.NumNodes())
}

// parallelColumns runs f for c in [0, h) on up to GOMAXPROCS goroutines and
// returns the first error by column order. Results depend only on c, so the
// output is deterministic.
func parallelColumns(h int, f func(c int) error) error {
	workers := min(h, runtime.GOMAXPROCS(0))
	errs := make([]error, h)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				errs[c] = f(c)
			}
		}()
	}
	for c := 0; c < h; c++ {
		next <- c
	}
	close(next)
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// conjugateGradient solves Q x = b by Jacobi-preconditioned conjugate
// gradient from the start value in x, until ‖r‖ ≤ tol·‖b‖. When free is
// non-nil only the free coordinates move (the others stay as given and the
// system solved is Q_FF x_F = b_F − Q_FG x_G). work must be the operator's
// workspace length.
func conjugateGradient(op quad, pre, b, x []float64, free []bool, tol float64, workLen int) error {
	m := len(b)
	work := make([]float64, workLen)
	r := make([]float64, m)
	z := make([]float64, m)
	p := make([]float64, m)
	q := make([]float64, m)
	mask := func(v []float64) {
		if free != nil {
			for i, f := range free {
				if !f {
					v[i] = 0
				}
			}
		}
	}
	op(q, x, work)
	for i := range r {
		r[i] = b[i] - q[i]
	}
	mask(r)
	bn := floats.Norm(b, 2)
	if free != nil {
		bb := make([]float64, m)
		copy(bb, b)
		mask(bb)
		bn = floats.Norm(bb, 2)
	}
	if bn == 0 {
		bn = 1
	}
	precond := func() {
		for i := range z {
			z[i] = r[i] / pre[i]
		}
		mask(z)
	}
	precond()
	copy(p, z)
	rz := floats.Dot(r, z)
	maxIter := 10*m + 100
	for it := 0; it < maxIter; it++ {
		if floats.Norm(r, 2) <= tol*bn {
			return nil
		}
		op(q, p, work)
		mask(q)
		pq := floats.Dot(p, q)
		if pq <= 0 {
			return fmt.Errorf("%w: operator not positive definite (pᵀQp = %g)", ErrSingular, pq)
		}
		alpha := rz / pq
		floats.AddScaled(x, alpha, p)
		floats.AddScaled(r, -alpha, q)
		precond()
		rzNew := floats.Dot(r, z)
		beta := rzNew / rz
		rz = rzNew
		for i := range p {
			p[i] = z[i] + beta*p[i]
		}
	}
	return fmt.Errorf("%w: conjugate gradient after %d iterations, relative residual %g", ErrNotConverged, maxIter, floats.Norm(r, 2)/bn)
}
