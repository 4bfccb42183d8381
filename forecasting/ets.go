package forecasting

import (
	"fmt"
	"math"
	"strings"
)

// Component codes of an ETS model: none, additive, multiplicative.
const (
	compN = 0
	compA = 1
	compM = 2
)

const (
	etsTol  = 1e-10
	etsHuge = 1e10
	// MaxSeasonalPeriod is the longest seasonal period ETS models accept
	// (as in R's forecast::ets); longer periods are fitted non-seasonally.
	MaxSeasonalPeriod = 24
)

// Optimisation criteria.
const (
	critLik = iota
	critMSE
)

var compLetters = [3]string{"N", "A", "M"}

func compCode(s byte) (int, bool) {
	switch s {
	case 'N':
		return compN, true
	case 'A':
		return compA, true
	case 'M':
		return compM, true
	}
	return 0, false
}

// etsName formats ETS(E,T,S) with "d" for a damped trend.
func etsName(et, tt, st int, damped bool) string {
	d := ""
	if damped {
		d = "d"
	}
	return fmt.Sprintf("ETS(%s,%s%s,%s)", compLetters[et], compLetters[tt], d, compLetters[st])
}

// etsModel is a fitted ETS model in the innovations state-space form of
// Hyndman, Koehler, Ord & Snyder (2008). State layout: level, then growth
// (if any), then m seasonal states s_0 (most recent) … s_{m-1} (the one
// for the next period), as in R's forecast::ets.
type etsModel struct {
	et, tt, st int
	damped     bool
	m          int // seasonal period used by the model (1 when non-seasonal)
	alpha      float64
	beta       float64
	gamma      float64
	phi        float64
	init       []float64 // full initial state
	last       []float64 // state after the last observation
	y          []float64
	fitted     []float64
	innov      []float64 // innovations e_t (relative for multiplicative error)
	lik        float64   // n·log(Σe²) (+ 2Σlog|ŷ|): minus twice R's loglik
	nParams    int       // estimated parameters including sigma² (R's np)
	sigma2     float64
	aic, aicc  float64
	bic        float64
}

func (f *etsModel) name() string { return etsName(f.et, f.tt, f.st, f.damped) }

// nState is the length of the state vector.
func nState(tt, st, m int) int {
	k := 1
	if tt != compN {
		k++
	}
	if st != compN {
		k += m
	}
	return k
}

// etsFilter runs the ETS recursions (HKOS 2008, Table 2.2; the same update
// as R's forecast C routine etscalc) from the initial state x0 over y.
// ring (length ≥ m) is scratch. It returns lik = n·log(Σe²), plus 2·Σlog|ŷ_t|
// for multiplicative error, and the mean squared one-step error on the
// data scale. When e, f or last are non-nil they receive the innovations,
// the one-step forecasts and the final state. It does not allocate.
// etsLik computes the same lik faster when nothing else is needed.
func etsFilter(y []float64, et, tt, st, m int, alpha, beta, gamma, phi float64, x0, ring, e, f, last []float64) (lik, mse float64) {
	l, b, k := etsStart(x0, tt, st, m, ring)
	p := 0
	sse, sseRaw := 0.0, 0.0
	prod, exp2 := 1.0, 0
	trend := tt == compA
	A, B, C := etsLinear(alpha, beta, phi)
	for i, yi := range y {
		q := l
		if trend {
			q = l + phi*b
		}
		fc, so := q, 0.0
		switch st {
		case compA:
			so = ring[p]
			fc = q + so
		case compM:
			so = ring[p]
			fc = q * so
		}
		var ei float64
		if et == compA {
			ei = yi - fc
		} else {
			ei = (yi - fc) / fc
		}
		if e != nil {
			e[i] = ei
		}
		if f != nil {
			f[i] = fc
		}
		d := yi - fc
		sseRaw += d * d
		var pp float64
		switch st {
		case compN:
			pp = yi
		case compA:
			pp = yi - so
		default:
			if math.Abs(so) < etsTol {
				pp = etsHuge
			} else {
				pp = yi / so
			}
		}
		if trend {
			l, b = A*l+(B*b+alpha*pp), (C*b+beta*pp)-beta*l
		} else {
			l = A*l + alpha*pp
		}
		if st != compN {
			var t float64
			if st == compA {
				t = yi - q
			} else if math.Abs(q) < etsTol {
				t = etsHuge
			} else {
				t = yi / q
			}
			ring[p] = so + gamma*(t-so)
			p++
			if p == m {
				p = 0
			}
		}
		sse += ei * ei
		if et == compM {
			prod *= math.Abs(fc)
			if prod > 1e150 || prod < 1e-150 {
				var e int
				prod, e = frexp(prod)
				exp2 += e
			}
		}
	}
	if last != nil {
		last[0] = l
		if tt != compN {
			last[1] = b
		}
		if st != compN {
			// s_j = ring[(p+m-1-j) mod m]
			for j := 0; j < m; j++ {
				last[k+j] = ring[(p+m-1-j)%m]
			}
		}
	}
	n := float64(len(y))
	return etsLikValue(et, n, sse, prod, exp2), sseRaw / n
}

// etsLik is etsFilter's lik alone: what the likelihood evaluations of an
// ETS fit need. Each season type takes a loop of its own that does the
// general loop's operations on the same operands (so the result is bit
// for bit etsFilter's) without its per-step tests of the season type and
// the output slices and without the data-scale MSE. The loops write the
// seasonal state and take β·ℓ before ℓ is updated: with fewer values live
// at once the compiler keeps ℓ in a register instead of passing it
// through the stack on the recursion's critical path.
func etsLik(y []float64, et, tt, st, m int, alpha, beta, gamma, phi float64, x0, ring []float64) float64 {
	l, b, _ := etsStart(x0, tt, st, m, ring)
	A, B, C := etsLinear(alpha, beta, phi)
	var sse, prod float64
	var exp2 int
	switch st {
	case compN:
		sse, prod, exp2 = etsLoopNoSeason(y, et, tt == compA, alpha, beta, phi, A, B, C, l, b)
	case compA:
		sse, prod, exp2 = etsLoopAddSeason(y, et, tt == compA, m, alpha, beta, gamma, phi, A, B, C, l, b, ring)
	default:
		sse, prod, exp2 = etsLoopMulSeason(y, et, tt == compA, m, alpha, beta, gamma, phi, A, B, C, l, b, ring)
	}
	return etsLikValue(et, float64(len(y)), sse, prod, exp2)
}

// etsStart reads the initial state x0: it returns the level, the growth
// (0 without a trend) and the index of the first seasonal state in x0,
// and fills ring with the seasonal states, ring[j] = s_{m-1-j}, so that
// the ring read from index 0 gives each observation's season in turn.
func etsStart(x0 []float64, tt, st, m int, ring []float64) (l, b float64, k int) {
	l = x0[0]
	k = 1
	if tt != compN {
		b = x0[1]
		k = 2
	}
	if st != compN {
		for j := 0; j < m; j++ {
			ring[j] = x0[k+m-1-j]
		}
	}
	return l, b, k
}

// etsLinear returns the coefficients of the level and growth recursion in
// linear form, A = 1−α, B = (1−α)φ and C = φ(1−β). R's etscalc updates
//
//	ℓ' = q + α(p − q),  b' = φb + (β/α)(ℓ' − ℓ − φb),  q = ℓ + φb,
//
// and since ℓ' − q = α(p − q) that is
//
//	ℓ' = Aℓ + (Bb + αp),  b' = (Cb + βp) − βℓ,
//
// the same model with different rounding. The recursion a step waits for
// (ℓ and b) is then two dependent operations deep instead of nine; q, the
// forecast and the seasonal update hang off it.
func etsLinear(alpha, beta, phi float64) (A, B, C float64) {
	A = 1 - alpha
	return A, A * phi, phi * (1 - beta)
}

// etsLikValue is minus twice the concentrated log-likelihood from the sum
// of squared innovations and, for multiplicative error, the product of the
// one-step forecasts' magnitudes, prod·2^exp2. The product is kept in range
// with frexp as it is accumulated: one logarithm per evaluation instead of
// one per observation.
func etsLikValue(et int, n, sse, prod float64, exp2 int) float64 {
	lik := n * math.Log(sse)
	if et == compM {
		lik += 2 * (math.Log(prod) + float64(exp2)*math.Ln2)
	}
	return lik
}

// frexp is math.Frexp without a call: the likelihood loops keep their
// product of forecasts in range with it, and a call in a loop makes the
// compiler spill the loop's registers to the stack on every step.
func frexp(f float64) (frac float64, exp int) {
	bits := math.Float64bits(f)
	e := int(bits>>52) & 0x7ff
	if e == 0x7ff || f == 0 {
		return f, 0 // ±Inf, NaN, ±0
	}
	if e == 0 { // subnormal: normalise first
		bits = math.Float64bits(f * 0x1p52)
		e = int(bits>>52)&0x7ff - 52
	}
	return math.Float64frombits(bits&^(0x7ff<<52) | 1022<<52), e - 1022
}

// etsLoopNoSeason is etsLik's loop for non-seasonal models.
func etsLoopNoSeason(y []float64, et int, trend bool, alpha, beta, phi, A, B, C, l, b float64) (sse, prod float64, exp2 int) {
	prod = 1
	for _, yi := range y {
		fc := l
		if trend {
			fc = l + phi*b
		}
		var ei float64
		if et == compA {
			ei = yi - fc
		} else {
			ei = (yi - fc) / fc
		}
		if trend {
			bl := beta * l
			l, b = A*l+(B*b+alpha*yi), (C*b+beta*yi)-bl
		} else {
			l = A*l + alpha*yi
		}
		sse += ei * ei
		if et == compM {
			prod *= math.Abs(fc)
			if prod > 1e150 || prod < 1e-150 {
				var e int
				prod, e = frexp(prod)
				exp2 += e
			}
		}
	}
	return sse, prod, exp2
}

// etsLoopAddSeason is etsLik's loop for additive seasonality.
func etsLoopAddSeason(y []float64, et int, trend bool, m int, alpha, beta, gamma, phi, A, B, C, l, b float64, ring []float64) (sse, prod float64, exp2 int) {
	p := 0
	prod = 1
	ring = ring[:m]
	for _, yi := range y {
		q := l
		if trend {
			q = l + phi*b
		}
		so := ring[p]
		ring[p] = so + gamma*((yi-q)-so)
		p++
		if p == m {
			p = 0
		}
		fc := q + so
		pp := yi - so
		if trend {
			bl := beta * l
			l, b = A*l+(B*b+alpha*pp), (C*b+beta*pp)-bl
		} else {
			l = A*l + alpha*pp
		}
		var ei float64
		if et == compA {
			ei = yi - fc
		} else {
			ei = (yi - fc) / fc
		}
		sse += ei * ei
		if et == compM {
			prod *= math.Abs(fc)
			if prod > 1e150 || prod < 1e-150 {
				var e int
				prod, e = frexp(prod)
				exp2 += e
			}
		}
	}
	return sse, prod, exp2
}

// etsLoopMulSeasonGo is etsLik's loop for multiplicative seasonality
// (etsLoopMulSeason, which on amd64 takes multiplicative error to
// etsMulSeasonSteps). It tests |x| < etsTol as −etsTol < x < etsTol, the
// same for every x (NaN included) without math.Abs's trip through an
// integer register.
func etsLoopMulSeasonGo(y []float64, et int, trend bool, m int, alpha, beta, gamma, phi, A, B, C, l, b float64, ring []float64) (sse, prod float64, exp2 int) {
	p := 0
	prod = 1
	ring = ring[:m]
	for _, yi := range y {
		q := l
		if trend {
			q = l + phi*b
		}
		so := ring[p]
		t := etsHuge
		if !(-etsTol < q && q < etsTol) {
			t = yi / q
		}
		ring[p] = so + gamma*(t-so)
		p++
		if p == m {
			p = 0
		}
		fc := q * so
		pp := etsHuge
		if !(-etsTol < so && so < etsTol) {
			pp = yi / so
		}
		if trend {
			bl := beta * l
			l, b = A*l+(B*b+alpha*pp), (C*b+beta*pp)-bl
		} else {
			l = A*l + alpha*pp
		}
		var ei float64
		if et == compA {
			ei = yi - fc
		} else {
			ei = (yi - fc) / fc
		}
		sse += ei * ei
		if et == compM {
			prod *= math.Abs(fc)
			if prod > 1e150 || prod < 1e-150 {
				var e int
				prod, e = frexp(prod)
				exp2 += e
			}
		}
	}
	return sse, prod, exp2
}

// etsPoint writes the point forecasts of the state x for 1..len(out) steps
// ahead (R's etsforecast). Seasonal state order as in etsModel.
func etsPoint(x []float64, tt, st, m int, phi float64, out []float64) {
	l := x[0]
	b := 0.0
	k := 1
	if tt != compN {
		b = x[1]
		k = 2
	}
	phistar := phi
	for i := range out {
		v := l
		if tt == compA {
			v = l + phistar*b
		}
		if st != compN {
			j := m - 1 - i%m
			if st == compA {
				v += x[k+j]
			} else {
				v *= x[k+j]
			}
		}
		out[i] = v
		if math.Abs(phi-1) < etsTol {
			phistar++
		} else {
			phistar += math.Pow(phi, float64(i+2))
		}
	}
}

// etsBounds are the "usual" bounds of R's ets: alpha, beta, gamma in
// [1e-4, 0.9999], phi in [0.8, 0.98].
var etsLower = [4]float64{1e-4, 1e-4, 1e-4, 0.8}
var etsUpper = [4]float64{0.9999, 0.9999, 0.9999, 0.98}

// etsFitter holds the buffers of one ETS estimation; reused across the
// candidate models of a selection so that likelihood evaluations do not
// allocate.
type etsFitter struct {
	y          []float64
	et, tt, st int
	m          int
	damped     bool
	crit       int
	ring       []float64
	x0         []float64
	poly       [2][]float64
	par        []float64
	nm         nelderMead
	obj        func(par []float64, bound float64) float64
	// adm is the last admissibleSeasonal question asked and its answer.
	adm struct {
		key seasonalKey
		ok  bool
		set bool
	}
}

// seasonalKey is everything admissibleSeasonal's answer depends on.
type seasonalKey struct {
	alpha, beta, gamma, phi float64
	trend                   bool
	m                       int
}

func newETSFitter(y []float64, m int) *etsFitter {
	w := &etsFitter{y: y}
	mm := max(m, 1)
	w.ring = make([]float64, mm)
	w.x0 = make([]float64, mm+2)
	w.poly[0] = make([]float64, mm+2)
	w.poly[1] = make([]float64, mm+2)
	w.par = make([]float64, 0, mm+6)
	w.obj = w.objective
	return w
}

// unpack splits a parameter vector into smoothing parameters and the
// full initial state (written to w.x0, including the derived last seasonal
// state). ok is false when the seasonal states are inadmissible.
func (w *etsFitter) unpack(par []float64) (alpha, beta, gamma, phi float64, x0 []float64, ok bool) {
	i := 0
	alpha = par[i]
	i++
	if w.tt != compN {
		beta = par[i]
		i++
	}
	if w.st != compN {
		gamma = par[i]
		i++
	}
	phi = 1
	if w.damped {
		phi = par[i]
		i++
	}
	ns := len(par) - i
	x0 = w.x0[:ns]
	copy(x0, par[i:])
	ok = true
	if w.st != compN {
		start := 1
		if w.tt != compN {
			start = 2
		}
		sum := 0.0
		for _, v := range x0[start:] {
			sum += v
		}
		extra := -sum
		if w.st == compM {
			extra = float64(w.m) - sum
		}
		x0 = w.x0[:ns+1]
		x0[ns] = extra
		if w.st == compM {
			for _, v := range x0[start:] {
				if v < 0 {
					ok = false
				}
			}
		}
	}
	return alpha, beta, gamma, phi, x0, ok
}

// objective is the quantity minimised: minus twice the concentrated
// log-likelihood n·log(Σe²) + 2Σlog|ŷ| (HKOS 2008, eq. 5.3; R's
// opt.crit = "lik"), or the in-sample one-step MSE (opt.crit = "mse"),
// +Inf outside the usual and admissible parameter regions.
//
// bound is nelderMead's (see there): when the value is at least bound
// the simplex only needs to know that, and an inadmissible point would
// score +Inf ≥ bound too — so the admissibility test of the seasonal
// models (a Schur–Cohn recursion on a polynomial of degree m+1, as costly
// as the filter itself) is run only for points that would be kept. The
// simplex takes exactly the steps it takes with the test run first.
func (w *etsFitter) objective(par []float64, bound float64) float64 {
	alpha, beta, gamma, phi, x0, ok := w.unpack(par)
	if !ok || !w.checkRegion(alpha, beta, gamma, phi) {
		return math.Inf(1)
	}
	var v float64
	if w.crit == critMSE {
		_, v = etsFilter(w.y, w.et, w.tt, w.st, w.m, alpha, beta, gamma, phi, x0, w.ring, nil, nil, nil)
	} else {
		v = max(etsLik(w.y, w.et, w.tt, w.st, w.m, alpha, beta, gamma, phi, x0, w.ring), -1e10)
	}
	if math.IsNaN(v) {
		return math.Inf(1)
	}
	if v >= bound || w.st == compN {
		return v
	}
	if !w.admissibleSeasonal(alpha, beta, gamma, phi) {
		return math.Inf(1)
	}
	return v
}

// admissibleSeasonal is admissibleSeasonal for the model being fitted,
// with the last answer kept: about one call in nine of a monthly selection
// asks again about the parameters of the call before (counted on the 100
// series of BenchmarkAutoETSMonthly), and the test is as costly as a
// likelihood evaluation.
func (w *etsFitter) admissibleSeasonal(alpha, beta, gamma, phi float64) bool {
	key := seasonalKey{alpha, beta, gamma, phi, w.tt != compN, w.m}
	if !w.adm.set || w.adm.key != key {
		w.adm.key, w.adm.set = key, true
		w.adm.ok = admissibleSeasonal(alpha, beta, gamma, phi, key.trend, w.m, w.poly[0], w.poly[1])
	}
	return w.adm.ok
}

// checkRegion tests the usual bounds and every admissibility condition
// except the seasonal models' polynomial one (admissibleSeasonal).
func (w *etsFitter) checkRegion(alpha, beta, gamma, phi float64) bool {
	if math.IsNaN(alpha + beta + gamma + phi) {
		return false
	}
	if alpha < etsLower[0] || alpha > etsUpper[0] {
		return false
	}
	if w.tt != compN && (beta < etsLower[1] || beta > alpha || beta > etsUpper[1]) {
		return false
	}
	if w.damped && (phi < etsLower[3] || phi > etsUpper[3]) {
		return false
	}
	if w.st != compN && (gamma < etsLower[2] || gamma > 1-alpha || gamma > etsUpper[2]) {
		return false
	}
	return admissibleRegion(alpha, beta, gamma, phi, w.tt != compN, w.st != compN, w.m)
}

// admissible reports whether the parameters give a forecastable model
// (HKOS 2008, ch. 10): all eigenvalues of the discount matrix inside the
// unit circle (up to 1e-10, as in R).
func admissible(alpha, beta, gamma, phi float64, trend, seasonal bool, m int, buf0, buf1 []float64) bool {
	if !admissibleRegion(alpha, beta, gamma, phi, trend, seasonal, m) {
		return false
	}
	return !seasonal || admissibleSeasonal(alpha, beta, gamma, phi, trend, m, buf0, buf1)
}

// admissibleRegion is admissible without the seasonal models' polynomial
// test: the whole test for non-seasonal models, the necessary conditions
// on the parameters for seasonal ones.
func admissibleRegion(alpha, beta, gamma, phi float64, trend, seasonal bool, m int) bool {
	if phi < 0 || phi > 1+1e-8 {
		return false
	}
	if !seasonal {
		if alpha < 1-1/phi || alpha > 1+1/phi {
			return false
		}
		if trend && (beta < alpha*(phi-1) || beta > (1+phi)*(2-alpha)) {
			return false
		}
		return true
	}
	if !trend {
		beta = 0
	}
	fm := float64(m)
	d := max(1-1/phi-alpha, 0)
	if gamma < d || gamma > 1+1/phi-alpha {
		return false
	}
	if alpha < 1-1/phi-gamma*(1-fm+phi+phi*fm)/(2*phi*fm) {
		return false
	}
	if beta < -(1-phi)*(gamma/fm+alpha) {
		return false
	}
	return true
}

// admissibleSeasonal is the polynomial part of admissible for a seasonal
// model whose parameters passed admissibleRegion.
func admissibleSeasonal(alpha, beta, gamma, phi float64, trend bool, m int, buf0, buf1 []float64) bool {
	if !trend {
		beta = 0
	}
	// Characteristic polynomial, decreasing powers:
	// z^{m+1} + (α+β−φ) z^m + (α+β−αφ) z^{m−1..2} + (α+β−αφ+γ−1) z + φ(1−α−γ).
	deg := m + 1
	c := buf0[:deg+1]
	c[0] = 1
	c[1] = alpha + beta - phi
	for i := 2; i < m; i++ {
		c[i] = alpha + beta - alpha*phi
	}
	c[m] = alpha + beta - alpha*phi + gamma - 1
	c[m+1] = phi * (1 - alpha - gamma)
	// Roots of p(z) within |z| ≤ r ⇔ roots of p(r·w) within |w| ≤ 1.
	// Increasing powers: a_k = c[deg-k]·r^k.
	r := 1 + 1e-10
	a := buf1[:deg+1]
	rk := 1.0
	for k := 0; k <= deg; k++ {
		a[k] = c[deg-k] * rk
		rk *= r
	}
	return schurStable(a, c)
}

// schurStableGo reports whether every root of Σ a_k z^k lies strictly
// inside the unit circle (Schur–Cohn test). a and scratch (same length)
// are overwritten. It is schurStable where there is no assembly version
// (schur_amd64.s does the same operations two at a time).
//
// Each degree takes c to out[k] = (ad·c[k+1] − a0·c[d−1−k]) / lead, a
// division per coefficient as in R, where lead = ad·c[d] − a0·c[0] is
// the new leading coefficient (whose own quotient is 1 when lead is
// finite and non-zero; otherwise it would be NaN and the next degree's
// test would fail). The divisions are most of the test's time, and the
// order they are written in lets the processor keep its divider busy:
// lead first (it needs c[0] and c[d] only), then out[k] and out[d−2−k]
// together, which take the same two coefficients — so out[0], which the
// next degree's lead needs, comes first, and the next degree's first
// pair of coefficients after two more, instead of after the whole degree.
func schurStableGo(a, scratch []float64) bool {
	d := len(a) - 1
	cur, nxt := a, scratch
	for d > 0 {
		c, out := cur[:d+1], nxt[:d]
		a0, ad := c[0], c[d]
		if !(math.Abs(a0) < math.Abs(ad)) {
			return false
		}
		if d == 1 {
			break
		}
		lead := ad*c[d] - a0*c[0]
		if lead == 0 || math.IsInf(lead, 0) || math.IsNaN(lead) {
			return false
		}
		k, j := 0, d-2
		for ; k < j; k, j = k+1, j-1 {
			u, v := c[k+1], c[j+1]
			out[k] = (ad*u - a0*v) / lead
			out[j] = (ad*v - a0*u) / lead
		}
		if k == j {
			u := c[k+1]
			out[k] = (ad*u - a0*u) / lead
		}
		out[d-1] = 1
		d--
		cur, nxt = nxt, cur
	}
	return true
}

// initParams returns R's starting values for the smoothing parameters.
func initParams(tt, st int, damped bool, m int, par []float64) []float64 {
	lo, up := etsLower, etsUpper
	alpha := lo[0] + 0.2*(up[0]-lo[0])/float64(m)
	if alpha > 1 || alpha < 0 {
		alpha = lo[0] + 2e-3
	}
	par = append(par, alpha)
	if tt != compN {
		u := min(up[1], alpha)
		beta := lo[1] + 0.1*(u-lo[1])
		if beta < 0 || beta > alpha {
			beta = alpha - 1e-3
		}
		par = append(par, beta)
	}
	if st != compN {
		u := min(up[2], 1-alpha)
		gamma := lo[2] + 0.05*(u-lo[2])
		if gamma < 0 || gamma > 1-alpha {
			gamma = 1 - alpha - 1e-3
		}
		par = append(par, gamma)
	}
	if damped {
		phi := lo[3] + 0.99*(up[3]-lo[3])
		if phi < 0 || phi > 1 {
			phi = up[3] - 1e-3
		}
		par = append(par, phi)
	}
	return par
}

// initState returns R's heuristic initial states (HKOS 2008, §2.6.1):
// a classical decomposition (or, with fewer than three seasons, a trend +
// first Fourier pair regression) for the seasonal states, then a linear
// fit over the first max(10, 2m) seasonally adjusted values for level and
// growth. It returns l, [b], s_0..s_{m-2} (the last seasonal state is
// implied by the normalisation).
func initState(y []float64, tt, st, m int, par []float64) ([]float64, error) {
	n := len(y)
	ysa := y
	if st != compN {
		if n < 4 {
			return nil, tooShort("seasonal ETS", n, 4)
		}
		var seas []float64
		if n < 3*m {
			a, b, err := fourierTrend(y, m)
			if err != nil {
				return nil, err
			}
			seas = make([]float64, n)
			for i := range y {
				tr := a + b*float64(i+1)
				if st == compA {
					seas[i] = y[i] - tr
				} else {
					seas[i] = y[i] / tr
				}
			}
		} else {
			seas = decompose(y, m, st == compM)
		}
		init := make([]float64, m-1)
		for j := 0; j < m-1; j++ {
			init[j] = seas[m-1-j] // rev(seasonal[2:m])
		}
		adj := make([]float64, n)
		if st == compA {
			for i := range y {
				adj[i] = y[i] - seas[i]
			}
		} else {
			sum := 0.0
			for j := range init {
				init[j] = max(init[j], 1e-2)
				sum += init[j]
			}
			if sum > float64(m) {
				s2 := sum + 1e-2*float64(len(init))
				for j := range init {
					init[j] /= s2
				}
			}
			for i := range y {
				adj[i] = y[i] / max(seas[i], 1e-2)
			}
		}
		ysa = adj
		par = levelTrendInit(ysa, tt, m, par)
		return append(par, init...), nil
	}
	return levelTrendInit(ysa, tt, 1, par), nil
}

func levelTrendInit(ysa []float64, tt, m int, par []float64) []float64 {
	maxn := min(max(10, 2*m), len(ysa))
	if tt == compN {
		s := 0.0
		for _, v := range ysa[:maxn] {
			s += v
		}
		return append(par, s/float64(maxn))
	}
	a, b := simpleRegression(ysa[:maxn])
	if math.Abs(a+b) < 1e-8 {
		a *= 1 + 1e-3
		b *= 1 - 1e-3
	}
	return append(par, a, b)
}

// simpleRegression fits y_i = a + b·i for i = 1..n by least squares.
func simpleRegression(y []float64) (a, b float64) {
	n := float64(len(y))
	if len(y) < 2 {
		return y[0], 0
	}
	mx := (n + 1) / 2
	my := 0.0
	for _, v := range y {
		my += v
	}
	my /= n
	sxy, sxx := 0.0, 0.0
	for i, v := range y {
		dx := float64(i+1) - mx
		sxy += dx * (v - my)
		sxx += dx * dx
	}
	b = sxy / sxx
	return my - b*mx, b
}

// ETSSpec selects ETS models. Model is three letters as in R's
// forecast::ets — error (A, M, Z), trend (N, A, Z), season (N, A, M, Z),
// where Z means "select" — e.g. "ZZZ" (the default when empty), "ANN",
// "MAM". Damped is nil to select, or forces a damped / undamped trend.
type ETSSpec struct {
	Model  string `json:"model,omitempty"`
	Damped *bool  `json:"damped,omitempty"`
	// AdditiveOnly restricts the selection to additive components.
	AdditiveOnly bool `json:"additive_only,omitempty"`
	// IC is the selection criterion: "aicc" (default), "aic" or "bic".
	IC string `json:"ic,omitempty"`
}

type etsCandidate struct {
	et, tt, st int
	damped     bool
}

// etsCandidates expands a spec into the model set searched by R's ets with
// restrict = TRUE and no multiplicative trend.
func etsCandidates(spec ETSSpec, m, n int, positive bool) ([]etsCandidate, int, error) {
	model := strings.ToUpper(spec.Model)
	if model == "" {
		model = "ZZZ"
	}
	if len(model) != 3 {
		return nil, 0, fmt.Errorf("%w: ETS model %q must have three letters", ErrBadSpec, spec.Model)
	}
	pick := func(c byte, allowed string) ([]int, error) {
		if c == 'Z' {
			out := []int{}
			for i := 0; i < len(allowed); i++ {
				v, _ := compCode(allowed[i])
				out = append(out, v)
			}
			return out, nil
		}
		if !strings.ContainsRune(allowed, rune(c)) {
			return nil, fmt.Errorf("%w: ETS model %q: component %q not supported", ErrBadSpec, spec.Model, c)
		}
		v, _ := compCode(c)
		return []int{v}, nil
	}
	es, err := pick(model[0], "AM")
	if err != nil {
		return nil, 0, err
	}
	ts, err := pick(model[1], "NA")
	if err != nil {
		return nil, 0, err
	}
	ss, err := pick(model[2], "NAM")
	if err != nil {
		return nil, 0, err
	}
	if !positive {
		if model[0] == 'M' || model[2] == 'M' {
			return nil, 0, fmt.Errorf("%w: multiplicative ETS needs strictly positive data", ErrBadSpec)
		}
	}
	seasonalOK := m > 1 && m <= MaxSeasonalPeriod && n > m
	if !seasonalOK {
		if model[2] == 'A' || model[2] == 'M' {
			if m > 1 && m <= MaxSeasonalPeriod {
				return nil, 0, tooShort("seasonal ETS", n, m+1)
			}
			return nil, 0, fmt.Errorf("%w: seasonal ETS needs a period between 2 and %d, got %d", ErrBadSpec, MaxSeasonalPeriod, m)
		}
		ss = []int{compN}
	}
	useM := m
	if !seasonalOK {
		useM = 1
	}
	dampedSet := []bool{true, false}
	if spec.Damped != nil {
		dampedSet = []bool{*spec.Damped}
		if *spec.Damped && model[1] == 'N' {
			return nil, 0, fmt.Errorf("%w: damped ETS needs a trend", ErrBadSpec)
		}
	}
	var out []etsCandidate
	for _, e := range es {
		for _, t := range ts {
			for _, s := range ss {
				for _, d := range dampedSet {
					if t == compN && d {
						continue
					}
					if e == compA && s == compM {
						continue
					}
					if spec.AdditiveOnly && (e == compM || s == compM) {
						continue
					}
					if !positive && e == compM {
						continue
					}
					out = append(out, etsCandidate{e, t, s, d})
				}
			}
		}
	}
	return out, useM, nil
}

// fitETS estimates one ETS model by maximum likelihood (or MSE) with
// Nelder–Mead over smoothing parameters and initial states, as R's
// forecast:::etsmodel does. It returns nil (no error) when the model has
// too many parameters for the data, like R's infinite AICc.
func (w *etsFitter) fit(c etsCandidate, m, crit int) (*etsModel, error) {
	y := w.y
	mm := 1
	if c.st != compN {
		mm = m
	}
	w.et, w.tt, w.st, w.damped, w.m, w.crit = c.et, c.tt, c.st, c.damped, mm, crit
	par := initParams(c.tt, c.st, c.damped, mm, w.par[:0])
	nsmooth := len(par)
	par, err := initState(y, c.tt, c.st, mm, par)
	if err != nil {
		return nil, err
	}
	w.par = par
	if len(par) >= len(y)-1 {
		return nil, nil
	}
	lik, _ := w.nm.minimize(w.obj, par, math.Sqrt(2.220446049250313e-16), 2000)
	if math.IsInf(lik, 0) || lik >= nmBig {
		return nil, nil
	}
	alpha, beta, gamma, phi, x0, ok := w.unpack(par)
	if !ok {
		return nil, nil
	}
	fm := &etsModel{et: c.et, tt: c.tt, st: c.st, damped: c.damped, m: mm,
		alpha: alpha, beta: beta, gamma: gamma, phi: phi,
		init: append([]float64(nil), x0...), y: y}
	fm.filterAll()
	np := len(par) + 1
	fm.nParams = np
	n := float64(len(y))
	fm.aic = fm.lik + 2*float64(np)
	fm.bic = fm.lik + math.Log(n)*float64(np)
	fm.aicc = fm.aic + 2*float64(np*(np+1))/(n-float64(np)-1)
	_ = nsmooth
	return fm, nil
}

// filterAll recomputes fitted values, innovations, the final state, the
// likelihood and sigma² from the parameters and initial state.
func (f *etsModel) filterAll() {
	n := len(f.y)
	f.fitted = make([]float64, n)
	f.innov = make([]float64, n)
	f.last = make([]float64, len(f.init))
	ring := make([]float64, max(f.m, 1))
	f.lik, _ = etsFilter(f.y, f.et, f.tt, f.st, f.m, f.alpha, f.beta, f.gamma, f.phi, f.init, ring, f.innov, f.fitted, f.last)
	ss := 0.0
	for _, e := range f.innov {
		ss += e * e
	}
	// R: sigma2 = sum(residuals^2) / (n - length(par)), par = smoothing + free states.
	np := f.freeParams()
	f.sigma2 = ss / float64(n-np)
}

// freeParams counts the estimated smoothing parameters and free initial states.
func (f *etsModel) freeParams() int {
	k := 2 // alpha, l
	if f.tt != compN {
		k += 2
	}
	if f.st != compN {
		k += f.m // gamma + m-1 states
	}
	if f.damped {
		k++
	}
	return k
}

// icValue returns the model's information criterion by name.
func (f *etsModel) icValue(ic string) float64 {
	switch ic {
	case "aic":
		return f.aic
	case "bic":
		return f.bic
	}
	return f.aicc
}

// selectETS fits every candidate and returns the one with the lowest IC.
func selectETS(y []float64, m int, spec ETSSpec) (*etsModel, error) {
	if err := checkFinite(y); err != nil {
		return nil, err
	}
	n := len(y)
	positive := true
	for _, v := range y {
		if v <= 0 {
			positive = false
			break
		}
	}
	cands, useM, err := etsCandidates(spec, m, n, positive)
	if err != nil {
		return nil, err
	}
	// R: fewer than npars+4 observations → no optimisation possible.
	if n <= 6 {
		return nil, tooShort("ETS", n, 7)
	}
	ic := strings.ToLower(spec.IC)
	w := newETSFitter(y, useM)
	var best *etsModel
	bestIC := math.Inf(1)
	for _, c := range cands {
		fm, err := w.fit(c, useM, critLik)
		if err != nil || fm == nil {
			continue
		}
		v := fm.icValue(ic)
		if !math.IsNaN(v) && v < bestIC {
			best, bestIC = fm, v
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%w: no ETS model could be estimated on %d observations", ErrNoModel, n)
	}
	return best, nil
}
