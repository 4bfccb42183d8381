// Package history is the audit read model: every change to targets,
// actuals, dimensions, sales commits, reallocations, version tags and
// approvals, with who made it (the event's By, else the metadata's actor),
// when it was recorded, what changed (before → after) and why (the reason
// or comment).
//
// Log.Query filters by node — exactly, or the node's whole subtree through
// the dimensions as they stood at the query's position — and by plan,
// metric, span (overlapping), actor, kind and recorded-time range, and
// pages with a cursor that is a global position, forwards or backwards.
// A query as of a position (Filter.AsOf) sees exactly what a log rebuilt
// from the events up to that position would.
//
// Storage. Entries are kept in position order in one slice of fixed-size,
// pointer-free records (strings are interned), so a million entries cost
// the garbage collector nothing to scan; an index from each node to its
// entries makes a node's history a binary search and a merge, independent
// of the size of the log.
//
// Concurrency: a Log is safe for concurrent use; Apply takes the write
// lock, Query the read lock.
package history
