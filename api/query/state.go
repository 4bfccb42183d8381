package query

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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

// entry is one event of the log as the query side keeps it: the record
// (with its data, for the audit history) and the decoded event, nil when
// its type is not one the query side knows.
type entry struct {
	rec   eventstore.RecordedEvent
	event any
}

// actualKey addresses one recorded actual.
type actualKey struct {
	cell   string
	metric string
	period fiscal.Period
}

// vintage is a published forecast with where it was recorded.
type vintage struct {
	forecast.Published
	position eventstore.Position
	time     time.Time
}

// versionKey addresses one version of one stream.
type versionKey struct {
	stream  string
	version uint64
}

// State is everything the query side knows at one position of the log. It
// is immutable once built and safe to share.
type State struct {
	Position eventstore.Position
	Time     time.Time // recorded time of the event at Position (zero at the start)

	plans     map[string]*plan.Plan
	dims      map[string]*dimension.Dimension
	actuals   map[actualKey]decimal.Decimal
	closed    map[fiscal.Period]bool
	books     map[string]*commit.Book // by plan id
	forecasts []vintage
	versions  map[versionKey]eventstore.RecordedEvent
}

func newState() *State {
	return &State{
		plans: map[string]*plan.Plan{}, dims: map[string]*dimension.Dimension{},
		actuals: map[actualKey]decimal.Decimal{}, closed: map[fiscal.Period]bool{},
		books: map[string]*commit.Book{}, versions: map[versionKey]eventstore.RecordedEvent{},
	}
}

// apply folds one event into s. Events of unknown types are skipped.
func (s *State) apply(e entry) {
	r := e.rec
	s.Position, s.Time = r.Position, r.RecordedAt
	s.versions[versionKey{r.Stream, r.Version}] = eventstore.RecordedEvent{Position: r.Position, RecordedAt: r.RecordedAt}
	switch ev := e.event.(type) {
	case plan.Event:
		id := strings.TrimPrefix(r.Stream, "plan-")
		p := s.plans[id]
		if p == nil {
			p = plan.New()
			s.plans[id] = p
		}
		p.Apply(ev)
	case dimension.Event:
		id := strings.TrimPrefix(r.Stream, "dimension-")
		d := s.dims[id]
		if d == nil {
			d = dimension.New()
			s.dims[id] = d
		}
		d.Apply(ev)
	case ledger.ActualRecorded:
		s.actuals[actualKey{ev.Cell.String(), ev.Metric, ev.Period}] = ev.Amount
	case ledger.ActualRestated:
		s.actuals[actualKey{ev.Cell.String(), ev.Metric, ev.Period}] = ev.To
	case ledger.PeriodClosed:
		s.closed[ev.Period] = true
	case commit.Event:
		id := strings.TrimPrefix(r.Stream, "commits-")
		b := s.books[id]
		if b == nil {
			b = commit.New()
			s.books[id] = b
		}
		b.Apply(ev)
	case forecast.Published:
		s.forecasts = append(s.forecasts, vintage{Published: ev, position: r.Position, time: r.RecordedAt})
	}
}

// Plan returns plan id as known in s.
func (s *State) Plan(id string) (*plan.Plan, bool) {
	p, ok := s.plans[id]
	if !ok || p.ID() == "" {
		return nil, false
	}
	return p, true
}

// streamVersion returns where version v of stream was recorded.
func (s *State) streamVersion(stream string, v uint64) (eventstore.RecordedEvent, bool) {
	r, ok := s.versions[versionKey{stream, v}]
	return r, ok
}

// Service answers queries over an event store. It is safe for concurrent
// use.
type Service struct {
	store    eventstore.Store
	registry *eventstore.Registry

	mu    sync.Mutex
	log   []entry // every event read so far, in position order
	head  eventstore.Position
	asOf  map[eventstore.Position]*State // a few folded past states
	order []eventstore.Position          // asOf keys, oldest first
}

// asOfCache is how many past states Service keeps.
const asOfCache = 8

// NewService returns a Service reading store and decoding with registry
// (which should know every event type of the domain; events of other types
// appear in the history but change no state).
func NewService(store eventstore.Store, registry *eventstore.Registry) *Service {
	return &Service{store: store, registry: registry, asOf: map[eventstore.Position]*State{}}
}

// readPage is how many events Service reads from the store at a time.
const readPage = 2048

// Live reads the events appended since the last call and returns the state
// at the head of the log.
func (s *Service) Live(ctx context.Context) (*State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		batch, err := s.store.ReadAll(ctx, s.head, readPage)
		if err != nil {
			return nil, fmt.Errorf("query: reading the log after %s: %w", s.head, err)
		}
		if len(batch) == 0 {
			break
		}
		for _, rec := range batch {
			ev, err := s.registry.Decode(rec)
			if err != nil && !errors.Is(err, eventstore.ErrUnknownType) {
				return nil, fmt.Errorf("query: %w", err)
			}
			e := entry{rec: rec, event: ev}
			s.log = append(s.log, e)
			s.head = rec.Position
		}
		if len(batch) < readPage {
			break
		}
	}
	return s.snapshotLocked(s.head), nil
}

// snapshotLocked returns an immutable state at pos, folding the retained
// log up to it (cached).
func (s *Service) snapshotLocked(pos eventstore.Position) *State {
	if st, ok := s.asOf[pos]; ok {
		return st
	}
	st := newState()
	for _, e := range s.log {
		if pos.Before(e.rec.Position) {
			break
		}
		st.apply(e)
	}
	s.order = append(s.order, pos)
	s.asOf[pos] = st
	for len(s.order) > asOfCache {
		delete(s.asOf, s.order[0])
		s.order = s.order[1:]
	}
	return st
}

// At returns the state as known at position pos (the live state when pos is
// at or after the head).
func (s *Service) At(ctx context.Context, pos eventstore.Position) (*State, error) {
	live, err := s.Live(ctx)
	if err != nil {
		return nil, err
	}
	if !pos.Before(live.Position) {
		return live, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshotLocked(s.positionAtOrBefore(pos)), nil
}

// positionAtOrBefore returns the position of the last event at or before
// pos (Start when there is none).
func (s *Service) positionAtOrBefore(pos eventstore.Position) eventstore.Position {
	lo, hi := 0, len(s.log)
	for lo < hi {
		m := (lo + hi) / 2
		if pos.Before(s.log[m].rec.Position) {
			hi = m
		} else {
			lo = m + 1
		}
	}
	if lo == 0 {
		return eventstore.Start
	}
	return s.log[lo-1].rec.Position
}

// PositionAt returns the position of the last event recorded at or before t.
func (s *Service) PositionAt(ctx context.Context, t time.Time) (eventstore.Position, error) {
	if _, err := s.Live(ctx); err != nil {
		return eventstore.Start, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pos := eventstore.Start
	for _, e := range s.log {
		if e.rec.RecordedAt.After(t) {
			break
		}
		pos = e.rec.Position
	}
	return pos, nil
}

// entries returns the retained log up to the live head (a shared slice
// that callers must not modify).
func (s *Service) entries() []entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log[:len(s.log):len(s.log)]
}
