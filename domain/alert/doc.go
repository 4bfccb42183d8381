// Package alert holds the target-aware alerts of a plan: the rules that say
// when a target is slipping, and the alerts they raise.
//
// A Book is an event-sourced aggregate holding one plan's rules and alerts,
// stream "alerts-<planID>". DefineRule and RemoveRule keep the rules, with
// their author, in the audited log. Observe records what an evaluation of a
// rule found for one node at one log position: it raises an alert when the
// rule's condition holds and none is open for that rule and node, resolves
// the open one when the condition has cleared, and records nothing
// otherwise — so one open condition is one alert, and an observation at a
// log position no later than the last one that changed the alert is
// ignored, which makes the evaluating process idempotent by log position.
// Acknowledge records who has seen an alert and what they said. The
// delivery of an alert to a webhook is recorded too: each failed attempt,
// the delivery, and the dead letter after the last attempt.
//
// The book checks identifiers, kinds, thresholds, severities and text.
// Whether the metric, nodes and fiscal year exist in the plan is the
// application's check, made against the plan and dimension aggregates.
//
// A Book is not safe for concurrent use; load one per command (see
// eventstore.Repository). Commands never read a clock: times are inputs.
package alert
