// Package storetest is the contract suite every eventstore.Store adapter
// must pass: ordering, optimistic concurrency, idempotent retries, reading
// from a position, subscription catch-up then live, and (for adapters that
// can restart) survival of everything acknowledged.
//
// Adapters call Run from their own tests with a factory and a Features value
// saying what the adapter supports.
package storetest
