package ledger

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/text"
)

// MaxRows is the most rows one Record takes: a batch is appended in one
// go, and an append holds at most eventstore.MaxBatch events.
const MaxRows = eventstore.MaxBatch

// MaxTextLen is the longest import id, actor or reason, in bytes.
const MaxTextLen = 2000

// Sentinel errors of the Ledger commands, returned wrapped (in a *RowError
// for a row's problem) and joined when a command finds several. Check them
// with errors.Is.
var (
	// ErrImportID is returned for an empty import id.
	ErrImportID = errors.New("ledger: invalid import id")
	// ErrInvalidText is returned for an import id, actor or reason longer than
	// MaxTextLen bytes or that is not text (text.Problem).
	ErrInvalidText = errors.New("ledger: invalid text")
	// ErrActorRequired is returned when a command comes without its actor.
	ErrActorRequired = errors.New("ledger: the acting principal is required")
	// ErrReasonRequired is returned by Restate without a reason.
	ErrReasonRequired = errors.New("ledger: a reason is required")
	// ErrEmptyBatch is returned by Record without rows.
	ErrEmptyBatch = errors.New("ledger: no rows to record")
	// ErrTooManyRows is returned by Record with more than MaxRows rows.
	ErrTooManyRows = errors.New("ledger: too many rows in one batch")
	// ErrClosed is returned by Record on a closed period, and by Close on a
	// period already closed.
	ErrClosed = errors.New("ledger: period is closed")
	// ErrWrongPeriod is returned for a row of another period.
	ErrWrongPeriod = errors.New("ledger: row belongs to another period")
	// ErrInvalidMetric is returned for a metric id that is not valid.
	ErrInvalidMetric = errors.New("ledger: invalid metric")
	// ErrAlreadyRecorded is returned for a row whose cell and metric are
	// already recorded in the period: restate it instead.
	ErrAlreadyRecorded = errors.New("ledger: actual already recorded")
	// ErrDuplicateRow is returned for a row with the same cell and metric as
	// an earlier row of the batch.
	ErrDuplicateRow = errors.New("ledger: duplicate row in batch")
	// ErrNotRecorded is returned by Restate for an actual never recorded.
	ErrNotRecorded = errors.New("ledger: no such actual")
	// ErrImportReused is returned by Record for an import id the ledger
	// has recorded with other rows: an import id names one content.
	ErrImportReused = errors.New("ledger: import id already used for other rows")
	// ErrNotClosed is returned by Reopen on a period that is open.
	ErrNotClosed = errors.New("ledger: period is not closed")
	// ErrUnchanged is returned by Restate with the current amount.
	ErrUnchanged = errors.New("ledger: amount unchanged")
)

// RowError reports what is wrong with one row of a batch.
type RowError struct {
	Row    int    // the row's number as the caller gave it (1-based)
	Field  string // "cell", "metric", "period" or "amount"
	Value  string // the offending value as text
	Reason string // what is wrong, for people
	Err    error  // one of the sentinel errors
}

func (e *RowError) Error() string {
	return fmt.Sprintf("ledger: row %d, %s %q: %s", e.Row, e.Field, e.Value, e.Reason)
}

func (e *RowError) Unwrap() error { return e.Err }

// Row is one actual to record.
type Row struct {
	Line   int // the caller's 1-based row number, for errors; 0 means its position in the batch
	Cell   dimension.Node
	Metric string
	Period fiscal.Period
	Amount decimal.Decimal
}

// Actual is an actual as the ledger holds it.
type Actual struct {
	Cell   dimension.Node
	Metric string
	Amount decimal.Decimal
}

type key struct {
	cell   dimension.Node
	metric string
}

// Ledger is the aggregate of one period's actuals. Its zero value is not
// usable; use New.
type Ledger struct {
	period  fiscal.Period
	actuals map[key]decimal.Decimal
	imports map[string]bool
	origins map[key]origin
	closed  bool
	changes []Event
}

var _ eventstore.Aggregate[Event] = (*Ledger)(nil)

// New returns the empty ledger of period p, to replay events into or to
// record into. A ledger's stream does not name its period in an event
// before the first actual, so the period is given here; p must be valid.
func New(p fiscal.Period) *Ledger {
	return &Ledger{period: p, actuals: map[key]decimal.Decimal{}, imports: map[string]bool{}, origins: map[key]origin{}}
}

// origin is which import recorded an actual, and the amount it recorded
// (restatements aside).
type origin struct {
	importID string
	amount   decimal.Decimal
}

const streamPrefix = "ledger-"

// Stream returns the name of the event stream of period p: "ledger-2027-03".
func Stream(p fiscal.Period) string { return streamPrefix + p.String() }

// ParseStream returns the period of a stream named by Stream, and whether
// name is one.
func ParseStream(name string) (fiscal.Period, bool) {
	rest, ok := strings.CutPrefix(name, streamPrefix)
	if !ok {
		return 0, false
	}
	p, err := fiscal.ParsePeriod(rest)
	return p, err == nil
}

// Apply changes the ledger's state by one event. It never validates and
// never fails: events are facts.
func (l *Ledger) Apply(e Event) {
	switch e := e.(type) {
	case ActualRecorded:
		l.actuals[key{e.Cell, e.Metric}] = e.Amount
		l.imports[e.ImportID] = true
		l.origins[key{e.Cell, e.Metric}] = origin{e.ImportID, e.Amount}
	case ActualRestated:
		l.actuals[key{e.Cell, e.Metric}] = e.To
	case PeriodClosed:
		l.closed = true
	case PeriodReopened:
		l.closed = false
	}
}

// Changes returns the events recorded by commands since the ledger was
// created or loaded.
func (l *Ledger) Changes() []Event { return l.changes }

func (l *Ledger) record(e Event) {
	l.Apply(e)
	l.changes = append(l.changes, e)
}

// Record records rows, the batch of import importID, by actor by: one
// ActualRecorded per row, in order, all or none. A batch whose import id
// the ledger has seen records nothing: it returns nil when each row is one
// the import recorded (cell, metric, the same amount however written: a
// retry, or part of one), and otherwise a *RowError for each other row:
// ErrImportReused (an import id names one content: the import did not
// record this row, or recorded another amount) or ErrAlreadyRecorded (the
// cell was recorded by another import).
//
// It returns ErrImportID, ErrActorRequired, ErrInvalidText, ErrEmptyBatch, ErrTooManyRows
// (more than MaxRows) or ErrClosed for the batch as a whole; otherwise a
// *RowError for every bad row, joined: ErrWrongPeriod, ErrInvalidMetric,
// ErrAlreadyRecorded (restate instead), ErrDuplicateRow or ErrImportReused.
func (l *Ledger) Record(importID string, rows []Row, by string) error {
	if err := errors.Join(text.Check("import id", importID, MaxTextLen, ErrImportID, ErrInvalidText), text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalidText)); err != nil {
		return err
	}
	if l.imports[importID] {
		return l.recordedBefore(importID, rows)
	}
	switch {
	case len(rows) == 0:
		return fmt.Errorf("%w: import %q", ErrEmptyBatch, importID)
	case len(rows) > MaxRows:
		return fmt.Errorf("%w: import %q has %d rows, at most %d are taken at once; split it", ErrTooManyRows, importID, len(rows), MaxRows)
	case l.closed:
		return fmt.Errorf("%w: %v takes no new actuals (restate instead)", ErrClosed, l.period)
	}
	var errs []error
	first := make(map[key]int, len(rows))
	for i, r := range rows {
		line := r.Line
		if line == 0 {
			line = i + 1
		}
		bad := func(field, value, reason string, err error) {
			errs = append(errs, &RowError{Row: line, Field: field, Value: value, Reason: reason, Err: err})
		}
		if r.Period != l.period {
			bad("period", r.Period.String(), fmt.Sprintf("this batch is for %v", l.period), ErrWrongPeriod)
		}
		if !dimension.ValidID(r.Metric) {
			bad("metric", r.Metric, "not a valid metric id", ErrInvalidMetric)
			continue
		}
		k := key{r.Cell, r.Metric}
		if prev, ok := l.actuals[k]; ok {
			bad("cell", r.Cell.String(), fmt.Sprintf("%s is already recorded as %v for %v; restate it instead", r.Metric, prev, l.period), ErrAlreadyRecorded)
		}
		if j, dup := first[k]; dup {
			bad("cell", r.Cell.String(), fmt.Sprintf("%s appears again, first in row %d", r.Metric, j), ErrDuplicateRow)
		} else {
			first[k] = line
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, r := range rows {
		l.record(ActualRecorded{ImportID: importID, Cell: r.Cell, Metric: r.Metric, Period: r.Period, Amount: r.Amount, By: by})
	}
	return nil
}

// recordedBefore checks rows against what import importID, seen before,
// recorded (see Record).
func (l *Ledger) recordedBefore(importID string, rows []Row) error {
	var errs []error
	for i, r := range rows {
		line := r.Line
		if line == 0 {
			line = i + 1
		}
		o, ok := l.origins[key{r.Cell, r.Metric}]
		switch {
		case ok && o.importID == importID && o.amount.Equal(r.Amount):
		case ok && o.importID == importID:
			errs = append(errs, &RowError{Row: line, Field: "amount", Value: r.Amount.String(), Err: ErrImportReused,
				Reason: fmt.Sprintf("import %q recorded %s of this cell as %v; an import id names one content: send changes under a new id, or restate", importID, r.Metric, o.amount)})
		case ok:
			errs = append(errs, &RowError{Row: line, Field: "cell", Value: r.Cell.String(), Err: ErrAlreadyRecorded,
				Reason: fmt.Sprintf("%s is already recorded as %v for %v by import %q; restate it instead", r.Metric, l.actuals[key{r.Cell, r.Metric}], l.period, o.importID)})
		default:
			errs = append(errs, &RowError{Row: line, Field: "cell", Value: r.Cell.String(), Err: ErrImportReused,
				Reason: fmt.Sprintf("import %q was recorded in %v without this row; an import id names one content: send new rows under a new id", importID, l.period)})
		}
	}
	return errors.Join(errs...)
}

// Restate records the correction of the actual of cell and metric to
// amount, by actor by for reason; closed periods can be restated. It
// returns ErrNotRecorded, ErrUnchanged, ErrReasonRequired or
// ErrActorRequired, joined.
func (l *Ledger) Restate(cell dimension.Node, metric string, amount decimal.Decimal, reason, by string) error {
	var errs []error
	from, ok := l.actuals[key{cell, metric}]
	switch {
	case !ok:
		errs = append(errs, fmt.Errorf("%w: cell %q, metric %q in %v", ErrNotRecorded, cell, metric, l.period))
	case from.Equal(amount):
		errs = append(errs, fmt.Errorf("%w: cell %q, metric %q in %v already is %v", ErrUnchanged, cell, metric, l.period, from))
	}
	errs = append(errs, text.Check("reason", reason, MaxTextLen, ErrReasonRequired, ErrInvalidText), text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalidText))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	l.record(ActualRestated{Cell: cell, Metric: metric, Period: l.period, From: from, To: amount, Reason: strings.TrimSpace(reason), By: by})
	return nil
}

// Close records that the period takes no new actuals, by actor by.
// missing is the number of cells the caller found without an actual (the
// ledger does not know the plans' cells); closing with any missing needs a
// reason, recorded with the close. It returns ErrClosed when it is closed
// already, ErrActorRequired, ErrReasonRequired or ErrInvalidText, joined.
func (l *Ledger) Close(by string, missing int, reason string) error {
	if l.closed {
		return fmt.Errorf("%w: %v is closed already", ErrClosed, l.period)
	}
	errs := []error{text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalidText)}
	switch {
	case missing < 0:
		panic(fmt.Sprintf("ledger: Close with %d missing cells", missing))
	case missing > 0:
		errs = append(errs, text.Check("reason", reason, MaxTextLen, fmt.Errorf("%w: %d cells of %v have no actual", ErrReasonRequired, missing, l.period), ErrInvalidText))
	case reason != "":
		errs = append(errs, text.Check("reason", reason, MaxTextLen, ErrReasonRequired, ErrInvalidText))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	l.record(PeriodClosed{Period: l.period, By: by, Missing: missing, Reason: strings.TrimSpace(reason)})
	return nil
}

// Reopen records that the closed period takes new actuals again, by actor
// by for reason. Which period may be reopened (the last closed) is the
// application's check. It returns ErrNotClosed, ErrActorRequired,
// ErrReasonRequired or ErrInvalidText, joined.
func (l *Ledger) Reopen(by, reason string) error {
	var errs []error
	if !l.closed {
		errs = append(errs, fmt.Errorf("%w: %v is open", ErrNotClosed, l.period))
	}
	errs = append(errs, text.Check("reason", reason, MaxTextLen, ErrReasonRequired, ErrInvalidText), text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalidText))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	l.record(PeriodReopened{Period: l.period, Reason: strings.TrimSpace(reason), By: by})
	return nil
}

// Period returns the ledger's period.
func (l *Ledger) Period() fiscal.Period { return l.period }

// Closed reports whether the period is closed.
func (l *Ledger) Closed() bool { return l.closed }

// Imported reports whether import importID has been recorded.
func (l *Ledger) Imported(importID string) bool {
	_, ok := l.imports[importID]
	return ok
}

// Actual returns the current amount of the actual of cell and metric, and
// whether it is recorded.
func (l *Ledger) Actual(cell dimension.Node, metric string) (decimal.Decimal, bool) {
	a, ok := l.actuals[key{cell, metric}]
	return a, ok
}

// Actuals returns every actual at its current amount, ordered by metric and
// cell text.
func (l *Ledger) Actuals() []Actual {
	out := make([]Actual, 0, len(l.actuals))
	for k, a := range l.actuals {
		out = append(out, Actual{Cell: k.cell, Metric: k.metric, Amount: a})
	}
	slices.SortFunc(out, func(a, b Actual) int {
		return cmp.Or(strings.Compare(a.Metric, b.Metric), strings.Compare(a.Cell.String(), b.Cell.String()))
	})
	return out
}
