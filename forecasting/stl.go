package forecasting

import "math"

// stl decomposes y with period np into seasonal and trend components by
// STL (Cleveland, Cleveland, McRae & Terpenning 1990) without robustness
// iterations, exactly as R's stats::stl(x, s.window = sw) with its default
// degrees (seasonal 0, trend and low-pass 1), windows and jumps computes
// it. It is used by the seasonal-strength test that chooses D.
func stl(y []float64, np, sw int) (seasonal, trend []float64) {
	n := len(y)
	nextOdd := func(x int) int {
		if x%2 == 0 {
			return x + 1
		}
		return x
	}
	tw := nextOdd(int(math.Ceil(1.5 * float64(np) / (1 - 1.5/float64(sw)))))
	lw := nextOdd(np)
	sj := int(math.Ceil(float64(sw) / 10))
	tj := int(math.Ceil(float64(tw) / 10))
	lj := int(math.Ceil(float64(lw) / 10))
	ns, nt, nl := max(3, sw), max(3, tw), max(3, lw)
	if ns%2 == 0 {
		ns++
	}
	if nt%2 == 0 {
		nt++
	}
	if nl%2 == 0 {
		nl++
	}
	np = max(2, np)
	const sdeg, tdeg, ldeg = 0, 1, 1
	seasonal = make([]float64, n)
	trend = make([]float64, n)
	w := n + 2*np
	work1 := make([]float64, w)
	work2 := make([]float64, w)
	work3 := make([]float64, w)
	work4 := make([]float64, w)
	work5 := make([]float64, w)
	for range 2 { // inner iterations
		for i := range n {
			work1[i] = y[i] - trend[i]
		}
		stlSubseries(work1[:n], np, ns, sdeg, sj, work2, work3, work4, work5)
		stlLowPass(work2[:n+2*np], np, work3, work1)
		stlSmooth(work3[:n], nl, ldeg, lj, work1[:n], work4)
		for i := range n {
			seasonal[i] = work2[np+i] - work1[i]
		}
		for i := range n {
			work1[i] = y[i] - seasonal[i]
		}
		stlSmooth(work1[:n], nt, tdeg, tj, trend, work3)
	}
	return seasonal, trend
}

// stlEst is one local (degree 0 or 1) tricube-weighted fit at xs using
// points nleft..nright (1-based), as stl.f's stlest.
func stlEst(y []float64, length, deg int, xs float64, nleft, nright int, w []float64) (float64, bool) {
	n := len(y)
	rng := float64(n) - 1
	h := math.Max(xs-float64(nleft), float64(nright)-xs)
	if length > n {
		h += float64((length - n) / 2)
	}
	h9, h1 := 0.999*h, 0.001*h
	a := 0.0
	for j := nleft; j <= nright; j++ {
		w[j-1] = 0
		r := math.Abs(float64(j) - xs)
		if r <= h9 {
			if r <= h1 {
				w[j-1] = 1
			} else {
				q := r / h
				q = 1 - q*q*q
				w[j-1] = q * q * q
			}
			a += w[j-1]
		}
	}
	if a <= 0 {
		return 0, false
	}
	for j := nleft; j <= nright; j++ {
		w[j-1] /= a
	}
	if h > 0 && deg > 0 {
		a = 0
		for j := nleft; j <= nright; j++ {
			a += w[j-1] * float64(j)
		}
		b := xs - a
		c := 0.0
		for j := nleft; j <= nright; j++ {
			d := float64(j) - a
			c += w[j-1] * d * d
		}
		if math.Sqrt(c) > 0.001*rng {
			b /= c
			for j := nleft; j <= nright; j++ {
				w[j-1] *= b*(float64(j)-a) + 1
			}
		}
	}
	ys := 0.0
	for j := nleft; j <= nright; j++ {
		ys += w[j-1] * y[j-1]
	}
	return ys, true
}

// stlSmooth is loess smoothing of y into ys with window length, degree
// deg, evaluated every njump points and linearly interpolated between
// (stl.f stless).
func stlSmooth(y []float64, length, deg, njump int, ys, res []float64) {
	n := len(y)
	if n < 2 {
		ys[0] = y[0]
		return
	}
	newnj := min(njump, n-1)
	nleft, nright := 0, 0
	est := func(i int) {
		v, ok := stlEst(y, length, deg, float64(i), nleft, nright, res)
		if !ok {
			v = y[i-1]
		}
		ys[i-1] = v
	}
	switch {
	case length >= n:
		nleft, nright = 1, n
		for i := 1; i <= n; i += newnj {
			est(i)
		}
	case newnj == 1:
		nsh := (length + 1) / 2
		nleft, nright = 1, length
		for i := 1; i <= n; i++ {
			if i > nsh && nright != n {
				nleft++
				nright++
			}
			est(i)
		}
	default:
		nsh := (length + 1) / 2
		for i := 1; i <= n; i += newnj {
			switch {
			case i < nsh:
				nleft, nright = 1, length
			case i >= n-nsh+1:
				nleft, nright = n-length+1, n
			default:
				nleft, nright = i-nsh+1, length+i-nsh
			}
			est(i)
		}
	}
	if newnj == 1 {
		return
	}
	for i := 1; i <= n-newnj; i += newnj {
		delta := (ys[i+newnj-1] - ys[i-1]) / float64(newnj)
		for j := i + 1; j <= i+newnj-1; j++ {
			ys[j-1] = ys[i-1] + delta*float64(j-i)
		}
	}
	k := ((n-1)/newnj)*newnj + 1
	if k != n {
		est(n)
		if k != n-1 {
			delta := (ys[n-1] - ys[k-1]) / float64(n-k)
			for j := k + 1; j <= n-1; j++ {
				ys[j-1] = ys[k-1] + delta*float64(j-k)
			}
		}
	}
}

// stlSubseries smooths each cycle-subseries of y and extends it by one
// value at each end, writing the n+2np result to season (stl.f stlss).
func stlSubseries(y []float64, np, ns, deg, njump int, season, work1, work2, work3 []float64) {
	n := len(y)
	for j := 1; j <= np; j++ {
		k := (n-j)/np + 1
		for i := 1; i <= k; i++ {
			work1[i-1] = y[(i-1)*np+j-1]
		}
		stlSmooth(work1[:k], ns, deg, njump, work2[1:k+1], work3)
		v, ok := stlEst(work1[:k], ns, deg, 0, 1, min(ns, k), work3)
		if !ok {
			v = work2[1]
		}
		work2[0] = v
		nleft := max(1, k-ns+1)
		v, ok = stlEst(work1[:k], ns, deg, float64(k+1), nleft, k, work3)
		if !ok {
			v = work2[k]
		}
		work2[k+1] = v
		for m := 1; m <= k+2; m++ {
			season[(m-1)*np+j-1] = work2[m-1]
		}
	}
}

// stlLowPass applies moving averages of lengths np, np and 3 (stl.f
// stlfts): x has n+2np values, trend receives n.
func stlLowPass(x []float64, np int, trend, work []float64) {
	n := len(x)
	stlMA(x, np, trend)
	stlMA(trend[:n-np+1], np, work)
	stlMA(work[:n-2*np+2], 3, trend)
}

// stlMA is the running mean of length l (stl.f stlma).
func stlMA(x []float64, l int, ave []float64) {
	n := len(x)
	newn := n - l + 1
	fl := float64(l)
	v := 0.0
	for i := range l {
		v += x[i]
	}
	ave[0] = v / fl
	if newn > 1 {
		k, m := l, 0
		for j := 1; j < newn; j++ {
			v = v - x[m] + x[k]
			ave[j] = v / fl
			k++
			m++
		}
	}
}
