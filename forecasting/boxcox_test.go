package forecasting

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestBoxCoxLogNaive checks the back-transformation on the log-naive
// model, where everything has a closed form: on z = log y the naive
// forecast is z_n with variance hσ², σ² the mean squared one-step change of
// z (R: naive's sigma2 is that, with n − 1 terms). So ŷ_h = y_n·(1 + hσ²/2)
// and the bounds are y_n·exp(±q·√(hσ²)).
func TestBoxCoxLogNaive(t *testing.T) {
	y := []float64{120, 131, 125, 140, 152, 149, 160, 171, 166, 180}
	lambda := 0.0
	md, err := Fit(y, 1, Spec{Method: MethodNaive, BoxCox: &lambda})
	if err != nil {
		t.Fatal(err)
	}
	var s2 float64
	for i := 1; i < len(y); i++ {
		d := math.Log(y[i]) - math.Log(y[i-1])
		s2 += d * d
	}
	s2 /= float64(len(y) - 1)
	fc, err := md.Forecast(3, []float64{80, 95})
	if err != nil {
		t.Fatal(err)
	}
	for h := 1; h <= 3; h++ {
		v := float64(h) * s2
		if want := 180 * (1 + v/2); !closeRel(fc.Mean[h-1], want, 1e-9) {
			t.Errorf("h=%d: mean %v, want y_n(1 + hσ²/2) = %v", h, fc.Mean[h-1], want)
		}
		for k, lv := range []float64{80, 95} {
			q := zValue(lv) * math.Sqrt(v)
			if lo, hi := fc.Intervals[k].Lower[h-1], fc.Intervals[k].Upper[h-1]; !closeRel(lo, 180*math.Exp(-q), 1e-9) || !closeRel(hi, 180*math.Exp(q), 1e-9) {
				t.Errorf("h=%d %v%%: bounds [%v, %v], want [%v, %v]", h, lv, lo, hi, 180*math.Exp(-q), 180*math.Exp(q))
			}
		}
	}
	// Fitted: y_{t−1}·(1 + σ²/2); residuals on the data scale.
	r := md.Residuals()
	if !math.IsNaN(r[0]) || !closeRel(r[4], 152-140*(1+s2/2), 1e-9) {
		t.Errorf("residuals %v, want NaN first and y_t − y_{t−1}(1 + σ²/2)", r)
	}
	if d := md.Description(); d.BoxCox == nil || *d.BoxCox != 0 || d.Name != "log Naive" {
		t.Errorf("description %+v, want BoxCox 0 and name log Naive", d)
	}
}

// TestBoxCoxKeepsPositive: on a series falling towards zero, drift and ETS
// forecast below zero; with the log transform every mean, bound and sample
// path is positive.
func TestBoxCoxKeepsPositive(t *testing.T) {
	y := make([]float64, 30)
	for i := range y {
		y[i] = 300*math.Exp(-0.12*float64(i)) + 4*math.Sin(float64(i))
	}
	for _, meth := range []Method{MethodDrift, MethodETS, MethodARIMA} {
		plain, err := Fit(y, 1, Spec{Method: meth})
		if err != nil {
			t.Fatal(err)
		}
		pf, _ := plain.Forecast(24, []float64{95})
		lambda := 0.0
		md, err := Fit(y, 1, Spec{Method: meth, BoxCox: &lambda})
		if err != nil {
			t.Fatal(err)
		}
		fc, _ := md.Forecast(24, []float64{95})
		if slices.Min(pf.Intervals[0].Lower) >= 0 {
			t.Errorf("%s: untransformed lower bounds already non-negative: the series does not test the transform", meth)
		}
		if slices.Min(fc.Mean) <= 0 || slices.Min(fc.Intervals[0].Lower) <= 0 {
			t.Errorf("%s on log: min mean %v, min lower bound %v, want > 0", meth, slices.Min(fc.Mean), slices.Min(fc.Intervals[0].Lower))
		}
		for _, p := range md.Simulate(24, 50, rand.New(rand.NewPCG(1, 2))) {
			if slices.Min(p) <= 0 {
				t.Errorf("%s on log: a sample path reaches %v", meth, slices.Min(p))
				break
			}
		}
	}
}

// TestBoxCoxIdentity: λ = 1 is a shift (z = y − 1): naive forecasts and
// bounds (all positive here) equal the untransformed ones, with no bias
// adjustment.
func TestBoxCoxIdentity(t *testing.T) {
	y := []float64{120, 131, 125, 140, 152, 149, 160, 171, 166, 180}
	one := 1.0
	a, _ := Fit(y, 1, Spec{Method: MethodNaive})
	b, err := Fit(y, 1, Spec{Method: MethodNaive, BoxCox: &one})
	if err != nil {
		t.Fatal(err)
	}
	fa, _ := a.Forecast(6, nil)
	fb, _ := b.Forecast(6, nil)
	for j := range fa.Mean {
		if !closeRel(fa.Mean[j], fb.Mean[j], 1e-12) || !closeRel(fa.Intervals[1].Lower[j], fb.Intervals[1].Lower[j], 1e-12) {
			t.Errorf("h=%d: λ=1 gives %v [%v], untransformed %v [%v]", j+1, fb.Mean[j], fb.Intervals[1].Lower[j], fa.Mean[j], fa.Intervals[1].Lower[j])
		}
	}
}

// TestBoxCoxRestore: a transformed model is rebuilt from its JSON
// description with the same forecasts.
func TestBoxCoxRestore(t *testing.T) {
	lambda := 0.3
	md, err := Fit(airpassengers, 12, Spec{Method: MethodETS, BoxCox: &lambda})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(md.Description())
	if err != nil {
		t.Fatal(err)
	}
	var d Description
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	r, err := Restore(d, airpassengers)
	if err != nil {
		t.Fatal(err)
	}
	f1, _ := md.Forecast(12, nil)
	f2, _ := r.Forecast(12, nil)
	for j := range f1.Mean {
		if !closeRel(f1.Mean[j], f2.Mean[j], 1e-9) || !closeRel(f1.Intervals[1].Upper[j], f2.Intervals[1].Upper[j], 1e-9) {
			t.Fatalf("restored forecast differs at h=%d: %v vs %v", j+1, f2.Mean[j], f1.Mean[j])
		}
	}
	if md.Description().Trend == "M" || md.Description().Error == "M" || md.Description().Season == "M" {
		t.Errorf("ETS on the transformed scale chose %s, want additive components only", md.Description().Name)
	}
}

func TestBoxCoxErrors(t *testing.T) {
	lambda := 0.0
	if _, err := Fit([]float64{3, 2, 0, 4, 5}, 1, Spec{Method: MethodNaive, BoxCox: &lambda}); !errors.Is(err, ErrBadSpec) || !strings.Contains(err.Error(), "value 0 at t = 3") {
		t.Errorf("log of a zero: error = %v, want ErrBadSpec naming t = 3", err)
	}
	bad := 1.5
	if _, err := Fit([]float64{3, 2, 1, 4, 5}, 1, Spec{Method: MethodNaive, BoxCox: &bad}); !errors.Is(err, ErrBadSpec) {
		t.Errorf("λ = 1.5: error = %v, want ErrBadSpec", err)
	}
}

// TestBoxCoxReference pins the back-transformed, bias-adjusted forecasts
// and bounds against R (forecast 8.20; testdata/r/boxcox_reference.R),
// relative tolerance 1e-6 as the other reference tests.
func TestBoxCoxReference(t *testing.T) {
	ukgasY := ukgas
	cases := []struct {
		call   string
		y      []float64
		m      int
		lambda float64
		method Method
		name   string
		mean   []float64
		lo95   []float64
		hi80   []float64
	}{
		{"forecast(ets(AirPassengers, lambda = 0, biasadj = TRUE), h = 6)", airpassengers, 12, 0, MethodETS, "log ETS(A,A,A)",
			[]float64{450.368814407, 443.027624480, 511.873994241, 502.878136125, 507.207070728, 579.572016827},
			[]float64{417.527935960, 403.828044605, 459.877511919, 446.001920313, 444.566654405, 502.459108293},
			[]float64{472.654443908, 469.845898532, 547.694488845, 542.301742017, 550.869414234, 633.600652630}},
		{"forecast(ets(UKgas, lambda = 0.3, biasadj = TRUE), h = 6)", ukgasY, 4, 0.3, MethodETS, "Box-Cox(0.3) ETS(A,A,A)",
			[]float64{1230.718511668, 652.548140691, 370.853189981, 847.200892721, 1306.207252986, 701.417535104},
			[]float64{1075.346381985, 553.551787833, 304.604712997, 727.306436271, 1087.149652510, 560.495079903},
			[]float64{1337.049849075, 720.953138968, 417.106531234, 929.726096378, 1458.503584896, 800.667654895}},
		{"rwf(Nile, drift = TRUE, lambda = 0, biasadj = TRUE, h = 6)", nile, 1, 0, MethodDrift, "log Random walk with drift",
			[]float64{750.587352151, 761.345764694, 772.272485612, 783.364787648, 794.619968129, 806.035348788},
			[]float64{505.134071788, 429.040085583, 377.470040795, 338.112842895, 306.300686709, 279.684966472},
			[]float64{943.304916691, 1042.341591142, 1125.558865319, 1201.239954285, 1272.573070666, 1341.188316334}},
		{"forecast(auto.arima(AirPassengers, lambda = 0, biasadj = TRUE), h = 6)", airpassengers, 12, 0, MethodARIMA, "log ARIMA(0,1,1)(0,1,1)[12]",
			[]float64{450.731193919, 426.113522087, 479.570276857, 493.104463658, 509.903516013, 584.460445897},
			[]float64{418.889509727, 391.193784844, 435.567717746, 443.541626962, 454.586584827, 516.755216969},
			[]float64{472.313193768, 449.921927875, 509.726466888, 527.229044413, 548.151814022, 631.459136122}},
	}
	for _, c := range cases {
		md, err := Fit(c.y, c.m, Spec{Method: c.method, BoxCox: &c.lambda})
		if err != nil {
			t.Fatalf("%s: %v", c.call, err)
		}
		if got := md.Description().Name; got != c.name {
			t.Errorf("%s: model %s, want %s", c.call, got, c.name)
			continue
		}
		fc, err := md.Forecast(6, []float64{80, 95})
		if err != nil {
			t.Fatal(err)
		}
		for j := range c.mean {
			if !closeRel(fc.Mean[j], c.mean[j], 1e-6) || !closeRel(fc.Intervals[1].Lower[j], c.lo95[j], 1e-6) || !closeRel(fc.Intervals[0].Upper[j], c.hi80[j], 1e-6) {
				t.Errorf("%s: h=%d mean, lo95, hi80 = %.9f %.9f %.9f, R %.9f %.9f %.9f", c.call, j+1,
					fc.Mean[j], fc.Intervals[1].Lower[j], fc.Intervals[0].Upper[j], c.mean[j], c.lo95[j], c.hi80[j])
			}
		}
	}
}

// TestAutoICLog checks SelectICLog's rule on seeded series: data with a
// zero or a negative value get exactly SelectIC's model; on strictly
// positive data the model is the log fit when, and only when, the log form's
// rolling-origin MASE on the training data (computed here independently)
// is lower than the raw form's. Exponential growth with multiplicative
// noise must go to the log scale.
func TestAutoICLog(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 5))
	series := map[string][]float64{}
	exp, flat, signed := make([]float64, 60), make([]float64, 60), make([]float64, 60)
	for i := range exp {
		exp[i] = 100 * math.Exp(0.06*float64(i)+0.05*rng.NormFloat64())
		flat[i] = 500 + 20*rng.NormFloat64()
		signed[i] = 10*rng.NormFloat64() + float64(i%4)
	}
	series["exponential"], series["flat"], series["signed"] = exp, flat, signed
	for name, y := range series {
		for _, m := range []int{1, 4} {
			got, err := Auto(y, m, AutoOptions{Selection: SelectICLog})
			if err != nil {
				t.Fatalf("%s m=%d: %v", name, m, err)
			}
			ic, err := Auto(y, m, AutoOptions{})
			if err != nil {
				t.Fatal(err)
			}
			isLog := got.Description().BoxCox != nil
			if !positive(y) {
				if isLog || got.Description().Name != ic.Description().Name || got.Description().LogLik != ic.Description().LogLik {
					t.Errorf("%s m=%d: ic-log chose %s (log %v), want SelectIC's %s", name, m, got.Description().Name, isLog, ic.Description().Name)
				}
				continue
			}
			lg, err := Fit(y, m, Spec{Method: MethodETS, BoxCox: new(0.0)})
			if err != nil {
				t.Fatal(err)
			}
			mase := func(d Description, lambda *float64) float64 {
				spec := Spec{Method: MethodETS, BoxCox: lambda, ETS: ETSSpec{Model: d.Error + d.Trend + d.Season, Damped: new(d.Damped)}}
				acc, err := Backtest(y, m, backtestOptions(m, AutoOptions{}), func(tr []float64) (*Model, error) { return Fit(tr, m, spec) })
				if err != nil {
					t.Fatalf("%s m=%d: backtest: %v", name, m, err)
				}
				return acc.MASE
			}
			lm, rm := mase(lg.Description(), new(0.0)), mase(ic.Description(), nil)
			if want := lm < rm; isLog != want {
				t.Errorf("%s m=%d: log chosen = %v, want %v (backtest MASE log %.4f, raw %.4f)", name, m, isLog, want, lm, rm)
			}
			if name == "exponential" && !isLog {
				t.Errorf("exponential m=%d: raw %s kept (MASE %.4f vs log %.4f)", m, ic.Description().Name, rm, lm)
			}
		}
	}
}
