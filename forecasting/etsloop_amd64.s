#include "textflag.h"

// Offsets in mulSeasonState.
#define ALPHA 0
#define BETA 8
#define GAMMA 16
#define PHI 24
#define COEFA 32
#define COEFB 40
#define COEFC 48
#define LEVEL 56
#define GROWTH 64
#define SSE 72
#define PROD 80
#define STEP 88
#define POS 96
#define TREND 104

// func etsMulSeasonSteps(y, ring []float64, s *mulSeasonState)
//
// etsLoopMulSeasonGo's steps for multiplicative error from step s.i on,
// until the last observation or until the product of |ŷ| leaves
// [1e-150, 1e150] (the caller rescales it and calls again). The same
// operations on the same operands in IEEE double precision (no fused
// multiply-add), except that y/q and (y − ŷ)/ŷ, which a step needs at
// the same time, are the two lanes of one DIVPD.
TEXT ·etsMulSeasonSteps(SB), NOSPLIT, $0-56
	MOVQ y_base+0(FP), SI
	MOVQ y_len+8(FP), R9
	MOVQ ring_base+24(FP), DI
	MOVQ ring_len+32(FP), R10
	MOVQ s+48(FP), R8
	MOVQ STEP(R8), CX
	MOVQ POS(R8), DX
	MOVBQZX TREND(R8), R11
	MOVSD LEVEL(R8), X7
	MOVSD GROWTH(R8), X8
	MOVSD SSE(R8), X9
	MOVSD PROD(R8), X10
	MOVQ $0x3ddb7cdfd9d7bdbb, AX
	MOVQ AX, X11                  // etsTol
	MOVQ $0x4202a05f20000000, AX
	MOVQ AX, X12                  // etsHuge
	MOVQ $0x7FFFFFFFFFFFFFFF, AX
	MOVQ AX, X13                  // |x| mask

step:
	CMPQ CX, R9
	JGE done
	MOVSD (SI)(CX*8), X0          // y
	MOVAPD X7, X1                 // q = l
	TESTQ R11, R11
	JZ level
	MOVSD PHI(R8), X14
	MULSD X8, X14
	ADDSD X14, X1                 // q = l + φb
level:
	MOVSD (DI)(DX*8), X2          // so = ring[p]
	MOVAPD X1, X3
	MULSD X2, X3                  // ŷ = q·so
	MOVAPD X0, X4
	SUBSD X3, X4                  // y − ŷ
	MOVAPD X0, X5
	UNPCKLPD X4, X5               // y, y − ŷ
	MOVAPD X1, X6
	UNPCKLPD X3, X6               // q, ŷ
	DIVPD X6, X5                  // y/q, (y − ŷ)/ŷ

	// ring[p] = so + γ(t − so), t = y/q unless |q| < etsTol
	MOVAPD X5, X4
	MOVAPD X1, X14
	ANDPD X13, X14
	UCOMISD X14, X11
	JLS tdone                     // etsTol ≤ |q| or NaN: t = y/q
	MOVAPD X12, X4
tdone:
	SUBSD X2, X4
	MULSD GAMMA(R8), X4
	ADDSD X2, X4
	MOVSD X4, (DI)(DX*8)
	INCQ DX
	CMPQ DX, R10
	JNE ppstart
	XORQ DX, DX

ppstart:
	// pp = y/so unless |so| < etsTol
	MOVAPD X2, X14
	ANDPD X13, X14
	UCOMISD X14, X11
	JHI pphuge
	MOVAPD X0, X6
	DIVSD X2, X6
	JMP ppdone
pphuge:
	MOVAPD X12, X6
ppdone:
	TESTQ R11, R11
	JZ notrend
	MOVSD ALPHA(R8), X4
	MULSD X6, X4                  // α·pp
	MOVSD COEFB(R8), X14
	MULSD X8, X14                 // B·b
	ADDSD X4, X14                 // B·b + α·pp
	MOVSD COEFA(R8), X4
	MULSD X7, X4                  // A·ℓ
	ADDSD X14, X4                 // ℓ' = A·ℓ + (B·b + α·pp)
	MOVSD COEFC(R8), X14
	MULSD X8, X14                 // C·b
	MOVSD BETA(R8), X8
	MULSD X6, X8                  // β·pp
	ADDSD X8, X14                 // C·b + β·pp
	MOVSD BETA(R8), X8
	MULSD X7, X8                  // β·ℓ
	SUBSD X8, X14                 // b' = (C·b + β·pp) − β·ℓ
	MOVAPD X14, X8
	MOVAPD X4, X7
	JMP errors
notrend:
	MOVSD ALPHA(R8), X4
	MULSD X6, X4                  // α·pp
	MOVSD COEFA(R8), X14
	MULSD X7, X14                 // A·ℓ
	ADDSD X4, X14
	MOVAPD X14, X7                // ℓ' = A·ℓ + α·pp

errors:
	UNPCKHPD X5, X5               // e = (y − ŷ)/ŷ
	MULSD X5, X5
	ADDSD X5, X9                  // sse += e²
	ANDPD X13, X3
	MULSD X3, X10                 // prod *= |ŷ|
	INCQ CX
	MOVQ $0x5f138d352e5096af, AX
	MOVQ AX, X14
	UCOMISD X14, X10
	JHI done                      // prod > 1e150
	MOVQ $0x20ca2fe76a3f9475, AX
	MOVQ AX, X14
	UCOMISD X10, X14
	JHI done                      // prod < 1e-150
	JMP step

done:
	MOVQ CX, STEP(R8)
	MOVQ DX, POS(R8)
	MOVSD X7, LEVEL(R8)
	MOVSD X8, GROWTH(R8)
	MOVSD X9, SSE(R8)
	MOVSD X10, PROD(R8)
	RET
