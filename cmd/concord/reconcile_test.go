package main

import (
	"bytes"
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

	"github.com/concord-planning/concord/forecasting/reconcile"
)

const testStructure = `dimension,member,parent
Region,EMEA,
Region,DE,EMEA
Region,FR,EMEA
Region,AMER,
Region,US,AMER
Product,Pumps,
Product,Valves,
`

var (
	testRegions  = map[string][]string{"": {"DE", "FR", "US"}, "EMEA": {"DE", "FR"}, "AMER": {"US"}, "DE": {"DE"}, "FR": {"FR"}, "US": {"US"}}
	testProducts = map[string][]string{"": {"Pumps", "Valves"}, "Pumps": {"Pumps"}, "Valves": {"Valves"}}
	testPeriods  = []string{"2027-01", "2027-02", "2027-03"}
)

func cellValue(r, p string, q int) float64 {
	v := map[string]float64{"DE": 40, "FR": 25, "US": 60}[r] * map[string]float64{"Pumps": 1, "Valves": 0.5}[p]
	return v * (1 + 0.1*float64(q))
}

// writeInputs writes a consistent example: node forecasts (aggregates off by
// +3% so that reconciliation has work to do), actuals for January, targets.
func writeInputs(t *testing.T, targets string) string {
	t.Helper()
	dir := t.TempDir()
	var fc, act strings.Builder
	fc.WriteString("Region,Product,period,statistical,variance\n")
	act.WriteString("Region,Product,period,value\n")
	for _, r := range []string{"", "EMEA", "AMER", "DE", "FR", "US"} {
		for _, p := range []string{"", "Pumps", "Valves"} {
			for q, per := range testPeriods {
				var sum float64
				for _, cr := range testRegions[r] {
					for _, cp := range testProducts[p] {
						sum += cellValue(cr, cp, q)
					}
				}
				isCell := r != "" && r != "EMEA" && r != "AMER" && p != ""
				if !isCell {
					sum *= 1.03
				}
				fmt.Fprintf(&fc, "%s,%s,%s,%g,%g\n", r, p, per, sum, 0.01*sum*sum)
				if isCell && q == 0 {
					fmt.Fprintf(&act, "%s,%s,%s,%g\n", r, p, per, sum*0.9)
				}
			}
		}
	}
	for name, body := range map[string]string{"structure.csv": testStructure, "forecasts.csv": fc.String(), "actuals.csv": act.String(), "targets.csv": targets} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func runReconcile(t *testing.T, dir string, extra ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &environment{getenv: func(string) string { return "" }, stdout: &out, stderr: &errOut}
	args := append([]string{"reconcile",
		"-structure", filepath.Join(dir, "structure.csv"), "-forecasts", filepath.Join(dir, "forecasts.csv"),
		"-actuals", filepath.Join(dir, "actuals.csv"), "-targets", filepath.Join(dir, "targets.csv"),
		"-closed", "2027-01", "-targets-out", filepath.Join(dir, "targets-out.csv")}, extra...)
	err := run(context.Background(), env, args)
	return out.String(), err
}

const goodTargets = `id,Region,Product,from,to,value,weight
FY,,,2027-01,2027-03,600,
EMEA-Q,EMEA,,2027-02,2027-03,210,
US-Pumps-Mar,US,Pumps,2027-03,2027-03,90,0.001
`

func TestReconcileCommand(t *testing.T) {
	for _, method := range []string{"ols", "wls-structural", "wls-variance", "bottom-up", "top-down", "middle-out"} {
		t.Run(method, func(t *testing.T) {
			dir := writeInputs(t, goodTargets)
			extra := []string{"-method", method, "-nonneg"}
			if method == "middle-out" {
				extra = append(extra, "-level", "1,0")
			}
			out, err := runReconcile(t, dir, extra...)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1+18*3 {
				t.Fatalf("plan has %d rows, want header + 18 nodes × 3 periods", len(rows))
			}
			val := map[string]float64{}
			for _, r := range rows[1:] {
				v, err := strconv.ParseFloat(r[6], 64)
				if err != nil {
					t.Fatal(err)
				}
				if v < 0 {
					t.Errorf("reconciled %v = %v, want ≥ 0 with -nonneg", r[:3], v)
				}
				val[r[0]+"|"+r[1]+"|"+r[2]] = v
			}
			// Coherence: every node equals the sum of its cells (9 significant
			// digits printed → 1e-9 relative).
			for r, cr := range testRegions {
				for p, cp := range testProducts {
					for _, per := range testPeriods {
						var sum float64
						for _, a := range cr {
							for _, b := range cp {
								sum += val[a+"|"+b+"|"+per]
							}
						}
						node := val[orTotal(r)+"|"+orTotal(p)+"|"+per]
						if math.Abs(node-sum) > 1e-9*sum {
							t.Errorf("node %s×%s %s = %v, sum of cells %v", r, p, per, node, sum)
						}
					}
				}
			}
			// Closed January holds the actuals: 0.9 × the cell forecast.
			if got, want := val["DE|Pumps|2027-01"], 0.9*cellValue("DE", "Pumps", 0); math.Abs(got-want) > 1e-9 {
				t.Errorf("DE×Pumps January = %v, want actual %v", got, want)
			}
			// Hard targets are met.
			fy := val["Total|Total|2027-01"] + val["Total|Total|2027-02"] + val["Total|Total|2027-03"]
			emea := val["EMEA|Total|2027-02"] + val["EMEA|Total|2027-03"]
			if math.Abs(fy-600) > 1e-9*600 || math.Abs(emea-210) > 1e-9*210 {
				t.Errorf("FY = %v, want 600; EMEA Feb–Mar = %v, want 210", fy, emea)
			}
			rep, err := os.ReadFile(filepath.Join(dir, "targets-out.csv"))
			if err != nil {
				t.Fatal(err)
			}
			trows, _ := csv.NewReader(bytes.NewReader(rep)).ReadAll()
			if len(trows) != 4 || trows[1][0] != "FY" || trows[3][2] != "false" {
				t.Fatalf("targets report = %v", trows)
			}
			if p, err := strconv.ParseFloat(trows[1][9], 64); err != nil || !(p >= 0 && p <= 1) {
				t.Errorf("FY probability = %q, want in [0, 1]", trows[1][9])
			}
		})
	}
}

func orTotal(s string) string {
	if s == "" {
		return reconcile.TotalID
	}
	return s
}

func TestReconcileCommandErrors(t *testing.T) {
	tests := []struct {
		name    string
		targets string
		edit    func(dir string)
		want    []string
		is      error
	}{
		{"conflicting targets", "id,Region,Product,from,to,value\nall,,,2027-02,2027-02,100\nemea,EMEA,,2027-02,2027-02,70\namer,AMER,,2027-02,2027-02,20\n",
			nil, []string{"amer", "all", "emea"}, reconcile.ErrConflict},
		{"target below booked", "id,Region,Product,from,to,value\nlow,,,2027-01,2027-02,10\n",
			nil, []string{"low", "below"}, reconcile.ErrConflict},
		{"bad number", goodTargets, func(dir string) {
			replaceLine(t, filepath.Join(dir, "forecasts.csv"), 3, "DE,Pumps,2027-01,abc,1")
		}, []string{"forecasts.csv:3", `"statistical"`, `"abc"`}, errBadCSV},
		{"unknown member", goodTargets, func(dir string) {
			replaceLine(t, filepath.Join(dir, "actuals.csv"), 2, "XX,Pumps,2027-01,5")
		}, []string{"actuals.csv:2", `"Region"`, `"XX"`}, errBadCSV},
		{"target period", "id,Region,Product,from,to,value\nx,,,2027-02,2028-01,1\n",
			nil, []string{"targets.csv:2", `"to"`, "2028-01"}, errBadCSV},
		{"missing column", "id,Region,Product,from,value\nx,,,2027-02,1\n",
			nil, []string{"targets.csv:1", "missing columns to"}, errBadCSV},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeInputs(t, tt.targets)
			if tt.edit != nil {
				tt.edit(dir)
			}
			_, err := runReconcile(t, dir, "-nonneg")
			if !errors.Is(err, tt.is) {
				t.Fatalf("reconcile error = %v, want %v", err, tt.is)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// replaceLine replaces 1-based line k of a file.
func replaceLine(t *testing.T, path string, k int, line string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	lines[k-1] = line
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReconcileCommandUsage(t *testing.T) {
	var out bytes.Buffer
	env := &environment{getenv: func(string) string { return "" }, stdout: &out, stderr: &out}
	if err := run(context.Background(), env, []string{"reconcile"}); !errors.Is(err, errUsage) {
		t.Errorf("reconcile without flags: error = %v, want errUsage", err)
	}
	if !strings.Contains(out.String(), "-structure") {
		t.Errorf("usage does not list -structure:\n%s", out.String())
	}
}

// FuzzReconcileForecasts feeds arbitrary forecast files to the command: it
// must return an error or a plan, never panic.
func FuzzReconcileForecasts(f *testing.F) {
	f.Add("Region,Product,period,statistical\nDE,Pumps,2027-01,5\n")
	f.Add("Region,Product,period,statistical,variance\n,,2027-01,1,-1\n")
	f.Add("\"Region\nProduct")
	f.Fuzz(func(t *testing.T, body string) {
		dir := writeInputs(t, goodTargets)
		if err := os.WriteFile(filepath.Join(dir, "forecasts.csv"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, _ = runReconcile(t, dir)
	})
}
