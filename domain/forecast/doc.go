// Package forecast records published statistical forecasts, so that every
// forecast used for a plan, an approval or a report is a fact of the event
// log: which data it read (the global log position), which model and seed
// produced it, and its values and intervals.
//
// A Run is an event-sourced aggregate, stream "forecast-<runID>". A run is
// requested at most once (Request: why, for which plan, metric and period)
// and published at most once (Publish); a run may also be published
// without a request. Writing the first event of a run's stream with
// eventstore.NoStream makes a run id, derived from what triggered it, a
// guard against forecasting the same thing twice.
//
// Publish checks the series: equal lengths, finite values, nested
// intervals (Lo95 ≤ Lo80 ≤ Hi80 ≤ Hi95), one series per node, and that the
// encoded event fits eventstore.MaxEventSize. The forecast numbers are
// float64, as in the forecasting packages; only recorded actuals and
// targets are exact decimals.
//
// A Run is not safe for concurrent use; load one per command (see
// eventstore.Repository). Commands never read a clock.
package forecast
