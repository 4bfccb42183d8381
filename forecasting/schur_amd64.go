package forecasting

// schurStable reports whether every root of Σ a_k z^k lies strictly
// inside the unit circle: schurStableGo with each pair of new
// coefficients computed in the two lanes of an SSE2 register (the same
// operations on the same operands, one division instruction for two
// quotients; schur_amd64.s). a and scratch (same length) are
// overwritten.
//
//go:noescape
func schurStable(a, scratch []float64) bool
