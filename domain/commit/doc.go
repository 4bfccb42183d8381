// Package commit records the forecasts that sales leadership commits to:
// for a node, a metric and a span, an amount at a confidence ("commit" or
// "best_case"), with author and comment.
//
// A Book is an event-sourced aggregate holding one plan's commits, stream
// "commits-<planID>". Submit records a commit; a later submission for the
// same node, metric, span and confidence supersedes it (both stay in
// history), so Current returns the latest one that is not withdrawn.
// Withdraw takes back the current commit of its slot, leaving none.
//
// The book is self-contained: it checks identifiers, the span's form, the
// confidence, comment and actor. Whether the metric exists in the plan, may
// be negative, and whether the span is one of the plan's calendar and the
// node one of its dimensions are the application's checks, made against
// the plan and dimension aggregates.
//
// A Book is not safe for concurrent use; load one per command (see
// eventstore.Repository). Commands never read a clock.
package commit
