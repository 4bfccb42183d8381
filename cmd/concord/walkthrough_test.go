package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/concord-planning/concord/domain/planning/csvimport"
)

// walkthroughMarker precedes the README's fenced block of the walkthrough.
const walkthroughMarker = "<!-- walkthrough:"

// walkthroughLines returns the command lines of the README's walkthrough
// block, comments and blank lines left out.
func walkthroughLines(readme []byte) ([]string, error) {
	_, after, ok := bytes.Cut(readme, []byte(walkthroughMarker))
	if !ok {
		return nil, errors.New("README.md has no walkthrough block (a fenced block after " + walkthroughMarker + " … -->)")
	}
	_, block, ok := bytes.Cut(after, []byte("```sh\n"))
	if !ok {
		return nil, errors.New("the walkthrough marker is not followed by a ```sh block")
	}
	block, _, ok = bytes.Cut(block, []byte("```"))
	if !ok {
		return nil, errors.New("the walkthrough block is not closed")
	}
	var out []string
	for _, l := range strings.Split(string(block), "\n") {
		if i := strings.Index(l, " #"); i >= 0 {
			l = l[:i]
		}
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out, nil
}

// TestWalkthrough follows the README's "Your own company" literally: it
// runs each line of the walkthrough block, in order, as a new user would
// (the test binary stands in for concord; the directory is a new one
// holding the repository's cmd/, so the example files are where the
// README says), with a free port for `concord serve`. It then checks the
// variance table the last command prints against the example files, and
// what the API says about the same plan. It fails when the README and the
// commands drift apart: a renamed flag or command fails its line.
func TestWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("starts concord serve and makes forecasts")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines, err := walkthroughLines(readme)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(root, "cmd"), filepath.Join(dir, "cmd")); err != nil {
		t.Fatal(err)
	}
	env := []string{"CONCORD_LISTEN=127.0.0.1:0"} // the README's serve keeps its default address otherwise
	var (
		outputs []string
		serve   *process
	)
	for i, line := range lines {
		if strings.ContainsAny(line, `"'$|;<>`) {
			t.Fatalf("walkthrough line %d %q: keep the lines to plain commands (no quotes, variables or pipes)", i+1, line)
		}
		args := strings.Fields(line)
		switch {
		case args[0] == "export" && len(args) == 2 && strings.Contains(args[1], "="):
			env = append(env, args[1])
			outputs = append(outputs, "")
		case args[0] != "concord":
			t.Fatalf("walkthrough line %d %q: the walkthrough runs concord commands (and export of CONCORD_ variables) only", i+1, line)
		case args[len(args)-1] == "&":
			serve = startProcessIn(t, "walkthrough serve", dir, env, args[1:len(args)-1]...)
			serve.waitLog(t, func(l map[string]any) bool { return l["msg"] == "read models ready" })
			outputs = append(outputs, "")
		default:
			cmd := binaryCommand(dir, env, args[1:]...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				var exit *exec.ExitError
				if errors.As(err, &exit) {
					t.Fatalf("walkthrough line %d %q failed (%v):\n%s%s", i+1, line, err, stdout.String(), stderr.String())
				}
				t.Fatal(err)
			}
			outputs = append(outputs, stdout.String())
		}
	}
	if serve == nil {
		t.Fatal("the walkthrough starts no concord serve")
	}
	token := secretOf(t, lines, outputs)
	example := filepath.Join(root, "cmd", "concord", "example")

	// The variance table the walkthrough ends with, against the files.
	table := readCSV(t, strings.NewReader(outputs[len(outputs)-1]))
	targets := exampleTargets(t, filepath.Join(example, "targets.csv"))
	lastYear := exampleActuals(t, filepath.Join(example, "actuals.csv"), "net-revenue", "2025")
	if len(table) != 2 {
		t.Fatalf("variance table has %d rows, want Europe and Americas:\n%s", len(table), outputs[len(outputs)-1])
	}
	var reconciledSum float64
	for _, r := range table {
		node := r["node"]
		target, ok := targets[node+"|net-revenue|FY2026"]
		if !ok {
			t.Fatalf("the table's row %s has no target in targets.csv", node)
		}
		if got := r["target"]; got != target {
			t.Errorf("%s: target %s, want %s from targets.csv", node, got, target)
		}
		mean, tf := num(t, r["forecast_mean"]), num(t, target)
		member := strings.TrimPrefix(node, "region=")
		if lo, hi := 0.9*lastYear[member], 1.4*lastYear[member]; mean < lo || mean > hi {
			t.Errorf("%s: FY2026 forecast %.0f, want it to continue FY2025's actuals %.0f (within %.0f..%.0f)", node, mean, lastYear[member], lo, hi)
		}
		if !(num(t, r["forecast_lo95"]) < mean && mean < num(t, r["forecast_hi95"])) {
			t.Errorf("%s: forecast %v outside its 95%% interval %s..%s", node, mean, r["forecast_lo95"], r["forecast_hi95"])
		}
		if rec := num(t, r["plan_to_target"]); math.Abs(rec-tf) > 1e-6*tf {
			t.Errorf("%s: plan to target %v, want the target %v met", node, rec, tf)
		}
		if le := num(t, r["latest_estimate"]); math.Abs(le-mean) > 0.005 {
			t.Errorf("%s: latest estimate %v, want actuals + the forecast %v (never the target)", node, le, mean)
		}
		if gap := num(t, r["gap"]); math.Abs(gap-(tf-mean)) > 1e-6*tf {
			t.Errorf("%s: gap %v, want target − forecast = %v", node, gap, tf-mean)
		}
		if p := num(t, r["probability"]); p < 0 || p > 1 {
			t.Errorf("%s: probability %v", node, p)
		}
		reconciledSum += num(t, r["plan_to_target"])
	}
	if total := num(t, targets["|net-revenue|FY2026"]); math.Abs(reconciledSum-total) > 1e-6*total {
		t.Errorf("the regions' plans to target add up to %v, want the total target %v", reconciledSum, total)
	}

	// What the API says about the same plan.
	get := func(path string, v any) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+serve.addr+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d: %s", path, resp.StatusCode, body)
		}
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	var variance struct {
		Source struct {
			Kind  string `json:"kind"`
			RunID string `json:"run_id"`
		} `json:"forecast_source"`
	}
	get("/api/v1/plans/harbor/variance?metric=net-revenue&year=2026&dimension=region&level=1", &variance)
	if variance.Source.Kind != "statistical" || variance.Source.RunID == "" {
		t.Errorf("variance forecast_source = %+v, want the statistical run the actuals import requested", variance.Source)
	}
	var dims struct {
		Dimensions []struct {
			ID      string
			Members []struct{ ID, Name, Parent string }
		}
	}
	get("/api/v1/dimensions", &dims)
	var got []string
	for _, d := range dims.Dimensions {
		for _, m := range d.Members {
			got = append(got, strings.Join([]string{d.ID, m.ID, m.Name, m.Parent}, ","))
		}
	}
	f, err := os.Open(filepath.Join(example, "dimensions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, _, err := csvimport.ReadMembers(f)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range rows {
		want = append(want, strings.Join([]string{r.Dimension, r.Member, r.Name, r.Parent}, ","))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("GET /api/v1/dimensions lists\n%v\nwant dimensions.csv's\n%v", got, want)
	}
}

// secretOf returns the token the walkthrough's `token create` printed.
func secretOf(t *testing.T, lines, outputs []string) string {
	t.Helper()
	for i, l := range lines {
		if strings.HasPrefix(l, "concord token create") {
			out := strings.Fields(outputs[i])
			if len(out) > 0 {
				return out[len(out)-1]
			}
		}
	}
	t.Fatal("the walkthrough creates no token")
	return ""
}

func readCSV(t *testing.T, r io.Reader) []map[string]string {
	t.Helper()
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("not CSV: %v", err)
	}
	var out []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = rec[i]
		}
		out = append(out, m)
	}
	return out
}

// exampleTargets reads a targets file: amount by "node|metric|span".
func exampleTargets(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, _, err := csvimport.ReadTargets(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.Node+"|"+r.Metric+"|"+r.Span] = r.Amount
	}
	return out
}

// exampleActuals sums an actuals file's metric over the periods of year
// by the member of the region dimension's first level (europe, americas).
func exampleActuals(t *testing.T, path, metric, year string) map[string]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, _, err := csvimport.ReadActuals(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	region := map[string]string{"dach": "europe", "nordics": "europe", "us": "americas", "canada": "americas"}
	out := map[string]float64{}
	for _, r := range rows {
		if r.Metric != metric || !strings.HasPrefix(r.Period, year+"-") {
			continue
		}
		for _, c := range strings.Split(r.Cell, ";") {
			if m, ok := strings.CutPrefix(c, "region="); ok {
				out[region[m]] += num(t, r.Amount)
			}
		}
	}
	return out
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%q is not a number: %v", s, err)
	}
	return f
}

// TestCSVFormatsDocumented: each import format's header is written the
// same in the reader, `concord import -h`, the README, the OpenAPI
// document (for the formats the API takes) and the example files.
func TestCSVFormatsDocumented(t *testing.T) {
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	readme, openapi := read("../../README.md"), read("../../api/openapi.yaml")
	tests := []struct {
		name, header, example string
		api                   bool
	}{
		{"dimensions", strings.Join(csvimport.MemberColumns, ","), "dimensions.csv", true},
		{"plan", strings.Join(csvimport.PlanColumns, ","), "plan.csv", false},
		{"targets", "op,node,metric,span,amount,reason", "targets.csv", true},
		{"actuals", strings.Join(csvimport.ActualColumns, ","), "actuals.csv", true},
	}
	for _, tt := range tests {
		if !strings.Contains(importUsage, tt.header) {
			t.Errorf("%s: concord import -h does not show the header %s", tt.name, tt.header)
		}
		if !strings.Contains(readme, "`"+tt.header+"`") {
			t.Errorf("%s: README.md does not show the header `%s`", tt.name, tt.header)
		}
		if tt.api && !strings.Contains(openapi, "header row: "+tt.header) {
			t.Errorf("%s: api/openapi.yaml does not show the header row %s", tt.name, tt.header)
		}
		first, _, _ := strings.Cut(read(filepath.Join("example", tt.example)), "\n")
		if !strings.HasPrefix(first, tt.header) {
			t.Errorf("%s: example/%s begins %q, want the header %s", tt.name, tt.example, first, tt.header)
		}
	}
	for _, c := range append(slices.Clone(csvimport.TargetColumns), csvimport.TargetOptional...) {
		if !strings.Contains(tests[2].header, c) {
			t.Errorf("the documented targets header lacks the column %s", c)
		}
	}
}
