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
