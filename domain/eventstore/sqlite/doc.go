// Package sqlite is the embedded event store: one SQLite file in WAL mode,
// the default for a single machine.
//
// Appends run in one BEGIN IMMEDIATE transaction each, so a multi-event
// append is atomic, the (stream, version) pair is unique, and global
// positions (SQLite row ids) increase in commit order. The connection runs
// with synchronous=FULL: an append is durable when it returns. Reads use a
// separate pool of connections and never block the writer.
//
// The engine is modernc.org/sqlite, a pure-Go translation of SQLite, which
// keeps the binary static and cross-compilable. The store drives it through
// zombiezen.com/go/sqlite rather than database/sql: statements stay prepared,
// columns are read straight into the events, and connections skip SQLite's
// own mutex (each is used by one goroutine at a time); with SQLite's default
// page cache, that doubled reads and sped appends up by 60% (see the
// README's performance section, BenchmarkReadAll, BenchmarkAppendBatch1000).
// The cgo driver github.com/mattn/go-sqlite3 works through Options.Driver
// for programs that register it; it too is driven below database/sql
// (sql.Conn.Raw).
//
// Recorded times come from Options.Clock, read once per append; Import
// (eventstore.Importer) instead stores each event's own recorded time, so a
// log copied in from another store keeps the times it was first recorded.
//
// The same file holds consumer checkpoints (LoadCheckpoint, SaveCheckpoint),
// so a process manager's progress is as durable as the log it follows.
//
// The store keeps its own record of every stream's head (the streams table)
// and numbers the log without gaps; it is an eventstore.Ledger, so Verify
// finds a deleted stream tail, or a deleted event anywhere but at the very
// end of the log, even when the hash chains were recomputed. Open with
// Options.Existing refuses a path where no store is (ErrNoStore): commands
// that only read use it, so a mistyped path is an error, not a new store.
//
// A Store is safe for concurrent use by many goroutines; several processes
// may share the file (writers serialise on SQLite's lock; subscribers notice
// other processes' appends by polling).
package sqlite
