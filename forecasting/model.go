package forecasting

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// DefaultLevels are the interval levels (percent) used when none are given.
var DefaultLevels = []float64{80, 95}

// Interval is a central prediction interval at Level percent.
type Interval struct {
	Level float64   `json:"level"`
	Lower []float64 `json:"lower"`
	Upper []float64 `json:"upper"`
}

// Forecast holds point forecasts and prediction intervals for steps
// 1..len(Mean) after the end of the series.
type Forecast struct {
	Model     Description `json:"model"`
	Mean      []float64   `json:"mean"`
	Intervals []Interval  `json:"intervals"`
}

// Interval returns the interval at the given level, if computed.
func (f Forecast) Interval(level float64) (Interval, bool) {
	for _, iv := range f.Intervals {
		if iv.Level == level {
			return iv, true
		}
	}
	return Interval{}, false
}

// Description identifies a fitted model completely: method, parameters,
// initial states, variance and fit statistics. It is JSON-serialisable
// (for a ForecastPublished event) and Restore rebuilds the fitted model
// from it and the first N observations of the same series, so that a
// published forecast can be recomputed exactly.
type Description struct {
	// Method is one of the Method constants.
	Method Method `json:"method"`
	// Name is a readable model name, e.g. "ETS(M,Ad,N)" or "Theta".
	Name string `json:"name"`
	// Period is the seasonal period the model was fitted with.
	Period int `json:"period"`
	// N is the number of observations the model was fitted to.
	N int `json:"n"`
	// Error, Trend and Season are the ETS components (N, A or M); Damped
	// marks a damped trend. Empty for other methods.
	Error  string `json:"error,omitempty"`
	Trend  string `json:"trend,omitempty"`
	Season string `json:"season,omitempty"`
	Damped bool   `json:"damped,omitempty"`
	// Order is the ARIMA order (p, d, q, P, D, Q); empty for other
	// methods.
	Order []int `json:"order,omitempty"`
	// Params are the estimated parameters by name (alpha, beta, gamma, phi,
	// drift, ...).
	Params map[string]float64 `json:"params,omitempty"`
	// Initial holds the initial states (ETS: level, growth, seasonal
	// states s_0..s_{m-1}; Croston-type: demand size and interval or
	// probability).
	Initial []float64 `json:"initial_states,omitempty"`
	// Sigma2 is the innovation variance the intervals are based on.
	Sigma2 float64 `json:"sigma2"`
	// LogLik, AIC, AICc and BIC are set for likelihood-based models (ETS;
	// LogLik as reported by R's forecast::ets, without constants).
	LogLik float64 `json:"loglik,omitempty"`
	AIC    float64 `json:"aic,omitempty"`
	AICc   float64 `json:"aicc,omitempty"`
	BIC    float64 `json:"bic,omitempty"`
	// Members and Weights describe an ensemble.
	Members []Description `json:"members,omitempty"`
	Weights []float64     `json:"weights,omitempty"`
	// BoxCox, when set, is the Box–Cox λ (0 = log) of the data the model
	// was fitted to; the other fields describe that fit on the transformed
	// scale (see TransformBoxCox).
	BoxCox *float64 `json:"box_cox,omitempty"`
}

// Method names a forecasting method.
type Method string

// The methods. Auto is not a model: it asks Auto to choose.
const (
	MethodETS Method = "ets"
	// MethodARIMA is automatic seasonal ARIMA as R's forecast::auto.arima.
	MethodARIMA Method = "arima"
	MethodTheta Method = "theta"
	// MethodThetaClassic is Theta computed as Assimakopoulos & Nikolopoulos
	// (2000) ran it in M3: SES fitted to the θ=2 line, combined with the
	// θ=0 regression line (see classicTheta). MethodTheta is R's thetaf.
	MethodThetaClassic Method = "theta-classic"
	MethodNaive        Method = "naive"
	MethodSNaive       Method = "snaive"
	MethodDrift        Method = "drift"
	MethodMean         Method = "mean"
	MethodLinear       Method = "linear"
	MethodCroston      Method = "croston"
	MethodSBA          Method = "sba"
	MethodTSB          Method = "tsb"
	MethodEnsemble     Method = "ensemble"
	MethodAuto         Method = "auto"
)

// predictor is the method-specific part of a fitted model.
type predictor interface {
	// point returns the point forecasts for 1..h steps.
	point(h int) []float64
	// bounds returns the central interval at level (percent) around mean.
	bounds(mean []float64, level float64) (lo, hi []float64)
	// path writes one simulated future sample path to out.
	path(rng *rand.Rand, out []float64)
}

// Model is a fitted forecasting model. It is immutable after fitting and
// safe for concurrent use; all its methods are deterministic (Simulate is
// deterministic given the state of the generator passed in).
type Model struct {
	desc   Description
	y      []float64
	fitted []float64
	impl   predictor
}

// Description returns the model's JSON-serialisable description.
func (m *Model) Description() Description { return m.desc }

// Fitted returns the in-sample one-step fitted values (NaN where a method
// has none, e.g. the first observation for naive).
func (m *Model) Fitted() []float64 { return slices.Clone(m.fitted) }

// Residuals returns y − fitted on the data scale.
func (m *Model) Residuals() []float64 {
	r := make([]float64, len(m.y))
	for i := range r {
		r[i] = m.y[i] - m.fitted[i]
	}
	return r
}

// Forecast returns point forecasts and central prediction intervals at the
// given levels (percent, in (0, 100); nil means DefaultLevels) for steps
// 1..h. It returns ErrBadSpec for h < 1 or a level outside (0, 100).
func (m *Model) Forecast(h int, levels []float64) (Forecast, error) {
	if h < 1 {
		return Forecast{}, fmt.Errorf("%w: horizon %d, need ≥ 1", ErrBadSpec, h)
	}
	if levels == nil {
		levels = DefaultLevels
	}
	for _, l := range levels {
		if !(l > 0 && l < 100) {
			return Forecast{}, fmt.Errorf("%w: interval level %v, need a percentage in (0, 100)", ErrBadSpec, l)
		}
	}
	mean := m.impl.point(h)
	fc := Forecast{Model: m.desc, Mean: mean}
	for _, l := range levels {
		lo, hi := m.impl.bounds(mean, l)
		fc.Intervals = append(fc.Intervals, Interval{Level: l, Lower: lo, Upper: hi})
	}
	return fc, nil
}

// Simulate returns n future sample paths of length h drawn from the
// model's stochastic form (Gaussian innovations with the fitted variance).
// Paths are reproducible: the same generator state gives the same paths.
// Use rand.New(rand.NewPCG(seed, seed2)).
func (m *Model) Simulate(h, n int, rng *rand.Rand) [][]float64 {
	if h < 1 || n < 1 {
		return nil
	}
	out := make([][]float64, n)
	buf := make([]float64, h*n)
	for i := range out {
		out[i] = buf[i*h : (i+1)*h : (i+1)*h]
		m.impl.path(rng, out[i])
	}
	return out
}

// zValue returns the standard normal quantile for a central level.
func zValue(level float64) float64 {
	return distuv.UnitNormal.Quantile(0.5 + level/200)
}

// normalBounds returns mean ± z·sd.
func normalBounds(mean, variance []float64, level float64) (lo, hi []float64) {
	z := zValue(level)
	lo = make([]float64, len(mean))
	hi = make([]float64, len(mean))
	for i := range mean {
		s := math.Sqrt(math.Max(variance[i], 0))
		lo[i] = mean[i] - z*s
		hi[i] = mean[i] + z*s
	}
	return lo, hi
}

// quantile returns the type-7 sample quantile of sorted x.
func quantile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := p * float64(n-1)
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return sorted[n-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// simBounds computes interval bounds as quantiles of simulated paths drawn
// from a fixed seed, so that Forecast stays deterministic.
func simBounds(p predictor, h int, level float64) (lo, hi []float64) {
	const nPaths = 2000
	rng := rand.New(rand.NewPCG(0x5eed, uint64(h)))
	paths := make([][]float64, nPaths)
	for i := range paths {
		paths[i] = make([]float64, h)
		p.path(rng, paths[i])
	}
	lo = make([]float64, h)
	hi = make([]float64, h)
	col := make([]float64, nPaths)
	for j := 0; j < h; j++ {
		for i := range paths {
			col[i] = paths[i][j]
		}
		sort.Float64s(col)
		lo[j] = quantile(col, 0.5-level/200)
		hi[j] = quantile(col, 0.5+level/200)
	}
	return lo, hi
}

func nanSlice(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = math.NaN()
	}
	return s
}
