package view

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/plan"
)

// state resolves a version reference (an as_of, from or to parameter) to a
// State: "" (now), "tag:NAME" (the version of plan planID so tagged),
// "scenario:ID" (scenario ID of plan planID, see ScenarioRef), a log
// position, an RFC 3339 time or a date.
func (s *Service) state(ctx context.Context, planID, field, asOf string) (*State, error) {
	if asOf == "" {
		return s.Live(ctx)
	}
	if id, ok := strings.CutPrefix(asOf, ScenarioRef); ok {
		if planID == "" {
			return nil, BadParam(field, asOf, "a scenario is one of a plan; give a log position, a time or a date")
		}
		return s.scenarioState(ctx, planID, field, id)
	}
	if name, ok := strings.CutPrefix(asOf, "tag:"); ok {
		live, err := s.Live(ctx)
		if err != nil {
			return nil, err
		}
		if planID == "" {
			return nil, BadParam(field, asOf, "a tag names a version of one plan; give a log position, a time or a date")
		}
		p, err := planOf(live, planID)
		if err != nil {
			return nil, err
		}
		ver, ok := p.Tag(name)
		if !ok {
			return nil, BadParam(field, asOf, "plan %s has no version tagged %q", planID, name)
		}
		r, ok := live.streamVersion(plan.Stream(planID), ver)
		if !ok {
			return nil, fmt.Errorf("%w: version %d of plan %s", ErrNotFound, ver, planID)
		}
		return s.At(ctx, r.Position)
	}
	pos, t, isPos, err := parseWhen(field, asOf)
	if err != nil {
		return nil, err
	}
	if !isPos {
		if pos, err = s.PositionAt(ctx, t); err != nil {
			return nil, err
		}
	}
	return s.At(ctx, pos)
}

// planOf returns plan id in st, or ErrNotFound.
func planOf(st *State, id string) (*plan.Plan, error) {
	p, ok := st.Plan(id)
	if !ok {
		return nil, fmt.Errorf("%w: plan %q (at log position %s)", ErrNotFound, id, st.Position)
	}
	return p, nil
}

// planMetric returns the state as of asOf, the plan planID in it and the
// metric metricID of that plan: the common start of every per-metric answer.
func (s *Service) planMetric(ctx context.Context, planID, metricID, asOf string) (*State, *plan.Plan, plan.Metric, error) {
	st, err := s.state(ctx, planID, "as_of", asOf)
	if err != nil {
		return nil, nil, plan.Metric{}, err
	}
	p, err := planOf(st, planID)
	if err != nil {
		return nil, nil, plan.Metric{}, err
	}
	metric, err := metricOf(p, metricID)
	if err != nil {
		return nil, nil, plan.Metric{}, err
	}
	return st, p, metric, nil
}

// metricOf returns the metric named by id (the plan's first when empty).
func metricOf(p *plan.Plan, id string) (plan.Metric, error) {
	ms := p.Metrics()
	if id == "" && len(ms) > 0 {
		return ms[0], nil
	}
	m, ok := p.Metric(id)
	if d, derived := p.DerivedMetric(id); !ok && derived {
		return m, BadParam("metric", id, "metric %s of plan %s is derived (%s): the variance and the rolling plan answer for it, this query does not yet", id, p.ID(), d.Formula)
	}
	if !ok {
		return m, BadParam("metric", id, "plan %s has no such metric", p.ID())
	}
	return m, nil
}

// Num is a computed number that is not an amount (a probability, an
// error measure). It encodes as null when it is NaN or infinite, else in
// plain decimal notation with at most 15 significant digits, so that the
// noise of binary arithmetic (0.30000000000000004) does not show.
type Num float64

// MarshalJSON implements json.Marshaler.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	f, _ = strconv.ParseFloat(strconv.FormatFloat(f, 'g', 15, 64), 64)
	return strconv.AppendFloat(nil, f, 'f', -1, 64), nil
}

func numPtr(f float64, ok bool) *Num {
	if !ok || math.IsNaN(f) {
		return nil
	}
	n := Num(f)
	return &n
}

// Amount is a computed amount of a metric (a forecast, a latest estimate,
// a gap, a phased target): a float rounded to the cent when it is encoded,
// in plain decimal notation (120287000, never 120286999.99999985 or
// 1.20287e+08), null when it is NaN or infinite. Recorded amounts (targets,
// actuals, commits) are decimal strings and keep exactly what was entered.
type Amount float64

// MarshalJSON implements json.Marshaler.
func (a Amount) MarshalJSON() ([]byte, error) { return a.appendJSON(nil), nil }

// appendJSON appends a's JSON text to dst.
func (a Amount) appendJSON(dst []byte) []byte {
	f := float64(a)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	if math.Abs(f) < 1e15 { // beyond, a float has no cents to round
		f = math.Round(f*100) / 100
	}
	if f == 0 {
		f = 0 // no "-0"
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}

func amountPtr(f float64, ok bool) *Amount {
	if !ok || math.IsNaN(f) {
		return nil
	}
	n := Amount(f)
	return &n
}

func decPtr(d decimal.Decimal, ok bool) *string {
	if !ok {
		return nil
	}
	s := d.String()
	return &s
}

// SpanJSON is a span of periods with its label in the plan's calendar.
type SpanJSON struct {
	First string `json:"first"`
	Last  string `json:"last"`
	Label string `json:"label"`
}

func spanJSON(cal fiscal.Calendar, s fiscal.Span) SpanJSON {
	return SpanJSON{First: s.First.String(), Last: s.Last.String(), Label: cal.Format(s)}
}

// Interval is a forecast with its central 80% and 95% intervals.
type Interval struct {
	Mean Amount `json:"mean"`
	Lo80 Amount `json:"lo80"`
	Hi80 Amount `json:"hi80"`
	Lo95 Amount `json:"lo95"`
	Hi95 Amount `json:"hi95"`
}

func interval(mean, sd float64) *Interval {
	return &Interval{Mean: Amount(mean), Lo80: Amount(mean - z80*sd), Hi80: Amount(mean + z80*sd), Lo95: Amount(mean - z95*sd), Hi95: Amount(mean + z95*sd)}
}

// label returns a node's display name: its members' names joined by " × ",
// "Total" for the grand total.
func label(st *State, n dimension.Node) string {
	if n.IsTotal() {
		return "Total"
	}
	out := ""
	for k, c := range n.Coords() {
		name := c.Member
		if d := st.dims[c.Dimension]; d != nil {
			if m, ok := d.Member(c.Member); ok {
				name = m.Name
			}
		}
		if k > 0 {
			out += " × "
		}
		out += name
	}
	return out
}

// closedThrough returns the last period of the leading closed run of the
// analysis, "" when none is closed.
func (a *analysis) closedThrough() string {
	if a.closed == 0 {
		return ""
	}
	return a.periods[a.closed-1].String()
}

// ForecastSource says where the statistical forecast of an answer came
// from: Kind "statistical" (a published forecast run: its id, when it was
// published, the log position of the data it used and its first month) or
// "stand-in" (none was published for the plan and metric yet, and each
// cell's mean of its last three recorded months stands in, flat). Text
// says the same for people, and what to do about a stand-in.
type ForecastSource struct {
	Kind         string `json:"kind"`
	RunID        string `json:"run_id,omitempty"`
	Published    string `json:"published,omitempty"`
	DataPosition string `json:"data_position,omitempty"`
	First        string `json:"first,omitempty"`
	// StandInFrom is, for a published run, the first month of the answer
	// where the run does not reach (or does not cover a cell) and the
	// stand-in takes over.
	StandInFrom string `json:"stand_in_from,omitempty"`
	// Beyond is the first open month of the answer that neither the run nor
	// the stand-in supports (the stand-in reaches 24 months past the last
	// actual): from there on the answer has no forecast, latest estimate,
	// plan to target, gap or probability, rather than zeros.
	Beyond string `json:"beyond,omitempty"`
	// Estimated lists the closed months of the answer in which some cell
	// has no actual (a close with allow_missing): the cell's forecast of
	// the month stands in for it in the latest estimate, the statistical
	// forecast and the plan to target (never a zero), and its error counts
	// in the intervals and P(target). The actual column has only what was
	// booked.
	Estimated []string `json:"estimated,omitempty"`
	// Pending counts the forecast runs of the plan requested and not yet
	// published: a newer forecast is on its way.
	Pending int    `json:"pending,omitempty"`
	Text    string `json:"text"`
}

// source says where a's statistical forecast of periods q0..q1 came from.
func (a *analysis) source(q0, q1 int) ForecastSource {
	out := a.publishedSource()
	standIn, beyond := a.forecastGaps(q0, q1)
	if standIn >= 0 && a.vintage != nil && standIn != beyond {
		out.StandInFrom = a.periods[standIn].String()
		out.Text += fmt.Sprintf("; from %s the run does not forecast every cell and each missing cell's mean of its last three months of actuals stands in, flat (for a cell the run forecasts, of the months before the run's first)", out.StandInFrom)
	}
	if beyond >= 0 {
		out.Beyond = a.periods[beyond].String()
		out.Text += fmt.Sprintf("; from %s nothing is forecast (the stand-in reaches %d months past the last actual), so the figures that need a forecast are left empty", out.Beyond, lookBack)
	}
	for q := max(q0, a.firstUnbooked()); q <= q1 && q < a.closed; q++ {
		for j := range a.cells {
			if a.estimated[j*len(a.periods)+q] {
				out.Estimated = append(out.Estimated, a.periods[q].String())
				break
			}
		}
	}
	if n := len(out.Estimated); n > 0 {
		out.Text += fmt.Sprintf("; %s closed without an actual for every cell: each missing cell's forecast of the month stands in (estimated), never zero", strings.Join(out.Estimated, ", "))
	}
	if n := len(a.st.Pending(a.plan.ID())); n > 0 {
		out.Pending = n
		out.Text += fmt.Sprintf("; %d newer forecast runs are requested and not yet published (concord serve makes them)", n)
	}
	return out
}

func (a *analysis) publishedSource() ForecastSource {
	if v := a.vintage; v != nil {
		var first string
		if len(v.Series) > 0 {
			p := v.Series[0].First
			for _, sr := range v.Series[1:] {
				p = min(p, sr.First)
			}
			first = p.String()
		}
		out := ForecastSource{Kind: "statistical", RunID: v.RunID, DataPosition: v.DataPosition, First: first}
		if !v.time.IsZero() {
			out.Published = v.time.UTC().Format(time.RFC3339)
		}
		out.Text = fmt.Sprintf("statistical forecast %s, published %s from the actuals known at log position %s, forecasting from %s (its models: GET /api/v1/plans/%s/forecasts)",
			v.RunID, out.Published, v.DataPosition, first, a.plan.ID())
		return out
	}
	return ForecastSource{Kind: "stand-in", Text: fmt.Sprintf("no statistical forecast of %s has been published for plan %s yet: each cell's mean of its last three months of actuals stands in, flat, and probabilities mean little. "+
		"Import actuals (a forecast is then requested by itself) or POST /api/v1/plans/%s/reforecast; a running concord serve publishes it within seconds", a.metric.ID, a.plan.ID(), a.plan.ID())}
}

// VarianceRow is one node of the variance table: the figures of the node
// over the fiscal year, as defined in api/COLUMNS.md.
type VarianceRow struct {
	Node        string `json:"node"`
	Member      string `json:"member"`
	Name        string `json:"name"`
	Depth       int    `json:"depth"`
	HasChildren bool   `json:"has_children"`
	ParentRow   bool   `json:"parent_row"`
	// Target is the node's strategic target for the year, as set.
	Target *string `json:"target"`
	// Actual is the sum of the actuals recorded so far in the year.
	Actual *string `json:"actual"`
	// Commit and BestCase are the sales forecasts of the year: submitted
	// for the node and year, or rolled up (CommitSource says which).
	Commit       *string `json:"commit"`
	CommitSource string  `json:"commit_source,omitempty"`
	BestCase     *string `json:"best_case"`
	// Forecast is the statistical forecast of the year: actuals of the
	// closed months plus the coherent forecast of the open ones, with its
	// intervals.
	Forecast *Interval `json:"forecast"`
	// LatestEstimate is where the year lands if nothing changes: actuals
	// plus the coherent forecast of the open months. Never the target.
	LatestEstimate *Amount `json:"latest_estimate"`
	// PlanToTarget is the year of the plan reconciled to the targets:
	// actuals plus the open months sales must deliver.
	PlanToTarget *Amount `json:"plan_to_target"`
	// Gap is target − latest estimate; GapToCommit is commit − latest
	// estimate.
	Gap         *Amount `json:"gap"`
	GapToCommit *Amount `json:"gap_to_commit"`
	StdDev      *Amount `json:"std_dev"`
	Probability *Num    `json:"probability"`
	// Estimated reports that the year's closed months lack an actual of
	// some cell of the node, whose forecast stands in for it in the
	// forecast, latest estimate and plan to target (ForecastSource.Estimated).
	Estimated bool       `json:"estimated,omitempty"`
	Cells     []HeatCell `json:"cells,omitempty"`
}

// HeatCell is one node of the heatmap: a row's member crossed with a
// column's.
type HeatCell struct {
	Node        string  `json:"node"`
	Target      *string `json:"target"`
	Gap         *Amount `json:"gap"`
	Probability *Num    `json:"probability"`
}

// Column is a heatmap column: a member of the cross dimension.
type Column struct {
	Member string `json:"member"`
	Name   string `json:"name"`
}

// Variance is the answer of the variance query.
type Variance struct {
	kept // its JSON once the answer cache keeps it

	Plan          string         `json:"plan"`
	Metric        string         `json:"metric"`
	Year          int            `json:"year"`
	Span          SpanJSON       `json:"span"`
	Dimension     string         `json:"dimension"`
	Parent        string         `json:"parent"`
	Cross         string         `json:"cross,omitempty"`
	ClosedThrough string         `json:"closed_through"`
	Forecast      ForecastSource `json:"forecast_source"`
	// EstimatePolicy says how latest_estimate was made (policy.go); nil
	// for a derived metric, whose estimate combines its operands'.
	EstimatePolicy *EstimatePolicyJSON `json:"estimate_policy,omitempty"`
	// Partial reports that the forecast does not reach the whole year
	// (Forecast.Beyond): the rows' forecast, latest estimate, plan to
	// target, gaps and probability are null, never filled with zeros.
	Partial bool `json:"partial"`
	// Uncertainty says how the intervals and probabilities model the
	// forecast errors' correlation (see uncertainty.go).
	Uncertainty string `json:"uncertainty"`
	// Formula is a derived metric's definition ("margin / revenue"), and
	// Undefined says where a ratio's denominator is zero (that figure is
	// null); both absent for a measured metric.
	Formula   string        `json:"formula,omitempty"`
	Undefined []string      `json:"undefined,omitempty"`
	AsOf      ref           `json:"as_of"`
	Conflicts []string      `json:"conflicts"`
	Columns   []Column      `json:"columns,omitempty"`
	Rows      []VarianceRow `json:"rows"`
}

// VarianceQuery holds the parameters of the variance query.
type VarianceQuery struct {
	Metric, Year, AsOf, Dimension, Parent, Level, Node, Cross string
}

// yearOf reads a fiscal year parameter; the default is the fiscal year of
// the plan's horizon start.
func yearOf(p *plan.Plan, v string) (int, error) {
	cal := p.Calendar()
	if v == "" {
		return cal.Year(p.Horizon().First), nil
	}
	y, err := strconv.Atoi(v)
	if err != nil || y < 1900 || y > 9999 {
		return 0, BadParam("year", v, "want a fiscal year such as 2028")
	}
	return y, nil
}

// Variance answers the overview: per node at a level of a dimension, the
// year's target, actuals to date, statistical forecast, commit, latest
// estimate, gap and probability of reaching the target.
func (s *Service) Variance(ctx context.Context, planID string, q VarianceQuery) (*Variance, error) {
	st, err := s.state(ctx, planID, "as_of", q.AsOf)
	if err != nil {
		return nil, err
	}
	p, err := planOf(st, planID)
	if err != nil {
		return nil, err
	}
	if q.AsOf != "" {
		return st.variance(ctx, p, q)
	}
	type query struct {
		plan string
		q    VarianceQuery
	}
	return answer(s.answers, st, "variance", query{planID, q}, func() (*Variance, error) { return st.variance(ctx, p, q) })
}

// variance answers the variance query in st, for a measured or a derived
// metric (derivedVariance).
func (st *State) variance(ctx context.Context, p *plan.Plan, q VarianceQuery) (*Variance, error) {
	if d, ok := p.DerivedMetric(q.Metric); ok {
		return st.derivedVariance(ctx, p, d, q)
	}
	metric, err := metricOf(p, q.Metric)
	if err != nil {
		return nil, err
	}
	year, err := yearOf(p, q.Year)
	if err != nil {
		return nil, err
	}
	dimID := q.Dimension
	if dimID == "" {
		dimID = p.Dimensions()[0]
	}
	d := st.dims[dimID]
	if d == nil || !containsStr(p.Dimensions(), dimID) {
		return nil, BadParam("dimension", dimID, "not a dimension of plan %s", p.ID())
	}
	base, err := parseNode(st, p, "node", q.Node)
	if err != nil {
		return nil, err
	}
	base = base.Without(dimID)
	var cross = q.Cross
	var crossDim *dimension.Dimension
	if cross == "-" || cross == dimID {
		cross = ""
	}
	if cross != "" {
		crossDim = st.dims[cross]
		if crossDim == nil || !containsStr(p.Dimensions(), cross) {
			return nil, BadParam("cross", q.Cross, "not a dimension of plan %s", p.ID())
		}
		base = base.Without(cross)
	}
	cal := p.Calendar()
	span := cal.FiscalYear(year)
	a, err := st.analysis(ctx, p, metric, span)
	if err != nil {
		return nil, err
	}
	// Which members are rows.
	var members []string
	parent := q.Parent
	if q.Level != "" {
		lv, err := strconv.Atoi(q.Level)
		if err != nil || lv < 0 || lv > 32 {
			return nil, BadParam("level", q.Level, "want a depth from 0")
		}
		members = atDepth(d, lv)
		parent = ""
	} else {
		if parent == "" {
			parent = d.Root()
		}
		if m, ok := d.Member(parent); !ok || m.Retired {
			return nil, BadParam("parent", q.Parent, "not an active member of dimension %s", dimID)
		}
		members = append([]string{parent}, d.Children(parent)...)
	}
	out := &Variance{Plan: p.ID(), Metric: metric.ID, Year: year, Span: spanJSON(cal, span), Dimension: dimID,
		Parent: parent, Cross: cross, ClosedThrough: a.closedThrough(), Forecast: a.source(0, len(a.periods)-1), EstimatePolicy: a.policyJSON(), Uncertainty: a.uncertainty().label, AsOf: refOf(st, ""), Conflicts: a.conflicts, Rows: []VarianceRow{}}
	out.Partial = out.Forecast.Beyond != ""
	if out.Conflicts == nil {
		out.Conflicts = []string{}
	}
	var cols []string
	if crossDim != nil {
		cols = crossDim.Children(crossDim.Root())
		for _, c := range cols {
			m, _ := crossDim.Member(c)
			out.Columns = append(out.Columns, Column{Member: c, Name: m.Name})
		}
	}
	rc := a.rowCommits()
	for k, mem := range members {
		m, _ := d.Member(mem)
		if m.Retired {
			continue
		}
		node, _ := base.With(dimID, mem)
		node, _ = node.Resolve(a.dims...)
		row := a.varianceRow(node, span, rc)
		row.Member, row.Name, row.Depth = mem, m.Name, len(d.Ancestors(mem))
		row.HasChildren = len(d.Children(mem)) > 0
		row.ParentRow = q.Level == "" && k == 0
		for _, c := range cols {
			cn, _ := node.With(cross, c)
			cn, _ = cn.Resolve(a.dims...)
			r := a.varianceRow(cn, span, rc)
			row.Cells = append(row.Cells, HeatCell{Node: cn.String(), Target: r.Target, Gap: r.Gap, Probability: r.Probability})
		}
		out.Rows = append(out.Rows, row)
	}
	return out, nil
}

// rowCommits resolves the commits of the rows of one answer, sharing what
// one row resolved with the next.
type rowCommits struct{ commit, bestCase *commitRollup }

func (a *analysis) rowCommits() rowCommits {
	return rowCommits{a.commits(commit.ConfidenceCommit), a.commits(commit.ConfidenceBestCase)}
}

// varianceRow computes the figures of node over span (one fiscal year of the
// analysis), resolving commits with rc.
func (a *analysis) varianceRow(node dimension.Node, span fiscal.Span, rc rowCommits) VarianceRow {
	row := VarianceRow{Node: node.String(), Name: label(a.st, node)}
	i, ok := a.index(node)
	if !ok {
		return row
	}
	q0, q1 := int(span.First-a.span.First), int(span.Last-a.span.First)
	act, any := a.recorded(i, q0, q1)
	if !any {
		act = decimal.Decimal{}
	}
	row.Actual = decPtr(act, true)
	_, beyond := a.forecastGaps(q0, q1)
	forecast := beyond < 0 // else the forecast does not reach the whole span: no zeros
	mean, sd := a.stat(i, q0, q1)
	le := a.latest(i, q0, q1, mean)
	row.Estimated = a.estimatedIn(i, q0, q1)
	if forecast {
		row.Forecast = interval(mean, sd)
		row.StdDev = amountPtr(sd, true)
		row.LatestEstimate = amountPtr(le, true)
		row.PlanToTarget = amountPtr(a.reconciled(i, q0, q1))
	}
	if t, ok := a.plan.Target(node, a.metric.ID, span); ok {
		row.Target = decPtr(t.Amount, true)
		// P(target) needs the forecast distribution only, not the
		// reconciliation: a target left out as conflicting still has one.
		target := t.Amount.Float64()
		if o, ok := a.outcome(node, span); ok {
			target = o.Value // a previewed target
		}
		row.Gap = amountPtr(target-le, forecast)
		if forecast {
			row.Probability = numPtr(ProbabilityAtLeast(target, mean, sd), true)
		}
	}
	if c, ok := rc.commit.resolve(node, span); ok {
		row.Commit, row.CommitSource = decPtr(c.amount, true), c.source
		row.GapToCommit = amountPtr(c.amount.Float64()-le, forecast)
	}
	if c, ok := rc.bestCase.resolve(node, span); ok {
		row.BestCase = decPtr(c.amount, true)
	}
	return row
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// atDepth returns the active members of d at depth lv, in tree order.
func atDepth(d *dimension.Dimension, lv int) []string {
	var out []string
	var walk func(id string, depth int)
	walk = func(id string, depth int) {
		if depth == lv {
			out = append(out, id)
			return
		}
		for _, c := range d.Children(id) {
			walk(c, depth+1)
		}
	}
	walk(d.Root(), 0)
	return out
}
