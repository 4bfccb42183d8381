// Package planning is Concord's application layer: one Service method per
// command a user can give, each spanning the aggregates it needs.
//
// A method authorises its Principal (see access.Role; sales principals act
// only on nodes their scopes cover), parses and checks its text input
// against the aggregates it concerns (nodes resolved against the plan's
// dimensions, spans against the plan's fiscal calendar, metrics against the
// plan), then lets the aggregate decide and appends what it recorded
// through eventstore.Repository at the version the caller expected (Call's
// IfMatch). The actor recorded in events and in event metadata is always
// the Principal's, never taken from input.
//
// Errors: input problems come back as a *ValidationError (ErrValidation)
// listing every problem with its row, field and value; the aggregates'
// own errors are returned as they are (check them with errors.Is against
// the domain packages' sentinels); ErrForbidden and ErrUnauthenticated
// concern the principal; eventstore.ErrConflict means the stream was not at
// the version expected.
//
// Commands that span streams (RecordActuals over several periods,
// ClosePeriod and the horizons it rolls) check everything before appending
// anything, then append stream by stream; each step is idempotent (by
// import id, by the closed period), so a retry after a failure midway
// completes the work without doing any part twice. Cross-aggregate checks
// (a node's members exist) are made on what the dimension streams hold at
// the time: a member retired concurrently is not seen.
//
// CheckActuals and CheckTargets run the checks of RecordActuals and
// ChangeTargets over any number of batches without recording anything, so
// that a large file imported in several batches can be refused whole
// before its first batch is written.
//
// A Service is safe for concurrent use. It imports only the standard
// library and the domain.
package planning
