package forecasting

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// point returns the forecast means: for multiplicative error and season
// the mean of HKOS (2008) class 3 (as R's forecast.ets), otherwise the
// state-space point forecast.
func (f *etsModel) point(h int) []float64 {
	if f.et == compM && f.st == compM {
		mu, _ := f.class3(h)
		return mu
	}
	out := make([]float64, h)
	etsPoint(f.last, f.tt, f.st, f.m, f.phi, out)
	return out
}

func (f *etsModel) bounds(mean []float64, level float64) (lo, hi []float64) {
	return normalBounds(mean, f.variance(len(mean)), level)
}

// variance returns the h-step forecast variances by the analytic results
// of HKOS (2008), ch. 6: class 1 (linear, additive error), class 2
// (linear with multiplicative error) and class 3 (multiplicative error
// and seasonality).
func (f *etsModel) variance(h int) []float64 {
	switch {
	case f.et == compA:
		v, _ := f.class1(h)
		return v
	case f.st != compM:
		return f.class2(h)
	default:
		_, v := f.class3(h)
		return v
	}
}

// class1 returns σ²(1 + Σ_{j<h} c_j²) with c_j = w'F^{j−1}g, and the c_j.
func (f *etsModel) class1(h int) (variance, c []float64) {
	p := len(f.last)
	k := 1
	if f.tt != compN {
		k = 2
	}
	phi := f.phi
	v := make([]float64, p)
	nv := make([]float64, p)
	v[0] = f.alpha
	if f.tt != compN {
		v[1] = f.beta
	}
	if f.st != compN {
		v[k] = f.gamma
	}
	c = make([]float64, max(h-1, 0))
	for j := range c {
		// c_j = H·v
		cj := v[0]
		if f.tt != compN {
			cj += phi * v[1]
		}
		if f.st != compN {
			cj += v[p-1]
		}
		c[j] = cj
		// v ← F·v
		nv[0] = v[0]
		if f.tt != compN {
			nv[0] += phi * v[1]
			nv[1] = phi * v[1]
		}
		if f.st != compN {
			nv[k] = v[p-1]
			for i := 1; i < f.m; i++ {
				nv[k+i] = v[k+i-1]
			}
		}
		v, nv = nv, v
	}
	variance = make([]float64, h)
	acc := 1.0
	for i := range variance {
		if i > 0 {
			acc += c[i-1] * c[i-1]
		}
		variance[i] = f.sigma2 * acc
	}
	return variance, c
}

// class2: v_h = (1+σ²)θ_h − μ_h², θ_1 = μ_1², θ_h = μ_h² + σ²Σ c_j²θ_{h−j}.
func (f *etsModel) class2(h int) []float64 {
	mu := make([]float64, h)
	etsPoint(f.last, f.tt, f.st, f.m, f.phi, mu)
	_, c := f.class1(h)
	theta := make([]float64, h)
	out := make([]float64, h)
	for j := 0; j < h; j++ {
		theta[j] = mu[j] * mu[j]
		for i := 0; i < j; i++ {
			theta[j] += f.sigma2 * c[i] * c[i] * theta[j-1-i]
		}
		out[j] = (1+f.sigma2)*theta[j] - mu[j]*mu[j]
	}
	return out
}

func kron(a, b *mat.Dense) *mat.Dense {
	ar, ac := a.Dims()
	br, bc := b.Dims()
	out := mat.NewDense(ar*br, ac*bc, nil)
	for i := 0; i < ar; i++ {
		for j := 0; j < ac; j++ {
			av := a.At(i, j)
			if av == 0 {
				continue
			}
			for k := 0; k < br; k++ {
				for l := 0; l < bc; l++ {
					out.Set(i*br+k, j*bc+l, av*b.At(k, l))
				}
			}
		}
	}
	return out
}

// class3 returns mean and variance for multiplicative error and
// seasonality (HKOS 2008, §6.5), following R's forecast:::class3.
func (f *etsModel) class3(h int) (mu, variance []float64) {
	m := f.m
	nt := 1
	if f.tt != compN {
		nt = 2
	}
	s2 := f.sigma2
	H1 := mat.NewDense(1, nt, nil)
	for i := 0; i < nt; i++ {
		H1.Set(0, i, 1)
	}
	H2 := mat.NewDense(1, m, nil)
	H2.Set(0, m-1, 1)
	var F1, G1 *mat.Dense
	if nt == 1 {
		F1 = mat.NewDense(1, 1, []float64{1})
		G1 = mat.NewDense(1, 1, []float64{f.alpha})
	} else {
		phi := 1.0
		if f.damped {
			phi = f.phi
		}
		F1 = mat.NewDense(2, 2, []float64{1, 1, 0, phi})
		G1 = mat.NewDense(2, 2, []float64{f.alpha, f.alpha, f.beta, f.beta})
	}
	F2 := mat.NewDense(m, m, nil)
	F2.Set(0, m-1, 1)
	for i := 1; i < m; i++ {
		F2.Set(i, i-1, 1)
	}
	G2 := mat.NewDense(m, m, nil)
	G2.Set(0, m-1, f.gamma)
	Mh := mat.NewDense(nt, m, nil)
	for i := 0; i < nt; i++ {
		for j := 0; j < m; j++ {
			Mh.Set(i, j, f.last[i]*f.last[nt+j])
		}
	}
	q := nt * m
	Vh := mat.NewDense(q, q, nil)
	H21 := kron(H2, H1)
	F21 := kron(F2, F1)
	G21 := kron(G2, G1)
	var K mat.Dense
	K.Add(kron(G2, F1), kron(F2, G1))
	mu = make([]float64, h)
	variance = make([]float64, h)
	var t1, t2, t3, acc, vv mat.Dense
	vec := mat.NewDense(q, 1, nil)
	for i := 0; i < h; i++ {
		var a mat.Dense
		a.Mul(H1, Mh)
		var b mat.Dense
		b.Mul(&a, H2.T())
		mu[i] = b.At(0, 0)
		t1.Mul(H21, Vh)
		t2.Mul(&t1, H21.T())
		variance[i] = (1+s2)*t2.At(0, 0) + s2*mu[i]*mu[i]
		// vec(Mh), column-major as R's c(Mh).
		for c := 0; c < m; c++ {
			for r := 0; r < nt; r++ {
				vec.Set(c*nt+r, 0, Mh.At(r, c))
			}
		}
		vv.Mul(vec, vec.T())
		// Vh ← F21 Vh F21' + σ²(F21 Vh G21' + G21 Vh F21' + K(Vh+vv)K' + σ² G21(3Vh+2vv)G21')
		acc.Reset()
		t1.Reset()
		t1.Mul(F21, Vh)
		acc.Mul(&t1, F21.T())
		var inner, tmp mat.Dense
		tmp.Mul(&t1, G21.T())
		inner.CloneFrom(&tmp)
		t3.Reset()
		t3.Mul(G21, Vh)
		tmp.Reset()
		tmp.Mul(&t3, F21.T())
		inner.Add(&inner, &tmp)
		var sum mat.Dense
		sum.Add(Vh, &vv)
		t3.Reset()
		t3.Mul(&K, &sum)
		tmp.Reset()
		tmp.Mul(&t3, K.T())
		inner.Add(&inner, &tmp)
		var w mat.Dense
		w.Scale(3, Vh)
		var w2 mat.Dense
		w2.Scale(2, &vv)
		w.Add(&w, &w2)
		t3.Reset()
		t3.Mul(G21, &w)
		tmp.Reset()
		tmp.Mul(&t3, G21.T())
		tmp.Scale(s2, &tmp)
		inner.Add(&inner, &tmp)
		inner.Scale(s2, &inner)
		acc.Add(&acc, &inner)
		Vh = mat.DenseCopyOf(&acc)
		// Mh ← F1 Mh F2' + G1 Mh G2' σ²
		var m1, m2, m3 mat.Dense
		m1.Mul(F1, Mh)
		m2.Mul(&m1, F2.T())
		m1.Reset()
		m1.Mul(G1, Mh)
		m3.Mul(&m1, G2.T())
		m3.Scale(s2, &m3)
		m2.Add(&m2, &m3)
		Mh = mat.DenseCopyOf(&m2)
		t1.Reset()
		t2.Reset()
		acc.Reset()
		vv.Reset()
	}
	return mu, variance
}

// path simulates the state-space model forward with N(0, σ²) innovations.
func (f *etsModel) path(rng *rand.Rand, out []float64) {
	x := make([]float64, len(f.last))
	copy(x, f.last)
	sd := math.Sqrt(f.sigma2)
	k := 1
	if f.tt != compN {
		k = 2
	}
	m := f.m
	for i := range out {
		l := x[0]
		q, phib := l, 0.0
		if f.tt == compA {
			phib = f.phi * x[1]
			q = l + phib
		}
		fc, so := q, 0.0
		if f.st != compN {
			so = x[k+m-1]
			if f.st == compA {
				fc = q + so
			} else {
				fc = q * so
			}
		}
		e := sd * rng.NormFloat64()
		var y float64
		if f.et == compA {
			y = fc + e
		} else {
			y = fc * (1 + e)
		}
		out[i] = y
		var pp float64
		switch f.st {
		case compN:
			pp = y
		case compA:
			pp = y - so
		default:
			pp = y / so
		}
		ln := q + f.alpha*(pp-q)
		if f.tt == compA {
			x[1] = phib + (f.beta/f.alpha)*(ln-l-phib)
		}
		if f.st != compN {
			var t float64
			if f.st == compA {
				t = y - q
			} else {
				t = y / q
			}
			ns := so + f.gamma*(t-so)
			copy(x[k+1:k+m], x[k:k+m-1])
			x[k] = ns
		}
		x[0] = ln
	}
}

func (f *etsModel) describe() Description {
	d := Description{
		Method: MethodETS, Name: f.name(), Period: f.m, N: len(f.y),
		Error: compLetters[f.et], Trend: compLetters[f.tt], Season: compLetters[f.st], Damped: f.damped,
		Params:  map[string]float64{"alpha": f.alpha},
		Initial: append([]float64(nil), f.init...),
		Sigma2:  f.sigma2,
		LogLik:  -0.5 * f.lik, AIC: f.aic, AICc: f.aicc, BIC: f.bic,
	}
	if f.tt != compN {
		d.Params["beta"] = f.beta
	}
	if f.st != compN {
		d.Params["gamma"] = f.gamma
	}
	if f.damped {
		d.Params["phi"] = f.phi
	}
	return d
}

func (f *etsModel) model() *Model {
	return &Model{desc: f.describe(), y: f.y, fitted: f.fitted, impl: f}
}

// restoreETS rebuilds an ETS model from its description.
func restoreETS(d Description, y []float64) (*Model, error) {
	code := func(s string) (int, error) {
		if len(s) != 1 {
			return 0, fmt.Errorf("%w: ETS component %q", ErrBadSpec, s)
		}
		c, ok := compCode(s[0])
		if !ok {
			return 0, fmt.Errorf("%w: ETS component %q", ErrBadSpec, s)
		}
		return c, nil
	}
	et, err1 := code(d.Error)
	tt, err2 := code(d.Trend)
	st, err3 := code(d.Season)
	if err := firstErr(err1, err2, err3); err != nil {
		return nil, err
	}
	m := 1
	if st != compN {
		m = d.Period
		if m < 2 || m > MaxSeasonalPeriod {
			return nil, fmt.Errorf("%w: ETS period %d", ErrBadSpec, d.Period)
		}
	}
	if len(d.Initial) != nState(tt, st, m) {
		return nil, fmt.Errorf("%w: ETS needs %d initial states, description has %d", ErrBadSpec, nState(tt, st, m), len(d.Initial))
	}
	f := &etsModel{et: et, tt: tt, st: st, damped: d.Damped, m: m,
		alpha: d.Params["alpha"], beta: d.Params["beta"], gamma: d.Params["gamma"], phi: 1,
		init: append([]float64(nil), d.Initial...), y: y}
	if d.Damped {
		f.phi = d.Params["phi"]
	}
	f.filterAll()
	np := f.freeParams() + 1
	n := float64(len(y))
	f.nParams = np
	f.aic = f.lik + 2*float64(np)
	f.bic = f.lik + math.Log(n)*float64(np)
	f.aicc = f.aic + 2*float64(np*(np+1))/(n-float64(np)-1)
	return f.model(), nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
