package forecasting

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// monthlySized returns count seeded series of M3 monthly size (n
// observations, period 12): a positive level with a random trend, additive
// or multiplicative seasonality of random strength and Gaussian noise —
// the shapes automatic ETS meets on monthly business data.
func monthlySized(count, n int, seed uint64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 0x4d4f4e))
	out := make([][]float64, count)
	for s := range out {
		level := 1000 + 4000*rng.Float64()
		trend := level * 0.01 * (rng.Float64() - 0.3)
		amp := 0.3 * rng.Float64()
		mult := rng.IntN(2) == 0
		noise := 0.02 + 0.1*rng.Float64()
		phase := rng.Float64() * 2 * math.Pi
		y := make([]float64, n)
		for t := range y {
			l := level + trend*float64(t)
			season := amp * math.Sin(2*math.Pi*float64(t)/12+phase)
			v := l + level*season
			if mult {
				v = l * (1 + season)
			}
			y[t] = math.Max(v*(1+noise*rng.NormFloat64()), 1)
		}
		out[s] = y
	}
	return out
}

// BenchmarkAutoETSMonthly times automatic ETS (every admissible model, AICc,
// as R's ets) on M3-monthly-sized series, n = 100 and period 12; ms/series
// is the figure the goal (≤ 10 ms on one core) is about:
//
//	GOMAXPROCS=1 taskset -c 0 go test ./forecasting -run '^$' -bench AutoETSMonthly -benchtime 3x
func BenchmarkAutoETSMonthly(b *testing.B) {
	series := monthlySized(100, 100, 17)
	b.Run(fmt.Sprintf("n=100/series=%d", len(series)), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, y := range series {
				if _, err := selectETS(y, 12, ETSSpec{}); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*len(series)), "ms/series")
	})
	// SelectICLog (concord forecast --method auto): the above, ETS on the
	// log scale and the backtest of both chosen forms.
	b.Run(fmt.Sprintf("ic-log/n=100/series=%d", len(series)), func(b *testing.B) {
		for b.Loop() {
			for _, y := range series {
				if _, err := Auto(y, 12, AutoOptions{Selection: SelectICLog}); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*len(series)), "ms/series")
	})
}
