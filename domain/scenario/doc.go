// Package scenario models what-if alternatives of a plan: a scenario is a
// named branch of the plan's log, opened from one position of the global
// log (now, a version tag, a time or a position), whose own events never
// change the plan.
//
// A Book is the event-sourced aggregate of one plan's scenarios (stream
// "scenarios-<planID>"). Open records a scenario's header (Opened) with the
// log position it branches from and the versions the plan's stream and
// its commits' stream had there. The scenario's own changes are plan
// events and commit events wrapped with the scenario's id (TargetSet,
// TargetRevised, TargetCleared, EstimatePolicySet, CommitSubmitted,
// CommitWithdrawn): the
// application decides them by giving the command to a plan (or book of
// commits) replayed up to the base versions plus the scenario's earlier
// changes, and Record keeps what that aggregate recorded. The read side
// builds a scenario's state the same way, so each event keeps exactly one
// interpretation: plan.Plan's Apply (commit.Book's for commits).
//
// Discard closes a scenario; Promote closes it once its target changes
// were proposed to the plan (plan.ChangesProposed), naming the proposal.
// Rebase moves an open scenario's base to a later position: its changes
// are then read on top of the plan as it stands there.
//
// The Book checks identifiers, names, actors, reasons and which events a
// scenario may hold; the plan checks the changes themselves. A Book is not
// safe for concurrent use; load one per command (see eventstore.Repository).
// Commands never read a clock.
package scenario
