package forecasting

import "math"

// bfgs minimises f with the variable-metric method of Nash (1990), Compact
// Numerical Methods, Algorithm 21 — the one behind R's optim(method =
// "BFGS") — with optim's defaults: parameters divided by parscale,
// central-difference gradients with step 1e-3 on the scaled parameters,
// at most 100 iterations, relative tolerance √ε, backtracking by 0.2 with
// the Armijo constant 1e-4. Following those rules, not a textbook BFGS,
// is what makes the ARIMA estimates land where R's do; stats::arima calls
// it for both the CSS and the exact-likelihood fits.
type bfgs struct {
	f        func(par []float64) float64
	parscale []float64
	maxit    int
	x        []float64 // unscaled evaluation point
}

const (
	bfgsNdeps   = 1e-3
	bfgsStepRed = 0.2
	bfgsAccTol  = 0.0001
	bfgsRelTest = 10.0
)

var bfgsRelTol = math.Sqrt(2.220446049250313e-16)

// eval evaluates f at the scaled point b.
func (o *bfgs) eval(b []float64) float64 {
	for i, v := range b {
		o.x[i] = v * o.parscale[i]
	}
	return o.f(o.x)
}

// grad writes the central-difference gradient at the scaled point b to g
// (optim.c fmingr). It returns false when a difference is not finite (R
// stops with "non-finite finite-difference value"). The components are
// computed last to first — each is independent of the others, so the
// result is the same — so that the ARIMA objective's last evaluation, at
// b itself, is still the one it has recorded when the regression
// coefficient (the last parameter) is perturbed.
func (o *bfgs) grad(b, g []float64) bool {
	for i := len(b) - 1; i >= 0; i-- {
		bi := b[i]
		b[i] = bi + bfgsNdeps
		v1 := o.eval(b)
		b[i] = bi - bfgsNdeps
		v2 := o.eval(b)
		b[i] = bi
		g[i] = (v1 - v2) / (2 * bfgsNdeps)
		if math.IsNaN(g[i]) || math.IsInf(g[i], 0) {
			return false
		}
	}
	return true
}

// minimize runs vmmin from the unscaled start par. It returns the
// unscaled minimiser, the minimum, whether it converged (R's convergence
// code 0) and false in ok when R would have stopped with an error (initial
// value or a gradient not finite).
func (o *bfgs) minimize(par []float64) (best []float64, fmin float64, converged, ok bool) {
	n := len(par)
	o.x = make([]float64, n)
	if o.maxit == 0 {
		o.maxit = 100
	}
	b := make([]float64, n)
	for i := range par {
		b[i] = par[i] / o.parscale[i]
	}
	unscale := func() []float64 {
		out := make([]float64, n)
		for i := range b {
			out[i] = b[i] * o.parscale[i]
		}
		return out
	}
	f := o.eval(b)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, 0, false, false
	}
	if o.maxit < 0 { // evaluate only (optim with maxit = 0)
		return unscale(), f, true, true
	}
	fmin = f
	g := make([]float64, n)
	if !o.grad(b, g) {
		return nil, 0, false, false
	}
	t := make([]float64, n)
	X := make([]float64, n)
	c := make([]float64, n)
	B := make([]float64, n*n) // lower triangle used
	funcount, gradcount, iter := 1, 1, 1
	ilast := gradcount
	count := 0
	_ = funcount
	for {
		if ilast == gradcount {
			for i := range n {
				for j := range i {
					B[i*n+j] = 0
				}
				B[i*n+i] = 1
			}
		}
		copy(X, b)
		copy(c, g)
		gradproj := 0.0
		for i := range n {
			s := 0.0
			for j := 0; j <= i; j++ {
				s -= B[i*n+j] * g[j]
			}
			for j := i + 1; j < n; j++ {
				s -= B[j*n+i] * g[j]
			}
			t[i] = s
			gradproj += s * g[i]
		}
		if gradproj < 0 {
			steplength := 1.0
			accpoint := false
			for {
				count = 0
				for i := range n {
					b[i] = X[i] + steplength*t[i]
					if bfgsRelTest+X[i] == bfgsRelTest+b[i] {
						count++
					}
				}
				if count < n {
					f = o.eval(b)
					funcount++
					accpoint = !math.IsNaN(f) && !math.IsInf(f, 0) && f <= fmin+gradproj*steplength*bfgsAccTol
					if !accpoint {
						steplength *= bfgsStepRed
					}
				}
				if count == n || accpoint {
					break
				}
			}
			enough := f > math.Inf(-1) && math.Abs(f-fmin) > bfgsRelTol*(math.Abs(fmin)+bfgsRelTol)
			if !enough {
				count = n
				fmin = f
			}
			if count < n {
				fmin = f
				if !o.grad(b, g) {
					return nil, 0, false, false
				}
				gradcount++
				iter++
				D1 := 0.0
				for i := range n {
					t[i] *= steplength
					c[i] = g[i] - c[i]
					D1 += t[i] * c[i]
				}
				if D1 > 0 {
					D2 := 0.0
					for i := range n {
						s := 0.0
						for j := 0; j <= i; j++ {
							s += B[i*n+j] * c[j]
						}
						for j := i + 1; j < n; j++ {
							s += B[j*n+i] * c[j]
						}
						X[i] = s
						D2 += s * c[i]
					}
					D2 = 1 + D2/D1
					for i := range n {
						for j := 0; j <= i; j++ {
							B[i*n+j] += (D2*t[i]*t[j] - X[i]*t[j] - t[i]*X[j]) / D1
						}
					}
				} else {
					ilast = gradcount
				}
			} else if ilast < gradcount {
				count = 0
				ilast = gradcount
			}
		} else {
			count = 0
			if ilast == gradcount {
				count = n
			} else {
				ilast = gradcount
			}
		}
		if iter >= o.maxit {
			break
		}
		if gradcount-ilast > 2*n {
			ilast = gradcount
		}
		if count == n && ilast == gradcount {
			break
		}
	}
	return unscale(), fmin, iter < o.maxit, true
}

// hessian returns the symmetrised finite-difference Hessian of f at the
// unscaled point par in unscaled units (optim.c optimhess: differences of
// the numerical gradient with step 1e-3 on the scaled parameters). ok is
// false when a gradient is not finite.
func (o *bfgs) hessian(par []float64) (h []float64, ok bool) {
	n := len(par)
	o.x = make([]float64, n)
	d := make([]float64, n)
	for i := range par {
		d[i] = par[i] / o.parscale[i]
	}
	g1 := make([]float64, n)
	g2 := make([]float64, n)
	h = make([]float64, n*n)
	for i := range n {
		eps := bfgsNdeps / o.parscale[i]
		d[i] += eps
		if !o.grad(d, g1) {
			return nil, false
		}
		d[i] -= 2 * eps
		if !o.grad(d, g2) {
			return nil, false
		}
		for j := range n {
			h[i*n+j] = (g1[j] - g2[j]) / (2 * eps * o.parscale[i] * o.parscale[j])
		}
		d[i] += eps
	}
	for i := range n {
		for j := range i {
			v := 0.5 * (h[i*n+j] + h[j*n+i])
			h[i*n+j], h[j*n+i] = v, v
		}
	}
	return h, true
}
