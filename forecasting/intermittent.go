package forecasting

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// intermittentModel covers Croston's method (Croston 1972), the
// Syntetos–Boylan approximation (SBA, Syntetos & Boylan 2005) and the
// Teunter–Syntetos–Babai method (TSB, 2011) for series that are mostly
// zeros. The smoothing parameters are chosen on a grid 0.01, 0.02, …, 0.50
// by the in-sample mean squared one-step error.
//
// Croston/SBA: demand size z and inter-demand interval p are smoothed with
// α at the periods with demand, z₀ and p₀ the first size and interval (as
// R's forecast::croston); forecast z/p (Croston) or (1−α/2)·z/p (SBA).
// TSB: z smoothed with α at demands, the demand probability π with β at
// every period (π₀ the share of non-zero periods, z₀ their mean); forecast π·z.
//
// The intervals are quantiles of simulated demand: occurrence with
// probability 1/p (Croston, SBA) or π (TSB), size normal around z with the
// standard deviation of the observed non-zero demands, truncated at zero.
type intermittentModel struct {
	y       []float64
	method  Method
	alpha   float64
	beta    float64 // TSB probability smoothing
	z0, p0  float64
	z, p    float64 // final size and interval (Croston/SBA) or probability (TSB)
	sizeSD  float64
	fitted  []float64
	mse     float64
	nonzero int
}

// run filters y with the given parameters, filling fitted if non-nil, and
// returns the in-sample one-step MSE over the periods after the first
// demand.
func (im *intermittentModel) run(alpha, beta float64, fitted []float64) (mse, z, p float64) {
	z, p = im.z0, im.p0
	ss, cnt := 0.0, 0
	started := false
	q := 1.0 // periods since the last demand
	for t, v := range im.y {
		f := math.NaN()
		if started || im.method == MethodTSB {
			f = im.forecastFrom(z, p, alpha)
			ss += (v - f) * (v - f)
			cnt++
		}
		if fitted != nil {
			fitted[t] = f
		}
		switch im.method {
		case MethodTSB:
			if v > 0 {
				z += alpha * (v - z)
				p += beta * (1 - p)
			} else {
				p += beta * (0 - p)
			}
		default:
			if v > 0 {
				if started {
					z += alpha * (v - z)
					p += alpha * (q - p)
				}
				started = true
				q = 1
			} else if started {
				q++
			}
		}
	}
	if cnt == 0 {
		return math.Inf(1), z, p
	}
	return ss / float64(cnt), z, p
}

func (im *intermittentModel) forecastFrom(z, p, alpha float64) float64 {
	switch im.method {
	case MethodTSB:
		return p * z
	case MethodSBA:
		return (1 - alpha/2) * z / p
	}
	return z / p
}

func fitIntermittent(y []float64, method Method) (*intermittentModel, error) {
	n := len(y)
	if n < 2 {
		return nil, tooShort(string(method), n, 2)
	}
	if err := checkFinite(y); err != nil {
		return nil, err
	}
	im := &intermittentModel{y: y, method: method}
	first := -1
	sum, ss := 0.0, 0.0
	for t, v := range y {
		if v < 0 {
			return nil, fmt.Errorf("%w: %s needs non-negative demand, got %v at index %d", ErrBadSpec, method, v, t)
		}
		if v > 0 {
			if first < 0 {
				first = t
			}
			im.nonzero++
			sum += v
		}
	}
	if im.nonzero > 0 {
		mean := sum / float64(im.nonzero)
		for _, v := range y {
			if v > 0 {
				ss += (v - mean) * (v - mean)
			}
		}
		if im.nonzero > 1 {
			im.sizeSD = math.Sqrt(ss / float64(im.nonzero-1))
		}
	}
	im.fitted = make([]float64, n)
	if im.nonzero == 0 {
		// All zero: forecast zero (R's croston does the same).
		im.p0, im.p = 1, 1
		if method == MethodTSB {
			im.p0, im.p = 0, 0
		}
		return im, nil
	}
	if method == MethodTSB {
		im.z0 = sum / float64(im.nonzero)
		im.p0 = float64(im.nonzero) / float64(n)
	} else {
		im.z0 = y[first]
		im.p0 = float64(first + 1)
	}
	best := math.Inf(1)
	grid := func(i int) float64 { return float64(i) / 100 }
	for i := 1; i <= 50; i++ {
		if method != MethodTSB {
			if mse, _, _ := im.run(grid(i), 0, nil); mse < best {
				best, im.alpha = mse, grid(i)
			}
			continue
		}
		for j := 1; j <= 50; j++ {
			if mse, _, _ := im.run(grid(i), grid(j), nil); mse < best {
				best, im.alpha, im.beta = mse, grid(i), grid(j)
			}
		}
	}
	if math.IsInf(best, 1) {
		im.alpha, im.beta = 0.1, 0.1
	}
	im.mse, im.z, im.p = im.run(im.alpha, im.beta, im.fitted)
	return im, nil
}

func (im *intermittentModel) level() float64 {
	if im.nonzero == 0 {
		return 0
	}
	return im.forecastFrom(im.z, im.p, im.alpha)
}

func (im *intermittentModel) point(h int) []float64 {
	out := make([]float64, h)
	for i := range out {
		out[i] = im.level()
	}
	return out
}

func (im *intermittentModel) bounds(mean []float64, level float64) (lo, hi []float64) {
	return simBounds(im, len(mean), level)
}

func (im *intermittentModel) path(rng *rand.Rand, out []float64) {
	prob := 0.0
	if im.nonzero > 0 {
		if im.method == MethodTSB {
			prob = im.p
		} else {
			prob = 1 / im.p
		}
	}
	for i := range out {
		out[i] = 0
		if rng.Float64() < prob {
			out[i] = math.Max(0, im.z+im.sizeSD*rng.NormFloat64())
		}
	}
}

func (im *intermittentModel) model() *Model {
	names := map[Method]string{MethodCroston: "Croston", MethodSBA: "SBA", MethodTSB: "TSB"}
	d := Description{Method: im.method, Name: names[im.method], Period: 1, N: len(im.y),
		Params:  map[string]float64{"alpha": im.alpha, "size_sd": im.sizeSD},
		Initial: []float64{im.z0, im.p0}, Sigma2: im.mse}
	if im.method == MethodTSB {
		d.Params["beta"] = im.beta
	}
	fitted := im.fitted
	return &Model{desc: d, y: im.y, fitted: fitted, impl: im}
}

// restoreIntermittent rebuilds a Croston/SBA/TSB model from its description.
func restoreIntermittent(d Description, y []float64) (*Model, error) {
	if len(d.Initial) != 2 {
		return nil, fmt.Errorf("%w: %s needs 2 initial states", ErrBadSpec, d.Method)
	}
	im, err := fitIntermittent(y, d.Method) // recomputes counts and size sd
	if err != nil {
		return nil, err
	}
	im.alpha, im.beta = d.Params["alpha"], d.Params["beta"]
	im.z0, im.p0 = d.Initial[0], d.Initial[1]
	if im.nonzero > 0 {
		im.mse, im.z, im.p = im.run(im.alpha, im.beta, im.fitted)
	}
	return im.model(), nil
}

// zeroShare returns the fraction of zeros in y.
func zeroShare(y []float64) float64 {
	if len(y) == 0 {
		return 0
	}
	z := 0
	for _, v := range y {
		if v == 0 {
			z++
		}
	}
	return float64(z) / float64(len(y))
}
