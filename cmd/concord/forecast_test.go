package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/concord-planning/concord/forecasting"
)

func runForecast(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &environment{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
	err = run(context.Background(), env, append([]string{"forecast"}, args...))
	return out.String(), errb.String(), err
}

func TestForecastCommandWritesParsableCSV(t *testing.T) {
	out := filepath.Join(t.TempDir(), "fc.csv")
	_, stderr, err := runForecast(t, "--in", "testdata/series.csv", "--horizon", "3", "--frequency", "Q", "--out", out, "--levels", "80,95")
	if err != nil {
		t.Fatalf("forecast: %v\n%s", err, stderr)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantHead := "series_id,h,period,model,forecast,lo80,hi80,lo95,hi95"
	if got := strings.Join(recs[0], ","); got != wantHead {
		t.Fatalf("header = %s, want %s", got, wantHead)
	}
	if len(recs) != 1+3*3 {
		t.Fatalf("got %d rows, want 10", len(recs))
	}
	periods := map[string][]string{}
	for _, r := range recs[1:] {
		periods[r[0]] = append(periods[r[0]], r[2])
		var v [5]float64
		for i := range v {
			x, err := strconv.ParseFloat(r[4+i], 64)
			if err != nil {
				t.Fatalf("row %v: %v", r, err)
			}
			v[i] = x
		}
		// forecast, lo80, hi80, lo95, hi95: nested intervals around the mean.
		if !(v[3] <= v[1] && v[1] <= v[0] && v[0] <= v[2] && v[2] <= v[4]) {
			t.Errorf("row %v: intervals not nested around the forecast", r)
		}
	}
	want := map[string][]string{
		"A":       {"2023-Q1", "2023-Q2", "2023-Q3"},
		"B, Inc.": {"2022-Q1", "2022-Q2", "2022-Q3"},
		"C":       {"2022-Q1", "2022-Q2", "2022-Q3"},
	}
	for id, w := range want {
		if strings.Join(periods[id], " ") != strings.Join(w, " ") {
			t.Errorf("periods of %s = %v, want %v", id, periods[id], w)
		}
	}
	// B is mostly zeros: an intermittent-demand method.
	for _, r := range recs[1:] {
		if r[0] == "B, Inc." && r[3] != "Croston" && r[3] != "SBA" && r[3] != "TSB" {
			t.Errorf("model for B = %s, want Croston, SBA or TSB", r[3])
		}
	}
}

func TestForecastCommandReportsEveryBadRow(t *testing.T) {
	_, stderr, err := runForecast(t, "--in", "testdata/bad.csv", "--horizon", "2", "--frequency", "M")
	if !errors.Is(err, errBadInput) {
		t.Fatalf("error = %v, want errBadInput", err)
	}
	for _, want := range []string{
		`line 3, field value, value "ten"`,
		`line 4, field period, value "2020-13"`,
		`line 5, field series_id`,
		`line 6, field value, value "NaN": not finite`,
		`line 9, field period, value "2021-Q1": format differs`,
		`gap in series "A"`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestForecastCommandUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--horizon", "3", "--frequency", "Q"},                                // no --in
		{"--in", "testdata/series.csv", "--frequency", "Q"},                   // no horizon
		{"--in", "testdata/series.csv", "--horizon", "3", "--frequency", "X"}, // bad frequency
		{"--in", "testdata/series.csv", "--horizon", "3", "--frequency", "4", "--levels", "80,100"},
		{"--in", "testdata/series.csv", "--horizon", "3", "--frequency", "4", "--method", "prophet"},
	} {
		if _, _, err := runForecast(t, args...); !errors.Is(err, errUsage) {
			t.Errorf("forecast %v: error = %v, want usage error", args, err)
		}
	}
	if _, _, err := runForecast(t, "--in", "testdata/missing.csv", "--horizon", "3", "--frequency", "Q"); err == nil {
		t.Error("forecast of a missing file succeeded")
	}
	_, _, err := runForecast(t, "--in", "-", "--horizon", "3", "--frequency", "Q")
	if !errors.Is(err, errBadInput) {
		t.Errorf("empty stdin: error = %v, want errBadInput", err)
	}
}

func TestForecastCommandSamplesReproducible(t *testing.T) {
	dir := t.TempDir()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, name := range []string{"s1.csv", "s2.csv"} {
		if _, stderr, err := runForecast(t, "--in", "testdata/series.csv", "--horizon", "2", "--frequency", "4",
			"--method", "ets", "--seed", "42", "--samples", "5", "--samples-out", filepath.Join(dir, name), "--out", filepath.Join(dir, "f.csv")); err != nil {
			// Series C is too short for ETS: the command fails for it but still writes the others.
			if !strings.Contains(stderr, `series "C"`) {
				t.Fatalf("forecast: %v\n%s", err, stderr)
			}
		}
	}
	if a, b := read("s1.csv"), read("s2.csv"); a != b || strings.Count(a, "\n") != 1+2*5*2 {
		t.Errorf("sample paths differ between runs with the same seed or have the wrong size (%d lines)", strings.Count(a, "\n"))
	}
}

// TestForecastCommandThetaClassic: --method theta-classic fits the classic
// Theta method to every series with enough data and says so in the model
// column.
func TestForecastCommandThetaClassic(t *testing.T) {
	stdout, stderr, err := runForecast(t, "--in", "testdata/series.csv", "--horizon", "2", "--frequency", "Q", "--method", "theta-classic")
	if err != nil {
		t.Fatalf("forecast --method theta-classic: %v\n%s", err, stderr)
	}
	recs, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 2 {
		t.Fatalf("forecast --method theta-classic wrote %d rows, want some", len(recs))
	}
	for _, r := range recs[1:] {
		if !strings.HasPrefix(r[3], "Theta (classic") {
			t.Errorf("row %v: model = %q, want the classic Theta method", r, r[3])
		}
	}
}

// TestForecastCommandARIMA: --method arima fits automatic ARIMA (as R's
// auto.arima) to every series and names the chosen model; intervals
// bracket the forecast.
func TestForecastCommandARIMA(t *testing.T) {
	stdout, stderr, err := runForecast(t, "--in", "testdata/series.csv", "--horizon", "3", "--frequency", "Q", "--method", "arima")
	if err != nil {
		t.Fatalf("forecast --method arima: %v\n%s", err, stderr)
	}
	recs, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 2 {
		t.Fatalf("forecast --method arima wrote %d rows, want some", len(recs))
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, r := range recs[1:] {
		if !strings.HasPrefix(r[col["model"]], "ARIMA(") {
			t.Errorf("row %v: model = %q, want an ARIMA model", r, r[col["model"]])
		}
		f, _ := strconv.ParseFloat(r[col["forecast"]], 64)
		lo, _ := strconv.ParseFloat(r[col["lo95"]], 64)
		hi, _ := strconv.ParseFloat(r[col["hi95"]], 64)
		if !(lo <= f && f <= hi) {
			t.Errorf("row %v: 95%% interval [%v, %v] does not bracket %v", r, lo, hi, f)
		}
	}
}

// TestForecastCommandResidualsOut: --residuals-out writes y − fitted for
// every observation of every fitted series, labelled with its period; for
// the mean method they are the deviations from the series mean.
func TestForecastCommandResidualsOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "res.csv")
	_, stderr, err := runForecast(t, "--in", "testdata/series.csv", "--horizon", "2", "--frequency", "Q", "--method", "mean", "--residuals-out", path)
	if err != nil {
		t.Fatalf("forecast --residuals-out: %v\n%s", err, stderr)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0], ","); got != "series_id,t,period,residual" {
		t.Fatalf("header = %q", got)
	}
	// Series C (7, 8, 9, 10 for 2021-Q1..Q4; given unsorted) has mean 8.5.
	want := map[string]string{"1": "2021-Q1,-1.5", "2": "2021-Q2,-0.5", "3": "2021-Q3,0.5", "4": "2021-Q4,1.5"}
	got := 0
	for _, r := range recs[1:] {
		if r[0] != "C" {
			continue
		}
		got++
		if w := want[r[1]]; w != r[2]+","+r[3] {
			t.Errorf("row %v: want t=%s %s", r, r[1], w)
		}
	}
	if got != 4 {
		t.Errorf("series C has %d residual rows, want 4", got)
	}
}

// TestForecastBacktest: rolling-origin forecasts from the CLI are placed as
// forecasting.Backtest places them (its pooled MAE equals the one computed
// from the written rows), the actual column holds the values that followed
// each origin, and --backtest-window fits only the last W values.
func TestForecastBacktest(t *testing.T) {
	out, stderr, err := runForecast(t, "--in", "testdata/series.csv", "--horizon", "2", "--frequency", "Q", "--method", "drift",
		"--backtest-origins", "3", "--backtest-step", "2")
	// C (4 values) is too short for 3 origins 2 apart: reported, the others written.
	if err == nil || !strings.Contains(stderr, `series "C": 4 values, 3 origins 2 apart with horizon 2 need 8`) {
		t.Fatalf("error = %v, stderr:\n%s\nwant series C reported as too short", err, stderr)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(recs[0], ","), "series_id,origin,h,period,model,forecast,actual,lo80,hi80,lo95,hi95"; got != want {
		t.Fatalf("header %s, want %s", got, want)
	}
	series, err := readSeries(mustOpen(t, "testdata/series.csv"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range series {
		if s.id == "C" {
			continue
		}
		var sumAbs float64
		origins := map[string]bool{}
		n := 0
		for _, r := range recs[1:] {
			if r[0] != s.id {
				continue
			}
			origins[r[1]] = true
			f, _ := strconv.ParseFloat(r[5], 64)
			a, _ := strconv.ParseFloat(r[6], 64)
			// The actual is the input value of the row's period.
			_, ord, _ := parsePeriod(r[3])
			k, _ := slices.BinarySearch(s.ords, ord)
			if s.values[k] != a {
				t.Errorf("%s period %s: actual %v, input value %v", s.id, r[3], a, s.values[k])
			}
			sumAbs += math.Abs(a - f)
			n++
		}
		if len(origins) != 3 || n != 6 {
			t.Errorf("%s: %d origins, %d rows, want 3 and 6", s.id, len(origins), n)
		}
		acc, err := forecasting.Backtest(s.values, 4, forecasting.BacktestOptions{Horizon: 2, Origins: 3, Step: 2},
			func(y []float64) (*forecasting.Model, error) {
				return forecasting.Fit(y, 4, forecasting.Spec{Method: forecasting.MethodDrift})
			})
		if err != nil {
			t.Fatal(err)
		}
		if got := sumAbs / float64(n); math.Abs(got-acc.MAE) > 1e-6*acc.MAE {
			t.Errorf("%s: MAE over the written rows %v, forecasting.Backtest %v", s.id, got, acc.MAE)
		}
	}
	// Rolling window: the mean method forecasts the mean of the last W values.
	out, stderr, err = runForecast(t, "--in", "testdata/series.csv", "--horizon", "1", "--frequency", "Q", "--method", "mean",
		"--backtest-origins", "1", "--backtest-window", "3")
	if err != nil {
		t.Fatalf("forecast: %v\n%s", err, stderr)
	}
	for _, s := range series {
		n := len(s.values)
		want := (s.values[n-4] + s.values[n-3] + s.values[n-2]) / 3
		prefix := fmt.Sprintf("%s,%s,1,%s,", csvField(s.id), formatPeriod(s.kind, s.ords[n-2]), formatPeriod(s.kind, s.ords[n-1]))
		i := strings.Index(out, "\n"+prefix)
		if i < 0 {
			t.Errorf("no row starting %q in\n%s", prefix, out)
			continue
		}
		row, _ := csv.NewReader(strings.NewReader(out[i+1:])).Read()
		if f, _ := strconv.ParseFloat(row[5], 64); math.Abs(f-want) > 1e-9*math.Abs(want)+1e-12 {
			t.Errorf("%s: window-3 mean forecast %v, want %v", s.id, f, want)
		}
	}
	for _, args := range [][]string{
		{"--backtest-origins", "2", "--residuals-out", "r.csv"},
		{"--backtest-window", "3"},
		{"--backtest-origins", "2", "--backtest-step", "0"},
	} {
		if _, _, err := runForecast(t, append([]string{"--in", "testdata/series.csv", "--horizon", "1", "--frequency", "Q"}, args...)...); !errors.Is(err, errUsage) {
			t.Errorf("forecast %v: error = %v, want a usage error", args, err)
		}
	}
}

func mustOpen(t *testing.T, path string) io.Reader {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

func csvField(s string) string {
	if strings.ContainsAny(s, ",\"") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// TestForecastBacktestBatch: one candidate is chosen for the whole batch
// by the mean of the series' own backtest scores (forecasting.BatchChoice),
// reported on stderr, and every series is forecast with it.
func TestForecastBacktestBatch(t *testing.T) {
	var b strings.Builder
	b.WriteString("series_id,period,value\n")
	ys := map[string][]float64{}
	for k, id := range []string{"P", "Q", "R"} {
		for q := 0; q < 32; q++ {
			v := 100 + float64(k*20+q) + 10*math.Sin(float64(q)*math.Pi/2+float64(k)) + float64((q*q*7+k*3)%11)
			ys[id] = append(ys[id], v)
			fmt.Fprintf(&b, "%s,%s,%g\n", id, formatPeriod(kindQuarter, 2010*4+q), v)
		}
	}
	in := writeTemp(t, t.TempDir(), "in.csv", b.String())
	out, stderr, err := runForecast(t, "--in", in, "--horizon", "4", "--frequency", "Q", "--method", "backtest-batch")
	if err != nil {
		t.Fatalf("forecast: %v\n%s", err, stderr)
	}
	var scores [][]forecasting.BacktestCandidate
	for _, id := range []string{"P", "Q", "R"} {
		sc, err := forecasting.BacktestCandidates(ys[id], 4, forecasting.AutoOptions{})
		if err != nil {
			t.Fatal(err)
		}
		scores = append(scores, sc)
	}
	best, _, _, err := forecasting.BatchChoice(scores)
	if err != nil {
		t.Fatal(err)
	}
	chosen := scores[0][best]
	if !strings.Contains(stderr, "backtest-batch chose "+chosen.Name+" for all 3 series") {
		t.Errorf("stderr does not report the choice %s:\n%s", chosen.Name, stderr)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"P", "Q", "R"} {
		md, err := forecasting.FitCandidate(ys[id], 4, chosen)
		if err != nil {
			t.Fatal(err)
		}
		fc, _ := md.Forecast(4, nil)
		k := 0
		for _, r := range recs[1:] {
			if r[0] != id {
				continue
			}
			if got := r[4]; got != fmtFloat(fc.Mean[k]) {
				t.Errorf("%s h=%d: forecast %s, the chosen candidate's %s", id, k+1, got, fmtFloat(fc.Mean[k]))
			}
			k++
		}
		if k != 4 {
			t.Errorf("%s: %d rows, want 4", id, k)
		}
	}
	if _, _, err := runForecast(t, "--in", in, "--horizon", "4", "--frequency", "Q", "--method", "backtest-batch", "--backtest-origins", "2"); !errors.Is(err, errUsage) {
		t.Errorf("backtest-batch with --backtest-origins: error = %v, want a usage error", err)
	}
}

// TestForecastTransformLog: a positive series falling fast gets negative
// drift forecasts and bounds; with --transform log every written value is
// positive and the model is named as fitted on the log scale. A series with
// a zero is reported, not forecast; a bad --transform is a usage error.
func TestForecastTransformLog(t *testing.T) {
	var b strings.Builder
	b.WriteString("series_id,period,value\n")
	for q := 0; q < 20; q++ {
		fmt.Fprintf(&b, "fall,%s,%g\n", formatPeriod(kindQuarter, 2020*4+q), 500*math.Exp(-0.15*float64(q))+float64(q%3))
	}
	b.WriteString("zero,2020-Q1,3\nzero,2020-Q2,0\nzero,2020-Q3,4\n")
	in := writeTemp(t, t.TempDir(), "in.csv", b.String())
	minValue := func(out string) float64 {
		recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		m := math.Inf(1)
		for _, r := range recs[1:] {
			if r[0] != "fall" {
				continue
			}
			for _, f := range r[4:] {
				v, _ := strconv.ParseFloat(f, 64)
				m = math.Min(m, v)
			}
		}
		return m
	}
	plain, _, _ := runForecast(t, "--in", in, "--horizon", "12", "--frequency", "Q", "--method", "drift")
	if m := minValue(plain); m >= 0 {
		t.Fatalf("untransformed drift: smallest value %v, want < 0 (the data do not test the transform)", m)
	}
	for _, method := range []string{"drift", "ets", "auto"} {
		out, stderr, err := runForecast(t, "--in", in, "--horizon", "12", "--frequency", "Q", "--method", method, "--transform", "log")
		if err == nil || !strings.Contains(stderr, `series "zero": forecasting: invalid specification: Box–Cox/log needs strictly positive data; value 0 at t = 2`) {
			t.Errorf("%s: error %v, stderr:\n%s\nwant series zero reported", method, err, stderr)
		}
		if m := minValue(out); !(m > 0) {
			t.Errorf("%s --transform log: smallest value %v, want > 0", method, m)
		}
		if !strings.Contains(out, "\nfall,1,2025-Q1,log ") && !strings.Contains(out, "\nfall,1,2025-Q1,\"log ") {
			t.Errorf("%s: model not named as fitted on the log scale:\n%s", method, out)
		}
	}
	// log-where-positive: the series with a zero is forecast untransformed.
	out, stderr, err := runForecast(t, "--in", in, "--horizon", "2", "--frequency", "Q", "--method", "naive", "--transform", "log-where-positive")
	if err != nil {
		t.Fatalf("log-where-positive: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "\nfall,1,2025-Q1,log Naive,") || !strings.Contains(out, "\nzero,1,2020-Q4,Naive,4,") {
		t.Errorf("log-where-positive: want fall on the log scale and zero untransformed:\n%s", out)
	}
	for _, bad := range []string{"2", "-0.5", "sqrt"} {
		if _, _, err := runForecast(t, "--in", in, "--horizon", "1", "--frequency", "Q", "--transform", bad); !errors.Is(err, errUsage) {
			t.Errorf("--transform %s: error = %v, want a usage error", bad, err)
		}
	}
}
