package forecasting

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// regressor is the deterministic term of an ARIMA model: none, an
// intercept (d = D = 0) or a drift, a linear trend in t = 1..n (d + D = 1).
type regressor int

const (
	regNone regressor = iota
	regIntercept
	regDrift
)

// errARIMAFit marks a fit that R's stats::arima would abandon with an
// error (non-stationary AR part from CSS, non-finite likelihood or
// gradient, singular Hessian); auto.arima scores such a model as Inf.
var errARIMAFit = errors.New("forecasting: ARIMA fit failed")

// arimaModel is a fitted ARIMA(p,d,q)(P,D,Q)m model with an optional
// intercept or drift, estimated as R's stats::arima(method = "CSS-ML")
// does: conditional sum of squares for starting values, then the exact
// Gaussian likelihood by Kalman filter, both minimised with BFGS over
// transformed parameters that keep the AR part stationary.
type arimaModel struct {
	ord  arimaOrder
	reg  regressor
	coef []float64 // ar, ma, sar, sma, then the intercept or drift
	y    []float64
	// fit statistics as forecast::auto.arima reports them
	loglik, aic, aicc, bic float64
	sigma2                 float64 // Σe²/(n* − k + 1), the variance the intervals use
	resid                  []float64
	fitted                 []float64
	// varCheck reports whether some estimated coefficient variance is
	// negative or the Hessian cannot be computed or inverted (R's
	// checkarima). It is evaluated lazily — the finite-difference Hessian
	// costs 4k² likelihood evaluations — because auto.arima's verdict only
	// matters for a model that would otherwise become the best.
	varCheck func() bool
	kal      *kalman // filtered state after the last observation
}

// regColumn returns the regressor's values at t = from+1 .. from+n.
func regColumn(reg regressor, from, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		if reg == regDrift {
			x[i] = float64(from + i + 1)
		} else {
			x[i] = 1
		}
	}
	return x
}

// difference applies (1−B)^d(1−B^m)^D, dropping the first d+mD values.
func difference(x []float64, o arimaOrder) []float64 {
	out := append([]float64(nil), x...)
	for range o.d {
		for i := len(out) - 1; i > 0; i-- {
			out[i] -= out[i-1]
		}
		out = out[1:]
	}
	for range o.sd {
		if len(out) <= o.m {
			return nil
		}
		for i := len(out) - 1; i >= o.m; i-- {
			out[i] -= out[i-o.m]
		}
		out = out[o.m:]
	}
	return out
}

// regInit returns the least-squares coefficient of the regressor on the
// differenced data and ten times its standard error (stats::arima's
// starting value and parscale for a regression coefficient).
func regInit(y, col []float64, o arimaOrder) (coef, scale float64) {
	dx, dX := difference(y, o), difference(col, o)
	if len(dx) <= 1 || isAllZero(dX) {
		dx, dX = y, col
	}
	sxx, sxy := 0.0, 0.0
	for i := range dx {
		sxx += dX[i] * dX[i]
		sxy += dX[i] * dx[i]
	}
	coef = sxy / sxx
	rss := 0.0
	for i := range dx {
		e := dx[i] - coef*dX[i]
		rss += e * e
	}
	se := math.Sqrt(rss / float64(len(dx)-1) / sxx)
	return coef, 10 * se
}

func isAllZero(x []float64) bool {
	for _, v := range x {
		if v != 0 {
			return false
		}
	}
	return true
}

// arimaObjective evaluates the CSS and exact-likelihood objectives of one
// specification; its buffers are reused across evaluations.
type arimaObjective struct {
	y, col     []float64
	o          arimaOrder
	narma      int
	delta      []float64
	phi, theta []float64
	x, w, res  []float64
	tp         []float64
	kal        *kalman
	ncond      int
}

func newArimaObjective(y []float64, o arimaOrder, reg regressor) *arimaObjective {
	pp, qq := o.expandedLen()
	n := len(y)
	ob := &arimaObjective{y: y, o: o, narma: o.narma(), delta: o.delta(),
		phi: make([]float64, pp), theta: make([]float64, qq),
		x: make([]float64, n), w: make([]float64, n), res: make([]float64, n),
		ncond: o.d + o.sd*o.m + o.p + o.m*o.sp}
	ob.kal = newKalman(ob.phi, ob.theta, ob.delta)
	ob.kal.rec = true
	if reg != regNone {
		ob.col = regColumn(reg, 0, n)
	}
	return ob
}

// adjusted writes y − β·regressor to ob.x.
func (ob *arimaObjective) adjusted(par []float64) []float64 {
	copy(ob.x, ob.y)
	if ob.col != nil {
		b := par[ob.narma]
		for i := range ob.x {
			ob.x[i] -= ob.col[i] * b
		}
	}
	return ob.x
}

// css is ½·log of the conditional mean squared residual (armaCSS).
func (ob *arimaObjective) css(par []float64) float64 {
	expandARMA(ob.o, par, ob.phi, ob.theta)
	x := ob.adjusted(par)
	return 0.5 * math.Log(cssResiduals(x, ob.o, ob.phi, ob.theta, ob.ncond, ob.w, ob.res))
}

// ml is ½·(log σ̂² + mean log gain), the concentrated exact negative
// log-likelihood divided by the number of innovations (armafn); trans
// maps the AR blocks through partrans first.
func (ob *arimaObjective) ml(par []float64, trans bool) float64 {
	tp := par
	if trans {
		if cap(ob.tp) < len(par) {
			ob.tp = make([]float64, len(par))
		}
		tp = ob.tp[:len(par)]
		transformARTo(ob.o, par, tp)
	}
	expandARMA(ob.o, tp, ob.phi, ob.theta)
	k := ob.kal
	var ssq, sumlog float64
	var nu int
	if k.recorded() {
		ssq, sumlog, nu = k.filterMean(ob.adjusted(par))
	} else {
		if !k.init() {
			return math.MaxFloat64
		}
		ssq, sumlog, nu = k.filter(ob.adjusted(par), nil)
	}
	s2 := ssq / float64(nu)
	return 0.5 * (math.Log(s2) + sumlog/float64(nu))
}

// fitARIMA estimates the model as stats::arima(y, order, seasonal,
// include.mean/xreg = drift, method = "CSS-ML", transform.pars = TRUE).
func fitARIMA(y []float64, o arimaOrder, reg regressor) (*arimaModel, error) {
	n := len(y)
	ob := newArimaObjective(y, o, reg)
	narma := ob.narma
	npar := narma
	if reg != regNone {
		npar++
	}
	nused := n - len(ob.delta)
	if nused <= 0 {
		return nil, tooShort("arima", n, len(ob.delta)+1)
	}
	init := make([]float64, npar)
	scale := make([]float64, npar)
	for i := range scale {
		scale[i] = 1
	}
	if reg != regNone {
		init[narma], scale[narma] = regInit(y, ob.col, o)
		if !(scale[narma] > 0) || math.IsInf(scale[narma], 0) {
			return nil, fmt.Errorf("%w: regression scale %v", errARIMAFit, scale[narma])
		}
	}
	if npar > 0 {
		cssOpt := &bfgs{f: ob.css, parscale: scale}
		par, _, conv, ok := cssOpt.minimize(init)
		if !ok {
			return nil, fmt.Errorf("%w: CSS objective not finite", errARIMAFit)
		}
		if conv {
			init = par
		}
		if !arStationary(init[:o.p]) || !arStationary(init[o.p+o.q:o.p+o.q+o.sp]) {
			return nil, fmt.Errorf("%w: non-stationary AR part from CSS", errARIMAFit)
		}
	}
	init = invTransformAR(o, init)
	copy(init[o.p:o.p+o.q], maInvert(init[o.p:o.p+o.q]))
	v := o.p + o.q + o.sp
	copy(init[v:v+o.sq], maInvert(init[v:v+o.sq]))

	am := &arimaModel{ord: o, reg: reg, y: y}
	var value float64
	coef := init
	if npar > 0 {
		f := func(p []float64) float64 { return ob.ml(p, true) }
		opt := &bfgs{f: f, parscale: scale}
		par, fmin, _, ok := opt.minimize(init)
		if !ok {
			return nil, fmt.Errorf("%w: likelihood not finite", errARIMAFit)
		}
		coef = append([]float64(nil), par...)
		copy(coef[o.p:o.p+o.q], maInvert(coef[o.p:o.p+o.q]))
		copy(coef[v:v+o.sq], maInvert(coef[v:v+o.sq]))
		for i := range coef {
			if coef[i] != par[i] {
				fmin = f(coef) // optim(coef, maxit = 0): value at the inverted point
				break
			}
		}
		value = fmin
		raw := append([]float64(nil), coef...)
		am.varCheck = func() bool {
			h, ok := opt.hessian(raw)
			return !ok || negativeVariance(o, raw, h, nused)
		}
		coef = transformAR(o, coef)
	} else {
		value = ob.ml(coef, false)
	}
	am.coef = coef
	expandARMA(o, coef, ob.phi, ob.theta)
	k := newKalman(append([]float64(nil), ob.phi...), append([]float64(nil), ob.theta...), ob.delta)
	if !k.init() {
		return nil, fmt.Errorf("%w: no stationary initial covariance", errARIMAFit)
	}
	am.resid = make([]float64, n)
	k.filter(ob.adjusted(coef), am.resid)
	am.kal = k
	m2 := 2*float64(nused)*value + float64(nused) + float64(nused)*math.Log(2*math.Pi)
	if math.IsNaN(m2) || math.IsInf(m2, 0) {
		return nil, fmt.Errorf("%w: likelihood not finite", errARIMAFit)
	}
	am.setStats(m2, npar)
	return am, nil
}

// setStats sets the log-likelihood from m2 = −2·log L, the fitted values
// from the residuals, and the statistics forecast::auto.arima reports
// (myarima): AIC, BIC and AICc with k = npar + 1 and n* = n − d − mD, and
// σ² = Σe²/(n* − k + 1), the variance the intervals use.
func (am *arimaModel) setStats(m2 float64, npar int) {
	o := am.ord
	am.loglik = -0.5 * m2
	am.aic = m2 + 2*float64(npar) + 2
	am.fitted = make([]float64, len(am.y))
	rss := 0.0
	for i, e := range am.resid {
		am.fitted[i] = am.y[i] - e
		rss += e * e
	}
	nstar := float64(len(am.y) - o.d - o.sd*o.m)
	k1 := float64(npar + 1)
	am.bic = am.aic + k1*(math.Log(nstar)-2)
	am.aicc = am.aic + 2*k1*(k1+1)/(nstar-k1-1)
	am.sigma2 = rss / (nstar - k1 + 1)
}

// negativeVariance reports whether the estimated covariance of the
// coefficients, A'(nH)⁻¹A with A the Jacobian of the AR transformation
// (stats arima.c ARIMA_Gradtrans, step 1e-3), has a negative diagonal
// entry or cannot be computed — R's checkarima then rejects the model.
func negativeVariance(o arimaOrder, raw, h []float64, nused int) bool {
	n := len(raw)
	const eps = 1e-3
	A := mat.NewDense(n, n, nil)
	for i := range n {
		A.Set(i, i, 1)
	}
	block := func(off, k int) {
		w1 := append([]float64(nil), raw[off:off+k]...)
		w2 := make([]float64, k)
		w3 := make([]float64, k)
		partrans(w1, w2)
		for i := range k {
			w1[i] += eps
			partrans(w1, w3)
			for j := range k {
				A.Set(off+i, off+j, (w3[j]-w2[j])/eps)
			}
			w1[i] -= eps
		}
	}
	if o.p > 0 {
		block(0, o.p)
	}
	if o.sp > 0 {
		block(o.p+o.q, o.sp)
	}
	H := mat.NewDense(n, n, append([]float64(nil), h...))
	H.Scale(float64(nused), H)
	var lu mat.LU
	lu.Factorize(H)
	if lu.Det() == 0 {
		return true
	}
	var x mat.Dense
	if err := lu.SolveTo(&x, false, A); err != nil {
		var c mat.Condition
		if !errors.As(err, &c) {
			return true
		}
		if float64(c) > 1/2.220446049250313e-16 {
			return true
		}
	}
	for j := range n {
		s := 0.0
		for i := range n {
			s += A.At(i, j) * x.At(i, j)
		}
		if s < 0 || math.IsNaN(s) {
			return true
		}
	}
	return false
}
