// Package dimension models Concord's dimensions and the addresses built on
// them.
//
// A Dimension is an event-sourced aggregate (stream "dimension-<id>"): a
// hierarchy of members under one root, e.g. Region: World > EMEA > DACH >
// Germany. It is defined once and then changed only by its commands (Add,
// Rename, Move, Retire), each of which checks the hierarchy's invariants and
// records one event. Members are never deleted: a retired member keeps its
// place in history but takes no new children and is skipped by Children and
// Leaves. Read methods (Member, Children, Leaves, Ancestors, Path, IsLeaf,
// Covers) serve the application and projections.
//
// A Node addresses one member per dimension; a dimension it does not name
// stands for that dimension's root (its total). Its canonical text is
// "dim=member;dim=member" sorted by dimension id, e.g.
// "product=pumps;region=emea"; the empty string is the grand total. A cell
// is a node whose members are all leaves (see Node.CheckCell).
//
// Identifiers of dimensions and members (and, by convention, of the other
// aggregates of the domain) match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}: see
// ValidID.
//
// A Dimension is not safe for concurrent use; load one per command (see
// eventstore.Repository). Node and Member are values, safe to share.
package dimension
