package forecasting

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSchurStableAssembly: the assembly Schur–Cohn test answers as
// schurStableGo and leaves the same coefficients, bit for bit, in both
// buffers (every degree's products, differences and quotients are the
// same), on the characteristic polynomials of seasonal ETS models near
// the edge of the admissible region, on random polynomials of every degree
// up to 25 (odd and even numbers of coefficient pairs, with and without a
// middle one) and on ones with zero, infinite and NaN coefficients.
func TestSchurStableAssembly(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var polys [][]float64
	for i := range 6000 {
		m := []int{4, 12, 24}[i%3]
		alpha := rng.Float64()
		gamma := rng.Float64() * (1 - alpha)
		beta := rng.Float64() * alpha
		phi := 0.8 + 0.2*rng.Float64()
		if i%2 == 0 {
			phi, beta = 1, 0
			alpha, gamma = 1e-4+1e-3*rng.Float64(), 1e-4+1e-3*rng.Float64()
		}
		polys = append(polys, seasonalPolynomial(alpha, beta, gamma, phi, m))
	}
	for i := range 20000 {
		deg := 1 + i%25
		a := make([]float64, deg+1)
		// coefficients of this size leave most of these stable for a
		// few degrees at least
		scale := math.Pow(0.9, float64(deg))
		for k := range a {
			a[k] = scale * (2*rng.Float64() - 1)
		}
		a[deg] = 1
		polys = append(polys, a)
	}
	polys = append(polys, []float64{0.5, 0, 1}, []float64{0.1, 0.2, math.Inf(1), 1}, []float64{0.1, math.NaN(), 0.3, 1},
		[]float64{0.1, 0.5, 1, 1}, []float64{0.2, 1}, []float64{0, 0.1, 0, 1}, []float64{1}, []float64{},
		[]float64{0.1, 0, 0, 0, 0, 0, 0, 0, 0, 1}, []float64{math.Inf(-1), 1}, []float64{0.3, math.NaN()},
		[]float64{1e-300, 1e-300, 1e300, 1}, []float64{0.5, 1e308, 1e308, 1})
	stable := 0
	for _, a := range polys {
		a1, s1 := slices.Clone(a), make([]float64, len(a))
		a2, s2 := slices.Clone(a), make([]float64, len(a))
		got, want := schurStable(a1, s1), schurStableGo(a2, s2)
		if got != want || !sameBits(a1, a2) || !sameBits(s1, s2) {
			t.Fatalf("schurStable(%v) = %v, schurStableGo %v (buffers the same: %v, %v)", a, got, want, sameBits(a1, a2), sameBits(s1, s2))
		}
		if got {
			stable++
		}
	}
	if stable < len(polys)/10 || stable > len(polys)*9/10 {
		t.Fatalf("%d of %d polynomials stable: the cases do not exercise both answers", stable, len(polys))
	}
}

func sameBits(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
}
