package forecasting

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
)

// fixedARIMA builds the model with given coefficients (arma in the layout
// ar, ma, sar, sma; rc the intercept or drift) without estimation, as
// stats::arima(..., fixed = ...) does: one pass of the Kalman filter gives
// residuals, σ² and the likelihood. npar is the number of coefficients
// counted as estimated in the information criteria.
func fixedARIMA(y []float64, o arimaOrder, reg regressor, arma []float64, rc float64, npar int) (*arimaModel, error) {
	n := len(y)
	ob := newArimaObjective(y, o, reg, false)
	nused := n - len(ob.delta)
	if nused <= 0 {
		return nil, tooShort("arima", n, len(ob.delta)+1)
	}
	coef := make([]float64, ob.narma, ob.narma+1)
	copy(coef, arma)
	if reg != regNone {
		coef = append(coef, rc)
	}
	expandARMA(o, coef, ob.phi, ob.theta)
	k := newKalman(ob.phi, ob.theta, ob.delta)
	if !k.init() {
		return nil, fmt.Errorf("%w: AR part not stationary", ErrBadSpec)
	}
	am := &arimaModel{ord: o, reg: reg, coef: coef, y: y, resid: make([]float64, n), kal: k}
	ssq, sumlog, nu := k.filter(ob.adjusted(coef), am.resid)
	value := 0.5 * (math.Log(ssq/float64(nu)) + sumlog/float64(nu))
	am.setStats(2*float64(nused)*value+float64(nused)+float64(nused)*math.Log(2*math.Pi), npar)
	return am, nil
}

// name is R's arima.string: "ARIMA(p,d,q)(P,D,Q)[m] with drift".
func (am *arimaModel) name() string {
	o := am.ord
	s := fmt.Sprintf("ARIMA(%d,%d,%d)", o.p, o.d, o.q)
	if o.sp+o.sd+o.sq > 0 {
		s += fmt.Sprintf("(%d,%d,%d)[%d]", o.sp, o.sd, o.sq, o.m)
	}
	switch {
	case am.reg == regDrift:
		s += " with drift"
	case am.reg == regIntercept:
		s += " with non-zero mean"
	case o.d+o.sd == 0:
		s += " with zero mean"
	}
	return s
}

// paramNames are the coefficient names in R's order.
func (am *arimaModel) paramNames() []string {
	o := am.ord
	var names []string
	add := func(prefix string, k int) {
		for i := 1; i <= k; i++ {
			names = append(names, prefix+strconv.Itoa(i))
		}
	}
	add("ar", o.p)
	add("ma", o.q)
	add("sar", o.sp)
	add("sma", o.sq)
	switch am.reg {
	case regIntercept:
		names = append(names, "intercept")
	case regDrift:
		names = append(names, "drift")
	}
	return names
}

// forecastState returns the h-step means (with the regression term) and
// variances per unit σ² from a copy of the filtered state.
func (am *arimaModel) forecastState(h int) (mean, v []float64) {
	k := am.kal.clone()
	mean, v = k.forecast(h)
	if am.reg != regNone {
		col := regColumn(am.reg, len(am.y), h)
		b := am.coef[len(am.coef)-1]
		for i := range mean {
			mean[i] += col[i] * b
		}
	}
	return mean, v
}

func (am *arimaModel) point(h int) []float64 {
	mean, _ := am.forecastState(h)
	return mean
}

func (am *arimaModel) bounds(mean []float64, level float64) (lo, hi []float64) {
	_, v := am.forecastState(len(mean))
	for i := range v {
		v[i] *= am.sigma2
	}
	return normalBounds(mean, v, level)
}

// path simulates the state-space form forward from the filtered state
// with N(0, σ²) innovations (the state's own uncertainty at the origin is
// not sampled).
func (am *arimaModel) path(rng *rand.Rand, out []float64) {
	k := am.kal.clone()
	sd := math.Sqrt(am.sigma2)
	var col []float64
	if am.reg != regNone {
		col = regColumn(am.reg, len(am.y), len(out))
	}
	for l := range out {
		k.predictMean()
		copy(k.a, k.anew)
		e := sd * rng.NormFloat64()
		k.a[0] += e
		for i := 1; i < k.r; i++ {
			if i-1 < len(k.theta) {
				k.a[i] += k.theta[i-1] * e
			}
		}
		v := k.a[0]
		for i := range k.d {
			v += k.delta[i] * k.a[k.r+i]
		}
		if col != nil {
			v += col[l] * am.coef[len(am.coef)-1]
		}
		out[l] = v
	}
}

// clone copies the filter's state and buffers (the model stays immutable).
func (k *kalman) clone() *kalman {
	c := newKalman(k.phi, k.theta, k.delta)
	copy(c.a, k.a)
	copy(c.pm, k.pm)
	return c
}

func (am *arimaModel) describe() Description {
	o := am.ord
	d := Description{Method: MethodARIMA, Name: am.name(), Period: o.m, N: len(am.y),
		Order:  []int{o.p, o.d, o.q, o.sp, o.sd, o.sq},
		Params: map[string]float64{},
		Sigma2: am.sigma2, LogLik: am.loglik, AIC: am.aic, AICc: am.aicc, BIC: am.bic}
	for i, nm := range am.paramNames() {
		d.Params[nm] = am.coef[i]
	}
	return d
}

func (am *arimaModel) model() *Model {
	return &Model{desc: am.describe(), y: am.y, fitted: am.fitted, impl: am}
}

// restoreARIMA rebuilds an ARIMA model from its description.
func restoreARIMA(d Description, y []float64) (*Model, error) {
	if len(d.Order) != 6 {
		return nil, fmt.Errorf("%w: ARIMA needs order (p,d,q,P,D,Q), description has %v", ErrBadSpec, d.Order)
	}
	for _, v := range d.Order {
		if v < 0 || v > 50 {
			return nil, fmt.Errorf("%w: ARIMA order %v", ErrBadSpec, d.Order)
		}
	}
	o := arimaOrder{p: d.Order[0], d: d.Order[1], q: d.Order[2], sp: d.Order[3], sd: d.Order[4], sq: d.Order[5], m: max(d.Period, 1)}
	reg := regNone
	if _, ok := d.Params["drift"]; ok {
		reg = regDrift
	} else if _, ok := d.Params["intercept"]; ok {
		reg = regIntercept
	}
	am := &arimaModel{ord: o, reg: reg}
	names := am.paramNames()
	coef := make([]float64, len(names))
	for i, nm := range names {
		v, ok := d.Params[nm]
		if !ok {
			return nil, fmt.Errorf("%w: ARIMA description lacks %s", ErrBadSpec, nm)
		}
		coef[i] = v
	}
	rc := 0.0
	if reg != regNone {
		rc = coef[len(coef)-1]
	}
	fit, err := fixedARIMA(y, o, reg, coef[:o.narma()], rc, len(coef))
	if err != nil {
		return nil, err
	}
	fit.sigma2 = d.Sigma2
	return fit.model(), nil
}
