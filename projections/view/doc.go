// Package view is Concord's one read side: the answers every client reads
// (the API, the dashboard, `concord export`, the reforecast process and
// readiness) — the rolling plan of a node, the variance table (target,
// actual, statistical forecast with intervals, sales commit, latest
// estimate, gap and probability of reaching the target), the audit
// history, the diff between two versions, forecast vintages and their
// accuracy with the forecast value added of sales commits, and a
// reallocation preview. The answers are plain Go values whose JSON shapes
// are those of api/dashboard/CONTRACT.md and of the OpenAPI document;
// package api/query serves them over HTTP and as CSV. The answers read
// their parameters as text (as_of, node, year, …) and report a bad one as
// a *ParamError (matched by ErrBadParameter), an unknown plan, node or
// version as ErrNotFound.
//
// Every answer is computed from a State: the plans, dimensions, actuals,
// commits and published forecasts as known at one position of the global
// log. Service keeps the live State by reading the log after its last
// position on each request (so a client reads its own writes, also when
// several replicas share one store; concurrent requests share one read of
// the store when it began after they arrived; a SQLite store is first asked
// for the log's last position, outside the lock, and a state already there
// is answered at once). Every 65,536 events it
// keeps a checkpoint state, so a state at an earlier position (as_of) is
// folded from the nearest checkpoint before it — at most that many events,
// read from the store, not the log from its start — on a goroutine of its
// own, without holding the lock live reads take (a few past states are
// cached). The events themselves are not kept in memory: of each, only its
// position and time; the audit history reads the log backward from the
// store a page at a time. The position of a time is a
// binary search (over the running maximum of recorded times, so the answer
// is the longest prefix of the log recorded at or before it).
// Folding uses the domain aggregates' own Apply methods, so the query side
// cannot disagree with the write side about what an event means.
//
// A Service can start from a snapshot instead of the start of the log
// (Restore, SaveSnapshot, snapshot.go): the live state and the marks of
// every event up to it, as plain values (the aggregates' own Snapshot and
// FromSnapshot), gob-encoded and compressed with zstd, kept by a
// SnapshotStore (the SQLite event store in its own file, SnapshotDir in a
// directory). A snapshot names the schema it was written with — a
// fingerprint of the encoded types with a format number (SnapshotSchema),
// so a change to them discards older snapshots — and the event it was
// taken after (position, id and chain hash), which must be the store's
// event at that position; a snapshot of another schema, of another log
// or damaged is refused (ErrSnapshotRefused) and the log is folded from
// its start. After a restore, the first Live reads only the events after
// the snapshot; the position of a time and the audit history use the
// restored marks; an as-of state folds from the nearest checkpoint or the
// restored state before it, and from the start of the log before the
// snapshot (its checkpoints are not in it), keeping the checkpoints it
// passes, until Backfill (which serve runs once it answers) has folded
// the log before the snapshot as a start from zero would, keeping its
// checkpoints and its events in memory. Backfill gives way between its
// pages to the answers callers wait for (Quiet), as serve's consumers
// rebuilding from the start of the log do. A restored Service holds the
// same state as one that folded the whole log (the tests compare their
// encodings and answers).
//
// A State never changes once built, so the costly part of an answer — the
// reconciled plan of a plan, metric and span, with its actuals laid out per
// cell and period — is computed once for what it is computed from (the
// plan and dimension aggregates, the months of actuals it reads, the closed
// periods and the published forecast it uses) and shared by every request
// and every state with those same inputs: a write that touches none of them
// (a commit, a forecast of another metric, an actual of another metric)
// leaves the analysis in place. The Service keeps analyses within a byte
// budget (SetAnalysisBudget), least recently used out first; those of past
// states (as-of reads) within a quarter of it, so that reading the past
// does not evict what live readers use. A new live
// State is built from the previous one by
// folding only the new events: the aggregates and months of actuals they
// touch are copied (an aggregate by its Clone method) and the rest
// is shared, so a read after a write costs in proportion to the write, not
// to the log. The latest variance tables and rolling plans of live
// states are kept too (answercache.go, a few dozen), each with its JSON
// encoded once on first use (JSON, which package api writes): the same
// question asked again of the same state is a map probe. Answers as of
// a past state are not kept.
//
// Costly computations (an analysis, a past state) run on goroutines of
// their own, once each, analyses at most GOMAXPROCS at a time and folds of
// past states at most half as many, in slots of their own (so clients
// reading the past in a loop leave cores to live reads): a caller whose
// context ends first gets ErrBusy (package api answers 503 with
// Retry-After) while the computation goes on, so a retry takes its result.
//
// Reconciliation and probabilities come from forecasting/reconcile
// (BuildPlan, whose ReconcileTargets reports P(total ≥ target) under the
// Gaussian forecast distribution of each target's scope). Published
// forecasts carry only means and 80/95% intervals, so each cell-period
// variance is derived from the 95% interval width, and cells and periods
// are taken as independent.
//
// Service is safe for concurrent use.
package view
