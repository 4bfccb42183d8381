package forecasting

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// sharedData returns ../shared/data relative to the module root (or
// $CONCORD_SHARED_DATA), skipping the test when it is absent.
func sharedData(tb testing.TB) string {
	tb.Helper()
	if d := os.Getenv("CONCORD_SHARED_DATA"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skip("go.mod not found: cannot locate ../shared/data")
		}
		dir = parent
	}
	d := filepath.Join(dir, "..", "shared", "data")
	if _, err := os.Stat(filepath.Join(d, "m3")); err != nil {
		tb.Skipf("shared data not found at %s (set CONCORD_SHARED_DATA)", d)
	}
	return d
}

// m3Category describes one M3 subset as used in the evaluation.
type m3Category struct {
	name    string
	freq    int // seasonal period for fitting and the MASE scale
	horizon int
}

var m3Categories = []m3Category{{"yearly", 1, 6}, {"quarterly", 4, 8}, {"other", 1, 8}}

type m3Series struct {
	id          string
	train, test []float64
}

// readM3 reads one M3 file into series keyed by id, ordered by t.
func readM3(tb testing.TB, path string) map[string][]float64 {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		tb.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	type obs struct {
		t int
		v float64
	}
	tmp := map[string][]obs{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		t, err1 := strconv.Atoi(rec[col["t"]])
		v, err2 := strconv.ParseFloat(rec[col["value"]], 64)
		if err1 != nil || err2 != nil {
			tb.Fatalf("%s: bad row %v", path, rec)
		}
		id := rec[col["series_id"]]
		tmp[id] = append(tmp[id], obs{t, v})
	}
	out := map[string][]float64{}
	for id, o := range tmp {
		sort.Slice(o, func(i, j int) bool { return o[i].t < o[j].t })
		ys := make([]float64, len(o))
		for i := range o {
			ys[i] = o[i].v
		}
		out[id] = ys
	}
	return out
}

func loadM3(tb testing.TB, cat string) []m3Series {
	tb.Helper()
	dir := filepath.Join(sharedData(tb), "m3")
	tr := readM3(tb, filepath.Join(dir, "m3_"+cat+"_train.csv"))
	te := readM3(tb, filepath.Join(dir, "m3_"+cat+"_test.csv"))
	ids := make([]string, 0, len(tr))
	for id := range tr {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]m3Series, len(ids))
	for i, id := range ids {
		out[i] = m3Series{id, tr[id], te[id]}
	}
	return out
}

// readCSVFile reads a whole CSV file (R's per-series results).
func readCSVFile(tb testing.TB, path string) [][]string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) == 0 {
		tb.Fatalf("%s: %v (%d records)", path, err, len(recs))
	}
	return recs
}

// m3Score returns mean sMAPE and MASE over series and horizons.
type m3Score struct{ smape, mase float64 }

func evalM3(tb testing.TB, series []m3Series, c m3Category, fit func(y []float64) (*Model, error)) (m3Score, []string) {
	tb.Helper()
	type res struct {
		smape, mase float64
		name        string
	}
	out := make([]res, len(series))
	var wg sync.WaitGroup
	jobs := make(chan int)
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Go(func() {
			for i := range jobs {
				s := series[i]
				md, err := fit(s.train)
				if err != nil {
					mu.Lock()
					firstErr = fmt.Errorf("%s: %w", s.id, err)
					mu.Unlock()
					continue
				}
				fc, err := md.Forecast(c.horizon, nil)
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					continue
				}
				a := Score(s.test[:c.horizon], fc, s.train, c.freq, 95)
				out[i] = res{a.SMAPE, a.MASE, md.Description().Name}
			}
		})
	}
	for i := range series {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		tb.Fatal(firstErr)
	}
	var sc m3Score
	names := make([]string, len(series))
	for i, r := range out {
		sc.smape += r.smape
		sc.mase += r.mase
		names[i] = r.name
	}
	sc.smape /= float64(len(series))
	sc.mase /= float64(len(series))
	return sc, names
}

const batchName = "auto (backtest, one choice per batch)"

// m3BatchChoice scores every BacktestCandidates candidate on each series'
// training part and returns the one BatchChoice picks for the category.
func m3BatchChoice(tb testing.TB, series []m3Series, c m3Category) *BacktestCandidate {
	tb.Helper()
	scores := make([][]BacktestCandidate, len(series))
	var wg sync.WaitGroup
	jobs := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Go(func() {
			for i := range jobs {
				scores[i], _ = BacktestCandidates(series[i].train, c.freq, AutoOptions{})
			}
		})
	}
	for i := range series {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	var scored [][]BacktestCandidate
	for _, sc := range scores {
		if sc != nil {
			scored = append(scored, sc)
		}
	}
	best, mean, used, err := BatchChoice(scored)
	if err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	for j, cd := range scored[0] {
		fmt.Fprintf(&b, " %s %.4f", cd.Name, mean[j])
	}
	tb.Logf("%-10s batch choice %s (mean backtest MASE on %d of %d series:%s)", c.name, scored[0][best].Name, used, len(series), b.String())
	return &scored[0][best]
}

// TestM3Evaluation prints sMAPE and MASE of the automatic model (ETS by
// AICc), Theta and the other selections on M3 yearly, quarterly and other.
// Opt-in: CONCORD_EVAL=1 go test ./forecasting -run TestM3Evaluation -v
// With CONCORD_R_M3=<csv written by testdata/r/m3_evaluation.R> it also
// reports how often the chosen ETS model equals R's; CONCORD_EVAL_ONLY=text
// runs only the methods whose name contains text.
func TestM3Evaluation(t *testing.T) {
	if os.Getenv("CONCORD_EVAL") != "1" {
		t.Skip("set CONCORD_EVAL=1 to run the M3 evaluation")
	}
	rModels := map[string]string{}
	if p := os.Getenv("CONCORD_R_M3"); p != "" {
		for _, r := range readCSVFile(t, p)[1:] {
			rModels[r[1]] = r[2]
		}
	}
	methods := []struct {
		name string
		fit  func(y []float64, m int) (*Model, error)
	}{
		{"auto (ETS, AICc)", func(y []float64, m int) (*Model, error) { return Auto(y, m, AutoOptions{}) }},
		{"auto with log (ic-log)", func(y []float64, m int) (*Model, error) {
			return Auto(y, m, AutoOptions{Selection: SelectICLog})
		}},
		{"theta", func(y []float64, m int) (*Model, error) { return Fit(y, m, Spec{Method: MethodTheta}) }},
		{"theta-classic", func(y []float64, m int) (*Model, error) { return Fit(y, m, Spec{Method: MethodThetaClassic}) }},
		{"ensemble (ETS+Theta)", func(y []float64, m int) (*Model, error) {
			return Auto(y, m, AutoOptions{Selection: SelectEnsemble})
		}},
		{"combination (ETS+ARIMA+Theta)", func(y []float64, m int) (*Model, error) {
			return Auto(y, m, AutoOptions{Selection: SelectCombination})
		}},
		{"combination-cv (1/MASE weights)", func(y []float64, m int) (*Model, error) {
			return Auto(y, m, AutoOptions{Selection: SelectCombinationCV})
		}},
		{"auto (backtest)", func(y []float64, m int) (*Model, error) {
			return Auto(y, m, AutoOptions{Selection: SelectBacktest})
		}},
		{batchName, nil}, // one candidate per category by BatchChoice
	}
	t.Logf("%-10s %-22s %8s %8s", "category", "method", "sMAPE", "MASE")
	for _, c := range m3Categories {
		series := loadM3(t, c.name)
		for _, meth := range methods {
			if only := os.Getenv("CONCORD_EVAL_ONLY"); only != "" && !strings.Contains(meth.name, only) {
				continue
			}
			fit := meth.fit
			if meth.name == batchName {
				cand := m3BatchChoice(t, series, c)
				fit = func(y []float64, m int) (*Model, error) {
					return Auto(y, m, AutoOptions{Selection: SelectCandidate, Candidate: cand})
				}
			}
			sc, names := evalM3(t, series, c, func(y []float64) (*Model, error) { return fit(y, c.freq) })
			t.Logf("%-10s %-22s %8.3f %8.3f", c.name, meth.name, sc.smape, sc.mase)
			if meth.name == "auto (ETS, AICc)" && len(rModels) > 0 {
				same := 0
				for i, s := range series {
					if rModels[s.id] == names[i] {
						same++
					}
				}
				t.Logf("%-10s chosen ETS model equals R's on %d of %d series (%.1f%%)", c.name, same, len(series), 100*float64(same)/float64(len(series)))
			}
		}
	}
}

// BenchmarkAutoETS times automatic ETS selection over all M3 quarterly
// series (one op = all 756 series).
// GOMAXPROCS=1 taskset -c 0 go test ./forecasting -run '^$' -bench BenchmarkAutoETS -benchtime 3x
func BenchmarkAutoETS(b *testing.B) {
	series := loadM3(b, "quarterly")
	b.Run(fmt.Sprintf("m3_quarterly_%d", len(series)), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, s := range series {
				if _, err := selectETS(s.train, 4, ETSSpec{}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	yearly := loadM3(b, "yearly")
	b.Run(fmt.Sprintf("m3_yearly_%d", len(yearly)), func(b *testing.B) {
		for b.Loop() {
			for _, s := range yearly {
				if _, err := selectETS(s.train, 1, ETSSpec{}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// classicVariants are the estimation choices of the classic Theta method
// compared in EVALUATION.md; the first is MethodThetaClassic.
var classicVariants = []struct {
	name string
	opts classicOptions
}{
	{"ℓ0=Z1, α∈[0,1]", defaultClassic},
	{"ℓ0 optimal, α∈[0,1]", classicOptions{init: classicInitOptimal, alphaLo: 0, alphaHi: 1}},
	{"ℓ0=Z1, α∈[0.1,0.99]", classicOptions{init: classicInitFirst, alphaLo: 0.1, alphaHi: 0.99}},
	{"ℓ0 optimal, α∈[0.1,0.99]", classicOptions{init: classicInitOptimal, alphaLo: 0.1, alphaHi: 0.99}},
}

// TestM3ThetaClassicVariants prints sMAPE and MASE of each classicVariants
// entry on M3 yearly, quarterly and other.
// Opt-in: CONCORD_EVAL=1 go test ./forecasting -run TestM3ThetaClassicVariants -v
func TestM3ThetaClassicVariants(t *testing.T) {
	if os.Getenv("CONCORD_EVAL") != "1" {
		t.Skip("set CONCORD_EVAL=1 to run the M3 evaluation")
	}
	t.Logf("%-10s %-28s %8s %8s", "category", "classic Theta variant", "sMAPE", "MASE")
	for _, c := range m3Categories {
		series := loadM3(t, c.name)
		for _, v := range classicVariants {
			sc, _ := evalM3(t, series, c, func(y []float64) (*Model, error) {
				ct, err := fitThetaClassic(y, c.freq, v.opts, 0, 0, true)
				if err != nil {
					return nil, err
				}
				return ct.model(), nil
			})
			t.Logf("%-10s %-28s %8.3f %8.3f", c.name, v.name, sc.smape, sc.mase)
		}
	}
}

// BenchmarkAutoARIMA times automatic ARIMA over all M3 quarterly series
// (one op = all 756 series), to compare with R's auto.arima on one core:
// GOMAXPROCS=1 taskset -c 0 go test ./forecasting -run '^$' -bench BenchmarkAutoARIMA -benchtime 1x
func BenchmarkAutoARIMA(b *testing.B) {
	series := loadM3(b, "quarterly")
	b.Run(fmt.Sprintf("m3_quarterly_%d", len(series)), func(b *testing.B) {
		for b.Loop() {
			for _, s := range series {
				if _, err := Fit(s.train, 4, Spec{Method: MethodARIMA}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// TestM3ARIMA compares automatic ARIMA with R's auto.arima on M3 yearly,
// quarterly and other: the share of series where the chosen model is the
// same, and sMAPE and MASE per category next to R's.
// Opt-in (about a minute of CPU):
//
//	taskset -c 0 Rscript forecasting/testdata/r/arima_m3.R ../shared/data/m3 /tmp/r_arima_m3.csv
//	CONCORD_EVAL=1 CONCORD_R_ARIMA=/tmp/r_arima_m3.csv go test ./forecasting -run TestM3ARIMA -v
//
// With CONCORD_R_ARIMA set it fails when fewer than 95% of the models
// agree or sMAPE or MASE of a category is more than 1% off R's.
func TestM3ARIMA(t *testing.T) {
	if os.Getenv("CONCORD_EVAL") != "1" {
		t.Skip("set CONCORD_EVAL=1 to run the M3 evaluation")
	}
	type rRow struct {
		model       string
		smape, mase float64
	}
	rRows := map[string]rRow{}
	if p := os.Getenv("CONCORD_R_ARIMA"); p != "" {
		for _, r := range readCSVFile(t, p)[1:] {
			s, err1 := strconv.ParseFloat(r[3], 64) // category, series_id, model, smape, mase, ...
			m, err2 := strconv.ParseFloat(r[4], 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: bad row %v", p, r)
			}
			rRows[r[1]] = rRow{r[2], s, m}
		}
	}
	same, total := 0, 0
	for _, c := range m3Categories {
		series := loadM3(t, c.name)
		sc, names := evalM3(t, series, c, func(y []float64) (*Model, error) { return Fit(y, c.freq, Spec{Method: MethodARIMA}) })
		t.Logf("%-10s auto ARIMA  sMAPE %7.3f  MASE %6.3f", c.name, sc.smape, sc.mase)
		if len(rRows) == 0 {
			continue
		}
		var rs m3Score
		k := 0
		for i, s := range series {
			r, ok := rRows[s.id]
			if !ok {
				t.Fatalf("%s missing from R's results", s.id)
			}
			rs.smape += r.smape
			rs.mase += r.mase
			if r.model == names[i] {
				k++
			}
		}
		rs.smape /= float64(len(series))
		rs.mase /= float64(len(series))
		same += k
		total += len(series)
		t.Logf("%-10s R auto.arima sMAPE %7.3f  MASE %6.3f; same model on %d of %d series (%.1f%%)",
			c.name, rs.smape, rs.mase, k, len(series), 100*float64(k)/float64(len(series)))
		if math.Abs(sc.smape/rs.smape-1) > 0.01 || math.Abs(sc.mase/rs.mase-1) > 0.01 {
			t.Errorf("%s: sMAPE %.3f MASE %.3f, more than 1%% from R's %.3f %.3f", c.name, sc.smape, sc.mase, rs.smape, rs.mase)
		}
	}
	if total > 0 {
		t.Logf("all: same model as R on %d of %d series (%.1f%%)", same, total, 100*float64(same)/float64(total))
		if float64(same) < 0.95*float64(total) {
			t.Errorf("same model as R on %d of %d series, want ≥ 95%%", same, total)
		}
	}
}
