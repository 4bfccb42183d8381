// Package rolling is the rolling plan read model: for a plan and a metric,
// a window of periods around the current one — by default a few closed
// months back and the plan's horizon forward — showing per node and period
// the target, the actual, the latest published statistical forecast, the
// latest sales commit, the latest estimate (LE) and the gap.
//
// The window rolls by itself: the current period is the first period after
// the latest closed one (ledger.PeriodClosed) or the plan's horizon start
// (plan.HorizonRolled), whichever is later, as known at the query's
// position. Nothing needs to be set up when a period closes.
//
// Targets. A month target is shown in its month. Quarter and year targets
// are not spread over their months: spreading would invent monthly numbers
// nobody entered, and Concord keeps targets exactly as entered. They are
// shown at their span instead (Row.Spans), each with the span's actuals,
// LE and gap, so a quarter target is compared with the quarter's LE. Month
// targets appear in Row.Spans too, so every target of the window has one
// line there.
//
// Latest estimate. For a closed period LE is the actual (zero when nothing
// was recorded: the period is final). For an open period it follows the
// Policy: Statistical (the default) takes the latest published statistical
// forecast; Commit and BestCase take the latest sales commit of that
// confidence for the month where one exists, else the forecast. For a
// span, Commit and BestCase take a commit made for exactly that span when
// one exists; otherwise the span's LE is the sum of its months' LE. Gap is
// target − LE over the target's span.
//
// Forecasts. A node's forecast is the series published for that very node;
// a node without one gets the sum of the latest forecasts of the cells it
// contains (bottom-up), marked SourceCells.
//
// Composition. Plans owns a cube.Cube (actuals and dimensions) and a
// planstate.State (targets, commits, forecasts) and feeds both from its
// Apply; Cube and State expose them, so a wiring that runs Plans serves
// the actuals and plan-state queries from the same instances. Numbers from
// the log (targets, actuals, commits) stay exact decimals; LE and gap mix
// them with float64 forecasts and are float64.
//
// Concurrency: Plans is safe for concurrent use; Apply takes its write
// lock and Window its read lock, so a window is computed from the cube and
// the state at one and the same position.
package rolling
