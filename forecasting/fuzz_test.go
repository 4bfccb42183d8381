package forecasting

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func bytesToSeries(data []byte) []float64 {
	y := make([]float64, 0, len(data)/8)
	for len(data) >= 8 && len(y) < 80 {
		y = append(y, math.Float64frombits(binary.LittleEndian.Uint64(data)))
		data = data[8:]
	}
	return y
}

func seriesBytes(y ...float64) []byte {
	b := make([]byte, 8*len(y))
	for i, v := range y {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	return b
}

var fuzzMethods = []Method{MethodAuto, MethodETS, MethodARIMA, MethodTheta, MethodThetaClassic, MethodNaive, MethodSNaive, MethodDrift, MethodMean,
	MethodLinear, MethodCroston, MethodSBA, MethodTSB, MethodEnsemble}

// FuzzFit: no panic on any input, finite or not; every failure is one of
// the package's sentinel errors; a fitted model forecasts, simulates and
// restores without panicking.
// go test ./forecasting -run '^$' -fuzz FuzzFit -fuzztime 60s
func FuzzFit(f *testing.F) {
	f.Add(seriesBytes(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), uint8(1), uint8(0))
	f.Add(seriesBytes(5, 5, 5, 5, 5, 5, 5, 5), uint8(4), uint8(0))
	f.Add(seriesBytes(0, 0, 0, 0, 0, 0), uint8(4), uint8(0))
	f.Add(seriesBytes(0, 0, 3, 0, 0, 1, 0, 0, 0, 2), uint8(1), uint8(8))
	f.Add(seriesBytes(1, math.NaN(), 3), uint8(1), uint8(1))
	f.Add(seriesBytes(1, math.Inf(1), 3), uint8(1), uint8(2))
	f.Add(seriesBytes(1e300, -1e300, 1e300, -1e300, 1e300, -1e300, 1e300, -1e300, 1, 2), uint8(2), uint8(1))
	f.Add(seriesBytes(airpassengers[:30]...), uint8(12), uint8(1))
	f.Add(seriesBytes(3), uint8(0), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, m uint8, method uint8) {
		y := bytesToSeries(data)
		meth := fuzzMethods[int(method)%len(fuzzMethods)]
		md, err := Fit(y, int(m%30), Spec{Method: meth})
		if err != nil {
			if !errors.Is(err, ErrTooShort) && !errors.Is(err, ErrNonFinite) && !errors.Is(err, ErrBadSpec) && !errors.Is(err, ErrNoModel) {
				t.Fatalf("Fit(%v, %d, %s) error %v is not a sentinel", y, m, meth, err)
			}
			return
		}
		fc, err := md.Forecast(5, nil)
		if err != nil {
			t.Fatalf("Forecast: %v", err)
		}
		if len(fc.Mean) != 5 || len(fc.Intervals) != 2 {
			t.Fatalf("Forecast shape %d/%d", len(fc.Mean), len(fc.Intervals))
		}
		md.Simulate(3, 2, rand.New(rand.NewPCG(1, 1)))
		if _, err := Restore(md.Description(), y); err != nil {
			t.Fatalf("Restore(%+v): %v", md.Description(), err)
		}
	})
}
