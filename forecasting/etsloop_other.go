//go:build !amd64

package forecasting

// etsLoopMulSeason is etsLik's loop for multiplicative seasonality; see
// etsLoopMulSeasonGo.
func etsLoopMulSeason(y []float64, et int, trend bool, m int, alpha, beta, gamma, phi, A, B, C, l, b float64, ring []float64) (sse, prod float64, exp2 int) {
	return etsLoopMulSeasonGo(y, et, trend, m, alpha, beta, gamma, phi, A, B, C, l, b, ring)
}
