#include "textflag.h"

// func schurStable(a, scratch []float64) bool
//
// schurStableGo with each pair of new coefficients that take the same two
// old ones, out[k] and out[d−2−k], computed in the two lanes of one SSE2
// register: the same products, differences and quotients of the same
// operands (IEEE, no fused multiply-add), so the same coefficients at
// every degree and the same answer, with one division instruction for
// the two.
TEXT ·schurStable(SB), NOSPLIT, $0-49
	MOVQ a_base+0(FP), SI          // c: the current degree's coefficients
	MOVQ a_len+8(FP), DX
	MOVQ scratch_base+24(FP), DI   // out: the next degree's
	DECQ DX                        // d
	MOVQ $0x7FFFFFFFFFFFFFFF, AX
	MOVQ AX, X13                   // |x| mask
	MOVQ $0x7FF0000000000000, AX
	MOVQ AX, X12                   // +Inf
	MOVQ $0x3FF0000000000000, AX
	MOVQ AX, X11                   // 1
	XORPD X10, X10                 // 0

degree:
	CMPQ DX, $0
	JLE stable
	MOVSD (SI), X0                 // a0 = c[0]
	MOVSD (SI)(DX*8), X1           // ad = c[d]
	MOVAPD X0, X2
	ANDPD X13, X2
	MOVAPD X1, X3
	ANDPD X13, X3
	UCOMISD X2, X3                 // |ad| against |a0|
	JLS unstable                   // !(|a0| < |ad|), NaN included
	CMPQ DX, $1
	JEQ stable

	// lead = ad·c[d] − a0·c[0]
	MOVAPD X1, X8
	MULSD X1, X8
	MOVAPD X0, X9
	MULSD X0, X9
	SUBSD X9, X8
	MOVAPD X8, X9
	ANDPD X13, X9
	UCOMISD X10, X9
	JLS unstable                   // lead = 0 or NaN
	UCOMISD X9, X12
	JLS unstable                   // lead infinite
	UNPCKLPD X8, X8
	UNPCKLPD X0, X0
	UNPCKLPD X1, X1

	// out[k], out[j] = (ad·c[k+1] − a0·c[j+1], ad·c[j+1] − a0·c[k+1]) / lead,
	// k = 0, 1, … and j = d−2, d−3, … while k < j
	XORQ CX, CX
	LEAQ -2(DX), BX
pair:
	CMPQ CX, BX
	JGE middle
	MOVSD 8(SI)(CX*8), X4
	MOVHPD 8(SI)(BX*8), X4         // u, v
	MOVAPD X4, X5
	SHUFPD $1, X5, X5              // v, u
	MULPD X1, X4
	MULPD X0, X5
	SUBPD X5, X4
	DIVPD X8, X4
	MOVLPD X4, (DI)(CX*8)
	MOVHPD X4, (DI)(BX*8)
	INCQ CX
	DECQ BX
	JMP pair
middle:
	JNE next                       // k > j: no middle coefficient
	MOVSD 8(SI)(CX*8), X4
	MOVAPD X4, X5
	MULSD X1, X4
	MULSD X0, X5
	SUBSD X5, X4
	DIVSD X8, X4
	MOVSD X4, (DI)(CX*8)
next:
	MOVSD X11, -8(DI)(DX*8)        // out[d−1] = 1
	DECQ DX
	XCHGQ SI, DI
	JMP degree

stable:
	MOVB $1, ret+48(FP)
	RET
unstable:
	MOVB $0, ret+48(FP)
	RET
