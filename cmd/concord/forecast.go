package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/concord-planning/concord/forecasting"
)

// maxReportedRows caps how many bad input rows are listed.
const maxReportedRows = 50

// errBadInput is returned when the input CSV cannot be used.
var errBadInput = errors.New("unusable input")

// forecastCommand implements `concord forecast`: statistical forecasts for
// every series of a long CSV (series_id, period, value), written as a long
// CSV with one row per series and step. With --structure the input is the
// bottom-level history of a hierarchy (one column per dimension) and every
// node is forecast, in the formats `concord reconcile` reads.
func forecastCommand(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "forecast", `Usage: concord forecast --in series.csv --horizon H --frequency M [--out forecasts.csv] [flags]
       concord forecast --structure structure.csv --in cells.csv --horizon H --frequency M [--out forecasts.csv] [--residuals-out residuals.csv] [flags]

With --structure (dimension,member,parent, as concord reconcile reads it), --in holds the
bottom-level history: one column per dimension naming a leaf, --period-column and
--value-column. The history is summed to every node of the hierarchy and every node is
forecast. The output has one column per dimension (the total written as the dimension's
root, e.g. Total), period and statistical (and variance), and --residuals-out one column
per dimension, t, period and residual: what concord reconcile -forecasts and -residuals read.`)
	in := fs.String("in", "", "input CSV with columns series_id, period, value, or with --structure one column per dimension, period, value (\"-\" = stdin)")
	structurePath := fs.String("structure", "", "structure CSV (dimension,member,parent): forecast every node of the hierarchy from the cells' history in --in")
	periodCol := fs.String("period-column", "period", "with --structure: the column of --in holding the period")
	valueCol := fs.String("value-column", "value", "with --structure: the column of --in holding the value")
	origins := fs.Int("backtest-origins", 0, "rolling-origin evaluation: forecast from this many origins per series, the last leaving --horizon periods after it; rows gain origin and actual")
	step := fs.Int("backtest-step", 1, "with --backtest-origins: periods between consecutive origins")
	window := fs.Int("backtest-window", 0, "with --backtest-origins: fit each origin to its last W periods only (rolling window); 0 = all periods up to the origin (expanding)")
	transform := fs.String("transform", "none", "none, log, log-where-positive, or a Box–Cox λ in [0, 1]: fit on the transformed data (strictly positive; log-where-positive leaves series with a value ≤ 0 untransformed), forecasts transformed back with the bias adjustment of the mean; log keeps forecasts and bounds positive")
	end := fs.String("end", "", "last period of history to use (later rows are read and checked but not fitted), e.g. 2015-Q4")
	out := fs.String("out", "-", "output CSV (\"-\" = stdout)")
	horizon := fs.Int("horizon", 0, "number of periods to forecast (required)")
	freq := fs.String("frequency", "", "Y, Q, M, W, D or a number = seasonal period (required)")
	levels := fs.String("levels", "80,95", "prediction interval levels in percent, comma-separated")
	method := fs.String("method", "auto", "auto (ETS by AICc; on the log scale where the data are positive and that backtests better on the training data), backtest, backtest-batch, ensemble, combination, combination-cv, ets, arima, theta, theta-classic, naive, snaive, drift, mean, linear, croston, sba, tsb")
	seed := fs.Uint64("seed", 1, "seed of the simulated sample paths (--samples)")
	samples := fs.Int("samples", 0, "number of simulated sample paths per series written to --samples-out")
	samplesOut := fs.String("samples-out", "", "CSV for sample paths: series_id, path, h, period, value")
	residualsOut := fs.String("residuals-out", "", "CSV for the in-sample one-step residuals: series_id, t, period, residual")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var problems []error
	if *in == "" {
		problems = append(problems, errors.New("--in is required"))
	}
	if *horizon < 1 {
		problems = append(problems, fmt.Errorf("--horizon must be ≥ 1, got %d", *horizon))
	}
	period, err := parseFrequency(*freq)
	if err != nil {
		problems = append(problems, err)
	}
	lv, err := parseLevels(*levels)
	if err != nil {
		problems = append(problems, err)
	}
	lambda, err := parseTransform(*transform)
	if err != nil {
		problems = append(problems, err)
	}
	wherePositive := strings.EqualFold(strings.TrimSpace(*transform), "log-where-positive")
	var fitFn fitFunc
	if *method != "backtest-batch" {
		if fitFn, err = methodFunc(*method, lambda); err != nil {
			problems = append(problems, err)
		} else if wherePositive {
			transformed := fitFn
			plain, _ := methodFunc(*method, nil)
			fitFn = func(y []float64, m int) (*forecasting.Model, error) {
				if slices.Min(y) > 0 {
					return transformed(y, m)
				}
				return plain(y, m)
			}
		}
	} else if *origins > 0 {
		problems = append(problems, errors.New("--method backtest-batch chooses one model from all the data it is given: with --backtest-origins later origins' data would choose for earlier ones; run it once per origin with --end instead"))
	} else if lambda != nil {
		problems = append(problems, errors.New("--method backtest-batch scores its candidates on the data as given: drop --transform"))
	}
	var endKind periodKind
	var endOrd int
	if *end != "" {
		if endKind, endOrd, err = parsePeriod(*end); err != nil {
			problems = append(problems, fmt.Errorf("--end %q: %v", *end, err))
		}
	}
	switch {
	case *origins < 0 || *step < 1 || *window < 0:
		problems = append(problems, fmt.Errorf("--backtest-origins (%d) and --backtest-window (%d) must be ≥ 0, --backtest-step (%d) ≥ 1", *origins, *window, *step))
	case *origins > 0 && (*residualsOut != "" || *samples > 0):
		problems = append(problems, errors.New("--backtest-origins writes forecasts only: drop --residuals-out and --samples"))
	case *origins == 0 && (*window > 0 || *step != 1):
		problems = append(problems, errors.New("--backtest-step and --backtest-window need --backtest-origins"))
	}
	if *samples < 0 || (*samples > 0 && *samplesOut == "") {
		problems = append(problems, errors.New("--samples needs a positive count and --samples-out"))
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(env.stderr, "concord forecast: %v\n", p)
		}
		fs.Usage()
		return errUsage
	}

	var r io.Reader = env.stdin
	if *in != "-" {
		f, err := os.Open(*in)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	var (
		series []*inputSeries
		dims   []string // with --structure: the dimension columns
	)
	if *structurePath != "" {
		var cut func([]*inputSeries) error
		if *end != "" {
			cut = func(s []*inputSeries) error { return cutAt(s, endKind, endOrd, *end) }
		}
		h, nodes, err := readHierarchy(*structurePath, r, *in, *periodCol, *valueCol, cut)
		if err != nil {
			return err
		}
		series, dims = nodes, h.dim
	} else {
		if series, err = readSeries(r, env.stderr); err != nil {
			return err
		}
		if *end != "" {
			if err := cutAt(series, endKind, endOrd, *end); err != nil {
				return err
			}
		}
	}

	var failed []error
	if *origins > 0 {
		var short []error
		series, short = backtestSeries(series, *origins, *step, *window, *horizon)
		failed = append(failed, short...)
	}
	if *method == "backtest-batch" {
		cand, report, err := chooseForBatch(ctx, env, series, period)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stderr, "concord forecast: %s\n", report)
		fitFn = func(y []float64, m int) (*forecasting.Model, error) {
			return forecasting.Auto(y, m, forecasting.AutoOptions{Selection: forecasting.SelectCandidate, Candidate: cand})
		}
	}
	results := make([]seriesResult, len(series))
	if err := forecastAll(ctx, env, series, results, func(s *inputSeries) (*forecasting.Model, error) {
		return fitFn(s.values, period)
	}, *horizon, lv, *samples, *seed); err != nil {
		return err
	}

	w := env.stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if err := writeForecasts(w, dims, series, results, lv); err != nil {
		return err
	}
	if *residualsOut != "" {
		f, err := os.Create(*residualsOut)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := writeResiduals(f, dims, series, results); err != nil {
			return err
		}
	}
	if *samples > 0 {
		f, err := os.Create(*samplesOut)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := writeSamples(f, dims, series, results); err != nil {
			return err
		}
	}
	for i, r := range results {
		if r.err != nil {
			where := ""
			if series[i].origin != "" {
				where = ", origin " + series[i].origin
			}
			failed = append(failed, fmt.Errorf("series %q%s: %w", series[i].id, where, r.err))
		}
	}
	if len(failed) > 0 {
		for _, e := range failed {
			fmt.Fprintf(env.stderr, "concord forecast: %v\n", e)
		}
		if *origins > 0 {
			return fmt.Errorf("%d series or origins could not be forecast", len(failed))
		}
		return fmt.Errorf("%d of %d series could not be forecast", len(failed), len(series))
	}
	return nil
}

// parseFrequency maps Y/Q/M/W/D or a number to the seasonal period. The
// labels of future periods follow the input's own period format.
func parseFrequency(s string) (int, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "Y", "A":
		return 1, nil
	case "Q":
		return 4, nil
	case "M":
		return 12, nil
	case "W":
		return 52, nil
	case "D":
		return 7, nil
	case "":
		return 0, errors.New("--frequency is required (Y, Q, M, W, D or a number)")
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 {
		return 0, fmt.Errorf("--frequency %q: want Y, Q, M, W, D or a positive integer", s)
	}
	return n, nil
}

func parseLevels(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(v > 0 && v < 100) {
			return nil, fmt.Errorf("--levels: %q is not a percentage in (0, 100)", f)
		}
		out = append(out, v)
	}
	return out, nil
}

type fitFunc func(y []float64, m int) (*forecasting.Model, error)

// parseTransform reads --transform: nil for none, else the Box–Cox λ.
func parseTransform(s string) (*float64, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "none":
		return nil, nil
	case "log", "log-where-positive":
		return new(0.0), nil
	}
	l, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(l >= 0 && l <= 1) {
		return nil, fmt.Errorf("--transform %q: want none, log, log-where-positive or a Box–Cox λ in [0, 1]", s)
	}
	return &l, nil
}

// methodFunc returns the fit of --method; with lambda the method is fitted
// to the Box–Cox transform of the data (single methods through
// Spec.BoxCox, which restricts ETS to additive components as R does; the
// selections through forecasting.TransformBoxCox).
func methodFunc(name string, lambda *float64) (fitFunc, error) {
	fit, err := untransformedFunc(name, lambda)
	if err != nil || lambda == nil || !selection(name) {
		return fit, err
	}
	return func(y []float64, m int) (*forecasting.Model, error) {
		return forecasting.TransformBoxCox(y, m, *lambda, func(z []float64) (*forecasting.Model, error) { return fit(z, m) })
	}, nil
}

func selection(name string) bool {
	switch name {
	case "auto", "backtest", "ensemble", "combination", "combination-cv":
		return true
	}
	return false
}

func untransformedFunc(name string, lambda *float64) (fitFunc, error) {
	switch name {
	case "auto":
		// ETS by AICc, on the log scale where the data are strictly
		// positive and that validates better on the training data; with
		// --transform the user has chosen the scale.
		sel := forecasting.SelectICLog
		if lambda != nil {
			sel = forecasting.SelectIC
		}
		return func(y []float64, m int) (*forecasting.Model, error) {
			return forecasting.Auto(y, m, forecasting.AutoOptions{Selection: sel})
		}, nil
	case "backtest":
		return func(y []float64, m int) (*forecasting.Model, error) {
			return forecasting.Auto(y, m, forecasting.AutoOptions{Selection: forecasting.SelectBacktest})
		}, nil
	case "ensemble":
		return func(y []float64, m int) (*forecasting.Model, error) {
			return forecasting.Auto(y, m, forecasting.AutoOptions{Selection: forecasting.SelectEnsemble})
		}, nil
	case "combination":
		return func(y []float64, m int) (*forecasting.Model, error) {
			return forecasting.Auto(y, m, forecasting.AutoOptions{Selection: forecasting.SelectCombination})
		}, nil
	case "combination-cv":
		return func(y []float64, m int) (*forecasting.Model, error) {
			return forecasting.Auto(y, m, forecasting.AutoOptions{Selection: forecasting.SelectCombinationCV})
		}, nil
	}
	switch meth := forecasting.Method(name); meth {
	case forecasting.MethodETS, forecasting.MethodARIMA, forecasting.MethodTheta, forecasting.MethodThetaClassic, forecasting.MethodNaive, forecasting.MethodSNaive,
		forecasting.MethodDrift, forecasting.MethodMean, forecasting.MethodLinear, forecasting.MethodCroston,
		forecasting.MethodSBA, forecasting.MethodTSB:
		return func(y []float64, m int) (*forecasting.Model, error) {
			return forecasting.Fit(y, m, forecasting.Spec{Method: meth, BoxCox: lambda})
		}, nil
	}
	return nil, fmt.Errorf("--method %q is not one of auto, backtest, backtest-batch, ensemble, combination, combination-cv, ets, arima, theta, theta-classic, naive, snaive, drift, mean, linear, croston, sba, tsb", name)
}

// periodKind is the textual format of a period.
type periodKind int

const (
	kindIndex   periodKind = iota // integer
	kindYear                      // YYYY
	kindQuarter                   // YYYY-Qn
	kindMonth                     // YYYY-MM
	kindDate                      // YYYY-MM-DD
)

var kindNames = [...]string{"integer index", "YYYY", "YYYY-Qn", "YYYY-MM", "YYYY-MM-DD"}

// parsePeriod returns the format of s and an ordinal that increases by one
// per period (days for dates).
func parsePeriod(s string) (periodKind, int, error) {
	s = strings.TrimSpace(s)
	switch {
	case len(s) == 4 && allDigits(s):
		y, _ := strconv.Atoi(s)
		return kindYear, y, nil
	case len(s) == 7 && s[4] == '-' && (s[5] == 'Q' || s[5] == 'q') && allDigits(s[:4]) && s[6] >= '1' && s[6] <= '4':
		y, _ := strconv.Atoi(s[:4])
		return kindQuarter, y*4 + int(s[6]-'1'), nil
	case len(s) == 7 && s[4] == '-' && allDigits(s[:4]) && allDigits(s[5:]):
		y, _ := strconv.Atoi(s[:4])
		m, _ := strconv.Atoi(s[5:])
		if m < 1 || m > 12 {
			return 0, 0, fmt.Errorf("month %d out of range", m)
		}
		return kindMonth, y*12 + m - 1, nil
	case len(s) == 10:
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return 0, 0, err
		}
		return kindDate, int(t.Unix() / 86400), nil
	}
	i, err := strconv.Atoi(s)
	if err != nil {
		return 0, 0, fmt.Errorf("want YYYY, YYYY-Qn, YYYY-MM, YYYY-MM-DD or an integer")
	}
	return kindIndex, i, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func formatPeriod(k periodKind, ord int) string {
	switch k {
	case kindYear:
		return strconv.Itoa(ord)
	case kindQuarter:
		return fmt.Sprintf("%04d-Q%d", floorDiv(ord, 4), ord-4*floorDiv(ord, 4)+1)
	case kindMonth:
		return fmt.Sprintf("%04d-%02d", floorDiv(ord, 12), ord-12*floorDiv(ord, 12)+1)
	case kindDate:
		return time.Unix(int64(ord)*86400, 0).UTC().Format(time.DateOnly)
	}
	return strconv.Itoa(ord)
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// inputSeries is one series read from the input, in period order.
type inputSeries struct {
	id      string
	members []string // with --structure: the node's member per dimension
	// With --backtest-origins: the last training period and the values
	// that followed it (up to the horizon).
	origin string
	actual []float64
	kind   periodKind
	ords   []int
	values []float64
	delta  int // ordinal distance between consecutive periods
}

type rowError struct {
	line  int
	field string
	value string
	msg   string
}

func (e rowError) String() string {
	return fmt.Sprintf("line %d, field %s, value %q: %s", e.line, e.field, e.value, e.msg)
}

// readSeries parses the long CSV. It reports every bad row (capped at
// maxReportedRows) to stderr and returns errBadInput when any row is bad.
func readSeries(r io.Reader, stderr io.Writer) ([]*inputSeries, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: reading header: %v", errBadInput, err)
	}
	col := map[string]int{}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	var missing []string
	for _, c := range []string{"series_id", "period", "value"} {
		if _, ok := col[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: header lacks column(s) %s (found %s)", errBadInput, strings.Join(missing, ", "), strings.Join(head, ", "))
	}
	ci, cp, cv := col["series_id"], col["period"], col["value"]
	need := max(ci, cp, cv) + 1
	var bad []rowError
	nBad := 0
	report := func(e rowError) {
		nBad++
		if len(bad) < maxReportedRows {
			bad = append(bad, e)
		}
	}
	byID := map[string]*inputSeries{}
	var order []*inputSeries
	lines := map[*inputSeries][]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				report(rowError{line: pe.Line, field: "-", value: "", msg: pe.Err.Error()})
				continue
			}
			return nil, err
		}
		if len(rec) < need {
			report(rowError{line: line, field: "-", value: strings.Join(rec, ","), msg: fmt.Sprintf("row has %d fields, need %d", len(rec), need)})
			continue
		}
		id := strings.TrimSpace(rec[ci])
		ok := true
		if id == "" {
			report(rowError{line: line, field: "series_id", value: rec[ci], msg: "empty"})
			ok = false
		}
		kind, ord, perr := parsePeriod(rec[cp])
		if perr != nil {
			report(rowError{line: line, field: "period", value: rec[cp], msg: perr.Error()})
			ok = false
		}
		v, verr := strconv.ParseFloat(strings.TrimSpace(rec[cv]), 64)
		if verr != nil {
			report(rowError{line: line, field: "value", value: rec[cv], msg: "not a number"})
			ok = false
		} else if math.IsNaN(v) || math.IsInf(v, 0) {
			report(rowError{line: line, field: "value", value: rec[cv], msg: "not finite"})
			ok = false
		}
		if !ok {
			continue
		}
		s := byID[id]
		if s == nil {
			s = &inputSeries{id: id, kind: kind}
			byID[id] = s
			order = append(order, s)
		} else if s.kind != kind {
			report(rowError{line: line, field: "period", value: rec[cp], msg: fmt.Sprintf("format differs from the series' earlier periods (%s)", kindNames[s.kind])})
			continue
		}
		s.ords = append(s.ords, ord)
		s.values = append(s.values, v)
		lines[s] = append(lines[s], line)
	}
	for _, s := range order {
		orderSeries(s, lines[s], func(line int, value, msg string) {
			report(rowError{line: line, field: "period", value: value, msg: msg})
		})
	}
	if nBad > 0 {
		for _, e := range bad {
			fmt.Fprintf(stderr, "concord forecast: bad row: %s\n", e)
		}
		if nBad > len(bad) {
			fmt.Fprintf(stderr, "concord forecast: … and %d more bad rows\n", nBad-len(bad))
		}
		return nil, fmt.Errorf("%w: %d bad rows", errBadInput, nBad)
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("%w: no data rows", errBadInput)
	}
	return order, nil
}

// cutAt drops every period after end (its format and ordinal) from each
// series. A series whose periods have another format, or that starts after
// end, is an error.
func cutAt(series []*inputSeries, kind periodKind, ord int, end string) error {
	var errs []error
	for _, s := range series {
		if s.kind != kind {
			errs = append(errs, fmt.Errorf("--end %q is a %s but series %q has %s periods", end, kindNames[kind], s.id, kindNames[s.kind]))
			continue
		}
		k, _ := slices.BinarySearch(s.ords, ord+1)
		if k == 0 {
			errs = append(errs, fmt.Errorf("--end %s: series %q starts later, at %s", end, s.id, formatPeriod(s.kind, s.ords[0])))
			continue
		}
		s.ords, s.values = s.ords[:k], s.values[:k]
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", errBadInput, errors.Join(errs...))
	}
	return nil
}

// backtestSeries expands every series into its rolling-origin training
// sets: k origins, the last leaving h values after it, each step periods
// before the next; with window > 0 each training set is the window values
// up to its origin. A series too short for k origins (at least 2 training
// values each) gives an error and no training sets.
func backtestSeries(series []*inputSeries, k, step, window, h int) ([]*inputSeries, []error) {
	var out []*inputSeries
	var errs []error
	for _, s := range series {
		n := len(s.values)
		first := n - h - (k-1)*step
		if first < 2 || (window > 0 && first < window) {
			need := max(2, window) + h + (k-1)*step
			errs = append(errs, fmt.Errorf("series %q: %d values, %d origins %d apart with horizon %d need %d", s.id, n, k, step, h, need))
			continue
		}
		for o := first; o <= n-h; o += step {
			start := 0
			if window > 0 {
				start = o - window
			}
			out = append(out, &inputSeries{id: s.id, members: s.members, kind: s.kind, delta: s.delta,
				ords: s.ords[start:o], values: s.values[start:o], origin: formatPeriod(s.kind, s.ords[o-1]), actual: s.values[o : o+h]})
		}
	}
	return out, errs
}

// orderSeries sorts s by period and sets its step; duplicates and gaps are
// reported with the line of the offending row (lines[i] is the line of the
// i-th value as read).
func orderSeries(s *inputSeries, lines []int, report func(line int, value, msg string)) {
	idx := make([]int, len(s.ords))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return s.ords[idx[a]] < s.ords[idx[b]] })
	ords := make([]int, len(idx))
	vals := make([]float64, len(idx))
	for i, j := range idx {
		ords[i], vals[i] = s.ords[j], s.values[j]
	}
	s.delta = 1
	if s.kind == kindDate && len(ords) > 1 {
		s.delta = ords[1] - ords[0]
	}
	for i := 1; i < len(ords); i++ {
		d := ords[i] - ords[i-1]
		switch {
		case d == 0:
			report(lines[idx[i]], formatPeriod(s.kind, ords[i]), fmt.Sprintf("duplicate period in series %q", s.id))
		case d != s.delta:
			report(lines[idx[i]], formatPeriod(s.kind, ords[i]), fmt.Sprintf("gap in series %q after %s", s.id, formatPeriod(s.kind, ords[i-1])))
		}
	}
	s.ords, s.values = ords, vals
}

type seriesResult struct {
	fc        forecasting.Forecast
	samples   [][]float64
	residuals []float64 // in-sample one-step residuals y − fitted
	err       error
}

// forecastAll fits and forecasts every series on a pool of
// runtime.GOMAXPROCS(0) workers, reporting progress on stderr
// (parallelEach).
func forecastAll(ctx context.Context, env *environment, series []*inputSeries, results []seriesResult,
	fit func(*inputSeries) (*forecasting.Model, error), h int, levels []float64, samples int, seed uint64) error {
	return parallelEach(ctx, env, len(series), "forecasting", func(i int) {
		s := series[i]
		md, err := fit(s)
		if err == nil {
			results[i].fc, err = md.Forecast(h, levels)
			results[i].residuals = md.Residuals()
			if err == nil && samples > 0 {
				hs := fnv.New64a()
				hs.Write([]byte(s.id))
				results[i].samples = md.Simulate(h, samples, rand.New(rand.NewPCG(seed, hs.Sum64())))
			}
		}
		results[i].err = err
	})
}

// parallelEach runs do(0..n−1) on a pool of runtime.GOMAXPROCS(0) workers.
// Progress goes to stderr: a bar when stderr is a terminal, otherwise one
// line at every tenth of the work ("forecasting: 578 of 5775 (10%)"), so a
// long run under a scheduler or in a log shows where it is. When ctx is
// cancelled no further index starts and ctx's error is returned once the
// running ones finish.
func parallelEach(ctx context.Context, env *environment, n int, description string, do func(i int)) error {
	bar := progressBar(env, n, description)
	var (
		mu   sync.Mutex // orders the progress lines; guards done
		done int
	)
	report := func() {
		if bar != nil {
			_ = bar.Add(1)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		done++
		if done*10/n != (done-1)*10/n {
			fmt.Fprintf(env.stderr, "%s: %d of %d (%d%%)\n", description, done, n, done*100/n)
		}
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Go(func() {
			for i := range jobs {
				do(i)
				report()
			}
		})
	}
	var err error
loop:
	for i := range n {
		if err = ctx.Err(); err != nil {
			break // select picks at random among ready cases: check first
		}
		select {
		case jobs <- i:
		case <-ctx.Done():
			err = ctx.Err()
			break loop
		}
	}
	close(jobs)
	wg.Wait()
	if bar != nil {
		_ = bar.Finish()
	}
	return err
}

// chooseForBatch scores every candidate of forecasting.BacktestCandidates
// on each series' own data (a rolling-origin backtest inside it: nothing
// after a series' last value is seen) and returns the candidate with the
// lowest mean MASE over the batch, with a one-line report of the scores.
func chooseForBatch(ctx context.Context, env *environment, series []*inputSeries, m int) (*forecasting.BacktestCandidate, string, error) {
	scores := make([][]forecasting.BacktestCandidate, len(series))
	if err := parallelEach(ctx, env, len(series), "backtesting", func(i int) {
		scores[i], _ = forecasting.BacktestCandidates(series[i].values, m, forecasting.AutoOptions{})
	}); err != nil {
		return nil, "", err
	}
	var scored [][]forecasting.BacktestCandidate
	for _, sc := range scores {
		if sc != nil {
			scored = append(scored, sc)
		}
	}
	best, mean, used, err := forecasting.BatchChoice(scored)
	if err != nil {
		return nil, "", fmt.Errorf("--method backtest-batch: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "backtest-batch chose %s for all %d series: mean backtest MASE over the %d series every candidate could be scored on:", scored[0][best].Name, len(series), used)
	for j, c := range scored[0] {
		fmt.Fprintf(&b, " %s %.4f", c.Name, mean[j])
	}
	c := scored[0][best]
	return &c, b.String(), nil
}

// progressBar returns a bar counting to total on stderr when stderr is a
// terminal, and nil otherwise (the caller then reports in plain lines).
func progressBar(env *environment, total int, description string) *progressbar.ProgressBar {
	f, ok := env.stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return progressbar.NewOptions(total, progressbar.OptionSetWriter(env.stderr),
		progressbar.OptionSetDescription(description), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
}

func levelName(l float64) string { return strconv.FormatFloat(l, 'f', -1, 64) }

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', 10, 64) }

// key returns the leading columns of s's output rows: its id, or with
// --structure its member per dimension.
func (s *inputSeries) key() []string {
	if s.members != nil {
		return slices.Clip(s.members) // callers append
	}
	return []string{s.id}
}

// keyHeader returns the leading output columns: series_id, or the dimension
// columns.
func keyHeader(dims []string) []string {
	if dims != nil {
		return slices.Clone(dims)
	}
	return []string{"series_id"}
}

func zQuantile(level float64) float64 { return distuv.UnitNormal.Quantile(0.5 + level/200) }

func (s *inputSeries) future(step int) string {
	last := s.ords[len(s.ords)-1]
	return formatPeriod(s.kind, last+step*s.delta)
}

// writeForecasts writes one row per series and step. Without dims: series_id,
// h, period, model, forecast and the bounds. With dims (--structure): one
// column per dimension, h, period, model, statistical, variance (implied by
// the first interval level; empty when the interval has no width) and the
// bounds, as `concord reconcile -forecasts` reads them. Backtest series
// (--backtest-origins) add origin after the key and actual after the
// forecast.
func writeForecasts(w io.Writer, dims []string, series []*inputSeries, results []seriesResult, levels []float64) error {
	cw := csv.NewWriter(w)
	backtest := len(series) > 0 && series[0].actual != nil
	head := keyHeader(dims)
	if backtest {
		head = append(head, "origin")
	}
	head = append(head, "h", "period", "model")
	if dims != nil {
		head = append(head, "statistical", "variance")
	} else {
		head = append(head, "forecast")
	}
	if backtest {
		head = append(head, "actual")
	}
	fixed := len(head)
	for _, l := range levels {
		head = append(head, "lo"+levelName(l), "hi"+levelName(l))
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for i, s := range series {
		r := results[i]
		if r.err != nil {
			continue
		}
		for j, mean := range r.fc.Mean {
			row := s.key()
			if backtest {
				row = append(row, s.origin)
			}
			row = append(row, strconv.Itoa(j+1), s.future(j+1), r.fc.Model.Name, fmtFloat(mean))
			if dims != nil {
				v := ""
				if iv := r.fc.Intervals[0]; !math.IsNaN(intervalVariance(iv.Lower[j], iv.Upper[j], iv.Level)) {
					v = fmtFloat(intervalVariance(iv.Lower[j], iv.Upper[j], iv.Level))
				}
				row = append(row, v)
			}
			if backtest {
				row = append(row, fmtFloat(s.actual[j]))
			}
			for _, iv := range r.fc.Intervals {
				row = append(row, fmtFloat(iv.Lower[j]), fmtFloat(iv.Upper[j]))
			}
			if len(row) != fixed+2*len(levels) {
				return fmt.Errorf("series %q: %d interval levels, want %d", s.id, len(r.fc.Intervals), len(levels))
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeResiduals writes the in-sample one-step residuals of every series
// that could be fitted, t = 1..n with its period label; steps where the
// method has no fitted value (e.g. the first for naive) are left out. The
// leading columns are series_id, or with dims one column per dimension (what
// `concord reconcile -residuals` reads).
func writeResiduals(w io.Writer, dims []string, series []*inputSeries, results []seriesResult) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(append(keyHeader(dims), "t", "period", "residual")); err != nil {
		return err
	}
	for i, s := range series {
		for t, v := range results[i].residuals {
			if math.IsNaN(v) {
				continue
			}
			if err := cw.Write(append(s.key(), strconv.Itoa(t+1), formatPeriod(s.kind, s.ords[t]), fmtFloat(v))); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func writeSamples(w io.Writer, dims []string, series []*inputSeries, results []seriesResult) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(append(keyHeader(dims), "path", "h", "period", "value")); err != nil {
		return err
	}
	for i, s := range series {
		for p, path := range results[i].samples {
			for j, v := range path {
				if err := cw.Write(append(s.key(), strconv.Itoa(p+1), strconv.Itoa(j+1), s.future(j+1), fmtFloat(v))); err != nil {
					return err
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
