package forecasting

// mulSeasonState is what etsMulSeasonSteps reads and leaves: the
// parameters, the linear-form coefficients, the level and growth, the
// sums, the next observation's index and the ring position. The assembly
// reads it at fixed offsets (TestMulSeasonStateLayout).
type mulSeasonState struct {
	alpha, beta, gamma, phi float64
	A, B, C                 float64
	l, b                    float64
	sse, prod               float64
	i, p                    int
	trend                   bool
}

// etsMulSeasonSteps runs etsLoopMulSeasonGo's steps for multiplicative
// error from s.i on, until the last observation or until s.prod leaves
// [1e-150, 1e150] (etsloop_amd64.s). The same operations on the same
// operands, except that y/q and (y − ŷ)/ŷ go in the two lanes of one
// division instruction: the loop is bound by its three divisions a step.
//
//go:noescape
func etsMulSeasonSteps(y, ring []float64, s *mulSeasonState)

// etsLoopMulSeason is etsLik's loop for multiplicative seasonality:
// etsLoopMulSeasonGo, whose steps for multiplicative error (every
// candidate model with multiplicative seasonality) etsMulSeasonSteps
// takes, with the product of |ŷ| rescaled here as the Go loop does.
func etsLoopMulSeason(y []float64, et int, trend bool, m int, alpha, beta, gamma, phi, A, B, C, l, b float64, ring []float64) (sse, prod float64, exp2 int) {
	if et != compM {
		return etsLoopMulSeasonGo(y, et, trend, m, alpha, beta, gamma, phi, A, B, C, l, b, ring)
	}
	s := mulSeasonState{alpha: alpha, beta: beta, gamma: gamma, phi: phi, A: A, B: B, C: C, l: l, b: b, prod: 1, trend: trend}
	ring = ring[:m]
	for s.i < len(y) {
		etsMulSeasonSteps(y, ring, &s)
		if s.prod > 1e150 || s.prod < 1e-150 {
			var e int
			s.prod, e = frexp(s.prod)
			exp2 += e
		}
	}
	return s.sse, s.prod, exp2
}
