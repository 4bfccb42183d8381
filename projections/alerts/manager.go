package alerts

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/concord-planning/concord/domain/alert"
	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
)

// Actor is the principal the manager records its observations as.
const Actor = "concord/alerts"

// Figure is what a rule reads of one node's metric over one fiscal year.
type Figure struct {
	// Position is the log position of the read state that answered.
	Position eventstore.Position
	// HasTarget says whether the node has a target for the year; Target,
	// Gap (target − latest estimate) and Probability (of reaching it) are
	// set only then.
	HasTarget                bool
	Target, Gap, Probability float64
	// Forecast and StdDev are the statistical forecast of the year's total
	// and its standard deviation.
	Forecast, StdDev float64
	// HasCommit says whether sales has a current commit for the year.
	HasCommit bool
	Commit    float64
	// HasRuns says whether the metric has two published forecast runs;
	// Latest and Previous are then the year's totals by the latest and by
	// the one before it (actuals where a run did not forecast a month).
	HasRuns          bool
	Latest, Previous float64
	// HasClosed says whether a month of the year is closed with an actual
	// that a run forecast: ClosedActual is its actual, ClosedMean, ClosedLo95
	// and ClosedHi95 the run's mean and 95% interval of it.
	HasClosed                bool
	ClosedActual, ClosedMean float64
	ClosedLo95, ClosedHi95   float64
	// OpenSince is the end of the year's first month not closed (zero:
	// every month is closed).
	OpenSince time.Time
}

// Reader is what the manager needs of the read side: the figures of a
// node at the head of the log. ErrNoFigure (wrapped) says the node,
// metric or year is not the plan's: the rule then does not hold.
type Reader interface {
	Figure(ctx context.Context, planID, metric string, node dimension.Node, year int) (Figure, error)
}

// ErrNoFigure is returned by a Reader for a node, metric or year that the
// plan does not have (or a plan that does not exist).
var ErrNoFigure = errors.New("alerts: no such figure")

// z95 is the standard normal quantile of 97.5%: a 95% interval is the
// mean ± z95 standard deviations.
const z95 = 1.959963984540054

// Value returns the figure a rule of kind k compares with its threshold at
// time now, and whether there is one (no target, no commit, no spread, no
// two runs, no closed month: none). For ForecastMove it is the move in
// percent of the previous run's total; for ActualOutsideInterval the level
// in percent of the narrowest central interval of the forecast (normal,
// with the standard deviation its 95% interval implies) that holds the
// actual; for CloseOverdue the days since the end of the first month not
// closed.
func Value(k alert.Kind, f Figure, now time.Time) (float64, bool) {
	switch k {
	case alert.ProbabilityBelow:
		return f.Probability, f.HasTarget
	case alert.GapAbove:
		return f.Gap, f.HasTarget
	case alert.GapShareAbove:
		if !f.HasTarget || f.Target <= 0 {
			return 0, false
		}
		return 100 * f.Gap / f.Target, true
	case alert.CommitDivergence:
		if !f.HasCommit || !(f.StdDev > 0) {
			return 0, false
		}
		return math.Abs(f.Commit-f.Forecast) / f.StdDev, true
	case alert.ForecastMove:
		if !f.HasRuns || f.Previous == 0 {
			return 0, false
		}
		return 100 * math.Abs(f.Latest-f.Previous) / math.Abs(f.Previous), true
	case alert.ActualOutsideInterval:
		sd := (f.ClosedHi95 - f.ClosedLo95) / (2 * z95)
		if !f.HasClosed || !(sd > 0) {
			return 0, false
		}
		return 100 * math.Erf(math.Abs(f.ClosedActual-f.ClosedMean)/sd/math.Sqrt2), true
	case alert.CloseOverdue:
		if f.OpenSince.IsZero() {
			return 0, false
		}
		return now.Sub(f.OpenSince).Hours() / 24, true
	}
	return 0, false
}

// Holds reports whether a rule of kind k with threshold t fires on v.
func Holds(k alert.Kind, t, v float64) bool {
	if k == alert.ProbabilityBelow {
		return v < t
	}
	return v > t
}

// Books is the repository of alert books.
type Books = eventstore.Repository[*alert.Book, alert.Event]

// Manager is the alert process manager; see the package comment. Handle
// is called by one consumer, in log order; Manager is safe for that use
// and for concurrent calls of its read methods.
type Manager struct {
	books  *Books
	reader Reader
	now    func() time.Time

	mu        sync.Mutex
	plans     []string                       // plans with alert books, in the order first seen
	evaluated map[string]eventstore.Position // per plan, the position its last evaluation answered at
	previous  map[prevKey]float64            // the last figure seen per rule and node
	handled   eventstore.Position            // the position of the last event handled
	progress  chan struct{}                  // closed when handled moves on
}

type prevKey struct {
	plan, rule string
	node       dimension.Node
}

// NewManager returns a manager recording in books, reading figures from
// reader, stamping its events with now().
func NewManager(books *Books, reader Reader, now func() time.Time) *Manager {
	return &Manager{books: books, reader: reader, now: now,
		evaluated: map[string]eventstore.Position{}, previous: map[prevKey]float64{}, progress: make(chan struct{})}
}

// WaitHandled waits until Handle has handled an event at pos or later, or
// ctx ends.
func (m *Manager) WaitHandled(ctx context.Context, pos eventstore.Position) error {
	for {
		m.mu.Lock()
		done, next := !m.handled.Before(pos), m.progress
		m.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-next:
		}
	}
}

func (m *Manager) markHandled(pos eventstore.Position) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.handled.Before(pos) {
		m.handled = pos
		close(m.progress)
		m.progress = make(chan struct{})
	}
}

// Handle evaluates the rules an event may affect. It is a
// projections.Handler.
func (m *Manager) Handle(ctx context.Context, rec eventstore.RecordedEvent, event any) error {
	plans, force := m.concerned(event)
	for _, p := range plans {
		m.mu.Lock()
		done := !force && !m.evaluated[p].Before(rec.Position)
		m.mu.Unlock()
		if done {
			continue
		}
		if err := m.Evaluate(ctx, p, rec); err != nil {
			return err
		}
	}
	m.markHandled(rec.Position)
	return nil
}

// concerned returns the plans whose rules event may affect, and whether
// they must be evaluated even when an evaluation answered after it (a
// rule defined: the earlier evaluation did not know it).
func (m *Manager) concerned(event any) (plans []string, force bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch e := event.(type) {
	case alert.RuleDefined:
		if !slices.Contains(m.plans, e.Plan) {
			m.plans = append(m.plans, e.Plan)
		}
		return []string{e.Plan}, true
	case forecast.Sealed:
		return m.known(e.Plan), false
	case forecast.Published:
		return m.known(e.Plan), false
	case ledger.ActualRecorded, ledger.ActualRestated, ledger.PeriodClosed,
		plan.TargetSet, plan.TargetRevised, plan.TargetCleared, plan.ReallocationApproved, plan.HorizonRolled,
		commit.Submitted, commit.Withdrawn:
		return slices.Clone(m.plans), false
	}
	return nil, false
}

func (m *Manager) known(p string) []string {
	if slices.Contains(m.plans, p) {
		return []string{p}
	}
	return nil
}

// Evaluate evaluates every rule of plan planID at the head of the log and
// records what it found, caused by rec.
func (m *Manager) Evaluate(ctx context.Context, planID string, rec eventstore.RecordedEvent) error {
	stream := alert.Stream(planID)
	book, _, err := m.books.Load(ctx, stream)
	if err != nil {
		return err
	}
	var obs []alert.Observation
	var answered eventstore.Position
	now := m.now().UTC()
	for _, r := range book.Rules() {
		for _, node := range r.Nodes {
			f, err := m.reader.Figure(ctx, planID, r.Metric, node, r.Year)
			if err != nil && !errors.Is(err, ErrNoFigure) {
				return fmt.Errorf("alerts: evaluate rule %s of plan %s on %v: %w", r.ID, planID, node, err)
			}
			if answered.Before(f.Position) {
				answered = f.Position
			}
			v, ok := Value(r.Kind, f, now)
			o := alert.Observation{Rule: r.ID, Node: node, Holds: ok && Holds(r.Kind, r.Threshold, v), After: v,
				Position: f.Position, At: now}
			if err != nil || f.Position == (eventstore.Position{}) {
				o.Position = rec.Position
			}
			k := prevKey{planID, r.ID, node}
			m.mu.Lock()
			if prev, seen := m.previous[k]; seen {
				o.Before = &prev
			} else if prev, seen := book.LastFigure(r.ID, node); seen {
				// A restarted manager: the last figure the book recorded.
				o.Before = &prev
			}
			if ok {
				m.previous[k] = v
			} else {
				delete(m.previous, k)
			}
			m.mu.Unlock()
			obs = append(obs, o)
		}
	}
	if len(obs) > 0 {
		cmd := eventstore.Command{Metadata: eventstore.Metadata{Actor: Actor}}
		if rec.ID != (eventstore.RecordedEvent{}).ID {
			cmd.Metadata.CausationID = rec.ID.String()
		}
		_, err = m.books.Update(ctx, stream, eventstore.Any, cmd, func(b *alert.Book) error {
			for _, o := range obs {
				// A rule removed or redefined since the evaluation began is
				// evaluated again by its own event.
				if err := b.Observe(o); err != nil && !errors.Is(err, alert.ErrUnknownRule) && !errors.Is(err, alert.ErrNotWatched) {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("alerts: record the evaluation of plan %s: %w", planID, err)
		}
	}
	if answered.Before(rec.Position) {
		answered = rec.Position
	}
	m.mu.Lock()
	if m.evaluated[planID].Before(answered) {
		m.evaluated[planID] = answered
	}
	m.mu.Unlock()
	return nil
}

// Tick evaluates the plans that have close_overdue rules at the head of
// the log: their figures change with the clock as well as with the log, so
// the process calls Tick now and then (every hour in concord serve). The
// observations stand at the position the read side answered at, so a tick
// with nothing new to say records nothing.
func (m *Manager) Tick(ctx context.Context) error {
	for _, p := range m.Plans() {
		book, _, err := m.books.Load(ctx, alert.Stream(p))
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(book.Rules(), func(r alert.Rule) bool { return r.Kind == alert.CloseOverdue }) {
			continue
		}
		if err := m.Evaluate(ctx, p, eventstore.RecordedEvent{}); err != nil {
			return err
		}
	}
	return nil
}

// Plans returns the plans that have alert rules, as far as the log has
// been handled.
func (m *Manager) Plans() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.plans)
}
