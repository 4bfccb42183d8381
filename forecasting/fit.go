package forecasting

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// Spec chooses one forecasting method. ETS refines MethodETS.
type Spec struct {
	Method Method  `json:"method"`
	ETS    ETSSpec `json:"ets,omitzero"`
	// BoxCox, when set, fits the method to the Box–Cox transform of the
	// data with this λ ∈ [0, 1] (0 = log; TransformBoxCox). ETS is then
	// restricted to additive components, as R's ets(lambda = …) does.
	BoxCox *float64 `json:"box_cox,omitempty"`
}

// Fit fits the method named by spec to y with seasonal period m (1 for
// none). It returns ErrNonFinite (a *NonFiniteError) when y holds NaN or
// ±Inf, ErrTooShort when y is too short for the method, ErrBadSpec for an
// unknown method or impossible specification and ErrNoModel when no
// admissible ETS model can be estimated. MethodAuto and MethodEnsemble use
// Auto with default options. Fit is deterministic and safe for concurrent
// use.
func Fit(y []float64, m int, spec Spec) (*Model, error) {
	if m < 1 {
		return nil, fmt.Errorf("%w: seasonal period %d, need ≥ 1", ErrBadSpec, m)
	}
	if err := checkFinite(y); err != nil {
		return nil, err
	}
	y = append([]float64(nil), y...)
	if spec.BoxCox != nil {
		inner := spec
		inner.BoxCox = nil
		inner.ETS.AdditiveOnly = true
		return TransformBoxCox(y, m, *spec.BoxCox, func(z []float64) (*Model, error) { return Fit(z, m, inner) })
	}
	switch spec.Method {
	case MethodETS:
		f, err := selectETS(y, m, spec.ETS)
		if err != nil {
			return nil, err
		}
		return f.model(), nil
	case MethodARIMA:
		a, err := autoARIMA(y, m)
		if err != nil {
			return nil, err
		}
		return a.model(), nil
	case MethodTheta:
		t, err := fitTheta(y, m, 0, 0, true)
		if err != nil {
			return nil, err
		}
		return t.model(), nil
	case MethodThetaClassic:
		c, err := fitThetaClassic(y, m, defaultClassic, 0, 0, true)
		if err != nil {
			return nil, err
		}
		return c.model(), nil
	case MethodNaive, MethodSNaive, MethodDrift:
		lag := 1
		if spec.Method == MethodSNaive {
			lag = m
		}
		w, err := fitLagWalk(y, lag, spec.Method == MethodDrift)
		if err != nil {
			return nil, err
		}
		return w.model(), nil
	case MethodMean:
		mm, err := fitMean(y)
		if err != nil {
			return nil, err
		}
		return mm.model(), nil
	case MethodLinear:
		lm, err := fitLinear(y, m)
		if err != nil {
			return nil, err
		}
		return lm.model(), nil
	case MethodCroston, MethodSBA, MethodTSB:
		im, err := fitIntermittent(y, spec.Method)
		if err != nil {
			return nil, err
		}
		return im.model(), nil
	case MethodAuto, "":
		return Auto(y, m, AutoOptions{})
	case MethodEnsemble:
		return Auto(y, m, AutoOptions{Selection: SelectEnsemble})
	}
	return nil, fmt.Errorf("%w: unknown method %q", ErrBadSpec, spec.Method)
}

// Selection is how Auto chooses a model.
type Selection string

// Selections.
const (
	// SelectIC fits every admissible ETS model and keeps the lowest AICc
	// (as R's forecast::ets). The default.
	SelectIC Selection = "ic"
	// SelectBacktest scores the single models ETS, ARIMA, Theta, ETS on
	// the log scale (strictly positive data only), (seasonal) naive and
	// drift and the equal-weight combinations of two
	// or three of ETS, ARIMA and Theta by a rolling-origin backtest on the
	// training data (pooled MASE; a combination's forecast at an origin is
	// the mean of its members' forecasts there) and refits the best on all
	// data. No value after the training data is seen.
	SelectBacktest Selection = "backtest"
	// SelectEnsemble averages automatic ETS and Theta with equal weights.
	SelectEnsemble Selection = "ensemble"
	// SelectCombination averages automatic ETS, automatic ARIMA and Theta
	// with equal weights (the forecast package's "hybrid" of ets,
	// auto.arima and thetaf).
	SelectCombination Selection = "combination"
	// SelectCombinationCV combines the same three models with weights
	// proportional to 1/MASE in a rolling-origin backtest on the training
	// data (Horizon, Origins).
	SelectCombinationCV Selection = "combination-cv"
	// SelectICLog is SelectIC that also tries the log scale: where the
	// data are strictly positive it selects ETS by AICc on the data and on
	// their logarithm too (additive components, bias-adjusted mean, as
	// Spec.BoxCox = 0), refits both chosen model forms at each origin of a
	// rolling-origin backtest on the training data (Horizon, Origins) and
	// keeps the log fit only when its MASE there is lower. No value after
	// the training data is seen.
	SelectICLog Selection = "ic-log"
	// SelectCandidate fits AutoOptions.Candidate, typically the one
	// BatchChoice chose for a whole batch by backtest (falling back to
	// automatic ETS when it cannot be fitted).
	SelectCandidate Selection = "candidate"
)

// AutoOptions tune Auto. The zero value is the default.
type AutoOptions struct {
	Selection Selection
	// IntermittentShare: a non-negative series with at least this share of
	// zeros is forecast with Croston, SBA or TSB (lowest in-sample MSE).
	// Default 0.5; a negative value disables the intermittent path.
	IntermittentShare float64
	// Horizon and Origins size the backtest of SelectBacktest and
	// SelectCombinationCV (defaults: 2m, at least 6; 3 origins).
	Horizon int
	Origins int
	// ETS restricts the ETS search (default: every admissible model).
	ETS ETSSpec
	// Candidate is the model SelectCandidate fits.
	Candidate *BacktestCandidate
}

// Auto chooses and fits a model for y with seasonal period m.
//
// Fallbacks, in order: a series with NaN/Inf is an error (ErrNonFinite); an
// empty series is ErrTooShort; a mostly-zero non-negative series goes to
// the intermittent methods; a constant series gets the naive model
// (forecast = the constant, zero-width intervals); a series too short for
// ETS (7 observations or fewer) gets drift from 3 observations, naive from
// 2 and the mean for 1. Otherwise Selection decides. Auto is
// deterministic.
func Auto(y []float64, m int, opts AutoOptions) (*Model, error) {
	if m < 1 {
		return nil, fmt.Errorf("%w: seasonal period %d, need ≥ 1", ErrBadSpec, m)
	}
	if err := checkFinite(y); err != nil {
		return nil, err
	}
	n := len(y)
	if n == 0 {
		return nil, tooShort("auto", 0, 1)
	}
	y = append([]float64(nil), y...)
	share := opts.IntermittentShare
	if share == 0 {
		share = 0.5
	}
	if share > 0 && n >= 2 && zeroShare(y) >= share && nonNegative(y) {
		return autoIntermittent(y)
	}
	if isConstant(y) && n >= 2 {
		return Fit(y, m, Spec{Method: MethodNaive})
	}
	switch opts.Selection {
	case SelectBacktest:
		if md, err := autoBacktest(y, m, opts); err == nil {
			return md, nil
		}
		return autoIC(y, m, opts.ETS)
	case SelectEnsemble:
		return autoEnsemble(y, m, opts.ETS)
	case SelectCombination:
		return autoCombination(y, m, opts, false)
	case SelectCombinationCV:
		return autoCombination(y, m, opts, true)
	case SelectCandidate:
		if opts.Candidate == nil {
			return nil, fmt.Errorf("%w: selection %q needs a candidate", ErrBadSpec, opts.Selection)
		}
		if md, err := FitCandidate(y, m, *opts.Candidate); err == nil {
			return md, nil
		}
		return autoIC(y, m, opts.ETS)
	case SelectIC, "":
		return autoIC(y, m, opts.ETS)
	case SelectICLog:
		return autoICLog(y, m, opts)
	}
	return nil, fmt.Errorf("%w: unknown selection %q", ErrBadSpec, opts.Selection)
}

func nonNegative(y []float64) bool {
	for _, v := range y {
		if v < 0 {
			return false
		}
	}
	return true
}

func autoIntermittent(y []float64) (*Model, error) {
	var best *intermittentModel
	for _, meth := range []Method{MethodCroston, MethodSBA, MethodTSB} {
		im, err := fitIntermittent(y, meth)
		if err != nil {
			continue
		}
		if best == nil || im.mse < best.mse {
			best = im
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%w: no intermittent-demand model", ErrNoModel)
	}
	return best.model(), nil
}

// shortFallback fits the simplest model the length allows.
func shortFallback(y []float64) (*Model, error) {
	switch n := len(y); {
	case n >= 3:
		return Fit(y, 1, Spec{Method: MethodDrift})
	case n == 2:
		return Fit(y, 1, Spec{Method: MethodNaive})
	default:
		return Fit(y, 1, Spec{Method: MethodMean})
	}
}

func autoIC(y []float64, m int, spec ETSSpec) (*Model, error) {
	f, err := selectETS(y, m, spec)
	if err != nil {
		if errors.Is(err, ErrTooShort) || errors.Is(err, ErrNoModel) {
			return shortFallback(y)
		}
		return nil, err
	}
	return f.model(), nil
}

// autoICLog implements SelectICLog. The comparison refits the two chosen
// forms (components and damping fixed, parameters re-estimated) rather than
// rerunning both selections at every origin: it asks which scale suits the
// series, at two fits per origin.
func autoICLog(y []float64, m int, opts AutoOptions) (*Model, error) {
	raw, err := autoIC(y, m, opts.ETS)
	if err != nil || !positive(y) || raw.desc.Method != MethodETS {
		return raw, err
	}
	log, err := Fit(y, m, Spec{Method: MethodETS, ETS: opts.ETS, BoxCox: new(0.0)})
	if err != nil {
		return raw, nil
	}
	bo := backtestOptions(m, opts)
	score := func(d Description, lambda *float64) float64 {
		form := Spec{Method: MethodETS, BoxCox: lambda, ETS: ETSSpec{Model: d.Error + d.Trend + d.Season, Damped: new(d.Damped)}}
		acc, err := Backtest(y, m, bo, func(train []float64) (*Model, error) { return Fit(train, m, form) })
		if err != nil {
			return math.NaN()
		}
		return acc.MASE
	}
	if lm, rm := score(log.desc, log.desc.BoxCox), score(raw.desc, nil); lm < rm {
		return log, nil
	}
	return raw, nil
}

// positive reports whether every value is > 0 (the log is defined).
func positive(y []float64) bool {
	for _, v := range y {
		if !(v > 0) {
			return false
		}
	}
	return true
}

func autoEnsemble(y []float64, m int, spec ETSSpec) (*Model, error) {
	e, err := autoIC(y, m, spec)
	if err != nil {
		return nil, err
	}
	t, err := Fit(y, m, Spec{Method: MethodTheta})
	if err != nil {
		return e, nil
	}
	return newEnsemble(y, m, []*Model{e, t}, nil), nil
}

// autoCombination averages automatic ETS, automatic ARIMA and Theta; a
// member that cannot be fitted is left out (ETS falls back as autoIC
// does). With cv the weights are proportional to 1/MASE of each member in
// a rolling-origin backtest on y itself (the training data: no test value
// is seen); when a member cannot be backtested (series too short) the
// weights are equal.
func autoCombination(y []float64, m int, opts AutoOptions, cv bool) (*Model, error) {
	e, err := autoIC(y, m, opts.ETS)
	if err != nil {
		return nil, err
	}
	members := []*Model{e}
	specs := []Spec{{Method: MethodETS, ETS: opts.ETS}}
	for _, meth := range []Method{MethodARIMA, MethodTheta} {
		if md, err := Fit(y, m, Spec{Method: meth}); err == nil {
			members = append(members, md)
			specs = append(specs, Spec{Method: meth})
		}
	}
	if len(members) == 1 {
		return e, nil
	}
	var weights []float64
	if cv {
		weights = cvWeights(y, m, specs, backtestOptions(m, opts))
	}
	return newEnsemble(y, m, members, weights), nil
}

// cvWeights returns weights ∝ 1/MASE from backtests of specs on y, or nil
// (equal weights) when some spec cannot be backtested or scores 0.
func cvWeights(y []float64, m int, specs []Spec, bo BacktestOptions) []float64 {
	w := make([]float64, len(specs))
	total := 0.0
	for i, s := range specs {
		acc, err := Backtest(y, m, bo, func(train []float64) (*Model, error) { return Fit(train, m, s) })
		if err != nil || !(acc.MASE > 0) || math.IsInf(acc.MASE, 0) {
			return nil
		}
		w[i] = 1 / acc.MASE
		total += w[i]
	}
	for i := range w {
		w[i] /= total
	}
	return w
}

// backtestCandidates are the single models SelectBacktest compares: ETS,
// ARIMA and Theta first (the combinations are made of these three), then
// ETS on the log scale (it scores only on strictly positive data), the
// benchmarks.
func backtestCandidates(m int) []Spec {
	c := []Spec{{Method: MethodETS}, {Method: MethodARIMA}, {Method: MethodTheta}, {Method: MethodETS, BoxCox: new(0.0)},
		{Method: MethodNaive}, {Method: MethodDrift}}
	if m > 1 {
		c = append(c, Spec{Method: MethodSNaive})
	}
	return c
}

// specName names a single candidate: its method, "log ets" on the log
// scale.
func specName(sp Spec) string {
	switch {
	case sp.BoxCox == nil:
		return string(sp.Method)
	case *sp.BoxCox == 0:
		return "log " + string(sp.Method)
	}
	return fmt.Sprintf("boxcox(%g) %s", *sp.BoxCox, sp.Method)
}

// backtestOptions sizes the rolling-origin backtest Auto's selections
// run on the training data: horizon 2m (at least 6), 3 origins.
func backtestOptions(m int, opts AutoOptions) BacktestOptions {
	h := opts.Horizon
	if h <= 0 {
		h = max(2*m, 6)
	}
	k := opts.Origins
	if k <= 0 {
		k = 3
	}
	return BacktestOptions{Horizon: h, Origins: k, Period: m, MinTrain: max(2*m+2, 8)}
}

// BacktestCandidate is one model SelectBacktest compares: a single model
// (one spec) or the equal-weight combination of its specs.
type BacktestCandidate struct {
	Name  string
	Specs []Spec
	// MASE is the pooled rolling-origin MASE on the training data; NaN when
	// some member could not be fitted at some origin.
	MASE float64
}

// BacktestCandidates scores every candidate of SelectBacktest on y (the
// training data) with the backtest Auto runs (opts.Horizon, opts.Origins;
// defaults 2m (at least 6) and 3). Each single model is fitted once per
// origin; the combinations reuse those fits. It returns ErrTooShort when
// y is too short for the backtest. The scores of a whole batch can be
// summed to choose one candidate for all series (FitCandidate fits it).
func BacktestCandidates(y []float64, m int, opts AutoOptions) ([]BacktestCandidate, error) {
	if m < 1 {
		return nil, fmt.Errorf("%w: seasonal period %d, need ≥ 1", ErrBadSpec, m)
	}
	if err := checkFinite(y); err != nil {
		return nil, err
	}
	bo := backtestOptions(m, opts)
	origins, err := backtestOrigins(len(y), bo)
	if err != nil {
		return nil, err
	}
	singles := backtestCandidates(m)
	// means[i][k]: single i's point forecasts from origin k (nil: failed).
	means := make([][][]float64, len(singles))
	for i := range singles {
		singles[i].ETS = opts.ETS
		per := make([][]float64, len(origins))
		for k, o := range origins {
			md, err := Fit(y[:o], m, singles[i])
			if err != nil {
				per = nil
				break
			}
			per[k] = md.impl.point(bo.Horizon)
		}
		means[i] = per
	}
	score := func(members []int) float64 {
		var acc accumulator
		f := make([]float64, bo.Horizon)
		for k, o := range origins {
			clear(f)
			for _, i := range members {
				if means[i] == nil {
					return math.NaN()
				}
				for j, v := range means[i][k] {
					f[j] += v / float64(len(members))
				}
			}
			acc.add(y[o:o+bo.Horizon], f, nil, nil, 0, SeasonalNaiveScale(y[:o], max(bo.Period, m)))
		}
		return acc.result(0).MASE
	}
	var out []BacktestCandidate
	for i, sp := range singles {
		out = append(out, BacktestCandidate{Name: specName(sp), Specs: []Spec{sp}, MASE: score([]int{i})})
	}
	// Singles 0, 1, 2 are ETS, ARIMA and Theta (backtestCandidates).
	for _, c := range [][]int{{0, 1}, {0, 2}, {1, 2}, {0, 1, 2}} {
		bc := BacktestCandidate{MASE: score(c)}
		var names []string
		for _, i := range c {
			bc.Specs = append(bc.Specs, singles[i])
			names = append(names, specName(singles[i]))
		}
		bc.Name = strings.Join(names, "+")
		out = append(out, bc)
	}
	return out, nil
}

// FitCandidate fits a candidate of BacktestCandidates to y: its single
// model, or the equal-weight combination of the members that can be fitted
// (ErrNoModel when none can).
func FitCandidate(y []float64, m int, c BacktestCandidate) (*Model, error) {
	if len(c.Specs) == 1 {
		return Fit(y, m, c.Specs[0])
	}
	var members []*Model
	var first error
	for _, sp := range c.Specs {
		md, err := Fit(y, m, sp)
		if err != nil {
			first = cmp.Or(first, err)
			continue
		}
		members = append(members, md)
	}
	switch len(members) {
	case 0:
		return nil, fmt.Errorf("%w: no member of %s could be fitted: %w", ErrNoModel, c.Name, first)
	case 1:
		return members[0], nil
	}
	return newEnsemble(slices.Clone(y), m, members, nil), nil
}

// BatchChoice chooses one candidate for a whole batch of series: scores
// holds each series' BacktestCandidates (same candidates, same order); the
// candidate with the lowest mean MASE over the series on which every
// candidate scored wins (ties: the earlier). It returns the winner's index,
// every candidate's mean and the number of series used; ErrNoModel when no
// series has a score for every candidate, ErrBadSpec when the series were
// scored on different candidates.
func BatchChoice(scores [][]BacktestCandidate) (best int, mean []float64, used int, err error) {
	if len(scores) == 0 {
		return 0, nil, 0, fmt.Errorf("%w: no series scored", ErrNoModel)
	}
	k := len(scores[0])
	mean = make([]float64, k)
	for i, sc := range scores {
		if len(sc) != k {
			return 0, nil, 0, fmt.Errorf("%w: series %d has %d candidates, series 0 has %d", ErrBadSpec, i, len(sc), k)
		}
		complete := true
		for j, c := range sc {
			if c.Name != scores[0][j].Name {
				return 0, nil, 0, fmt.Errorf("%w: series %d's candidate %d is %s, series 0's %s", ErrBadSpec, i, j, c.Name, scores[0][j].Name)
			}
			if math.IsNaN(c.MASE) || math.IsInf(c.MASE, 0) {
				complete = false
			}
		}
		if !complete {
			continue
		}
		used++
		for j, c := range sc {
			mean[j] += c.MASE
		}
	}
	if used == 0 {
		return 0, nil, 0, fmt.Errorf("%w: no series has a backtest score for every candidate", ErrNoModel)
	}
	for j := range mean {
		mean[j] /= float64(used)
		if mean[j] < mean[best] {
			best = j
		}
	}
	return best, mean, used, nil
}

// backtestOrigins returns the origins (training lengths) of the backtest
// opts describes on n observations, as Backtest places them.
func backtestOrigins(n int, opts BacktestOptions) ([]int, error) {
	if opts.Horizon < 1 {
		return nil, fmt.Errorf("%w: backtest horizon %d", ErrBadSpec, opts.Horizon)
	}
	k := max(opts.Origins, 1)
	step := max(opts.Step, 1)
	minTrain := max(opts.MinTrain, 2)
	first := n - opts.Horizon - (k-1)*step
	if first < minTrain {
		return nil, tooShort("backtest", n, minTrain+opts.Horizon+(k-1)*step)
	}
	out := make([]int, k)
	for o := range out {
		out[o] = first + o*step
	}
	return out, nil
}

func autoBacktest(y []float64, m int, opts AutoOptions) (*Model, error) {
	cands, err := BacktestCandidates(y, m, opts)
	if err != nil {
		return nil, err
	}
	best := -1
	for i, c := range cands {
		if !math.IsNaN(c.MASE) && (best < 0 || c.MASE < cands[best].MASE) {
			best = i
		}
	}
	if best < 0 {
		return nil, fmt.Errorf("%w: no candidate could be backtested", ErrNoModel)
	}
	return FitCandidate(y, m, cands[best])
}

// ensemble averages member forecasts with fixed weights. Intervals are
// weighted averages of the members' bounds (quantile averaging); sample
// paths come from the mixture (each path from one member drawn by weight).
type ensemble struct {
	members []*Model
	weights []float64
}

func newEnsemble(y []float64, m int, members []*Model, weights []float64) *Model {
	if weights == nil {
		weights = make([]float64, len(members))
		for i := range weights {
			weights[i] = 1 / float64(len(members))
		}
	}
	e := &ensemble{members: members, weights: weights}
	d := Description{Method: MethodEnsemble, Name: "Ensemble", Period: m, N: len(y), Weights: weights}
	fitted := make([]float64, len(y))
	for i, mb := range members {
		d.Members = append(d.Members, mb.desc)
		for t := range fitted {
			fitted[t] += weights[i] * mb.fitted[t]
		}
		d.Sigma2 += weights[i] * mb.desc.Sigma2
	}
	return &Model{desc: d, y: y, fitted: fitted, impl: e}
}

func (e *ensemble) point(h int) []float64 {
	out := make([]float64, h)
	for i, mb := range e.members {
		p := mb.impl.point(h)
		for j := range out {
			out[j] += e.weights[i] * p[j]
		}
	}
	return out
}

func (e *ensemble) bounds(mean []float64, level float64) (lo, hi []float64) {
	h := len(mean)
	lo = make([]float64, h)
	hi = make([]float64, h)
	for i, mb := range e.members {
		l, u := mb.impl.bounds(mb.impl.point(h), level)
		for j := range lo {
			lo[j] += e.weights[i] * l[j]
			hi[j] += e.weights[i] * u[j]
		}
	}
	return lo, hi
}

func (e *ensemble) path(rng *rand.Rand, out []float64) {
	u := rng.Float64()
	acc := 0.0
	for i, mb := range e.members {
		acc += e.weights[i]
		if u < acc || i == len(e.members)-1 {
			mb.impl.path(rng, out)
			return
		}
	}
}

// Restore rebuilds the fitted model that d describes from the series it
// was fitted to (only the first d.N values of y are used). The restored
// model reproduces the original's fitted values, forecasts, intervals and
// — given the same generator — sample paths. It returns ErrTooShort when y
// has fewer than d.N values, ErrNonFinite for NaN/Inf in them and
// ErrBadSpec for an inconsistent description.
func Restore(d Description, y []float64) (*Model, error) {
	if len(y) < d.N {
		return nil, tooShort("Restore", len(y), d.N)
	}
	y = append([]float64(nil), y[:d.N]...)
	if err := checkFinite(y); err != nil {
		return nil, err
	}
	if d.BoxCox != nil {
		return restoreBoxCox(d, y)
	}
	switch d.Method {
	case MethodETS:
		return restoreETS(d, y)
	case MethodARIMA:
		return restoreARIMA(d, y)
	case MethodTheta:
		if len(d.Initial) != 1 {
			return nil, fmt.Errorf("%w: Theta needs 1 initial state", ErrBadSpec)
		}
		t, err := fitTheta(y, d.Period, d.Params["alpha"], d.Initial[0], false)
		if err != nil {
			return nil, err
		}
		return t.model(), nil
	case MethodThetaClassic:
		if len(d.Initial) != 1 {
			return nil, fmt.Errorf("%w: classic Theta needs 1 initial state", ErrBadSpec)
		}
		opts := defaultClassic
		if d.Params["optimal_initial"] == 1 {
			opts.init = classicInitOptimal
		}
		c, err := fitThetaClassic(y, d.Period, opts, d.Params["alpha"], d.Initial[0], false)
		if err != nil {
			return nil, err
		}
		return c.model(), nil
	case MethodCroston, MethodSBA, MethodTSB:
		return restoreIntermittent(d, y)
	case MethodEnsemble:
		if len(d.Members) == 0 || len(d.Members) != len(d.Weights) {
			return nil, fmt.Errorf("%w: ensemble needs members and as many weights", ErrBadSpec)
		}
		ms := make([]*Model, len(d.Members))
		for i, md := range d.Members {
			mm, err := Restore(md, y)
			if err != nil {
				return nil, err
			}
			ms[i] = mm
		}
		return newEnsemble(y, d.Period, ms, append([]float64(nil), d.Weights...)), nil
	case MethodNaive, MethodSNaive, MethodDrift, MethodMean, MethodLinear:
		return Fit(y, max(d.Period, 1), Spec{Method: d.Method})
	}
	return nil, fmt.Errorf("%w: unknown method %q", ErrBadSpec, d.Method)
}
