// Package plan models a plan: the strategic targets of a company for its
// nodes, metrics and fiscal spans, and how they change in-year.
//
// A Plan is an event-sourced aggregate (stream "plan-<id>"). It is opened
// once with its currency, metrics, fiscal calendar, dimensions and rolling
// horizon; then every change is a command that checks the plan's invariants
// and records events carrying before → after, actor and reason:
//
//   - SetTarget, ReviseTarget and ClearTarget keep one target per (node,
//     metric, span), where the span is a month, fiscal quarter or fiscal
//     year of the plan's calendar. Setting an existing target or revising a
//     missing one is an error.
//   - ProposeReallocation, ApproveReallocation and RejectReallocation are the
//     in-year replan of sales leadership: move target between nodes of one
//     metric and span, the deltas summing to exactly zero so that the total
//     is unchanged. A target takes part in at most one open reallocation at
//     a time. The proposer may not approve their own proposal, and approval
//     fails when a target it moves has changed since the proposal.
//   - ProposeChanges proposes a scenario's target changes (set, revise,
//     clear; see package scenario) as one proposal, bound to the plan's
//     version, approved or rejected as a reallocation is.
//   - TagVersion names the plan's current stream version ("Budget FY27");
//     ApproveVersion approves the version an approver saw, and fails when
//     the plan's numbers have changed since.
//   - RollHorizon moves the rolling horizon past a closed period;
//     ReturnHorizon moves it back when that period is reopened.
//
// The plan counts the events applied to it, so Version is the stream
// version of its last event (recorded events included). ChangedAt is the
// version of the last event that changed its numbers or structure: tags,
// approvals and reallocation proposals or rejections leave the numbers as
// they were.
//
// The plan checks what it can know by itself: metric ids and rules, span
// alignment, that a node names only the plan's dimensions. Whether a node's
// members exist is the application's check (dimension.Node.Resolve), since
// dimensions are aggregates of their own.
//
// A Plan is not safe for concurrent use; load one per command (see
// eventstore.Repository). Commands take the acting principal as an argument
// and never read a clock.
package plan
