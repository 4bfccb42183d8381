package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/concord-planning/concord/api"
	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/domain/planning/csvimport"
)

// importFixture is a store holding plan fy27 (region: world > emea > de,
// fr; amer > us; product: all > pumps, valves; metrics revenue, which
// cannot be negative, and margin; fiscal years from January, horizon
// 2027), closed, for the commands to open.
type importFixture struct {
	path string
	url  string
}

func newImportFixture(t testing.TB) importFixture {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "concord.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{Synchronous: "OFF",
		Clock: func() time.Time { return time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	svc := planning.New(s, planning.NewRegistry())
	call := planning.Call{By: planning.Principal{Actor: "user:paul", Role: access.RolePlanner}}
	for _, d := range []struct {
		id, root string
		members  [][2]string // id, parent
	}{
		{"region", "world", [][2]string{{"emea", "world"}, {"amer", "world"}, {"de", "emea"}, {"fr", "emea"}, {"us", "amer"}}},
		{"product", "all", [][2]string{{"pumps", "all"}, {"valves", "all"}}},
	} {
		if _, err := svc.DefineDimension(ctx, call, planning.DefineDimension{ID: d.id, Name: d.id, RootID: d.root, RootName: d.root}); err != nil {
			t.Fatal(err)
		}
		for _, m := range d.members {
			if _, err := svc.AddMember(ctx, call, planning.AddMember{Dimension: d.id, ID: m[0], Name: m[0], Parent: m[1]}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := svc.OpenPlan(ctx, call, planning.OpenPlan{ID: "fy27", Name: "FY27", Currency: "EUR", FiscalYearStart: 1,
		Dimensions: []string{"region", "product"}, HorizonStart: "2027-01", HorizonMonths: 12,
		Metrics: []plan.Metric{{ID: "revenue", Name: "Revenue", NonNegative: true}, {ID: "margin", Name: "Margin"}}}); err != nil {
		t.Fatal(err)
	}
	return importFixture{path: path, url: "sqlite://" + path}
}

// head returns the store's last position.
func (f importFixture) head(t testing.TB) eventstore.Position {
	t.Helper()
	s := f.open(t)
	defer s.Close()
	h, err := s.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (f importFixture) open(t testing.TB) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), f.path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// run runs the binary's command line against the fixture's store; it
// returns standard output, standard error and the error.
func (f importFixture) run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	env, out, errOut := testEnv(map[string]string{"CONCORD_STORE": f.url, "CONCORD_PLAN": "fy27"})
	err := run(context.Background(), env, args)
	return out.String(), errOut.String(), err
}

func writeFile(t testing.TB, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var importCells = []string{"region=de;product=pumps", "region=de;product=valves", "region=fr;product=pumps",
	"region=fr;product=valves", "region=us;product=pumps", "region=us;product=valves"}

// actualsCSV is twelve months of actuals of every cell and both metrics
// (144 rows), amounts in cents, margins of some cells negative; it returns
// the file and the exact total of each metric.
func actualsCSV() (string, map[string]decimal.Decimal) {
	var b strings.Builder
	b.WriteString("cell,metric,period,amount\n")
	totals := map[string]decimal.Decimal{}
	for m := 1; m <= 12; m++ {
		for k, c := range importCells {
			for _, metric := range []string{"revenue", "margin"} {
				cents := int64(100000*(k+1) + 1237*m + 3*k*m)
				if metric == "margin" {
					cents = cents/3 - int64(40000*(k%2))
				}
				a := decimal.New(cents, 2)
				totals[metric], _ = totals[metric].Add(a)
				fmt.Fprintf(&b, "%s,%s,2027-%02d,%s\n", c, metric, m, a)
			}
		}
	}
	return b.String(), totals
}

// recordedActuals sums the actuals recorded in the store by metric and
// counts them.
func recordedActuals(t *testing.T, f importFixture) (map[string]decimal.Decimal, int) {
	t.Helper()
	s := f.open(t)
	defer s.Close()
	reg := planning.NewRegistry()
	sums := map[string]decimal.Decimal{}
	n := 0
	for after := eventstore.Start; ; {
		page, err := s.ReadAll(context.Background(), after, eventstore.MinPage)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return sums, n
		}
		for _, rec := range page {
			after = rec.Position
			v, err := reg.Decode(rec)
			if err != nil {
				t.Fatal(err)
			}
			if a, ok := v.(ledger.ActualRecorded); ok {
				sums[a.Metric], err = sums[a.Metric].Add(a.Amount)
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
		}
	}
}

// TestImportActuals: 144 rows in three batches land in the ledgers, their
// sums tie to the cent, and importing the same file again writes nothing.
func TestImportActuals(t *testing.T) {
	f := newImportFixture(t)
	text, want := actualsCSV()
	file := writeFile(t, "actuals.csv", text)
	out, progress, err := f.run(t, "import", "actuals", file, "--batch", "50")
	if err != nil {
		t.Fatalf("import: %v\n%s", err, progress)
	}
	if !strings.Contains(out, "144 rows in 3 batches; 144 rows recorded, 0 batches (0 rows) already imported") {
		t.Errorf("summary = %q, want 144 rows recorded in 3 batches", out)
	}
	if got := strings.Count(progress, " rows recorded\n"); got != 3 {
		t.Errorf("progress (stderr is no terminal) = %q, want one line per batch", progress)
	}
	sums, n := recordedActuals(t, f)
	if n != 144 {
		t.Errorf("%d actuals recorded, want 144", n)
	}
	for _, m := range []string{"revenue", "margin"} {
		if !sums[m].Equal(want[m]) {
			t.Errorf("recorded %s sums to %v, the file to %v", m, sums[m], want[m])
		}
	}

	head := f.head(t)
	out, _, err = f.run(t, "import", "--batch", "50", "actuals", file)
	if err != nil {
		t.Fatalf("import again: %v", err)
	}
	if !strings.Contains(out, "0 rows recorded, 3 batches (144 rows) already imported") {
		t.Errorf("summary of the second import = %q, want every batch already imported", out)
	}
	if f.head(t) != head {
		t.Errorf("the second import moved the log from %v to %v", head, f.head(t))
	}
}

// TestImportTargets: target changes in batches, later rows revising and
// clearing targets set by earlier batches, leave the plan with the final
// amounts; importing the file again changes nothing.
func TestImportTargets(t *testing.T) {
	f := newImportFixture(t)
	var b strings.Builder
	b.WriteString("op,node,metric,span,amount,reason\n")
	want := map[string]string{} // node (canonical)|metric|span → amount
	key := func(node, metric, span string) string {
		n, err := dimension.ParseNode(node)
		if err != nil {
			t.Fatal(err)
		}
		return n.String() + "|" + metric + "|" + span
	}
	for k, c := range importCells {
		for q := 1; q <= 4; q++ {
			span := fmt.Sprintf("FY2027-Q%d", q)
			amount := decimal.New(int64(250000*(k+1)+q*101), 2).String()
			fmt.Fprintf(&b, "set,%s,revenue,%s,%s,budget\n", c, span, amount)
			want[key(c, "revenue", span)] = amount
		}
	}
	b.WriteString("set,region=emea,revenue,FY2027,1000000.50,budget\n")
	b.WriteString("revise,region=emea,revenue,FY2027,1000200.25,reforecast\n")
	want[key("region=emea", "revenue", "FY2027")] = "1000200.25"
	b.WriteString("clear,region=us;product=valves,revenue,FY2027-Q4,,line discontinued\n")
	delete(want, key("region=us;product=valves", "revenue", "FY2027-Q4"))
	b.WriteString("revise,region=de;product=pumps,revenue,FY2027-Q1,2600.01,reforecast\n")
	want[key("region=de;product=pumps", "revenue", "FY2027-Q1")] = "2600.01"
	file := writeFile(t, "targets.csv", b.String())

	out, progress, err := f.run(t, "import", "targets", file, "--batch", "7")
	if err != nil {
		t.Fatalf("import: %v\n%s", err, progress)
	}
	if !strings.Contains(out, "28 rows in 4 batches; 28 rows recorded") {
		t.Errorf("summary = %q, want 28 rows in 4 batches", out)
	}
	got := planTargets(t, f)
	if len(got) != len(want) {
		t.Errorf("the plan holds %d targets, want %d", len(got), len(want))
	}
	var sumGot, sumWant decimal.Decimal
	for k, w := range want {
		if got[k] != w {
			t.Errorf("target %s = %q, want %s", k, got[k], w)
		}
		sumWant, _ = sumWant.Add(decimal.MustParse(w))
		if g, err := decimal.Parse(got[k]); err == nil {
			sumGot, _ = sumGot.Add(g)
		}
	}
	if !sumGot.Equal(sumWant) {
		t.Errorf("targets sum to %v, want %v", sumGot, sumWant)
	}

	head := f.head(t)
	out, _, err = f.run(t, "import", "targets", file, "--batch", "7")
	if err != nil {
		t.Fatalf("import again: %v", err)
	}
	if !strings.Contains(out, "0 rows recorded, 4 batches (28 rows) already imported") || f.head(t) != head {
		t.Errorf("second import = %q, log %v → %v; want nothing written", out, head, f.head(t))
	}
}

// TestImportTargetsRejectsBadRows: a row that is bad only after the rows
// of an earlier batch (setting a target that batch set) is found before
// anything is written.
func TestImportTargetsRejectsBadRows(t *testing.T) {
	f := newImportFixture(t)
	file := writeFile(t, "targets.csv", "op,node,metric,span,amount,reason\n"+
		"set,region=emea,revenue,FY2027,10,budget\n"+
		"set,region=amer,revenue,FY2027,20,budget\n"+
		"set,region=emea,revenue,FY2027,30,again\n"+
		"revise,region=amer,revenue,FY2027-Q5,25,reforecast\n")
	head := f.head(t)
	_, stderr, err := f.run(t, "import", "targets", file, "--batch", "2")
	if err == nil || f.head(t) != head {
		t.Fatalf("import of bad targets = %v, log %v → %v; want an error and nothing written", err, head, f.head(t))
	}
	for _, want := range []string{`line 4, node "region=emea": `, `line 5, span "FY2027-Q5": `} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr = %q\nwant it to hold %q", stderr, want)
		}
	}
}

// TestImportResumes: an import whose first batch was written before (a run
// stopped midway) writes only the rest.
func TestImportResumes(t *testing.T) {
	f := newImportFixture(t)
	text, want := actualsCSV()
	file := writeFile(t, "actuals.csv", text)
	rows, _, err := csvimport.ReadActuals(strings.NewReader(text), 0)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(text))
	s := f.open(t)
	_, err = planning.New(s, planning.NewRegistry()).RecordActuals(context.Background(), planning.Call{By: operator()},
		planning.RecordActuals{Plan: "fy27", ImportID: fmt.Sprintf("csv-%x-50-1", sum[:8]), Rows: rows[:50]})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := f.run(t, "import", "actuals", file, "--batch", "50")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "144 rows in 3 batches; 94 rows recorded, 1 batches (50 rows) already imported") {
		t.Errorf("summary = %q, want the first batch skipped and 94 rows recorded", out)
	}
	sums, n := recordedActuals(t, f)
	if n != 144 || !sums["revenue"].Equal(want["revenue"]) || !sums["margin"].Equal(want["margin"]) {
		t.Errorf("recorded %d actuals summing to %v, want 144 summing to %v", n, sums, want)
	}
}

// planTargets returns plan fy27's targets as node|metric|span → amount.
func planTargets(t *testing.T, f importFixture) map[string]string {
	t.Helper()
	s := f.open(t)
	defer s.Close()
	p, _, err := planning.New(s, planning.NewRegistry()).Plan(context.Background(), operator(), "fy27")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, tg := range p.Targets() {
		out[tg.Node.String()+"|"+tg.Metric+"|"+spanText(p.Calendar(), tg.Span)] = tg.Amount.String()
	}
	return out
}

// spanText writes the spans of the test in the plan's notation.
func spanText(cal fiscal.Calendar, s fiscal.Span) string {
	fy := cal.Year(s.First)
	if s == cal.FiscalYear(fy) {
		return fmt.Sprintf("FY%d", fy)
	}
	return fmt.Sprintf("FY%d-Q%d", fy, cal.Quarter(s.First))
}

// TestImportRejectsBadRows: a file with bad rows writes nothing and lists
// each bad row with its line, field and value, also a row repeating one
// of an earlier batch; --skip-bad imports the rest.
func TestImportRejectsBadRows(t *testing.T) {
	f := newImportFixture(t)
	text := "cell,metric,period,amount\n" +
		"region=de;product=pumps,revenue,2027-01,100.10\n" + // 2
		"region=mars;product=pumps,revenue,2027-01,5\n" + // 3: no such member
		"region=fr;product=pumps,revenue,2027-01,12,50\n" + // 4: five fields
		"region=fr;product=valves,revenue,2027-01,-3\n" + // 5: negative revenue
		"region=us;product=pumps,revenue,2027-13,7\n" + // 6: no such month
		"region=us;product=valves,units,2027-01,7\n" + // 7: no such metric
		"region=de;product=pumps,revenue,2027-01,100.10\n" + // 8: the same actual as line 2, in the next batch
		"region=de;product=valves,margin,2027-01,-20.05\n" // 9
	file := writeFile(t, "bad.csv", text)
	head := f.head(t)

	// A ragged row is refused before anything else is looked at.
	_, stderr, err := f.run(t, "import", "actuals", file, "--batch", "3")
	if err == nil || !strings.Contains(stderr, "line 4: 5 fields, the header names 4") {
		t.Fatalf("import of a ragged file = %v, stderr %q; want line 4 reported", err, stderr)
	}
	if f.head(t) != head {
		t.Fatal("a refused import wrote events")
	}

	text = strings.Replace(text, ",12,50\n", ",12.50\n", 1)
	file = writeFile(t, "bad.csv", text)
	_, stderr, err = f.run(t, "import", "actuals", file, "--batch", "3")
	if err == nil || !strings.Contains(err.Error(), "5 of 8 rows rejected; nothing was imported") {
		t.Fatalf("import of bad rows = %v, want 5 of 8 rows rejected", err)
	}
	for _, want := range []string{
		`line 3, cell "region=mars;product=pumps": `,
		`line 5, amount "-3": metric "revenue" cannot be negative`,
		`line 6, period "2027-13": `,
		`line 7, metric "units": plan "fy27" measures no metric "units"`,
		`line 8, cell "product=pumps;region=de": revenue is already recorded as 100.10 for 2027-01`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr = %q\nwant it to hold %q", stderr, want)
		}
	}
	if f.head(t) != head {
		t.Fatal("an import with bad rows wrote events")
	}

	// The listing stops at --max-errors.
	_, stderr, _ = f.run(t, "import", "actuals", file, "--max-errors", "2")
	if !strings.Contains(stderr, "  ... and 3 more\n") || strings.Contains(stderr, "line 6") {
		t.Errorf("stderr with --max-errors 2 = %q, want two problems and ... and 3 more", stderr)
	}

	out, stderr, err := f.run(t, "import", "actuals", file, "--batch", "3", "--skip-bad")
	if err != nil {
		t.Fatalf("import --skip-bad: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "3 rows in 2 batches; 3 rows recorded") || !strings.Contains(out, "5 rows rejected") ||
		!strings.Contains(stderr, "5 of 8 rows rejected (5 problems); the other rows were imported") {
		t.Errorf("import --skip-bad = %q, stderr %q; want 3 rows recorded and 5 rejected", out, stderr)
	}
	sums, n := recordedActuals(t, f)
	if n != 3 || !sums["revenue"].Equal(decimal.MustParse("112.60")) || !sums["margin"].Equal(decimal.MustParse("-20.05")) {
		t.Errorf("recorded %d actuals summing to %v, want 3: revenue 112.60, margin -20.05", n, sums)
	}
	head = f.head(t)
	if _, _, err := f.run(t, "import", "actuals", file, "--batch", "3", "--skip-bad"); err != nil || f.head(t) != head {
		t.Errorf("import --skip-bad again = %v, log %v → %v; want nothing written", err, head, f.head(t))
	}
}

// TestImportUsage: missing arguments and flags are usage errors.
func TestImportUsage(t *testing.T) {
	f := newImportFixture(t)
	for _, args := range [][]string{
		{"import"},
		{"import", "budgets", "x.csv"},
		{"import", "actuals", "x.csv", "--batch", "0"},
		{"import", "actuals", "x.csv", "--batch", fmt.Sprint(planning.MaxRows + 1)},
	} {
		if _, _, err := f.run(t, args...); err != errUsage {
			t.Errorf("%q = %v, want a usage error", args, err)
		}
	}
	env, _, _ := testEnv(map[string]string{"CONCORD_STORE": f.url})
	if err := run(context.Background(), env, []string{"import", "actuals", "x.csv"}); err != errUsage {
		t.Errorf("import without a plan = %v, want a usage error", err)
	}
	if _, _, err := f.run(t, "import", "actuals", filepath.Join(t.TempDir(), "none.csv")); err == nil || !os.IsNotExist(err) {
		t.Errorf("import of a missing file = %v, want not found", err)
	}
}

// BenchmarkImportActuals imports 24,000 actuals (1,000 cells × 2 metrics
// × 12 months) through the command into a fresh store, in batches of
// --batch rows, checking the whole file first; rows/s is the figure.
func BenchmarkImportActuals(b *testing.B) {
	ctx := context.Background()
	var text strings.Builder
	text.WriteString("cell,metric,period,amount\n")
	for m := 1; m <= 12; m++ {
		for r := range 100 {
			for p := range 10 {
				for _, metric := range []string{"revenue", "margin"} {
					fmt.Fprintf(&text, "region=r%03d;product=p%02d,%s,2027-%02d,%d.%02d\n", r, p, metric, m, 1000+r*p+m, (r+p)%100)
				}
			}
		}
	}
	const rows = 24000
	for _, batch := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				f := newImportFixture(b)
				s := f.open(b)
				svc := planning.New(s, planning.NewRegistry())
				call := planning.Call{By: operator()}
				for r := range 100 {
					if _, err := svc.AddMember(ctx, call, planning.AddMember{Dimension: "region", ID: fmt.Sprintf("r%03d", r), Name: "r", Parent: "emea"}); err != nil {
						b.Fatal(err)
					}
				}
				for p := range 10 {
					if _, err := svc.AddMember(ctx, call, planning.AddMember{Dimension: "product", ID: fmt.Sprintf("p%02d", p), Name: "p", Parent: "all"}); err != nil {
						b.Fatal(err)
					}
				}
				s.Close()
				file := writeFile(b, "actuals.csv", text.String())
				env, out, errOut := testEnv(map[string]string{"CONCORD_STORE": f.url, "CONCORD_PLAN": "fy27"})
				b.StartTimer()
				if err := run(ctx, env, []string{"import", "actuals", file, "--batch", fmt.Sprint(batch)}); err != nil {
					b.Fatalf("%v\n%s", err, errOut)
				}
				if !strings.Contains(out.String(), fmt.Sprintf("%d rows recorded", rows)) {
					b.Fatalf("summary %q", out)
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// TestImportDimensionsAndPlan: the CLI prints the plan of changes a
// dimensions file calls for (--dry-run writes nothing), applies a changed
// file's differences, refuses a file with problems by line, and a plan
// file naming dimensions not yet imported says to import them first.
func TestImportDimensionsAndPlan(t *testing.T) {
	f := newImportFixture(t)
	changed := writeFile(t, "dims.csv", "dimension,member,name,parent\n"+
		"region,world,world,\nregion,emea,Europe,world\nregion,amer,amer,world\nregion,de,de,emea\nregion,fr,fr,amer\nregion,us,us,amer\nregion,uk,UK,emea\n")
	tests := []struct {
		name      string
		args      []string
		wantErr   bool
		wantOut   []string
		wantErrs  []string
		wantWrite bool
	}{
		{name: "dry run", args: []string{"import", "dimensions", changed, "--dry-run"},
			wantOut: []string{`rename region/emea: "emea" → "Europe" (line 3)`, "move   region/fr: from emea to amer (line 6)", `add    region/uk "UK" under emea (line 8)`, "3 changes to record (dry run: nothing was written)"}},
		{name: "apply", args: []string{"import", "dimensions", changed}, wantOut: []string{"3 changes recorded"}, wantWrite: true},
		{name: "again", args: []string{"import", "dimensions", changed}, wantOut: []string{"0 changes recorded"}},
		{name: "problems by line", args: []string{"import", "dimensions", writeFile(t, "bad.csv", "dimension,member,name,parent\nchannel,any,Any,\nchannel,web,Web,shop\n")},
			wantErr: true, wantErrs: []string{`line 3, parent "shop": no row of dimension "channel" lists member "shop"`}},
		{name: "plan before its dimensions", args: []string{"import", "plan", writeFile(t, "plan.csv",
			"plan,name,currency,fiscal_year_start,dimensions,horizon_start,metric,metric_name\nacme,Acme,EUR,1,region;channel,2027-01,revenue,Revenue\n")},
			wantErr: true, wantErrs: []string{"rejected as a whole", `dimensions "channel": no such dimension: import the dimensions first (concord import dimensions FILE.csv`}},
	}
	for _, tt := range tests {
		before := f.head(t)
		out, errOut, err := f.run(t, tt.args...)
		if (err != nil) != tt.wantErr {
			t.Fatalf("%s: error %v, want error %v\n%s%s", tt.name, err, tt.wantErr, out, errOut)
		}
		for _, w := range tt.wantOut {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output does not say %q:\n%s", tt.name, w, out)
			}
		}
		for _, w := range tt.wantErrs {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: standard error does not say %q:\n%s", tt.name, w, errOut)
			}
		}
		if wrote := f.head(t) != before; wrote != tt.wantWrite {
			t.Errorf("%s: wrote %v, want %v", tt.name, wrote, tt.wantWrite)
		}
	}
}

// TestImportIgnoresForgedBatches: an API client that names its request
// after an import batch (X-Request-Id, Idempotency-Key, import_id) makes
// `concord import` skip nothing: before, a forged request id equal to a
// target batch's name made the import skip that batch as "already
// imported", and its rows were silently not written (and an actuals
// batch's import id taken with other rows did the same).
func TestImportIgnoresForgedBatches(t *testing.T) {
	for _, kind := range []string{"targets", "actuals"} {
		t.Run(kind, func(t *testing.T) {
			f := newImportFixture(t)
			text := "op,node,metric,span,reason,amount\n" +
				"set,region=emea,revenue,FY2027,budget,100\n" +
				"set,region=amer,revenue,FY2027,budget,200\n" +
				"set,region=de;product=pumps,revenue,FY2027-Q1,budget,30\n"
			if kind == "actuals" {
				text = "cell,metric,period,amount\nregion=de;product=pumps,revenue,2027-01,1\nregion=fr;product=pumps,revenue,2027-01,2\n"
			}
			file := writeFile(t, kind+".csv", text)
			sum := sha256.Sum256([]byte(text))
			batch := fmt.Sprintf("csv-%x-%d-1", sum[:8], defaultImportBatch)

			// The forger: a planner on the API, naming its write after the batch.
			s := f.open(t)
			reg := planning.NewRegistry()
			svc := planning.New(s, reg)
			issued, err := svc.IssueToken(context.Background(), planning.Call{By: operator()}, planning.IssueToken{Name: "mallory", Role: access.RolePlanner})
			if err != nil {
				t.Fatal(err)
			}
			srv, err := api.New(api.Config{}, api.Deps{Store: s, Registry: reg, Service: svc})
			if err != nil {
				t.Fatal(err)
			}
			path, body := "/api/v1/plans/fy27/targets/set", `{"node":"region=fr","metric":"revenue","span":"FY2027","amount":"5","reason":"forged"}`
			if kind == "actuals" {
				path, body = "/api/v1/plans/fy27/actuals", `{"import_id":"`+batch+`","rows":[{"cell":"region=us;product=pumps","metric":"revenue","period":"2027-01","amount":"9"}]}`
			}
			r := httptest.NewRequest("POST", path, strings.NewReader(body))
			r.Header.Set("Authorization", "Bearer "+issued.Secret)
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("X-Request-Id", batch)
			r.Header.Set("Idempotency-Key", batch)
			w := httptest.NewRecorder()
			srv.Handler().ServeHTTP(w, r)
			s.Close()
			if w.Code != 200 {
				t.Fatalf("forged write: %d %s", w.Code, w.Body.String())
			}

			out, progress, err := f.run(t, "import", kind, file)
			if kind == "actuals" {
				// The ledger knows the batch's id with other rows: the
				// import is refused, not skipped.
				if err == nil || !strings.Contains(progress, "was recorded in 2027-01 without this row") {
					t.Errorf("import over a forged batch = %v, %q; want it refused as an import id used for other rows", err, out)
				}
				return
			}
			if err != nil {
				t.Fatalf("import: %v\n%s", err, progress)
			}
			if want := "3 rows in 1 batches; 3 rows recorded, 0 batches (0 rows) already imported"; !strings.Contains(out, want) {
				t.Errorf("summary = %q, want %q", out, want)
			}
		})
	}
}
