// Package csvimport reads the CSV files in which dimensions, plans,
// actuals and targets are imported: the text/csv uploads of the HTTP API and the files of
// `concord import`. There is one reader, so the two cannot disagree.
//
// A file is RFC 4180 CSV whose first line names the columns, in any order
// and any case, with an optional UTF-8 byte order mark; no column may be
// unknown, missing (when required) or named twice. Blank lines are
// skipped; fields are trimmed of surrounding space. The formats:
//
//	dimensions: dimension,member,name,parent
//	plan:       plan,name,currency,fiscal_year_start,dimensions,horizon_start,metric,metric_name
//	            and optionally horizon_months, unit, non_negative (one row per metric)
//	actuals:    cell,metric,period,amount
//	targets:    op,node,metric,span,amount,reason (amount optional for op "clear")
//
// A file that cannot be read as its format at all (empty, not CSV, a
// wrong header) is a *FormatError (ErrFormat). A row with the wrong number
// of fields, or a field that is not text (text.Problem: control characters,
// invalid UTF-8), is a planning.Problem naming its line (and column); the
// other rows are still read, so that every such row is reported at once.
// With a row limit, reading stops at the first row beyond it
// (planning.ErrTooManyRows): memory is bounded by the limit, not the file. What the fields
// mean (a cell of the plan, a valid period, a decimal amount) is checked by
// package planning, which numbers its problems by the rows' Line.
//
// The package only parses: it does no I/O beyond reading the io.Reader it
// is given.
package csvimport
