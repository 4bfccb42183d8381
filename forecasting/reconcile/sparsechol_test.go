package reconcile

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestSparseCholesky factorises A = B Bᵀ for random sparse 0/1 matrices B
// (rows = scopes over 40 variables, some rows sums of others) row by row
// and checks it against gonum: the rows it skips are exactly those in the
// span of the rows before them (rank of the prefix unchanged), combination
// gives that row as a combination of the kept ones, and solve matches a
// dense solve on the kept rows.
func TestSparseCholesky(t *testing.T) {
	for _, tc := range []struct {
		name          string
		seed          uint64
		rows, density int
	}{{"sparse", 1, 30, 4}, {"dense", 2, 25, 20}, {"many dependent", 3, 60, 6}} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(tc.seed, 7))
			const nv = 40
			var b [][]float64
			for len(b) < tc.rows {
				row := make([]float64, nv)
				if len(b) > 2 && rng.IntN(3) == 0 {
					// The sum of two earlier rows, or a copy.
					x, y := b[rng.IntN(len(b))], b[rng.IntN(len(b))]
					for v := range row {
						row[v] = x[v] + y[v]
					}
				} else {
					for range tc.density {
						row[rng.IntN(nv)] = 1
					}
				}
				b = append(b, row)
			}
			gram := func(i, j int) float64 {
				var s float64
				for v := range nv {
					s += b[i][v] * b[j][v]
				}
				return s
			}
			ch := newSparseCholesky(0)
			var kept []int
			for i := range b {
				var es []entry
				for p, j := range kept {
					if g := gram(i, j); g != 0 {
						es = append(es, entry{int32(p), g})
					}
				}
				pat, added := ch.add(es, gram(i, i), 1e-10*gram(i, i))
				wantAdded := rank(b[:i+1]) > rank(b[:i])
				if added != wantAdded {
					t.Fatalf("row %d added = %v, want %v", i, added, wantAdded)
				}
				if added {
					kept = append(kept, i)
					continue
				}
				sup := ch.combination(pat)
				for v := range nv {
					var s float64
					for _, p := range sup {
						s += ch.x[p] * b[kept[p]][v]
					}
					if math.Abs(s-b[i][v]) > 1e-9 {
						t.Fatalf("row %d variable %d: combination gives %v, want %v", i, v, s, b[i][v])
					}
				}
			}
			n := len(kept)
			a := mat.NewSymDense(n, nil)
			rhs := make([]float64, n)
			for p, i := range kept {
				rhs[p] = float64(p%5) - 2
				for q, j := range kept {
					a.SetSym(p, q, gram(i, j))
				}
			}
			var want mat.VecDense
			if err := want.SolveVec(a, mat.NewVecDense(n, rhs)); err != nil {
				t.Fatal(err)
			}
			got := append([]float64(nil), rhs...)
			ch.solve(got)
			for p := range n {
				if math.Abs(got[p]-want.AtVec(p)) > 1e-8*(1+math.Abs(want.AtVec(p))) {
					t.Errorf("solve()[%d] = %v, want %v", p, got[p], want.AtVec(p))
				}
			}
		})
	}
}

// rank returns the numerical rank of the rows of b (SVD, relative 1e-10).
func rank(b [][]float64) int {
	if len(b) == 0 {
		return 0
	}
	m := mat.NewDense(len(b), len(b[0]), nil)
	for i, r := range b {
		m.SetRow(i, r)
	}
	var svd mat.SVD
	if !svd.Factorize(m, mat.SVDNone) {
		panic("svd failed")
	}
	vals := svd.Values(nil)
	n := 0
	for _, s := range vals {
		if s > 1e-10*vals[0] {
			n++
		}
	}
	return n
}
