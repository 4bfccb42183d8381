package forecasting

import "math"

// nearlyConstant reports whether x is constant in the sense of R's
// forecast:::is.constant, all.equal(x, rep(x[1], n)): the mean absolute
// difference from x[1] over the values that differ, relative to their
// mean absolute value, is at most 1.5e-8.
func nearlyConstant(x []float64) bool {
	if len(x) == 0 {
		return true
	}
	sd, sa, k := 0.0, 0.0, 0
	for _, v := range x {
		if v != x[0] {
			sd += math.Abs(v - x[0])
			sa += math.Abs(v)
			k++
		}
	}
	if k == 0 {
		return true
	}
	xy := sd / float64(k)
	if xn := sa / float64(k); xn > 1.5e-8 && !math.IsInf(xn, 0) {
		xy /= xn
	}
	return xy <= 1.5e-8
}

// kpssStat is the KPSS level-stationarity statistic (Kwiatkowski,
// Phillips, Schmidt & Shin 1992) with a Bartlett window of l lags, as
// urca::ur.kpss(type = "mu") computes it.
func kpssStat(x []float64, l int) float64 {
	n := len(x)
	mean := 0.0
	for _, v := range x {
		mean += v
	}
	mean /= float64(n)
	e := make([]float64, n)
	s, eta, s2 := 0.0, 0.0, 0.0
	for i, v := range x {
		e[i] = v - mean
		s += e[i]
		eta += s * s
		s2 += e[i] * e[i]
	}
	nf := float64(n)
	eta /= nf * nf
	s2 /= nf
	if l > 0 {
		out := 0.0
		for i := 1; i <= l; i++ {
			cov := 0.0
			for t := i; t < n; t++ {
				cov += e[t] * e[t-i]
			}
			out += (1 - float64(i)/float64(l+1)) * cov
		}
		s2 += 2 / nf * out
	}
	return eta / s2
}

// kpssPValue interpolates the p-value of the level KPSS statistic in the
// table of critical values (rule = 2 at the ends), as forecast::ndiffs.
func kpssPValue(stat float64) float64 {
	cv := []float64{0.347, 0.463, 0.574, 0.739}
	pv := []float64{0.10, 0.05, 0.025, 0.01}
	if stat <= cv[0] {
		return pv[0]
	}
	for i := 1; i < len(cv); i++ {
		if stat <= cv[i] {
			return pv[i-1] + (stat-cv[i-1])*(pv[i]-pv[i-1])/(cv[i]-cv[i-1])
		}
	}
	return pv[len(pv)-1]
}

// ndiffs chooses the number of first differences d ≤ maxD by repeated
// KPSS tests at level alpha, as forecast::ndiffs(x, test = "kpss").
func ndiffs(x []float64, alpha float64, maxD int) int {
	d := 0
	if nearlyConstant(x) {
		return 0
	}
	test := func(x []float64) bool {
		l := int(math.Trunc(3 * math.Sqrt(float64(len(x))) / 13))
		return kpssPValue(kpssStat(x, l)) < alpha
	}
	dodiff := test(x)
	for dodiff && d < maxD {
		d++
		x = difference(x, arimaOrder{d: 1})
		if nearlyConstant(x) {
			return d
		}
		if len(x) < 2 {
			return d - 1
		}
		dodiff = test(x)
	}
	return d
}

// seasonalStrength is forecast's seas.heuristic: with seasonal and
// remainder components from STL (s.window = 11, as mstl), the strength is
// max(0, min(1, 1 − var(remainder)/var(remainder + seasonal)))
// (Wang, Smith & Hyndman 2006).
func seasonalStrength(x []float64, m int) float64 {
	seas, trend := stl(x, m, 11)
	n := len(x)
	rem := make([]float64, n)
	rs := make([]float64, n)
	for i := range x {
		rem[i] = x[i] - seas[i] - trend[i]
		rs[i] = rem[i] + seas[i]
	}
	return math.Max(0, math.Min(1, 1-sampleVar(rem)/sampleVar(rs)))
}

func sampleVar(x []float64) float64 {
	mean := 0.0
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	s := 0.0
	for _, v := range x {
		s += (v - mean) * (v - mean)
	}
	return s / float64(len(x)-1)
}

// nsdiffs chooses the number of seasonal differences D ≤ maxD: difference
// while the seasonal strength exceeds 0.64, as forecast::nsdiffs(x, test =
// "seas").
func nsdiffs(x []float64, m, maxD int) int {
	D := 0
	if nearlyConstant(x) || m < 2 || m >= len(x) {
		return 0
	}
	dodiff := seasonalStrength(x, m) > 0.64
	for dodiff && D < maxD {
		D++
		x = difference(x, arimaOrder{sd: 1, m: m})
		if nearlyConstant(x) {
			return D
		}
		if len(x) >= 2*m && D < maxD {
			dodiff = seasonalStrength(x, m) > 0.64
		} else {
			dodiff = false
		}
	}
	return D
}
