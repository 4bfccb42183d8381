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
	kal                    *kalman // filtered state after the last observation
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
	return differenceInPlace(append([]float64(nil), x...), o)
}

// differenceInPlace is difference overwriting x; it returns the tail of x
// that holds the differences (nil when x is too short).
func differenceInPlace(x []float64, o arimaOrder) []float64 {
	for range o.d {
		for i := len(x) - 1; i > 0; i-- {
			x[i] -= x[i-1]
		}
		x = x[1:]
	}
	for range o.sd {
		if len(x) <= o.m {
			return nil
		}
		for i := len(x) - 1; i >= o.m; i-- {
			x[i] -= x[i-o.m]
		}
		x = x[o.m:]
	}
	return x
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
//
// With differenced set, ml is the likelihood the stepwise search ranks
// models by: the ARMA model of the differenced series, filtered with the
// r-dimensional ARMA state alone. That is the limit κ → ∞ of R's diffuse
// start, which filters the undifferenced series with d + mD more states
// and κ = 1e6; the two log-likelihoods differ by up to about 1e-3 (on M3
// and R's reference series), far below the AICc differences the search
// decides on. The smaller state and its own filter (filterARMA) make an
// evaluation several times cheaper, most for seasonally differenced
// models (r = 7 states instead of 12 for (2,1,2)(1,1,1)[4]).
type arimaObjective struct {
	y, col      []float64
	o           arimaOrder
	narma       int
	delta       []float64
	phi, theta  []float64
	x, w, res   []float64
	tp          []float64
	kal         *kalman
	ncond       int
	differenced bool
}

func newArimaObjective(y []float64, o arimaOrder, reg regressor, differenced bool) *arimaObjective {
	pp, qq := o.expandedLen()
	n := len(y)
	ob := &arimaObjective{y: y, o: o, narma: o.narma(), delta: o.delta(),
		phi: make([]float64, pp), theta: make([]float64, qq),
		x: make([]float64, n), w: make([]float64, n), res: make([]float64, n),
		ncond: o.d + o.sd*o.m + o.p + o.m*o.sp, differenced: differenced}
	if differenced {
		ob.kal = newKalman(ob.phi, ob.theta, nil)
	} else {
		ob.kal = newKalman(ob.phi, ob.theta, ob.delta)
	}
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

// filtered returns the series ml filters: y − β·regressor, differenced
// in place when the objective is differenced.
func (ob *arimaObjective) filtered(par []float64) []float64 {
	x := ob.adjusted(par)
	if !ob.differenced {
		return x
	}
	return differenceInPlace(x, ob.o)
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
		ssq, sumlog, nu = k.filterMean(ob.filtered(par))
	} else {
		if !k.init() {
			return math.MaxFloat64
		}
		if ob.differenced {
			ssq, sumlog, nu = k.filterARMA(ob.filtered(par))
		} else {
			ssq, sumlog, nu = k.filter(ob.filtered(par), nil)
		}
	}
	s2 := ssq / float64(nu)
	return 0.5 * (math.Log(s2) + sumlog/float64(nu))
}

// arimaEstimate is the outcome of estimating one specification.
type arimaEstimate struct {
	o     arimaOrder
	reg   regressor
	ob    *arimaObjective
	opt   *bfgs     // the likelihood's optimiser (nil without coefficients)
	raw   []float64 // its parameters at the minimum, AR blocks untransformed
	coef  []float64 // the coefficients (layout ar, ma, sar, sma, regression)
	value float64   // ml at the minimum
	npar  int
	nused int // n − d − mD
	// the checkarima verdict, computed once, when first asked for
	varChecked, varBad bool
}

// m2 is −2·log L.
func (e *arimaEstimate) m2() float64 {
	nu := float64(e.nused)
	return 2*nu*e.value + nu + nu*math.Log(2*math.Pi)
}

// negativeVariance is R's checkarima verdict: the finite-difference
// Hessian cannot be computed or inverted, or gives a coefficient a
// negative variance. The Hessian costs 4k² likelihood evaluations, so the
// verdict is computed only when asked for, and once.
func (e *arimaEstimate) negativeVariance() bool {
	if e.opt == nil || e.varChecked {
		return e.varBad
	}
	h, ok := e.opt.hessian(e.raw)
	e.varChecked, e.varBad = true, !ok || negativeVariance(e.o, e.raw, h, e.nused)
	return e.varBad
}

// estimateARIMA estimates the model as stats::arima(y, order, seasonal,
// include.mean/xreg = drift, method = "CSS-ML", transform.pars = TRUE).
// With differenced set it maximises the likelihood the stepwise search
// ranks models by (arimaObjective) instead of R's.
func estimateARIMA(y []float64, o arimaOrder, reg regressor, differenced bool) (*arimaEstimate, error) {
	n := len(y)
	ob := newArimaObjective(y, o, reg, differenced)
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

	e := &arimaEstimate{o: o, reg: reg, ob: ob, npar: npar, nused: nused, coef: init}
	if npar == 0 {
		e.value = ob.ml(init, false)
	} else {
		f := func(p []float64) float64 { return ob.ml(p, true) }
		e.opt = &bfgs{f: f, parscale: scale}
		par, fmin, _, ok := e.opt.minimize(init)
		if !ok {
			return nil, fmt.Errorf("%w: likelihood not finite", errARIMAFit)
		}
		coef := append([]float64(nil), par...)
		copy(coef[o.p:o.p+o.q], maInvert(coef[o.p:o.p+o.q]))
		copy(coef[v:v+o.sq], maInvert(coef[v:v+o.sq]))
		for i := range coef {
			if coef[i] != par[i] {
				fmin = f(coef) // optim(coef, maxit = 0): value at the inverted point
				break
			}
		}
		e.value = fmin
		e.raw = coef
		e.coef = transformAR(o, coef)
	}
	if m2 := e.m2(); math.IsNaN(m2) || math.IsInf(m2, 0) {
		return nil, fmt.Errorf("%w: likelihood not finite", errARIMAFit)
	}
	return e, nil
}

// fitARIMA fits the model as stats::arima(y, order, seasonal,
// include.mean/xreg = drift, method = "CSS-ML", transform.pars = TRUE)
// does: the estimate, then one pass of the filter for the residuals and
// the state to forecast from.
func fitARIMA(y []float64, o arimaOrder, reg regressor) (*arimaModel, error) {
	e, err := estimateARIMA(y, o, reg, false)
	if err != nil {
		return nil, err
	}
	ob := e.ob
	am := &arimaModel{ord: o, reg: reg, y: y, coef: e.coef}
	expandARMA(o, e.coef, ob.phi, ob.theta)
	k := newKalman(append([]float64(nil), ob.phi...), append([]float64(nil), ob.theta...), ob.delta)
	if !k.init() {
		return nil, fmt.Errorf("%w: no stationary initial covariance", errARIMAFit)
	}
	am.resid = make([]float64, len(y))
	k.filter(ob.adjusted(e.coef), am.resid)
	am.kal = k
	am.setStats(e.m2(), e.npar)
	return am, nil
}

// setStats sets the log-likelihood from m2 = −2·log L, the fitted values
// from the residuals, the information criteria (arimaIC) and σ² =
// Σe²/(n* − k + 1), the variance the intervals use (k = npar + 1, n* = n
// − d − mD).
func (am *arimaModel) setStats(m2 float64, npar int) {
	o := am.ord
	am.loglik = -0.5 * m2
	am.fitted = make([]float64, len(am.y))
	rss := 0.0
	for i, e := range am.resid {
		am.fitted[i] = am.y[i] - e
		rss += e * e
	}
	nstar := len(am.y) - o.d - o.sd*o.m
	am.aic, am.aicc, am.bic = arimaIC(m2, npar, nstar)
	am.sigma2 = rss / float64(nstar-npar)
}

// arimaIC returns AIC, AICc and BIC as forecast's myarima computes them
// from m2 = −2·log L with k = npar + 1 parameters (σ² counted) and n* =
// n − d − mD observations.
func arimaIC(m2 float64, npar, nstar int) (aic, aicc, bic float64) {
	k1, ns := float64(npar+1), float64(nstar)
	aic = m2 + 2*k1
	bic = aic + k1*(math.Log(ns)-2)
	aicc = aic + 2*k1*(k1+1)/(ns-k1-1)
	return aic, aicc, bic
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
