package forecasting

import "math"

// nelderMead minimises a function with the Nelder-Mead simplex method in the
// variant of Nash (1990), Compact Numerical Methods, Algorithm 19 — the one
// behind R's optim(method = "Nelder-Mead") and forecast::ets. Following the
// same rules (initial step 10% of the largest |parameter|, relative
// tolerance on the simplex's function values, reflection 1, contraction
// 0.5, expansion 2, infeasible points scored as 1e35) is what makes our
// ETS estimates land where R's do.
//
// gonum/optimize.NelderMead differs in its initial simplex and stopping
// rules and drives every evaluation through its Method/Task machinery; the
// ETS fit calls the objective thousands of times per series, so this small
// allocation-free implementation works on buffers owned by the caller.
type nelderMead struct {
	p    []float64 // n+1 rows of nmStride columns (n+2 used), row-major: p[i*nmStride+j]
	bvec []float64
	n    int
}

const nmBig = 1.0e35

// nmStride is the length of a row of the simplex's table: a constant, so
// that the centroid's sums address eight rows from one pointer. The table
// has n+2 columns, so at most nmStride−2 parameters (ETS has at most 29).
const nmStride = 32

// resize prepares the buffers for n parameters, reusing memory.
func (nm *nelderMead) resize(n int) {
	if n+2 > nmStride {
		panic("forecasting: nelderMead with more than nmStride-2 parameters")
	}
	need := (n + 1) * nmStride
	if cap(nm.p) < need {
		nm.p = make([]float64, need)
	}
	nm.p = nm.p[:need]
	if cap(nm.bvec) < n {
		nm.bvec = make([]float64, n)
	}
	nm.bvec = nm.bvec[:n]
	nm.n = n
}

// minimize minimises f starting from x (overwritten with the best point).
// It returns the best value and the number of evaluations. f must not
// retain its argument. A non-finite f is treated as 1e35.
//
// f(x, bound) must return f's value at x when that value is below bound;
// when it is not, f may return any value ≥ bound. Every comparison the
// simplex makes with a new point's value is against the bound it passes
// (the worst vertex for a reflection, the reflected point for an
// expansion, the vertex being replaced for a contraction), and such a
// value is never kept, so the steps are those of exact evaluation. Points
// that are kept (the initial simplex, a shrunk one) are asked for with
// bound +Inf.
func (nm *nelderMead) minimize(f func(x []float64, bound float64) float64, x []float64, reltol float64, maxit int) (float64, int) {
	n := len(x)
	nm.resize(n)
	const cols = nmStride
	P := nm.p
	at := func(i, j int) int { return i*cols + j }
	b := nm.bvec
	copy(b, x)
	eval := func(bound float64) float64 {
		v := f(b, bound)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nmBig
		}
		return v
	}
	fv := f(b, math.Inf(1))
	if math.IsNaN(fv) || math.IsInf(fv, 0) {
		return math.Inf(1), 1
	}
	count := 1
	convtol := reltol * (math.Abs(fv) + reltol)
	n1 := n + 1
	C := n + 2
	P[at(n1-1, 0)] = fv
	for i := 0; i < n; i++ {
		P[at(i, 0)] = b[i]
	}
	L := 1
	step := 0.0
	for i := 0; i < n; i++ {
		if 0.1*math.Abs(b[i]) > step {
			step = 0.1 * math.Abs(b[i])
		}
	}
	if step == 0 {
		step = 0.1
	}
	size := 0.0
	for j := 2; j <= n1; j++ {
		for i := 0; i < n; i++ {
			P[at(i, j-1)] = b[i]
		}
		try := step
		for P[at(j-2, j-1)] == b[j-2] {
			P[at(j-2, j-1)] = b[j-2] + try
			try *= 10
		}
		size += try
	}
	oldsize := size
	calcvert := true
	for {
		if calcvert {
			for j := 0; j < n1; j++ {
				if j+1 != L {
					for i := 0; i < n; i++ {
						b[i] = P[at(i, j)]
					}
					P[at(n1-1, j)] = eval(math.Inf(1))
					count++
				}
			}
			calcvert = false
		}
		VL := P[at(n1-1, L-1)]
		VH := VL
		H := L
		for j := 1; j <= n1; j++ {
			if j != L {
				v := P[at(n1-1, j-1)]
				if v < VL {
					L = j
					VL = v
				}
				if v > VH {
					H = j
					VH = v
				}
			}
		}
		if VH <= VL+convtol {
			break
		}
		// Centroid of all vertices but H, each coordinate summed in R's
		// order; eight coordinates at a time (four when n < 8) so that
		// their independent chains of additions overlap instead of
		// waiting on one another. The last group is moved back to end at
		// coordinate n−1 and so may recompute coordinates of the group
		// before it, which gives them the same values.
		fn := float64(n)
		m1 := min(n1, cols) // = n1; tells the compiler j < cols
		for i := 0; i < n; {
			switch {
			case n >= 8:
				i = min(i, n-8)
				r := (*[8 * cols]float64)(P[i*cols : (i+8)*cols])
				h := min(H-1, cols-1)
				t0, t1, t2, t3 := -r[h], -r[cols+h], -r[2*cols+h], -r[3*cols+h]
				t4, t5, t6, t7 := -r[4*cols+h], -r[5*cols+h], -r[6*cols+h], -r[7*cols+h]
				for j := 0; j < m1; j++ {
					t0 += r[j]
					t1 += r[cols+j]
					t2 += r[2*cols+j]
					t3 += r[3*cols+j]
					t4 += r[4*cols+j]
					t5 += r[5*cols+j]
					t6 += r[6*cols+j]
					t7 += r[7*cols+j]
				}
				c := min(C-1, cols-1)
				r[c], r[cols+c], r[2*cols+c], r[3*cols+c] = t0/fn, t1/fn, t2/fn, t3/fn
				r[4*cols+c], r[5*cols+c], r[6*cols+c], r[7*cols+c] = t4/fn, t5/fn, t6/fn, t7/fn
				i += 8
			case n >= 4:
				i = min(i, n-4)
				r := (*[4 * cols]float64)(P[i*cols : (i+4)*cols])
				h := min(H-1, cols-1)
				t0, t1, t2, t3 := -r[h], -r[cols+h], -r[2*cols+h], -r[3*cols+h]
				for j := 0; j < m1; j++ {
					t0 += r[j]
					t1 += r[cols+j]
					t2 += r[2*cols+j]
					t3 += r[3*cols+j]
				}
				c := min(C-1, cols-1)
				r[c], r[cols+c], r[2*cols+c], r[3*cols+c] = t0/fn, t1/fn, t2/fn, t3/fn
				i += 4
			default:
				row := P[i*cols : (i+1)*cols]
				t := -row[H-1]
				for _, v := range row[:n1] {
					t += v
				}
				row[C-1] = t / fn
				i++
			}
		}
		for i := 0; i < n; i++ {
			b[i] = 2*P[at(i, C-1)] - P[at(i, H-1)]
		}
		v := eval(VH)
		count++
		VR := v
		if VR < VL {
			P[at(n1-1, C-1)] = v
			for i := 0; i < n; i++ {
				e := 2*b[i] - P[at(i, C-1)]
				P[at(i, C-1)] = b[i]
				b[i] = e
			}
			v = eval(VR)
			count++
			if v < VR {
				for i := 0; i < n; i++ {
					P[at(i, H-1)] = b[i]
				}
				P[at(n1-1, H-1)] = v
			} else {
				for i := 0; i < n; i++ {
					P[at(i, H-1)] = P[at(i, C-1)]
				}
				P[at(n1-1, H-1)] = VR
			}
		} else {
			if VR < VH {
				for i := 0; i < n; i++ {
					P[at(i, H-1)] = b[i]
				}
				P[at(n1-1, H-1)] = VR
			}
			for i := 0; i < n; i++ {
				b[i] = 0.5*P[at(i, H-1)] + 0.5*P[at(i, C-1)]
			}
			v = eval(P[at(n1-1, H-1)])
			count++
			if v < P[at(n1-1, H-1)] {
				for i := 0; i < n; i++ {
					P[at(i, H-1)] = b[i]
				}
				P[at(n1-1, H-1)] = v
			} else if VR >= VH {
				calcvert = true
				size = 0
				for j := 0; j < n1; j++ {
					if j+1 != L {
						for i := 0; i < n; i++ {
							P[at(i, j)] = 0.5*(P[at(i, j)]-P[at(i, L-1)]) + P[at(i, L-1)]
							size += math.Abs(P[at(i, j)] - P[at(i, L-1)])
						}
					}
				}
				if size < oldsize {
					oldsize = size
				} else {
					break
				}
			}
		}
		if count > maxit {
			break
		}
	}
	for i := 0; i < n; i++ {
		x[i] = P[at(i, L-1)]
	}
	return P[at(n1-1, L-1)], count
}
