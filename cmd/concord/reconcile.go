package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/concord-planning/concord/forecasting/reconcile"
)

// errBadCSV is wrapped by every problem found in an input file; the message
// names the file, line, field and value.
var errBadCSV = errors.New("bad CSV input")

const reconcileUsage = `Usage: concord reconcile -structure FILE -forecasts FILE [flags]

Makes node forecasts coherent and reconciles them to strategic targets.
Inputs are CSV files with a header row (see forecasting/reconcile/README.md):
  structure   dimension,member,parent
  forecasts   <one column per dimension>,period,statistical[,commit][,variance][,statistical_mse][,commit_mse]
  actuals     <one column per dimension>,period,value          (cells, closed periods)
  targets     id,<one column per dimension>,from,to,value[,weight]
  residuals   <one column per dimension>,t,residual            (for wls-variance / mint-*)
An empty member, or the dimension's root as the output names it (Total when
the dimension has several top members), means the dimension's total. Periods
are labels that sort in time order (e.g. 2027-01). concord forecast
--structure writes -forecasts and, with --residuals-out, -residuals.

Flags:
`

// reconcileCommand implements `concord reconcile`.
func reconcileCommand(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), reconcileUsage)
		fs.PrintDefaults()
	}
	var (
		structurePath = fs.String("structure", "", "structure CSV (dimension,member,parent), required")
		forecastPath  = fs.String("forecasts", "", "node forecasts CSV, required")
		actualPath    = fs.String("actuals", "", "cell actuals CSV (needed with -closed)")
		targetPath    = fs.String("targets", "", "targets CSV")
		residualPath  = fs.String("residuals", "", "in-sample residuals CSV (for mint-shrink, mint-sample)")
		closed        = fs.String("closed", "", "last closed period: it and earlier periods keep their actuals")
		methodName    = fs.String("method", "wls-structural", "coherence method: bottom-up, top-down, middle-out, ols, wls-structural, wls-variance, mint-shrink, mint-sample")
		level         = fs.String("level", "", "middle-out level: comma-separated depth per dimension, e.g. 1,0")
		policyName    = fs.String("policy", "statistical", "base forecast per node: statistical, commit or blend (inverse-MSE weights)")
		nonNeg        = fs.Bool("nonneg", false, "values cannot go negative")
		outPath       = fs.String("out", "-", "reconciled plan CSV (- for stdout)")
		targetsOut    = fs.String("targets-out", "", "per-target report CSV (gap, probability)")
	)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *structurePath == "" || *forecastPath == "" || fs.NArg() > 0 {
		fmt.Fprintln(env.stderr, "concord reconcile: -structure and -forecasts are required")
		fs.Usage()
		return errUsage
	}
	method, err := reconcile.ParseMethod(*methodName)
	if err != nil {
		return err
	}
	policy, err := reconcile.ParsePolicy(*policyName)
	if err != nil {
		return err
	}
	opts := reconcile.Options{Method: method, NonNegative: *nonNeg}
	if method == reconcile.MiddleOut {
		if *level == "" {
			return fmt.Errorf("middle-out needs -level")
		}
		for _, f := range strings.Split(*level, ",") {
			d, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return fmt.Errorf("-level %q: %w", *level, err)
			}
			opts.Level = append(opts.Level, d)
		}
	}

	in := &reconcileInput{}
	if err := in.readStructure(*structurePath); err != nil {
		return err
	}
	if err := in.readForecasts(*forecastPath); err != nil {
		return err
	}
	if *actualPath != "" {
		if err := in.readActuals(*actualPath); err != nil {
			return err
		}
	}
	if *targetPath != "" {
		if err := in.readTargets(*targetPath); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	plan, err := in.build(opts, policy, *closed, *residualPath)
	if err != nil {
		return err
	}
	for _, n := range in.notes {
		fmt.Fprintf(env.stderr, "concord reconcile: %s\n", n)
	}
	if err := writeOutput(env, *outPath, func(w io.Writer) error { return in.writePlan(w, plan) }); err != nil {
		return err
	}
	if *targetsOut != "" {
		return writeOutput(env, *targetsOut, func(w io.Writer) error { return in.writeTargets(w, plan) })
	}
	return nil
}

func writeOutput(env *environment, path string, write func(io.Writer) error) error {
	if path == "-" || path == "" {
		return write(env.stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// table is a parsed CSV file: header positions and rows with line numbers.
type table struct {
	path  string
	col   map[string]int
	rows  [][]string
	lines []int
}

func readTable(path string, required ...string) (*table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readTableFrom(f, path, required...)
}

// readTableFrom reads a table from r; path names it in messages.
func readTableFrom(rd io.Reader, path string, required ...string) (*table, error) {
	r := csv.NewReader(rd)
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: header: %v", errBadCSV, path, err)
	}
	t := &table{path: path, col: map[string]int{}}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if _, dup := t.col[h]; dup {
			return nil, fmt.Errorf("%w: %s:1: column %q appears twice", errBadCSV, path, h)
		}
		t.col[h] = i
	}
	var missing []string
	for _, c := range required {
		if _, ok := t.col[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: %s:1: missing columns %s", errBadCSV, path, strings.Join(missing, ", "))
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", errBadCSV, path, err)
		}
		line, _ := r.FieldPos(0)
		t.rows = append(t.rows, rec)
		t.lines = append(t.lines, line)
	}
	return t, nil
}

func (t *table) has(c string) bool { _, ok := t.col[c]; return ok }

func (t *table) get(i int, c string) string {
	k, ok := t.col[c]
	if !ok {
		return ""
	}
	return strings.TrimSpace(t.rows[i][k])
}

func (t *table) errorf(i int, field, format string, a ...any) error {
	return fmt.Errorf("%w: %s:%d: field %q (value %q): %s", errBadCSV, t.path, t.lines[i], field, t.get(i, field), fmt.Sprintf(format, a...))
}

// number parses a float field; empty gives NaN when optional.
func (t *table) number(i int, field string, optional bool) (float64, error) {
	s := t.get(i, field)
	if s == "" && optional {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, t.errorf(i, field, "not a finite number")
	}
	return v, nil
}

// maxErrors caps how many row problems are reported at once.
const maxErrors = 20

type errorList []error

func (l *errorList) add(err error) { *l = append(*l, err) }

func (l errorList) err() error {
	if len(l) == 0 {
		return nil
	}
	if len(l) > maxErrors {
		return errors.Join(append(l[:maxErrors:maxErrors], fmt.Errorf("… and %d more problems", len(l)-maxErrors))...)
	}
	return errors.Join(l...)
}

type forecastRow struct {
	members                []string
	period                 string
	stat, commit, variance float64
	statMSE, commitMSE     float64
	line                   int
}

type reconcileInput struct {
	dims    []reconcile.Dimension
	leaf    []map[string]bool
	known   []map[string]bool
	s       *reconcile.Structure
	fc      []forecastRow
	periods []string
	pIndex  map[string]int
	actuals *table
	targets *table
	closed  int
	notes   []string // remarks for stderr that do not stop the run
}

func (in *reconcileInput) readStructure(path string) error {
	t, err := readTable(path, "dimension", "member", "parent")
	if err != nil {
		return err
	}
	index := map[string]int{}
	var errs errorList
	for i := range t.rows {
		d, m := t.get(i, "dimension"), t.get(i, "member")
		switch {
		case d == "":
			errs.add(t.errorf(i, "dimension", "empty"))
			continue
		case m == "":
			errs.add(t.errorf(i, "member", "empty"))
			continue
		}
		k, ok := index[d]
		if !ok {
			k = len(in.dims)
			index[d] = k
			in.dims = append(in.dims, reconcile.Dimension{Name: d})
		}
		in.dims[k].Members = append(in.dims[k].Members, reconcile.Member{ID: m, Parent: t.get(i, "parent")})
	}
	if err := errs.err(); err != nil {
		return err
	}
	if len(in.dims) == 0 {
		return fmt.Errorf("%w: %s: no members", errBadCSV, path)
	}
	in.leaf = make([]map[string]bool, len(in.dims))
	in.known = make([]map[string]bool, len(in.dims))
	for d, dim := range in.dims {
		parents := map[string]bool{}
		in.known[d] = map[string]bool{reconcile.TotalID: true}
		for _, m := range dim.Members {
			parents[m.Parent] = true
			in.known[d][m.ID] = true
		}
		in.leaf[d] = map[string]bool{}
		for _, m := range dim.Members {
			if !parents[m.ID] {
				in.leaf[d][m.ID] = true
			}
		}
	}
	return nil
}

// members reads one member per dimension from row i; "" stays "" (total).
func (in *reconcileInput) members(t *table, i int, errs *errorList) ([]string, bool) {
	out := make([]string, len(in.dims))
	ok := true
	for d, dim := range in.dims {
		v := t.get(i, dim.Name)
		if v != "" && !in.known[d][v] {
			errs.add(t.errorf(i, dim.Name, "no such member in dimension %q", dim.Name))
			ok = false
		}
		out[d] = v
	}
	return out, ok
}

func (in *reconcileInput) dimColumns(extra ...string) []string {
	var cols []string
	for _, d := range in.dims {
		cols = append(cols, d.Name)
	}
	return append(cols, extra...)
}

func (in *reconcileInput) readForecasts(path string) error {
	t, err := readTable(path, in.dimColumns("period", "statistical")...)
	if err != nil {
		return err
	}
	var errs errorList
	seen := map[string]int{}
	periods := map[string]bool{}
	for i := range t.rows {
		ms, ok := in.members(t, i, &errs)
		p := t.get(i, "period")
		if p == "" {
			errs.add(t.errorf(i, "period", "empty"))
			ok = false
		}
		row := forecastRow{members: ms, period: p, line: t.lines[i]}
		var e error
		if row.stat, e = t.number(i, "statistical", false); e != nil {
			errs.add(e)
			ok = false
		}
		for _, f := range []struct {
			name string
			dst  *float64
		}{{"commit", &row.commit}, {"variance", &row.variance}, {"statistical_mse", &row.statMSE}, {"commit_mse", &row.commitMSE}} {
			*f.dst = math.NaN()
			if t.has(f.name) {
				if *f.dst, e = t.number(i, f.name, true); e != nil {
					errs.add(e)
					ok = false
				}
			}
		}
		if row.variance <= 0 {
			errs.add(t.errorf(i, "variance", "must be > 0"))
			ok = false
		}
		if !ok {
			continue
		}
		k := strings.Join(ms, "\x00") + "\x00" + p
		if first, dup := seen[k]; dup {
			errs.add(t.errorf(i, "period", "node and period already given on line %d", first))
			continue
		}
		seen[k] = t.lines[i]
		periods[p] = true
		in.fc = append(in.fc, row)
	}
	if err := errs.err(); err != nil {
		return err
	}
	if len(in.fc) == 0 {
		return fmt.Errorf("%w: %s: no forecasts", errBadCSV, path)
	}
	// Cells are the rows whose members are all leaves.
	var cells [][]string
	cellSeen := map[string]bool{}
	for _, r := range in.fc {
		isCell := true
		for d, m := range r.members {
			if !in.leaf[d][m] {
				isCell = false
				break
			}
		}
		k := strings.Join(r.members, "\x00")
		if isCell && !cellSeen[k] {
			cellSeen[k] = true
			cells = append(cells, r.members)
		}
	}
	if in.s, err = reconcile.NewStructure(in.dims, cells); err != nil {
		return err
	}
	for p := range periods {
		in.periods = append(in.periods, p)
	}
	slices.Sort(in.periods)
	in.pIndex = map[string]int{}
	for i, p := range in.periods {
		in.pIndex[p] = i
	}
	return nil
}

// node resolves members ("" = the dimension's root) to a node index.
func (in *reconcileInput) node(ms []string) (int, bool) {
	full := make([]string, len(ms))
	for d, m := range ms {
		full[d] = m
		if m == "" {
			full[d] = in.s.Root(d)
		}
	}
	return in.s.NodeIndex(full)
}

func (in *reconcileInput) readActuals(path string) error {
	t, err := readTable(path, in.dimColumns("period", "value")...)
	in.actuals = t
	return err
}

func (in *reconcileInput) readTargets(path string) error {
	t, err := readTable(path, in.dimColumns("id", "from", "to", "value")...)
	in.targets = t
	return err
}

func (in *reconcileInput) build(opts reconcile.Options, policy reconcile.Policy, closed, residualPath string) (*reconcile.Plan, error) {
	s := in.s
	n, m, P := s.NumNodes(), s.NumCells(), len(in.periods)
	if closed != "" {
		k, ok := in.pIndex[closed]
		if !ok {
			return nil, fmt.Errorf("-closed %q is not a period of the forecasts (%s … %s)", closed, in.periods[0], in.periods[P-1])
		}
		in.closed = k + 1
	}
	nan := func(r, c int) *mat.Dense {
		x := mat.NewDense(r, c, nil)
		for i := 0; i < r; i++ {
			for j := 0; j < c; j++ {
				x.Set(i, j, math.NaN())
			}
		}
		return x
	}
	stat, commit, variance := nan(n, P), nan(n, P), nan(n, P)
	statMSE, commitMSE := make([]float64, n), make([]float64, n)
	for i := range statMSE {
		statMSE[i], commitMSE[i] = math.NaN(), math.NaN()
	}
	var errs errorList
	for _, r := range in.fc {
		i, ok := in.node(r.members)
		if !ok {
			errs.add(fmt.Errorf("%w: forecasts line %d: node %s has no cell below it among the forecast rows", errBadCSV, r.line, strings.Join(r.members, " × ")))
			continue
		}
		q := in.pIndex[r.period]
		stat.Set(i, q, r.stat)
		commit.Set(i, q, r.commit)
		variance.Set(i, q, r.variance)
		if !math.IsNaN(r.statMSE) {
			statMSE[i] = r.statMSE
		}
		if !math.IsNaN(r.commitMSE) {
			commitMSE[i] = r.commitMSE
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	// Actuals for the closed periods.
	var actual *mat.Dense
	if in.closed > 0 {
		if in.actuals == nil {
			return nil, fmt.Errorf("-closed %s needs -actuals", closed)
		}
		actual = nan(m, P)
		t := in.actuals
		for i := range t.rows {
			ms, ok := in.members(t, i, &errs)
			if !ok {
				continue
			}
			node, found := in.node(ms)
			if !found || node < s.NumAggregates() {
				errs.add(t.errorf(i, in.dims[0].Name, "actuals must be given for cells (one leaf per dimension)"))
				continue
			}
			q, found := in.pIndex[t.get(i, "period")]
			if !found {
				errs.add(t.errorf(i, "period", "not a period of the forecasts"))
				continue
			}
			v, err := t.number(i, "value", false)
			if err != nil {
				errs.add(err)
				continue
			}
			actual.Set(node-s.NumAggregates(), q, v)
		}
		for j := 0; j < m; j++ {
			for q := 0; q < in.closed; q++ {
				if math.IsNaN(actual.At(j, q)) {
					errs.add(fmt.Errorf("%w: %s: no actual for cell %s, closed period %s", errBadCSV, t.path, strings.Join(s.Node(s.NumAggregates()+j), " × "), in.periods[q]))
				}
			}
		}
		if err := errs.err(); err != nil {
			return nil, err
		}
	}
	// Every open period needs forecasts: of the cells for bottom-up, of every
	// node otherwise. Closed periods fall back to actuals.
	for i := 0; i < n; i++ {
		for q := in.closed; q < P; q++ {
			if !math.IsNaN(stat.At(i, q)) {
				continue
			}
			if opts.Method == reconcile.BottomUp && i < s.NumAggregates() {
				continue
			}
			errs.add(fmt.Errorf("%w: forecasts: no statistical forecast for node %s, period %s (method %v)", errBadCSV, strings.Join(s.Node(i), " × "), in.periods[q], opts.Method))
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	if opts.Method == reconcile.BottomUp {
		// Aggregates are not used by bottom-up; fill them so reports show sums.
		sums := s.Aggregate(stat.Slice(s.NumAggregates(), n, 0, P))
		for i := 0; i < s.NumAggregates(); i++ {
			for q := 0; q < P; q++ {
				if math.IsNaN(stat.At(i, q)) {
					stat.Set(i, q, sums.At(i, q))
				}
			}
		}
	}
	if actual != nil {
		sums := s.Aggregate(actual.Slice(0, m, 0, in.closed))
		for i := 0; i < n; i++ {
			for q := 0; q < in.closed; q++ {
				if math.IsNaN(stat.At(i, q)) {
					stat.Set(i, q, sums.At(i, q))
				}
			}
		}
	}
	base, err := reconcile.ChooseBase(policy, stat, commit, statMSE, commitMSE)
	if err != nil {
		return nil, err
	}
	// Variances: per node for wls-variance (mean over open periods), per cell
	// and period for the targets (all or nothing).
	var cellVar *mat.Dense
	haveVar := true
	for j := 0; j < m && haveVar; j++ {
		for q := in.closed; q < P; q++ {
			if math.IsNaN(variance.At(s.NumAggregates()+j, q)) {
				haveVar = false
				break
			}
		}
	}
	if haveVar {
		cellVar = mat.NewDense(m, P, nil)
		cellVar.Copy(variance.Slice(s.NumAggregates(), n, 0, P))
		for j := 0; j < m; j++ {
			for q := 0; q < in.closed; q++ {
				cellVar.Set(j, q, 1) // closed periods are not used
			}
		}
	}
	if opts.Method == reconcile.WLSVariance && residualPath == "" {
		opts.Variances = make([]float64, n)
		for i := 0; i < n; i++ {
			var sum float64
			for q := in.closed; q < P; q++ {
				sum += variance.At(i, q)
			}
			opts.Variances[i] = sum / float64(P-in.closed)
			if math.IsNaN(opts.Variances[i]) {
				return nil, fmt.Errorf("%w: forecasts: wls-variance needs a variance for node %s in every open period (or -residuals)", errBadCSV, strings.Join(s.Node(i), " × "))
			}
		}
	}
	if residualPath != "" {
		if opts.Residuals, err = in.readResiduals(residualPath); err != nil {
			return nil, err
		}
	}
	targets := in.targetList(&errs)
	if err := errs.err(); err != nil {
		return nil, err
	}
	return reconcile.BuildPlan(reconcile.PlanInput{
		Structure: s, Base: base, Options: opts, Actual: actual, Closed: in.closed,
		Variance: cellVar, Targets: targets,
	})
}

func (in *reconcileInput) targetList(errs *errorList) []reconcile.Target {
	if in.targets == nil {
		return nil
	}
	t := in.targets
	var out []reconcile.Target
	for i := range t.rows {
		ms, ok := in.members(t, i, errs)
		if !ok {
			continue
		}
		full := make([]string, len(ms))
		for d, mm := range ms {
			full[d] = mm
			if mm == "" {
				full[d] = in.s.Root(d)
			}
		}
		if _, found := in.s.NodeIndex(full); !found {
			errs.add(t.errorf(i, in.dims[0].Name, "node %s has no cells", strings.Join(full, " × ")))
			continue
		}
		from, okF := in.pIndex[t.get(i, "from")]
		if !okF {
			errs.add(t.errorf(i, "from", "not a period of the forecasts"))
		}
		to, okT := in.pIndex[t.get(i, "to")]
		if !okT {
			errs.add(t.errorf(i, "to", "not a period of the forecasts"))
		}
		if okF && okT && to < from {
			errs.add(t.errorf(i, "to", "before from (%s)", t.get(i, "from")))
			continue
		}
		v, err := t.number(i, "value", false)
		if err != nil {
			errs.add(err)
			continue
		}
		w := 0.0
		if t.has("weight") && t.get(i, "weight") != "" {
			if w, err = t.number(i, "weight", false); err != nil || w < 0 {
				errs.add(t.errorf(i, "weight", "want empty or 0 (hard) or > 0 (soft)"))
				continue
			}
		}
		if t.get(i, "id") == "" {
			errs.add(t.errorf(i, "id", "empty"))
			continue
		}
		if !okF || !okT {
			continue
		}
		out = append(out, reconcile.Target{ID: t.get(i, "id"), Node: full, From: from, To: to, Value: v, Weight: w})
	}
	return out
}

func (in *reconcileInput) readResiduals(path string) (*mat.Dense, error) {
	t, err := readTable(path, in.dimColumns("t", "residual")...)
	if err != nil {
		return nil, err
	}
	var errs errorList
	type entry struct {
		node, t int
		v       float64
	}
	var entries []entry
	maxT := 0
	for i := range t.rows {
		ms, ok := in.members(t, i, &errs)
		if !ok {
			continue
		}
		node, found := in.node(ms)
		if !found {
			errs.add(t.errorf(i, in.dims[0].Name, "no such node"))
			continue
		}
		k, err := strconv.Atoi(t.get(i, "t"))
		if err != nil || k < 1 {
			errs.add(t.errorf(i, "t", "want a positive integer"))
			continue
		}
		v, err := t.number(i, "residual", false)
		if err != nil {
			errs.add(err)
			continue
		}
		entries = append(entries, entry{node, k - 1, v})
		maxT = max(maxT, k)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	// Time points where some node has no residual (a method without a
	// fitted value there, e.g. the first steps of naive or seasonal naive, or
	// series of different lengths) are left out: the covariance is estimated
	// from the complete ones, as fabletools' min_trace does (na.omit). A
	// node without any residual is an error.
	n := in.s.NumNodes()
	full := mat.NewDense(maxT, n, nil)
	filled := make([]bool, maxT*n)
	has := make([]bool, n)
	for _, e := range entries {
		if filled[e.t*n+e.node] {
			errs.add(fmt.Errorf("%w: %s: residual for node %s at t = %d given twice", errBadCSV, path, strings.Join(in.s.Node(e.node), " × "), e.t+1))
		}
		full.Set(e.t, e.node, e.v)
		filled[e.t*n+e.node] = true
		has[e.node] = true
	}
	for i, ok := range has {
		if !ok {
			errs.add(fmt.Errorf("%w: %s: no residual for node %s", errBadCSV, path, strings.Join(in.s.Node(i), " × ")))
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	var complete []int
	for k := 0; k < maxT; k++ {
		if !slices.Contains(filled[k*n:(k+1)*n], false) {
			complete = append(complete, k)
		}
	}
	if len(complete) < 2 {
		return nil, fmt.Errorf("%w: %s: %d time point(s) have a residual for every node, need at least 2", errBadCSV, path, len(complete))
	}
	if dropped := maxT - len(complete); dropped > 0 {
		in.notes = append(in.notes, fmt.Sprintf("%s: %d of %d time points lack some node's residual; the error covariance uses the %d complete ones", path, dropped, maxT, len(complete)))
	}
	res := mat.NewDense(len(complete), n, nil)
	for r, k := range complete {
		res.SetRow(r, full.RawRowView(k))
	}
	return res, nil
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', 12, 64) }

func (in *reconcileInput) writePlan(w io.Writer, plan *reconcile.Plan) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(in.dimColumns("period", "closed", "base", "coherent", "reconciled", "coherence_adjustment", "target_adjustment")); err != nil {
		return err
	}
	s := in.s
	for i := 0; i < s.NumNodes(); i++ {
		members := s.Node(i)
		for q, p := range in.periods {
			rec := append(slices.Clone(members), p, strconv.FormatBool(q < in.closed),
				formatFloat(plan.Base.At(i, q)), formatFloat(plan.Coherent.At(i, q)), formatFloat(plan.Reconciled.At(i, q)),
				formatFloat(plan.CoherenceAdjustment(i, q)), formatFloat(plan.TargetAdjustment(i, q)))
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func (in *reconcileInput) writeTargets(w io.Writer, plan *reconcile.Plan) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"id", "value", "hard", "booked", "required", "forecast", "reconciled", "gap", "stddev", "probability", "closed"}); err != nil {
		return err
	}
	for _, o := range plan.Targets {
		if err := cw.Write([]string{o.ID, formatFloat(o.Value), strconv.FormatBool(o.Hard), formatFloat(o.Booked),
			formatFloat(o.Required), formatFloat(o.Forecast), formatFloat(o.Reconciled), formatFloat(o.Gap),
			formatFloat(o.StdDev), formatFloat(o.Probability), strconv.FormatBool(o.Closed)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
