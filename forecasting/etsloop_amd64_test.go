package forecasting

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

// TestMulSeasonStateLayout: the offsets etsloop_amd64.s reads
// mulSeasonState at.
func TestMulSeasonStateLayout(t *testing.T) {
	var s mulSeasonState
	got := []uintptr{unsafe.Offsetof(s.alpha), unsafe.Offsetof(s.beta), unsafe.Offsetof(s.gamma), unsafe.Offsetof(s.phi),
		unsafe.Offsetof(s.A), unsafe.Offsetof(s.B), unsafe.Offsetof(s.C), unsafe.Offsetof(s.l), unsafe.Offsetof(s.b),
		unsafe.Offsetof(s.sse), unsafe.Offsetof(s.prod), unsafe.Offsetof(s.i), unsafe.Offsetof(s.p), unsafe.Offsetof(s.trend)}
	want := []uintptr{0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104}
	if !slices.Equal(got, want) {
		t.Fatalf("mulSeasonState offsets %v, the assembly reads %v", got, want)
	}
}

// TestMulSeasonStepsMatchGo: the multiplicative-season loop through the
// assembly steps gives etsLoopMulSeasonGo's sums, product, exponent and
// final seasonal states bit for bit — with and without a trend, for
// several periods, on monthly-sized series, on series whose product of
// forecasts leaves [1e-150, 1e150] upwards and downwards (the rescaling
// between calls), with seasonal states and levels below etsTol, and with
// infinite and NaN parameters.
func TestMulSeasonStepsMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	series := monthlySized(40, 100, 23)
	big := make([]float64, 120)
	small := make([]float64, 120)
	for i := range big {
		big[i] = 1e80 * (1 + 0.1*math.Sin(float64(i)))
		small[i] = 1e-80 * (1 + 0.1*math.Sin(float64(i)))
	}
	series = append(series, big, small, []float64{5}, nil)
	rescaled, tiny := 0, 0
	for i, y := range series {
		for _, m := range []int{2, 4, 12, 24} {
			for _, trend := range []bool{false, true} {
				alpha, beta, gamma, phi := rng.Float64(), 0.1*rng.Float64(), 0.5*rng.Float64(), 0.8+0.2*rng.Float64()
				switch i % 7 {
				case 3:
					alpha = math.NaN()
				case 4:
					gamma = math.Inf(1)
				}
				l := 1.0
				if len(y) > 0 {
					l = y[0]
				}
				b := 0.01 * l * (rng.Float64() - 0.5)
				s0 := make([]float64, m)
				for j := range s0 {
					s0[j] = 1 + 0.3*(rng.Float64()-0.5)
				}
				if i%5 == 1 {
					s0[rng.IntN(m)] = 1e-12 // |so| < etsTol
				}
				if i%5 == 2 {
					l, b = 1e-12, 0 // |q| < etsTol
					tiny++
				}
				A, B, C := etsLinear(alpha, beta, phi)
				r1, r2 := slices.Clone(s0), slices.Clone(s0)
				sse1, prod1, e1 := etsLoopMulSeason(y, compM, trend, m, alpha, beta, gamma, phi, A, B, C, l, b, r1)
				sse2, prod2, e2 := etsLoopMulSeasonGo(y, compM, trend, m, alpha, beta, gamma, phi, A, B, C, l, b, r2)
				if math.Float64bits(sse1) != math.Float64bits(sse2) || math.Float64bits(prod1) != math.Float64bits(prod2) || e1 != e2 || !sameBits(r1, r2) {
					t.Fatalf("series %d, m = %d, trend %v: assembly sse %v prod %v·2^%d, Go sse %v prod %v·2^%d (rings equal: %v)",
						i, m, trend, sse1, prod1, e1, sse2, prod2, e2, sameBits(r1, r2))
				}
				if e2 != 0 {
					rescaled++
				}
			}
		}
	}
	if rescaled == 0 || tiny == 0 {
		t.Fatalf("%d runs rescaled the product, %d started below etsTol: the cases miss a path", rescaled, tiny)
	}
}
