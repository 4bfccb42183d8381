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

var intermittentY = []float64{0, 0, 3, 0, 0, 0, 5, 0, 2, 0, 0, 4, 0, 0, 0, 0, 6, 0, 1, 0}

func TestCrostonReference(t *testing.T) {
	// R: croston(c(0,0,3,0,0,0,5,0,2,0,0,4,0,0,0,0,6,0,1,0), alpha=0.1)$mean  # 1.04445912566
	// R: croston(<same>, alpha=0.3)$mean                                      # 1.04176904177
	for _, c := range []struct{ alpha, want float64 }{{0.1, 1.04445912566}, {0.3, 1.04176904177}} {
		im, err := fitIntermittent(intermittentY, MethodCroston)
		if err != nil {
			t.Fatal(err)
		}
		_, z, p := im.run(c.alpha, 0, nil)
		if got := z / p; !closeRel(got, c.want, 1e-9) {
			t.Errorf("Croston(alpha=%v) = %v, want %v", c.alpha, got, c.want)
		}
	}
}

func TestAutoPicksIntermittent(t *testing.T) {
	md, err := Auto(intermittentY, 1, AutoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	switch md.Description().Method {
	case MethodCroston, MethodSBA, MethodTSB:
	default:
		t.Fatalf("Auto(intermittent) = %s, want Croston, SBA or TSB", md.Description().Method)
	}
	fc, _ := md.Forecast(3, nil)
	if fc.Mean[0] <= 0 || fc.Mean[0] > 6 {
		t.Errorf("intermittent forecast = %v, want within (0, 6]", fc.Mean)
	}
	iv, _ := fc.Interval(95)
	if iv.Lower[0] < 0 || iv.Upper[0] < fc.Mean[0] {
		t.Errorf("intermittent 95%% interval = [%v, %v] around %v", iv.Lower[0], iv.Upper[0], fc.Mean[0])
	}
}

// TestRestoreRoundTrip: description → JSON → Restore reproduces forecasts,
// intervals and seeded sample paths exactly.
func TestRestoreRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		y    []float64
		m    int
		spec Spec
	}{
		{"ets seasonal", airpassengers, 12, Spec{Method: MethodETS}},
		{"ets damped", wwwusage, 1, Spec{Method: MethodETS}},
		{"theta seasonal", airpassengers, 12, Spec{Method: MethodTheta}},
		{"theta-classic seasonal", airpassengers, 12, Spec{Method: MethodThetaClassic}},
		{"theta-classic", nile, 1, Spec{Method: MethodThetaClassic}},
		{"naive", nile, 1, Spec{Method: MethodNaive}},
		{"snaive", usaccdeaths, 12, Spec{Method: MethodSNaive}},
		{"drift", nile, 1, Spec{Method: MethodDrift}},
		{"mean", nile, 1, Spec{Method: MethodMean}},
		{"linear", usaccdeaths, 12, Spec{Method: MethodLinear}},
		{"croston", intermittentY, 1, Spec{Method: MethodCroston}},
		{"sba", intermittentY, 1, Spec{Method: MethodSBA}},
		{"tsb", intermittentY, 1, Spec{Method: MethodTSB}},
		{"ensemble", ukgas, 4, Spec{Method: MethodEnsemble}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			md, err := Fit(c.y, c.m, c.spec)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := json.Marshal(md.Description())
			if err != nil {
				t.Fatal(err)
			}
			var d Description
			if err := json.Unmarshal(raw, &d); err != nil {
				t.Fatal(err)
			}
			// Extra data after N must be ignored.
			longer := append(slices.Clone(c.y), 1e6, 2e6)
			back, err := Restore(d, longer)
			if err != nil {
				t.Fatalf("Restore(%s): %v", raw, err)
			}
			f1, _ := md.Forecast(6, []float64{50, 95})
			f2, _ := back.Forecast(6, []float64{50, 95})
			if !equalFloats(f1.Mean, f2.Mean) || !equalFloats(f1.Intervals[1].Lower, f2.Intervals[1].Lower) || !equalFloats(f1.Intervals[0].Upper, f2.Intervals[0].Upper) {
				t.Errorf("Restore forecast = %v / %v, want %v / %v", f2.Mean, f2.Intervals, f1.Mean, f1.Intervals)
			}
			p1 := md.Simulate(5, 3, rand.New(rand.NewPCG(7, 7)))
			p2 := back.Simulate(5, 3, rand.New(rand.NewPCG(7, 7)))
			for i := range p1 {
				if !equalFloats(p1[i], p2[i]) {
					t.Fatalf("Restore Simulate path %d = %v, want %v", i, p2[i], p1[i])
				}
			}
			if !equalFloats(md.Fitted(), back.Fitted()) {
				t.Errorf("Restore fitted differ")
			}
		})
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}

// TestSimulateMatchesDistribution: for ETS and Theta the simulated paths'
// mean and 95% quantiles agree with the analytic forecast and intervals.
func TestSimulateMatchesDistribution(t *testing.T) {
	for _, c := range []struct {
		name string
		y    []float64
		m    int
		spec Spec
	}{
		{"ets(A,N,A)", usaccdeaths, 12, Spec{Method: MethodETS}},
		{"ets(M,Ad,M)", airpassengers, 12, Spec{Method: MethodETS}},
		{"theta", nile, 1, Spec{Method: MethodTheta}},
		{"theta-classic", wwwusage, 1, Spec{Method: MethodThetaClassic}},
		{"drift", nile, 1, Spec{Method: MethodDrift}},
	} {
		t.Run(c.name, func(t *testing.T) {
			md, err := Fit(c.y, c.m, c.spec)
			if err != nil {
				t.Fatal(err)
			}
			const h, n = 6, 20000
			paths := md.Simulate(h, n, rand.New(rand.NewPCG(1, 2)))
			fc, _ := md.Forecast(h, []float64{95})
			for j := 0; j < h; j++ {
				col := make([]float64, n)
				for i := range paths {
					col[i] = paths[i][j]
				}
				slices.Sort(col)
				mean := 0.0
				for _, v := range col {
					mean += v
				}
				mean /= n
				width := fc.Intervals[0].Upper[j] - fc.Intervals[0].Lower[j]
				if math.Abs(mean-fc.Mean[j]) > 0.03*width {
					t.Errorf("h=%d: simulated mean %v, forecast %v", j+1, mean, fc.Mean[j])
				}
				if lo := quantile(col, 0.025); math.Abs(lo-fc.Intervals[0].Lower[j]) > 0.05*width {
					t.Errorf("h=%d: simulated 2.5%% quantile %v, interval lower %v", j+1, lo, fc.Intervals[0].Lower[j])
				}
			}
		})
	}
}

func TestDegenerateSeries(t *testing.T) {
	constant := []float64{5, 5, 5, 5, 5, 5, 5, 5, 5, 5}
	md, err := Auto(constant, 1, AutoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fc, _ := md.Forecast(2, nil)
	if fc.Mean[0] != 5 || fc.Intervals[1].Lower[0] != 5 {
		t.Errorf("Auto(constant) = %v %v, want 5 with zero width", fc.Mean, fc.Intervals)
	}
	zeros := make([]float64, 12)
	md, err = Auto(zeros, 4, AutoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if fc, _ := md.Forecast(3, nil); fc.Mean[0] != 0 {
		t.Errorf("Auto(all zero) = %v, want 0", fc.Mean)
	}
	for _, c := range []struct {
		y    []float64
		want Method
	}{{[]float64{3}, MethodMean}, {[]float64{3, 4}, MethodNaive}, {[]float64{3, 4, 6, 5}, MethodDrift}} {
		md, err := Auto(c.y, 1, AutoOptions{})
		if err != nil || md.Description().Method != c.want {
			t.Errorf("Auto(%v) = %v, %v, want %s", c.y, md, err, c.want)
		}
	}
	if _, err := Auto(nil, 1, AutoOptions{}); !errors.Is(err, ErrTooShort) {
		t.Errorf("Auto(nil) error = %v, want ErrTooShort", err)
	}
	_, err = Auto([]float64{1, 2, math.NaN(), 4}, 1, AutoOptions{})
	var nf *NonFiniteError
	if !errors.Is(err, ErrNonFinite) || !errors.As(err, &nf) || nf.Index != 2 {
		t.Errorf("Auto(NaN at 2) error = %v, want ErrNonFinite at index 2", err)
	}
	if _, err := Fit([]float64{1, math.Inf(1)}, 1, Spec{Method: MethodNaive}); !errors.Is(err, ErrNonFinite) {
		t.Errorf("Fit(Inf) error = %v, want ErrNonFinite", err)
	}
	if _, err := Fit([]float64{1, 2, 3}, 1, Spec{Method: MethodETS}); !errors.Is(err, ErrTooShort) {
		t.Errorf("Fit(ETS, 3 obs) error = %v, want ErrTooShort", err)
	}
	if _, err := Fit(nile, 1, Spec{Method: MethodETS, ETS: ETSSpec{Model: "MNM"}}); !errors.Is(err, ErrBadSpec) {
		t.Errorf("Fit(ETS MNM, m=1) error = %v, want ErrBadSpec", err)
	}
	if _, err := Fit([]float64{1, -2, 3, 4, 5, 6, 7, 8, 9}, 1, Spec{Method: MethodETS, ETS: ETSSpec{Model: "MNN"}}); !errors.Is(err, ErrBadSpec) {
		t.Errorf("Fit(ETS MNN, negative data) error = %v, want ErrBadSpec", err)
	}
	if _, err := Fit(nile, 1, Spec{Method: "prophet"}); !errors.Is(err, ErrBadSpec) {
		t.Errorf("Fit(prophet) error = %v, want ErrBadSpec", err)
	}
	md, _ = Fit(nile, 1, Spec{Method: MethodNaive})
	if _, err := md.Forecast(0, nil); !errors.Is(err, ErrBadSpec) {
		t.Errorf("Forecast(h=0) error = %v, want ErrBadSpec", err)
	}
	if _, err := md.Forecast(3, []float64{100}); !errors.Is(err, ErrBadSpec) {
		t.Errorf("Forecast(level 100) error = %v, want ErrBadSpec", err)
	}
}

func TestAutoSelections(t *testing.T) {
	for _, sel := range []Selection{SelectIC, SelectBacktest, SelectEnsemble} {
		md, err := Auto(usaccdeaths, 12, AutoOptions{Selection: sel})
		if err != nil {
			t.Fatalf("Auto(%s): %v", sel, err)
		}
		fc, err := md.Forecast(12, []float64{80, 95, 99})
		if err != nil {
			t.Fatal(err)
		}
		for j := range fc.Mean {
			if !(fc.Intervals[2].Lower[j] <= fc.Intervals[1].Lower[j] && fc.Intervals[1].Lower[j] <= fc.Intervals[0].Lower[j] &&
				fc.Intervals[0].Lower[j] <= fc.Mean[j] && fc.Mean[j] <= fc.Intervals[0].Upper[j]) {
				t.Errorf("Auto(%s) intervals not nested at h=%d", sel, j+1)
			}
		}
	}
	if _, err := Auto(usaccdeaths, 12, AutoOptions{Selection: "magic"}); !errors.Is(err, ErrBadSpec) {
		t.Errorf("Auto(magic) error = %v, want ErrBadSpec", err)
	}
}

func TestScore(t *testing.T) {
	insample := []float64{1, 2, 3, 4, 5} // naive MAE scale = 1
	fc := Forecast{Mean: []float64{6, 8}, Intervals: []Interval{{Level: 80, Lower: []float64{5, 6}, Upper: []float64{7, 7}}}}
	a := Score([]float64{6, 10}, fc, insample, 1, 80)
	want := Accuracy{N: 2, MAE: 1, RMSE: math.Sqrt(2), MAPE: 10, SMAPE: 200.0 * 2 / 18 / 2, MASE: 1, WAPE: 100 * 2 / 16.0,
		Bias: -1, Level: 80, Coverage: 0.5, MSIS: ((7 - 5) + (7 - 6 + 2/0.2*(10-7))) / 2.0}
	if !closeRel(a.MAE, want.MAE, 1e-12) || !closeRel(a.RMSE, want.RMSE, 1e-12) || !closeRel(a.MAPE, want.MAPE, 1e-12) ||
		!closeRel(a.SMAPE, want.SMAPE, 1e-12) || !closeRel(a.MASE, want.MASE, 1e-12) || !closeRel(a.WAPE, want.WAPE, 1e-12) ||
		a.Bias != want.Bias || a.Coverage != want.Coverage || !closeRel(a.MSIS, want.MSIS, 1e-12) || a.N != 2 {
		t.Errorf("Score = %+v, want %+v", a, want)
	}
}

func TestBacktest(t *testing.T) {
	y := make([]float64, 30)
	for i := range y {
		y[i] = 10 + 2*float64(i)
	}
	acc, err := Backtest(y, 1, BacktestOptions{Horizon: 4, Origins: 3}, func(train []float64) (*Model, error) {
		return Fit(train, 1, Spec{Method: MethodDrift})
	})
	if err != nil {
		t.Fatal(err)
	}
	if acc.N != 12 || acc.MAE > 1e-9 || acc.Coverage != 1 {
		t.Errorf("Backtest(drift on a line) = %+v, want 12 exact forecasts", acc)
	}
	acc, _ = Backtest(y, 1, BacktestOptions{Horizon: 1, Origins: 5}, func(train []float64) (*Model, error) {
		return Fit(train, 1, Spec{Method: MethodNaive})
	})
	if acc.MAE != 2 || acc.MASE != 1 || acc.Bias != -2 {
		t.Errorf("Backtest(naive on a line) = %+v, want MAE 2, MASE 1, bias -2", acc)
	}
	if _, err := Backtest(y[:5], 1, BacktestOptions{Horizon: 4, Origins: 3}, nil); !errors.Is(err, ErrTooShort) {
		t.Errorf("Backtest(short) error = %v, want ErrTooShort", err)
	}
}

// TestLikelihoodDoesNotAllocate guards the hot loop of the ETS fit.
func TestLikelihoodDoesNotAllocate(t *testing.T) {
	w := newETSFitter(airpassengers, 12)
	c := etsCandidate{et: compM, tt: compA, st: compM, damped: true}
	w.et, w.tt, w.st, w.damped, w.m = c.et, c.tt, c.st, c.damped, 12
	par := initParams(c.tt, c.st, c.damped, 12, nil)
	par, err := initState(airpassengers, c.tt, c.st, 12, par)
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { w.objective(par, math.Inf(1)) }); n != 0 {
		t.Errorf("objective allocates %v times per call, want 0", n)
	}
	if n := testing.AllocsPerRun(10, func() {
		p := slices.Clone(par)
		_ = p
		w.nm.minimize(w.obj, par, 1e-8, 200)
	}); n > 1 {
		t.Errorf("Nelder-Mead allocates %v times per run, want ≤ 1", n)
	}
}

// TestBacktestCandidates: every candidate's score is the public Backtest's
// pooled MASE of that candidate (a combination backtested as the
// equal-weight ensemble FitCandidate builds), and SelectBacktest fits the
// candidate with the lowest score.
func TestBacktestCandidates(t *testing.T) {
	for _, c := range []struct {
		name string
		y    []float64
		m    int
	}{{"nile", nile, 1}, {"ukgas[:48]", ukgas[:48], 4}} {
		cands, err := BacktestCandidates(c.y, c.m, AutoOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		best := 0
		for i, cd := range cands {
			names = append(names, cd.Name)
			bo := backtestOptions(c.m, AutoOptions{})
			acc, err := Backtest(c.y, c.m, bo, func(train []float64) (*Model, error) { return FitCandidate(train, c.m, cd) })
			if err != nil {
				t.Fatalf("%s: Backtest(%s): %v", c.name, cd.Name, err)
			}
			if !closeRel(cd.MASE, acc.MASE, 1e-12) {
				t.Errorf("%s: %s scores %.15g, Backtest of the same model %.15g", c.name, cd.Name, cd.MASE, acc.MASE)
			}
			if cd.MASE < cands[best].MASE {
				best = i
			}
		}
		want := "ets arima theta log ets naive drift"
		if c.m > 1 {
			want += " snaive"
		}
		want += " ets+arima ets+theta arima+theta ets+arima+theta"
		if got := strings.Join(names, " "); got != want {
			t.Errorf("%s: candidates %s, want %s", c.name, got, want)
		}
		auto, err := Auto(c.y, c.m, AutoOptions{Selection: SelectBacktest})
		if err != nil {
			t.Fatal(err)
		}
		chosen, err := FitCandidate(c.y, c.m, cands[best])
		if err != nil {
			t.Fatal(err)
		}
		fa, _ := auto.Forecast(8, nil)
		fc, _ := chosen.Forecast(8, nil)
		if !slices.Equal(fa.Mean, fc.Mean) {
			t.Errorf("%s: SelectBacktest forecasts %v, the best candidate (%s, MASE %.4f) %v", c.name, fa.Mean, cands[best].Name, cands[best].MASE, fc.Mean)
		}
		t.Logf("%s: chose %s (MASE %.4f)", c.name, cands[best].Name, cands[best].MASE)
	}
	if _, err := BacktestCandidates(nile[:10], 1, AutoOptions{}); !errors.Is(err, ErrTooShort) {
		t.Errorf("BacktestCandidates(10 values) error = %v, want ErrTooShort", err)
	}
}

func TestBatchChoice(t *testing.T) {
	c := func(name string, mase float64) BacktestCandidate { return BacktestCandidate{Name: name, MASE: mase} }
	scores := [][]BacktestCandidate{
		{c("ets", 1.0), c("arima", 2.0), c("ets+arima", 1.2)},
		{c("ets", 3.0), c("arima", 1.0), c("ets+arima", 1.4)},
		{c("ets", 0.1), c("arima", math.NaN()), c("ets+arima", 0.1)}, // incomplete: not used
	}
	best, mean, used, err := BatchChoice(scores)
	if err != nil {
		t.Fatal(err)
	}
	if best != 2 || used != 2 || !closeRel(mean[0], 2, 1e-15) || !closeRel(mean[1], 1.5, 1e-15) || !closeRel(mean[2], 1.3, 1e-15) {
		t.Errorf("BatchChoice = %d, %v, %d; want 2 (ets+arima), [2 1.5 1.3], 2 series", best, mean, used)
	}
	if _, _, _, err := BatchChoice(scores[2:]); !errors.Is(err, ErrNoModel) {
		t.Errorf("BatchChoice(only incomplete) error = %v, want ErrNoModel", err)
	}
	bad := [][]BacktestCandidate{scores[0], {c("ets", 1), c("theta", 1), c("ets+arima", 1)}}
	if _, _, _, err := BatchChoice(bad); !errors.Is(err, ErrBadSpec) {
		t.Errorf("BatchChoice(different candidates) error = %v, want ErrBadSpec", err)
	}
}

// TestNelderMeadBoundIsExact: the objective may stop short of its exact
// value (and skip the seasonal admissibility test) once the value reaches
// the bound the simplex passes; the simplex must then take exactly the
// steps it takes when every value is exact. Every candidate model on two
// seasonal series, compared bit for bit with an objective that ignores
// the bound.
func TestNelderMeadBoundIsExact(t *testing.T) {
	for _, tc := range []struct {
		name string
		y    []float64
		m    int
	}{{"AirPassengers", airpassengers, 12}, {"UKgas", ukgas, 4}, {"monthly", monthlySized(1, 100, 3)[0], 12}} {
		cands, useM, err := etsCandidates(ETSSpec{}, tc.m, len(tc.y), true)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cands {
			run := func(exact bool) ([]float64, float64, int) {
				w := newETSFitter(tc.y, useM)
				mm := 1
				if c.st != compN {
					mm = useM
				}
				w.et, w.tt, w.st, w.damped, w.m, w.crit = c.et, c.tt, c.st, c.damped, mm, critLik
				par := initParams(c.tt, c.st, c.damped, mm, nil)
				par, err := initState(tc.y, c.tt, c.st, mm, par)
				if err != nil {
					t.Fatal(err)
				}
				f := w.objective
				if exact {
					f = func(p []float64, _ float64) float64 { return w.objective(p, math.Inf(1)) }
				}
				v, n := w.nm.minimize(f, par, math.Sqrt(2.220446049250313e-16), 2000)
				return par, v, n
			}
			p1, v1, n1 := run(false)
			p2, v2, n2 := run(true)
			if math.Float64bits(v1) != math.Float64bits(v2) || n1 != n2 || !slices.Equal(p1, p2) {
				t.Errorf("%s %s: with bound %v after %d evaluations, exact %v after %d", tc.name, etsName(c.et, c.tt, c.st, c.damped), v1, n1, v2, n2)
			}
		}
	}
}

// TestETSLikMatchesFilter: etsLik, which the likelihood evaluations of an
// ETS fit take (the seasonal models through loops of their own), gives
// bit for bit etsFilter's likelihood, for every error, trend and season
// type.
func TestETSLikMatchesFilter(t *testing.T) {
	y := monthlySized(1, 100, 11)[0]
	for _, st := range []int{compN, compA, compM} {
		for _, et := range []int{compA, compM} {
			for _, tt := range []int{compN, compA} {
				x0 := []float64{y[0], 0}
				if tt == compN {
					x0 = x0[:1]
				} else {
					x0[1] = 3
				}
				for j := range 12 {
					switch st {
					case compM:
						x0 = append(x0, 1+0.2*math.Sin(float64(j)))
					case compA:
						x0 = append(x0, 300*math.Sin(float64(j)))
					}
				}
				ring := make([]float64, 12)
				e := make([]float64, len(y))
				got := etsLik(y, et, tt, st, 12, 0.3, 0.05, 0.1, 0.95, x0, ring)
				want, _ := etsFilter(y, et, tt, st, 12, 0.3, 0.05, 0.1, 0.95, x0, ring, e, nil, nil)
				if math.Float64bits(got) != math.Float64bits(want) {
					t.Errorf("%s: etsLik = %v, etsFilter's lik = %v", etsName(et, tt, st, tt != compN), got, want)
				}
			}
		}
	}
}

// TestFrexp: the likelihood loops' frexp is math.Frexp bit for bit, on
// normal, subnormal and special values.
func TestFrexp(t *testing.T) {
	xs := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 3e150, 2e-151, math.MaxFloat64, math.SmallestNonzeroFloat64,
		0x1p-1022, 0x1p-1023, -0x1.fffffp-1030, math.Inf(1), math.Inf(-1), math.NaN()}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		xs = append(xs, math.Float64frombits(rng.Uint64()))
	}
	for _, x := range xs {
		f, e := frexp(x)
		wf, we := math.Frexp(x)
		if math.Float64bits(f) != math.Float64bits(wf) || e != we {
			t.Errorf("frexp(%v) = %v, %d, want %v, %d", x, f, e, wf, we)
		}
	}
}

// TestSchurStableDecisions: schurStable decides as the plain Schur–Cohn
// recursion (every coefficient of every degree divided by the new leading
// one) does, on the characteristic polynomials of seasonal ETS models
// around the edge of the admissible region and on polynomials with zero,
// infinite and NaN coefficients.
func TestSchurStableDecisions(t *testing.T) {
	plain := func(a []float64) bool {
		c := slices.Clone(a)
		for d := len(c) - 1; d > 0; d-- {
			a0, ad := c[0], c[d]
			if !(math.Abs(a0) < math.Abs(ad)) {
				return false
			}
			out := make([]float64, d)
			for k := range out {
				out[k] = ad*c[k+1] - a0*c[d-1-k]
			}
			for k := range out {
				out[k] /= out[d-1]
			}
			c = out
		}
		return true
	}
	rng := rand.New(rand.NewPCG(7, 8))
	buf0, buf1 := make([]float64, 26), make([]float64, 26)
	stable := 0
	for i := range 8000 {
		m := []int{4, 12, 24}[i%3]
		alpha := rng.Float64()
		gamma := rng.Float64() * (1 - alpha)
		beta := rng.Float64() * alpha
		phi := 0.8 + 0.2*rng.Float64()
		switch i % 4 {
		case 0: // a root at z = 1, the others near the circle too: decided
			// by rounding within 1e-10 of |z| = 1 (where the fits of
			// undamped seasonal models spend much of their time)
			phi, beta = 1, 0
			alpha, gamma = 1e-4+1e-3*rng.Float64(), 1e-4+1e-3*rng.Float64()
		case 1:
			phi = 1
		}
		want := plain(seasonalPolynomial(alpha, beta, gamma, phi, m))
		if want {
			stable++
		}
		if got := admissibleSeasonal(alpha, beta, gamma, phi, true, m, buf0, buf1); got != want {
			t.Errorf("admissibleSeasonal(%v, %v, %v, %v, m=%d) = %v, plain Schur–Cohn %v", alpha, beta, gamma, phi, m, got, want)
		}
	}
	if stable == 0 || stable == 8000 {
		t.Fatalf("%d of 8000 polynomials stable: the cases do not straddle the edge", stable)
	}
	for _, a := range [][]float64{{0.5, 0, 1}, {0.1, 0.2, math.Inf(1), 1}, {0.1, math.NaN(), 0.3, 1}, {0.1, 0.5, 1, 1}, {0.2, 1}, {0, 0.1, 0, 1}} {
		want := plain(a)
		if got := schurStable(slices.Clone(a), make([]float64, len(a))); got != want {
			t.Errorf("schurStable(%v) = %v, plain Schur–Cohn %v", a, got, want)
		}
	}
}

// TestAdmissibleSeasonalKept: the fitter's kept answer is the test's own
// answer whatever question comes after which, including the same smoothing
// parameters for another trend type or period.
func TestAdmissibleSeasonalKept(t *testing.T) {
	w := newETSFitter(airpassengers, 12)
	w.st = compA
	type q struct {
		alpha, beta, gamma, phi float64
		tt, m                   int
	}
	// (0.3, 0.2, 0.1, 0.9) is admissible at m = 12 with a trend; with
	// β = 0.4 it is not; and without a trend (β ignored) the same
	// parameters are.
	qs := []q{{0.3, 0.2, 0.1, 0.9, compA, 12}, {0.3, 0.2, 0.1, 0.9, compA, 12}, {0.3, 0.4, 0.1, 0.9, compA, 12},
		{0.3, 0.4, 0.1, 0.9, compN, 12}, {0.3, 0.4, 0.1, 0.9, compA, 12}, {0.3, 0.4, 0.1, 0.9, compA, 4}, {0.3, 0.2, 0.1, 0.9, compA, 12}}
	seen := map[bool]bool{}
	for _, c := range qs {
		w.tt, w.m = c.tt, c.m
		want := admissibleSeasonal(c.alpha, c.beta, c.gamma, c.phi, c.tt != compN, c.m, make([]float64, 26), make([]float64, 26))
		seen[want] = true
		if got := w.admissibleSeasonal(c.alpha, c.beta, c.gamma, c.phi); got != want {
			t.Errorf("after the questions before, admissibleSeasonal%v = %v, want %v", c, got, want)
		}
	}
	if !seen[true] || !seen[false] {
		t.Fatalf("the questions' answers are all %v: the test cannot tell a kept answer from a new one", seen)
	}
}

// seasonalPolynomial returns the polynomial admissibleSeasonal tests, in
// increasing powers, on |z| ≤ 1 + 1e-10: the characteristic polynomial of
// a seasonal ETS model with a trend, of period m.
func seasonalPolynomial(alpha, beta, gamma, phi float64, m int) []float64 {
	deg := m + 1
	p := make([]float64, deg+1)
	p[0], p[1] = 1, alpha+beta-phi
	for k := 2; k < m; k++ {
		p[k] = alpha + beta - alpha*phi
	}
	p[m] = alpha + beta - alpha*phi + gamma - 1
	p[m+1] = phi * (1 - alpha - gamma)
	a := make([]float64, deg+1)
	rk := 1.0
	for k := 0; k <= deg; k++ {
		a[k] = p[deg-k] * rk
		rk *= 1 + 1e-10
	}
	return a
}
