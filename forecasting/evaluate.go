package forecasting

import (
	"fmt"
	"math"
)

// Accuracy summarises forecast errors over one or more forecasts. Errors
// are e = y − ŷ. Percentage measures skip actuals of zero (MAPE) or pairs
// with |y|+|ŷ| = 0 (sMAPE). MASE and MSIS are scaled by the in-sample MAE
// of the seasonal naive method with period m (Hyndman & Koehler 2006;
// M4 competition), NaN when that scale is zero or undefined.
type Accuracy struct {
	N     int     `json:"n"`     // number of forecast values scored
	MAE   float64 `json:"mae"`   // mean |e|
	RMSE  float64 `json:"rmse"`  // sqrt(mean e²)
	MAPE  float64 `json:"mape"`  // mean 100·|e/y|
	SMAPE float64 `json:"smape"` // mean 200·|e|/(|y|+|ŷ|)
	MASE  float64 `json:"mase"`  // mean |e| / scale
	WAPE  float64 `json:"wape"`  // 100·Σ|e| / Σ|y|
	Bias  float64 `json:"bias"`  // mean(ŷ − y): positive = over-forecast
	// Coverage is the share (0..1) of actuals inside the interval at
	// Level; MSIS its mean scaled interval score (Gneiting & Raftery 2007).
	Level    float64 `json:"level,omitempty"`
	Coverage float64 `json:"coverage"`
	MSIS     float64 `json:"msis"`
}

// accumulator sums the parts of Accuracy over many forecasts.
type accumulator struct {
	n, nMAPE, nSMAPE, nScaled          int
	ae, se, ape, sape, sae, absY, bias float64
	nInt, covered                      int
	is                                 float64
}

// SeasonalNaiveScale returns the in-sample MAE of the seasonal naive
// forecast with period m (naive for m ≤ 1), the MASE denominator.
func SeasonalNaiveScale(insample []float64, m int) float64 {
	m = max(m, 1)
	if len(insample) <= m {
		return math.NaN()
	}
	s := 0.0
	for t := m; t < len(insample); t++ {
		s += math.Abs(insample[t] - insample[t-m])
	}
	return s / float64(len(insample)-m)
}

func (a *accumulator) add(actual, mean, lo, hi []float64, level, scale float64) {
	alpha := 1 - level/100
	for i, y := range actual {
		if i >= len(mean) {
			break
		}
		f := mean[i]
		e := y - f
		a.n++
		a.ae += math.Abs(e)
		a.se += e * e
		a.absY += math.Abs(y)
		a.bias += f - y
		if y != 0 {
			a.ape += 100 * math.Abs(e/y)
			a.nMAPE++
		}
		if d := math.Abs(y) + math.Abs(f); d != 0 {
			a.sape += 200 * math.Abs(e) / d
			a.nSMAPE++
		}
		okScale := scale > 0 && !math.IsNaN(scale) && !math.IsInf(scale, 0)
		if okScale {
			a.sae += math.Abs(e) / scale
			a.nScaled++
		}
		if lo != nil && hi != nil {
			a.nInt++
			if y >= lo[i] && y <= hi[i] {
				a.covered++
			}
			if okScale {
				s := hi[i] - lo[i]
				if y < lo[i] {
					s += 2 / alpha * (lo[i] - y)
				}
				if y > hi[i] {
					s += 2 / alpha * (y - hi[i])
				}
				a.is += s / scale
			}
		}
	}
}

func ratio(num float64, den int) float64 {
	if den == 0 {
		return math.NaN()
	}
	return num / float64(den)
}

func (a *accumulator) result(level float64) Accuracy {
	r := Accuracy{N: a.n, Level: level,
		MAE: ratio(a.ae, a.n), RMSE: math.Sqrt(ratio(a.se, a.n)),
		MAPE: ratio(a.ape, a.nMAPE), SMAPE: ratio(a.sape, a.nSMAPE),
		MASE: ratio(a.sae, a.nScaled), Bias: ratio(a.bias, a.n),
		Coverage: ratio(float64(a.covered), a.nInt), MSIS: ratio(a.is, a.nScaled),
	}
	if a.nInt == 0 {
		r.MSIS = math.NaN()
	}
	if a.absY > 0 {
		r.WAPE = 100 * a.ae / a.absY
	} else {
		r.WAPE = math.NaN()
	}
	return r
}

// Score measures a forecast against the actuals that followed (only the
// first min(len(actual), len(fc.Mean)) steps), with the MASE/MSIS scale
// from insample and period m, and the interval at level (percent) for
// coverage and MSIS (0 = the widest interval in fc).
func Score(actual []float64, fc Forecast, insample []float64, m int, level float64) Accuracy {
	var acc accumulator
	lo, hi, lv := pickInterval(fc, level)
	acc.add(actual, fc.Mean, lo, hi, lv, SeasonalNaiveScale(insample, m))
	return acc.result(lv)
}

func pickInterval(fc Forecast, level float64) (lo, hi []float64, lv float64) {
	for _, iv := range fc.Intervals {
		if (level == 0 && iv.Level > lv) || iv.Level == level {
			lo, hi, lv = iv.Lower, iv.Upper, iv.Level
		}
	}
	return lo, hi, lv
}

// BacktestOptions configure a rolling-origin evaluation.
type BacktestOptions struct {
	Horizon  int     // steps forecast from each origin (required)
	Origins  int     // number of forecast origins (default 1)
	Step     int     // distance between origins (default 1)
	Period   int     // seasonal period for the MASE scale (default 1)
	Level    float64 // interval level for coverage and MSIS (default 95)
	MinTrain int     // shortest training set allowed (default 2)
}

// Backtest evaluates fit by rolling-origin forecasting (Tashman 2000): the
// last origin leaves Horizon observations after it, earlier origins step
// back by Step; each origin refits on y[:origin] and forecasts up to
// Horizon steps (fewer near the end of the data is not possible: every
// origin has a full horizon). Errors are pooled over all origins and steps;
// each origin's MASE scale comes from its own training data. It returns
// ErrTooShort when the first training set would be shorter than MinTrain,
// and the first error from fit.
func Backtest(y []float64, m int, opts BacktestOptions, fit func(train []float64) (*Model, error)) (Accuracy, error) {
	level := opts.Level
	if level == 0 {
		level = 95
	}
	origins, err := backtestOrigins(len(y), opts)
	if err != nil {
		return Accuracy{}, err
	}
	var acc accumulator
	for _, origin := range origins {
		train := y[:origin]
		md, err := fit(train)
		if err != nil {
			return Accuracy{}, fmt.Errorf("backtest origin %d: %w", origin, err)
		}
		fc, err := md.Forecast(opts.Horizon, []float64{level})
		if err != nil {
			return Accuracy{}, err
		}
		iv := fc.Intervals[0]
		acc.add(y[origin:origin+opts.Horizon], fc.Mean, iv.Lower, iv.Upper, level, SeasonalNaiveScale(train, max(opts.Period, m)))
	}
	return acc.result(level), nil
}
