package reconcile

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"gonum.org/v1/gonum/mat"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/targets_golden.json.gz from the current ReconcileTargets")

// goldenFile holds ReconcileTargets' answers to goldenProblems as the
// dense implementation (an incremental Cholesky of the whole targets ×
// targets matrix, in input order; commit 93dc26a) gave them, so that the
// sparse factorisation that replaced it is held to the same results.
const goldenFile = "testdata/targets_golden.json.gz"

type goldenAnswer struct {
	Name       string
	Reconciled []float64 // cell-major, nil on error
	Reconc     []float64 // per target: Reconciled
	StdDev     []float64
	Prob       []float64
	Conflicts  []Conflict
	Err        string // a non-conflict error
}

// goldenProblems builds seeded random problems over a grouped structure
// (regions 2×3 leaves × products 3 leaves × 2 segments, 36 cells, 8
// periods): targets at random nodes over months, quarters and the year;
// some repeated as the sum of their children (consistent dependence), some
// of those perturbed (inconsistent), some soft, with closed periods,
// without variances, with a low-rank factor, or non-negative.
func goldenProblems(tb testing.TB) []struct {
	name string
	p    TargetProblem
} {
	s := mustStructure(tb, treeDimension("R", []int{2, 3}), treeDimension("P", []int{3}), treeDimension("S", []int{2}))
	m, P := s.NumCells(), 8
	spans := [][2]int{{0, 7}, {0, 3}, {4, 7}, {0, 1}, {2, 3}, {4, 5}, {6, 7}, {2, 2}, {5, 5}, {7, 7}}
	var out []struct {
		name string
		p    TargetProblem
	}
	for seed := uint64(1); seed <= 48; seed++ {
		rng := rand.New(rand.NewPCG(seed, 12))
		variant := seed % 8
		fc, v, act, truth := mat.NewDense(m, P, nil), mat.NewDense(m, P, nil), mat.NewDense(m, P, nil), mat.NewDense(m, P, nil)
		for j := 0; j < m; j++ {
			lvl := 5 + 20*rng.Float64()
			if variant == 6 && rng.IntN(4) == 0 {
				lvl = 0.3
			}
			for q := 0; q < P; q++ {
				f := lvl * (1 + 0.2*rng.NormFloat64())
				fc.Set(j, q, f)
				v.Set(j, q, 0.05*f*f+0.1)
				truth.Set(j, q, math.Abs(f*(1+0.1*rng.NormFloat64())))
				act.Set(j, q, truth.At(j, q))
			}
		}
		p := TargetProblem{Structure: s, Forecast: fc, Variance: v}
		if variant == 2 || variant == 5 {
			p.Closed, p.Actual = 2+int(seed%3), act
		}
		if variant == 3 {
			p.Variance = nil
		}
		if variant == 4 {
			p.Factor = mat.NewDense(m*(P-p.Closed), 2, nil)
			for i := 0; i < m*(P-p.Closed); i++ {
				p.Factor.Set(i, 0, rng.NormFloat64())
				p.Factor.Set(i, 1, 0.5*rng.NormFloat64())
			}
		}
		if variant == 5 || variant == 6 || variant == 7 {
			p.NonNegative = true
		}
		if variant == 6 {
			for j := 0; j < m; j++ {
				for q := 0; q < P; q++ {
					truth.Set(j, q, 0.6*fc.At(j, q))
					v.Set(j, q, 1)
				}
			}
		}
		value := func(i int, sp [2]int) float64 {
			var val float64
			for _, j := range s.NodeCells(i) {
				for q := sp[0]; q <= sp[1]; q++ {
					val += truth.At(j, q)
				}
			}
			return val
		}
		seen := map[string]bool{}
		add := func(i int, sp [2]int, val, w float64) {
			id := fmt.Sprintf("n%d@%d..%d", i, sp[0], sp[1])
			if seen[id] {
				return
			}
			seen[id] = true
			p.Targets = append(p.Targets, Target{ID: id, Node: s.Node(i), From: sp[0], To: sp[1], Value: val, Weight: w})
		}
		nt := 5 + rng.IntN(25)
		for len(p.Targets) < nt {
			i := rng.IntN(s.NumNodes())
			sp := spans[rng.IntN(len(spans))]
			w := 0.0
			if variant != 5 && variant != 6 && rng.IntN(6) == 0 {
				w = 0.01 + rng.Float64()
			}
			add(i, sp, value(i, sp), w)
			if rng.IntN(3) == 0 && i < s.NumAggregates() {
				// Its children along one dimension: dependent on it.
				for _, c := range s.splitChildren(i) {
					val := value(c, sp)
					if rng.IntN(4) == 0 {
						val *= 1.05 // inconsistent
					}
					add(c, sp, val, 0)
				}
			}
		}
		out = append(out, struct {
			name string
			p    TargetProblem
		}{fmt.Sprintf("seed%d-variant%d", seed, variant), p})
	}
	return out
}

func goldenOf(name string, sol *TargetSolution, err error) goldenAnswer {
	a := goldenAnswer{Name: name}
	var ce *ConflictError
	switch {
	case errors.As(err, &ce):
		a.Conflicts = ce.Conflicts
		return a
	case err != nil:
		a.Err = err.Error()
		return a
	}
	a.Reconciled = slices.Clone(sol.Reconciled.RawMatrix().Data)
	for _, o := range sol.Targets {
		a.Reconc = append(a.Reconc, o.Reconciled)
		a.StdDev = append(a.StdDev, o.StdDev)
		a.Prob = append(a.Prob, o.Probability)
	}
	return a
}

// TestReconcileTargetsGolden holds ReconcileTargets to the answers of the
// dense implementation it replaced (goldenFile): the same conflicts, naming
// the same targets, and the same plan to 1e-9 relative.
func TestReconcileTargetsGolden(t *testing.T) {
	probs := goldenProblems(t)
	got := make([]goldenAnswer, len(probs))
	for k, c := range probs {
		sol, err := ReconcileTargets(c.p)
		got[k] = goldenOf(c.name, sol, err)
	}
	if *updateGolden {
		f, err := os.Create(goldenFile)
		if err != nil {
			t.Fatal(err)
		}
		z := gzip.NewWriter(f)
		enc := json.NewEncoder(z)
		for _, a := range got {
			if err := enc.Encode(jsonSafe(a)); err != nil {
				t.Fatal(err)
			}
		}
		if err := z.Close(); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	want := readGolden(t)
	if len(want) != len(got) {
		t.Fatalf("%d golden answers, want %d", len(want), len(got))
	}
	var conflicts, solved int
	for k, w := range want {
		g := jsonSafe(got[k])
		t.Run(w.Name, func(t *testing.T) {
			if g.Err != w.Err {
				t.Fatalf("error = %q, want %q", g.Err, w.Err)
			}
			if len(g.Conflicts) != len(w.Conflicts) {
				t.Fatalf("conflicts = %v, want %v", g.Conflicts, w.Conflicts)
			}
			for c := range w.Conflicts {
				if !slices.Equal(g.Conflicts[c].Targets, w.Conflicts[c].Targets) || !sameReason(g.Conflicts[c].Reason, w.Conflicts[c].Reason) {
					t.Errorf("conflict %d = %v, want %v", c, g.Conflicts[c], w.Conflicts[c])
				}
			}
			closeAll := func(what string, g, w []float64) {
				if len(g) != len(w) {
					t.Fatalf("%s: %d values, want %d", what, len(g), len(w))
				}
				for i := range w {
					if math.IsNaN(w[i]) != math.IsNaN(g[i]) || math.Abs(g[i]-w[i]) > 1e-9*(1+math.Abs(w[i])) {
						t.Errorf("%s[%d] = %.15g, want %.15g", what, i, g[i], w[i])
					}
				}
			}
			closeAll("reconciled", g.Reconciled, w.Reconciled)
			closeAll("target reconciled", g.Reconc, w.Reconc)
			closeAll("target sd", g.StdDev, w.StdDev)
			closeAll("probability", g.Prob, w.Prob)
		})
		if len(w.Conflicts) > 0 {
			conflicts++
		} else if w.Err == "" {
			solved++
		}
	}
	// The problems must exercise both outcomes.
	if conflicts < 5 || solved < 5 {
		t.Errorf("%d conflicting and %d solved golden problems, want at least 5 of each", conflicts, solved)
	}
}

var number = regexp.MustCompile(`-?[0-9][0-9.e+-]*`)

// sameReason compares two conflict reasons: the same words, and the same
// numbers to 1e-9 relative (the dependence is computed in another order).
func sameReason(got, want string) bool {
	if number.ReplaceAllString(got, "#") != number.ReplaceAllString(want, "#") {
		return false
	}
	g, w := number.FindAllString(got, -1), number.FindAllString(want, -1)
	for i := range w {
		x, errX := strconv.ParseFloat(g[i], 64)
		y, errY := strconv.ParseFloat(w[i], 64)
		if errX != nil || errY != nil || math.Abs(x-y) > 1e-9*(1+math.Abs(y)) {
			return false
		}
	}
	return true
}

// jsonSafe replaces NaN (which JSON cannot hold) by a sentinel.
func jsonSafe(a goldenAnswer) goldenAnswer {
	fix := func(v []float64) []float64 {
		out := slices.Clone(v)
		for i, x := range out {
			if math.IsNaN(x) {
				out[i] = -1e300
			}
		}
		return out
	}
	a.Reconciled, a.Reconc, a.StdDev, a.Prob = fix(a.Reconciled), fix(a.Reconc), fix(a.StdDev), fix(a.Prob)
	return a
}

// openGzip opens a gzipped test file for reading; it is closed when the
// test ends.
func openGzip(tb testing.TB, path string) io.Reader {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	z, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	return z
}

func readGolden(t *testing.T) []goldenAnswer {
	t.Helper()
	dec := json.NewDecoder(openGzip(t, goldenFile))
	var out []goldenAnswer
	for dec.More() {
		var a goldenAnswer
		if err := dec.Decode(&a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}
