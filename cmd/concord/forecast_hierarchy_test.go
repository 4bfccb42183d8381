package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
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

// smallHierarchy writes a structure (Region: EU > {DE, FR}, US; Product: A,
// B) and a history of n quarters for the cells given as region,product
// pairs; cell k's value in quarter q (from 0 = 2020-Q1) is histValue(k, q).
func histValue(k, q int) int { return 10*(k+1) + q + (7*k+3*q*q)%5 }

func smallHierarchy(t *testing.T, n int, cells ...[2]string) (dir, structure, history string) {
	t.Helper()
	dir = t.TempDir()
	structure = filepath.Join(dir, "structure.csv")
	history = filepath.Join(dir, "history.csv")
	const st = "dimension,member,parent\nRegion,EU,\nRegion,DE,EU\nRegion,FR,EU\nRegion,US,\nProduct,A,\nProduct,B,\n"
	if err := os.WriteFile(structure, []byte(st), 0o600); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("Region,Product,period,value,note\n")
	for k, c := range cells {
		for q := 0; q < n; q++ {
			b.WriteString(c[0] + "," + c[1] + "," + formatPeriod(kindQuarter, 2020*4+q) + "," + strconv.Itoa(histValue(k, q)) + ",x\n")
		}
	}
	if err := os.WriteFile(history, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, structure, history
}

// TestForecastStructureAggregates checks the sums, the node set, the total
// naming and the residual file on a small hierarchy with naive forecasts
// (forecast = last value, so every node's forecast is its history's last
// sum), and that reconcile reads both outputs with MinT.
func TestForecastStructureAggregates(t *testing.T) {
	cells := [][2]string{{"DE", "A"}, {"DE", "B"}, {"FR", "A"}, {"US", "B"}}
	dir, structure, history := smallHierarchy(t, 8, cells...)
	fc, res := filepath.Join(dir, "f.csv"), filepath.Join(dir, "r.csv")
	if _, stderr, err := runForecast(t, "--structure", structure, "--in", history, "--horizon", "2", "--frequency", "Q",
		"--method", "naive", "--out", fc, "--residuals-out", res); err != nil {
		t.Fatalf("forecast: %v\n%s", err, stderr)
	}
	col, rows := readCSVFile(t, fc)
	if got := strings.Join([]string{rows[0][0], rows[0][1]}, ","); got != "Total,Total" {
		t.Errorf("first node = %s, want the grand total written Total,Total", got)
	}
	for _, c := range []string{"Region", "Product", "h", "period", "model", "statistical", "variance", "lo80", "hi80", "lo95", "hi95"} {
		if _, ok := col[c]; !ok {
			t.Errorf("forecast header lacks %q", c)
		}
	}
	// Naive: the last quarter's (q = 7) sum.
	last := func(ks ...int) float64 {
		s := 0.0
		for _, k := range ks {
			s += float64(histValue(k, 7))
		}
		return s
	}
	want := map[string]float64{
		"Total,Total": last(0, 1, 2, 3), "EU,Total": last(0, 1, 2), "US,Total": last(3), "DE,Total": last(0, 1), "FR,Total": last(2),
		"Total,A": last(0, 2), "Total,B": last(1, 3), "EU,A": last(0, 2), "EU,B": last(1), "DE,A": last(0), "DE,B": last(1),
		"FR,A": last(2), "US,B": last(3),
	}
	got := map[string]int{}
	for _, r := range rows {
		node := r[col["Region"]] + "," + r[col["Product"]]
		w, ok := want[node]
		if !ok {
			t.Errorf("unexpected node %s", node)
			continue
		}
		got[node]++
		if v, _ := strconv.ParseFloat(r[col["statistical"]], 64); v != w {
			t.Errorf("node %s period %s: statistical = %v, want %v", node, r[col["period"]], v, w)
		}
		if v, err := strconv.ParseFloat(r[col["variance"]], 64); err != nil || !(v > 0) {
			t.Errorf("node %s: variance %q, want > 0", node, r[col["variance"]])
		}
		if p, h := r[col["period"]], r[col["h"]]; (h == "1") != (p == "2022-Q1") || (h == "2") != (p == "2022-Q2") {
			t.Errorf("node %s: h %s is period %s", node, h, p)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d nodes forecast, want %d", len(got), len(want))
	}
	// Naive has no residual at t = 1; every node has the other 7.
	rcol, rrows := readCSVFile(t, res)
	if len(rrows) != len(want)*7 {
		t.Errorf("%d residual rows, want %d", len(rrows), len(want)*7)
	}
	for _, r := range rrows {
		if r[rcol["t"]] == "1" {
			t.Errorf("residual at t = 1 for naive: %v", r)
		}
	}
	var out, errb strings.Builder
	env := &environment{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
	if err := run(t.Context(), env, []string{"reconcile", "-structure", structure, "-forecasts", fc, "-residuals", res, "-method", "mint-shrink"}); err != nil {
		t.Fatalf("reconcile: %v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "1 of 8 time points lack some node's residual") {
		t.Errorf("reconcile stderr lacks the note on the dropped time point:\n%s", errb.String())
	}
	// The naive forecasts are already coherent: MinT leaves them as they are.
	pc, prows := readCSVFile(t, writeTemp(t, dir, "plan.csv", out.String()))
	for _, r := range prows {
		b, _ := strconv.ParseFloat(r[pc["base"]], 64)
		c, _ := strconv.ParseFloat(r[pc["reconciled"]], 64)
		if math.Abs(b-c) > 1e-9*math.Abs(b) {
			t.Errorf("node %s,%s: reconciled %v, want the coherent base %v", r[0], r[1], c, b)
		}
	}
}

func writeTemp(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestForecastStructureErrors(t *testing.T) {
	forecast := func(structure, history string, extra ...string) error {
		t.Helper()
		_, _, err := runForecast(t, append([]string{"--structure", structure, "--in", history, "--horizon", "2", "--frequency", "Q", "--method", "naive"}, extra...)...)
		return err
	}
	t.Run("bad rows", func(t *testing.T) {
		dir, structure, _ := smallHierarchy(t, 4, [2]string{"DE", "A"})
		history := writeTemp(t, dir, "h.csv", "Region,Product,period,value\n"+
			"DE,A,2020-Q1,1\n"+
			"EU,A,2020-Q2,2\n"+ // not a leaf
			"XX,A,2020-Q3,3\n"+ // unknown
			"DE,A,2020-Q9,4\n"+ // bad period
			"DE,A,2020-Q4,many\n") // bad value
		err := forecast(structure, history)
		for _, want := range []string{
			`h.csv:3: field "Region" (value "EU"): not a leaf`,
			`h.csv:4: field "Region" (value "XX"): no such member`,
			`h.csv:5: field "period" (value "2020-Q9")`,
			`h.csv:6: field "value" (value "many"): not a finite number`,
		} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
	})
	t.Run("duplicate and gap", func(t *testing.T) {
		dir, structure, _ := smallHierarchy(t, 4, [2]string{"DE", "A"})
		history := writeTemp(t, dir, "h.csv", "Region,Product,period,value\nDE,A,2020-Q1,1\nDE,A,2020-Q1,2\nDE,A,2020-Q3,3\n")
		err := forecast(structure, history)
		for _, want := range []string{`h.csv:3: field "period" (value "2020-Q1"): duplicate period`, `h.csv:4: field "period" (value "2020-Q3"): gap`} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
	})
	t.Run("cells of different spans", func(t *testing.T) {
		dir, structure, _ := smallHierarchy(t, 4, [2]string{"DE", "A"})
		history := writeTemp(t, dir, "h.csv", "Region,Product,period,value\nDE,A,2020-Q1,1\nDE,A,2020-Q2,2\nUS,B,2020-Q2,3\n")
		err := forecast(structure, history)
		if err == nil || !strings.Contains(err.Error(), "cell US × B covers 2020-Q2 … 2020-Q2 (1 periods) but cell DE × A covers 2020-Q1 … 2020-Q2 (2 periods)") {
			t.Errorf("error = %v, want the two cells' spans", err)
		}
	})
	t.Run("missing columns", func(t *testing.T) {
		_, structure, history := smallHierarchy(t, 4, [2]string{"DE", "A"})
		err := forecast(structure, history, "--value-column", "sales")
		if err == nil || !strings.Contains(err.Error(), "missing columns sales") {
			t.Errorf("error = %v, want the missing value column named", err)
		}
	})
	t.Run("end before the history", func(t *testing.T) {
		_, structure, history := smallHierarchy(t, 4, [2]string{"DE", "A"})
		err := forecast(structure, history, "--end", "2019-Q4")
		if !errors.Is(err, errBadInput) || !strings.Contains(err.Error(), "starts later, at 2020-Q1") {
			t.Errorf("error = %v, want --end before the first period named", err)
		}
		err = forecast(structure, history, "--end", "2020-03")
		if !errors.Is(err, errBadInput) || !strings.Contains(err.Error(), "YYYY-MM but series") {
			t.Errorf("error = %v, want the format mismatch of --end named", err)
		}
	})
}

// TestForecastEnd checks that --end fits only the history up to it: the
// naive forecast is the value at --end and the first forecast period the
// one after it.
func TestForecastEnd(t *testing.T) {
	_, structure, history := smallHierarchy(t, 8, [2]string{"DE", "A"}, [2]string{"US", "B"})
	out, stderr, err := runForecast(t, "--structure", structure, "--in", history, "--horizon", "1", "--frequency", "Q", "--method", "naive", "--end", "2020-Q3")
	if err != nil {
		t.Fatalf("forecast: %v\n%s", err, stderr)
	}
	// 2020-Q3 is q = 2.
	de, us := histValue(0, 2), histValue(1, 2)
	for _, want := range []string{fmt.Sprintf("Total,Total,1,2020-Q4,Naive,%d,", de+us), fmt.Sprintf("DE,A,1,2020-Q4,Naive,%d,", de), fmt.Sprintf("US,B,1,2020-Q4,Naive,%d,", us)} {
		if !strings.Contains(out, "\n"+want) {
			t.Errorf("output lacks a row starting %q:\n%s", want, out)
		}
	}
	// Plain mode as well.
	out, stderr, err = runForecast(t, "--in", "testdata/series.csv", "--horizon", "1", "--frequency", "Q", "--method", "naive", "--end", "2021-Q4")
	if err != nil {
		t.Fatalf("forecast: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, ",1,2022-Q1,") || strings.Contains(out, ",2023-Q1,") {
		t.Errorf("plain forecast with --end 2021-Q4 does not start at 2022-Q1:\n%s", out)
	}
}

// TestReconcileResidualsChecked: a node without residuals and a residual
// given twice are errors naming the node; nothing is written.
func TestReconcileResidualsChecked(t *testing.T) {
	dir, structure, history := smallHierarchy(t, 8, [2]string{"DE", "A"}, [2]string{"FR", "A"}, [2]string{"US", "B"})
	fc, res := filepath.Join(dir, "f.csv"), filepath.Join(dir, "r.csv")
	if _, stderr, err := runForecast(t, "--structure", structure, "--in", history, "--horizon", "2", "--frequency", "Q",
		"--method", "mean", "--out", fc, "--residuals-out", res); err != nil {
		t.Fatalf("forecast: %v\n%s", err, stderr)
	}
	b, err := os.ReadFile(res)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	var noFR, dup strings.Builder
	for i, l := range lines {
		if !strings.HasPrefix(l, "FR,Total,") {
			noFR.WriteString(l)
		}
		dup.WriteString(l)
		if i == 3 {
			dup.WriteString(l)
		}
	}
	for _, c := range []struct{ content, want string }{
		{noFR.String(), "no residual for node FR × Total"},
		{dup.String(), "residual for node Total × Total at t = 3 given twice"},
	} {
		p := writeTemp(t, dir, "bad.csv", c.content)
		out := filepath.Join(dir, "plan.csv")
		var o, e strings.Builder
		env := &environment{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &o, stderr: &e}
		err := run(t.Context(), env, []string{"reconcile", "-structure", structure, "-forecasts", fc, "-residuals", p, "-method", "mint-shrink", "-out", out})
		if !errors.Is(err, errBadCSV) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error = %v, want %q", err, c.want)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("a plan was written despite the error (%v)", err)
		}
	}
}

// TestForecastStructureCancelled: a cancelled run stops before writing
// anything and returns the context's error.
func TestForecastStructureCancelled(t *testing.T) {
	dir, structure, history := smallHierarchy(t, 8, [2]string{"DE", "A"}, [2]string{"US", "B"})
	out := filepath.Join(dir, "f.csv")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var o, e strings.Builder
	env := &environment{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &o, stderr: &e}
	err := run(ctx, env, []string{"forecast", "--structure", structure, "--in", history, "--horizon", "2", "--frequency", "Q", "--out", out})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output written by a cancelled run (%v)", err)
	}
}
