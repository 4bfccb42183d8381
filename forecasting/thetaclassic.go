package forecasting

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// classicInit is how the classic Theta method starts simple exponential
// smoothing on the θ=2 line.
type classicInit int

const (
	// classicInitFirst starts the level at the first value of the θ=2
	// line (ℓ0 = Z_1), a common textbook start of SES (Makridakis,
	// Wheelwright & Hyndman 1998); only α is estimated.
	classicInitFirst classicInit = iota
	// classicInitOptimal estimates ℓ0 jointly with α by least squares.
	classicInitOptimal
)

// classicOptions are the estimation choices of the classic Theta method.
// The zero value is not valid: use defaultClassic.
type classicOptions struct {
	init             classicInit
	alphaLo, alphaHi float64 // search range of α
}

// defaultClassic is MethodThetaClassic: ℓ0 = Z_1, α ∈ [0, 1]. EVALUATION.md
// gives the M3 figures of this and the other variants it was chosen over.
var defaultClassic = classicOptions{init: classicInitFirst, alphaLo: 0, alphaHi: 1}

// classicTheta is the Theta method of Assimakopoulos & Nikolopoulos (2000)
// computed the way the M3 entry describes it, not in the SES-with-drift
// shortcut of Hyndman & Billah (2003) that thetaModel (R's thetaf) uses:
//
//  1. seasonal adjustment exactly as thetaf (thetaAdjust);
//  2. the θ=0 line is the least-squares line L_t = a + b·t, t = 1..n, of
//     the adjusted data x, extrapolated as a straight line;
//  3. the θ=2 line Z_t = 2·x_t − L_t is extrapolated by simple exponential
//     smoothing fitted to Z itself: α (and ℓ0 if so chosen) minimise the
//     in-sample one-step squared error Σ_t (Z_t − ℓ_{t−1})²;
//  4. the forecast is the equal-weight mean ½(L_{n+h} + ℓ_n), times the
//     seasonal index.
//
// The point forecasts have the form of SES with drift b/2, like thetaf's;
// they differ in α and ℓ0. thetaf fits plain SES (no drift) to x, so on a
// trending series its α is pushed up to follow the trend; fitting SES to
// the θ=2 line measures the error of the combined forecast, whose drift
// does that work, so α is the one the method's own one-step error wants.
//
// Stochastic form: the combined one-step fitted value μ_t = ½(L_t + ℓ_{t−1})
// leaves the residual ε_t = x_t − μ_t = ½(Z_t − ℓ_{t−1}), and
// μ_{t+1} = μ_t + b/2 + α·ε_t: SES with drift b/2 and Gaussian ε with
// variance σ² = Σε²/(n − k), k the number of estimated coefficients (a, b,
// α and ℓ0 when optimised). Intervals and sample paths come from that form
// on the adjusted scale, h-step variance σ²(1 + (h−1)α²), and are then
// multiplied by the seasonal index (a, b are treated as known).
type classicTheta struct {
	y        []float64
	m        int
	seasonal []float64 // seasonal index per in-sample position, nil if none
	fig      []float64 // one cycle of indices; fig[t%m] applies to position t
	opts     classicOptions
	a, b     float64 // θ=0 line L_t = a + b·t, t = 1..n, on the adjusted data
	alpha    float64
	level0   float64
	lastL    float64 // SES level of the θ=2 line after the last observation
	sigma2   float64 // variance of ε on the adjusted scale
	fitted   []float64
}

// fitThetaClassic fits the classic Theta method. With estimate false the
// given alpha and level0 are used as they are (Restore).
func fitThetaClassic(y []float64, m int, opts classicOptions, alpha, level0 float64, estimate bool) (*classicTheta, error) {
	n := len(y)
	if n < 4 {
		return nil, tooShort("classic Theta", n, 4)
	}
	if err := checkFinite(y); err != nil {
		return nil, err
	}
	c := &classicTheta{y: y, m: max(m, 1), opts: opts}
	x, seas := thetaAdjust(y, m)
	if seas != nil {
		c.seasonal, c.fig = seas, seas[:m]
	}
	c.a, c.b = simpleRegression(x)
	z := make([]float64, n)
	for i := range x {
		z[i] = 2*x[i] - (c.a + c.b*float64(i+1))
	}
	if estimate {
		alpha, level0 = estimateSESLine(z, opts)
	}
	if !(alpha >= 0 && alpha <= 1) || math.IsNaN(level0) || math.IsInf(level0, 0) {
		return nil, fmt.Errorf("%w: classic Theta needs 0 ≤ alpha ≤ 1 and a finite initial level, got alpha %v, level %v", ErrBadSpec, alpha, level0)
	}
	c.alpha, c.level0 = alpha, level0
	c.fitted = make([]float64, n)
	l, sse := level0, 0.0
	for i := range z {
		mu := (c.a + c.b*float64(i+1) + l) / 2
		e := x[i] - mu
		sse += e * e
		c.fitted[i] = mu
		if c.seasonal != nil {
			c.fitted[i] *= c.seasonal[i]
		}
		l += alpha * (z[i] - l)
	}
	c.lastL = l
	k := 3 // a, b, α
	if opts.init == classicInitOptimal {
		k++
	}
	c.sigma2 = sse / float64(max(n-k, 1))
	return c, nil
}

// sesSSE runs SES with smoothing alpha over z from level 0 and returns
// the one-step errors' sums needed to profile out the initial level: with
// ℓ0 = 0 the errors are c_t, and a start at ℓ0 changes error t by
// −(1−α)^{t−1}·ℓ0. It returns Σc², Σc·w and Σw², w_t = (1−α)^{t−1}.
func sesSSE(z []float64, alpha float64) (cc, cw, ww float64) {
	l, w := 0.0, 1.0
	for _, v := range z {
		e := v - l
		cc += e * e
		cw += e * w
		ww += w * w
		l += alpha * e
		w *= 1 - alpha
	}
	return cc, cw, ww
}

// sesObjective returns the in-sample sum of squared one-step errors of
// SES on z at alpha, and the initial level it uses: z[0] for
// classicInitFirst, the least-squares level for classicInitOptimal.
func sesObjective(z []float64, alpha float64, init classicInit) (sse, level0 float64) {
	cc, cw, ww := sesSSE(z, alpha)
	if init == classicInitOptimal {
		level0 = cw / ww
	} else {
		level0 = z[0]
	}
	// Σ(c − w·ℓ0)² = Σc² − 2ℓ0·Σcw + ℓ0²·Σw².
	return math.Max(cc-2*level0*cw+level0*level0*ww, 0), level0
}

// estimateSESLine minimises sesObjective over α in [opts.alphaLo,
// opts.alphaHi]: a grid of 101 points finds the best basin (the objective
// need not be unimodal), golden-section search refines it to 1e-10. The
// initial level is z[0] or profiled out exactly (the error is linear in
// it), so the search is one-dimensional and deterministic.
func estimateSESLine(z []float64, opts classicOptions) (alpha, level0 float64) {
	lo, hi := opts.alphaLo, opts.alphaHi
	f := func(a float64) float64 { s, _ := sesObjective(z, a, opts.init); return s }
	const grid = 100
	best, bestF := lo, math.Inf(1)
	for i := 0; i <= grid; i++ {
		a := lo + (hi-lo)*float64(i)/grid
		if v := f(a); v < bestF {
			best, bestF = a, v
		}
	}
	step := (hi - lo) / grid
	l, u := math.Max(lo, best-step), math.Min(hi, best+step)
	g := (math.Sqrt(5) - 1) / 2
	c, d := u-g*(u-l), l+g*(u-l)
	fc, fd := f(c), f(d)
	for u-l > 1e-10 {
		if fc <= fd {
			u, d, fd = d, c, fc
			c = u - g*(u-l)
			fc = f(c)
		} else {
			l, c, fc = c, d, fd
			d = l + g*(u-l)
			fd = f(d)
		}
	}
	if m := (l + u) / 2; f(m) < bestF {
		best = m
	}
	_, level0 = sesObjective(z, best, opts.init)
	return best, level0
}

// adjusted returns the point forecast on the seasonally adjusted scale.
func (c *classicTheta) adjusted(h int) []float64 {
	n := len(c.y)
	out := make([]float64, h)
	for i := range out {
		out[i] = (c.a + c.b*float64(n+i+1) + c.lastL) / 2
	}
	return out
}

func (c *classicTheta) index(i int) float64 {
	if c.seasonal == nil {
		return 1
	}
	return c.fig[(len(c.y)+i)%c.m]
}

func (c *classicTheta) point(h int) []float64 {
	out := c.adjusted(h)
	for i := range out {
		out[i] *= c.index(i)
	}
	return out
}

// bounds: adjusted mean ± z·σ·sqrt(1 + (h−1)α²), times the seasonal index.
func (c *classicTheta) bounds(mean []float64, level float64) (lo, hi []float64) {
	adj := c.adjusted(len(mean))
	v := make([]float64, len(mean))
	for i := range v {
		v[i] = c.sigma2 * (1 + float64(i)*c.alpha*c.alpha)
	}
	lo, hi = normalBounds(adj, v, level)
	for i := range lo {
		s := c.index(i)
		lo[i], hi[i] = lo[i]*s, hi[i]*s
		if lo[i] > hi[i] { // a negative index flips the interval
			lo[i], hi[i] = hi[i], lo[i]
		}
	}
	return lo, hi
}

// path simulates the stochastic form: μ ← μ + b/2 + α·ε, x = μ + ε,
// re-seasonalised multiplicatively.
func (c *classicTheta) path(rng *rand.Rand, out []float64) {
	n := len(c.y)
	sd := math.Sqrt(c.sigma2)
	mu := (c.a + c.b*float64(n+1) + c.lastL) / 2
	for i := range out {
		e := sd * rng.NormFloat64()
		out[i] = (mu + e) * c.index(i)
		mu += c.b/2 + c.alpha*e
	}
}

func (c *classicTheta) model() *Model {
	d := Description{Method: MethodThetaClassic, Name: "Theta (classic)", Period: c.m, N: len(c.y),
		Params:  map[string]float64{"alpha": c.alpha, "intercept": c.a, "slope": c.b},
		Initial: []float64{c.level0}, Sigma2: c.sigma2}
	if c.opts.init == classicInitOptimal {
		d.Params["optimal_initial"] = 1
	}
	if c.seasonal != nil {
		d.Name = "Theta (classic, seasonally adjusted)"
		d.Params["seasonal"] = 1
	}
	return &Model{desc: d, y: c.y, fitted: c.fitted, impl: c}
}
