package planning

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
)

// Errors of ClosePeriod and ReopenPeriod.
var (
	// ErrPeriodOrder is returned (wrapped in a *PeriodOrderError) when a
	// close skips an open period or a reopen is not of the last closed one.
	ErrPeriodOrder = errors.New("planning: periods close and reopen in order")
	// ErrFuturePeriod is returned (as a Problem of a *ValidationError) for
	// a close of a period after the clock's current month.
	ErrFuturePeriod = errors.New("planning: the period has not begun")
	// ErrMissingActuals is returned (as a *MissingActualsError) for a close
	// of a period with cells that have no actual, unless the close allows
	// them for a reason.
	ErrMissingActuals = errors.New("planning: cells have no actual")
)

// PeriodOrderError says which period a close or reopen had to name.
type PeriodOrderError struct {
	Period fiscal.Period // the period asked for
	Action string        // "close" or "reopen"
	Want   fiscal.Period // the period that may be closed (the next open) or reopened (the last closed)
	None   bool          // reopen only: no period is closed
}

func (e *PeriodOrderError) Error() string {
	switch {
	case e.None:
		return fmt.Sprintf("planning: cannot reopen %v: no period is closed", e.Period)
	case e.Action == "reopen":
		return fmt.Sprintf("planning: cannot reopen %v: only the last closed period, %v, can be reopened", e.Period, e.Want)
	case e.Period > e.Want:
		return fmt.Sprintf("planning: cannot close %v: %v is still open and closes first", e.Period, e.Want)
	}
	return fmt.Sprintf("planning: cannot close %v: the next open period is %v", e.Period, e.Want)
}

// Is makes errors.Is(err, ErrPeriodOrder) true.
func (e *PeriodOrderError) Is(target error) bool { return target == ErrPeriodOrder }

// MissingActualsError lists the cells without an actual in a period to
// close: Missing of Cells (cell × metric of every plan the close rolls),
// the first few named in Examples as "plan: cell, metric".
type MissingActualsError struct {
	Period   fiscal.Period
	Missing  int
	Cells    int
	Examples []string
}

// maxExamples is the most missing cells a MissingActualsError names.
const maxExamples = 5

func (e *MissingActualsError) Error() string {
	more := ""
	if n := e.Missing - len(e.Examples); n > 0 {
		more = fmt.Sprintf(" and %d more", n)
	}
	return fmt.Sprintf("planning: cannot close %v: %d of %d cells have no actual (%s%s); record them, or close with allow_missing and a reason",
		e.Period, e.Missing, e.Cells, strings.Join(e.Examples, "; "), more)
}

// Is makes errors.Is(err, ErrMissingActuals) true.
func (e *MissingActualsError) Is(target error) bool { return target == ErrMissingActuals }

// ClosePeriod is the input of Service.ClosePeriod.
type ClosePeriod struct {
	Period string
	// AllowMissing closes the period although cells have no actual; the
	// Reason is then required and recorded with how many were missing.
	AllowMissing bool
	Reason       string
}

// ReopenPeriod is the input of Service.ReopenPeriod.
type ReopenPeriod struct {
	Period string
	Reason string
}

// CloseResult reports a period close or reopen: the ledger's append and
// each plan whose horizon moved, and the global position of the last
// event.
type CloseResult struct {
	Period   fiscal.Period
	Ledger   Result
	Plans    []Result
	Position eventstore.Position
}

// ClosePeriod closes a period to new actuals (planner), then rolls the
// horizon of every plan past it. Everything is checked before anything is
// appended; a refused close records nothing:
//   - the period must have begun by the clock's month (a *ValidationError
//     with ErrFuturePeriod);
//   - it must be the next open period: the one after the last closed, or,
//     when none is closed, the earliest horizon start of the open plans (a
//     *PeriodOrderError);
//   - every cell of every plan the close rolls (each active leaf of its
//     dimensions × each metric, for the plans whose horizon starts at or
//     before the period) must have an actual, unless in.AllowMissing with
//     a Reason (a *MissingActualsError; ledger.ErrReasonRequired).
//
// Closing the last closed period again returns ledger.ErrClosed, after
// making sure every horizon has rolled: a retry completes a close
// interrupted midway. Call.IfMatch applies to the ledger's stream. Closes
// and reopens of one Service are serialised; the order check reads the
// log, so two Services closing at once may both pass it.
func (s *Service) ClosePeriod(ctx context.Context, c Call, in ClosePeriod) (CloseResult, error) {
	if err := authorize(c.By, "close periods", access.RolePlanner); err != nil {
		return CloseResult{}, err
	}
	var ps problems
	p, ok := parsePeriod(&ps, 0, "period", in.Period)
	if now := fiscal.PeriodOf(s.now()); ok && p > now {
		ps.add(0, "period", in.Period, fmt.Sprintf("%v has not begun: the current month is %v; a period closes once it has begun", p, now), ErrFuturePeriod)
	}
	if in.AllowMissing && strings.TrimSpace(in.Reason) == "" {
		ps.add(0, "reason", in.Reason, "allow_missing needs a reason, recorded with the close", ledger.ErrReasonRequired)
	}
	if err := ps.err(); err != nil {
		return CloseResult{}, err
	}
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	ids, closed, err := s.catchUp(ctx)
	if err != nil {
		return CloseResult{}, err
	}
	plans, err := s.closingPlans(ctx, ids, p)
	if err != nil {
		return CloseResult{}, err
	}
	last, any := lastClosed(closed)
	switch {
	case any && p == last: // closed already: ledger.ErrClosed below, after completing the rolls
	case any && p != last.Add(1):
		return CloseResult{}, &PeriodOrderError{Period: p, Action: "close", Want: last.Add(1)}
	case !any:
		if first, ok := earliestStart(plans); ok && p != first {
			return CloseResult{}, &PeriodOrderError{Period: p, Action: "close", Want: first}
		}
	}
	stream := ledger.Stream(p)
	res, closeErr := s.ledgers(p).Update(ctx, stream, c.expected(), c.command(), func(l *ledger.Ledger) error {
		if l.Closed() {
			return l.Close(c.By.Actor, 0, "") // ledger.ErrClosed
		}
		miss := missingActuals(p, l, plans)
		if miss.Missing > 0 && !in.AllowMissing {
			return miss
		}
		return l.Close(c.By.Actor, miss.Missing, in.Reason)
	})
	if closeErr != nil && !errors.Is(closeErr, ledger.ErrClosed) {
		return CloseResult{}, closeErr
	}
	out := CloseResult{Period: p, Ledger: result(stream, res), Position: res.Position}
	for _, pl := range plans {
		if pl.horizonFrom > p {
			continue
		}
		r, err := s.moveHorizon(ctx, c, pl.id, func(x *plan.Plan) error { return x.RollHorizon(p) })
		if err != nil {
			return out, err
		}
		out.add(r)
	}
	if closeErr != nil {
		return out, closeErr
	}
	if s.onClosed != nil {
		s.onClosed(ctx, p, out)
	}
	return out, nil
}

// ReopenPeriod reopens the last closed period to new actuals (planner),
// for a reason, recorded as ledger.PeriodReopened, then moves back the
// horizon of every plan its close rolled (plan.ReturnHorizon). It returns
// a *PeriodOrderError for any other period, ledger.ErrNotClosed,
// ledger.ErrReasonRequired. Call.IfMatch applies to the ledger's stream.
func (s *Service) ReopenPeriod(ctx context.Context, c Call, in ReopenPeriod) (CloseResult, error) {
	if err := authorize(c.By, "reopen periods", access.RolePlanner); err != nil {
		return CloseResult{}, err
	}
	var ps problems
	p, _ := parsePeriod(&ps, 0, "period", in.Period)
	if strings.TrimSpace(in.Reason) == "" {
		ps.add(0, "reason", in.Reason, "a reopen needs a reason", ledger.ErrReasonRequired)
	}
	if err := ps.err(); err != nil {
		return CloseResult{}, err
	}
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	ids, closed, err := s.catchUp(ctx)
	if err != nil {
		return CloseResult{}, err
	}
	last, any := lastClosed(closed)
	switch {
	case !any:
		return CloseResult{}, &PeriodOrderError{Period: p, Action: "reopen", None: true}
	case p != last:
		return CloseResult{}, &PeriodOrderError{Period: p, Action: "reopen", Want: last}
	}
	stream := ledger.Stream(p)
	res, err := s.ledgers(p).Update(ctx, stream, c.expected(), c.command(), func(l *ledger.Ledger) error {
		return l.Reopen(c.By.Actor, in.Reason)
	})
	if err != nil {
		return CloseResult{}, err
	}
	out := CloseResult{Period: p, Ledger: result(stream, res), Position: res.Position}
	for _, id := range ids {
		r, err := s.moveHorizon(ctx, c, id, func(x *plan.Plan) error { return x.ReturnHorizon(p) })
		if err != nil {
			return out, err
		}
		out.add(r)
	}
	return out, nil
}

// add counts a plan's append in the result, when it appended anything.
func (r *CloseResult) add(plan Result) {
	if plan.Position == eventstore.Start {
		return
	}
	r.Plans = append(r.Plans, plan)
	if r.Position.Before(plan.Position) {
		r.Position = plan.Position
	}
}

// moveHorizon lets decide move the horizon of plan planID; it records
// nothing for a discarded plan.
func (s *Service) moveHorizon(ctx context.Context, c Call, planID string, decide func(*plan.Plan) error) (Result, error) {
	stream := plan.Stream(planID)
	res, err := s.plans.Update(ctx, stream, eventstore.Any, c.command(), func(p *plan.Plan) error {
		if p.Discarded() {
			return nil
		}
		return decide(p)
	})
	if err != nil {
		return Result{}, fmt.Errorf("planning: move the horizon of plan %q: %w", planID, err)
	}
	return result(stream, res), nil
}

// closingPlan is an open plan as a close of a period sees it.
type closingPlan struct {
	id          string
	horizonFrom fiscal.Period
	metrics     []plan.Metric
	cells       []dimension.Node
}

// closingPlans loads every open plan; the cells of those whose horizon
// starts at or before p (the plans the close rolls).
func (s *Service) closingPlans(ctx context.Context, ids []string, p fiscal.Period) ([]closingPlan, error) {
	var out []closingPlan
	for _, id := range ids {
		pl, v, err := s.plans.Load(ctx, plan.Stream(id))
		if err != nil {
			return nil, err
		}
		if v == 0 || pl.Discarded() {
			continue
		}
		cp := closingPlan{id: id, horizonFrom: pl.Horizon().First, metrics: pl.Metrics()}
		if cp.horizonFrom <= p {
			dims, err := s.dimensions(ctx, pl.Dimensions())
			if err != nil {
				return nil, fmt.Errorf("planning: dimensions of plan %q: %w", id, err)
			}
			cp.cells = cellsOf(pl.Dimensions(), dims)
		}
		out = append(out, cp)
	}
	return out, nil
}

// cellsOf returns every cell of dims: one active leaf of each dimension,
// a dimension that is only its root left out.
func cellsOf(ids []string, dims []*dimension.Dimension) []dimension.Node {
	combos := [][]dimension.Coord{nil}
	for k, d := range dims {
		leaves := d.Leaves(d.Root())
		if len(leaves) == 1 && leaves[0] == d.Root() {
			continue
		}
		next := make([][]dimension.Coord, 0, len(combos)*len(leaves))
		for _, c := range combos {
			for _, m := range leaves {
				next = append(next, append(slices.Clip(c), dimension.Coord{Dimension: ids[k], Member: m}))
			}
		}
		combos = next
	}
	out := make([]dimension.Node, len(combos))
	for i, c := range combos {
		out[i] = dimension.MustNode(c...) // members of distinct, defined dimensions
	}
	return out
}

// missingActuals counts the cells × metrics of plans (those the close of
// p rolls) without an actual in l; each cell and metric is counted once
// however many plans share it.
func missingActuals(p fiscal.Period, l *ledger.Ledger, plans []closingPlan) *MissingActualsError {
	e := &MissingActualsError{Period: p}
	seen := map[string]bool{}
	for _, pl := range plans {
		for _, m := range pl.metrics {
			for _, cell := range pl.cells {
				k := m.ID + "\x00" + cell.String()
				if seen[k] {
					continue
				}
				seen[k] = true
				e.Cells++
				if _, ok := l.Actual(cell, m.ID); ok {
					continue
				}
				e.Missing++
				if len(e.Examples) < maxExamples {
					e.Examples = append(e.Examples, fmt.Sprintf("plan %s: %s, %s", pl.id, cell, m.ID))
				}
			}
		}
	}
	return e
}

// earliestStart returns the earliest horizon start of plans, and whether
// there is an open plan.
func earliestStart(plans []closingPlan) (fiscal.Period, bool) {
	if len(plans) == 0 {
		return 0, false
	}
	first := plans[0].horizonFrom
	for _, pl := range plans[1:] {
		first = min(first, pl.horizonFrom)
	}
	return first, true
}

// lastClosed returns the latest closed period, and whether any is.
func lastClosed(closed map[fiscal.Period]bool) (fiscal.Period, bool) {
	var last fiscal.Period
	found := false
	for p := range closed {
		if !found || p > last {
			last, found = p, true
		}
	}
	return last, found
}

// catchUp reads the global log from where it last stopped and returns the
// id of every plan opened and the periods closed now (closed and not
// reopened since).
func (s *Service) catchUp(ctx context.Context) ([]string, map[fiscal.Period]bool, error) {
	s.planMu.Lock()
	defer s.planMu.Unlock()
	for {
		batch, err := s.store.ReadAll(ctx, s.planAfter, 4096)
		if err != nil {
			return nil, nil, err
		}
		if len(batch) == 0 {
			return slices.Clone(s.planIDs), maps.Clone(s.closed), nil
		}
		for _, rec := range batch {
			s.planAfter = rec.Position
			switch rec.Type {
			case plan.TypeOpened, ledger.TypePeriodClosed, ledger.TypePeriodReopened:
			default:
				continue
			}
			v, err := s.registry.Decode(rec)
			if err != nil {
				return nil, nil, err
			}
			switch e := v.(type) {
			case plan.Opened:
				if !slices.Contains(s.planIDs, e.ID) {
					s.planIDs = append(s.planIDs, e.ID)
				}
			case ledger.PeriodClosed:
				s.closed[e.Period] = true
			case ledger.PeriodReopened:
				delete(s.closed, e.Period)
			}
		}
	}
}

// planIDsAll returns the id of every plan opened.
func (s *Service) planIDsAll(ctx context.Context) ([]string, error) {
	ids, _, err := s.catchUp(ctx)
	return ids, err
}
