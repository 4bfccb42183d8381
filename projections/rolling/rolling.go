package rolling

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/projections/cube"
	"github.com/concord-planning/concord/projections/planstate"
)

// ErrInvalidQuery is returned for a query with an unknown policy, a
// negative window or an unknown metric of the plan.
var ErrInvalidQuery = errors.New("rolling: invalid query")

// DefaultBack is the number of closed months a window shows before the
// current period unless the query says otherwise.
const DefaultBack = 3

// Policy says what the latest estimate takes for open periods.
type Policy string

// The policies.
const (
	Statistical Policy = "statistical" // the published statistical forecast (default)
	Commit      Policy = "commit"      // the sales commit where there is one
	BestCase    Policy = "best_case"   // the best-case commit where there is one
)

// Plans is the rolling plan read model of every plan. The zero value is
// not usable; use New.
type Plans struct {
	mu    sync.RWMutex
	pos   eventstore.Position
	cube  *cube.Cube
	state *planstate.State
}

// New returns an empty read model with its own cube and plan state.
func New() *Plans { return &Plans{cube: cube.New(), state: planstate.New()} }

// Cube returns the actuals cube Plans keeps. Do not Apply to it.
func (r *Plans) Cube() *cube.Cube { return r.cube }

// State returns the plan state Plans keeps. Do not Apply to it.
func (r *Plans) State() *planstate.State { return r.state }

// Position returns the position of the last event applied.
func (r *Plans) Position() eventstore.Position {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.pos
}

// PositionAt returns the last position applied whose event was recorded at
// or before t.
func (r *Plans) PositionAt(t time.Time) eventstore.Position { return r.cube.PositionAt(t) }

// Apply folds one event into the cube and the plan state. Events at or
// before Position are ignored. It returns their ErrEventMismatch when
// event is not the value rec.Type names; the check runs before either
// changes, so a failed Apply changes nothing.
func (r *Plans) Apply(rec eventstore.RecordedEvent, event any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.pos.Before(rec.Position) {
		return nil
	}
	// The state checks type names of plan, commit and forecast events and
	// ignores the rest; the cube those of ledger and dimension events. Each
	// rejects only its own, so the first to fail has changed nothing, and
	// the state goes first because the cube's catalog is the other half.
	if err := r.state.Apply(rec, event); err != nil {
		return err
	}
	if err := r.cube.Apply(rec, event); err != nil {
		return err
	}
	r.pos = rec.Position
	return nil
}

// Query asks for one window.
type Query struct {
	Plan, Metric string
	// Nodes are the rows, in order. None means every node with a target of
	// the metric, in the order first set, then the grand total if it has
	// none.
	Nodes []dimension.Node
	// Back is the number of months before the current period (0 means
	// DefaultBack, negative means none); Forward the number from the
	// current period on (0 means the plan's horizon length).
	Back, Forward int
	Policy        Policy              // "" means Statistical
	AsOf          eventstore.Position // the zero Position means the latest
}

// Source says where a number came from.
type Source string

// The sources of a latest estimate or forecast.
const (
	SourceNone     Source = ""
	SourceActual   Source = "actual"
	SourceForecast Source = "forecast" // the node's own published series
	SourceCells    Source = "cells"    // the sum of its cells' series
	SourceCommit   Source = "commit"
)

// Window is a rolling window of one plan and metric.
type Window struct {
	Plan, Metric string
	Policy       Policy
	Current      fiscal.Period   // the first open period
	Periods      []fiscal.Period // the window, oldest first
	Closed       []bool          // per period
	Rows         []Row
	Position     eventstore.Position // the vintage the window shows
}

// Row is one node of a window.
type Row struct {
	Node  dimension.Node
	Cells []Cell     // one per period of the window
	Spans []SpanLine // every target of the node overlapping the window
}

// Cell is one node and period.
type Cell struct {
	Period            fiscal.Period
	Closed            bool
	Target            decimal.Decimal // the month target, if HasTarget
	HasTarget         bool
	Actual            decimal.Decimal // the recorded actual, if HasActual
	HasActual         bool
	Forecast          float64 // the latest statistical forecast's mean
	ForecastSource    Source  // SourceForecast, SourceCells or none
	Commit            decimal.Decimal
	CommitConfidence  commit.Confidence // "" when no month commit exists
	LE                float64
	LESource          Source // none when there is no estimate
	Gap               float64
	HasGap            bool // a month target and an LE exist
	ForecastLo80      float64
	ForecastHi80      float64
	HasForecastBounds bool // the node's own series gave the 80% interval
}

// SpanLine is one target of a node at its own span, against the span's
// latest estimate.
type SpanLine struct {
	Span     fiscal.Span
	Label    string // in the plan calendar's notation, e.g. "FY2027-Q2"
	Target   decimal.Decimal
	Actual   decimal.Decimal // actuals of the span's closed periods
	LE       float64
	Complete bool   // every period of the span had an estimate
	Source   Source // SourceCommit when a commit for the span was used
	Gap      float64
}

// Window computes the window q asks for. It returns planstate's
// ErrUnknownPlan, ErrInvalidQuery, or the catalog's errors for a node the
// dimensions do not have.
func (r *Plans) Window(q Query) (Window, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	asOf := q.AsOf
	if asOf == (eventstore.Position{}) || r.pos.Before(asOf) {
		asOf = r.pos
	}
	info, err := r.state.Plan(q.Plan, asOf)
	if err != nil {
		return Window{}, err
	}
	if q.Policy == "" {
		q.Policy = Statistical
	}
	var errs []error
	if q.Policy != Statistical && q.Policy != Commit && q.Policy != BestCase {
		errs = append(errs, fmt.Errorf("%w: policy %q (want %q, %q or %q)", ErrInvalidQuery, q.Policy, Statistical, Commit, BestCase))
	}
	known := false
	for _, m := range info.Metrics {
		known = known || m.ID == q.Metric
	}
	if !known {
		errs = append(errs, fmt.Errorf("%w: plan %q measures no metric %q", ErrInvalidQuery, q.Plan, q.Metric))
	}
	if q.Forward < 0 {
		errs = append(errs, fmt.Errorf("%w: forward %d is negative", ErrInvalidQuery, q.Forward))
	}
	if err := errors.Join(errs...); err != nil {
		return Window{}, err
	}
	back, forward := q.Back, q.Forward
	if back == 0 {
		back = DefaultBack
	}
	back = max(back, 0)
	if forward == 0 {
		forward = info.HorizonMonths
	}
	current := info.Horizon.First
	if last, ok := r.cube.LastClosed(asOf); ok && last.Add(1) > current {
		current = last.Add(1)
	}
	w := Window{Plan: q.Plan, Metric: q.Metric, Policy: q.Policy, Current: current, Position: asOf}
	span := fiscal.Span{First: current.Add(-back), Last: current.Add(forward - 1), Kind: fiscal.KindRange}
	for p := span.First; p <= span.Last; p++ {
		w.Periods = append(w.Periods, p)
		w.Closed = append(w.Closed, r.cube.IsClosed(p, asOf))
	}
	nodes := q.Nodes
	if len(nodes) == 0 {
		nodes = r.state.TargetNodes(q.Plan, q.Metric, asOf)
		hasTotal := false
		for _, n := range nodes {
			hasTotal = hasTotal || n.IsTotal()
		}
		if !hasTotal {
			nodes = append(nodes, dimension.Total)
		}
	}
	cal := fiscal.MustCalendar(info.FiscalYearStart)
	e := estimator{r: r, plan: q.Plan, metric: q.Metric, policy: q.Policy, asOf: asOf}
	for _, n := range nodes {
		row, err := e.row(n, span, cal)
		if err != nil {
			return Window{}, err
		}
		w.Rows = append(w.Rows, row)
	}
	return w, nil
}

// estimator computes the numbers of one window.
type estimator struct {
	r      *Plans
	plan   string
	metric string
	policy Policy
	asOf   eventstore.Position
	cells  []dimension.Node // forecast nodes that are cells, loaded once
	loaded bool
}

// series returns the cells of span for node: actuals, forecasts, commits
// and LE.
func (e *estimator) series(node dimension.Node, span fiscal.Span) ([]Cell, error) {
	actuals, err := e.r.cube.Actuals(node, e.metric, span, e.asOf)
	if err != nil {
		return nil, err
	}
	fc, src, lo, hi, err := e.forecast(node, span)
	if err != nil {
		return nil, err
	}
	out := make([]Cell, span.Len())
	for i := range out {
		p := span.First.Add(i)
		c := &out[i]
		c.Period, c.Closed = p, e.r.cube.IsClosed(p, e.asOf)
		if actuals[i].Cells > 0 {
			c.Actual, c.HasActual = actuals[i].Value, true
		}
		if src[i] != SourceNone {
			c.Forecast, c.ForecastSource = fc[i], src[i]
			if src[i] == SourceForecast {
				c.ForecastLo80, c.ForecastHi80, c.HasForecastBounds = lo[i], hi[i], true
			}
		}
		if conf := e.confidence(); conf != "" {
			if cm, ok := e.r.state.LatestCommit(e.plan, node, e.metric, fiscal.Month(p), conf, e.asOf); ok {
				c.Commit, c.CommitConfidence = cm.Amount, conf
			}
		}
		switch {
		case c.Closed:
			c.LE, c.LESource = actuals[i].Value.Float64(), SourceActual
		case c.CommitConfidence != "":
			c.LE, c.LESource = c.Commit.Float64(), SourceCommit
		case c.ForecastSource != SourceNone:
			c.LE, c.LESource = c.Forecast, c.ForecastSource
		}
	}
	return out, nil
}

func (e *estimator) confidence() commit.Confidence {
	switch e.policy {
	case Commit:
		return commit.ConfidenceCommit
	case BestCase:
		return commit.ConfidenceBestCase
	}
	return ""
}

// forecast returns node's forecast means over span: its own series where
// published, else the sum of its cells' series.
func (e *estimator) forecast(node dimension.Node, span fiscal.Span) (mean []float64, src []Source, lo, hi []float64, err error) {
	mean, src = make([]float64, span.Len()), make([]Source, span.Len())
	lo, hi = make([]float64, span.Len()), make([]float64, span.Len())
	pts, ok := e.r.state.Forecast(e.plan, node, e.metric, span, e.asOf)
	missing := false
	for i := range pts {
		if ok[i] {
			mean[i], src[i], lo[i], hi[i] = pts[i].Mean, SourceForecast, pts[i].Lo80, pts[i].Hi80
		} else {
			missing = true
		}
	}
	if !missing {
		return mean, src, lo, hi, nil
	}
	if !e.loaded {
		e.loaded = true
		cells := map[dimension.Node]bool{}
		for _, c := range e.r.cube.Cells(e.asOf) {
			cells[c] = true
		}
		for _, n := range e.r.state.ForecastNodes(e.plan, e.metric, e.asOf) {
			if cells[n] {
				e.cells = append(e.cells, n)
			}
		}
	}
	m, err := e.r.cube.Catalog().Hierarchy(e.asOf).Matcher(node)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	for _, c := range e.cells {
		if c == node || !m.Contains(c.Coords()) {
			continue
		}
		pts, ok := e.r.state.Forecast(e.plan, c, e.metric, span, e.asOf)
		for i := range pts {
			if ok[i] && src[i] != SourceForecast {
				mean[i] += pts[i].Mean
				src[i] = SourceCells
			}
		}
	}
	return mean, src, lo, hi, nil
}

func (e *estimator) row(node dimension.Node, window fiscal.Span, cal fiscal.Calendar) (Row, error) {
	cells, err := e.series(node, window)
	if err != nil {
		return Row{}, err
	}
	row := Row{Node: node, Cells: cells}
	for _, t := range e.r.state.NodeTargets(e.plan, node, e.metric, window, e.asOf) {
		line := SpanLine{Span: t.Span, Label: cal.Format(t.Span), Target: t.Amount}
		var spanCells []Cell
		if window.Covers(t.Span) {
			spanCells = cells[t.Span.First-window.First : t.Span.Last-window.First+1]
		} else if spanCells, err = e.series(node, t.Span); err != nil {
			return Row{}, err
		}
		line.Complete, line.Source = true, SourceNone
		for _, c := range spanCells {
			if c.Closed && c.HasActual {
				if line.Actual, err = line.Actual.Add(c.Actual); err != nil {
					return Row{}, fmt.Errorf("rolling: actuals of %q over %s: %w", node, line.Label, err)
				}
			}
			if c.LESource == SourceNone {
				line.Complete = false
			}
			line.LE += c.LE
		}
		if t.Span.Kind == fiscal.KindMonth {
			c := cells[t.Span.First-window.First]
			c.Target, c.HasTarget = t.Amount, true
			if c.LESource != SourceNone {
				c.Gap, c.HasGap = t.Amount.Float64()-c.LE, true
			}
			cells[t.Span.First-window.First] = c
			if c.LESource == SourceCommit {
				line.Source = SourceCommit
			}
		} else if conf := e.confidence(); conf != "" {
			if cm, ok := e.r.state.LatestCommit(e.plan, node, e.metric, t.Span, conf, e.asOf); ok {
				line.LE, line.Complete, line.Source = cm.Amount.Float64(), true, SourceCommit
			}
		}
		line.Gap = t.Amount.Float64() - line.LE
		row.Spans = append(row.Spans, line)
	}
	return row, nil
}
