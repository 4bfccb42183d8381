package reconcile

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// nonNegativeColumns solves, per column, the bottom-level quadratic program
//
//	min_b ½ bᵀQb − qᵀb  subject to b ≥ 0,   Q = SᵀW⁻¹S, q = SᵀW⁻¹ŷ,
//
// which is min (ŷ − Sb)ᵀW⁻¹(ŷ − Sb) over non-negative cells: the
// non-negative reconciliation of Wickramasuriya, Athanasopoulos & Hyndman
// (2020), solved by block principal pivoting (Kim & Park 2011, with the
// Júdice & Pires 1994 backup rule), one of the algorithms that paper
// evaluates. Each pivoting step solves the free block Q_FF b_F = q_F by
// conjugate gradient. unconstrained holds the unconstrained solution (m × h);
// since it solves Q b = q, q is recovered as Q·unconstrained.
func nonNegativeColumns(unconstrained *mat.Dense, op quad, pre []float64, tol float64, workLen int) (*mat.Dense, error) {
	m, h := unconstrained.Dims()
	out := mat.NewDense(m, h, nil)
	err := parallelColumns(h, func(c int) error {
		x := mat.Col(nil, c, unconstrained)
		work := make([]float64, workLen)
		q := make([]float64, m)
		op(q, x, work)
		res, err := blockPrincipalPivoting(op, pre, q, x, tol, workLen)
		if err != nil {
			return fmt.Errorf("horizon %d: %w", c+1, err)
		}
		out.SetCol(c, res)
		return nil
	})
	return out, err
}

func blockPrincipalPivoting(op quad, pre, q, x0 []float64, tol float64, workLen int) ([]float64, error) {
	m := len(q)
	free := make([]bool, m)
	x := make([]float64, m)
	anyNeg := false
	for i, v := range x0 {
		if v >= 0 {
			free[i] = true
			x[i] = v
		} else {
			anyNeg = true
		}
	}
	if !anyNeg {
		return x, nil
	}
	scale := floats.Norm(q, math.Inf(1)) + floats.Norm(x0, math.Inf(1))
	eps := 1e-9 * scale
	y := make([]float64, m)
	work := make([]float64, workLen)
	best, backup := m+1, 3
	for iter := 0; iter < 20*m+100; iter++ {
		for i := range x {
			if !free[i] {
				x[i] = 0
			}
		}
		if err := conjugateGradient(op, pre, q, x, free, tol, workLen); err != nil {
			return nil, err
		}
		op(y, x, work)
		for i := range y {
			y[i] -= q[i]
		}
		var infeasible []int
		for i := range x {
			if (free[i] && x[i] < -eps) || (!free[i] && y[i] < -eps) {
				infeasible = append(infeasible, i)
			}
		}
		if len(infeasible) == 0 {
			for i := range x {
				if x[i] < 0 || !free[i] {
					x[i] = 0
				}
			}
			return x, nil
		}
		switch {
		case len(infeasible) < best:
			best, backup = len(infeasible), 3
			flip(free, infeasible)
		case backup > 0:
			backup--
			flip(free, infeasible)
		default:
			flip(free, infeasible[len(infeasible)-1:])
		}
	}
	return nil, fmt.Errorf("%w: non-negative reconciliation (block principal pivoting)", ErrNotConverged)
}

func flip(free []bool, idx []int) {
	for _, i := range idx {
		free[i] = !free[i]
	}
}
