package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// companyShape sizes a generated company for `concord forecast --structure`:
// business units × region groups × regions per group × product lines ×
// products per line × segments, months of history.
type companyShape struct {
	bus, groups, regions, lines, products, segments, months int
}

// realisticShape is projections/company.Realistic's shape: 4 × 8 (in 2
// groups) × 16 (in 4 lines) × 4 = 2,048 cells, 36 months; with every
// level of the four dimensions (totals included) 5 × 11 × 21 × 5 = 5,775
// nodes per metric.
var realisticShape = companyShape{bus: 4, groups: 2, regions: 4, lines: 4, products: 4, segments: 4, months: 36}

// nodes is the number of nodes of the shape's grouped structure.
func (c companyShape) nodes() int {
	return (1 + c.bus) * (1 + c.groups + c.groups*c.regions) * (1 + c.lines + c.lines*c.products) * (1 + c.segments)
}

// writeCompany writes the structure file and a bottom-level history with
// three metric columns (revenue, margin, units) for the shape, seeded: each
// cell has its own level, trend, yearly seasonality and noise; margin is a
// noisy share of revenue and units a noisy quotient by a price.
func writeCompany(tb testing.TB, dir string, c companyShape, seed uint64) (structure, history string) {
	tb.Helper()
	var st strings.Builder
	st.WriteString("dimension,member,parent\n")
	bus, regions, products, segments := []string{}, []string{}, []string{}, []string{}
	for i := range c.bus {
		bus = append(bus, fmt.Sprintf("BU%d", i+1))
		fmt.Fprintf(&st, "bu,BU%d,\n", i+1)
	}
	for g := range c.groups {
		fmt.Fprintf(&st, "region,G%d,\n", g+1)
		for r := range c.regions {
			name := fmt.Sprintf("R%d-%d", g+1, r+1)
			regions = append(regions, name)
			fmt.Fprintf(&st, "region,%s,G%d\n", name, g+1)
		}
	}
	for l := range c.lines {
		fmt.Fprintf(&st, "product,L%d,\n", l+1)
		for p := range c.products {
			name := fmt.Sprintf("P%d-%d", l+1, p+1)
			products = append(products, name)
			fmt.Fprintf(&st, "product,%s,L%d\n", name, l+1)
		}
	}
	for i := range c.segments {
		segments = append(segments, fmt.Sprintf("S%d", i+1))
		fmt.Fprintf(&st, "segment,S%d,\n", i+1)
	}
	rng := rand.New(rand.NewPCG(seed, 0xc0))
	var h strings.Builder
	h.WriteString("bu,region,product,segment,month,revenue,margin,units\n")
	for _, bu := range bus {
		for _, r := range regions {
			for _, p := range products {
				for _, s := range segments {
					level := 20000 + 80000*rng.Float64()
					trend := level * 0.01 * (rng.Float64() - 0.4)
					amp := 0.25 * rng.Float64()
					phase := 2 * math.Pi * rng.Float64()
					share := 0.2 + 0.3*rng.Float64()
					price := 50 + 200*rng.Float64()
					for t := range c.months {
						rev := (level + trend*float64(t)) * (1 + amp*math.Sin(2*math.Pi*float64(t)/12+phase)) * (1 + 0.08*rng.NormFloat64())
						rev = math.Max(rev, 100)
						margin := rev * share * (1 + 0.1*rng.NormFloat64())
						units := math.Max(math.Round(rev/price*(1+0.05*rng.NormFloat64())), 0)
						month := 2023*12 + 3 + t // 2023-04 onwards
						fmt.Fprintf(&h, "%s,%s,%s,%s,%d-%02d,%.2f,%.2f,%s\n", bu, r, p, s, month/12, month%12+1, rev, margin, strconv.FormatFloat(units, 'f', 0, 64))
					}
				}
			}
		}
	}
	structure, history = filepath.Join(dir, "structure.csv"), filepath.Join(dir, "history.csv")
	for path, body := range map[string]string{structure: st.String(), history: h.String()} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return structure, history
}

// cancelOnWrite is a stderr that cancels a context when a line containing
// trigger is written to it, and keeps everything written.
type cancelOnWrite struct {
	mu      sync.Mutex
	b       strings.Builder
	trigger string
	cancel  context.CancelFunc
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if strings.Contains(string(p), w.trigger) {
		w.cancel()
	}
	return w.b.Write(p)
}

// TestForecastCompanyProgressAndCancel: `concord forecast --structure` on a
// small generated company reports its progress in tenths on stderr (not a
// terminal) and, cancelled while it runs (when the 20% line is written),
// stops handing out nodes, returns context.Canceled and writes nothing.
func TestForecastCompanyProgressAndCancel(t *testing.T) {
	shape := companyShape{bus: 2, groups: 2, regions: 2, lines: 2, products: 2, segments: 2, months: 24}
	dir := t.TempDir()
	structure, history := writeCompany(t, dir, shape, 1)
	args := func(out string) []string {
		return []string{"forecast", "--structure", structure, "--in", history, "--period-column", "month", "--value-column", "revenue",
			"--horizon", "6", "--frequency", "M", "--method", "naive", "--out", out}
	}
	n := shape.nodes() // 3 × 7 × 7 × 3 = 441
	var full strings.Builder
	env := &environment{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &strings.Builder{}, stderr: &full}
	if err := run(t.Context(), env, args(filepath.Join(dir, "all.csv"))); err != nil {
		t.Fatalf("forecast: %v", err)
	}
	var want []string
	for k := 1; k <= 10; k++ {
		done := (k*n + 9) / 10 // the first count that reaches k tenths
		want = append(want, fmt.Sprintf("forecasting: %d of %d (%d%%)", done, n, done*100/n))
	}
	if got := strings.Split(strings.TrimSpace(full.String()), "\n"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("progress lines = %q, want %q", got, want)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stderr := &cancelOnWrite{trigger: "(20%)", cancel: cancel}
	env = &environment{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &strings.Builder{}, stderr: stderr}
	out := filepath.Join(dir, "cancelled.csv")
	if err := run(ctx, env, args(out)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: error = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output written by a cancelled run (%v)", err)
	}
	if s := stderr.b.String(); strings.Contains(s, "(40%)") {
		t.Errorf("the cancelled run went on to 40%%:\n%s", s)
	}
}

// BenchmarkForecastCompany forecasts every node of a company of the
// Realistic shape (2,048 cells; all 5,775 nodes of the four dimensions,
// totals included, as MinT needs) for each of its three metrics through
// `concord forecast --structure --method ets --residuals-out`, 12 months
// ahead from 36 months of history, on GOMAXPROCS workers. ETS by AICc is
// what the reforecast publishes (forecasting.Auto's default, which on these
// positive, non-intermittent series is exactly --method ets); the CLI's
// --method auto also tries the log scale and costs more (see
// BenchmarkAutoETSMonthly/ic-log). One op = the three
// metrics; cpu-s/op is the process's user+system CPU, the figure to compare
// on a shared machine:
//
//	GOMAXPROCS=2 go test ./cmd/concord -run '^$' -bench ForecastCompany -benchtime 1x -timeout 30m
func BenchmarkForecastCompany(b *testing.B) {
	dir := b.TempDir()
	structure, history := writeCompany(b, dir, realisticShape, 2048)
	nodes := realisticShape.nodes()
	metrics := []string{"revenue", "margin", "units"}
	cpu0 := processCPU(b)
	for b.Loop() {
		for _, metric := range metrics {
			var stderr strings.Builder
			env := &environment{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &strings.Builder{}, stderr: &stderr}
			start := time.Now()
			err := run(b.Context(), env, []string{"forecast", "--structure", structure, "--in", history, "--period-column", "month",
				"--value-column", metric, "--horizon", "12", "--frequency", "M", "--method", "ets",
				"--out", filepath.Join(dir, metric+".csv"), "--residuals-out", filepath.Join(dir, metric+"-residuals.csv")})
			if err != nil {
				b.Fatalf("%s: %v\n%s", metric, err, stderr.String())
			}
			b.Logf("%s: %d nodes in %v", metric, nodes, time.Since(start).Round(time.Millisecond))
		}
	}
	cpu := processCPU(b) - cpu0
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N*nodes*len(metrics)), "cpu-ms/node")
	b.ReportMetric(float64(nodes*len(metrics)), "series/op")
}

// processCPU returns the user + system CPU time the process has used.
func processCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
