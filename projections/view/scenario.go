package view

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/scenario"
	"github.com/concord-planning/concord/forecasting"
	"github.com/concord-planning/concord/projections/reforecast"
)

// ScenarioRef is the prefix of a version reference (as_of, from, to)
// naming a scenario of the plan: "scenario:ID" answers as the plan's
// scenario ID stands now — the plan, actuals, commits and forecasts as
// known at the scenario's base, with the scenario's own target and commit
// events applied to the plan and its commits.
const ScenarioRef = "scenario:"

// branchKey names one scenario state: a scenario's own changes only grow,
// so their number and the base name its content.
type branchKey struct {
	plan, id string
	base     eventstore.Position
	changes  int
}

// branches keeps the few most recently built scenario states, so that the
// analyses memoised on one serve every read of the scenario until it
// changes. The zero value is ready to use.
type branches struct {
	mu    sync.Mutex
	byKey map[branchKey]*memo[*State]
	order []branchKey
}

// branchCache is how many scenario states a Service keeps.
const branchCache = 8

func (b *branches) memo(k branchKey) *memo[*State] {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.byKey == nil {
		b.byKey = map[branchKey]*memo[*State]{}
	}
	m, ok := b.byKey[k]
	if !ok {
		m = &memo[*State]{}
		b.byKey[k] = m
		b.order = append(b.order, k)
		for len(b.order) > branchCache {
			delete(b.byKey, b.order[0])
			b.order = b.order[1:]
		}
	}
	return m
}

// scenarios returns the book of plan planID's scenarios as known at the
// live state's position.
func (s *Service) scenarios(ctx context.Context, planID string, upTo eventstore.Position) (*scenario.Book, error) {
	b := scenario.New()
	err := s.replay(ctx, scenario.Stream(planID), 0, func(r eventstore.RecordedEvent, e any) bool {
		if upTo.Before(r.Position) {
			return false
		}
		if ev, ok := e.(scenario.Event); ok {
			b.Apply(ev)
		}
		return true
	})
	return b, err
}

// replay reads stream from the store up to version upTo (0: to its end)
// and gives each decoded event to f until f returns false.
func (s *Service) replay(ctx context.Context, stream string, upTo uint64, f func(eventstore.RecordedEvent, any) bool) error {
	return s.readStream(ctx, stream, 1, upTo, f)
}

// ScenarioOf returns scenario id of plan planID as known now, or
// ErrNotFound.
func (s *Service) ScenarioOf(ctx context.Context, planID, id string) (scenario.Scenario, error) {
	live, err := s.Live(ctx)
	if err != nil {
		return scenario.Scenario{}, err
	}
	if _, err := planOf(live, planID); err != nil {
		return scenario.Scenario{}, err
	}
	b, err := s.scenarios(ctx, planID, live.Position)
	if err != nil {
		return scenario.Scenario{}, err
	}
	sc, ok := b.Scenario(id)
	if !ok {
		return sc, fmt.Errorf("%w: plan %q has no scenario %q", ErrNotFound, planID, id)
	}
	return sc, nil
}

// scenarioState returns the state of scenario id of plan planID: the
// state at the scenario's base, its plan and the plan's commits replaced
// by the plan's aggregate and book at the base versions with the
// scenario's own events applied by their own Apply methods — one
// interpretation of every event. A scenario with no events of its own is
// its base state, shared, costing nothing more. A scenario state is built
// once per content (base and changes) and kept among the last few, so
// its analyses are memoised like a past state's.
func (s *Service) scenarioState(ctx context.Context, planID, field, id string) (*State, error) {
	live, err := s.Live(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := planOf(live, planID); err != nil {
		return nil, err
	}
	b, err := s.scenarios(ctx, planID, live.Position)
	if err != nil {
		return nil, err
	}
	sc, ok := b.Scenario(id)
	if !ok {
		return nil, BadParam(field, ScenarioRef+id, "plan %s has no scenario %q", planID, id)
	}
	base, err := s.baseState(ctx, live, sc.Base)
	if err != nil {
		return nil, err
	}
	pev, cev := b.PlanEvents(id), b.CommitEvents(id)
	as := &assumed{shocks: b.Shocks(id), methods: b.Methods(id)}
	if len(pev)+len(cev)+len(as.shocks)+len(as.methods) == 0 {
		return base, nil
	}
	m := s.branches.memo(branchKey{plan: planID, id: id, base: sc.Base, changes: sc.Changes})
	return m.get(ctx, s.work, func() (*State, error) {
		// The context of the first caller may end while others wait:
		// the replay is bounded by the store, not by one request.
		bg := context.WithoutCancel(ctx)
		// A scenario's own plan (or commit) events apply to a plan (or
		// book) of its own: a copy of the base state's plan when it is at
		// the scenario's base version (far cheaper than replaying a large
		// plan's stream), else rebuilt from the store at the base version;
		// without such events, the base state's are the scenario's, shared.
		p, book := base.plans[planID], base.books[planID]
		if len(pev) > 0 {
			if p != nil && p.Version() == sc.BaseVersion {
				p = p.Clone()
			} else {
				p = plan.New()
				if err := s.replay(bg, plan.Stream(planID), sc.BaseVersion, func(_ eventstore.RecordedEvent, e any) bool {
					if ev, ok := e.(plan.Event); ok {
						p.Apply(ev)
					}
					return true
				}); err != nil {
					return nil, err
				}
			}
			for _, e := range pev {
				p.Apply(e)
			}
		}
		if len(cev) > 0 {
			book = commit.New()
			if sc.BookVersion > 0 {
				if err := s.replay(bg, commit.Stream(planID), sc.BookVersion, func(_ eventstore.RecordedEvent, e any) bool {
					if ev, ok := e.(commit.Event); ok {
						book.Apply(ev)
					}
					return true
				}); err != nil {
					return nil, err
				}
			}
			for _, e := range cev {
				book.Apply(e)
			}
		}
		st := base.branch(planID, p, book)
		st.assumed = map[string]*assumed{planID: as}
		for _, metric := range slices.Sorted(maps.Keys(as.methods)) {
			v, err := st.forecastWith(bg, planID, id, metric, as.methods[metric])
			if err != nil {
				return nil, err
			}
			st.forecasts = append(slices.Clip(st.forecasts), v)
		}
		return st, nil
	})
}

// forecastWith returns the forecast of plan planID's metric that scenario
// id assumes: method's, fitted to every current cell's actuals up to the
// last closed period of st (its base), as a run published at st's
// position would have been (projections/reforecast.Run, the worker's).
func (st *State) forecastWith(ctx context.Context, planID, id, metric, method string) (vintage, error) {
	last, ok := st.LastClosed()
	if !ok {
		return vintage{}, fmt.Errorf("query: scenario %s assumes method %s for %s, and no period was closed at its base", id, method, metric)
	}
	in, err := st.ForecastInput(planID, metric, last)
	if err != nil {
		return vintage{}, fmt.Errorf("query: scenario %s: %w", id, err)
	}
	in.RunID, in.DataPosition, in.Method = "scenario-"+id+"-"+metric, st.Position, forecasting.Method(method)
	pub, err := reforecast.Run(ctx, in)
	if err != nil {
		return vintage{}, fmt.Errorf("query: scenario %s: forecasting %s with %s: %w", id, metric, method, err)
	}
	return vintage{Published: pub, position: st.Position, time: st.Time, cov: &runCovariance{}}, nil
}

// baseState returns the state a scenario branching from log position pos
// reads: live itself when no event after pos changes what a state holds
// (only scenario, alert or token events followed — the usual case for a
// scenario opened now, whose own opening comes after its base), so that
// the analyses memoised on the live state serve the scenario's reads as
// they serve the plan's; else the state at pos (Service.At, folded from
// the nearest checkpoint, its analyses its own).
func (s *Service) baseState(ctx context.Context, live *State, pos eventstore.Position) (*State, error) {
	if !pos.Before(live.Position) {
		return live, nil
	}
	s.mu.Lock()
	n, end := s.indexAfter(pos), s.indexAfter(live.Position)
	inert := true
	for _, m := range s.marks[n:end] {
		if m.changes {
			inert = false
			break
		}
	}
	s.mu.Unlock()
	if inert {
		return live, nil
	}
	return s.At(ctx, pos)
}

// changesState reports whether folding event e can change a state's
// content (State.apply), beyond its position and time.
func changesState(e any) bool {
	switch e.(type) {
	case plan.Event, dimension.Event, ledger.Event, commit.Event, forecast.Event:
		return true
	}
	return false
}

// branch returns a state equal to s but for plan planID's aggregate and
// book of commits, which are p and b (nil: s's, none): everything else is
// shared with s.
func (s *State) branch(planID string, p *plan.Plan, b *commit.Book) *State {
	st := s.bare()
	st.plans = maps.Clone(s.plans)
	st.plans[planID] = p
	st.books = maps.Clone(s.books)
	if b != nil {
		st.books[planID] = b
	}
	return st
}

// scenarioEventOf returns the scenario id an event of a scenario stream
// concerns.
func scenarioEventOf(e scenario.Event) string {
	switch e := e.(type) {
	case scenario.Opened:
		return e.ID
	case scenario.TargetSet:
		return e.Scenario
	case scenario.TargetRevised:
		return e.Scenario
	case scenario.TargetCleared:
		return e.Scenario
	case scenario.EstimatePolicySet:
		return e.Scenario
	case scenario.CommitSubmitted:
		return e.Scenario
	case scenario.CommitWithdrawn:
		return e.Scenario
	case scenario.Discarded:
		return e.ID
	case scenario.Promoted:
		return e.ID
	case scenario.Rebased:
		return e.ID
	case scenario.ShockAssumed:
		return e.Scenario
	case scenario.MethodAssumed:
		return e.Scenario
	}
	return ""
}

// inner returns the plan or commit event a scenario change wraps, nil for
// the scenario's own lifecycle events.
func inner(e scenario.Event) any {
	switch e := e.(type) {
	case scenario.TargetSet:
		return e.TargetSet
	case scenario.TargetRevised:
		return e.TargetRevised
	case scenario.TargetCleared:
		return e.TargetCleared
	case scenario.EstimatePolicySet:
		return e.EstimatePolicySet
	case scenario.CommitSubmitted:
		return e.Submitted
	case scenario.CommitWithdrawn:
		return e.Withdrawn
	}
	return nil
}

// describeScenario fills it, the history item of scenario event e (whose
// entry is en), with what happened.
func describeScenario(st *State, p *plan.Plan, en entry, e scenario.Event, it *HistoryItem) {
	id := scenarioEventOf(e)
	if in := inner(e); in != nil {
		sub := en
		sub.event = in
		d := describe(st, p, sub)
		d.Summary = fmt.Sprintf("Scenario %s: %s", id, d.Summary)
		*it = d
		return
	}
	if it.Actor == "" {
		it.Actor = scenarioActor(e)
	}
	switch e := e.(type) {
	case scenario.Opened:
		it.Summary = fmt.Sprintf("Scenario %s (%s) opened from %s (position %s)", e.ID, e.Name, e.From, e.Base)
	case scenario.Discarded:
		it.Reason = e.Reason
		it.Summary = fmt.Sprintf("Scenario %s discarded: %s", e.ID, e.Reason)
	case scenario.Promoted:
		it.Summary = fmt.Sprintf("Scenario %s promoted as proposal %s", e.ID, e.Proposal)
	case scenario.Rebased:
		it.Summary = fmt.Sprintf("Scenario %s rebased from position %s to %s", e.ID, e.From, e.Base)
	case scenario.ShockAssumed:
		it.Node, it.Metric, it.Span, it.Reason = e.Node.String(), e.Metric, p.Calendar().Format(e.Span), e.Reason
		size := ""
		if e.Percent != nil {
			size = e.Percent.String() + "%"
		} else if e.Amount != nil {
			size = "by " + e.Amount.String() + " in total"
		}
		it.Summary = fmt.Sprintf("Scenario %s assumes %s's statistical forecast of %s shocked %s over %s: %s", e.Scenario, label(st, e.Node), e.Metric, size, p.Calendar().Format(e.Span), e.Reason)
	case scenario.MethodAssumed:
		it.Metric, it.Reason = e.Metric, e.Reason
		it.Summary = fmt.Sprintf("Scenario %s assumes the statistical forecast of %s made by method %s: %s", e.Scenario, e.Metric, e.Method, e.Reason)
	}
}

// describeProposal fills it, the history item of a ChangesProposed.
func describeProposal(st *State, p *plan.Plan, e plan.ChangesProposed, it *HistoryItem) {
	cal := p.Calendar()
	parts := make([]string, 0, len(e.Changes))
	for _, c := range e.Changes {
		parts = append(parts, fmt.Sprintf("%s %s %s %s → %s", label(st, c.Node), c.Metric, cal.Format(c.Span), amountText(c.From), amountText(c.To)))
	}
	if it.Actor == "" {
		it.Actor = e.By
	}
	it.Reason = e.Reason
	it.Summary = fmt.Sprintf("Scenario %s proposed as %s (plan version %d): %s (%s)", e.Scenario, e.ID, e.Version, strings.Join(parts, ", "), e.Reason)
}

// scenarioActor returns who gave a scenario's lifecycle event.
func scenarioActor(e scenario.Event) string {
	switch e := e.(type) {
	case scenario.Opened:
		return e.By
	case scenario.Discarded:
		return e.By
	case scenario.Promoted:
		return e.By
	case scenario.Rebased:
		return e.By
	case scenario.ShockAssumed:
		return e.By
	case scenario.MethodAssumed:
		return e.By
	}
	return ""
}

// amountText is a target amount of a proposal, or "no target" for nil.
func amountText(a *decimal.Decimal) string {
	if a == nil {
		return "no target"
	}
	return a.String()
}

// inScenario reports whether an event belongs to the history of scenario
// sc of plan p: an event of the plan's history up to the scenario's base,
// or an event of the scenario itself.
func inScenario(p *plan.Plan, sc scenario.Scenario, e entry) bool {
	if ev, ok := e.event.(scenario.Event); ok {
		return e.rec.Stream == scenario.Stream(p.ID()) && scenarioEventOf(ev) == sc.ID
	}
	return !sc.Base.Before(e.rec.Position) && relevant(p, e)
}

// ChangeJSON is one target a scenario's proposal changes: from (null: not
// set) to (null: cleared).
type ChangeJSON struct {
	Node   string  `json:"node"`
	Label  string  `json:"label"`
	Metric string  `json:"metric"`
	Span   string  `json:"span"`
	From   *string `json:"from"`
	To     *string `json:"to"`
}

func proposedChanges(st *State, p *plan.Plan, cs []plan.Change) []ChangeJSON {
	var out []ChangeJSON
	for _, c := range cs {
		cj := ChangeJSON{Node: c.Node.String(), Label: label(st, c.Node), Metric: c.Metric, Span: p.Calendar().Format(c.Span)}
		if c.From != nil {
			cj.From = decPtr(*c.From, true)
		}
		if c.To != nil {
			cj.To = decPtr(*c.To, true)
		}
		out = append(out, cj)
	}
	return out
}

// BasePosition returns the log position a scenario of plan planID opened
// (or rebased) from ref branches from: the position of the last event of
// the state ref names — "" (now), "tag:NAME", a log position, an RFC 3339
// time or a date. A scenario reference is refused (field names the
// parameter): a scenario branches from the plan's log, not from another
// scenario.
func (s *Service) BasePosition(ctx context.Context, planID, field, ref string) (eventstore.Position, error) {
	if strings.HasPrefix(ref, ScenarioRef) {
		return eventstore.Start, BadParam(field, ref, "a scenario branches from a point of the plan's log, not from another scenario")
	}
	st, err := s.state(ctx, planID, field, ref)
	if err != nil {
		return eventstore.Start, err
	}
	if _, err := planOf(st, planID); err != nil {
		return eventstore.Start, BadParam(field, ref, "plan %s did not exist then", planID)
	}
	return st.Position, nil
}

// scenarioChanges sets, in last, the last change of every target scenario
// id of plan planID changes: its own events come after its base, so they
// are the targets' last changes in the scenario.
func (s *Service) scenarioChanges(ctx context.Context, planID, id string, last map[targetKey]lastChange) error {
	return s.replay(ctx, scenario.Stream(planID), 0, func(r eventstore.RecordedEvent, e any) bool {
		ev, ok := e.(scenario.Event)
		if !ok || scenarioEventOf(ev) != id {
			return true
		}
		if k, lc, ok := targetChange(r, inner(ev)); ok {
			last[k] = lc
		}
		return true
	})
}
