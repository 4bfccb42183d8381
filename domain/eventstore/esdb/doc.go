// Package esdb is the EventStoreDB (KurrentDB) adapter of the event store
// port, on the official gRPC client
// github.com/EventStore/EventStore-Client-Go/v4/esdb.
//
// Mapping. Concord streams are EventStoreDB streams of the same name; the
// port's 1-based versions are the server's 0-based revisions plus one
// (Exact(n) appends at revision n-1, NoStream at no-stream). Each event's
// actor, correlation, causation, schema version and hash travel in the
// event's user metadata as JSON (correlation and causation under the keys
// "$correlationId" and "$causationId" that EventStoreDB's system projections
// read). Global positions are the server's commit and prepare positions.
//
// Recorded times. Hashes cover each event's recorded time
// (eventstore.ChainV2), which must therefore be known before the event is
// written: the adapter stamps every event it appends with its own clock
// (WithClock, default time.Now) and keeps that time, with the hash and the
// hash rule, in the event's user metadata ("recordedAt", RFC 3339 with
// nanoseconds, UTC; "chainRule"). An event copied in from another store by
// Import keeps the time, hash and rule it was first recorded with. Events
// written before the switch carry no rule (eventstore.ChainV1) and, unless
// imported, no recorded time: their recorded time is the server's created
// date, which no hash covers.
//
// Imports. Import appends at exactly the events' recorded versions, after
// recomputing their hash chain from the stream's last stored hash and
// refusing the batch (a *eventstore.ChainError) when a recorded hash differs;
// a batch already stored with the same IDs and hashes at those versions is
// recognised and not written again.
//
// Appends. Every append first reads the tail of its stream, because the hash
// of the first new event chains to the hash stored with the previous one.
// With Exact (and NoStream) it then appends at exactly that revision; with Any
// and StreamExists it appends at the revision it read and, when a concurrent
// writer got there first, reads and tries again, at most MaxAnyAttempts
// times before returning a *eventstore.ConflictError. A wrong expected
// version from the server becomes a *eventstore.ConflictError carrying the
// stream's actual version.
//
// Idempotence. Appending again events whose IDs are stored as the same run of
// the same stream returns the first append's result and writes nothing: with
// Exact the adapter compares the events after the expected version, with
// Any and StreamExists it looks for the run among the last events of the
// stream (the batch size plus TailWindow). IDs found there but not as the
// same run give eventstore.ErrDuplicateEvent. EventStoreDB keeps no index of
// event IDs across streams, so an ID reused in another stream is stored
// again there, as the server does; the port allows that.
//
// Global reads skip system events: those whose stream or type starts with
// '$'. The subscription to $all filters them out on the server
// (esdb.ExcludeSystemEventsFilter) and drops events of system streams on
// arrival. When the server drops a subscription (restart, network), the
// adapter subscribes again after the position of the last event it received,
// with backoff, so that no event is delivered twice or skipped. Server
// checkpoints are not used as resume points: a checkpoint marks how far the
// server searched, which is safe to resume from only inclusively, and a $all
// subscription resumes exclusively.
//
// Connection. The client closes itself after it fails to reach a node for
// its discovery budget (maxDiscoverAttempts × discoveryInterval, about a
// second by default); after that every call fails with
// esdb.ErrorCodeConnectionClosed. The Store then builds a new client from the
// connection string and repeats the call once: a call refused by a closed
// client never reached a server. The Store also replaces the client after
// any "unavailable" error, because the library reconnects only on some paths
// (a failed append or subscribe) and otherwise leaves its gRPC connection to
// a backoff that grows to minutes. A replaced client is closed when the last
// call using it returns.
//
// Client calls do not honour contexts while the client is discovering a
// node, and a call that reaches the client just as it gives up can block
// forever (the library sends on a channel nobody reads any more). The Store
// therefore runs each call on its own goroutine: callers return when their
// context ends, and calls waiting on a replaced client are abandoned and
// repeated once on the new one (reads and idempotent appends repeat
// safely). An abandoned goroutine that never returns is leaked with its
// client, which is then never closed: closing it would make that send panic.
//
// The client reports a wrong expected version with the stream's revision
// only in the error text; the adapter reads it from there, and reads the
// stream's tail when the text does not parse.
//
// A Store is safe for concurrent use.
package esdb
