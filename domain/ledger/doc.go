// Package ledger is Concord's sales ledger: the actual results recorded per
// cell, metric and period.
//
// A Ledger is an event-sourced aggregate holding one fiscal period, stream
// "ledger-YYYY-MM". Actuals arrive in import batches (Record): one
// ActualRecorded event per row, all or none, each carrying the import's id.
// Sending an import id again records nothing, so a retried import is
// harmless. A (cell, metric) is recorded once per period; a correction is a
// restatement (Restate), which keeps the original in history and records
// From → To with actor and reason. Closing the period (Close) stops new
// actuals; restatements remain possible. A close with cells missing
// actuals records how many and why; Reopen, with a reason, undoes a close.
//
// Every bad row of a batch is reported at once, as *RowError values joined
// with errors.Join, numbered as the caller numbered them.
//
// The ledger checks what it can know by itself. Whether a cell is a cell of
// the plan's dimensions (dimension.Node.CheckCell) and whether a metric
// exists and may be negative are the application's checks.
//
// A Ledger is not safe for concurrent use; load one per command (see
// eventstore.Repository). Commands never read a clock.
package ledger
