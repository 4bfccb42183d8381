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
	p    []float64 // (n+1) rows × (n+2) columns, row-major: p[i*(n+2)+j]
	bvec []float64
	n    int
}

const nmBig = 1.0e35

// resize prepares the buffers for n parameters, reusing memory.
func (nm *nelderMead) resize(n int) {
	need := (n + 1) * (n + 2)
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
	cols := n + 2
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
		// order; four coordinates at a time so that their (independent)
		// chains of additions overlap instead of waiting on one another.
		fn := float64(n)
		i := 0
		for ; i+4 <= n; i += 4 {
			r0 := P[i*cols : i*cols+n1]
			r1 := P[(i+1)*cols : (i+1)*cols+n1]
			r2 := P[(i+2)*cols : (i+2)*cols+n1]
			r3 := P[(i+3)*cols : (i+3)*cols+n1]
			t0, t1, t2, t3 := -r0[H-1], -r1[H-1], -r2[H-1], -r3[H-1]
			for j := range r0 {
				t0 += r0[j]
				t1 += r1[j]
				t2 += r2[j]
				t3 += r3[j]
			}
			P[i*cols+C-1] = t0 / fn
			P[(i+1)*cols+C-1] = t1 / fn
			P[(i+2)*cols+C-1] = t2 / fn
			P[(i+3)*cols+C-1] = t3 / fn
		}
		for ; i < n; i++ {
			row := P[i*cols : (i+1)*cols]
			t := -row[H-1]
			for _, v := range row[:n1] {
				t += v
			}
			row[C-1] = t / fn
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
