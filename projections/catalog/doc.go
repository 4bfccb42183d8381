// Package catalog is the read model of Concord's dimensions: every
// dimension's members, their names and places in the hierarchy, and which
// of them are retired, as known at any position of the event log.
//
// A Catalog is fed dimension events (Apply) and answers with immutable
// Hierarchy snapshots: Hierarchy(asOf) is the whole set of dimensions as
// they stood at a global position (vintage.Latest for now). A snapshot is
// built once per dimension event and cached, so the read models that roll
// numbers up through the dimensions (cube, rolling, history) share one
// cheap, lock-free view per vintage. Every member keeps its name, parent
// and retirement as a vintage.History, so building a past snapshot is a
// binary search per member, never a replay.
//
// The package is named after what it models: the catalogue of dimension
// members against which nodes and cells are addressed.
//
// Concurrency: a Catalog is safe for concurrent use; Apply takes its write
// lock, queries its read lock, so queries may run while Apply runs. A
// Hierarchy never changes once returned and is safe to share.
package catalog
