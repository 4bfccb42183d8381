package forecasting

import (
	"errors"
	"math"
	"testing"
)

// TestThetaClassicReference pins the classic Theta method against an
// independent plain-R implementation (lm for the θ=0 line, a hand-written
// SES loop on the θ=2 line, alpha by a 0.001 grid refined with optimize;
// see testdata/r/theta_classic_reference.R for the whole code):
//
//	R: r <- theta_classic(y, h); r$alpha; r$sigma2; r$mean; r$lo95; r$hi80
func TestThetaClassicReference(t *testing.T) {
	cases := []struct {
		call             string
		y                []float64
		m                int
		alpha, sigma2    float64
		seasonal         bool
		mean, lo95, hi80 []float64
	}{
		{call: "theta_classic(Nile, h=4)", y: nile, m: 1, alpha: 0.220190060316, sigma2: 20895.7909153,
			mean: []float64{807.937003072, 806.579850357, 805.222697641, 803.865544926},
			lo95: []float64{524.616830252, 516.472767611, 508.483892306, 500.640022049},
			hi80: []float64{993.190106646, 996.270675801, 999.249773412, 1002.13405732}},
		{call: "theta_classic(WWWusage, h=4)", y: wwwusage, m: 1, alpha: 1, sigma2: 33.5855270936,
			mean: []float64{220.30939694, 220.618793879, 220.928190819, 221.237587759},
			lo95: []float64{208.950813432, 204.555331033, 201.254547082, 198.520420743},
			hi80: []float64{227.736375492, 231.122127676, 233.792095019, 236.091544864}},
		{call: "theta_classic(AirPassengers, h=4)", y: airpassengers, m: 12, alpha: 0.758131613143, sigma2: 108.831207552, seasonal: true,
			mean: []float64{440.922640236, 429.204047379, 490.641663853, 476.610006164},
			lo95: []float64{422.311364843, 406.531483025, 460.443280866, 443.674865182},
			hi80: []float64{453.091899113, 444.02884037, 510.38732515, 498.14513733}},
		{call: "theta_classic(UKgas, h=6)", y: ukgas, m: 4, alpha: 0.167695058507, sigma2: 5542.09462674, seasonal: true,
			mean: []float64{978.678336341, 646.245315024, 379.097107951, 703.407396076, 995.01079184, 656.985228405},
			lo95: []float64{766.567413607, 504.817582978, 295.354452562, 546.618345614, 771.287905352, 508.02148887},
			hi80: []float64{1117.37021397, 738.719938459, 433.853487131, 805.926245741, 1141.29532446, 754.38738228}},
	}
	for _, c := range cases {
		t.Run(c.call, func(t *testing.T) {
			md, err := Fit(c.y, c.m, Spec{Method: MethodThetaClassic})
			if err != nil {
				t.Fatalf("Fit: %v", err)
			}
			d := md.Description()
			// The SSE is flat at its minimum (Nile: R's alpha and ours differ
			// by 5e-8 with SSEs equal to 1e-15), so alpha agrees to 1e-6 and
			// the forecasts to 1e-7.
			if !closeRel(d.Params["alpha"], c.alpha, 1e-6) {
				t.Errorf("%s: alpha = %.12g, want %.12g", c.call, d.Params["alpha"], c.alpha)
			}
			if !closeRel(d.Sigma2, c.sigma2, 1e-7) {
				t.Errorf("%s: sigma2 = %.12g, want %.12g", c.call, d.Sigma2, c.sigma2)
			}
			if got := d.Params["seasonal"] == 1; got != c.seasonal {
				t.Errorf("%s: seasonal = %v, want %v", c.call, got, c.seasonal)
			}
			fc, err := md.Forecast(len(c.mean), nil)
			if err != nil {
				t.Fatal(err)
			}
			lo95, _ := fc.Interval(95)
			hi80, _ := fc.Interval(80)
			checkSlice(t, c.call+" mean", fc.Mean, c.mean, 1e-7)
			checkSlice(t, c.call+" lower 95", lo95.Lower, c.lo95, 1e-7)
			checkSlice(t, c.call+" upper 80", hi80.Upper, c.hi80, 1e-7)
		})
	}
}

// TestThetaClassicIntervals: intervals are nested by level, contain the
// point forecast and widen with the horizon on the seasonally adjusted
// scale (on the data scale they also follow the seasonal index).
func TestThetaClassicIntervals(t *testing.T) {
	for _, c := range []struct {
		name string
		y    []float64
		m    int
	}{{"Nile", nile, 1}, {"WWWusage", wwwusage, 1}, {"AirPassengers", airpassengers, 12}, {"UKgas", ukgas, 4}} {
		t.Run(c.name, func(t *testing.T) {
			md, err := Fit(c.y, c.m, Spec{Method: MethodThetaClassic})
			if err != nil {
				t.Fatal(err)
			}
			const h = 16
			fc, err := md.Forecast(h, []float64{50, 80, 95})
			if err != nil {
				t.Fatal(err)
			}
			ct := md.impl.(*classicTheta)
			prev := 0.0
			for j := 0; j < h; j++ {
				for k := 0; k+1 < len(fc.Intervals); k++ {
					in, out := fc.Intervals[k], fc.Intervals[k+1]
					if !(out.Lower[j] <= in.Lower[j] && in.Lower[j] <= fc.Mean[j] && fc.Mean[j] <= in.Upper[j] && in.Upper[j] <= out.Upper[j]) {
						t.Errorf("h=%d: %v%% [%v, %v] not inside %v%% [%v, %v] around %v", j+1,
							in.Level, in.Lower[j], in.Upper[j], out.Level, out.Lower[j], out.Upper[j], fc.Mean[j])
					}
				}
				iv := fc.Intervals[2]
				w := (iv.Upper[j] - iv.Lower[j]) / ct.index(j)
				if j > 0 && ct.alpha > 0 && !(w > prev) {
					t.Errorf("h=%d: adjusted 95%% width %v, not wider than %v at h=%d", j+1, w, prev, j)
				}
				prev = w
			}
		})
	}
}

// TestEstimateSESLine: the grid-plus-golden-section search and the
// profiled initial level agree with brute force on a fine grid.
func TestEstimateSESLine(t *testing.T) {
	z := make([]float64, len(nile))
	a, b := simpleRegression(nile)
	for i, v := range nile {
		z[i] = 2*v - (a + b*float64(i+1))
	}
	for _, opts := range []classicOptions{defaultClassic, {init: classicInitOptimal, alphaLo: 0, alphaHi: 1}, {init: classicInitFirst, alphaLo: 0.1, alphaHi: 0.99}} {
		alpha, level0 := estimateSESLine(z, opts)
		got, _ := sesObjective(z, alpha, opts.init)
		if alpha < opts.alphaLo || alpha > opts.alphaHi {
			t.Errorf("estimateSESLine(%+v) alpha = %v, outside the range", opts, alpha)
		}
		for i := 0; i <= 20000; i++ {
			x := opts.alphaLo + (opts.alphaHi-opts.alphaLo)*float64(i)/20000
			if s, _ := sesObjective(z, x, opts.init); s < got*(1-1e-12) {
				t.Fatalf("estimateSESLine(%+v) = alpha %v with SSE %v, but alpha %v gives %v", opts, alpha, got, x, s)
			}
		}
		if opts.init == classicInitFirst && level0 != z[0] {
			t.Errorf("initial level = %v, want the first value %v", level0, z[0])
		}
		if opts.init == classicInitOptimal {
			// The profiled level is the least-squares one: nudging it
			// either way must not lower the SSE.
			sse := func(l0 float64) float64 {
				l, s := l0, 0.0
				for _, v := range z {
					s += (v - l) * (v - l)
					l += alpha * (v - l)
				}
				return s
			}
			base := sse(level0)
			if math.Abs(base-got) > 1e-9*got {
				t.Errorf("profiled SSE %v, direct %v", got, base)
			}
			for _, d := range []float64{-1, 1} {
				if sse(level0+d) < base {
					t.Errorf("initial level %v is not least squares: %v gives lower SSE", level0, level0+d)
				}
			}
		}
	}
}

// TestThetaClassicErrors: bad input gives the package's errors.
func TestThetaClassicErrors(t *testing.T) {
	if _, err := Fit([]float64{1, 2, 3}, 1, Spec{Method: MethodThetaClassic}); !errors.Is(err, ErrTooShort) {
		t.Errorf("Fit(3 values) error = %v, want ErrTooShort", err)
	}
	if _, err := Fit([]float64{1, 2, math.Inf(1), 4, 5}, 1, Spec{Method: MethodThetaClassic}); !errors.Is(err, ErrNonFinite) {
		t.Errorf("Fit(Inf) error = %v, want ErrNonFinite", err)
	}
	md, err := Fit(nile, 1, Spec{Method: MethodThetaClassic})
	if err != nil {
		t.Fatal(err)
	}
	d := md.Description()
	d.Params = map[string]float64{"alpha": 1.5}
	if _, err := Restore(d, nile); !errors.Is(err, ErrBadSpec) {
		t.Errorf("Restore(alpha 1.5) error = %v, want ErrBadSpec", err)
	}
}
