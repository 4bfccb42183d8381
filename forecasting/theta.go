package forecasting

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"
)

// thetaModel is the Theta method of Assimakopoulos & Nikolopoulos (2000)
// in the form of Hyndman & Billah (2003) and R's forecast::thetaf: simple
// exponential smoothing with drift equal to half the slope of a linear
// trend, on data seasonally adjusted by classical multiplicative
// decomposition when a 90% autocorrelation test at lag m finds seasonality.
type thetaModel struct {
	y        []float64
	m        int
	seasonal []float64 // seasonal index per in-sample position, nil if none
	fig      []float64 // one cycle of indices; fig[t%m] applies to position t
	alpha    float64
	level0   float64
	drift    float64 // half the slope of the trend line
	lastL    float64 // SES level after the last observation
	sigma2   float64 // SES innovation variance (R: sum(e²)/(n−2))
	fitted   []float64
}

// seasonalTest reports whether y shows seasonality at lag m by the test of
// R's thetaf: |r_m| / sqrt((1 + 2Σ_{k<m} r_k²)/n) > z_{0.95}.
func seasonalTest(y []float64, m int) bool {
	n := len(y)
	if m <= 1 || n <= 2*m || isConstant(y) {
		return false
	}
	mean := 0.0
	for _, v := range y {
		mean += v
	}
	mean /= float64(n)
	den := 0.0
	for _, v := range y {
		den += (v - mean) * (v - mean)
	}
	r := make([]float64, m+1)
	for k := 1; k <= m; k++ {
		s := 0.0
		for t := 0; t+k < n; t++ {
			s += (y[t] - mean) * (y[t+k] - mean)
		}
		r[k] = s / den
	}
	ss := 0.0
	for k := 1; k < m; k++ {
		ss += r[k] * r[k]
	}
	stat := math.Sqrt((1 + 2*ss) / float64(n))
	return math.Abs(r[m])/stat > distuv.UnitNormal.Quantile(0.95)
}

// thetaAdjust seasonally adjusts y as Assimakopoulos & Nikolopoulos (2000)
// and R's thetaf do: when seasonalTest finds seasonality at lag m, y is
// divided by the indices of a classical multiplicative decomposition. It
// returns y itself and nil indices when the test finds none or when an
// index is (near) zero or NaN, which would make the adjustment unusable.
func thetaAdjust(y []float64, m int) (x, seas []float64) {
	if !seasonalTest(y, m) {
		return y, nil
	}
	seas = decompose(y, m, true)
	for _, s := range seas {
		if math.Abs(s) < 1e-4 || math.IsNaN(s) {
			return y, nil
		}
	}
	x = make([]float64, len(y))
	for i := range y {
		x[i] = y[i] / seas[i]
	}
	return x, seas
}

func isConstant(y []float64) bool {
	for _, v := range y {
		if v != y[0] {
			return false
		}
	}
	return true
}

// fitTheta fits the Theta method; alpha and level0 < 0 mean "estimate"
// (by minimising the in-sample MSE of SES with Nelder–Mead, like R's ses).
func fitTheta(y []float64, m int, alpha, level0 float64, estimate bool) (*thetaModel, error) {
	n := len(y)
	if n < 4 {
		return nil, tooShort("Theta", n, 4)
	}
	if err := checkFinite(y); err != nil {
		return nil, err
	}
	t := &thetaModel{y: y, m: max(m, 1)}
	x, seas := thetaAdjust(y, m)
	if seas != nil {
		t.seasonal, t.fig = seas, seas[:m]
	}
	if estimate {
		w := newETSFitter(x, 1)
		fm, err := w.fit(etsCandidate{et: compA, tt: compN, st: compN}, 1, critMSE)
		if err != nil {
			return nil, err
		}
		if fm == nil {
			return nil, fmt.Errorf("%w: SES for Theta could not be estimated", ErrNoModel)
		}
		alpha, level0 = fm.alpha, fm.init[0]
	}
	ses := &etsModel{et: compA, tt: compN, st: compN, m: 1, alpha: alpha, phi: 1, init: []float64{level0}, y: x}
	ses.filterAll()
	t.alpha, t.level0 = alpha, level0
	t.lastL = ses.last[0]
	t.sigma2 = ses.sigma2
	_, slope := simpleRegression(x)
	t.drift = slope / 2
	t.fitted = ses.fitted
	if t.seasonal != nil {
		t.fitted = make([]float64, n)
		for i := range ses.fitted {
			t.fitted[i] = ses.fitted[i] * t.seasonal[i]
		}
	}
	return t, nil
}

func (t *thetaModel) point(h int) []float64 {
	n := len(t.y)
	a := math.Max(1e-10, t.alpha)
	out := make([]float64, h)
	c := (1 - math.Pow(1-a, float64(n))) / a
	for i := range out {
		out[i] = t.lastL + t.drift*(float64(i)+c)
		if t.seasonal != nil {
			out[i] *= t.fig[(n+i)%t.m]
		}
	}
	return out
}

// bounds: mean ± z·σ·sqrt(1 + (h−1)α²), as R's thetaf (not re-seasonalised).
func (t *thetaModel) bounds(mean []float64, level float64) (lo, hi []float64) {
	a := math.Max(1e-10, t.alpha)
	v := make([]float64, len(mean))
	for i := range v {
		v[i] = t.sigma2 * (float64(i)*a*a + 1)
	}
	return normalBounds(mean, v, level)
}

// path simulates SES with drift: l ← l + α·e, y = l + drift term + e,
// re-seasonalised multiplicatively.
func (t *thetaModel) path(rng *rand.Rand, out []float64) {
	n := len(t.y)
	a := math.Max(1e-10, t.alpha)
	c := (1 - math.Pow(1-a, float64(n))) / a
	sd := math.Sqrt(t.sigma2)
	l := t.lastL
	for i := range out {
		e := sd * rng.NormFloat64()
		v := l + t.drift*(float64(i)+c) + e
		l += a * e
		if t.seasonal != nil {
			v *= t.fig[(n+i)%t.m]
		}
		out[i] = v
	}
}

func (t *thetaModel) model() *Model {
	d := Description{Method: MethodTheta, Name: "Theta", Period: t.m, N: len(t.y),
		Params:  map[string]float64{"alpha": t.alpha, "drift": t.drift},
		Initial: []float64{t.level0}, Sigma2: t.sigma2}
	if t.seasonal != nil {
		d.Name = "Theta (seasonally adjusted)"
		d.Params["seasonal"] = 1
	}
	return &Model{desc: d, y: t.y, fitted: t.fitted, impl: t}
}
