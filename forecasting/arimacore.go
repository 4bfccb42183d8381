package forecasting

import (
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/mat"
)

// This file holds the numerics of a seasonal ARIMA(p,d,q)(P,D,Q)m model as
// R's stats::arima computes them (Gardner, Harvey & Phillips 1980; Durbin
// & Koopman 2012, ch. 3): the parameter transformation that keeps the AR
// part stationary (Jones 1980), the conditional sum of squares, and the
// exact Gaussian likelihood by a Kalman filter on Harvey's state-space form
// with the differencing states initialised diffusely (κ = 1e6).

// arimaOrder is (p,d,q)(P,D,Q)m.
type arimaOrder struct{ p, d, q, sp, sd, sq, m int }

// narma is the number of ARMA coefficients.
func (o arimaOrder) narma() int { return o.p + o.q + o.sp + o.sq }

// expandedLen returns the lengths of the expanded AR and MA polynomials.
func (o arimaOrder) expandedLen() (p, q int) { return o.p + o.m*o.sp, o.q + o.m*o.sq }

// delta returns the coefficients of the differencing operator
// (1−B)^d(1−B^m)^D as R's arima builds Delta: y_t = Σ delta_i y_{t−i} + w_t.
func (o arimaOrder) delta() []float64 {
	poly := []float64{1}
	mul := func(b []float64) {
		out := make([]float64, len(poly)+len(b)-1)
		for i, a := range poly {
			for j, c := range b {
				out[i+j] += a * c
			}
		}
		poly = out
	}
	for range o.d {
		mul([]float64{1, -1})
	}
	for range o.sd {
		b := make([]float64, o.m+1)
		b[0], b[o.m] = 1, -1
		mul(b)
	}
	out := make([]float64, len(poly)-1)
	for i := range out {
		out[i] = -poly[i+1]
	}
	return out
}

// partrans maps unconstrained values to the coefficients of a stationary
// AR polynomial: tanh gives partial autocorrelations in (−1, 1) and the
// Durbin–Levinson recursion turns them into AR coefficients (stats
// arima.c partrans).
func partrans(raw, out []float64) {
	p := len(raw)
	var work [64]float64
	w := work[:0]
	if p > len(work) {
		w = make([]float64, p)
	} else {
		w = work[:p]
	}
	for j := range p {
		out[j] = math.Tanh(raw[j])
		w[j] = out[j]
	}
	for j := 1; j < p; j++ {
		a := out[j]
		for k := range j {
			w[k] -= a * out[j-k-1]
		}
		copy(out[:j], w[:j])
	}
}

// invpartrans inverts partrans (stats arima.c invpartrans).
func invpartrans(phi, out []float64) {
	p := len(phi)
	w := make([]float64, p)
	copy(out, phi)
	copy(w, phi)
	for j := p - 1; j > 0; j-- {
		a := out[j]
		for k := range j {
			w[k] = (out[k] + a*out[j-k-1]) / (1 - a*a)
		}
		copy(out[:j], w[:j])
	}
	for j := range p {
		out[j] = math.Atanh(out[j])
	}
}

// transformAR applies partrans to the non-seasonal and seasonal AR blocks
// of par (layout ar, ma, sar, sma, regression) in place of a copy.
func transformAR(o arimaOrder, par []float64) []float64 {
	out := make([]float64, len(par))
	transformARTo(o, par, out)
	return out
}

// transformARTo is transformAR writing to out.
func transformARTo(o arimaOrder, par, out []float64) {
	copy(out, par)
	if o.p > 0 {
		partrans(par[:o.p], out[:o.p])
	}
	if v := o.p + o.q; o.sp > 0 {
		partrans(par[v:v+o.sp], out[v:v+o.sp])
	}
}

// invTransformAR inverts transformAR.
func invTransformAR(o arimaOrder, par []float64) []float64 {
	out := append([]float64(nil), par...)
	if o.p > 0 {
		invpartrans(par[:o.p], out[:o.p])
	}
	if v := o.p + o.q; o.sp > 0 {
		invpartrans(par[v:v+o.sp], out[v:v+o.sp])
	}
	return out
}

// expandARMA multiplies out the seasonal polynomials: phi has length
// p+mP, theta q+mQ (stats arima.c ARIMA_transPars without transform).
func expandARMA(o arimaOrder, par, phi, theta []float64) {
	ns := o.m
	clear(phi)
	clear(theta)
	copy(phi, par[:o.p])
	copy(theta, par[o.p:o.p+o.q])
	sar := par[o.p+o.q : o.p+o.q+o.sp]
	sma := par[o.p+o.q+o.sp : o.narma()]
	for j, s := range sar {
		phi[(j+1)*ns-1] += s
		for i := range o.p {
			phi[(j+1)*ns+i] -= par[i] * s
		}
	}
	for j, s := range sma {
		theta[(j+1)*ns-1] += s
		for i := range o.q {
			theta[(j+1)*ns+i] += par[o.p+i] * s
		}
	}
}

// cssResiduals computes the conditional sum of squares of the ARMA model
// for the differenced series (stats arima.c ARIMA_CSS): residuals before
// ncond are zero, later ones use the previous residuals and differenced
// values. It returns ssq/nu; resid, when not nil, receives the residuals.
func cssResiduals(x []float64, o arimaOrder, phi, theta []float64, ncond int, w, resid []float64) float64 {
	n := len(x)
	copy(w, x)
	for range o.d {
		for l := n - 1; l > 0; l-- {
			w[l] -= w[l-1]
		}
	}
	for range o.sd {
		for l := n - 1; l >= o.m; l-- {
			w[l] -= w[l-o.m]
		}
	}
	for l := range min(ncond, n) {
		resid[l] = 0
	}
	ssq, nu := 0.0, 0
	q := len(theta)
	for l := ncond; l < n; l++ {
		tmp := w[l]
		for j, ph := range phi {
			tmp -= ph * w[l-j-1]
		}
		for j := range min(l-ncond, q) {
			tmp -= theta[j] * resid[l-j-1]
		}
		resid[l] = tmp
		if !math.IsNaN(tmp) {
			nu++
			ssq += tmp * tmp
		}
	}
	return ssq / float64(nu)
}

// armaQ0 returns the r×r stationary covariance (unit innovation variance)
// of the ARMA part of the state in Harvey's form, α_t[i] = Σ_{k>i} φ_k
// x_{t+i−k} + Σ_{k≥i} θ_k e_{t+i−k}. It solves P = TPT' + RR' exactly: the
// first row from the autocovariances γ and ψ-weights of the process, the
// rest by the recursion P[i][j] = φ_{i+1}φ_{j+1}P00 + φ_{i+1}P[0][j+1] +
// φ_{j+1}P[0][i+1] + P[i+1][j+1] + θ_iθ_j — O(r²) after an O(p³) solve,
// the same matrix R's getQ0 (Gardner et al. 1980) approximates. It returns
// false when the AR part is not stationary.
func armaQ0(phi, theta []float64, r int, out []float64, scratch []float64) bool {
	p := len(phi)
	ph := func(k int) float64 { // φ_k, 1-based
		if k >= 1 && k <= p {
			return phi[k-1]
		}
		return 0
	}
	th := func(k int) float64 { // θ_k, θ_0 = 1
		if k == 0 {
			return 1
		}
		if k >= 1 && k <= len(theta) {
			return theta[k-1]
		}
		return 0
	}
	need := 3*(r+1) + (p+1)*(p+2)
	if len(scratch) < need {
		scratch = make([]float64, need)
	}
	psi, scratch := scratch[:r+1], scratch[r+1:]
	gamma, scratch := scratch[:r+1], scratch[r+1:]
	row, scratch := scratch[:r+1], scratch[r+1:]
	for j := range psi {
		v := th(j)
		for i := 1; i <= min(j, p); i++ {
			v += ph(i) * psi[j-i]
		}
		psi[j] = v
	}
	q := len(theta)
	c := func(k int) float64 { // Σ_{j=k}^{q} θ_j ψ_{j−k}
		s := 0.0
		for j := k; j <= q; j++ {
			s += th(j) * psi[j-k]
		}
		return s
	}
	if p == 0 {
		for k := range gamma {
			gamma[k] = c(k)
		}
	} else {
		// (p+1)×(p+1) system γ(k) − Σ φ_i γ(|k−i|) = c(k), augmented.
		w := p + 2
		a := scratch[:(p+1)*w]
		clear(a)
		for k := 0; k <= p; k++ {
			a[k*w+k] += 1
			for i := 1; i <= p; i++ {
				j := k - i
				if j < 0 {
					j = -j
				}
				a[k*w+j] -= ph(i)
			}
			a[k*w+p+1] = c(k)
		}
		if !solveAugmented(a, p+1) {
			return false
		}
		for k := 0; k <= min(p, r); k++ {
			gamma[k] = a[k*w+p+1]
		}
		for k := p + 1; k <= r; k++ {
			v := c(k)
			for i := 1; i <= p; i++ {
				v += ph(i) * gamma[k-i]
			}
			gamma[k] = v
		}
	}
	if gamma[0] <= 0 || math.IsNaN(gamma[0]) || math.IsInf(gamma[0], 0) {
		return false
	}
	for j := range r {
		s := 0.0
		for k := 1; k <= r-j; k++ {
			s += ph(j+k) * gamma[k]
		}
		for k := 0; k <= r-1-j; k++ {
			s += th(j+k) * psi[k]
		}
		row[j] = s
	}
	row[0] = gamma[0]
	row[r] = 0
	at := func(i, j int) float64 {
		if i >= r || j >= r {
			return 0
		}
		return out[i*r+j]
	}
	for j := range r {
		out[j] = row[j]
		out[j*r] = row[j]
	}
	for i := r - 1; i >= 1; i-- {
		for j := r - 1; j >= i; j-- {
			v := ph(i+1)*ph(j+1)*row[0] + ph(i+1)*row[j+1] + ph(j+1)*row[i+1] + at(i+1, j+1) + th(i)*th(j)
			out[i*r+j] = v
			out[j*r+i] = v
		}
	}
	return true
}

// solveAugmented solves the n×n system held with its right-hand side as
// an n×(n+1) row-major augmented matrix by Gaussian elimination with
// partial pivoting; the solution replaces the last column. It returns
// false for a singular system.
func solveAugmented(a []float64, n int) bool {
	w := n + 1
	for col := range n {
		piv, best := col, math.Abs(a[col*w+col])
		for r := col + 1; r < n; r++ {
			if v := math.Abs(a[r*w+col]); v > best {
				piv, best = r, v
			}
		}
		if best == 0 || math.IsNaN(best) {
			return false
		}
		if piv != col {
			for j := col; j < w; j++ {
				a[col*w+j], a[piv*w+j] = a[piv*w+j], a[col*w+j]
			}
		}
		d := a[col*w+col]
		for r := col + 1; r < n; r++ {
			f := a[r*w+col] / d
			if f == 0 {
				continue
			}
			for j := col; j < w; j++ {
				a[r*w+j] -= f * a[col*w+j]
			}
		}
	}
	for r := n - 1; r >= 0; r-- {
		s := a[r*w+n]
		for j := r + 1; j < n; j++ {
			s -= a[r*w+j] * a[j*w+n]
		}
		a[r*w+n] = s / a[r*w+r]
	}
	return true
}

// kappa is the prior variance of the diffuse differencing states (R's
// makeARIMA default).
const kappa = 1e6

// kalman holds the state of the ARIMA Kalman filter and its buffers.
type kalman struct {
	phi, theta, delta []float64
	r, d, rd          int
	a, anew, m        []float64
	pm, pnew, mm      []float64 // rd×rd, row-major
	scratch           []float64 // for armaQ0
	work              []float64 // for filterARMA
	rows              [][]float64
	// The covariance recursion (P, the gains and the vectors P·Z) depends
	// on phi and theta only, not on the data or the regression
	// coefficient. filter records it; filterMean replays it, running only
	// the mean recursion, when phi and theta are bitwise the ones recorded
	// (the finite differences in a regression coefficient, the fits of a
	// model without ARMA coefficients).
	// Indices of the nonzero entries of phi (below r−1), theta and
	// delta: the expanded seasonal polynomials and the differencing
	// operator are mostly zeros, and a term 0·x added to a sum leaves it
	// unchanged, so the loops skip them.
	phiNZ, thNZ, dNZ []int
	rec              bool      // record the covariance recursion in the next filter
	recValid         bool      // recGain/recM hold the recursion of recPhi/recTheta
	recPhi           []float64 // phi and theta of the recording
	recTheta         []float64
	recGain          []float64 // gain per step
	recM             []float64 // P·Z per step, rd values each
	recSumlog        float64
	recNu            int
}

func newKalman(phi, theta, delta []float64) *kalman {
	p, q := len(phi), len(theta)
	r := max(p, q+1)
	d := len(delta)
	rd := r + d
	k := &kalman{phi: phi, theta: theta, delta: delta, r: r, d: d, rd: rd,
		a: make([]float64, rd), anew: make([]float64, rd), m: make([]float64, rd),
		pm: make([]float64, rd*rd), pnew: make([]float64, rd*rd), mm: make([]float64, rd*rd),
		scratch: make([]float64, 3*(r+1)+(p+1)*(p+2)), rows: make([][]float64, rd)}
	for i, v := range delta {
		if v != 0 {
			k.dNZ = append(k.dNZ, i)
		}
	}
	k.sparsity()
	return k
}

// sparsity records the nonzero entries of phi and theta; it must be
// called whenever they change (init does).
func (k *kalman) sparsity() {
	k.phiNZ, k.thNZ = k.phiNZ[:0], k.thNZ[:0]
	for i, v := range k.phi[:min(len(k.phi), k.r-1)] {
		if v != 0 {
			k.phiNZ = append(k.phiNZ, i)
		}
	}
	for i, v := range k.theta {
		if v != 0 {
			k.thNZ = append(k.thNZ, i)
		}
	}
}

// init resets the state: a = 0, Pnew = blockdiag(Q0, κI) as makeARIMA and
// upARIMA do. It returns false when Q0 does not exist.
func (k *kalman) init() bool {
	k.sparsity()
	clear(k.a)
	clear(k.pnew)
	r, rd := k.r, k.rd
	if r > 1 {
		q0 := k.mm[:r*r]
		if !armaQ0(k.phi, k.theta, r, q0, k.scratch) {
			return false
		}
		for i := range r {
			copy(k.pnew[i*rd:i*rd+r], q0[i*r:(i+1)*r])
		}
	} else if len(k.phi) > 0 {
		k.pnew[0] = 1 / (1 - k.phi[0]*k.phi[0])
	} else {
		k.pnew[0] = 1
	}
	for i := r; i < rd; i++ {
		k.pnew[i*rd+i] = kappa
	}
	return true
}

// predictState advances a and P one step: anew = Ta, Pnew = TPT' + RR'.
func (k *kalman) predictState() {
	r, d, rd, p, q := k.r, k.d, k.rd, len(k.phi), len(k.theta)
	P, phi, theta, delta := k.pm, k.phi, k.theta, k.delta
	k.predictMean()
	Pn := k.pnew
	P0 := P[:rd]
	if d == 0 {
		// Pnew = TPT' + RR' term by term, in R's order of additions.
		for i := range r {
			vi := 0.0
			if i == 0 {
				vi = 1
			} else if i-1 < q {
				vi = theta[i-1]
			}
			row := Pn[i*rd : (i+1)*rd]
			row[0] = vi
			for j := 1; j < r; j++ {
				if j-1 < q {
					row[j] = vi * theta[j-1]
				} else {
					row[j] = 0
				}
			}
			if i < p {
				f := phi[i]
				for j := range min(p, r) {
					row[j] += f * phi[j] * P[0]
				}
			}
			if i < r-1 {
				src := P[(i+1)*rd : (i+2)*rd]
				for j := range r - 1 {
					row[j] += src[j+1]
				}
			}
			if i < p {
				f := phi[i]
				for j := range r - 1 {
					row[j] += f * P[(j+1)*rd]
				}
			}
			if i < r-1 {
				pi1 := P[(i+1)*rd]
				for j := range min(p, r) {
					row[j] += phi[j] * pi1
				}
			}
		}
		return
	}
	// mm = TP, row by row; rows that are plain rows of P (the shift part
	// of T) are referenced, not copied.
	mm := k.mm
	rows := k.rows
	for i := range r {
		switch {
		case i < r-1 && i < p && phi[i] != 0:
			row := mm[i*rd : (i+1)*rd]
			f, src := phi[i], P[(i+1)*rd:(i+2)*rd]
			axpy(row, f, P0, src)
			rows[i] = row
		case i < r-1: // φ_i = 0 or i ≥ p: row i+1 of P
			rows[i] = P[(i+1)*rd : (i+2)*rd]
		case i < p:
			row := mm[i*rd : (i+1)*rd]
			f := phi[i]
			for j := range row {
				row[j] = f * P0[j]
			}
			rows[i] = row
		default:
			row := mm[i*rd : (i+1)*rd]
			clear(row)
			rows[i] = row
		}
	}
	row := mm[r*rd : (r+1)*rd]
	copy(row, P0)
	for _, kk := range k.dNZ {
		f, src := delta[kk], P[(r+kk)*rd:(r+kk+1)*rd]
		addScaled(row, f, src)
	}
	rows[r] = row
	for i := 1; i < d; i++ {
		rows[r+i] = P[(r+i-1)*rd : (r+i)*rd]
	}
	// Pnew = mm T' (row j of Pnew from row j of mm; sequential access
	// beats computing one triangle and mirroring it).
	phiNZ, dNZ := k.phiNZ, k.dNZ
	for j := range rd {
		mj := rows[j][:rd]
		out := Pn[j*rd : (j+1)*rd]
		m0 := mj[0]
		sh := mj[1:r] // the shifted part: out[i] gets mj[i+1]
		for i := range sh {
			out[i] = sh[i]
		}
		for _, i := range phiNZ {
			out[i] = phi[i]*m0 + sh[i]
		}
		if i := r - 1; i < p {
			out[i] = phi[i] * m0
		} else {
			out[i] = 0
		}
		tmp := m0
		md := mj[r : r+len(delta)]
		for _, kk := range dNZ {
			tmp += delta[kk] * md[kk]
		}
		out[r] = tmp
		dst, src := out[r+1:], mj[r:rd-1]
		for i := range dst {
			dst[i] = src[i]
		}
	}
	k.addRR(Pn, rd)
}

// addRR adds RR' = (1, θ_1, …, θ_q)(1, θ_1, …, θ_q)' to the top-left
// block of Pn, skipping the zero θs.
func (k *kalman) addRR(Pn []float64, rd int) {
	theta, thNZ := k.theta, k.thNZ
	row0 := Pn[:len(theta)+1]
	row0[0]++
	for _, j := range thNZ {
		row0[j+1] += theta[j]
	}
	for _, i := range thNZ {
		vi := theta[i]
		out := Pn[(i+1)*rd : (i+1)*rd+len(theta)+1]
		out[0] += vi
		ot := out[1:]
		for _, j := range thNZ {
			ot[j] += vi * theta[j]
		}
	}
}

// filter runs the filter over y (stats arima.c ARIMA_Like): it returns the
// sum of squared standardised innovations, the sum of log gains and their
// count, skipping steps whose gain is ≥ 1e4 (the diffuse start). resid,
// when not nil, receives the standardised innovations. The state after the
// last observation is left in a and pm for forecasting.
func (k *kalman) filter(y []float64, resid []float64) (ssq, sumlog float64, nu int) {
	r, rd := k.r, k.rd
	delta, dNZ := k.delta, k.dNZ
	prod := 1.0
	rec := k.rec
	if rec {
		k.recValid = false
		if cap(k.recGain) < len(y) {
			k.recGain = make([]float64, len(y))
			k.recM = make([]float64, len(y)*rd)
		}
		k.recGain = k.recGain[:len(y)]
		k.recM = k.recM[:len(y)*rd]
	}
	for l, yl := range y {
		if l == 0 {
			k.predictMean()
		} else {
			k.predictState()
		}
		Pn := k.pnew
		resid0 := yl - k.anew[0]
		for _, i := range dNZ {
			resid0 -= delta[i] * k.anew[r+i]
		}
		gain := Pn[0]
		for _, i := range dNZ {
			gain += delta[i] * Pn[(r+i)*rd]
		}
		km := k.m[:rd]
		for i := range km {
			pi := Pn[i*rd : (i+1)*rd]
			tmp := pi[0]
			pd := pi[r : r+len(delta)]
			for _, kk := range dNZ {
				tmp += pd[kk] * delta[kk]
			}
			km[i] = tmp
		}
		for _, i := range dNZ {
			gain += delta[i] * km[r+i]
		}
		if rec {
			k.recGain[l] = gain
			copy(k.recM[l*rd:(l+1)*rd], km)
		}
		if gain < 1e4 {
			nu++
			ssq += resid0 * resid0 / gain
			// Σ log gain as the log of a running product, taken before it
			// could overflow: one logarithm instead of one per step.
			prod *= gain
			if prod > 1e250 || prod < 1e-250 {
				sumlog += math.Log(prod)
				prod = 1
			}
		}
		if resid != nil {
			resid[l] = resid0 / math.Sqrt(gain)
		}
		ka, kanew := k.a[:rd], k.anew[:rd]
		for i, mi := range km {
			ka[i] = kanew[i] + mi*resid0/gain
		}
		inv := 1 / gain
		pm := k.pm[:rd*rd]
		for i, mi := range km {
			mi *= inv
			row := pm[i*rd : (i+1)*rd]
			subScaled(row, Pn[i*rd:(i+1)*rd], mi, km)
		}
	}
	sumlog += math.Log(prod)
	if rec {
		k.recPhi = append(k.recPhi[:0], k.phi...)
		k.recTheta = append(k.recTheta[:0], k.theta...)
		k.recSumlog, k.recNu = sumlog, nu
		k.recValid = true
	}
	return ssq, sumlog, nu
}

// filterARMA is filter for a state without differencing (d = 0), the
// one the stepwise search filters the differenced series with. It keeps
// only the upper triangle of the symmetric P and fuses the prediction
// with the update of the previous step: with c_j = P[0][j+1] and u_j =
// φ_j·P[0][0] + c_j,
//
//	Pnew[i][j] = P[i+1][j+1] + v_i·v_j + φ_i·u_j + φ_j·c_i   (i ≤ j),
//	P[i][j]    = Pnew[i][j] − Pnew[0][i]·Pnew[0][j]/gain,
//
// v = (1, θ_1, …, θ_{r−1}) — the same sums as filter's in another order,
// so equal to its results up to rounding. It records the recursion as
// filter does.
func (k *kalman) filterARMA(y []float64) (ssq, sumlog float64, nu int) {
	r := k.r
	prod := 1.0
	rec := k.rec
	if rec {
		k.recValid = false
		if cap(k.recGain) < len(y) {
			k.recGain = make([]float64, len(y))
			k.recM = make([]float64, len(y)*r)
		}
		k.recGain = k.recGain[:len(y)]
		k.recM = k.recM[:len(y)*r]
	}
	// ph, v, c and u are φ, v, c and u padded to length r.
	if len(k.work) < 4*r {
		k.work = make([]float64, 4*r)
	}
	ph, v, c, u := k.work[:r], k.work[r:2*r], k.work[2*r:3*r], k.work[3*r:4*r]
	clear(ph)
	copy(ph, k.phi)
	v[0] = 1
	for i := 1; i < r; i++ {
		v[i] = 0
		if i-1 < len(k.theta) {
			v[i] = k.theta[i-1]
		}
	}
	P, Pn := k.pm[:r*r], k.pnew[:r*r]
	a, anew := k.a[:r], k.anew[:r]
	for l, yl := range y {
		if l > 0 {
			p00 := P[0]
			for j := range r - 1 {
				c[j] = P[j+1]
			}
			c[r-1] = 0
			for j := range r {
				u[j] = ph[j]*p00 + c[j]
			}
			for i := range r {
				row := Pn[i*r : (i+1)*r]
				vi, fi, ci := v[i], ph[i], c[i]
				if i < r-1 {
					src := P[(i+1)*r : (i+2)*r]
					for j := i; j < r-1; j++ {
						row[j] = src[j+1] + vi*v[j] + fi*u[j] + ph[j]*ci
					}
				}
				row[r-1] = vi*v[r-1] + fi*u[r-1] + ph[r-1]*ci
			}
		}
		for i := range r {
			t := ph[i] * a[0]
			if i < r-1 {
				t += a[i+1]
			}
			anew[i] = t
		}
		resid0 := yl - anew[0]
		gain := Pn[0]
		m := Pn[:r]
		if rec {
			k.recGain[l] = gain
			copy(k.recM[l*r:(l+1)*r], m)
		}
		if gain < 1e4 {
			nu++
			ssq += resid0 * resid0 / gain
			prod *= gain
			if prod > 1e250 || prod < 1e-250 {
				sumlog += math.Log(prod)
				prod = 1
			}
		}
		inv := 1 / gain
		e := resid0 * inv
		for i := range r {
			a[i] = anew[i] + m[i]*e
		}
		for i := range r {
			mi := m[i] * inv
			row, src := P[i*r:(i+1)*r], Pn[i*r:(i+1)*r]
			for j := i; j < r; j++ {
				row[j] = src[j] - mi*m[j]
			}
		}
	}
	sumlog += math.Log(prod)
	if rec {
		k.recPhi = append(k.recPhi[:0], k.phi...)
		k.recTheta = append(k.recTheta[:0], k.theta...)
		k.recSumlog, k.recNu = sumlog, nu
		k.recValid = true
	}
	return ssq, sumlog, nu
}

// recorded reports whether the recording matches the current phi and
// theta bit for bit.
func (k *kalman) recorded() bool {
	if !k.recValid || len(k.recPhi) != len(k.phi) || len(k.recTheta) != len(k.theta) {
		return false
	}
	for i, v := range k.phi {
		if math.Float64bits(v) != math.Float64bits(k.recPhi[i]) {
			return false
		}
	}
	for i, v := range k.theta {
		if math.Float64bits(v) != math.Float64bits(k.recTheta[i]) {
			return false
		}
	}
	return true
}

// filterMean is filter with the covariance recursion replayed from the
// recording (k.recorded() must hold and y have the recorded length): the
// same operations on the mean in the same order, so the same result bit
// for bit, in O(n·rd) instead of O(n·rd²).
func (k *kalman) filterMean(y []float64) (ssq, sumlog float64, nu int) {
	r, rd := k.r, k.rd
	delta, dNZ := k.delta, k.dNZ
	clear(k.a)
	for l, yl := range y {
		k.predictMean()
		resid0 := yl - k.anew[0]
		for _, i := range dNZ {
			resid0 -= delta[i] * k.anew[r+i]
		}
		gain := k.recGain[l]
		if gain < 1e4 {
			ssq += resid0 * resid0 / gain
		}
		km := k.recM[l*rd : (l+1)*rd]
		ka, kanew := k.a[:rd], k.anew[:rd]
		for i, mi := range km {
			ka[i] = kanew[i] + mi*resid0/gain
		}
	}
	return ssq, k.recSumlog, k.recNu
}

// predictMean advances only the mean (the first step keeps the initial
// Pnew, as ARIMA_Like does).
func (k *kalman) predictMean() {
	r, d, rd, p := k.r, k.d, k.rd, len(k.phi)
	a := k.a
	for i := range r {
		tmp := 0.0
		if i < r-1 {
			tmp = a[i+1]
		}
		if i < p {
			tmp += k.phi[i] * a[0]
		}
		k.anew[i] = tmp
	}
	if d > 0 {
		for i := r + 1; i < rd; i++ {
			k.anew[i] = a[i-1]
		}
		tmp := a[0]
		for _, i := range k.dNZ {
			tmp += k.delta[i] * a[r+i]
		}
		k.anew[r] = tmp
	}
}

// forecast continues from the filtered state (stats KalmanForecast): it
// returns the h point forecasts of the ARIMA part and their variances per
// unit innovation variance. It changes the filter's state.
func (k *kalman) forecast(h int) (mean, variance []float64) {
	mean = make([]float64, h)
	variance = make([]float64, h)
	r, d, rd := k.r, k.d, k.rd
	for l := range h {
		k.predictState()
		copy(k.a, k.anew)
		copy(k.pm, k.pnew)
		fc := k.a[0]
		for i := range d {
			fc += k.delta[i] * k.a[r+i]
		}
		mean[l] = fc
		// Z'PZ with Z = (1, 0…0, delta)
		z := func(i int) float64 {
			switch {
			case i == 0:
				return 1
			case i >= r:
				return k.delta[i-r]
			}
			return 0
		}
		v := 0.0
		for i := range rd {
			zi := z(i)
			if zi == 0 {
				continue
			}
			for j := range rd {
				if zj := z(j); zj != 0 {
					v += zi * zj * k.pm[i*rd+j]
				}
			}
		}
		variance[l] = v
	}
	return mean, variance
}

// polyRootsInv returns w_i = 1/z_i for the roots z_i of 1 + c_1 z + … +
// c_k z^k: the eigenvalues of the companion matrix of w^k + c_1 w^{k−1} +
// … + c_k. Trailing zero coefficients must be trimmed by the caller.
func polyRootsInv(c []float64) []complex128 {
	k := len(c)
	if k == 0 {
		return nil
	}
	if k == 1 {
		return []complex128{complex(-c[0], 0)}
	}
	a := mat.NewDense(k, k, nil)
	for j := range k {
		a.Set(0, j, -c[j])
	}
	for i := 1; i < k; i++ {
		a.Set(i, i-1, 1)
	}
	var e mat.Eigen
	if !e.Factorize(a, mat.EigenNone) {
		return nil
	}
	return e.Values(nil)
}

// trimZeros drops trailing coefficients with |c| ≤ tol.
func trimZeros(c []float64, tol float64) []float64 {
	k := len(c)
	for k > 0 && math.Abs(c[k-1]) <= tol {
		k--
	}
	return c[:k]
}

// minRootModulus returns the smallest modulus of the roots of 1 + c_1 z +
// … (∞ for a constant polynomial).
func minRootModulus(c []float64) float64 {
	w := polyRootsInv(c)
	mx := 0.0
	for _, v := range w {
		mx = max(mx, cmplx.Abs(v))
	}
	if mx == 0 {
		return math.Inf(1)
	}
	return 1 / mx
}

// arStationary reports whether 1 − φ_1 z − … has all roots outside the
// unit circle (R's arCheck).
func arStationary(ar []float64) bool {
	neg := make([]float64, len(ar))
	for i, v := range ar {
		neg[i] = -v
	}
	neg = trimZeros(neg, 0)
	if len(neg) == 0 {
		return true
	}
	return minRootModulus(neg) > 1
}

// maInvert reflects roots of the MA polynomial 1 + θ_1 z + … inside the
// unit circle to outside, giving the invertible MA with the same
// autocovariances (R's arima maInvert).
func maInvert(ma []float64) []float64 {
	q := len(ma)
	c := trimZeros(append([]float64(nil), ma...), 0)
	q0 := len(c)
	if q0 == 0 {
		return ma
	}
	w := polyRootsInv(c) // w = 1/z
	inside := false
	for _, v := range w {
		if cmplx.Abs(v) > 1 {
			inside = true
		}
	}
	if !inside {
		return ma
	}
	out := make([]float64, q)
	if q0 == 1 {
		out[0] = 1 / ma[0]
		return out
	}
	// Π (1 − w_i z) with w_i replaced by 1/w_i where |w_i| > 1.
	poly := []complex128{1}
	for _, v := range w {
		if cmplx.Abs(v) > 1 {
			v = 1 / v
		}
		next := make([]complex128, len(poly)+1)
		copy(next, poly)
		for i := range poly {
			next[i+1] -= v * poly[i]
		}
		poly = next
	}
	for i := range q0 {
		out[i] = real(poly[i+1])
	}
	return out
}

// The vector kernels of the Kalman filter, unrolled by four; each element
// is computed by the same expression as in a plain loop, so the results
// are the same bit for bit.

// axpy sets dst[j] = a·x[j] + y[j].
func axpy(dst []float64, a float64, x, y []float64) {
	n := len(dst)
	x, y = x[:n], y[:n]
	j := 0
	for ; j+4 <= n; j += 4 {
		d, xx, yy := dst[j:j+4:j+4], x[j:j+4:j+4], y[j:j+4:j+4]
		d[0] = a*xx[0] + yy[0]
		d[1] = a*xx[1] + yy[1]
		d[2] = a*xx[2] + yy[2]
		d[3] = a*xx[3] + yy[3]
	}
	for ; j < n; j++ {
		dst[j] = a*x[j] + y[j]
	}
}

// addScaled sets dst[j] += a·x[j].
func addScaled(dst []float64, a float64, x []float64) {
	n := len(dst)
	x = x[:n]
	j := 0
	for ; j+4 <= n; j += 4 {
		d, xx := dst[j:j+4:j+4], x[j:j+4:j+4]
		d[0] += a * xx[0]
		d[1] += a * xx[1]
		d[2] += a * xx[2]
		d[3] += a * xx[3]
	}
	for ; j < n; j++ {
		dst[j] += a * x[j]
	}
}

// subScaled sets dst[j] = y[j] − a·x[j].
func subScaled(dst, y []float64, a float64, x []float64) {
	n := len(dst)
	x, y = x[:n], y[:n]
	j := 0
	for ; j+4 <= n; j += 4 {
		d, xx, yy := dst[j:j+4:j+4], x[j:j+4:j+4], y[j:j+4:j+4]
		d[0] = yy[0] - a*xx[0]
		d[1] = yy[1] - a*xx[1]
		d[2] = yy[2] - a*xx[2]
		d[3] = yy[3] - a*xx[3]
	}
	for ; j < n; j++ {
		dst[j] = y[j] - a*x[j]
	}
}
