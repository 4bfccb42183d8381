// Package planstate is the read model of every plan's state: its opening
// facts and rolling horizon, current targets per node, metric and span,
// reallocations (open, approved, rejected), version tags and approvals,
// the latest sales commit per node, metric, span and confidence, and the
// latest published statistical forecast per node, metric and period — each
// as known at any position of the event log.
//
// It folds the events of the plan, commit and forecast aggregates; the
// actuals live in package cube. Every value keeps its changes as a
// vintage.History, so Targets(…, asOf) answers "the plan as it was on
// 2027-03-31" (asOf = PositionAt(that date)) by binary search, and Diff
// compares the plan between two positions, tags or times. A tag or an
// approval names a plan stream version; VersionPosition turns it into the
// global position that version was stored at, which is what "the numbers
// an approval approved" are read at.
//
// Concurrency: a State is safe for concurrent use. Apply takes the write
// lock and every query the read lock; queries see the state between two
// events. Returned slices are the caller's.
package planstate
