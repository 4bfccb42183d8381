package planning

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
)

// ActualRow is one row of an import, as text: Cell names a leaf of each
// of the plan's dimensions ("region=de;product=pumps"), Period is
// "YYYY-MM", Amount a decimal.
type ActualRow struct {
	Line   int // the caller's row number (1-based); 0 means its position
	Cell   string
	Metric string
	Period string
	Amount string
}

// RecordActuals is the input of Service.RecordActuals.
type RecordActuals struct {
	Plan     string // whose dimensions and metrics the rows are checked against
	ImportID string
	Rows     []ActualRow
}

// ImportResult reports an import: the rows recorded by this call, whether
// the import id had been recorded before in every period it touches (then
// nothing was recorded), one Result per period ledger, and the global
// position of the last event appended.
type ImportResult struct {
	ImportID        string
	Recorded        int
	AlreadyImported bool
	Last            fiscal.Period // the latest period of the import's rows
	Periods         []Result
	Position        eventstore.Position
}

// RecordActuals records an import of actuals (planner), split by period
// into the period ledgers, all or nothing: every row is checked first
// (the cell resolves to leaves of the plan's dimensions, the plan measures
// the metric, the period is "YYYY-MM", the amount is a decimal, not
// negative for a non-negative metric) and then against each period's
// ledger (closed periods, cells already recorded, duplicate rows); every
// problem of every row comes back in one *ValidationError, and nothing is
// appended unless all rows pass. The import id makes it idempotent: a
// period that has seen it records nothing. It returns ErrTooManyRows beyond
// MaxRows, plan.ErrNotOpened for an unknown plan, and ledger.ErrClosed for
// a period closed to new actuals.
func (s *Service) RecordActuals(ctx context.Context, c Call, in RecordActuals) (ImportResult, error) {
	if err := authorize(c.By, "record actuals", access.RolePlanner); err != nil {
		return ImportResult{}, err
	}
	checked, err := s.checkActuals(ctx, c, []RecordActuals{in})
	if err != nil {
		return ImportResult{}, err
	}
	byPeriod, periods := checked[0], sortedPeriods(checked)
	out := ImportResult{ImportID: in.ImportID, AlreadyImported: true}
	if len(periods) > 0 {
		out.Last = periods[len(periods)-1]
	}
	for _, period := range periods {
		stream := ledger.Stream(period)
		recorded := 0
		res, err := s.ledgers(period).Update(ctx, stream, eventstore.Any, c.command(), func(l *ledger.Ledger) error {
			// Decided again after a concurrent write: count only what the
			// attempt that is appended records (nothing, when a concurrent
			// request recorded the same import).
			if err := l.Record(in.ImportID, byPeriod[period], c.By.Actor); err != nil {
				return err
			}
			recorded = len(l.Changes())
			return nil
		})
		if err != nil {
			return out, fmt.Errorf("planning: import %q, period %v (earlier periods were recorded; retry with the same import id): %w", in.ImportID, period, err)
		}
		if recorded > 0 {
			out.AlreadyImported = false
			out.Recorded += recorded
		}
		out.Periods = append(out.Periods, result(stream, res))
		if out.Position.Before(res.Position) {
			out.Position = res.Position
		}
	}
	return out, nil
}

// CheckActuals checks imports as RecordActuals would record them one
// after another, and records nothing (planner): every row against the
// plan, then each batch against the period ledgers as the batches before
// it leave them, so a row repeating one of an earlier batch is reported
// (ledger.ErrAlreadyRecorded) and a batch whose import id a period has
// seen passes there. A nil error means RecordActuals would take every
// batch, in order, on the ledgers as they stand now. It returns the
// errors RecordActuals returns, every problem of every batch in one
// *ValidationError, rows numbered by their Line.
func (s *Service) CheckActuals(ctx context.Context, c Call, batches ...RecordActuals) error {
	if err := authorize(c.By, "record actuals", access.RolePlanner); err != nil {
		return err
	}
	_, err := s.checkActuals(ctx, c, batches)
	return err
}

// checkActuals parses and checks batches (see CheckActuals) and returns,
// for each, its rows by period.
func (s *Service) checkActuals(ctx context.Context, c Call, batches []RecordActuals) ([]map[fiscal.Period][]ledger.Row, error) {
	for _, in := range batches {
		if len(in.Rows) > MaxRows {
			return nil, fmt.Errorf("%w: %d rows, at most %d", ErrTooManyRows, len(in.Rows), MaxRows)
		}
	}
	type opened struct {
		p    *plan.Plan
		dims []*dimension.Dimension
	}
	plans := map[string]opened{}
	var ps problems
	checked := make([]map[fiscal.Period][]ledger.Row, len(batches))
	for b, in := range batches {
		o, ok := plans[in.Plan]
		if !ok {
			p, _, dims, err := s.openPlan(ctx, in.Plan)
			if err != nil {
				return nil, err
			}
			o = opened{p, dims}
			plans[in.Plan] = o
		}
		if len(in.Rows) == 0 {
			ps.add(0, "rows", "", "the import holds no rows", ledger.ErrEmptyBatch)
		}
		byPeriod := map[fiscal.Period][]ledger.Row{}
		for i, r := range in.Rows {
			row := r.Line
			if row == 0 {
				row = i + 1
			}
			cell, okCell := parseCell(&ps, row, "cell", r.Cell, o.dims)
			m, okMetric := parseMetric(&ps, row, "metric", r.Metric, o.p)
			period, okPeriod := parsePeriod(&ps, row, "period", r.Period)
			var metric *plan.Metric
			if okMetric {
				metric = &m
			}
			amount, okAmount := parseAmount(&ps, row, "amount", r.Amount, metric)
			if okCell && okMetric && okPeriod && okAmount {
				byPeriod[period] = append(byPeriod[period], ledger.Row{Line: row, Cell: cell, Metric: r.Metric, Period: period, Amount: amount})
			}
		}
		checked[b] = byPeriod
	}

	// Check every ledger before appending to any; rows with problems of
	// their own are left out, so that every row's problems are reported.
	// Each ledger takes the batches in order, in memory.
	var whole []error
	for _, period := range sortedPeriods(checked) {
		l, _, err := s.ledgers(period).Load(ctx, ledger.Stream(period))
		if err != nil {
			return nil, err
		}
		for b, in := range batches {
			rows, ok := checked[b][period]
			if !ok {
				continue
			}
			err = l.Record(in.ImportID, rows, c.By.Actor)
			for _, e := range leaves(err) {
				var row *ledger.RowError
				if errors.As(e, &row) {
					ps.add(row.Row, row.Field, row.Value, row.Reason, e)
				} else {
					whole = append(whole, e)
				}
			}
		}
	}
	if ps.empty() {
		if err := errors.Join(whole...); err != nil {
			return nil, err
		}
	}
	for _, e := range whole {
		ps.add(0, fieldOf(e), "", e.Error(), e)
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return checked, nil
}

// sortedPeriods returns the periods of every batch, in order, once each.
func sortedPeriods(batches []map[fiscal.Period][]ledger.Row) []fiscal.Period {
	var periods []fiscal.Period
	for _, byPeriod := range batches {
		for period := range byPeriod {
			periods = append(periods, period)
		}
	}
	slices.Sort(periods)
	return slices.Compact(periods)
}

// RestateActual is the input of Service.RestateActual.
type RestateActual struct {
	Plan   string
	Cell   string
	Metric string
	Period string
	Amount string
	Reason string
}

// RestateActual corrects a recorded actual (planner), appending to the
// period's ledger at Call.IfMatch. It returns a *ValidationError for bad
// input and the ledger's refusals (ledger.ErrNotRecorded, ErrUnchanged,
// ErrReasonRequired).
func (s *Service) RestateActual(ctx context.Context, c Call, in RestateActual) (Result, error) {
	if err := authorize(c.By, "restate actuals", access.RolePlanner); err != nil {
		return Result{}, err
	}
	p, _, dims, err := s.openPlan(ctx, in.Plan)
	if err != nil {
		return Result{}, err
	}
	var ps problems
	cell, _ := parseCell(&ps, 0, "cell", in.Cell, dims)
	m, okMetric := parseMetric(&ps, 0, "metric", in.Metric, p)
	period, _ := parsePeriod(&ps, 0, "period", in.Period)
	var metric *plan.Metric
	if okMetric {
		metric = &m
	}
	amount, _ := parseAmount(&ps, 0, "amount", in.Amount, metric)
	if err := ps.err(); err != nil {
		return Result{}, err
	}
	stream := ledger.Stream(period)
	res, err := s.ledgers(period).Update(ctx, stream, c.expected(), c.command(), func(l *ledger.Ledger) error {
		return l.Restate(cell, in.Metric, amount, in.Reason, c.By.Actor)
	})
	if err != nil {
		return Result{}, err
	}
	return result(stream, res), nil
}
