package reforecast

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/forecasting"
	"github.com/concord-planning/concord/forecasting/reconcile"
	"gonum.org/v1/gonum/mat"
)

// Input is what a run forecasts.
type Input struct {
	RunID, Plan, Metric string
	// Cells and History: History[i] is the monthly history of Cells[i],
	// from period First to the last closed period, all of equal length. A
	// history may end in NaN: closed months the cell has no actual for (a
	// close with allow_missing, actuals reporting late). Its model is then
	// fitted on the months up to its last actual, not on zeros, and its
	// published series starts with the first missing month: the forecast
	// of the missing months (what the query side counts for them, never
	// zero) and then of the common horizon.
	Cells   []dimension.Node
	First   fiscal.Period
	History [][]float64
	// Horizon is the number of months forecast after the history.
	Horizon int
	// SeasonalPeriod is 12 for monthly data (the default).
	SeasonalPeriod int
	// Seed is recorded with the run (the methods used are deterministic;
	// simulation from the stored models uses it).
	Seed uint64
	// DataPosition is the log position the history was read at.
	DataPosition eventstore.Position
	// Workers bounds the parallelism (default: GOMAXPROCS).
	Workers int
	// Methods, if set, holds per cell the method pinned for it
	// (plan.ModelPinned), "" for the automatic choice; Pins the pin's
	// description, recorded in the series' Detail.
	Methods []forecasting.Method
	Pins    []string
	// NonNegative clips forecasts and interval bounds at 0, for a metric
	// that cannot be negative (revenue, units).
	NonNegative bool
	// Method is the forecasting method of every cell; "" or "auto" lets
	// forecasting.Auto choose each cell's (what published runs do).
	Method forecasting.Method
}

// Model is the run's document, stored in forecast.Published.Model: what
// holds for every cell. Each cell's own model and row of the error
// covariance are in its series' Detail.
type Model struct {
	Method string `json:"method"` // "auto", or the method every cell was fitted with
	// Lambda is the covariance's shrinkage intensity; Rank the number of
	// columns of each cell's covariance factor row.
	Lambda float64 `json:"lambda"`
	Rank   int     `json:"rank"`
	// Aggregates are the aggregates (the total, each member of each
	// dimension) whose own forecasts the cells' were made coherent with
	// (see coherence), in the order the cells' Detail.Aggregates name
	// them; absent when none was.
	Aggregates []Aggregate `json:"aggregates,omitempty"`
	// Cells and Covariance are set only in runs published in one event,
	// before runs had parts: then they held every cell's model and the
	// whole covariance. Read takes them from either place.
	Cells      []forecasting.Description `json:"cells,omitempty"`
	Covariance *Covariance               `json:"covariance,omitempty"`
}

// Detail is the document stored in a cell's forecast.Series.Detail.
type Detail struct {
	Model    forecasting.Description `json:"model"`            // reproduces the model's forecast with forecasting.Restore
	Variance float64                 `json:"variance"`         // the cell's entry of Covariance.Diag
	Factor   []float64               `json:"factor"`           // the cell's row of Covariance.Factor
	Pinned   string                  `json:"pinned,omitempty"` // the pin that chose the method (Input.Pins), absent when chosen automatically
	// Coherence is what the published mean and bounds add to the model's
	// forecast at each step to be coherent with the aggregates' forecasts
	// (Model.Aggregates); absent when nothing.
	Coherence []float64 `json:"coherence,omitempty"`
	// Aggregates lists the indices in Model.Aggregates of the aggregates
	// that sum the cell.
	Aggregates []int `json:"aggregates,omitempty"`
}

// Aggregate is the forecast-error model of an aggregate's own forecast,
// which the cells' forecasts were made coherent with: its h-step error
// variance (what its 95% interval implies) from the run's first period
// on. A node whose total is exactly the aggregate (the same cells) has
// the aggregate's forecast as its mean, up to the reconciliation, and its
// variance: the query side reads the variance of such a node's spans from
// it rather than from its cells' models (projections/view/uncertainty.go).
// An aggregate whose forecast is flat is not one: it sees no trend or
// season its cells' models miss, and the cells are not made coherent with
// it.
type Aggregate struct {
	Node     string    `json:"node"`     // "" for the total, else "dimension=member"
	Model    string    `json:"model"`    // the model forecasting.Auto chose for its sum
	Cells    int       `json:"cells"`    // the number of cells it sums
	Variance []float64 `json:"variance"` // by step
}

// Covariance is a diagonal-plus-low-rank covariance of cells:
// Diag + Factor·Factorᵀ.
type Covariance struct {
	Diag   []float64   `json:"diag"`
	Factor [][]float64 `json:"factor"` // one row per cell, k columns
	Lambda float64     `json:"lambda"` // the shrinkage intensity
}

// Read returns the cells' model descriptions and error covariance of a run
// that Run produced, in Series order, whether the run was published in
// parts (each cell's Detail) or in one event (the Model document). It
// returns ErrInput when the documents are not Run's.
func Read(p forecast.Published) ([]forecasting.Description, Covariance, error) {
	var doc Model
	if err := json.Unmarshal(p.Model, &doc); err != nil {
		return nil, Covariance{}, fmt.Errorf("%w: run %s: model document: %v", ErrInput, p.RunID, err)
	}
	if doc.Covariance != nil {
		if len(doc.Cells) != len(p.Series) || len(doc.Covariance.Diag) != len(p.Series) || len(doc.Covariance.Factor) != len(p.Series) {
			return nil, Covariance{}, fmt.Errorf("%w: run %s: %d series, %d cell models, %d variances", ErrInput, p.RunID, len(p.Series), len(doc.Cells), len(doc.Covariance.Diag))
		}
		return doc.Cells, *doc.Covariance, nil
	}
	cells := make([]forecasting.Description, len(p.Series))
	cov := Covariance{Diag: make([]float64, len(p.Series)), Factor: make([][]float64, len(p.Series)), Lambda: doc.Lambda}
	for i, s := range p.Series {
		var d Detail
		if err := json.Unmarshal(s.Detail, &d); err != nil {
			return nil, Covariance{}, fmt.Errorf("%w: run %s, series %d (%v): detail: %v", ErrInput, p.RunID, i+1, s.Node, err)
		}
		cells[i], cov.Diag[i], cov.Factor[i] = d.Model, d.Variance, d.Factor
	}
	return cells, cov, nil
}

// ReadAggregates returns the aggregates a run that Run produced made its
// cells coherent with (Model.Aggregates) and, in Series order, the
// indices of those that sum each series (Detail.Aggregates); none for a
// run without them.
func ReadAggregates(p forecast.Published) ([]Aggregate, [][]int, error) {
	var doc Model
	if err := json.Unmarshal(p.Model, &doc); err != nil {
		return nil, nil, fmt.Errorf("%w: run %s: model document: %v", ErrInput, p.RunID, err)
	}
	if len(doc.Aggregates) == 0 {
		return nil, nil, nil
	}
	member := make([][]int, len(p.Series))
	for i, s := range p.Series {
		var d Detail
		if err := json.Unmarshal(s.Detail, &d); err != nil {
			return nil, nil, fmt.Errorf("%w: run %s, series %d (%v): detail: %v", ErrInput, p.RunID, i+1, s.Node, err)
		}
		for _, g := range d.Aggregates {
			if g < 0 || g >= len(doc.Aggregates) {
				return nil, nil, fmt.Errorf("%w: run %s, series %d (%v): aggregate %d of %d", ErrInput, p.RunID, i+1, s.Node, g, len(doc.Aggregates))
			}
		}
		member[i] = d.Aggregates
	}
	return doc.Aggregates, member, nil
}

// maxRank bounds the rank of the stored covariance factor.
const maxRank = 8

// ErrInput is returned (wrapped) for an unusable Input.
var ErrInput = errors.New("reforecast: invalid input")

// CellError reports a cell whose forecast failed.
type CellError struct {
	Cell dimension.Node
	Err  error
}

func (e *CellError) Error() string { return fmt.Sprintf("reforecast: cell %v: %v", e.Cell, e.Err) }
func (e *CellError) Unwrap() error { return e.Err }

// Run forecasts every cell and returns the event to publish. When ctx ends
// it stops handing out cells, waits for the ones being fitted and returns
// ctx's error (a shutdown does not wait for the whole run).
func Run(ctx context.Context, in Input) (forecast.Published, error) {
	if err := in.check(); err != nil {
		return forecast.Published{}, err
	}
	m := in.SeasonalPeriod
	if m == 0 {
		m = 12
	}
	workers := in.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	type result struct {
		model   *forecasting.Model
		fc      forecasting.Forecast
		missing int // closed months without an actual the forecast starts with
		err     error
	}
	results := make([]result, len(in.Cells))
	auto := in.Method == "" || in.Method == forecasting.MethodAuto
	use := make([]bool, len(in.Cells)) // the cells made coherent with the aggregates
	for i, h := range in.History {
		results[i].missing = trailingMissing(h)
		use[i] = auto && results[i].missing == 0 && (i >= len(in.Methods) || in.Methods[i] == "")
	}
	var aggs [][]int
	var aggNodes []string
	if auto {
		aggs, aggNodes = aggregates(in.Cells, use)
	}
	all := make([]*forecasting.Forecast, len(aggs)) // nil where the aggregate's fit failed
	amodel := make([]string, len(aggs))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(in.Cells)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if i >= len(in.Cells) {
					g := i - len(in.Cells)
					all[g], amodel[g] = aggregateForecast(in.History, aggs[g], m, in.Horizon)
					continue
				}
				h := in.History[i]
				missing := results[i].missing
				var model *forecasting.Model
				var err error
				method := in.Method
				if i < len(in.Methods) && in.Methods[i] != "" {
					method = in.Methods[i]
				}
				if method == "" || method == forecasting.MethodAuto {
					model, err = forecasting.Auto(h[:len(h)-missing], m, forecasting.AutoOptions{})
				} else {
					model, err = forecasting.Fit(h[:len(h)-missing], m, forecasting.Spec{Method: method})
				}
				if err != nil {
					results[i].err = err
					continue
				}
				fc, err := model.Forecast(missing+in.Horizon, []float64{80, 95})
				results[i] = result{model: model, fc: fc, missing: missing, err: err}
			}
		}()
	}
feed:
	for i := range len(in.Cells) + len(aggs) {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return forecast.Published{}, fmt.Errorf("reforecast: run %s stopped: %w", in.RunID, err)
	}

	var errs []error
	fcs := make([]forecasting.Forecast, len(results))
	for i, r := range results {
		if r.err != nil {
			errs = append(errs, &CellError{Cell: in.Cells[i], Err: r.err})
		}
		fcs[i] = r.fc
	}
	if err := errors.Join(errs...); err != nil {
		return forecast.Published{}, err
	}
	first := in.First.Add(len(in.History[0]))
	out := forecast.Published{
		RunID: in.RunID, Plan: in.Plan, Metric: in.Metric,
		DataPosition: in.DataPosition.String(), Seed: in.Seed,
	}
	residuals := mat.NewDense(len(in.History[0]), len(in.Cells), nil)
	for i, r := range results {
		for t, e := range r.model.Residuals() {
			if !math.IsNaN(e) && !math.IsInf(e, 0) {
				residuals.Set(t, i, e)
			}
		}
	}
	cov := lowRank(residuals)
	afc := make([]*forecasting.Forecast, len(aggs)) // the aggregates' forecasts that are not flat
	for g, fc := range all {
		if fc != nil && !flat(fc.Mean) {
			afc[g] = fc
		}
	}
	adj := coherence(fcs, cov, aggs, afc, in.Horizon)
	var published []Aggregate
	var members [][]int
	for g, fc := range afc {
		if fc == nil {
			continue
		}
		v := make([]float64, in.Horizon)
		for h := range v {
			v[h] = stepVariance(*fc, h)
		}
		if slices.ContainsFunc(v, func(x float64) bool { return !(x >= 0) || math.IsInf(x, 0) }) {
			continue // no variance to publish: its nodes take their cells'
		}
		published, members = append(published, Aggregate{Node: aggNodes[g], Model: amodel[g], Cells: len(aggs[g]), Variance: v}), append(members, aggs[g])
	}
	published, members = withinBudget(published, members, aggregatesBudget)
	memberOf := make([][]int, len(in.Cells))
	for k, cells := range members {
		for _, j := range cells {
			memberOf[j] = append(memberOf[j], k)
		}
	}
	for i, r := range results {
		r.fc = clipped(shifted(r.fc, adj[i]), in.NonNegative)
		i80, _ := r.fc.Interval(80)
		i95, _ := r.fc.Interval(95)
		out.Series = append(out.Series, forecast.Series{
			Node: in.Cells[i], First: first.Add(-r.missing), Mean: r.fc.Mean,
			Lo80: i80.Lower, Hi80: i80.Upper, Lo95: i95.Lower, Hi95: i95.Upper,
			Model: r.model.Description().Name,
		})
	}
	for i, r := range results {
		d := Detail{Model: r.model.Description(), Variance: cov.Diag[i], Factor: cov.Factor[i], Coherence: adj[i], Aggregates: memberOf[i]}
		if i < len(in.Pins) {
			d.Pinned = in.Pins[i]
		}
		detail, err := json.Marshal(d)
		if err != nil {
			return forecast.Published{}, fmt.Errorf("reforecast: encode the model of %v: %w", in.Cells[i], err)
		}
		out.Series[i].Detail = detail
	}
	rank := 0
	if len(cov.Factor) > 0 {
		rank = len(cov.Factor[0])
	}
	method := string(in.Method)
	if method == "" {
		method = string(forecasting.MethodAuto)
	}
	raw, err := json.Marshal(Model{Method: method, Lambda: cov.Lambda, Rank: rank, Aggregates: published})
	if err != nil {
		return forecast.Published{}, fmt.Errorf("reforecast: encode model: %w", err)
	}
	out.Model = raw
	return out, nil
}

func (in Input) check() error {
	var errs []error
	if in.RunID == "" || in.Plan == "" || in.Metric == "" {
		errs = append(errs, fmt.Errorf("%w: run id, plan and metric are required", ErrInput))
	}
	if len(in.Cells) == 0 || len(in.Cells) != len(in.History) {
		errs = append(errs, fmt.Errorf("%w: %d cells with %d histories", ErrInput, len(in.Cells), len(in.History)))
	}
	if in.Horizon < 1 || in.Horizon > 120 {
		errs = append(errs, fmt.Errorf("%w: horizon %d, want 1 to 120 months", ErrInput, in.Horizon))
	}
	if !in.First.Valid() {
		errs = append(errs, fmt.Errorf("%w: first period %v", ErrInput, in.First))
	}
	for i, h := range in.History {
		if len(h) != len(in.History[0]) {
			errs = append(errs, fmt.Errorf("%w: cell %v has %d months of history, cell %v has %d", ErrInput, in.Cells[i], len(h), in.Cells[0], len(in.History[0])))
		}
	}
	return errors.Join(errs...)
}

// aggregatesBudget bounds the encoded size of the aggregates a run's
// Model document carries, well within the forecast.PartSize the whole
// document must fit in.
var aggregatesBudget = forecast.PartSize / 2

// withinBudget returns the aggregates (and their cell lists) to publish:
// the first of them whose encoded Model.Aggregates stay within budget
// bytes (a plan of very many dimension members and a long horizon); the
// nodes of those left out take their cells' variance on the query side.
func withinBudget(aggs []Aggregate, members [][]int, budget int) ([]Aggregate, [][]int) {
	size := 2
	for k, ag := range aggs {
		b, err := json.Marshal(ag)
		if size += len(b) + 1; err != nil || size > budget {
			return aggs[:k], members[:k]
		}
	}
	return aggs, members
}

// aggregateForecast returns the base forecast of the sum of cells over
// the horizon, by the model forecasting.Auto chooses for it, and the
// model's name, or nil when it cannot be fitted. A flat forecast of the
// sum sees no trend or season its cells' models miss: the cells are made
// coherent only with the aggregates whose forecast is not flat.
func aggregateForecast(history [][]float64, cells []int, m, horizon int) (*forecasting.Forecast, string) {
	sum := make([]float64, len(history[0]))
	for _, j := range cells {
		for t, y := range history[j] {
			sum[t] += y
		}
	}
	model, err := forecasting.Auto(sum, m, forecasting.AutoOptions{})
	if err != nil {
		return nil, ""
	}
	fc, err := model.Forecast(horizon, []float64{80, 95})
	if err != nil {
		return nil, ""
	}
	return &fc, model.Description().Name
}

// flat tells whether a forecast's mean is the same at every step (to a
// part in 10⁹).
func flat(mean []float64) bool {
	lo, hi := slices.Min(mean), slices.Max(mean)
	return hi-lo <= 1e-9*max(math.Abs(lo), math.Abs(hi))
}

// shifted returns fc with adj added to its mean and interval bounds (fc
// itself when adj is nil).
func shifted(fc forecasting.Forecast, adj []float64) forecasting.Forecast {
	for t, d := range adj {
		fc.Mean[t] += d
		for k := range fc.Intervals {
			fc.Intervals[k].Lower[t] += d
			fc.Intervals[k].Upper[t] += d
		}
	}
	return fc
}

// trailingMissing returns the number of NaN months that end h.
func trailingMissing(h []float64) int {
	n := 0
	for n < len(h) && math.IsNaN(h[len(h)-1-n]) {
		n++
	}
	return n
}

// clipped returns fc clipped at 0 when nonNegative.
func clipped(fc forecasting.Forecast, nonNegative bool) forecasting.Forecast {
	if !nonNegative {
		return fc
	}
	clip := func(v []float64) []float64 {
		for t := range v {
			v[t] = max(v[t], 0)
		}
		return v
	}
	fc.Mean = clip(fc.Mean)
	for k := range fc.Intervals {
		fc.Intervals[k].Lower, fc.Intervals[k].Upper = clip(fc.Intervals[k].Lower), clip(fc.Intervals[k].Upper)
	}
	return fc
}

// lowRank returns the shrunk covariance of the residuals (T × n) as a
// diagonal plus a rank-k factor whose diagonal is topped up to stay exact.
func lowRank(residuals *mat.Dense) Covariance {
	d, f, lambda := reconcile.ShrinkFactor(residuals)
	n, t := f.Dims()
	var svd mat.SVD
	if !svd.Factorize(f, mat.SVDThin) {
		return Covariance{Diag: fullDiag(d, f), Factor: make([][]float64, len(d)), Lambda: lambda}
	}
	k := min(maxRank, t, n)
	var u mat.Dense
	svd.UTo(&u)
	values := svd.Values(nil)
	cov := Covariance{Diag: make([]float64, n), Factor: make([][]float64, n), Lambda: lambda}
	full := fullDiag(d, f)
	for i := range n {
		row := make([]float64, k)
		var kept float64
		for j := range k {
			row[j] = u.At(i, j) * values[j]
			kept += row[j] * row[j]
		}
		cov.Factor[i] = row
		cov.Diag[i] = math.Max(full[i]-kept, 0)
	}
	return cov
}

// fullDiag returns the diagonal of diag(d) + F Fᵀ.
func fullDiag(d []float64, f *mat.Dense) []float64 {
	out := make([]float64, len(d))
	for i := range d {
		r := f.RawRowView(i)
		out[i] = d[i] + mat.Dot(mat.NewVecDense(len(r), r), mat.NewVecDense(len(r), r))
	}
	return out
}
