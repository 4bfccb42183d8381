package reforecast

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
)

// Actor is the principal recorded in the metadata of the requests.
const Actor = "concord/reforecast"

// Manager decides reforecast requests. The zero value is not usable; use
// New.
type Manager struct {
	mu    sync.Mutex
	pos   eventstore.Position
	plans map[string]*openPlan
	order []*openPlan
	// moves counts the closes and reopens of each period seen, so that a
	// close after a reopen asks for a run of its own.
	moves map[fiscal.Period]int
}

type openPlan struct {
	id            string
	metrics       []string
	horizonStart  fiscal.Period
	horizonMonths int
}

// New returns a manager that knows no plan yet.
func New() *Manager { return &Manager{plans: map[string]*openPlan{}, moves: map[fiscal.Period]int{}} }

// Position returns the position of the last event applied.
func (m *Manager) Position() eventstore.Position {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pos
}

// Request is one decided forecast request.
type Request struct {
	Stream    string // forecast.Stream(Requested.RunID)
	Requested forecast.Requested
	Metadata  eventstore.Metadata // actor Actor, caused by the closing event, in its correlation
}

// Decide runs the request's command on the run loaded from Stream: pass it
// to eventstore.Repository.Update with eventstore.NoStream. It returns
// forecast.ErrAlreadyRequested when the run exists: the request was
// recorded before, which the wiring treats as done.
func (r Request) Decide(run *forecast.Run) error {
	q := r.Requested
	return run.Request(q.RunID, q.Plan, q.Metric, q.Reason, q.Period)
}

// RunID returns the run id of the reforecast of plan's metric after period
// closed: "reforecast-" and 32 hex digits of a SHA-256 of the three, so it
// is a valid id whatever the lengths of plan and metric ids.
func RunID(planID, metric string, closed fiscal.Period) string {
	return runID(planID + "\x00" + metric + "\x00" + closed.String())
}

// MoveRunID returns the run id of the reforecast of plan's metric after
// the n-th close or reopen of period (n ≥ 2: the first is a close, whose
// id is RunID's), so that each reopen and each close again gets a run.
func MoveRunID(planID, metric string, period fiscal.Period, n int) string {
	return runID(planID + "\x00" + metric + "\x00" + period.String() + "\x00" + strconv.Itoa(n))
}

func runID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "reforecast-" + hex.EncodeToString(sum[:16])
}

// Types returns the event types Apply reads (it passes over every other
// one): a consumer feeding a Manager need decode only these.
func (m *Manager) Types() []string {
	return []string{plan.TypeOpened, plan.TypeHorizonRolled, plan.TypeDiscarded, ledger.TypePeriodClosed, ledger.TypePeriodReopened}
}

// Apply folds one event and returns the requests it decides: none, except
// for a ledger.PeriodClosed, which gives one per open plan and metric, in
// the order plans were opened and metrics listed. Events at or before
// Position decide nothing again. It returns an error when event is not the
// value rec.Type names.
func (m *Manager) Apply(rec eventstore.RecordedEvent, event any) ([]Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.pos.Before(rec.Position) {
		return nil, nil
	}
	var out []Request
	switch e := event.(type) {
	case plan.Opened:
		if rec.Type != plan.TypeOpened {
			return nil, mismatch(rec, event)
		}
		if m.plans[e.ID] == nil {
			p := &openPlan{id: e.ID, horizonStart: e.HorizonStart, horizonMonths: e.HorizonMonths}
			for _, x := range e.Metrics {
				p.metrics = append(p.metrics, x.ID)
			}
			m.plans[e.ID] = p
			m.order = append(m.order, p)
		}
	case plan.HorizonRolled:
		if rec.Type != plan.TypeHorizonRolled {
			return nil, mismatch(rec, event)
		}
		id, _ := strings.CutPrefix(rec.Stream, "plan-")
		if p := m.plans[id]; p != nil {
			p.horizonStart = e.To
		}
	case plan.Discarded:
		if rec.Type != plan.TypeDiscarded {
			return nil, mismatch(rec, event)
		}
		id, _ := strings.CutPrefix(rec.Stream, "plan-")
		if p := m.plans[id]; p != nil {
			delete(m.plans, id)
			m.order = slices.DeleteFunc(m.order, func(x *openPlan) bool { return x == p })
		}
	case ledger.PeriodClosed:
		if rec.Type != ledger.TypePeriodClosed {
			return nil, mismatch(rec, event)
		}
		out = m.requests(rec, e.Period, e.Period, fmt.Sprintf("period %v closed", e.Period))
	case ledger.PeriodReopened:
		if rec.Type != ledger.TypePeriodReopened {
			return nil, mismatch(rec, event)
		}
		out = m.requests(rec, e.Period, e.Period.Add(-1), fmt.Sprintf("period %v reopened", e.Period))
	}
	m.pos = rec.Position
	return out, nil
}

// requests counts a close or reopen of period and returns the requests
// it decides: one per open plan and metric whose horizon goes past last,
// the last closed period now.
func (m *Manager) requests(rec eventstore.RecordedEvent, period, last fiscal.Period, reason string) []Request {
	m.moves[period]++
	n := m.moves[period]
	var out []Request
	for _, p := range m.order {
		if p.horizonStart.Add(p.horizonMonths-1) <= last {
			continue // the horizon ends with the closed period: nothing left to forecast
		}
		for _, metric := range slices.Clone(p.metrics) {
			id := RunID(p.id, metric, period)
			if n > 1 {
				id = MoveRunID(p.id, metric, period, n)
			}
			out = append(out, Request{
				Stream:    forecast.Stream(id),
				Requested: forecast.Requested{RunID: id, Plan: p.id, Metric: metric, Period: last, Reason: reason},
				Metadata:  eventstore.Metadata{Actor: Actor, CorrelationID: rec.Metadata.CorrelationID, CausationID: rec.ID.String()},
			})
		}
	}
	return out
}

func mismatch(rec eventstore.RecordedEvent, event any) error {
	return fmt.Errorf("reforecast: %q at position %v holds a %T", rec.Type, rec.Position, event)
}
