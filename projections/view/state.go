package view

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
)

// entry is one event of the log as read from the store: the record (with
// its data, for the audit history) and the decoded event, nil when its
// type is not one the query side knows.
type entry struct {
	rec   eventstore.RecordedEvent
	event any
}

// mark is what a Service keeps in memory of each event it has read: its
// position, and the latest recorded time of this event and every event
// before it (nondecreasing along the log, so the position of a time is a
// binary search even where recorded times are out of order). It holds no
// pointer (the time in Unix nanoseconds), so the collector never scans
// the millions of them: 32 bytes an event.
type mark struct {
	position eventstore.Position
	upTo     int64 // Unix nanoseconds
	changes  bool  // the event can change a state's content (changesState)
}

// unixNanos is t in Unix nanoseconds, clamped to what an int64 holds
// (years 1678 to 2262), where time.UnixNano is undefined.
func unixNanos(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// monthOf addresses the actuals of one metric in one period.
type monthOf struct {
	metric string
	period fiscal.Period
}

// vintage is a published forecast with where it was recorded.
type vintage struct {
	forecast.Published
	position eventstore.Position
	time     time.Time
	cov      *runCovariance // the cells' error correlation, decoded when first used
}

// recorded is where an event was recorded.
type recorded struct {
	position eventstore.Position
	time     time.Time
}

// State is everything the query side knows at one position of the log. It
// is immutable once built and safe to share. A state built after another
// shares what did not change with it: the aggregates and months of actuals
// no event touched are the same values, and the slices of stream versions
// share their backing arrays (versions).
type State struct {
	Position eventstore.Position
	Time     time.Time // recorded time of the event at Position (zero at the start)

	plans     map[string]*plan.Plan
	dims      map[string]*dimension.Dimension
	actuals   map[monthOf]map[string]decimal.Decimal // by cell
	closed    map[fiscal.Period]bool
	books     map[string]*commit.Book // by plan id
	forecasts []vintage
	pending   map[string]forecast.Requested // forecast runs requested and not yet published, by run id
	versions  versions

	// owned and ownedMonths mark, while the state is being built, the
	// aggregates and months of actuals it holds its own copies of (the
	// others are shared with the state it follows and must not change);
	// nil once built.
	owned       map[string]bool
	ownedMonths map[monthOf]bool

	assumed map[string]*assumed // by plan id: a scenario state's assumptions (scenarioState, assumptions.go)

	// past marks a state folded for an as-of read (Service.At): its
	// analyses are kept within their own share of the analyses' budget
	// (analysisCache), so reading the past does not evict what live
	// readers use.
	past bool

	layouts *layouts // shared by the states of one Service
	work    *pool    // the Service's slots for costly computations, and its analyses
}

// targetsOf returns p.Targets() (p being a plan of s), computed once per
// plan aggregate (Service.analyses); callers must not modify it.
func (s *State) targetsOf(p *plan.Plan) []plan.Target { return s.work.analyses.targets(p) }

// analysis returns the reconciled plan of p's metric over span, computed
// once for its inputs (the Service's analyses keep it while the states
// that follow share them) on a goroutine of its own: when ctx ends first,
// it returns ErrBusy and the analysis goes on for the next caller.
func (s *State) analysis(ctx context.Context, p *plan.Plan, metric plan.Metric, span fiscal.Span) (*analysis, error) {
	return s.work.analyses.analysis(ctx, s.work, s, p, metric, span)
}

// reanalysis is analyse with other target amounts (override, by
// targetID), computed on one of the Service's slots for costly work and
// waited for until ctx ends (ErrBusy); not memoised.
func (s *State) reanalysis(ctx context.Context, p *plan.Plan, metric plan.Metric, span fiscal.Span, override map[string]float64) (*analysis, error) {
	var m memo[*analysis]
	return m.get(ctx, s.work, func() (*analysis, error) { return analyse(s, p, metric, span, override) })
}

// versioned is where one version of a stream was recorded.
type versioned struct {
	version uint64
	recorded
}

// versions are where the versions of each plan stream were recorded, in
// version order. Consecutive live states share the slices: a state appends
// past the end of the one it follows, which keeps its own length and never
// sees the new entries; a checkpoint keeps none (checkpoint), a past state
// folded from it takes the clipped prefixes of the live state's (upTo),
// so it copies a slice before appending to it.
type versions map[string][]versioned

// clip returns v with every slice at its capacity.
func (v versions) clip() versions {
	out := make(versions, len(v))
	for k, vs := range v {
		out[k] = slices.Clip(vs)
	}
	return out
}

// upTo returns the versions of v recorded at or before pos, every slice at
// its capacity: those of the state at pos, when v is a later state's.
func (v versions) upTo(pos eventstore.Position) versions {
	out := make(versions, len(v))
	for k, vs := range v {
		n := sort.Search(len(vs), func(i int) bool { return pos.Before(vs[i].position) })
		if n > 0 {
			out[k] = vs[:n:n]
		}
	}
	return out
}

// at returns where version n of stream was recorded.
func (v versions) at(stream string, n uint64) (recorded, bool) {
	vs := v[stream]
	k, ok := slices.BinarySearchFunc(vs, n, func(e versioned, n uint64) int { return cmp.Compare(e.version, n) })
	if !ok {
		return recorded{}, false
	}
	return vs[k].recorded, true
}

// next returns a state to build from prev (the empty state when prev is
// nil) by folding the events that follow it.
func next(prev *State) *State {
	if prev == nil {
		return &State{
			plans: map[string]*plan.Plan{}, dims: map[string]*dimension.Dimension{},
			actuals: map[monthOf]map[string]decimal.Decimal{}, closed: map[fiscal.Period]bool{},
			books: map[string]*commit.Book{}, versions: versions{}, pending: map[string]forecast.Requested{},
			owned: map[string]bool{}, ownedMonths: map[monthOf]bool{},
		}
	}
	return &State{
		Position: prev.Position, Time: prev.Time,
		plans: maps.Clone(prev.plans), dims: maps.Clone(prev.dims), books: maps.Clone(prev.books),
		actuals: maps.Clone(prev.actuals), closed: maps.Clone(prev.closed), pending: maps.Clone(prev.pending),
		forecasts: prev.forecasts[:len(prev.forecasts):len(prev.forecasts)],
		versions:  maps.Clone(prev.versions),
		owned:     map[string]bool{}, ownedMonths: map[monthOf]bool{},
	}
}

// aggregateKey names the aggregate an event of the log is folded into
// ("" for events that are not aggregate events), with the aggregate's id.
func aggregateKey(e entry) (key, id string) {
	switch e.event.(type) {
	case plan.Event:
		id = strings.TrimPrefix(e.rec.Stream, "plan-")
		return "plan:" + id, id
	case dimension.Event:
		id = strings.TrimPrefix(e.rec.Stream, "dimension-")
		return "dimension:" + id, id
	case commit.Event:
		id = strings.TrimPrefix(e.rec.Stream, "commits-")
		return "commits:" + id, id
	}
	return "", ""
}

// own returns the aggregate id of m that s may change: the one s holds
// when s built it, else a copy (clone) of the one it shares with the state
// it follows, or a new one (fresh), which then replaces the shared one.
func own[A any](s *State, m map[string]A, key, id string, fresh func() A, clone func(A) A) A {
	a, ok := m[id]
	if ok && s.owned[key] {
		return a
	}
	if ok {
		a = clone(a)
	} else {
		a = fresh()
	}
	m[id] = a
	s.owned[key] = true
	return a
}

// apply folds event e into s; parts returns the events of a forecast
// run's stream before version upTo, for assembling the run at its seal.
// Events of unknown types are skipped. It changes nothing when it fails.
func (s *State) apply(e entry, parts func(stream string, upTo uint64) ([]forecast.Event, error)) error {
	r := e.rec
	var run *forecast.Run
	if _, ok := e.event.(forecast.Sealed); ok {
		// A run is seen whole, at its seal: the parts before it in its
		// stream hold its series.
		earlier, err := parts(r.Stream, r.Version-1)
		if err != nil {
			return err
		}
		run = forecast.New()
		for _, pe := range earlier {
			run.Apply(pe)
		}
	}
	s.Position, s.Time = r.Position, r.RecordedAt
	key, id := aggregateKey(e)
	switch ev := e.event.(type) {
	case plan.Event:
		// Only plan versions are looked up (tags name them), so only
		// they are kept: a map of every event's version would be as
		// large as the log.
		if vs := s.versions[r.Stream]; len(vs) == 0 || vs[len(vs)-1].version < r.Version {
			s.versions[r.Stream] = append(vs, versioned{r.Version, recorded{r.Position, r.RecordedAt}})
		}
		own(s, s.plans, key, id, plan.New, (*plan.Plan).Clone).Apply(ev)
	case dimension.Event:
		own(s, s.dims, key, id, dimension.New, (*dimension.Dimension).Clone).Apply(ev)
	case ledger.ActualRecorded:
		s.setActual(ev.Cell, ev.Metric, ev.Period, ev.Amount)
	case ledger.ActualRestated:
		s.setActual(ev.Cell, ev.Metric, ev.Period, ev.To)
	case ledger.PeriodClosed:
		s.closed[ev.Period] = true
	case ledger.PeriodReopened:
		delete(s.closed, ev.Period)
	case commit.Event:
		own(s, s.books, key, id, commit.New, (*commit.Book).Clone).Apply(ev)
	case forecast.Requested:
		s.pending[ev.RunID] = ev
	case forecast.Published:
		s.forecasts = append(s.forecasts, vintage{Published: ev, position: r.Position, time: r.RecordedAt, cov: &runCovariance{}})
		delete(s.pending, ev.RunID)
	case forecast.Sealed:
		run.Apply(ev)
		if p, ok := run.Published(); ok {
			s.forecasts = append(s.forecasts, vintage{Published: p, position: r.Position, time: r.RecordedAt, cov: &runCovariance{}})
			delete(s.pending, p.RunID)
		}
	}
	return nil
}

// folded reports whether State.apply folds events of e's type (any value
// of it); apply skips the others, and changesState needs only their type,
// so a fold does not decode their data (decode).
func folded(e any) bool {
	switch e.(type) {
	case plan.Event, dimension.Event, ledger.ActualRecorded, ledger.ActualRestated, ledger.PeriodClosed, ledger.PeriodReopened,
		commit.Event, forecast.Requested, forecast.Published, forecast.Sealed:
		return true
	}
	return false
}

// decode returns the event of rec as a fold needs it: decoded when its
// type is folded, else the zero value of its type, which is all apply and
// changesState use of it. Forecast parts, a sixth of the time of a first
// fold, are then decoded only where a run is assembled, at its seal.
func (s *Service) decode(rec eventstore.RecordedEvent) (any, error) {
	zero, err := s.registry.Zero(rec)
	if err != nil || !folded(zero) {
		return zero, err
	}
	return s.registry.Decode(rec)
}

// grown returns vs with room for one more element: twice its capacity
// when it is full. append's growth for long slices (a quarter) copies a
// slice of n elements about 4n elements' worth on the way to n, as a first
// fold does with the log's marks; doubling copies n.
func grown[T any](vs []T) []T {
	if len(vs) < cap(vs) || len(vs) < 1024 {
		return vs
	}
	return slices.Grow(vs, len(vs))
}

// setActual records an actual while s is being built, copying the month's
// actuals first when s shares them with the state it follows.
func (s *State) setActual(cell dimension.Node, metric string, per fiscal.Period, v decimal.Decimal) {
	k := monthOf{metric, per}
	m := s.actuals[k]
	if !s.ownedMonths[k] {
		m = maps.Clone(m)
		if m == nil {
			m = map[string]decimal.Decimal{}
		}
		s.actuals[k] = m
		s.ownedMonths[k] = true
	}
	m[cell.String()] = v
}

// actual returns the actual of cell, metric and period.
func (s *State) actual(cell, metric string, per fiscal.Period) (decimal.Decimal, bool) {
	v, ok := s.actuals[monthOf{metric, per}][cell]
	return v, ok
}

// Plan returns plan id as known in s.
func (s *State) Plan(id string) (*plan.Plan, bool) {
	p, ok := s.plans[id]
	if !ok || p.ID() == "" || p.Discarded() {
		return nil, false
	}
	return p, true
}

// Plans returns every plan opened in s, discarded ones too, in no
// particular order. They are shared: they must not be changed.
func (s *State) Plans() []*plan.Plan {
	out := make([]*plan.Plan, 0, len(s.plans))
	for _, p := range s.plans {
		if p.ID() != "" {
			out = append(out, p)
		}
	}
	return out
}

// PlanAt returns the plan whose stream is stream as it was at version —
// as it stands when version is 0 — with its version, for the write side
// (eventstore.Repository.StatesFrom): shared, it must not be changed. A
// past version's plan is the one in the state of the position that
// version was recorded at. False when the view knows no such plan or
// version, or cannot fold to it before ctx ends.
func (s *Service) PlanAt(ctx context.Context, stream string, version uint64) (*plan.Plan, uint64, bool) {
	st, err := s.Live(ctx)
	if err != nil {
		return nil, 0, false
	}
	if version > 0 {
		r, ok := st.versions.at(stream, version)
		if !ok {
			return nil, 0, false
		}
		if st, err = s.At(ctx, r.position); err != nil {
			return nil, 0, false
		}
	}
	for _, p := range st.plans {
		if plan.Stream(p.ID()) == stream && (version == 0 || p.Version() == version) {
			return p, p.Version(), true
		}
	}
	return nil, 0, false
}

// bare returns a state equal to s that shares everything s holds (a built
// state never changes), its stream versions clipped.
func (s *State) bare() *State {
	return &State{Position: s.Position, Time: s.Time, plans: s.plans, dims: s.dims, actuals: s.actuals, closed: s.closed,
		books: s.books, forecasts: s.forecasts, pending: s.pending, versions: s.versions.clip(), layouts: s.layouts, work: s.work}
}

// checkpoint returns a state equal to s but for its stream versions, which
// it does not keep: kept by every checkpoint, they were a copy of each plan
// stream's versions so far per checkpoint (the live state's slice grows
// into new arrays, each checkpoint holding an older one), a sixth of the
// heap on a log of a million events. A past state takes them from the live
// state instead (withVersionsOf).
func (s *State) checkpoint() *State {
	return &State{Position: s.Position, Time: s.Time, plans: s.plans, dims: s.dims, actuals: s.actuals, closed: s.closed,
		books: s.books, forecasts: s.forecasts, pending: s.pending, layouts: s.layouts, work: s.work}
}

// withVersionsOf returns checkpoint c with the stream versions it would
// have kept, taken from live, a later state.
func (c *State) withVersionsOf(live *State) *State {
	st := *c
	st.versions = live.versions.upTo(c.Position)
	return &st
}

// streamVersion returns where version v of stream was recorded.
func (s *State) streamVersion(stream string, v uint64) (eventstore.RecordedEvent, bool) {
	r, ok := s.versions.at(stream, v)
	return eventstore.RecordedEvent{Position: r.position, RecordedAt: r.time}, ok
}

// Service answers queries over an event store. It is safe for concurrent
// use. It keeps the state at the head of the log, checkpoint states, and
// of each event only its position and time (marks); past states and the
// audit history read the events they need from the store.
type Service struct {
	store    eventstore.Store
	registry *eventstore.Registry

	// arrivals numbers the calls of Live; caughtUp is the number of the
	// last call that had arrived when the latest read of the store began,
	// so every call numbered up to it arrived before that read and is
	// answered by it.
	arrivals atomic.Uint64
	read     atomic.Int64 // events read from the store so far (Events)

	work    *pool        // slots for costly computations (analyses, past states)
	answers *answerCache // the latest answers of live states

	mu       sync.Mutex
	caughtUp uint64
	marks    []mark                                // every event folded into live, in position order
	live     *State                                // the state after every event of marks
	layouts  *layouts                              // shared by every state
	asOf     map[eventstore.Position]*memo[*State] // a few past states, folded or being folded
	order    []eventstore.Position                 // asOf keys, oldest first

	// every is the distance, in events, between checkpoints: checkpoints[i]
	// is the state after the first (i+1)·every events of the log, kept so
	// a past state is folded from the nearest one before it, not from 0.
	every       int
	checkpoints []*State
	restored    *State // the state Restore read from a snapshot (snapshots.go), nil if none
	// backfilling is closed when a Backfill running ends; nil when none
	// runs (snapshots.go).
	backfilling chan struct{}

	// logged keeps the events folded into live in memory for past folds
	// (pastlog.go).
	logged pastLog

	branches branches // the states of scenarios (scenario.go)
}

// asOfCache is how many past states Service keeps.
const asOfCache = 8

// checkpointEvery is the distance, in events, between the checkpoint
// states a Service keeps for its as-of folds: an as-of state reads and
// folds at most that many events (and copies the aggregates they touch).
// Each checkpoint holds its own copy of the aggregates changed since the
// one before (on the Realistic log, a plan of 16 MB): at 1<<16 the 15
// checkpoints of a million events were half of the heap; at 1<<17 they
// are a quarter, and a cold as-of fold of up to 1<<17 events takes about
// what one of 1<<16 did before the fold was made faster.
const checkpointEvery = 1 << 17

// maxCheckpoints bounds the checkpoints a Service keeps: past it, every
// other one goes and the distance between them doubles (thinCheckpoints).
// Each holds its own copy of the aggregates changed since the one before,
// a plan of tens of megabytes on a large company, so their number, not
// only their distance, must be bounded: the 73 checkpoints of the Large
// company's 9.6 million events held more memory than the machine had. A
// cold as-of fold then reads at most every events, a few hundred thousand
// up to a log of a few million, more beyond.
const maxCheckpoints = 16

// thinCheckpoints keeps every other checkpoint, doubling s.every, while
// there are more than maxCheckpoints (s.mu held): checkpoints[i] is the
// state after (i+1)·every events, so the ones kept are those at odd
// indices.
func (s *Service) thinCheckpoints() {
	for len(s.checkpoints) > maxCheckpoints {
		kept := make([]*State, 0, len(s.checkpoints)/2)
		for i := 1; i < len(s.checkpoints); i += 2 {
			kept = append(kept, s.checkpoints[i])
		}
		s.checkpoints, s.every = kept, 2*s.every
	}
}

// NewService returns a Service reading store and decoding with registry
// (which should know every event type of the domain; events of other types
// appear in the history but change no state).
func NewService(store eventstore.Store, registry *eventstore.Registry) *Service {
	s := &Service{store: store, registry: registry, layouts: &layouts{}, answers: newAnswerCache(),
		asOf: map[eventstore.Position]*memo[*State]{}, work: newPool(runtime.GOMAXPROCS(0)), every: checkpointEvery}
	s.live = s.build(nil)
	s.live.done()
	return s
}

// quietAtMost bounds one wait of Quiet: under a steady load of analyses,
// work in the background still goes on a page at a time.
const quietAtMost = 250 * time.Millisecond

// Quiet waits while s computes an answer a caller waits for (an analysis,
// the fold of a past state), at most a quarter of a second, and returns
// ctx's error if it ends first. Work in the background calls it between
// its pages: the backfill of the log before a snapshot does, and serve's
// process consumers rebuilding from the start of the log
// (projections.FeedConfig.Yield), so that the first reads after a start
// have the cores (the Large company's first variance took 6–18 s served
// beside them, 2–3 s alone).
func (s *Service) Quiet(ctx context.Context) error { return s.work.running.quiet(ctx, quietAtMost) }

// SetAnalysisBudget sets how many bytes of reconciled analyses s keeps
// (estimated; DefaultAnalysisBudget unless set), least recently used out
// first. It is safe to call at any time.
func (s *Service) SetAnalysisBudget(bytes int64) { s.work.analyses.setBudget(bytes) }

// Close stops the costly computations under way (an analysis stops at its
// next step) and those waiting to start: they answer ErrClosed. The
// server closes its Service when it shuts down, after the requests in
// flight have had their grace. Close is safe to call more than once.
func (s *Service) Close() { s.work.close() }

// readPage is how many events Service reads from the store at a time.
const readPage = 2048

// Live reads the events appended since the last read of the store and
// returns the state at the head of the log: every write that completed
// before Live was called is in it. Concurrent calls share reads: a call
// waiting while another reads the store, if that read began after the call
// arrived, takes its result instead of reading again. The new state is
// built from the previous one by folding only the new events into it,
// page by page as they are read (the events are not kept; the next page is
// read and decoded meanwhile, readAhead), with a checkpoint after every
// multiple of s.every events.
func (s *Service) Live(ctx context.Context) (*State, error) {
	arrival := s.arrivals.Add(1)
	if h, ok := s.store.(eventstore.HeadReader); ok {
		// Nothing new (the common case of a read): one query of the log's
		// end, outside the lock, instead of a read of the log after the
		// live state under it. Every call numbered up to asked arrived
		// before the query began, so a live state at the end it finds
		// answers them all.
		asked := s.arrivals.Load()
		if head, err := h.Head(ctx); err == nil {
			s.mu.Lock()
			if !s.live.Position.Before(head) {
				s.caughtUp = max(s.caughtUp, asked)
				st := s.live
				s.mu.Unlock()
				return st, nil
			}
			s.mu.Unlock()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.caughtUp >= arrival {
		return s.live, nil
	}
	began := s.arrivals.Load()
	var st *State // the state being built from s.live, nil until an event arrives
	finish := func() {
		if st != nil {
			st.done()
			s.live, st = st, nil
		}
	}
	fail := func(err error) (*State, error) {
		finish() // what was read and folded stays folded
		if ctx.Err() != nil {
			// The caller's deadline cut the read short (drivers word that
			// differently): what was folded is kept, so a retry goes on
			// from there.
			return nil, fmt.Errorf("%w: %w", ErrBusy, context.Cause(ctx))
		}
		return nil, err
	}
	parts := s.runParts(ctx)
	pages, stop := s.readAhead(ctx, s.live.Position, math.MaxInt)
	defer stop()
	for p := range pages {
		for i, ev := range p.events {
			rec := p.recs[i]
			if st == nil {
				st = s.build(s.live)
			}
			if err := st.apply(entry{rec: rec, event: ev}, parts); err != nil {
				return fail(err)
			}
			s.logged.add(rec, ev)
			m := mark{position: rec.Position, upTo: unixNanos(rec.RecordedAt), changes: changesState(ev)}
			if n := len(s.marks); n > 0 && s.marks[n-1].upTo > m.upTo {
				m.upTo = s.marks[n-1].upTo
			}
			s.marks = append(grown(s.marks), m)
			s.read.Add(1)
			if len(s.marks)%s.every == 0 {
				finish()
				s.checkpoints = append(s.checkpoints, s.live.checkpoint())
				s.thinCheckpoints()
			}
		}
		if p.err != nil {
			return fail(p.err)
		}
	}
	finish()
	s.caughtUp = began
	return s.live, nil
}

// page is a page of the log read from the store and decoded for the fold
// (decode): events[i] is the event of recs[i]. err, when not nil, is why
// the page ends there: the read failed (no events), or decoding
// recs[len(events)] did.
type page struct {
	recs   []eventstore.RecordedEvent
	events []any
	err    error
}

// readAhead reads at most limit events of the log after position after
// and decodes them, page by page, on a goroutine of its own a page ahead
// of the fold that receives the pages: reading and decoding take more than
// half of a fold's time, and go on on another core while the fold applies
// the page before. The pages end after the limit, a short page or a failed
// one; stop ends them early and waits for the goroutine to end.
func (s *Service) readAhead(ctx context.Context, after eventstore.Position, limit int) (pages <-chan page, stop func()) {
	out := make(chan page, 1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(out)
		for limit > 0 {
			n := min(limit, readPage)
			p := s.readDecoded(ctx, after, n)
			if len(p.recs) == 0 && p.err == nil {
				return
			}
			select {
			case out <- p:
			case <-done:
				return
			}
			if p.err != nil || len(p.recs) < n {
				return
			}
			after, limit = p.recs[len(p.recs)-1].Position, limit-n
		}
	})
	return out, func() { close(done); wg.Wait() }
}

// readDecoded reads and decodes the (at most n) events of the log after
// position after.
func (s *Service) readDecoded(ctx context.Context, after eventstore.Position, n int) page {
	batch, err := s.store.ReadAll(ctx, after, n)
	if err != nil {
		return page{err: fmt.Errorf("query: reading the log after %s: %w", after, err)}
	}
	p := page{recs: batch, events: make([]any, 0, len(batch))}
	for _, rec := range batch {
		ev, err := s.decode(rec)
		if err != nil && !errors.Is(err, eventstore.ErrUnknownType) {
			p.err = fmt.Errorf("query: %w", err)
			break
		}
		p.events = append(p.events, ev)
	}
	return p
}

// build returns a state to build from prev (the empty state when prev is
// nil), with the Service's shared parts; it copies the aggregates it
// shares with prev before changing them (Clone). Call done once built.
func (s *Service) build(prev *State) *State {
	st := next(prev)
	st.layouts, st.work = s.layouts, s.work
	return st
}

// done marks a state built: from now on it never changes.
func (s *State) done() { s.owned, s.ownedMonths = nil, nil }

// runParts returns the reader of a forecast run's earlier parts that
// State.apply needs: the decoded forecast events of stream up to version
// upTo, read from the store.
func (s *Service) runParts(ctx context.Context) func(stream string, upTo uint64) ([]forecast.Event, error) {
	return func(stream string, upTo uint64) ([]forecast.Event, error) {
		var out []forecast.Event
		if upTo == 0 {
			return nil, nil
		}
		err := s.replay(ctx, stream, upTo, func(_ eventstore.RecordedEvent, e any) bool {
			if fe, ok := e.(forecast.Event); ok {
				out = append(out, fe)
			}
			return true
		})
		return out, err
	}
}

// At returns the state as known at position pos (the live state when pos is
// at or after the head). A past state is folded from the nearest
// checkpoint at or before pos with the (at most checkpointEvery) events
// after it, kept in memory (pastLog) or else read from the store, on a
// goroutine of its own, without the lock live readers need, once per
// position (a few are cached); when ctx ends first, At returns ErrBusy and
// the fold goes on for the next caller.
func (s *Service) At(ctx context.Context, pos eventstore.Position) (*State, error) {
	live, err := s.Live(ctx)
	if err != nil {
		return nil, err
	}
	if !pos.Before(live.Position) {
		return live, nil
	}
	if err := s.awaitBackfill(ctx, pos); err != nil {
		return nil, err
	}
	s.mu.Lock()
	n := s.indexAfter(pos)
	at := eventstore.Start
	if n > 0 {
		at = s.marks[n-1].position
	}
	base, from := s.checkpointBefore(n) // nil: the start of the log
	marks, logged := s.marks[:n:n], s.logged.tables()
	m, ok := s.asOf[at]
	if !ok {
		m = &memo[*State]{}
		s.asOf[at] = m
		s.order = append(s.order, at)
		for len(s.order) > asOfCache {
			delete(s.asOf, s.order[0])
			s.order = s.order[1:]
		}
	}
	s.mu.Unlock()
	// The context of the first caller may end while others wait: the
	// fold is bounded by the store, not by one request.
	bg := context.WithoutCancel(ctx)
	return m.get(ctx, s.work.past, func() (*State, error) {
		var st *State
		var err error
		if n > from && logged.covers(from, n) {
			st, err = s.foldLogged(bg, logged, marks, live, base, from, n)
		} else {
			if base != nil {
				base = base.withVersionsOf(live)
			}
			st, err = s.foldPast(bg, base, from, n, nil)
		}
		if err != nil {
			return nil, err
		}
		st.past = true // a state of its own (build), seen by no caller yet
		return st, nil
	})
}

// foldFrom returns the state after the count events that follow base (nil:
// the start of the log), read from the store and decoded a page ahead of
// the fold (readAhead), adding each event it folds to log unless nil.
func (s *Service) foldFrom(ctx context.Context, base *State, count int, log *pastLog) (*State, error) {
	st := s.build(base)
	parts := s.runParts(ctx)
	after := eventstore.Start
	if base != nil {
		after = base.Position
	}
	pages, stop := s.readAhead(ctx, after, count)
	defer stop()
	for p := range pages {
		if log != nil {
			// The backfill (the one fold that builds the past log) gives
			// way to the computations callers wait for.
			if err := s.Quiet(ctx); err != nil {
				return nil, err
			}
		}
		for i, ev := range p.events {
			if err := st.apply(entry{rec: p.recs[i], event: ev}, parts); err != nil {
				return nil, err
			}
			if log != nil {
				log.add(p.recs[i], ev)
			}
			after = p.recs[i].Position
			count--
		}
		if p.err != nil {
			return nil, p.err
		}
	}
	if count > 0 {
		return nil, fmt.Errorf("query: the log after %s ends %d events short of the position asked for", after, count)
	}
	st.done()
	return st, nil
}

// backward returns the events from position from to position to (both
// included), newest first, that want accepts by their record (before
// decoding: what it refuses is never decoded), read from the store a page
// at a time as the caller goes on: first the firstBackPage events at to,
// then pages twice as long up to readPage, never before from. So a query
// that wants a few recent events, or the one at a position, reads those
// and few more, whatever lies before them (a period close's forecast runs
// are megabytes of series). A failed read ends the sequence and is kept in
// *err (ErrBusy when ctx ended).
func (s *Service) backward(ctx context.Context, from, to eventstore.Position, want func(eventstore.RecordedEvent) bool, err *error) iter.Seq[entry] {
	return func(yield func(entry) bool) {
		s.mu.Lock()
		hi := s.indexAfter(to)
		first := sort.Search(hi, func(k int) bool { return !s.marks[k].position.Before(from) })
		marks := s.marks[:hi:hi]
		s.mu.Unlock()
		size := firstBackPage
		for hi > first {
			lo := max(first, hi-size)
			size = min(2*size, readPage)
			after := eventstore.Start
			if lo > 0 {
				after = marks[lo-1].position
			}
			page := make([]entry, 0, hi-lo)
			for read := 0; read < hi-lo; {
				batch, rerr := s.store.ReadAll(ctx, after, hi-lo-read)
				if rerr != nil {
					*err = fmt.Errorf("query: reading the log after %s: %w", after, rerr)
					if ctx.Err() != nil {
						// The caller's deadline cut the read short.
						*err = fmt.Errorf("%w: %w", ErrBusy, context.Cause(ctx))
					}
					return
				}
				if len(batch) == 0 {
					*err = fmt.Errorf("query: the log after %s ends %d events short of position %s", after, hi-lo-read, marks[hi-1].position)
					return
				}
				for _, rec := range batch[:min(len(batch), hi-lo-read)] {
					read++
					after = rec.Position
					if !want(rec) {
						continue
					}
					ev, derr := s.registry.Decode(rec)
					if derr != nil && !errors.Is(derr, eventstore.ErrUnknownType) {
						*err = fmt.Errorf("query: %w", derr)
						return
					}
					page = append(page, entry{rec: rec, event: ev})
				}
			}
			for k := len(page) - 1; k >= 0; k-- {
				if !yield(page[k]) {
					return
				}
			}
			hi = lo
		}
	}
}

// firstBackPage is the length of backward's first page.
const firstBackPage = 64

// readStream reads stream from the store from version from up to version
// upTo (0: to its end) and gives each decoded event to f until f returns
// false.
func (s *Service) readStream(ctx context.Context, stream string, from, upTo uint64, f func(eventstore.RecordedEvent, any) bool) error {
	v := from - 1
	for upTo == 0 || v < upTo {
		limit := readPage
		if upTo > 0 {
			limit = int(min(upTo-v, readPage))
		}
		batch, err := s.store.ReadStream(ctx, stream, v+1, limit)
		if err != nil {
			return fmt.Errorf("query: reading %s: %w", stream, err)
		}
		for _, r := range batch {
			e, err := s.registry.Decode(r)
			if err != nil {
				return fmt.Errorf("query: %w", err)
			}
			if !f(r, e) {
				return nil
			}
			v = r.Version
		}
		if len(batch) < limit {
			return nil
		}
	}
	return nil
}

// Events returns how many events s has read from the store so far; it
// does not wait for a read under way, so it reports a Live call's progress.
func (s *Service) Events() int { return int(s.read.Load()) }

// indexAfter returns the number of events read at or before pos (under
// s.mu).
func (s *Service) indexAfter(pos eventstore.Position) int {
	return sort.Search(len(s.marks), func(k int) bool { return pos.Before(s.marks[k].position) })
}

// PositionAt returns the position of the last event recorded at or before t.
func (s *Service) PositionAt(ctx context.Context, t time.Time) (eventstore.Position, error) {
	if _, err := s.Live(ctx); err != nil {
		return eventstore.Start, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// The first event recorded after t ends the prefix: the first whose
	// upTo is after t.
	tn := unixNanos(t)
	n := sort.Search(len(s.marks), func(k int) bool { return s.marks[k].upTo > tn })
	if n == 0 {
		return eventstore.Start, nil
	}
	return s.marks[n-1].position, nil
}

// Pending returns the forecast runs of plan planID requested and not yet
// published, sorted, leaving out the requests a later close superseded
// (no worker makes them).
func (s *State) Pending(planID string) []string {
	last, closed := s.LastClosed()
	var out []string
	for run, req := range s.pending {
		if req.Plan == planID && !(closed && req.SupersededBy(last)) {
			out = append(out, run)
		}
	}
	slices.Sort(out)
	return out
}
