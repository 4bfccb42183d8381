package forecasting

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// lagWalk is the random walk family of R's forecast::rwf / snaive:
// y_{t+h} = y_{t+h−k·lag} (+ drift·steps), lag 1 (naive) or m (seasonal
// naive). Intervals: σ²·steps + (steps·se(drift))² (Hyndman &
// Athanasopoulos, FPP3 §5.5).
type lagWalk struct {
	y       []float64
	lag     int
	method  Method
	drift   float64
	driftSE float64
	sigma2  float64 // mse of residuals (df-corrected when drifting)
	fitted  []float64
}

func fitLagWalk(y []float64, lag int, drift bool) (*lagWalk, error) {
	n := len(y)
	method := MethodNaive
	switch {
	case drift:
		method = MethodDrift
	case lag > 1:
		method = MethodSNaive
	}
	need := lag + 1
	if drift {
		need = 2
	}
	if n < need {
		return nil, tooShort(string(method), n, need)
	}
	if err := checkFinite(y); err != nil {
		return nil, err
	}
	w := &lagWalk{y: y, lag: lag, method: method, fitted: nanSlice(n)}
	k := n - lag
	if drift {
		d := make([]float64, k)
		for i := range d {
			d[i] = y[i+lag] - y[i]
		}
		mean := 0.0
		for _, v := range d {
			mean += v
		}
		mean /= float64(k)
		w.drift = mean
		if k > 1 {
			ss := 0.0
			for _, v := range d {
				ss += (v - mean) * (v - mean)
			}
			w.driftSE = math.Sqrt(ss/float64(k-1)) / math.Sqrt(float64(k))
		}
	}
	ss := 0.0
	for t := lag; t < n; t++ {
		w.fitted[t] = y[t-lag] + w.drift
		r := y[t] - w.fitted[t]
		ss += r * r
	}
	df := k
	if drift && w.drift != 0 {
		df--
	}
	if df > 0 {
		w.sigma2 = ss / float64(df)
	}
	return w, nil
}

func (w *lagWalk) steps(i int) float64 { return float64(i/w.lag + 1) }

func (w *lagWalk) point(h int) []float64 {
	n := len(w.y)
	out := make([]float64, h)
	for i := range out {
		out[i] = w.y[n-w.lag+i%w.lag] + w.steps(i)*w.drift
	}
	return out
}

func (w *lagWalk) bounds(mean []float64, level float64) (lo, hi []float64) {
	v := make([]float64, len(mean))
	for i := range v {
		s := w.steps(i)
		v[i] = w.sigma2*s + s*s*w.driftSE*w.driftSE
	}
	return normalBounds(mean, v, level)
}

func (w *lagWalk) path(rng *rand.Rand, out []float64) {
	n := len(w.y)
	sd := math.Sqrt(w.sigma2)
	for i := range out {
		var prev float64
		if i < w.lag {
			prev = w.y[n-w.lag+i]
		} else {
			prev = out[i-w.lag]
		}
		out[i] = prev + w.drift + sd*rng.NormFloat64()
	}
}

func (w *lagWalk) model() *Model {
	names := map[Method]string{MethodNaive: "Naive", MethodSNaive: "Seasonal naive", MethodDrift: "Random walk with drift"}
	d := Description{Method: w.method, Name: names[w.method], Period: w.lag, N: len(w.y), Sigma2: w.sigma2}
	if w.method == MethodDrift {
		d.Period = 1
		d.Params = map[string]float64{"drift": w.drift, "drift_se": w.driftSE}
	}
	return &Model{desc: d, y: w.y, fitted: w.fitted, impl: w}
}

// meanModel forecasts the sample mean with Student-t intervals
// s·t_{n−1}·sqrt(1 + 1/n), as R's forecast::meanf.
type meanModel struct {
	y      []float64
	mean   float64
	sd     float64
	fitted []float64
}

func fitMean(y []float64) (*meanModel, error) {
	n := len(y)
	if n < 1 {
		return nil, tooShort("mean", n, 1)
	}
	if err := checkFinite(y); err != nil {
		return nil, err
	}
	mm := &meanModel{y: y}
	for _, v := range y {
		mm.mean += v
	}
	mm.mean /= float64(n)
	if n > 1 {
		ss := 0.0
		for _, v := range y {
			ss += (v - mm.mean) * (v - mm.mean)
		}
		mm.sd = math.Sqrt(ss / float64(n-1))
	}
	mm.fitted = make([]float64, n)
	for i := range mm.fitted {
		mm.fitted[i] = mm.mean
	}
	return mm, nil
}

func (mm *meanModel) point(h int) []float64 {
	out := make([]float64, h)
	for i := range out {
		out[i] = mm.mean
	}
	return out
}

func (mm *meanModel) bounds(mean []float64, level float64) (lo, hi []float64) {
	n := float64(len(mm.y))
	w := math.Inf(1)
	if n > 1 {
		w = distuv.StudentsT{Mu: 0, Sigma: 1, Nu: n - 1}.Quantile(0.5+level/200) * mm.sd * math.Sqrt(1+1/n)
	}
	lo = make([]float64, len(mean))
	hi = make([]float64, len(mean))
	for i := range mean {
		lo[i], hi[i] = mean[i]-w, mean[i]+w
	}
	return lo, hi
}

func (mm *meanModel) path(rng *rand.Rand, out []float64) {
	for i := range out {
		out[i] = mm.mean + mm.sd*rng.NormFloat64()
	}
}

func (mm *meanModel) model() *Model {
	return &Model{desc: Description{Method: MethodMean, Name: "Mean", Period: 1, N: len(mm.y),
		Params: map[string]float64{"mean": mm.mean}, Sigma2: mm.sd * mm.sd}, y: mm.y, fitted: mm.fitted, impl: mm}
}

// linearModel is the regression y_t = β0 + β1·t + Σ δ_j·D_j(t) + ε_t with
// seasonal dummies (season 1 is the baseline), fitted by least squares
// (QR, gonum/mat); intervals use the t distribution and the leverage of the
// new design row, as R's forecast(tslm(y ~ trend + season)).
type linearModel struct {
	y      []float64
	m      int
	coef   []float64
	xtxInv *mat.SymDense
	sigma2 float64
	df     int
	fitted []float64
}

func (lm *linearModel) row(t int, out []float64) {
	for i := range out {
		out[i] = 0
	}
	out[0] = 1
	out[1] = float64(t + 1)
	if lm.m > 1 {
		if s := t % lm.m; s > 0 {
			out[1+s] = 1
		}
	}
}

func fitLinear(y []float64, m int) (*linearModel, error) {
	n := len(y)
	if m < 1 {
		m = 1
	}
	p := 2
	if m > 1 {
		p += m - 1
	}
	if n < p+1 {
		return nil, tooShort("linear", n, p+1)
	}
	if err := checkFinite(y); err != nil {
		return nil, err
	}
	lm := &linearModel{y: y, m: m, df: n - p}
	X := mat.NewDense(n, p, nil)
	r := make([]float64, p)
	for t := 0; t < n; t++ {
		lm.row(t, r)
		X.SetRow(t, r)
	}
	var qr mat.QR
	qr.Factorize(X)
	var beta mat.VecDense
	if err := qr.SolveVecTo(&beta, false, mat.NewVecDense(n, append([]float64(nil), y...))); err != nil {
		return nil, fmt.Errorf("%w: linear regression is singular: %v", ErrBadSpec, err)
	}
	lm.coef = make([]float64, p)
	for i := range lm.coef {
		lm.coef[i] = beta.AtVec(i)
	}
	var xtx mat.SymDense
	xtx.SymOuterK(1, X.T())
	var ch mat.Cholesky
	if !ch.Factorize(&xtx) {
		return nil, fmt.Errorf("%w: linear regression design is singular", ErrBadSpec)
	}
	lm.xtxInv = &mat.SymDense{}
	if err := ch.InverseTo(lm.xtxInv); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSpec, err)
	}
	lm.fitted = make([]float64, n)
	ss := 0.0
	for t := 0; t < n; t++ {
		lm.row(t, r)
		f := 0.0
		for i, c := range lm.coef {
			f += c * r[i]
		}
		lm.fitted[t] = f
		ss += (y[t] - f) * (y[t] - f)
	}
	if lm.df > 0 {
		lm.sigma2 = ss / float64(lm.df)
	}
	return lm, nil
}

func (lm *linearModel) point(h int) []float64 {
	n := len(lm.y)
	r := make([]float64, len(lm.coef))
	out := make([]float64, h)
	for i := range out {
		lm.row(n+i, r)
		for j, c := range lm.coef {
			out[i] += c * r[j]
		}
	}
	return out
}

func (lm *linearModel) bounds(mean []float64, level float64) (lo, hi []float64) {
	n := len(lm.y)
	q := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(lm.df)}.Quantile(0.5 + level/200)
	p := len(lm.coef)
	r := mat.NewVecDense(p, nil)
	lo = make([]float64, len(mean))
	hi = make([]float64, len(mean))
	raw := make([]float64, p)
	for i := range mean {
		lm.row(n+i, raw)
		for j, v := range raw {
			r.SetVec(j, v)
		}
		lev := mat.Inner(r, lm.xtxInv, r)
		w := q * math.Sqrt(lm.sigma2*(1+lev))
		lo[i], hi[i] = mean[i]-w, mean[i]+w
	}
	return lo, hi
}

func (lm *linearModel) path(rng *rand.Rand, out []float64) {
	mean := lm.point(len(out))
	sd := math.Sqrt(lm.sigma2)
	for i := range out {
		out[i] = mean[i] + sd*rng.NormFloat64()
	}
}

func (lm *linearModel) model() *Model {
	d := Description{Method: MethodLinear, Name: "Linear trend + seasonal dummies", Period: lm.m, N: len(lm.y),
		Params: map[string]float64{"intercept": lm.coef[0], "trend": lm.coef[1]}, Sigma2: lm.sigma2}
	for s := 2; s <= lm.m; s++ {
		d.Params[fmt.Sprintf("season%d", s)] = lm.coef[s]
	}
	return &Model{desc: d, y: lm.y, fitted: lm.fitted, impl: lm}
}
