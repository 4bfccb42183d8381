//go:build !amd64

package forecasting

// schurStable reports whether every root of Σ a_k z^k lies strictly
// inside the unit circle; see schurStableGo. a and scratch (same length)
// are overwritten.
func schurStable(a, scratch []float64) bool {
	return schurStableGo(a, scratch)
}
