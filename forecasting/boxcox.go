package forecasting

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Box–Cox transformation (Box & Cox 1964) of strictly positive data:
// z = log y for λ = 0, (y^λ − 1)/λ otherwise. A model fitted to z is
// turned back into a model of y: bounds and sample paths are transformed
// back (quantiles map to quantiles, so they stay inside the data's range —
// with λ = 0 every bound and path is positive); the point forecast is the
// back-transformed mean with the bias adjustment of forecast::InvBoxCox
// (biasadj = TRUE), so that it estimates the mean rather than the median:
//
//	ŷ = InvBoxCox(μ)·(1 + v·(1 − λ) / (2(λμ + 1)²)),
//
// μ and v the mean and variance of the forecast on the transformed scale
// (v from the model's 80% interval under normality: exact for additive
// ETS, ARIMA, Theta and the benchmarks). Fitted values are adjusted the
// same way with the one-step variance σ².

// maxLambda bounds λ: the transformations offered are log (0) to none (1).
const maxLambda = 1

// TransformBoxCox fits a model to the Box–Cox transform of y with
// parameter lambda ∈ [0, 1] (0 = log) by calling fit on the transformed
// series, and returns the model of y. It returns ErrBadSpec for λ outside
// [0, 1] or a value ≤ 0 in y (named by its 1-based index), and fit's error.
func TransformBoxCox(y []float64, m int, lambda float64, fit func(z []float64) (*Model, error)) (*Model, error) {
	if !(lambda >= 0 && lambda <= maxLambda) {
		return nil, fmt.Errorf("%w: Box–Cox λ = %v, need 0 (log) … %d", ErrBadSpec, lambda, maxLambda)
	}
	if err := checkFinite(y); err != nil {
		return nil, err
	}
	z := make([]float64, len(y))
	for t, v := range y {
		if !(v > 0) {
			return nil, fmt.Errorf("%w: Box–Cox/log needs strictly positive data; value %v at t = %d", ErrBadSpec, v, t+1)
		}
		z[t] = boxCox(v, lambda)
	}
	inner, err := fit(z)
	if err != nil {
		return nil, err
	}
	return newBoxCoxModel(append([]float64(nil), y...), inner, lambda), nil
}

func boxCox(v, lambda float64) float64 {
	if lambda == 0 {
		return math.Log(v)
	}
	return (math.Pow(v, lambda) - 1) / lambda
}

// invBoxCox maps z back; for λ > 0 values below the transform's range
// (λz + 1 ≤ 0) map to 0.
func invBoxCox(z, lambda float64) float64 {
	if lambda == 0 {
		return math.Exp(z)
	}
	b := lambda*z + 1
	if b <= 0 {
		return 0
	}
	return math.Pow(b, 1/lambda)
}

// biasAdjusted is the back-transformed mean of a forecast with mean mu and
// variance v on the transformed scale.
func biasAdjusted(mu, v, lambda float64) float64 {
	b := lambda*mu + 1
	if !(v > 0) || b <= 0 {
		return invBoxCox(mu, lambda)
	}
	return invBoxCox(mu, lambda) * (1 + v*(1-lambda)/(2*b*b))
}

// boxCoxModel is a model of y made from a model of its transform.
type boxCoxModel struct {
	inner  *Model
	lambda float64
}

func newBoxCoxModel(y []float64, inner *Model, lambda float64) *Model {
	b := &boxCoxModel{inner: inner, lambda: lambda}
	d := inner.desc
	l := lambda
	d.BoxCox = &l
	if lambda == 0 {
		d.Name = "log " + d.Name
	} else {
		d.Name = fmt.Sprintf("Box-Cox(%g) %s", lambda, d.Name)
	}
	fitted := make([]float64, len(y))
	for t, f := range inner.fitted {
		fitted[t] = math.NaN()
		if !math.IsNaN(f) {
			fitted[t] = biasAdjusted(f, inner.desc.Sigma2, lambda)
		}
	}
	return &Model{desc: d, y: y, fitted: fitted, impl: b}
}

// variance returns the transformed-scale forecast variances implied by
// the inner model's 80% interval around its mean mu.
func (b *boxCoxModel) variance(mu []float64) []float64 {
	lo, hi := b.inner.impl.bounds(mu, 80)
	z := zValue(80)
	v := make([]float64, len(mu))
	for i := range v {
		sd := (hi[i] - lo[i]) / (2 * z)
		v[i] = sd * sd
	}
	return v
}

func (b *boxCoxModel) point(h int) []float64 {
	mu := b.inner.impl.point(h)
	v := b.variance(mu)
	out := make([]float64, h)
	for i := range out {
		out[i] = biasAdjusted(mu[i], v[i], b.lambda)
	}
	return out
}

func (b *boxCoxModel) bounds(mean []float64, level float64) (lo, hi []float64) {
	mu := b.inner.impl.point(len(mean))
	lo, hi = b.inner.impl.bounds(mu, level)
	for i := range lo {
		lo[i], hi[i] = invBoxCox(lo[i], b.lambda), invBoxCox(hi[i], b.lambda)
	}
	return lo, hi
}

func (b *boxCoxModel) path(rng *rand.Rand, out []float64) {
	b.inner.impl.path(rng, out)
	for i, v := range out {
		out[i] = invBoxCox(v, b.lambda)
	}
}

// restoreBoxCox rebuilds a transformed model from its description.
func restoreBoxCox(d Description, y []float64) (*Model, error) {
	lambda := *d.BoxCox
	inner := d
	inner.BoxCox = nil
	return TransformBoxCox(y, d.Period, lambda, func(z []float64) (*Model, error) { return Restore(inner, z) })
}
