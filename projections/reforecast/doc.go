// Package reforecast is the process that keeps a plan's statistical forecast
// current: when a period closes, ask for a new forecast (Manager); when a
// request is taken up, produce it (Run). It is named after the business
// process it drives.
//
// # Deciding (Manager)
//
// Manager follows the log (Apply) and, for each ledger.PeriodClosed,
// decides one forecast request per open plan and metric: a plan is open
// when it was opened before the close and its rolling horizon still
// reaches past the closed period. The decision is data — a Request holding
// the forecast.Requested command — and carries no I/O: the wiring records
// each one through eventstore.Repository on the run's stream, expecting
// eventstore.NoStream, with Request.Decide as the command. Run ids are
// derived from plan, metric and closed period (RunID), so a replay of the
// log, a redelivered event or a second process decides the very same runs,
// and the store's NoStream expectation (or forecast.ErrAlreadyRequested)
// makes the request happen once. A Manager is safe for concurrent use,
// though a process manager is fed by one goroutine in position order.
//
// # Producing (Run)
//
// Run fits forecasting.Auto to every cell's monthly history, in parallel,
// and returns the run to publish (a forecast.Published, which
// forecast.Run.Publish records in parts and a seal) — per cell the mean
// and 80/95% intervals over the horizon, the chosen model, and in each
// series' Detail the cell's model description (so the run can be
// reproduced with forecasting.Restore) and its row of the cells' error
// covariance; the run's Model document holds only what is common to all
// cells, so it stays small however many cells a run has (Read gives the
// descriptions and the covariance back, also from runs published in one
// event, whose Model held them all).
// The covariance is the Schäfer–Strimmer shrunk covariance of the cells'
// in-sample one-step residuals (reconcile.ShrinkFactor), stored as a
// diagonal plus a rank-k factor (the leading singular vectors of the
// residual matrix, k ≤ 8, with the diagonal topped up so each cell's
// variance stays exact): what target probabilities use to take the
// correlation across cells into account. Run is deterministic: the same
// input and seed give the same output, whatever the number of workers; it
// reads no clock and does no I/O.
package reforecast
