// Package eventstore is the port to Concord's source of truth: an append-only
// log of events, split into streams (one per aggregate) and totally ordered
// by a global position.
//
// The Store interface is small on purpose: append to a stream at an expected
// version, read a stream, read the global log, subscribe to the global log.
// Adapters live in subpackages named after their technology (sqlite, esdb)
// and must pass the contract suite in storetest.
//
// Stream versions are 1-based: the first event of a stream has Version 1 and
// a stream holding n events is at version n. Exact(0) and NoStream are the
// same expectation. Global positions order every event of the store; the
// zero Position is the start of the log, before any event.
//
// Each stored event carries a SHA-256 hash chaining it to the previous event
// of its stream (see Chain), computed by the rule its Rule names: ChainV2
// (every event appended now) covers the recorded time too; ChainV1 events,
// written before, keep verifying under their rule, and the switch is
// recognisable in the log (no ChainV1 event may follow a ChainV2 one).
// Verify checks every chain, compares the log with the store's own record
// of its streams where the adapter keeps one (Ledger), and can prove the log
// unchanged up to a Checkpoint: a signed (Ed25519) statement of the log's
// Digest, a running hash over every event's position, stream, version,
// recorded time and hash, made with a key kept outside the store. Package
// audit keeps checkpoints in a directory and reports the log's status.
//
// Importer is an optional capability of adapters: appending events copied
// from another store at their recorded versions, with their IDs and recorded
// times, checking their hash chain as they arrive (concord migrate).
//
// The Registry maps stable event type names to Go types, with schema
// versions and upcasters; Repository loads an aggregate by replay, runs a
// command and appends the events it recorded at the expected version. It
// keeps the latest state of the streams it used most recently (for
// aggregates with Clone) and then replays only the events after it.
package eventstore
