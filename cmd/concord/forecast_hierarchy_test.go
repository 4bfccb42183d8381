package main

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// sharedTourism returns ../shared/data/tourism/tourism_quarterly_trips.csv
// relative to the module root (or under $CONCORD_SHARED_DATA), skipping the
// test when it is absent.
func sharedTourism(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CONCORD_SHARED_DATA")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(wd, "..", "..", "..", "shared", "data") // cmd/concord → module root → ..
	}
	p := filepath.Join(dir, "tourism", "tourism_quarterly_trips.csv")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("tourism data not found (set CONCORD_SHARED_DATA): %v", err)
	}
	return p
}

func readCSVFile(t *testing.T, path string) (map[string]int, [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	return col, recs[1:]
}

// TestForecastStructureTourismMinT is the pipeline of issue 17 through the
// CLI only: the tourism bottom-level file as published (304 cells, region ×
// purpose, 1998 Q1 – 2017 Q4) and a structure file (State > Region,
// Purpose) go into `concord forecast --structure --end 2015-Q4 --method
// ets --residuals-out`, which forecasts all 425 nodes; `concord reconcile
// -method mint-shrink` (and ols) reads its two outputs unchanged. The RMSE
// on 2016 Q1 – 2017 Q4 is compared with Forecasting: Principles and
// Practice (3rd ed.) §11.4, whose base forecasts are fable's ETS (ours are
// Concord's own ETS).
//
// Observed: base Total 1720.72 (book 1720.72), Bottom 19.371 (19.38); MinT
// 2155.09 (2157.29), 17.967 (17.97); OLS 1803.55 (1803.52), 18.320 (18.32):
// at most 0.10% off, from a few bottom series where the ETS chosen differs
// from fable's. Tolerance 0.5% relative per figure, and the bottom-level
// improvement of MinT over the base within 0.5 percentage points of the
// book's 7.28% — the methods differ from each other by ≥ 5%, so a wrong
// method or wrong residuals fail.
func TestForecastStructureTourismMinT(t *testing.T) {
	if testing.Short() {
		t.Skip("forecasts 425 series (a few seconds)")
	}
	data := sharedTourism(t)
	dir := t.TempDir()
	// The structure file: the analyst's hierarchy, written from the state
	// and region columns of the data.
	col, rows := readCSVFile(t, data)
	var b strings.Builder
	b.WriteString("dimension,member,parent\n")
	seen := map[string]bool{}
	stateOf := map[string]string{}
	for _, r := range rows {
		st, rg, pu := r[col["state"]], r[col["region"]], r[col["purpose"]]
		for _, m := range [][3]string{{"region", st, ""}, {"region", rg, st}, {"purpose", pu, ""}} {
			if k := strings.Join(m[:], "\x00"); !seen[k] {
				seen[k] = true
				w := csv.NewWriter(&b)
				_ = w.Write(m[:])
				w.Flush()
			}
		}
		stateOf[rg] = st
	}
	structure := filepath.Join(dir, "structure.csv")
	if err := os.WriteFile(structure, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	fc, res := filepath.Join(dir, "forecasts.csv"), filepath.Join(dir, "residuals.csv")
	_, stderr, err := runForecast(t, "--structure", structure, "--in", data, "--period-column", "quarter", "--value-column", "trips",
		"--end", "2015-Q4", "--horizon", "8", "--frequency", "Q", "--method", "ets", "--out", fc, "--residuals-out", res)
	if err != nil {
		t.Fatalf("forecast: %v\n%s", err, stderr)
	}
	fcol, frows := readCSVFile(t, fc)
	if len(frows) != 425*8 {
		t.Fatalf("%d forecast rows, want 425 nodes × 8 quarters", len(frows))
	}
	for _, c := range []string{"region", "purpose", "period", "statistical", "variance"} {
		if _, ok := fcol[c]; !ok {
			t.Fatalf("forecasts lack column %q", c)
		}
	}
	rcol, rrows := readCSVFile(t, res)
	if len(rrows) != 425*72 {
		t.Fatalf("%d residual rows, want 425 nodes × 72 quarters", len(rrows))
	}
	if _, ok := rcol["residual"]; !ok {
		t.Fatal("residuals lack column residual")
	}

	// Actuals of the test quarters, summed to every node.
	actual := map[string]float64{}
	for _, r := range rows {
		q := r[col["quarter"]]
		if q < "2016-Q1" {
			continue
		}
		v, err := strconv.ParseFloat(r[col["trips"]], 64)
		if err != nil {
			t.Fatal(err)
		}
		rg, pu := r[col["region"]], r[col["purpose"]]
		for _, g := range []string{rg, stateOf[rg], "Total"} {
			for _, p := range []string{pu, "Total"} {
				actual[g+"\x00"+p+"\x00"+q] += v
			}
		}
	}
	// rmse returns the RMSE of the Total and the mean RMSE of the 304 cells.
	rmse := func(path, column string) (total, bottom float64) {
		c, rs := readCSVFile(t, path)
		sq := map[string]float64{}
		for _, r := range rs {
			node := r[c["region"]] + "\x00" + r[c["purpose"]]
			a, ok := actual[node+"\x00"+r[c["period"]]]
			if !ok {
				t.Fatalf("%s: no actual for %v", path, r)
			}
			v, err := strconv.ParseFloat(r[c[column]], 64)
			if err != nil {
				t.Fatal(err)
			}
			sq[node] += (v - a) * (v - a)
		}
		n := 0
		for node, s := range sq {
			rg, pu, _ := strings.Cut(node, "\x00")
			if _, isRegion := stateOf[rg]; isRegion && pu != "Total" {
				bottom += math.Sqrt(s / 8)
				n++
			}
		}
		if n != 304 {
			t.Fatalf("%s: %d cells, want 304", path, n)
		}
		return math.Sqrt(sq["Total\x00Total"] / 8), bottom / float64(n)
	}
	reconciled := func(method string) string {
		out := filepath.Join(dir, method+".csv")
		var o, e strings.Builder
		env := &environment{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &o, stderr: &e}
		if err := run(t.Context(), env, []string{"reconcile", "-structure", structure, "-forecasts", fc, "-residuals", res, "-method", method, "-out", out}); err != nil {
			t.Fatalf("reconcile -method %s: %v\n%s", method, err, e.String())
		}
		return out
	}
	mint := reconciled("mint-shrink")
	baseTotal, baseBottom := rmse(fc, "statistical")
	mintTotal, mintBottom := rmse(mint, "reconciled")
	olsTotal, olsBottom := rmse(reconciled("ols"), "reconciled")
	for _, c := range []struct {
		name      string
		got, book float64
	}{
		{"base Total", baseTotal, 1720.72}, {"base Bottom", baseBottom, 19.38},
		{"MinT Total", mintTotal, 2157.29}, {"MinT Bottom", mintBottom, 17.97},
		{"OLS Total", olsTotal, 1803.52}, {"OLS Bottom", olsBottom, 18.32},
	} {
		t.Logf("%-12s RMSE %9.3f (book %.2f, %+.3f%%)", c.name, c.got, c.book, 100*(c.got/c.book-1))
		if math.Abs(c.got/c.book-1) > 0.005 {
			t.Errorf("%s RMSE = %.3f, want the book's %.2f ± 0.5%%", c.name, c.got, c.book)
		}
	}
	gain, bookGain := 100*(1-mintBottom/baseBottom), 100*(1-17.97/19.38)
	t.Logf("MinT improves the bottom level by %.2f%% (book %.2f%%)", gain, bookGain)
	if math.Abs(gain-bookGain) > 0.5 {
		t.Errorf("MinT improves the bottom-level RMSE by %.2f%%, want the book's %.2f%% ± 0.5 points", gain, bookGain)
	}
}
