package csvimport

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/domain/text"
)

// Columns of the formats.
var (
	// ActualColumns are the columns of an actuals file, all required.
	ActualColumns = []string{"cell", "metric", "period", "amount"}
	// TargetColumns are the required columns of a targets file;
	// TargetOptional may also be given (a clear needs no amount).
	TargetColumns  = []string{"op", "node", "metric", "span", "reason"}
	TargetOptional = []string{"amount"}
	// MemberColumns are the columns of a dimensions file, all required
	// (parent empty for a dimension's root).
	MemberColumns = []string{"dimension", "member", "name", "parent"}
	// PlanColumns are the required columns of a plan file (one row per
	// metric, the plan's fields repeated); PlanOptional may also be given.
	PlanColumns  = []string{"plan", "name", "currency", "fiscal_year_start", "dimensions", "horizon_start", "metric", "metric_name"}
	PlanOptional = []string{"horizon_months", "unit", "non_negative"}
)

// ErrFormat matches every *FormatError.
var ErrFormat = errors.New("csvimport: not a CSV file of the expected format")

// FormatError says why a file cannot be read as its format: Detail is a
// sentence for people, Problems name the line (1 for the header) and
// column concerned, when there are any.
type FormatError struct {
	Detail   string
	Problems []planning.Problem
}

func (e *FormatError) Error() string {
	var b strings.Builder
	b.WriteString("csvimport: ")
	b.WriteString(e.Detail)
	for i, p := range e.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		if p.Field != "" {
			fmt.Fprintf(&b, "line %d, column %q: %s", p.Row, p.Field, p.Reason)
		} else {
			fmt.Fprintf(&b, "line %d: %s", p.Row, p.Reason)
		}
	}
	return b.String()
}

// Is makes errors.Is(err, ErrFormat) true.
func (e *FormatError) Is(target error) bool { return target == ErrFormat }

// Row is one data row of a file: its line (1-based, where the row starts)
// and its fields by column name, trimmed.
type Row struct {
	Line   int
	fields []string
	cols   map[string]int
}

// Get returns the field of column name, or "" when the file has no such
// column.
func (r Row) Get(name string) string {
	i, ok := r.cols[name]
	if !ok || i >= len(r.fields) {
		return ""
	}
	return strings.TrimSpace(r.fields[i])
}

// Read reads CSV whose header names every column of required and may name
// those of optional; no other column is allowed. It returns the rows of
// the header's width, and a Problem for each row of another width and for
// each field that is not text (text.Problem: control characters,
// invalid UTF-8). A file that cannot be read at all is a *FormatError.
//
// With maxRows > 0, Read stops at the first row beyond maxRows (good or
// bad) and returns an error wrapping planning.ErrTooManyRows: it never
// holds more than maxRows+1 rows, however long the input, so an upload's
// memory is bounded by the limit and not by its size.
func Read(r io.Reader, required, optional []string, maxRows int) ([]Row, []planning.Problem, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return nil, nil, &FormatError{Detail: "the CSV upload is empty; its first line names the columns: " + strings.Join(required, ",")}
	}
	if err != nil {
		return nil, nil, &FormatError{Detail: "malformed CSV header: " + err.Error()}
	}
	all := append(append([]string{}, required...), optional...)
	allowed := map[string]bool{}
	for _, n := range all {
		allowed[n] = true
	}
	cols := map[string]int{}
	var problems []planning.Problem
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		_, twice := cols[h]
		switch {
		case !allowed[h]:
			problems = append(problems, planning.Problem{Row: 1, Field: h, Reason: "unknown column; the columns are " + strings.Join(all, ",")})
		case twice:
			problems = append(problems, planning.Problem{Row: 1, Field: h, Reason: "column appears twice"})
		default:
			cols[h] = i
		}
	}
	for _, n := range required {
		if _, ok := cols[n]; !ok {
			problems = append(problems, planning.Problem{Row: 1, Field: n, Reason: "required column is missing"})
		}
	}
	if len(problems) > 0 {
		return nil, nil, &FormatError{Detail: "the CSV header is not right", Problems: problems}
	}
	var (
		rows []Row
		bad  []planning.Problem
	)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, nil, &FormatError{Detail: fmt.Sprintf("malformed CSV at line %d: %v", pe.Line, pe.Err),
				Problems: []planning.Problem{{Row: pe.Line, Reason: pe.Err.Error()}}}
		}
		if err != nil {
			return nil, nil, &FormatError{Detail: "malformed CSV: " + err.Error()}
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if maxRows > 0 && len(rows)+len(bad) == maxRows {
			return nil, nil, fmt.Errorf("%w: the file holds more than %d rows (line %d is row %d); at most %d are taken at once, split it", planning.ErrTooManyRows, maxRows, line, maxRows+1, maxRows)
		}
		if len(rec) != len(header) {
			bad = append(bad, planning.Problem{Row: line, Reason: fmt.Sprintf("%d fields, the header names %d", len(rec), len(header))})
			continue
		}
		textOK := true
		for i, f := range rec {
			if why := text.Problem(f); why != "" {
				bad = append(bad, planning.Problem{Row: line, Field: columnAt(cols, i), Value: f, Reason: why})
				textOK = false
			}
		}
		if textOK {
			rows = append(rows, Row{Line: line, fields: rec, cols: cols})
		}
	}
	return rows, bad, nil
}

// columnAt returns the name of the column at index i.
func columnAt(cols map[string]int, i int) string {
	for name, j := range cols {
		if j == i {
			return name
		}
	}
	return ""
}

// ReadActuals reads an actuals file (ActualColumns) into rows numbered by
// their line, as Read does, at most maxRows of them when maxRows > 0.
func ReadActuals(r io.Reader, maxRows int) ([]planning.ActualRow, []planning.Problem, error) {
	rows, bad, err := Read(r, ActualColumns, nil, maxRows)
	if err != nil {
		return nil, nil, err
	}
	out := make([]planning.ActualRow, len(rows))
	for i, row := range rows {
		out[i] = planning.ActualRow{Line: row.Line, Cell: row.Get("cell"), Metric: row.Get("metric"), Period: row.Get("period"), Amount: row.Get("amount")}
	}
	return out, bad, nil
}

// ReadTargets reads a targets file (TargetColumns, TargetOptional) into
// changes numbered by their line, as Read does, at most maxRows of them
// when maxRows > 0.
func ReadTargets(r io.Reader, maxRows int) ([]planning.TargetChange, []planning.Problem, error) {
	rows, bad, err := Read(r, TargetColumns, TargetOptional, maxRows)
	if err != nil {
		return nil, nil, err
	}
	out := make([]planning.TargetChange, len(rows))
	for i, row := range rows {
		out[i] = planning.TargetChange{Line: row.Line, Op: planning.TargetOp(row.Get("op")), Node: row.Get("node"), Metric: row.Get("metric"),
			Span: row.Get("span"), Amount: row.Get("amount"), Reason: row.Get("reason")}
	}
	return out, bad, nil
}

// ReadMembers reads a dimensions file (MemberColumns) into rows numbered
// by their line, as Read does, at most planning.MaxRows of them.
func ReadMembers(r io.Reader) ([]planning.MemberRow, []planning.Problem, error) {
	rows, bad, err := Read(r, MemberColumns, nil, planning.MaxRows)
	if err != nil {
		return nil, nil, err
	}
	out := make([]planning.MemberRow, len(rows))
	for i, row := range rows {
		out[i] = planning.MemberRow{Line: row.Line, Dimension: row.Get("dimension"), Member: row.Get("member"), Name: row.Get("name"), Parent: row.Get("parent")}
	}
	return out, bad, nil
}

// ReadPlan reads a plan file (PlanColumns, PlanOptional) into rows
// numbered by their line, as Read does (at most planning.MaxRows);
// planning.PlanFromRows checks them.
func ReadPlan(r io.Reader) ([]planning.PlanRow, []planning.Problem, error) {
	rows, bad, err := Read(r, PlanColumns, PlanOptional, planning.MaxRows)
	if err != nil {
		return nil, nil, err
	}
	out := make([]planning.PlanRow, len(rows))
	for i, row := range rows {
		out[i] = planning.PlanRow{Line: row.Line, Plan: row.Get("plan"), Name: row.Get("name"), Currency: row.Get("currency"),
			FiscalYearStart: row.Get("fiscal_year_start"), Dimensions: row.Get("dimensions"), HorizonStart: row.Get("horizon_start"),
			HorizonMonths: row.Get("horizon_months"), Metric: row.Get("metric"), MetricName: row.Get("metric_name"),
			Unit: row.Get("unit"), NonNegative: row.Get("non_negative")}
	}
	return out, bad, nil
}
