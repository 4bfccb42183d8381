package forecasting

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// auto.arima's default limits.
const (
	arimaMaxP, arimaMaxQ   = 5, 5
	arimaMaxSP, arimaMaxSQ = 2, 2
	arimaMaxD, arimaMaxSD  = 2, 1
	arimaMaxModels         = 94
)

// arimaCandidate is one specification tried in the stepwise search.
type arimaCandidate struct {
	p, q, sp, sq int
	constant     bool
	ic           float64
	est          *arimaEstimate
}

// arimaSearch holds the fixed parts of one auto.arima run.
type arimaSearch struct {
	y        []float64
	m, d, sd int
	tried    []arimaCandidate
}

// spec returns the order and regressor of a candidate.
func (s *arimaSearch) spec(c arimaCandidate) (arimaOrder, regressor) {
	o := arimaOrder{p: c.p, d: s.d, q: c.q, sp: c.sp, sd: s.sd, sq: c.sq, m: max(s.m, 1)}
	reg := regNone
	if c.constant {
		switch s.d + s.sd {
		case 0:
			reg = regIntercept
		case 1:
			reg = regDrift
		}
	}
	return o, reg
}

// fit estimates one specification the way forecast's myarima does, by
// the differenced likelihood (arimaObjective), and scores it by AICc;
// impossible or rejected fits score +Inf: an AR or MA root within 1.01 of
// the unit circle, or an error in the fit. The variance check comes later
// (better).
func (s *arimaSearch) fit(p, q, sp, sq int, constant bool) arimaCandidate {
	c := arimaCandidate{p: p, q: q, sp: sp, sq: sq, constant: constant, ic: math.Inf(1)}
	o, reg := s.spec(c)
	e, err := estimateARIMA(s.y, o, reg, true)
	if err == nil {
		c.est = e
		c.ic = s.score(o, e.coef, e.m2(), e.npar)
	}
	s.tried = append(s.tried, c)
	return c
}

// score is myarima's criterion: the AICc (the AIC for n ≤ 3, where the
// AICc is undefined), +Inf when it is not a number or a root is too close
// to the unit circle.
func (s *arimaSearch) score(o arimaOrder, coef []float64, m2 float64, npar int) float64 {
	aic, aicc, _ := arimaIC(m2, npar, len(s.y)-o.d-o.sd*o.m)
	ic := aicc
	if len(s.y) <= 3 {
		ic = aic
	}
	if math.IsNaN(ic) || !arimaAdmissible(o, coef) {
		return math.Inf(1)
	}
	return ic
}

// arimaAdmissible applies myarima's root check: every root of the AR and MA
// polynomials (trailing coefficients below 1e-8 dropped) at least 1.01
// from the origin. The variance check is arimaEstimate.negativeVariance.
func arimaAdmissible(o arimaOrder, coef []float64) bool {
	pp, qq := o.expandedLen()
	phi, theta := make([]float64, pp), make([]float64, qq)
	expandARMA(o, coef, phi, theta)
	minroot := 2.0
	if o.p+o.sp > 0 {
		neg := make([]float64, len(phi))
		for i, v := range phi {
			neg[i] = -v
		}
		if c := trimZeros(neg, 1e-8); len(c) > 0 {
			minroot = math.Min(minroot, minRootModulus(c))
		}
	}
	if o.q+o.sq > 0 {
		if c := trimZeros(append([]float64(nil), theta...), 1e-8); len(c) > 0 {
			minroot = math.Min(minroot, minRootModulus(c))
		}
	}
	return !(minroot < 1+1e-2)
}

// better reports whether c beats the best AICc so far. Only then is R's
// checkarima verdict needed (a rejected model scores +Inf, which can never
// be better), so the Hessian (of the differenced likelihood) is computed
// only for such candidates; the search takes exactly the path it would
// take with the check on every model.
func (s *arimaSearch) better(c *arimaCandidate, bestIC float64) bool {
	if !(c.ic < bestIC) {
		return false
	}
	if c.est.negativeVariance() {
		s.reject(c)
		return false
	}
	return true
}

// reject scores c, and its entry among the tried, +Inf.
func (s *arimaSearch) reject(c *arimaCandidate) {
	c.ic = math.Inf(1)
	for i := range s.tried {
		t := &s.tried[i]
		if t.p == c.p && t.q == c.q && t.sp == c.sp && t.sq == c.sq && t.constant == c.constant {
			t.ic = c.ic
		}
	}
}

// final fits the chosen specification as stats::arima does — the search
// ranked the models by the differenced likelihood — and, should that fit
// fail or its roots come too close to the unit circle, the next best of
// the tried specifications in order of AICc, as auto.arima does after a
// search by approximation. A specification never checked for negative
// variances during the search is checked before it is refitted.
func (s *arimaSearch) final() (*arimaModel, error) {
	order := make([]int, 0, len(s.tried))
	for i, c := range s.tried {
		if c.ic < math.Inf(1) {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(s.tried[a].ic, s.tried[b].ic) })
	for _, i := range order {
		c := s.tried[i]
		if c.est.negativeVariance() {
			continue
		}
		o, reg := s.spec(c)
		am, err := fitARIMA(s.y, o, reg)
		if err != nil {
			continue
		}
		if s.score(o, am.coef, -2*am.loglik, len(am.coef)) < math.Inf(1) {
			return am, nil
		}
	}
	return nil, fmt.Errorf("%w: no suitable ARIMA model found", ErrNoModel)
}

func (s *arimaSearch) seen(p, q, sp, sq int, constant bool) bool {
	for _, c := range s.tried {
		if c.p == p && c.q == q && c.sp == sp && c.sq == sq && c.constant == constant {
			return true
		}
	}
	return false
}

// autoARIMA chooses and fits an ARIMA model as forecast::auto.arima(y)
// does with its defaults (Hyndman & Khandakar 2008): d by repeated KPSS
// tests at 5%, D by the seasonal-strength heuristic (threshold 0.64; only
// when n > 2m), then a stepwise search over (p,q)(P,Q) minimising AICc,
// starting from (2,2)(1,1) ((1,1)(0,0) for fewer than 10 observations),
// with a constant — an intercept when d + D = 0, a drift when d + D = 1 —
// tried both ways, p,q ≤ 5 (and ≤ m−1 for seasonal models), P,Q ≤ 2, all
// bounded by n/3 (n/3m), at most 94 models. The search ranks the models
// by the exact likelihood of the differenced series (arimaObjective: its
// log-likelihood within about 1e-3 of R's κ = 1e6 filter, several times
// cheaper to evaluate), and the chosen one is refitted as stats::arima
// does (final), so its estimates, likelihood and forecasts are R's.
// auto.arima's CSS approximation (only for n > 150 or m > 12) is not
// reproduced.
func autoARIMA(y []float64, m int) (*arimaModel, error) {
	n := len(y)
	if n == 0 {
		return nil, tooShort("arima", 0, 1)
	}
	if nearlyConstant(y) {
		return constantARIMA(y, arimaOrder{m: 1}, regIntercept, mean(y))
	}
	if m < 1 {
		m = 1
	}
	maxP := min(arimaMaxP, n/3)
	maxQ := min(arimaMaxQ, n/3)
	maxSP := min(arimaMaxSP, n/3/m)
	maxSQ := min(arimaMaxSQ, n/3/m)
	D := 0
	if m == 1 {
		maxSP, maxSQ = 0, 0
	} else if n > 2*m {
		D = nsdiffs(y, m, arimaMaxSD)
	}
	dx := y
	if D > 0 {
		dx = difference(y, arimaOrder{sd: D, m: m})
	}
	d := ndiffs(dx, 0.05, arimaMaxD)
	if d > 0 {
		dx = difference(dx, arimaOrder{d: d})
	}
	if len(dx) == 0 {
		return nil, tooShort("arima", n, n+1)
	}
	o0 := arimaOrder{d: d, sd: D, m: m}
	if nearlyConstant(dx) {
		switch {
		case D > 0 && d == 0:
			return constantARIMA(y, o0, regDrift, mean(dx)/float64(m))
		case D > 0 && d > 0:
			return constantARIMA(y, o0, regNone, 0)
		case d == 2:
			return constantARIMA(y, o0, regNone, 0)
		case d == 1:
			return constantARIMA(y, o0, regDrift, mean(dx))
		case d == 0:
			return constantARIMA(y, o0, regIntercept, mean(dx))
		}
		return nil, fmt.Errorf("%w: data follow a polynomial of degree > 2", ErrNoModel)
	}
	if m > 1 {
		if maxSP > 0 {
			maxP = min(maxP, m-1)
		}
		if maxSQ > 0 {
			maxQ = min(maxQ, m-1)
		}
	}
	allowDrift := d+D == 1
	allowMean := d+D == 0
	constant := allowDrift || allowMean

	startP, startQ, startSP, startSQ := 2, 2, 1, 1
	if n < 10 {
		startP, startQ, startSP, startSQ = 1, 1, 0, 0
	}
	p, q := min(startP, maxP), min(startQ, maxQ)
	sp, sq := min(startSP, maxSP), min(startSQ, maxSQ)

	s := &arimaSearch{y: y, m: m, d: d, sd: D}
	b2i := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	best := s.fit(p, q, sp, sq, constant)
	s.better(&best, math.Inf(1))
	if c := s.fit(0, 0, 0, 0, constant); s.better(&c, best.ic) {
		best, p, q, sp, sq = c, 0, 0, 0, 0
	}
	if maxP > 0 || maxSP > 0 {
		ap, asp := b2i(maxP > 0), b2i(m > 1 && maxSP > 0)
		if c := s.fit(ap, 0, asp, 0, constant); s.better(&c, best.ic) {
			best, p, q, sp, sq = c, ap, 0, asp, 0
		}
	}
	if maxQ > 0 || maxSQ > 0 {
		aq, asq := b2i(maxQ > 0), b2i(m > 1 && maxSQ > 0)
		if c := s.fit(0, aq, 0, asq, constant); s.better(&c, best.ic) {
			best, p, q, sp, sq = c, 0, aq, 0, asq
		}
	}
	if constant {
		if c := s.fit(0, 0, 0, 0, false); s.better(&c, best.ic) {
			best, p, q, sp, sq = c, 0, 0, 0, 0
		}
	}
	type move struct {
		dp, dq, dsp, dsq int
		flip             bool
	}
	moves := []move{
		{0, 0, -1, 0, false}, {0, 0, 0, -1, false}, {0, 0, 1, 0, false}, {0, 0, 0, 1, false},
		{0, 0, -1, -1, false}, {0, 0, -1, 1, false}, {0, 0, 1, -1, false}, {0, 0, 1, 1, false},
		{-1, 0, 0, 0, false}, {0, -1, 0, 0, false}, {1, 0, 0, 0, false}, {0, 1, 0, 0, false},
		{-1, -1, 0, 0, false}, {-1, 1, 0, 0, false}, {1, -1, 0, 0, false}, {1, 1, 0, 0, false},
		{0, 0, 0, 0, true},
	}
	startk := 0
	for startk < len(s.tried) && len(s.tried) < arimaMaxModels {
		startk = len(s.tried)
		for _, mv := range moves {
			np, nq, nsp, nsq, nc := p+mv.dp, q+mv.dq, sp+mv.dsp, sq+mv.dsq, constant
			if mv.flip {
				if !(allowDrift || allowMean) {
					continue
				}
				nc = !constant
			}
			if np < 0 || nq < 0 || nsp < 0 || nsq < 0 || np > maxP || nq > maxQ || nsp > maxSP || nsq > maxSQ {
				continue
			}
			if s.seen(np, nq, nsp, nsq, nc) {
				continue
			}
			if len(s.tried) >= arimaMaxModels {
				break
			}
			c := s.fit(np, nq, nsp, nsq, nc)
			if s.better(&c, best.ic) {
				best, p, q, sp, sq, constant = c, np, nq, nsp, nsq, nc
				break
			}
		}
	}
	return s.final()
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// constantARIMA fits ARIMA(0,d,0)(0,D,0) with the regression coefficient
// fixed at c (auto.arima's answer for constant or polynomial data).
func constantARIMA(y []float64, o arimaOrder, reg regressor, c float64) (*arimaModel, error) {
	if o.m < 1 {
		o.m = 1
	}
	return fixedARIMA(y, o, reg, nil, c, 0)
}
