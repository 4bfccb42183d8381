package view

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/scenario"
)

// MetricJSON is a metric of a plan.
type MetricJSON = plan.Metric

// PlanSummary describes a plan in the plan list.
type PlanSummary struct {
	ID       string       `json:"id"`
	Name     string       `json:"name"`
	Currency string       `json:"currency"`
	Metrics  []MetricJSON `json:"metrics"`
	// DerivedMetrics are the metrics computed by formula from others
	// (POST …/derived-metrics), in the order defined: the variance and the
	// rolling plan answer for them as for a measured metric.
	DerivedMetrics  []DerivedMetricJSON `json:"derived_metrics"`
	FiscalYearStart int                 `json:"fiscal_year_start"`
	Horizon         SpanJSON            `json:"horizon"`
}

// DerivedMetricJSON is a derived metric of a plan: its id, name and unit,
// its formula as written ("margin / revenue") and the formula's parts. A
// ratio (op "/") is a percentage (100 × left / right).
type DerivedMetricJSON struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Unit    string `json:"unit,omitempty"`
	Formula string `json:"formula"`
	Left    string `json:"left"`
	Op      string `json:"op"`
	Right   string `json:"right"`
}

func summary(p *plan.Plan) PlanSummary {
	derived := []DerivedMetricJSON{}
	for _, d := range p.DerivedMetrics() {
		derived = append(derived, DerivedMetricJSON{ID: d.ID, Name: d.Name, Unit: d.Unit, Formula: d.Formula.String(),
			Left: d.Formula.Left, Op: string(d.Formula.Op), Right: d.Formula.Right})
	}
	return PlanSummary{ID: p.ID(), Name: p.Name(), Currency: p.Currency(), Metrics: p.Metrics(), DerivedMetrics: derived,
		FiscalYearStart: int(p.Calendar().StartMonth()), Horizon: spanJSON(p.Calendar(), p.Horizon())}
}

// Plans lists the plans known now, by id.
func (s *Service) Plans(ctx context.Context, asOf string) ([]PlanSummary, error) {
	st, err := s.state(ctx, "", "as_of", asOf)
	if err != nil {
		return nil, err
	}
	out := []PlanSummary{}
	for id := range st.plans {
		if p, ok := st.Plan(id); ok {
			out = append(out, summary(p))
		}
	}
	slices.SortFunc(out, func(a, b PlanSummary) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// MemberJSON is a member of a dimension.
type MemberJSON struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Parent string `json:"parent"`
	Depth  int    `json:"depth"`
	Leaf   bool   `json:"leaf"`
}

// DimensionJSON is a dimension with its active members in tree order.
type DimensionJSON struct {
	ID      string       `json:"id"`
	Name    string       `json:"name"`
	Root    string       `json:"root"`
	Members []MemberJSON `json:"members"`
}

// dimensionJSON lists d's active members in tree order.
func dimensionJSON(d *dimension.Dimension) DimensionJSON {
	dj := DimensionJSON{ID: d.ID(), Name: d.Name(), Root: d.Root(), Members: []MemberJSON{}}
	var walk func(id string, depth int)
	walk = func(id string, depth int) {
		m, _ := d.Member(id)
		kids := d.Children(id)
		dj.Members = append(dj.Members, MemberJSON{ID: id, Name: m.Name, Parent: m.Parent, Depth: depth, Leaf: len(kids) == 0})
		for _, c := range kids {
			walk(c, depth+1)
		}
	}
	walk(d.Root(), 0)
	return dj
}

// Dimensions is the answer of the dimensions query.
type Dimensions struct {
	Dimensions []DimensionJSON `json:"dimensions"`
	AsOf       ref             `json:"as_of"`
}

// Dimensions lists every dimension defined as known at asOf, by id, with
// its active members in tree order.
func (s *Service) Dimensions(ctx context.Context, asOf string) (*Dimensions, error) {
	st, err := s.state(ctx, "", "as_of", asOf)
	if err != nil {
		return nil, err
	}
	out := &Dimensions{Dimensions: []DimensionJSON{}, AsOf: refOf(st, "")}
	for _, d := range st.dims {
		if d.ID() != "" {
			out.Dimensions = append(out.Dimensions, dimensionJSON(d))
		}
	}
	slices.SortFunc(out.Dimensions, func(a, b DimensionJSON) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// LastActual returns the latest period with an actual of any metric of
// plan planID, as known now, and false when there is none.
func (s *Service) LastActual(ctx context.Context, planID string) (fiscal.Period, bool, error) {
	st, err := s.Live(ctx)
	if err != nil {
		return 0, false, err
	}
	p, err := planOf(st, planID)
	if err != nil {
		return 0, false, err
	}
	var last fiscal.Period
	found := false
	for k, cells := range st.actuals {
		if _, measured := p.Metric(k.metric); measured && len(cells) > 0 && (!found || k.period > last) {
			last, found = k.period, true
		}
	}
	return last, found, nil
}

// TagJSON is a version tag of a plan.
type TagJSON struct {
	Tag      string `json:"tag"`
	Version  uint64 `json:"version"`
	Position string `json:"position"`
	Time     string `json:"time"`
	By       string `json:"by"`
}

// PlanDetail is the answer of the plan query.
type PlanDetail struct {
	PlanSummary
	ClosedThrough string          `json:"closed_through"`
	Years         []int           `json:"years"`
	Dimensions    []DimensionJSON `json:"dimensions"`
	Tags          []TagJSON       `json:"tags"`
	AsOf          ref             `json:"as_of"`
}

// PlanAsOf returns plan planID as known at asOf (a log position, a time, a
// date or "tag:NAME", as every as_of parameter) and the log position it
// was read at. The plan is the read model's and must not be changed.
func (s *Service) PlanAsOf(ctx context.Context, planID, asOf string) (*plan.Plan, string, error) {
	st, err := s.state(ctx, planID, "as_of", asOf)
	if err != nil {
		return nil, "", err
	}
	p, err := planOf(st, planID)
	if err != nil {
		return nil, "", err
	}
	return p, st.Position.String(), nil
}

// Targets returns the targets of plan planID as known at asOf (as
// PlanAsOf), in the order of plan.Plan.Targets, with the plan and the log
// position they were read at. The targets are computed once per plan
// aggregate and shared: they must not be changed, nor the plan.
func (s *Service) Targets(ctx context.Context, planID, asOf string) ([]plan.Target, *plan.Plan, string, error) {
	st, err := s.state(ctx, planID, "as_of", asOf)
	if err != nil {
		return nil, nil, "", err
	}
	p, err := planOf(st, planID)
	if err != nil {
		return nil, nil, "", err
	}
	return st.targetsOf(p), p, st.Position.String(), nil
}

// Plan describes one plan as known at asOf.
func (s *Service) Plan(ctx context.Context, planID, asOf string) (*PlanDetail, error) {
	st, err := s.state(ctx, planID, "as_of", asOf)
	if err != nil {
		return nil, err
	}
	p, err := planOf(st, planID)
	if err != nil {
		return nil, err
	}
	cal := p.Calendar()
	h := p.Horizon()
	out := &PlanDetail{PlanSummary: summary(p), AsOf: refOf(st, ""), Dimensions: []DimensionJSON{}, Tags: []TagJSON{}}
	for y := cal.Year(h.First); y <= cal.Year(h.Last); y++ {
		out.Years = append(out.Years, y)
	}
	for q := h.First; st.closed[q]; q = q.Add(1) {
		out.ClosedThrough = q.String()
	}
	if out.ClosedThrough == "" {
		// The last closed period before the horizon, if any.
		for q := h.First.Add(-1); q >= h.First.Add(-24); q-- {
			if st.closed[q] {
				out.ClosedThrough = q.String()
				break
			}
		}
	}
	for _, id := range p.Dimensions() {
		if d := st.dims[id]; d != nil {
			out.Dimensions = append(out.Dimensions, dimensionJSON(d))
		}
	}
	for _, t := range p.Tags() {
		tj := TagJSON{Tag: t.Tag, Version: t.Version, By: t.By}
		if r, ok := st.streamVersion(plan.Stream(p.ID()), t.Version); ok {
			tj.Position, tj.Time = r.Position.String(), r.RecordedAt.UTC().Format(time.RFC3339)
		}
		out.Tags = append(out.Tags, tj)
	}
	return out, nil
}

// RollingPeriod is one month of the rolling plan of a node (the columns
// are defined in api/COLUMNS.md).
type RollingPeriod struct {
	Period string  `json:"period"`
	Closed bool    `json:"closed"`
	Actual *string `json:"actual"`
	// Target and Commit are the node's targets and commits phased by
	// month: a closed month shows its actual, and the open months share
	// the rest, so that each line adds up to the figure that was set.
	Target   *Amount   `json:"target"`
	Forecast *Interval `json:"forecast"`
	Commit   *Amount   `json:"commit"`
	// LatestEstimate is the actual of a closed month, the coherent
	// statistical forecast of an open one. A closed month in which some
	// cell has no actual is Estimated: that cell's forecast stands in.
	LatestEstimate *Amount `json:"latest_estimate"`
	Estimated      bool    `json:"estimated,omitempty"`
	// PlanToTarget is the month of the plan reconciled to the targets: the
	// run-rate sales must deliver.
	PlanToTarget        *Amount `json:"plan_to_target"`
	CoherenceAdjustment Amount  `json:"coherence_adjustment"`
	TargetAdjustment    Amount  `json:"target_adjustment"`
}

// TargetJSON is a target of a node.
type TargetJSON struct {
	Span   SpanJSON `json:"span"`
	Amount string   `json:"amount"`
}

// Explanation splits the open months' reconciled plan into its parts.
type Explanation struct {
	Forecast     Amount  `json:"forecast"`
	Coherence    Amount  `json:"coherence"`
	Target       Amount  `json:"target"`
	PlanToTarget *Amount `json:"plan_to_target"`
	Text         string  `json:"text"`
}

// Rolling is the answer of the rolling-plan query.
type Rolling struct {
	kept // its JSON once the answer cache keeps it

	Plan          string         `json:"plan"`
	Metric        string         `json:"metric"`
	Node          string         `json:"node"`
	Label         string         `json:"label"`
	AsOf          ref            `json:"as_of"`
	Window        SpanJSON       `json:"window"`
	ClosedThrough string         `json:"closed_through"`
	Forecast      ForecastSource `json:"forecast_source"`
	// EstimatePolicy says how latest_estimate was made (policy.go); nil
	// for a derived metric, whose estimate combines its operands'.
	EstimatePolicy *EstimatePolicyJSON `json:"estimate_policy,omitempty"`
	Conflicts      []string            `json:"conflicts"`
	Periods        []RollingPeriod     `json:"periods"`
	Targets        []TargetJSON        `json:"targets"`
	Explanation    Explanation         `json:"explanation"`
}

// Rolling answers the node view: the months of the plan's rolling window,
// from the start of the fiscal year of its first month, with actuals, phased target, forecast with intervals, phased commit and
// the reconciled plan, and the adjustment split into its coherence and
// target parts.
func (s *Service) Rolling(ctx context.Context, planID, metricID, nodeText, asOf string) (*Rolling, error) {
	st, err := s.state(ctx, planID, "as_of", asOf)
	if err != nil {
		return nil, err
	}
	p, err := planOf(st, planID)
	if err != nil {
		return nil, err
	}
	if asOf != "" {
		return st.rolling(ctx, p, metricID, nodeText)
	}
	type query struct{ plan, metric, node string }
	return answer(s.answers, st, "rolling", query{planID, metricID, nodeText}, func() (*Rolling, error) { return st.rolling(ctx, p, metricID, nodeText) })
}

// rolling answers the rolling-plan query in st, for a measured or a
// derived metric (derivedRolling).
func (st *State) rolling(ctx context.Context, p *plan.Plan, metricID, nodeText string) (*Rolling, error) {
	if d, ok := p.DerivedMetric(metricID); ok {
		return st.derivedRolling(ctx, p, d, nodeText)
	}
	metric, err := metricOf(p, metricID)
	if err != nil {
		return nil, err
	}
	node, err := parseNode(st, p, "node", nodeText)
	if err != nil {
		return nil, err
	}
	cal := p.Calendar()
	// The window starts with the fiscal year of the horizon's first month,
	// so that the year's closed months show their actuals beside the
	// forecast of the open ones.
	window := p.Horizon()
	window.First = yearsSpan(cal, window).First
	a, err := st.analysis(ctx, p, metric, yearsSpan(cal, window))
	if err != nil {
		return nil, err
	}
	i, ok := a.index(node)
	if !ok {
		return nil, fmt.Errorf("%w: node %q in plan %s", ErrNotFound, nodeText, p.ID())
	}
	out := &Rolling{Plan: p.ID(), Metric: metric.ID, Node: node.String(), Label: label(st, node), AsOf: refOf(st, ""),
		Window: spanJSON(cal, window), ClosedThrough: a.closedThrough(), Forecast: a.source(int(window.First-a.span.First), int(window.Last-a.span.First)), EstimatePolicy: a.policyJSON(), Conflicts: a.conflicts, Targets: []TargetJSON{}}
	if out.Conflicts == nil {
		out.Conflicts = []string{}
	}
	targets := a.monthly(i, func(sp fiscal.Span) (decimal.Decimal, bool) {
		t, ok := p.Target(node, metric.ID, sp)
		return t.Amount, ok
	})
	rollup := a.commits(commit.ConfidenceCommit)
	commits := a.monthly(i, func(sp fiscal.Span) (decimal.Decimal, bool) {
		c, ok := rollup.resolve(node, sp)
		return c.amount, ok
	})
	var ex Explanation
	var rec float64
	for q, per := range a.periods {
		if !window.Contains(per) {
			continue
		}
		rp := RollingPeriod{Period: per.String(), Closed: q < a.closed,
			Target: amountPtr(targets[q], true), Commit: amountPtr(commits[q], true)}
		if v, ok := a.recorded(i, q, q); ok {
			rp.Actual = decPtr(v, true)
		}
		rp.PlanToTarget = amountPtr(a.reconciled(i, q, q))
		mean, sd := a.stat(i, q, q)
		rp.LatestEstimate = amountPtr(a.latest(i, q, q, mean), true)
		rp.Estimated = a.estimatedIn(i, q, q)
		if a.beyond[q] {
			// Nothing forecasts this month: no figure rather than zero.
			rp.LatestEstimate, rp.PlanToTarget = nil, nil
		} else if q >= a.closed {
			rp.Forecast = interval(mean, sd)
			if a.result != nil {
				rp.CoherenceAdjustment = Amount(a.result.CoherenceAdjustment(i, q))
				rp.TargetAdjustment = Amount(a.result.TargetAdjustment(i, q))
				ex.Forecast += Amount(a.result.Base.At(i, q))
				ex.Coherence += rp.CoherenceAdjustment
				ex.Target += rp.TargetAdjustment
				rec += a.result.Reconciled.At(i, q)
			} else {
				ex.Forecast += Amount(mean)
			}
		}
		out.Periods = append(out.Periods, rp)
	}
	for _, t := range p.TargetsOf(node, metric.ID) {
		out.Targets = append(out.Targets, TargetJSON{Span: spanJSON(cal, t.Span), Amount: t.Amount.String()})
	}
	if a.result != nil {
		ex.PlanToTarget = amountPtr(rec, true)
		ex.Text = fmt.Sprintf("Over the open months the statistical forecast of %s is %.0f. Making every level add up changes it by %+.0f, giving the latest estimate; meeting the targets changes it by %+.0f more, giving the plan to target of %.0f.",
			out.Label, float64(ex.Forecast), float64(ex.Coherence), float64(ex.Target), rec)
		if n := len(a.conflicts); n > 0 {
			ex.Text += fmt.Sprintf(" The targets of %d conflicts are left out of it (listed under conflicts).", n)
		}
	} else {
		ex.Text = fmt.Sprintf("The targets conflict, so there is no reconciled plan (%d conflicts, listed under conflicts).", len(a.conflicts))
	}
	out.Explanation = ex
	return out, nil
}

// HistoryItem is one event of the audit history.
type HistoryItem struct {
	Position string          `json:"position"`
	Time     string          `json:"time"`
	Stream   string          `json:"stream"`
	Version  uint64          `json:"version"`
	Type     string          `json:"type"`
	Actor    string          `json:"actor"`
	Node     string          `json:"node,omitempty"`
	Metric   string          `json:"metric,omitempty"`
	Span     string          `json:"span,omitempty"`
	From     *string         `json:"from,omitempty"`
	To       *string         `json:"to,omitempty"`
	Reason   string          `json:"reason,omitempty"`
	Summary  string          `json:"summary"`
	Data     json.RawMessage `json:"data"`
}

// History is a page of the audit history, newest first.
type History struct {
	Items      []HistoryItem `json:"items"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// HistoryQuery holds the filters of the history query. Types, when
// given, are the only event types listed; ExcludeTypes are left out.
// Without either, DefaultExcluded types are left out: the forecast
// requests that every period close makes by the dozen would flood the
// page (list them with type=forecast.Requested).
type HistoryQuery struct {
	Types, ExcludeTypes           []string
	Actor, Node, Metric, From, To string
	Cursor                        string
	Limit                         int
	// Scenario, when set, asks for the history of that scenario of the
	// plan: the plan's up to the scenario's base, then the scenario's own
	// events.
	Scenario string
}

// DefaultExcluded are the event types the history leaves out unless asked
// for (HistoryQuery).
var DefaultExcluded = []string{forecast.TypeRequested}

// relevant reports whether an event belongs to plan p's history.
func relevant(p *plan.Plan, e entry) bool {
	switch ev := e.event.(type) {
	case plan.Event:
		return e.rec.Stream == plan.Stream(p.ID())
	case commit.Event:
		return e.rec.Stream == "commits-"+p.ID()
	case forecast.Published:
		return ev.Plan == p.ID()
	case forecast.Sealed:
		return ev.Plan == p.ID()
	case forecast.Requested:
		return ev.Plan == p.ID()
	case ledger.Event:
		return true
	case scenario.Event:
		// The plan's history says when scenarios were opened, rebased,
		// discarded and promoted; their changes are in their own.
		_, assumption := ev.(scenario.ShockAssumed)
		return e.rec.Stream == scenario.Stream(p.ID()) && inner(ev) == nil && !assumption
	default:
		for _, d := range p.Dimensions() {
			if e.rec.Stream == dimension.Stream(d) {
				return true
			}
		}
	}
	return false
}

// History answers the audit timeline of a plan: every event about it, its
// dimensions, the ledger, its commits and forecasts, newest first, filtered
// and paged by cursor (the position to continue before).
func (s *Service) History(ctx context.Context, planID string, q HistoryQuery) (*History, error) {
	live, err := s.Live(ctx)
	if err != nil {
		return nil, err
	}
	p, err := planOf(live, planID)
	if err != nil {
		return nil, err
	}
	var node dimension.Node
	if q.Node != "" {
		if node, err = parseNode(live, p, "node", q.Node); err != nil {
			return nil, err
		}
	}
	bound := func(field, v string, def eventstore.Position) (eventstore.Position, error) {
		if v == "" {
			return def, nil
		}
		pos, t, isPos, err := parseWhen(field, v)
		if err != nil || isPos {
			return pos, err
		}
		return s.PositionAt(ctx, t)
	}
	from, err := bound("from", q.From, eventstore.Start)
	if err != nil {
		return nil, err
	}
	to, err := bound("to", q.To, live.Position)
	if err != nil {
		return nil, err
	}
	if q.Cursor != "" {
		c, err := eventstore.ParsePosition(q.Cursor)
		if err != nil {
			return nil, BadParam("cursor", q.Cursor, "not a cursor from a previous page")
		}
		if c.Before(to) || c == to {
			to = prev(c)
		}
	}
	var dims []*dimension.Dimension
	for _, id := range p.Dimensions() {
		if d := live.dims[id]; d != nil {
			dims = append(dims, d)
		}
	}
	keep := func(e entry) bool { return relevant(p, e) }
	if q.Scenario != "" {
		sc, err := s.ScenarioOf(ctx, planID, q.Scenario)
		if err != nil {
			return nil, err
		}
		keep = func(e entry) bool { return inScenario(p, sc, e) }
	}
	excluded := q.ExcludeTypes
	if len(q.Types) == 0 && len(q.ExcludeTypes) == 0 {
		excluded = DefaultExcluded
	}
	// The types asked for, and never a run's parts: no history lists them
	// (relevant), and their series are most of the log's bytes.
	want := func(rec eventstore.RecordedEvent) bool {
		return rec.Type != forecast.TypePartPublished && (len(q.Types) == 0 || slices.Contains(q.Types, rec.Type)) &&
			!slices.Contains(excluded, rec.Type)
	}
	out := &History{Items: []HistoryItem{}}
	var rerr error
	for e := range s.backward(ctx, from, to, want, &rerr) {
		if !keep(e) {
			continue
		}
		it := describe(live, p, e)
		if q.Actor != "" && !strings.EqualFold(it.Actor, q.Actor) {
			continue
		}
		if q.Metric != "" && it.Metric != q.Metric {
			continue
		}
		if q.Node != "" && !touches(e, node, dims) {
			continue
		}
		if len(out.Items) == q.Limit {
			out.NextCursor = out.Items[len(out.Items)-1].Position
			break
		}
		out.Items = append(out.Items, it)
	}
	if rerr != nil {
		return nil, rerr
	}
	return out, nil
}

// prev returns the position just before c (for an exclusive cursor).
func prev(c eventstore.Position) eventstore.Position {
	if c.Commit == 0 {
		return c
	}
	if c.Commit == c.Prepare {
		return eventstore.Position{Commit: c.Commit - 1, Prepare: c.Commit - 1}
	}
	return eventstore.Position{Commit: c.Commit - 1, Prepare: math.MaxUint64}
}

// touches reports whether an event is about node n or a node below it.
func touches(e entry, n dimension.Node, dims []*dimension.Dimension) bool {
	in := func(x dimension.Node) bool {
		for _, c := range n.Coords() {
			m, ok := x.Member(c.Dimension)
			if !ok {
				return false
			}
			covered := false
			for _, d := range dims {
				if d.ID() == c.Dimension && d.Covers(c.Member, m) {
					covered = true
				}
			}
			if !covered {
				return false
			}
		}
		return true
	}
	switch ev := e.event.(type) {
	case plan.TargetSet:
		return in(ev.Node)
	case plan.TargetRevised:
		return in(ev.Node)
	case plan.TargetCleared:
		return in(ev.Node)
	case plan.ReallocationProposed:
		return slices.ContainsFunc(ev.Moves, func(m plan.Move) bool { return in(m.Node) })
	case ledger.ActualRecorded:
		return in(ev.Cell)
	case ledger.ActualRestated:
		return in(ev.Cell)
	case commit.Submitted:
		return in(ev.Node)
	}
	return false
}

// describe turns an event into a history item with a one-line summary.
func describe(st *State, p *plan.Plan, e entry) HistoryItem {
	r := e.rec
	it := HistoryItem{Position: r.Position.String(), Time: r.RecordedAt.UTC().Format(time.RFC3339), Stream: r.Stream,
		Version: r.Version, Type: r.Type, Actor: r.Metadata.Actor, Data: json.RawMessage(r.Data)}
	if !json.Valid(r.Data) {
		it.Data = json.RawMessage("null")
	}
	cal := p.Calendar()
	str := func(d decimal.Decimal) *string { s := d.String(); return &s }
	by := func(b string) {
		if it.Actor == "" {
			it.Actor = b
		}
	}
	switch ev := e.event.(type) {
	case plan.TargetSet:
		by(ev.By)
		it.Node, it.Metric, it.Span, it.To, it.Reason = ev.Node.String(), ev.Metric, cal.Format(ev.Span), str(ev.Amount), ev.Reason
		it.Summary = fmt.Sprintf("Target of %s, %s, %s set to %s: %s", label(st, ev.Node), ev.Metric, it.Span, ev.Amount, ev.Reason)
	case plan.TargetRevised:
		by(ev.By)
		it.Node, it.Metric, it.Span, it.From, it.To, it.Reason = ev.Node.String(), ev.Metric, cal.Format(ev.Span), str(ev.From), str(ev.To), ev.Reason
		it.Summary = fmt.Sprintf("Target of %s, %s, %s revised from %s to %s: %s", label(st, ev.Node), ev.Metric, it.Span, ev.From, ev.To, ev.Reason)
	case plan.TargetCleared:
		by(ev.By)
		it.Node, it.Metric, it.Span, it.From, it.Reason = ev.Node.String(), ev.Metric, cal.Format(ev.Span), str(ev.From), ev.Reason
		it.Summary = fmt.Sprintf("Target of %s, %s, %s (was %s) cleared: %s", label(st, ev.Node), ev.Metric, it.Span, ev.From, ev.Reason)
	case plan.ReallocationProposed:
		by(ev.By)
		it.Metric, it.Span, it.Reason = ev.Metric, cal.Format(ev.Span), ev.Reason
		var moves []string
		for _, m := range ev.Moves {
			moves = append(moves, fmt.Sprintf("%s %s", label(st, m.Node), m.Delta))
		}
		it.Summary = fmt.Sprintf("Reallocation %s proposed for %s, %s: %s (%s)", ev.ID, ev.Metric, it.Span, strings.Join(moves, ", "), ev.Reason)
	case plan.ReallocationApproved:
		by(ev.By)
		it.Summary = fmt.Sprintf("Reallocation %s approved", ev.ID)
		if ev.Comment != "" {
			it.Reason = ev.Comment
			it.Summary += ": " + ev.Comment
		}
	case plan.ReallocationRejected:
		by(ev.By)
		it.Reason = ev.Reason
		it.Summary = fmt.Sprintf("Reallocation %s rejected: %s", ev.ID, ev.Reason)
	case plan.VersionTagged:
		by(ev.By)
		it.Summary = fmt.Sprintf("Version %d tagged %q", ev.Version, ev.Tag)
	case plan.VersionApproved:
		by(ev.By)
		it.Summary = fmt.Sprintf("Version %d approved", ev.Version)
		if ev.Tag != "" {
			it.Summary = fmt.Sprintf("Version %d (%q) approved", ev.Version, ev.Tag)
		}
		if ev.Comment != "" {
			it.Reason = ev.Comment
			it.Summary += ": " + ev.Comment
		}
	case plan.ChangesProposed:
		describeProposal(st, p, ev, &it)
	case scenario.Event:
		describeScenario(st, p, e, ev, &it)
	case plan.Opened:
		it.Summary = fmt.Sprintf("Plan %s opened", ev.Name)
	case plan.HorizonRolled:
		it.Summary = fmt.Sprintf("Rolling horizon moved from %s to %s", ev.From, ev.To)
	case plan.EstimatePolicySet:
		by(ev.By)
		it.Metric, it.Reason = ev.Metric, ev.Reason
		of := "every metric without a policy of its own"
		if ev.Metric != "" {
			of = ev.Metric
		}
		policy := ev.Policy.Kind
		if policy == plan.PolicyBlend {
			policy = fmt.Sprintf("blend (%.0f%% commit)", 100*ev.Policy.CommitWeight)
		}
		it.Summary = fmt.Sprintf("Latest estimate of %s made by the %s policy: %s", of, policy, ev.Reason)
	case plan.ModelPinned:
		by(ev.By)
		it.Node, it.Metric, it.Reason = ev.Node.String(), ev.Metric, ev.Reason
		of := ev.Metric
		if of == "" {
			of = "every metric"
		}
		it.Summary = fmt.Sprintf("Forecast of %s, %s pinned to method %s: %s", label(st, ev.Node), of, ev.Method, ev.Reason)
	case ledger.ActualRecorded:
		by(ev.By)
		it.Node, it.Metric, it.Span, it.To = ev.Cell.String(), ev.Metric, ev.Period.String(), str(ev.Amount)
		it.Summary = fmt.Sprintf("Actual of %s, %s, %s recorded: %s", label(st, ev.Cell), ev.Metric, ev.Period, ev.Amount)
	case ledger.ActualRestated:
		by(ev.By)
		it.Node, it.Metric, it.Span, it.From, it.To, it.Reason = ev.Cell.String(), ev.Metric, ev.Period.String(), str(ev.From), str(ev.To), ev.Reason
		it.Summary = fmt.Sprintf("Actual of %s, %s, %s restated from %s to %s: %s", label(st, ev.Cell), ev.Metric, ev.Period, ev.From, ev.To, ev.Reason)
	case ledger.PeriodClosed:
		by(ev.By)
		it.Span = ev.Period.String()
		it.Summary = fmt.Sprintf("Period %s closed", ev.Period)
		if ev.Missing > 0 {
			it.Reason = ev.Reason
			it.Summary = fmt.Sprintf("Period %s closed with %d cells missing actuals: %s", ev.Period, ev.Missing, ev.Reason)
		}
	case ledger.PeriodReopened:
		by(ev.By)
		it.Span, it.Reason = ev.Period.String(), ev.Reason
		it.Summary = fmt.Sprintf("Period %s reopened: %s", ev.Period, ev.Reason)
	case commit.Submitted:
		by(ev.By)
		it.Node, it.Metric, it.Span, it.To, it.Reason = ev.Node.String(), ev.Metric, cal.Format(ev.Span), str(ev.Amount), ev.Comment
		it.Summary = fmt.Sprintf("Sales %s of %s, %s, %s: %s (%s)", ev.Confidence, label(st, ev.Node), ev.Metric, it.Span, ev.Amount, ev.Comment)
	case commit.Withdrawn:
		by(ev.By)
		it.Summary = fmt.Sprintf("Commit %s withdrawn: %s", ev.ID, ev.Reason)
	case forecast.Requested:
		it.Metric = ev.Metric
		it.Summary = fmt.Sprintf("Forecast %s of %s requested: %s", ev.RunID, ev.Metric, ev.Reason)
	case forecast.Published:
		it.Metric = ev.Metric
		it.Summary = fmt.Sprintf("Forecast %s of %s published (%d series, data at position %s)", ev.RunID, ev.Metric, len(ev.Series), ev.DataPosition)
	case forecast.Sealed:
		it.Metric = ev.Metric
		it.Summary = fmt.Sprintf("Forecast %s of %s published (%d series, data at position %s)", ev.RunID, ev.Metric, ev.Series, ev.DataPosition)
	case dimension.Event:
		it.Summary = fmt.Sprintf("Dimension %s changed (%s)", strings.TrimPrefix(r.Stream, "dimension-"), r.Type)
	default:
		it.Summary = r.Type
	}
	return it
}
