package forecasting

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// movingAverage returns the centred moving average of order m used by
// classical decomposition (R's stats::decompose): a 2×m MA for even m, an
// m-MA for odd m. Ends without a full window are NaN.
func movingAverage(y []float64, m int) []float64 {
	n := len(y)
	var w []float64
	if m%2 == 0 {
		w = make([]float64, m+1)
		for i := range w {
			w[i] = 1 / float64(m)
		}
		w[0], w[m] = 0.5/float64(m), 0.5/float64(m)
	} else {
		w = make([]float64, m)
		for i := range w {
			w[i] = 1 / float64(m)
		}
	}
	nf := len(w)
	shift := nf / 2
	out := make([]float64, n)
	for i := range out {
		if i+shift-(nf-1) < 0 || i+shift >= n {
			out[i] = math.NaN()
			continue
		}
		z := 0.0
		for j := 0; j < nf; j++ {
			z += w[j] * y[i+shift-j]
		}
		out[i] = z
	}
	return out
}

// decompose returns the seasonal component of a classical additive or
// multiplicative decomposition (Kendall & Stuart; R's stats::decompose),
// aligned so that y[0] is at position 1 of the cycle. It needs n ≥ 2m.
func decompose(y []float64, m int, multiplicative bool) []float64 {
	n := len(y)
	trend := movingAverage(y, m)
	fig := make([]float64, m)
	for i := 0; i < m; i++ {
		s, c := 0.0, 0
		for t := i; t < n; t += m {
			if math.IsNaN(trend[t]) {
				continue
			}
			var v float64
			if multiplicative {
				v = y[t] / trend[t]
			} else {
				v = y[t] - trend[t]
			}
			s += v
			c++
		}
		fig[i] = s / float64(c)
	}
	mean := 0.0
	for _, v := range fig {
		mean += v
	}
	mean /= float64(m)
	for i := range fig {
		if multiplicative {
			fig[i] /= mean
		} else {
			fig[i] -= mean
		}
	}
	out := make([]float64, n)
	for t := range out {
		out[t] = fig[t%m]
	}
	return out
}

// fourierTrend fits y_t = a + b·t + c·sin(2πt/m) + d·cos(2πt/m), t = 1..n,
// by least squares (R: tslm(y ~ trend + fourier(y, 1))) and returns a, b.
func fourierTrend(y []float64, m int) (a, b float64, err error) {
	n := len(y)
	cols := 4
	if m == 2 {
		cols = 3 // the sine column is identically zero
	}
	X := mat.NewDense(n, cols, nil)
	for i := 0; i < n; i++ {
		t := float64(i + 1)
		X.Set(i, 0, 1)
		X.Set(i, 1, t)
		if m == 2 {
			X.Set(i, 2, math.Cos(2*math.Pi*t/float64(m)))
		} else {
			X.Set(i, 2, math.Sin(2*math.Pi*t/float64(m)))
			X.Set(i, 3, math.Cos(2*math.Pi*t/float64(m)))
		}
	}
	var beta mat.VecDense
	if err := beta.SolveVec(X, mat.NewVecDense(n, append([]float64(nil), y...))); err != nil {
		return 0, 0, err
	}
	return beta.AtVec(0), beta.AtVec(1), nil
}
