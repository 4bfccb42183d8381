// Package esdbtest is an in-memory EventStoreDB for tests: a gRPC server
// built from the EventStoreDB client's own protocol definitions
// (github.com/EventStore/EventStore-Client-Go/v4/protos), speaking the subset
// of the protocol the v4 Go client uses for appending, reading and
// subscribing to $all.
//
// What it implements, with the real server's semantics:
//   - ServerFeatures.GetSupportedMethods, advertising exactly the methods
//     below (no batch append), so the client's feature probe on connect
//     succeeds;
//   - Streams.Append: expected revision checks (any, no stream, stream
//     exists, exact revision) answered with the WrongExpectedVersion message
//     the real server sends, carrying the current and expected revisions;
//     idempotent appends by event ID (a retried run of events already stored
//     at the expected place succeeds without writing, answered without a
//     position, as EventStoreDB answers idempotent writes); global commit and
//     prepare positions that grow like log offsets (events of one append
//     share their commit position and have increasing prepare positions); a
//     server-set created time from an injectable clock;
//   - Streams.Read: stream reads forwards and backwards from a revision, the
//     start or the end, with stream-not-found; $all reads forwards
//     (inclusive of the given position) and backwards (exclusive); $all
//     subscriptions (exclusive of the given position) with server-side
//     filters on event type or stream name (regular expression or prefixes),
//     checkpoint messages every window × multiplier events searched, and the
//     caught-up message when the subscription turns live;
//   - a system event ($settings) written at first start, so that clients see
//     system events in $all as they do on a real server.
//
// What it does not implement: TLS and authentication, gossip and clusters
// (connect with a single-node connection string), batch append, delete and
// tombstone, stream metadata semantics (ACLs, max age, truncation; $$ streams
// are stored as plain streams), stream subscriptions, persistent
// subscriptions, projections and their system streams, link resolution, the
// fell-behind message, message size limits and durability across process
// exits (data lives as long as the Server value).
//
// Start runs a server for one test; Stop kills it abruptly (clients see a
// dropped connection) and Restart brings it back on the same address with the
// same data. Serve runs one until its context ends, for test binaries used as
// separate processes.
package esdbtest
