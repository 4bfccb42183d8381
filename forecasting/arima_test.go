package forecasting

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// Reference values from R 4.x, forecast 8.20; script:
// testdata/r/arima_reference.R (each case's call is beside its values; the
// accessors are forecast:::arima.string(fit), coef(fit), fit$loglik,
// fit$aicc, fit$sigma2, and fc <- forecast(fit, h = 4): fc$mean,
// fc$lower[, 2] (95%), fc$upper[, 1] (80%)).

// lh is R's datasets::lh (48 luteinizing hormone samples).
var lh = []float64{2.4, 2.4, 2.4, 2.2, 2.1, 1.5, 2.3, 2.3, 2.5, 2, 1.9, 1.7, 2.2,
	1.8, 3.2, 3.2, 2.7, 2.2, 2.2, 1.9, 1.9, 1.8, 2.7, 3, 2.3, 2,
	2, 2.9, 2.9, 2.7, 2.7, 2.3, 2.6, 2.4, 1.8, 1.7, 1.5, 1.4, 2.1,
	3.3, 3.5, 3.5, 3.1, 2.6, 2.1, 3.4, 3, 2.9}

type arimaRef struct {
	call, model          string
	y                    []float64
	m                    int
	order                *arimaOrder // nil: auto.arima
	reg                  regressor
	coef                 []float64 // R's order: ar, ma, sar, sma, intercept/drift
	loglik, aicc, sigma2 float64
	mean, lo95, hi80     []float64
}

var arimaRefs = []arimaRef{
	{call: "auto.arima(WWWusage)", model: "ARIMA(1,1,1)", y: wwwusage, m: 1,
		coef: []float64{0.650375976232, 0.525595888951}, loglik: -254.149735787, aicc: 514.552103153, sigma2: 9.995325201,
		mean: []float64{218.880496735, 218.152398706, 217.678861239, 217.370883847},
		lo95: []float64{212.683995290, 203.313293238, 194.178566812, 185.650799074},
		hi80: []float64{222.932171250, 227.855168243, 233.044877835, 238.111532462}},
	{call: "auto.arima(Nile)", model: "ARIMA(1,1,1)", y: nile, m: 1,
		coef: []float64{0.254371370057, -0.874136371156}, loglik: -630.627381776, aicc: 1267.507395131, sigma2: 20176.914865758,
		mean: []float64{816.181275940, 835.559611473, 840.488905232, 841.742776439},
		lo95: []float64{537.777275276, 537.709139259, 536.260390454, 533.301487786},
		hi80: []float64{998.219867321, 1030.313567145, 1039.413238777, 1043.421694761}},
	{call: "auto.arima(UKgas)", model: "ARIMA(0,1,1)(0,1,0)[4]", y: ukgas, m: 4,
		coef: []float64{-0.929676299866}, loglik: -513.337390135, aicc: 1030.794780270, sigma2: 1236.703818615,
		mean: []float64{1201.895642919, 651.095642919, 385.395642919, 820.795642919},
		lo95: []float64{1132.969980358, 581.999757289, 316.129952548, 751.360563067},
		hi80: []float64{1246.963711239, 696.275014121, 430.686043473, 866.196801302}},
	{call: "auto.arima(USAccDeaths)", model: "ARIMA(0,1,1)(0,1,1)[12]", y: usaccdeaths, m: 12,
		coef: []float64{-0.430269236217, -0.552791270186}, loglik: -425.439993553, aicc: 857.316350743, sigma2: 102860.268051635,
		mean: []float64{8336.06126630, 7531.82914119, 8314.64376019, 8616.86875619},
		lo95: []float64{7706.95692023, 6807.87992088, 7506.91071724, 7733.26088869},
		hi80: []float64{8747.41048800, 8005.19409277, 8842.79200877, 9194.62888590}},
	{call: "auto.arima(AirPassengers)", model: "ARIMA(2,1,1)(0,1,0)[12]", y: airpassengers, m: 12,
		coef: []float64{0.595980706587, 0.214274553578, -0.981877169669}, loglik: -504.923852561, aicc: 1018.165165440, sigma2: 132.344749404,
		mean: []float64{445.634901393, 420.394996527, 449.198316329, 491.839948477},
		lo95: []float64{423.085052945, 393.930365291, 419.489210162, 460.009227110},
		hi80: []float64{460.379454768, 437.699288780, 468.624056710, 512.652938472}},
	{call: "auto.arima(lh)", model: "ARIMA(1,0,0) with non-zero mean", y: lh, m: 1,
		coef: []float64{0.573929601443, 2.413287957712}, loglik: -29.379162387, aicc: 65.303779320, sigma2: 0.206076016,
		mean: []float64{2.69262640616, 2.57360856210, 2.50530069829, 2.46609679324},
		lo95: []float64{1.80288906977, 1.54774674264, 1.43839604298, 1.38601424653},
		hi80: []float64{3.27439438015, 3.24438355139, 3.20291215548, 3.17232481047}},
	{call: "Arima(WWWusage, order = c(2,0,1), include.mean = TRUE)", model: "ARIMA(2,0,1) with non-zero mean", y: wwwusage, m: 1,
		order: &arimaOrder{p: 2, q: 1, m: 1}, reg: regIntercept,
		coef: []float64{1.661285486966, -0.679287914563, 0.508921473606, 143.007281015249}, loglik: -258.246148175, aicc: 527.130594222, sigma2: 9.973576349,
		mean: []float64{217.964024413, 215.231607456, 212.075296433, 208.687860553},
		lo95: []float64{211.774268130, 200.441070840, 188.691825891, 177.283179476},
		hi80: []float64{222.011288504, 224.902619529, 227.364925996, 229.222277776}},
	{call: "Arima(UKgas, order = c(1,0,0), seasonal = c(1,1,0), include.drift = TRUE)", model: "ARIMA(1,0,0)(1,1,0)[4] with drift", y: ukgas, m: 4,
		order: &arimaOrder{p: 1, sp: 1, sd: 1, m: 4}, reg: regDrift,
		coef: []float64{-0.00665738533649, 0.09566651686778, 5.80589638434498}, loglik: -518.872426818, aicc: 1046.148894040, sigma2: 1299.007201385,
		mean: []float64{1192.467078910, 641.600733139, 374.677598745, 803.342666657},
		lo95: []float64{1121.826561699, 570.958650523, 304.035516060, 732.700583972},
		hi80: []float64{1238.656430417, 687.791108208, 420.867973861, 849.533041773}},
}

// TestARIMAReference pins the model auto.arima chooses, the estimates,
// likelihood, AICc, σ², forecasts and intervals against R (always on: the
// data are embedded).
func TestARIMAReference(t *testing.T) {
	for _, c := range arimaRefs {
		t.Run(c.call, func(t *testing.T) {
			var am *arimaModel
			var err error
			if c.order == nil {
				am, err = autoARIMA(c.y, c.m)
			} else {
				am, err = fitARIMA(c.y, *c.order, c.reg)
			}
			if err != nil {
				t.Fatalf("%s: %v", c.call, err)
			}
			md := am.model()
			d := md.Description()
			if d.Name != c.model {
				t.Fatalf("%s chose %s, want %s", c.call, d.Name, c.model)
			}
			checkSlice(t, c.call+" coef", am.coef, c.coef, 1e-5)
			if !closeRel(d.LogLik, c.loglik, 1e-8) || !closeRel(d.AICc, c.aicc, 1e-8) || !closeRel(d.Sigma2, c.sigma2, 1e-6) {
				t.Errorf("%s: loglik %v aicc %v sigma2 %v, want %v %v %v", c.call, d.LogLik, d.AICc, d.Sigma2, c.loglik, c.aicc, c.sigma2)
			}
			fc, err := md.Forecast(len(c.mean), nil)
			if err != nil {
				t.Fatal(err)
			}
			checkSlice(t, c.call+" mean", fc.Mean, c.mean, 1e-6)
			lo, _ := fc.Interval(95)
			hi, _ := fc.Interval(80)
			checkSlice(t, c.call+" lo95", lo.Lower, c.lo95, 1e-6)
			checkSlice(t, c.call+" hi80", hi.Upper, c.hi80, 1e-6)
		})
	}
}

// TestARIMATests pins the differencing tests and the STL decomposition
// behind them against R.
func TestARIMATests(t *testing.T) {
	// R: ndiffs(WWWusage); ndiffs(Nile); ndiffs(lh)
	for _, c := range []struct {
		name string
		y    []float64
		want int
	}{{"WWWusage", wwwusage, 1}, {"Nile", nile, 1}, {"lh", lh, 0}} {
		if got := ndiffs(c.y, 0.05, 2); got != c.want {
			t.Errorf("ndiffs(%s) = %d, want %d", c.name, got, c.want)
		}
	}
	// R: nsdiffs(UKgas); nsdiffs(USAccDeaths)
	if got := nsdiffs(ukgas, 4, 1); got != 1 {
		t.Errorf("nsdiffs(UKgas) = %d, want 1", got)
	}
	if got := nsdiffs(usaccdeaths, 12, 1); got != 1 {
		t.Errorf("nsdiffs(USAccDeaths) = %d, want 1", got)
	}
	// R: forecast:::seas.heuristic(UKgas); forecast:::seas.heuristic(USAccDeaths)
	if got := seasonalStrength(ukgas, 4); !closeRel(got, 0.983094782557, 1e-9) {
		t.Errorf("seasonalStrength(UKgas) = %v, want 0.983094782557", got)
	}
	if got := seasonalStrength(usaccdeaths, 12); !closeRel(got, 0.944794464889, 1e-9) {
		t.Errorf("seasonalStrength(USAccDeaths) = %v, want 0.944794464889", got)
	}
	// R: s <- stl(UKgas, s.window = 11)$time.series; s[1:4, 1]; s[1:4, 2]
	seas, trend := stl(ukgas, 4, 11)
	checkSlice(t, "stl(UKgas) seasonal", seas[:4], []float64{44.5688832784, 10.2933314088, -42.8357245997, -12.3207514506}, 1e-9)
	checkSlice(t, "stl(UKgas) trend", trend[:4], []float64{118.355809626, 120.822599626, 122.511477662, 123.668407921}, 1e-9)
	// R: urca::ur.kpss(WWWusage, type = "mu", use.lag = 3)@teststat
	if got := kpssStat(wwwusage, 3); !closeRel(got, 0.553814816031, 1e-9) {
		t.Errorf("kpssStat(WWWusage, 3) = %v, want 0.553814816031", got)
	}
}

// TestARIMARestoreAndSimulate checks that a published description rebuilds
// the same model and that simulated paths are reproducible and centred on
// the point forecast.
func TestARIMARestoreAndSimulate(t *testing.T) {
	for _, c := range []struct {
		name string
		y    []float64
		m    int
	}{{"WWWusage", wwwusage, 1}, {"UKgas", ukgas, 4}, {"lh", lh, 1}} {
		md, err := Fit(c.y, c.m, Spec{Method: MethodARIMA})
		if err != nil {
			t.Fatalf("Fit(%s) = %v", c.name, err)
		}
		raw, err := json.Marshal(md.Description())
		if err != nil {
			t.Fatal(err)
		}
		var d Description
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		rm, err := Restore(d, c.y)
		if err != nil {
			t.Fatalf("Restore(%s) = %v", c.name, err)
		}
		f1, _ := md.Forecast(6, nil)
		f2, _ := rm.Forecast(6, nil)
		checkSlice(t, c.name+" restored mean", f2.Mean, f1.Mean, 1e-12)
		checkSlice(t, c.name+" restored upper", f2.Intervals[1].Upper, f1.Intervals[1].Upper, 1e-12)
		checkSlice(t, c.name+" restored fitted", rm.Fitted(), md.Fitted(), 1e-12)

		p1 := md.Simulate(6, 4000, rand.New(rand.NewPCG(1, 2)))
		p2 := md.Simulate(6, 4000, rand.New(rand.NewPCG(1, 2)))
		for i := range p1 {
			for j := range p1[i] {
				if p1[i][j] != p2[i][j] {
					t.Fatalf("%s: Simulate not reproducible at path %d step %d", c.name, i, j)
				}
			}
		}
		sd := (f1.Intervals[1].Upper[5] - f1.Mean[5]) / 1.959963984540054
		s := 0.0
		for i := range p1 {
			s += p1[i][5]
		}
		if got := s / float64(len(p1)); math.Abs(got-f1.Mean[5]) > 4*sd/math.Sqrt(float64(len(p1))) {
			t.Errorf("%s: mean of simulated step 6 = %v, want %v ± %v", c.name, got, f1.Mean[5], 4*sd/math.Sqrt(float64(len(p1))))
		}
	}
}

// TestARIMABadInput: bad data are errors, never panics.
func TestARIMABadInput(t *testing.T) {
	for _, c := range []struct {
		name string
		y    []float64
		want error
	}{{"empty", nil, ErrTooShort}, {"NaN", []float64{1, math.NaN(), 3}, ErrNonFinite}} {
		if _, err := Fit(c.y, 1, Spec{Method: MethodARIMA}); err == nil || !errors.Is(err, c.want) {
			t.Errorf("Fit(%s, arima) = %v, want %v", c.name, err, c.want)
		}
	}
	// A constant series is ARIMA(0,0,0) with its mean, zero-width intervals.
	md, err := Fit([]float64{5, 5, 5, 5, 5}, 1, Spec{Method: MethodARIMA})
	if err != nil {
		t.Fatalf("Fit(constant) = %v", err)
	}
	fc, _ := md.Forecast(3, nil)
	checkSlice(t, "constant mean", fc.Mean, []float64{5, 5, 5}, 1e-12)
	// Short series still get a model.
	for n := 1; n <= 6; n++ {
		y := make([]float64, n)
		for i := range y {
			y[i] = float64(i*i%5) + 1
		}
		if _, err := Fit(y, 4, Spec{Method: MethodARIMA}); err != nil {
			t.Errorf("Fit(n=%d, arima) = %v", n, err)
		}
	}
}

// TestCombination: the ETS+ARIMA+Theta combination is the equal-weight
// mean of the three automatic models, and it restores from its
// description.
func TestCombination(t *testing.T) {
	for _, c := range []struct {
		name string
		y    []float64
		m    int
	}{{"WWWusage", wwwusage, 1}, {"UKgas", ukgas, 4}} {
		md, err := Auto(c.y, c.m, AutoOptions{Selection: SelectCombination})
		if err != nil {
			t.Fatalf("Auto(%s, combination) = %v", c.name, err)
		}
		fc, _ := md.Forecast(5, nil)
		want := make([]float64, 5)
		for _, meth := range []Method{MethodETS, MethodARIMA, MethodTheta} {
			mm, err := Fit(c.y, c.m, Spec{Method: meth})
			if err != nil {
				t.Fatal(err)
			}
			f, _ := mm.Forecast(5, nil)
			for i := range want {
				want[i] += f.Mean[i] / 3
			}
		}
		checkSlice(t, c.name+" combination mean", fc.Mean, want, 1e-12)
		d := md.Description()
		if len(d.Members) != 3 || d.Members[1].Method != MethodARIMA {
			t.Fatalf("%s: combination members %v, want ETS, ARIMA, Theta", c.name, d.Members)
		}
		rm, err := Restore(d, c.y)
		if err != nil {
			t.Fatalf("Restore(%s combination) = %v", c.name, err)
		}
		f2, _ := rm.Forecast(5, nil)
		checkSlice(t, c.name+" restored combination", f2.Mean, fc.Mean, 1e-12)
	}
}

// TestCombinationCV: weights by rolling-origin backtest on the training
// data are ∝ 1/MASE of each member there, sum to 1, and the forecast is
// the weighted mean of the members.
func TestCombinationCV(t *testing.T) {
	y, m := wwwusage, 1
	md, err := Auto(y, m, AutoOptions{Selection: SelectCombinationCV})
	if err != nil {
		t.Fatalf("Auto(WWWusage, combination-cv) = %v", err)
	}
	d := md.Description()
	if len(d.Weights) != 3 {
		t.Fatalf("weights %v, want 3", d.Weights)
	}
	bo := BacktestOptions{Horizon: 6, Origins: 3, Period: 1, MinTrain: 8}
	inv := make([]float64, 3)
	total := 0.0
	for i, meth := range []Method{MethodETS, MethodARIMA, MethodTheta} {
		acc, err := Backtest(y, m, bo, func(train []float64) (*Model, error) { return Fit(train, m, Spec{Method: meth}) })
		if err != nil {
			t.Fatal(err)
		}
		inv[i] = 1 / acc.MASE
		total += inv[i]
	}
	for i := range inv {
		inv[i] /= total
	}
	checkSlice(t, "combination-cv weights", d.Weights, inv, 1e-12)
	fc, _ := md.Forecast(4, nil)
	want := make([]float64, 4)
	for i, mem := range d.Members {
		mm, err := Restore(mem, y)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := mm.Forecast(4, nil)
		for j := range want {
			want[j] += d.Weights[i] * f.Mean[j]
		}
	}
	checkSlice(t, "combination-cv mean", fc.Mean, want, 1e-12)
}

// TestARIMASearchLikelihood checks what the stepwise search ranks models
// by against R's exact fit on the reference series: the differenced
// likelihood at R's estimate within the κ = 1e6 approximation of R's
// filter, filterARMA equal to filter up to rounding, and the estimate
// that maximises the differenced likelihood within 1e-4 of R's and its
// −2·log L within 5e-3 — far below the AICc differences that decide the
// choices on M3.
func TestARIMASearchLikelihood(t *testing.T) {
	for _, c := range []struct {
		name string
		y    []float64
		o    arimaOrder
		reg  regressor
	}{
		{"WWWusage (1,1,1)", wwwusage, arimaOrder{p: 1, d: 1, q: 1, m: 1}, regNone},
		{"WWWusage (2,1,2) drift", wwwusage, arimaOrder{p: 2, d: 1, q: 2, m: 1}, regDrift},
		{"Nile (1,1,1)", nile, arimaOrder{p: 1, d: 1, q: 1, m: 1}, regNone},
		{"lh (1,0,0) mean", lh, arimaOrder{p: 1, m: 1}, regIntercept},
		{"UKgas (0,1,1)(0,1,0)", ukgas, arimaOrder{d: 1, q: 1, sd: 1, m: 4}, regNone},
		{"UKgas (1,0,0)(1,1,0) drift", ukgas, arimaOrder{p: 1, sp: 1, sd: 1, m: 4}, regDrift},
		{"USAccDeaths (0,1,1)(0,1,1)", usaccdeaths, arimaOrder{d: 1, q: 1, sd: 1, sq: 1, m: 12}, regNone},
		{"AirPassengers (2,1,1)(0,1,0)", airpassengers, arimaOrder{p: 2, d: 1, q: 1, sd: 1, m: 12}, regNone},
	} {
		exact, err := estimateARIMA(c.y, c.o, c.reg, false)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		nu := float64(exact.nused)
		ob := newArimaObjective(c.y, c.o, c.reg, true)
		if d := 2 * nu * math.Abs(ob.ml(exact.raw, true)-exact.value); d > 5e-3 {
			t.Errorf("%s: −2 log L differenced and exact at R's estimate differ by %.3g > 5e-3", c.name, d)
		}

		// filterARMA against filter on the same state and data.
		x := ob.filtered(exact.coef)
		expandARMA(c.o, exact.coef, ob.phi, ob.theta)
		k := newKalman(ob.phi, ob.theta, nil)
		if !k.init() {
			t.Fatalf("%s: no initial covariance", c.name)
		}
		ssq1, sumlog1, nu1 := k.filter(x, nil)
		k.init()
		ssq2, sumlog2, nu2 := k.filterARMA(x)
		if nu1 != nu2 || !closeRel(ssq2, ssq1, 1e-12) || !closeRel(sumlog2, sumlog1, 1e-10) {
			t.Errorf("%s: filterARMA %v %v %d, filter %v %v %d", c.name, ssq2, sumlog2, nu2, ssq1, sumlog1, nu1)
		}

		search, err := estimateARIMA(c.y, c.o, c.reg, true)
		if err != nil {
			t.Fatalf("%s: search fit: %v", c.name, err)
		}
		if d := math.Abs(search.m2() - exact.m2()); d > 5e-3 {
			t.Errorf("%s: −2 log L %v in the search, %v exact (|Δ| %.3g > 5e-3)", c.name, search.m2(), exact.m2(), d)
		}
		checkSlice(t, c.name+" search coef", search.coef, exact.coef, 1e-4)
	}
}

// TestARIMASearchFinal checks how the search's choice is refitted: the
// tried specification with the lowest AICc is fitted as stats::arima
// does, one whose Hessian gave a negative variance or that was rejected
// (+Inf) is passed over for the next best.
func TestARIMASearchFinal(t *testing.T) {
	s := &arimaSearch{y: lh, m: 1}
	s.tried = []arimaCandidate{
		{p: 0, q: 0, constant: true, ic: 70, est: &arimaEstimate{}},
		{p: 1, q: 0, constant: true, ic: 60, est: &arimaEstimate{varChecked: true, varBad: true}},
		{p: 3, q: 0, constant: true, ic: math.Inf(1)},
		{p: 2, q: 0, constant: false, ic: 65, est: &arimaEstimate{}},
		{p: 1, q: 1, constant: true, ic: 68, est: &arimaEstimate{}},
	}
	am, err := s.final()
	if err != nil {
		t.Fatal(err)
	}
	want, err := fitARIMA(lh, arimaOrder{p: 2, m: 1}, regNone)
	if err != nil {
		t.Fatal(err)
	}
	if got := am.name(); got != "ARIMA(2,0,0) with zero mean" {
		t.Fatalf("final chose %s, want ARIMA(2,0,0) with zero mean", got)
	}
	checkSlice(t, "final coef", am.coef, want.coef, 0)
	if am.aicc != want.aicc {
		t.Errorf("final AICc %v, want stats::arima's %v", am.aicc, want.aicc)
	}
}
