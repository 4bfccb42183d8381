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
// model description and each series fit in a part (PartSize). The forecast
// numbers are float64, as in the forecasting packages; only recorded
// actuals and targets are exact decimals.
//
// Runs of any size. Publish records a run's series in parts
// (PartPublished, at most PartSize bytes of series each, so a run of 20,000
// cells is a few hundred events well under eventstore.MaxEventSize) and
// then a Sealed naming the number of parts and their digest. A run is
// published once sealed: Run.Published assembles the parts the seal names,
// and the read side that folds the log (projections/view) folds a run's
// events into a Run and takes its publication at the seal, so it never
// sees part of a run. The parts and the seal may be stored in several
// appends (AppendSize, eventstore.Command.MaxAppendBytes); parts left
// without a seal by an interrupted publication publish nothing, and
// Publish starts over. Runs published in one event before runs had parts
// (TypePublished) are still read as whole runs.
//
// A Run is not safe for concurrent use; load one per command (see
// eventstore.Repository). Commands never read a clock.
package forecast
