package planstate

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/projections/vintage"
)

// Errors returned by State; check them with errors.Is.
var (
	// ErrUnknownPlan is returned for a plan not opened as of the query's
	// position.
	ErrUnknownPlan = errors.New("planstate: unknown plan")
	// ErrUnknownTag is returned for a tag a plan did not have as of the
	// query's position.
	ErrUnknownTag = errors.New("planstate: unknown tag")
	// ErrUnknownVersion is returned for a plan version not reached.
	ErrUnknownVersion = errors.New("planstate: no such plan version")
	// ErrEventMismatch is returned by Apply when the event value is not of
	// the Go type its record's type name stands for: a wiring error.
	ErrEventMismatch = errors.New("planstate: event value does not match its type name")
)

// State is the plan state read model. The zero value is not usable; use
// New.
type State struct {
	mu    sync.RWMutex
	pos   eventstore.Position
	times vintage.Timeline
	plans map[string]*planData
	order []*planData // in the order first seen
	runs  forecast.Runs
}

type targetKey struct {
	node   dimension.Node
	metric string
	span   fiscal.Span
}

type nodeMetric struct {
	node   dimension.Node
	metric string
}

type targetValue struct {
	amount     decimal.Decimal
	by, reason string
}

type planData struct {
	id       string
	openedAt eventstore.Position // zero until opened
	opened   plan.Opened
	horizon  vintage.History[fiscal.Period]
	versions []eventstore.Position // stream version v was stored at versions[v-1]

	targets     map[targetKey]*vintage.History[targetValue]
	targetOrder []targetKey
	byNode      map[nodeMetric][]fiscal.Span // spans with a target, first-set order

	reallocs     map[string]*realloc
	reallocOrder []*realloc
	tags         []Tag
	approvals    []Approval

	commits     map[commitSlot]*vintage.History[commitValue]
	commitOrder []commitSlot
	commitSlots map[string]commitSlot // by commit id

	forecasts map[string]map[dimension.Node]*fcSeries // by metric, node
	fcNodes   map[string][]fcNode                     // by metric, first-published order
	runs      []Run
}

type realloc struct {
	proposed plan.ReallocationProposed
	pos      eventstore.Position
	decision vintage.History[decision]
}

type decision struct {
	status     plan.Status
	by, reason string
}

type commitSlot struct {
	node       dimension.Node
	metric     string
	span       fiscal.Span
	confidence commit.Confidence
}

type commitValue struct {
	sub commit.Submitted
}

type fcNode struct {
	node  dimension.Node
	first eventstore.Position
}

// fcSeries is the forecasts of one node and metric, by period from first.
type fcSeries struct {
	first fiscal.Period
	hist  []vintage.History[point]
}

type point struct {
	mean, lo80, hi80, lo95, hi95 float64
	run                          int32 // index in planData.runs
}

// New returns an empty state.
func New() *State { return &State{plans: map[string]*planData{}} }

// Position returns the position of the last event applied.
func (s *State) Position() eventstore.Position {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.pos
}

// PositionAt returns the last position applied whose event was recorded at
// or before t (eventstore.Start when none was).
func (s *State) PositionAt(t time.Time) eventstore.Position {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.times.PositionAt(t)
}

func (s *State) plan(id string) *planData {
	p := s.plans[id]
	if p == nil {
		p = &planData{id: id, targets: map[targetKey]*vintage.History[targetValue]{}, byNode: map[nodeMetric][]fiscal.Span{},
			reallocs: map[string]*realloc{}, commits: map[commitSlot]*vintage.History[commitValue]{}, commitSlots: map[string]commitSlot{},
			forecasts: map[string]map[dimension.Node]*fcSeries{}, fcNodes: map[string][]fcNode{}}
		s.plans[id] = p
		s.order = append(s.order, p)
	}
	return p
}

func actor(by string, md eventstore.Metadata) string {
	if by != "" {
		return by
	}
	return md.Actor
}

// typeNames maps each event this model folds to its stable type name.
func typeName(event any) (string, bool) {
	switch event.(type) {
	case plan.Opened:
		return plan.TypeOpened, true
	case plan.TargetSet:
		return plan.TypeTargetSet, true
	case plan.TargetRevised:
		return plan.TypeTargetRevised, true
	case plan.TargetCleared:
		return plan.TypeTargetCleared, true
	case plan.ReallocationProposed:
		return plan.TypeReallocationProposed, true
	case plan.ReallocationApproved:
		return plan.TypeReallocationApproved, true
	case plan.ReallocationRejected:
		return plan.TypeReallocationRejected, true
	case plan.VersionTagged:
		return plan.TypeVersionTagged, true
	case plan.VersionApproved:
		return plan.TypeVersionApproved, true
	case plan.HorizonRolled:
		return plan.TypeHorizonRolled, true
	case commit.Submitted:
		return commit.TypeSubmitted, true
	case commit.Withdrawn:
		return commit.TypeWithdrawn, true
	case forecast.Published:
		return forecast.TypePublished, true
	case forecast.PartPublished:
		return forecast.TypePartPublished, true
	case forecast.Sealed:
		return forecast.TypeSealed, true
	}
	return "", false
}

// Apply folds one event: plan, commit and forecast events; others are
// ignored, as are events at or before Position. Plan events are assigned
// to the plan named by their stream ("plan-<id>"). It returns
// ErrEventMismatch, leaving the state unchanged, when event is not the
// value rec.Type names.
func (s *State) Apply(rec eventstore.RecordedEvent, event any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.pos.Before(rec.Position) {
		return nil
	}
	if name, ok := typeName(event); ok {
		if name != rec.Type {
			return fmt.Errorf("%w: %q at position %v holds a %T", ErrEventMismatch, rec.Type, rec.Position, event)
		}
		s.apply(rec, event)
	}
	s.pos = rec.Position
	s.times.Record(rec.Position, rec.RecordedAt)
	return nil
}

func (s *State) apply(rec eventstore.RecordedEvent, event any) {
	pos := rec.Position
	if e, ok := event.(plan.Event); ok {
		id, ok := strings.CutPrefix(rec.Stream, "plan-")
		if !ok {
			return
		}
		p := s.plan(id)
		p.versions = append(p.versions, pos)
		p.applyPlan(rec, e)
		return
	}
	switch e := event.(type) {
	case commit.Submitted:
		p := s.plan(e.Plan)
		slot := commitSlot{e.Node, e.Metric, e.Span, e.Confidence}
		h := p.commits[slot]
		if h == nil {
			h = &vintage.History[commitValue]{}
			p.commits[slot] = h
			p.commitOrder = append(p.commitOrder, slot)
		}
		e.By = actor(e.By, rec.Metadata)
		h.Set(pos, commitValue{sub: e})
		p.commitSlots[e.ID] = slot
	case commit.Withdrawn:
		plan, ok := strings.CutPrefix(rec.Stream, "commits-")
		p := s.plans[plan]
		if !ok || p == nil {
			return
		}
		slot, ok := p.commitSlots[e.ID]
		if !ok {
			return
		}
		if cur, ok := p.commits[slot].At(vintage.Latest); ok && cur.sub.ID == e.ID {
			p.commits[slot].Remove(pos)
		}
	case forecast.Event:
		if p, ok := s.runs.Apply(e); ok {
			s.plan(p.Plan).applyForecast(pos, p)
		}
	}
}

func (p *planData) applyPlan(rec eventstore.RecordedEvent, e plan.Event) {
	pos := rec.Position
	switch e := e.(type) {
	case plan.Opened:
		if p.openedAt == (eventstore.Position{}) {
			p.openedAt, p.opened = pos, e
			p.horizon.Set(pos, e.HorizonStart)
		}
	case plan.TargetSet:
		p.setTarget(pos, targetKey{e.Node, e.Metric, e.Span}, targetValue{e.Amount, actor(e.By, rec.Metadata), e.Reason})
	case plan.TargetRevised:
		p.setTarget(pos, targetKey{e.Node, e.Metric, e.Span}, targetValue{e.To, actor(e.By, rec.Metadata), e.Reason})
	case plan.TargetCleared:
		if h := p.targets[targetKey{e.Node, e.Metric, e.Span}]; h != nil {
			h.Remove(pos)
		}
	case plan.ReallocationProposed:
		if p.reallocs[e.ID] == nil {
			e.By = actor(e.By, rec.Metadata)
			r := &realloc{proposed: e, pos: pos}
			r.decision.Set(pos, decision{status: plan.StatusOpen})
			p.reallocs[e.ID] = r
			p.reallocOrder = append(p.reallocOrder, r)
		}
	case plan.ReallocationApproved:
		if r := p.reallocs[e.ID]; r != nil {
			r.decision.Set(pos, decision{status: plan.StatusApproved, by: actor(e.By, rec.Metadata)})
		}
	case plan.ReallocationRejected:
		if r := p.reallocs[e.ID]; r != nil {
			r.decision.Set(pos, decision{status: plan.StatusRejected, by: actor(e.By, rec.Metadata), reason: e.Reason})
		}
	case plan.VersionTagged:
		p.tags = append(p.tags, Tag{Tag: e.Tag, Version: e.Version, By: actor(e.By, rec.Metadata), TaggedAt: pos, RecordedAt: rec.RecordedAt})
	case plan.VersionApproved:
		p.approvals = append(p.approvals, Approval{Version: e.Version, Tag: e.Tag, By: actor(e.By, rec.Metadata), Comment: e.Comment,
			ApprovedAt: pos, RecordedAt: rec.RecordedAt})
	case plan.HorizonRolled:
		p.horizon.Set(pos, e.To)
	}
}

func (p *planData) setTarget(pos eventstore.Position, k targetKey, v targetValue) {
	h := p.targets[k]
	if h == nil {
		h = &vintage.History[targetValue]{}
		p.targets[k] = h
		p.targetOrder = append(p.targetOrder, k)
		nm := nodeMetric{k.node, k.metric}
		p.byNode[nm] = append(p.byNode[nm], k.span)
	}
	h.Set(pos, v)
}

func (p *planData) applyForecast(pos eventstore.Position, e forecast.Published) {
	run := int32(len(p.runs))
	p.runs = append(p.runs, Run{RunID: e.RunID, Metric: e.Metric, DataPosition: e.DataPosition, Seed: e.Seed, Model: e.Model, PublishedAt: pos})
	byNode := p.forecasts[e.Metric]
	if byNode == nil {
		byNode = map[dimension.Node]*fcSeries{}
		p.forecasts[e.Metric] = byNode
	}
	for _, sr := range e.Series {
		n := sr.Len()
		if n == 0 || len(sr.Lo80) != n || len(sr.Hi80) != n || len(sr.Lo95) != n || len(sr.Hi95) != n {
			continue // Publish never records such a series
		}
		fs := byNode[sr.Node]
		if fs == nil {
			fs = &fcSeries{first: sr.First}
			byNode[sr.Node] = fs
			p.fcNodes[e.Metric] = append(p.fcNodes[e.Metric], fcNode{node: sr.Node, first: pos})
		}
		last := sr.First.Add(n - 1)
		switch {
		case len(fs.hist) == 0:
			fs.first = sr.First
			fs.hist = make([]vintage.History[point], n)
		case sr.First < fs.first:
			fs.hist = append(make([]vintage.History[point], int(fs.first-sr.First)), fs.hist...)
			fs.first = sr.First
		}
		if need := int(last-fs.first) + 1; need > len(fs.hist) {
			fs.hist = append(fs.hist, make([]vintage.History[point], need-len(fs.hist))...)
		}
		for t := range n {
			fs.hist[int(sr.First-fs.first)+t].Set(pos, point{sr.Mean[t], sr.Lo80[t], sr.Hi80[t], sr.Lo95[t], sr.Hi95[t], run})
		}
	}
}

// --- queries ---

// Info describes a plan as known at a position.
type Info struct {
	plan.Opened             // as opened
	Horizon     fiscal.Span // the rolling horizon then (a range)
	Version     uint64      // the plan stream's version then
	OpenedAt    eventstore.Position
}

// known returns plan id if it was opened at or before asOf.
func (s *State) known(id string, asOf eventstore.Position) (*planData, error) {
	p := s.plans[id]
	if p == nil || p.openedAt == (eventstore.Position{}) || asOf.Before(p.openedAt) {
		return nil, fmt.Errorf("%w: %q", ErrUnknownPlan, id)
	}
	return p, nil
}

func (p *planData) info(asOf eventstore.Position) Info {
	start, _ := p.horizon.At(asOf)
	return Info{Opened: p.opened, OpenedAt: p.openedAt, Version: p.version(asOf),
		Horizon: fiscal.Span{First: start, Last: start.Add(p.opened.HorizonMonths - 1), Kind: fiscal.KindRange}}
}

func (p *planData) version(asOf eventstore.Position) uint64 {
	return uint64(sort.Search(len(p.versions), func(i int) bool { return asOf.Before(p.versions[i]) }))
}

// Plans returns the plans opened at or before asOf, in the order opened.
func (s *State) Plans(asOf eventstore.Position) []Info {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Info
	for _, p := range s.order {
		if p.openedAt != (eventstore.Position{}) && !asOf.Before(p.openedAt) {
			out = append(out, p.info(asOf))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].OpenedAt.Before(out[j].OpenedAt) })
	return out
}

// Plan returns plan id as known at asOf, or ErrUnknownPlan.
func (s *State) Plan(id string, asOf eventstore.Position) (Info, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, err := s.known(id, asOf)
	if err != nil {
		return Info{}, err
	}
	return p.info(asOf), nil
}

// VersionPosition returns the global position at which version v of plan
// id's stream was stored, or ErrUnknownPlan, ErrUnknownVersion.
func (s *State) VersionPosition(id string, v uint64) (eventstore.Position, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, err := s.known(id, vintage.Latest)
	if err != nil {
		return eventstore.Position{}, err
	}
	if v == 0 || v > uint64(len(p.versions)) {
		return eventstore.Position{}, fmt.Errorf("%w: plan %q version %d (it has %d)", ErrUnknownVersion, id, v, len(p.versions))
	}
	return p.versions[v-1], nil
}

// TagPosition returns the global position of the version tag names in
// plan id, as tagged at or before asOf; or ErrUnknownPlan, ErrUnknownTag.
func (s *State) TagPosition(id, tag string, asOf eventstore.Position) (eventstore.Position, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, err := s.known(id, asOf)
	if err != nil {
		return eventstore.Position{}, err
	}
	for _, t := range p.tags {
		if t.Tag == tag && !asOf.Before(t.TaggedAt) && t.Version >= 1 && t.Version <= uint64(len(p.versions)) {
			return p.versions[t.Version-1], nil
		}
	}
	return eventstore.Position{}, fmt.Errorf("%w: plan %q has no tag %q", ErrUnknownTag, id, tag)
}

// Target is a target as known at a position.
type Target struct {
	Node       dimension.Node
	Metric     string
	Span       fiscal.Span
	Amount     decimal.Decimal
	Position   eventstore.Position // of the event that set it to Amount
	RecordedAt time.Time
	By         string
	Reason     string
}

// Filter selects targets, commits and diff lines; a zero field selects
// everything.
type Filter struct {
	Node   *dimension.Node // exactly this node
	Metric string
	Span   *fiscal.Span // exactly this span
}

func (f Filter) match(node dimension.Node, metric string, span fiscal.Span) bool {
	return (f.Node == nil || *f.Node == node) && (f.Metric == "" || f.Metric == metric) && (f.Span == nil || *f.Span == span)
}

// Targets returns plan id's targets selected by f as known at asOf,
// ordered by metric, node text, span start and span end; or
// ErrUnknownPlan.
func (s *State) Targets(id string, f Filter, asOf eventstore.Position) ([]Target, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, err := s.known(id, asOf)
	if err != nil {
		return nil, err
	}
	var out []Target
	visit := func(k targetKey) {
		if v, ok := p.targets[k].VersionAt(asOf); ok {
			at, _ := s.times.TimeOf(v.Position)
			out = append(out, Target{Node: k.node, Metric: k.metric, Span: k.span, Amount: v.Value.amount,
				Position: v.Position, RecordedAt: at, By: v.Value.by, Reason: v.Value.reason})
		}
	}
	if f.Node != nil && f.Metric != "" {
		for _, sp := range p.byNode[nodeMetric{*f.Node, f.Metric}] {
			if f.Span == nil || *f.Span == sp {
				visit(targetKey{*f.Node, f.Metric, sp})
			}
		}
	} else {
		for _, k := range p.targetOrder {
			if f.match(k.node, k.metric, k.span) {
				visit(k)
			}
		}
	}
	sortTargets(out)
	return out, nil
}

func sortTargets(ts []Target) {
	sort.Slice(ts, func(i, j int) bool {
		return targetBefore(ts[i].Metric, ts[i].Node, ts[i].Span, ts[j].Metric, ts[j].Node, ts[j].Span)
	})
}

// targetBefore orders targets by metric, node, then span: the order of
// every list of targets and target changes.
func targetBefore(am string, an dimension.Node, as fiscal.Span, bm string, bn dimension.Node, bs fiscal.Span) bool {
	if am != bm {
		return am < bm
	}
	if an != bn {
		return an.String() < bn.String()
	}
	if as.First != bs.First {
		return as.First < bs.First
	}
	return as.Last < bs.Last
}

// TargetHistory returns every version of one target known at asOf, oldest
// first; a cleared target shows as a version with Cleared set.
func (s *State) TargetHistory(id string, node dimension.Node, metric string, span fiscal.Span, asOf eventstore.Position) ([]TargetVersion, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, err := s.known(id, asOf)
	if err != nil {
		return nil, err
	}
	h := p.targets[targetKey{node, metric, span}]
	if h == nil {
		return nil, nil
	}
	var out []TargetVersion
	for _, v := range h.Until(asOf) {
		at, _ := s.times.TimeOf(v.Position)
		out = append(out, TargetVersion{Position: v.Position, RecordedAt: at, Amount: v.Value.amount, By: v.Value.by, Reason: v.Value.reason, Cleared: v.Absent})
	}
	return out, nil
}

// TargetVersion is one state of a target.
type TargetVersion struct {
	Position   eventstore.Position
	RecordedAt time.Time
	Amount     decimal.Decimal // zero when Cleared
	By, Reason string          // empty when Cleared (see the audit history)
	Cleared    bool
}

// Reallocation is a reallocation as known at a position.
type Reallocation struct {
	plan.ReallocationProposed
	Status         plan.Status
	ProposedAt     eventstore.Position
	DecidedAt      eventstore.Position // zero while open
	DecidedBy      string
	DecisionReason string
}

// Reallocations returns plan id's reallocations proposed at or before
// asOf, in the order proposed; status "" selects all. Or ErrUnknownPlan.
func (s *State) Reallocations(id string, status plan.Status, asOf eventstore.Position) ([]Reallocation, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, err := s.known(id, asOf)
	if err != nil {
		return nil, err
	}
	var out []Reallocation
	for _, r := range p.reallocOrder {
		v, ok := r.decision.VersionAt(asOf)
		if !ok || (status != "" && v.Value.status != status) {
			continue
		}
		x := Reallocation{ReallocationProposed: r.proposed, Status: v.Value.status, ProposedAt: r.pos,
			DecidedBy: v.Value.by, DecisionReason: v.Value.reason}
		x.Moves = append([]plan.Move(nil), r.proposed.Moves...)
		if v.Value.status != plan.StatusOpen {
			x.DecidedAt = v.Position
		}
		out = append(out, x)
	}
	return out, nil
}

// Tag is a version tag.
type Tag struct {
	Tag        string
	Version    uint64 // the plan stream version named
	By         string
	TaggedAt   eventstore.Position
	RecordedAt time.Time
}

// Approval is a version approval. The numbers it approved are the plan's
// as of VersionPosition(plan, Version).
type Approval struct {
	Version    uint64
	Tag        string
	By         string
	Comment    string
	ApprovedAt eventstore.Position
	RecordedAt time.Time
}

// Tags returns plan id's tags given at or before asOf, in order; or
// ErrUnknownPlan.
func (s *State) Tags(id string, asOf eventstore.Position) ([]Tag, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, err := s.known(id, asOf)
	if err != nil {
		return nil, err
	}
	return upTo(p.tags, asOf, func(t Tag) eventstore.Position { return t.TaggedAt }), nil
}

// Approvals returns plan id's approvals given at or before asOf, in order;
// or ErrUnknownPlan.
func (s *State) Approvals(id string, asOf eventstore.Position) ([]Approval, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, err := s.known(id, asOf)
	if err != nil {
		return nil, err
	}
	return upTo(p.approvals, asOf, func(a Approval) eventstore.Position { return a.ApprovedAt }), nil
}

// Commit is the current sales commit of a node, metric, span and
// confidence.
type Commit struct {
	commit.Submitted
	Position   eventstore.Position
	RecordedAt time.Time
}

// Commits returns plan id's current commits selected by f as known at
// asOf, in the order their slots were first committed. A plan with commits
// but not opened yet has them too (commits live in their own stream); an
// unknown plan has none.
func (s *State) Commits(id string, f Filter, asOf eventstore.Position) []Commit {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := s.plans[id]
	if p == nil {
		return nil
	}
	var out []Commit
	for _, slot := range p.commitOrder {
		if !f.match(slot.node, slot.metric, slot.span) {
			continue
		}
		if v, ok := p.commits[slot].VersionAt(asOf); ok {
			at, _ := s.times.TimeOf(v.Position)
			out = append(out, Commit{Submitted: v.Value.sub, Position: v.Position, RecordedAt: at})
		}
	}
	return out
}

// LatestCommit returns the current commit of one slot as known at asOf.
func (s *State) LatestCommit(id string, node dimension.Node, metric string, span fiscal.Span, c commit.Confidence, asOf eventstore.Position) (Commit, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := s.plans[id]
	if p == nil {
		return Commit{}, false
	}
	h := p.commits[commitSlot{node, metric, span, c}]
	if h == nil {
		return Commit{}, false
	}
	v, ok := h.VersionAt(asOf)
	if !ok {
		return Commit{}, false
	}
	at, _ := s.times.TimeOf(v.Position)
	return Commit{Submitted: v.Value.sub, Position: v.Position, RecordedAt: at}, true
}

// Run describes a published forecast run.
type Run struct {
	RunID        string
	Metric       string
	DataPosition string
	Seed         uint64
	Model        json.RawMessage // shared: do not modify
	PublishedAt  eventstore.Position
}

// Point is a published statistical forecast of one node, metric and
// period, with its prediction intervals and the run that published it.
type Point struct {
	Period                       fiscal.Period
	Mean, Lo80, Hi80, Lo95, Hi95 float64
	Run                          Run
}

// Forecast returns the latest published forecast of node and metric for
// each period of span, as known at asOf; ok[i] is false where none was
// published for period i. A node without forecasts has none (no error).
func (s *State) Forecast(id string, node dimension.Node, metric string, span fiscal.Span, asOf eventstore.Position) (points []Point, ok []bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	points, ok = make([]Point, span.Len()), make([]bool, span.Len())
	p := s.plans[id]
	if p == nil {
		return points, ok
	}
	fs := p.forecasts[metric][node]
	if fs == nil {
		return points, ok
	}
	for i := range points {
		per := span.First.Add(i)
		j := int(per - fs.first)
		if j < 0 || j >= len(fs.hist) {
			continue
		}
		if v, found := fs.hist[j].At(asOf); found {
			points[i] = Point{Period: per, Mean: v.mean, Lo80: v.lo80, Hi80: v.hi80, Lo95: v.lo95, Hi95: v.hi95, Run: p.runs[v.run]}
			ok[i] = true
		}
	}
	return points, ok
}

// ForecastNodes returns the nodes of plan id and metric with a forecast
// published at or before asOf, in the order first published.
func (s *State) ForecastNodes(id, metric string, asOf eventstore.Position) []dimension.Node {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := s.plans[id]
	if p == nil {
		return nil
	}
	var out []dimension.Node
	for _, n := range p.fcNodes[metric] {
		if !asOf.Before(n.first) {
			out = append(out, n.node)
		}
	}
	return out
}

// Runs returns plan id's forecast runs published at or before asOf, in
// order.
func (s *State) Runs(id string, asOf eventstore.Position) []Run {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := s.plans[id]
	if p == nil {
		return nil
	}
	return upTo(p.runs, asOf, func(r Run) eventstore.Position { return r.PublishedAt })
}

// upTo returns the items of list recorded at or before asOf, in order; at
// tells where an item was recorded.
func upTo[T any](list []T, asOf eventstore.Position, at func(T) eventstore.Position) []T {
	var out []T
	for _, v := range list {
		if !asOf.Before(at(v)) {
			out = append(out, v)
		}
	}
	return out
}

// Change is one target that differs between two vintages of a plan.
type Change struct {
	Node         dimension.Node
	Metric       string
	Span         fiscal.Span
	From, To     decimal.Decimal // zero where the target did not exist
	HadFrom      bool            // the target existed at the first vintage
	HasTo        bool            // the target exists at the second
	Change       decimal.Decimal // To - From
	FromPosition eventstore.Position
	ToPosition   eventstore.Position
}

// Diff returns every target of plan id selected by f that differs between
// positions from and to (set, cleared, or another amount), ordered like
// Targets. Turn tags into positions with TagPosition and times with
// PositionAt. It returns ErrUnknownPlan when the plan is not opened at to,
// or a decimal.ErrOverflow.
func (s *State) Diff(id string, f Filter, from, to eventstore.Position) ([]Change, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, err := s.known(id, to)
	if err != nil {
		return nil, err
	}
	var out []Change
	for _, k := range p.targetOrder {
		if !f.match(k.node, k.metric, k.span) {
			continue
		}
		h := p.targets[k]
		a, okA := h.VersionAt(from)
		b, okB := h.VersionAt(to)
		if okA == okB && (!okA || a.Value.amount.Equal(b.Value.amount)) {
			continue
		}
		c := Change{Node: k.node, Metric: k.metric, Span: k.span, HadFrom: okA, HasTo: okB}
		if okA {
			c.From, c.FromPosition = a.Value.amount, a.Position
		}
		if okB {
			c.To, c.ToPosition = b.Value.amount, b.Position
		}
		if c.Change, err = c.To.Sub(c.From); err != nil {
			return nil, fmt.Errorf("planstate: diff of %q, %s: %w", k.node, k.metric, err)
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool {
		return targetBefore(out[i].Metric, out[i].Node, out[i].Span, out[j].Metric, out[j].Node, out[j].Span)
	})
	return out, nil
}

// NodeTargets returns, for plan id, metric and node, the targets known at
// asOf whose span overlaps window, in the order first set. It is the
// rolling plan's access path; it returns nothing for an unknown plan.
func (s *State) NodeTargets(id string, node dimension.Node, metric string, window fiscal.Span, asOf eventstore.Position) []Target {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := s.plans[id]
	if p == nil {
		return nil
	}
	var out []Target
	for _, sp := range p.byNode[nodeMetric{node, metric}] {
		if !sp.Overlaps(window) {
			continue
		}
		if v, ok := p.targets[targetKey{node, metric, sp}].VersionAt(asOf); ok {
			out = append(out, Target{Node: node, Metric: metric, Span: sp, Amount: v.Value.amount, Position: v.Position, By: v.Value.by, Reason: v.Value.reason})
		}
	}
	return out
}

// TargetNodes returns the nodes of plan id with a target of metric known
// at asOf, in the order first set.
func (s *State) TargetNodes(id, metric string, asOf eventstore.Position) []dimension.Node {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := s.plans[id]
	if p == nil {
		return nil
	}
	seen := map[dimension.Node]bool{}
	var out []dimension.Node
	for _, k := range p.targetOrder {
		if k.metric != metric || seen[k.node] {
			continue
		}
		if _, ok := p.targets[k].At(asOf); ok {
			seen[k.node] = true
			out = append(out, k.node)
		}
	}
	return out
}
