// Package reforecast is the decision half of the process manager that asks
// for new statistical forecasts when a period closes.
//
// Manager follows the log (Apply) and, for each ledger.PeriodClosed,
// decides one forecast request per open plan and metric: a plan is open
// when it was opened before the close and its rolling horizon still
// reaches past the closed period. The decision is data — a Request holding
// the forecast.Requested command — and carries no I/O: the wiring records
// each one through eventstore.Repository on the run's stream, expecting
// eventstore.NoStream, with Request.Decide as the command.
//
// Run ids are derived from plan, metric and closed period (RunID), so a
// replay of the log, a redelivered event or a second process decides the
// very same runs, and the store's NoStream expectation (or
// forecast.ErrAlreadyRequested) makes the request happen once.
//
// The package is named after the business process it drives.
//
// Concurrency: a Manager is safe for concurrent use, though a process
// manager is fed by one goroutine in position order.
package reforecast
