// Package sqlite keeps the API's idempotency records (api.Idempotency) in
// SQLite, for the embedded deployment.
//
// Open it on the event store's own file: the records then live and are
// backed up with the events they describe, in a table of their own
// ("idempotency"), through a connection of their own (the event store
// does not lend its connection, and need not: SQLite in WAL mode
// serialises the two writers and lets readers run). Keeping them in the
// same transaction as the events is not possible through the store's port
// and not needed: a crash between the append and the record leaves a
// claim that lapses after its lease, and the retry that follows appends
// events whose IDs derive from the same idempotency key, which the store
// recognises and does not store twice.
//
// An IdempotencyStore is safe for concurrent use, also by several
// processes sharing the file.
package sqlite
