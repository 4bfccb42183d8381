package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/google/uuid"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Options configure a Store. The zero value is the production default.
type Options struct {
	// Driver is the database/sql driver name: "sqlite" (modernc.org/sqlite,
	// the default) or "sqlite3" (github.com/mattn/go-sqlite3, if the program
	// registers it).
	Driver string
	// Clock is the store's clock, read once per append for RecordedAt.
	// Default time.Now.
	Clock func() time.Time
	// PollInterval is how often a live subscription looks for appends made
	// by other processes sharing the file. Appends through this Store wake
	// subscribers at once. Default one second.
	PollInterval time.Duration
	// Synchronous overrides SQLite's synchronous setting ("FULL" by
	// default; "NORMAL" trades durability of the last commits on power
	// loss for speed). Never set it in production.
	Synchronous string
}

// Store is the SQLite event store.
type Store struct {
	path   string
	opts   Options
	writer *sql.DB // exactly one connection: appends serialise here
	reader *sql.DB

	namesMu sync.RWMutex
	names   map[int64]string // stream id → name

	mu      sync.Mutex // serialises appends in this process
	closed  bool
	wakeMu  sync.Mutex
	wake    chan struct{} // closed and replaced after every append
	subs    sync.WaitGroup
	closing chan struct{}
}

var _ eventstore.Store = (*Store)(nil)

const schema = `
CREATE TABLE IF NOT EXISTS streams (
	id      INTEGER PRIMARY KEY,
	name    TEXT NOT NULL UNIQUE,
	version INTEGER NOT NULL,
	hash    BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
	position  INTEGER PRIMARY KEY,
	stream_id INTEGER NOT NULL REFERENCES streams(id),
	version   INTEGER NOT NULL,
	id        BLOB NOT NULL UNIQUE,
	envelope  BLOB NOT NULL, -- see envelope.go
	UNIQUE (stream_id, version)
);
CREATE TABLE IF NOT EXISTS checkpoints (
	consumer TEXT PRIMARY KEY,
	position INTEGER NOT NULL
);
`

// Open opens (creating if needed) the event store in the file at path.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.Driver == "" {
		opts.Driver = "sqlite"
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Synchronous == "" {
		opts.Synchronous = "FULL"
	}
	writer, err := sql.Open(opts.Driver, dsn(opts.Driver, path, true, opts.Synchronous))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	if _, err := writer.ExecContext(ctx, schema+parkingSchema); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: create schema in %s: %w", path, err)
	}
	var mode string
	if err := writer.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		writer.Close()
		return nil, fmt.Errorf("sqlite: %s is not in WAL mode (journal_mode=%q, %v)", path, mode, err)
	}
	reader, err := sql.Open(opts.Driver, dsn(opts.Driver, path, false, opts.Synchronous))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	reader.SetMaxOpenConns(8)
	reader.SetMaxIdleConns(8)
	return &Store{path: path, opts: opts, names: map[int64]string{}, writer: writer, reader: reader, wake: make(chan struct{}), closing: make(chan struct{})}, nil
}

// dsn builds a driver-specific connection string: WAL, a busy timeout for
// other processes, the synchronous level, and (for the writer) IMMEDIATE
// transactions so a writer takes the lock before it reads the stream tip.
func dsn(driver, path string, write bool, synchronous string) string {
	q := url.Values{}
	switch driver {
	case "sqlite3": // mattn/go-sqlite3
		q.Set("_journal_mode", "WAL")
		q.Set("_synchronous", synchronous)
		q.Set("_busy_timeout", "10000")
		q.Set("_foreign_keys", "1")
		q.Set("_cache_size", "-65536")
		if write {
			q.Set("_txlock", "immediate")
		}
	default: // modernc.org/sqlite
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous("+synchronous+")")
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "cache_size(-65536)")
		q.Add("_pragma", "mmap_size(1073741824)")
		if write {
			q.Set("_txlock", "immediate")
		}
	}
	return "file:" + path + "?" + q.Encode()
}

// Path returns the file the store lives in.
func (s *Store) Path() string { return s.path }

// Close ends every subscription and closes the file. Appends and reads
// after Close return eventstore.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	s.mu.Unlock()
	s.subs.Wait()
	return errors.Join(s.writer.Close(), s.reader.Close())
}

func errClosed() error { return eventstore.ErrClosed }

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Append implements eventstore.Store.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if err := eventstore.Validate(stream, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	res, err := s.append(ctx, stream, expected, events)
	if err == nil {
		s.notify()
	}
	return res, err
}

func (s *Store) append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (res eventstore.AppendResult, err error) {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("sqlite: begin append to %q: %w", stream, err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	var (
		streamID int64
		version  uint64
		prev     []byte
	)
	switch err := tx.QueryRowContext(ctx, `SELECT id, version, hash FROM streams WHERE name = ?`, stream).Scan(&streamID, &version, &prev); {
	case errors.Is(err, sql.ErrNoRows):
		streamID = 0
	case err != nil:
		return res, fmt.Errorf("sqlite: read tip of %q: %w", stream, err)
	}
	if done, ok, err := s.retried(ctx, tx, stream, streamID, events); err != nil || ok {
		if err == nil {
			err = tx.Commit()
		}
		return done, err
	}
	if !eventstore.Satisfied(expected, version) {
		return res, &eventstore.ConflictError{Stream: stream, Expected: expected, Actual: version}
	}
	if streamID == 0 {
		r, err := tx.ExecContext(ctx, `INSERT INTO streams (name, version, hash) VALUES (?, 0, x'')`, stream)
		if err != nil {
			return res, fmt.Errorf("sqlite: create stream %q: %w", stream, err)
		}
		if streamID, err = r.LastInsertId(); err != nil {
			return res, fmt.Errorf("sqlite: create stream %q: %w", stream, err)
		}
	}
	now := s.opts.Clock().UTC().UnixNano()
	res, err = s.insert(ctx, tx, stream, streamID, version, prev, events, func(int) int64 { return now })
	if err != nil {
		return res, err
	}
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("sqlite: commit append to %q: %w", stream, err)
	}
	return res, nil
}

// insert writes events to stream (row streamID, at version with last hash
// prev) inside tx, chaining their hashes and stamping event i with
// recordedAt(i), and advances the stream's tip. The caller commits.
func (s *Store) insert(ctx context.Context, tx *sql.Tx, stream string, streamID int64, version uint64, prev []byte,
	events []eventstore.EventData, recordedAt func(i int) int64) (eventstore.AppendResult, error) {
	var (
		res  eventstore.AppendResult
		last int64
	)
	// Rows go in multi-row INSERTs of up to insertChunk events: one
	// statement per chunk rather than per event is what makes batched
	// appends fast (BenchmarkAppendBatch1000).
	args := make([]any, 0, 4*min(len(events), insertChunk))
	for start := 0; start < len(events); start += insertChunk {
		chunk := events[start:min(start+insertChunk, len(events))]
		args = args[:0]
		for i, e := range chunk {
			version++
			prev = eventstore.Chain(prev, stream, version, e)
			args = append(args, streamID, version, e.ID[:], encodeEnvelope(nil, e, recordedAt(start+i), prev))
		}
		r, err := tx.ExecContext(ctx, insertStatement(len(chunk)), args...)
		if err != nil {
			return res, fmt.Errorf("sqlite: append events %d to %d to %q: %w", start, start+len(chunk)-1, stream, err)
		}
		if n, err := r.RowsAffected(); err != nil || n != int64(len(chunk)) {
			return res, fmt.Errorf("%w: among events %d to %d of the append to %q", eventstore.ErrDuplicateEvent, start, start+len(chunk)-1, stream)
		}
		if last, err = r.LastInsertId(); err != nil {
			return res, fmt.Errorf("sqlite: append to %q: %w", stream, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE streams SET version = ?, hash = ? WHERE id = ?`, version, prev, streamID); err != nil {
		return res, fmt.Errorf("sqlite: advance %q: %w", stream, err)
	}
	return eventstore.AppendResult{Version: version, Position: pos(last)}, nil
}

// insertChunk is the most events one INSERT statement carries (4 bound
// values each, well under SQLite's limit of 32,766).
const insertChunk = 128

// insertStatements[n] is the INSERT of n events.
var insertStatements = func() (out [insertChunk + 1]string) {
	var b strings.Builder
	for n := 1; n <= insertChunk; n++ {
		b.Reset()
		b.WriteString("INSERT INTO events (stream_id, version, id, envelope) VALUES ")
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?, ?, ?, ?)")
		}
		b.WriteString(" ON CONFLICT (id) DO NOTHING")
		out[n] = b.String()
	}
	return out
}()

func insertStatement(n int) string { return insertStatements[n] }

// retried reports whether events were already stored by an earlier append,
// as the same run of the same stream; then it returns that append's result.
func (s *Store) retried(ctx context.Context, tx *sql.Tx, stream string, streamID int64, events []eventstore.EventData) (eventstore.AppendResult, bool, error) {
	var (
		otherStream int64
		first       uint64
	)
	err := tx.QueryRowContext(ctx, `SELECT stream_id, version FROM events WHERE id = ?`, events[0].ID[:]).Scan(&otherStream, &first)
	if errors.Is(err, sql.ErrNoRows) {
		return eventstore.AppendResult{}, false, nil
	}
	if err != nil {
		return eventstore.AppendResult{}, false, fmt.Errorf("sqlite: look up event %s: %w", events[0].ID, err)
	}
	if otherStream != streamID {
		return eventstore.AppendResult{}, false, fmt.Errorf("%w: event %s is stored in another stream than %q", eventstore.ErrDuplicateEvent, events[0].ID, stream)
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, position FROM events WHERE stream_id = ? AND version >= ? ORDER BY version LIMIT ?`, streamID, first, len(events))
	if err != nil {
		return eventstore.AppendResult{}, false, fmt.Errorf("sqlite: compare retried append: %w", err)
	}
	defer rows.Close()
	var (
		i    int
		last int64
	)
	for rows.Next() {
		var id []byte
		if err := rows.Scan(&id, &last); err != nil {
			return eventstore.AppendResult{}, false, fmt.Errorf("sqlite: compare retried append: %w", err)
		}
		if uuid.UUID(id) != events[i].ID {
			break
		}
		i++
	}
	if err := rows.Err(); err != nil {
		return eventstore.AppendResult{}, false, fmt.Errorf("sqlite: compare retried append: %w", err)
	}
	if i != len(events) {
		return eventstore.AppendResult{}, false, fmt.Errorf("%w: the append to %q repeats event %s but not the run it was stored in", eventstore.ErrDuplicateEvent, stream, events[0].ID)
	}
	return eventstore.AppendResult{Version: first + uint64(len(events)) - 1, Position: pos(last)}, true, nil
}

func pos(p int64) eventstore.Position {
	return eventstore.Position{Commit: uint64(p), Prepare: uint64(p)}
}

// notify wakes every live subscription.
func (s *Store) notify() {
	s.wakeMu.Lock()
	close(s.wake)
	s.wake = make(chan struct{})
	s.wakeMu.Unlock()
}

func (s *Store) woken() <-chan struct{} {
	s.wakeMu.Lock()
	defer s.wakeMu.Unlock()
	return s.wake
}

// maxPage bounds the events one read returns, whatever the limit asked.
const maxPage = 8192

const selectEvents = `SELECT position, stream_id, version, envelope FROM events `

// scanEvents reads rows of selectEvents, then names their streams through
// the cache. Names are looked up only after rows is closed: a lookup while
// the rows hold their connection would need a second one from the pool,
// and enough concurrent readers doing so exhaust it and wait forever.
// Strings that repeat across a page (types, actors, correlation ids) are
// shared rather than allocated per event.
func (s *Store) scanEvents(ctx context.Context, rows *sql.Rows, limit int) ([]eventstore.RecordedEvent, error) {
	out := make([]eventstore.RecordedEvent, 0, min(limit, maxPage))
	ids := make([]int64, 0, cap(out))
	var (
		position, streamID int64
		version            uint64
		env                []byte
		strs               = interner{}
	)
	for rows.Next() {
		env = nil
		if err := rows.Scan(&position, &streamID, &version, &env); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: scan event: %w", err)
		}
		out = append(out, eventstore.RecordedEvent{Version: version, Position: pos(position)})
		if err := decodeEnvelope(env, &out[len(out)-1], strs); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: event at position %d: %w", position, err)
		}
		ids = append(ids, streamID)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("sqlite: read events: %w", err)
	}
	lastID, lastName := int64(-1), ""
	for i, id := range ids {
		if id != lastID {
			name, err := s.streamName(ctx, id)
			if err != nil {
				return nil, err
			}
			lastID, lastName = id, name
		}
		out[i].Stream = lastName
	}
	return out, nil
}

// streamName returns the name of stream id, from the cache or the file.
// Stream ids are never reused, so cached names never go stale.
func (s *Store) streamName(ctx context.Context, id int64) (string, error) {
	s.namesMu.RLock()
	name, ok := s.names[id]
	s.namesMu.RUnlock()
	if ok {
		return name, nil
	}
	if err := s.reader.QueryRowContext(ctx, `SELECT name FROM streams WHERE id = ?`, id).Scan(&name); err != nil {
		return "", fmt.Errorf("sqlite: name of stream %d: %w", id, err)
	}
	s.namesMu.Lock()
	s.names[id] = name
	s.namesMu.Unlock()
	return name, nil
}

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	if s.isClosed() {
		return nil, eventstore.ErrClosed
	}
	if limit <= 0 {
		return nil, nil
	}
	limit = min(limit, maxPage)
	rows, err := s.reader.QueryContext(ctx, selectEvents+`WHERE stream_id = (SELECT id FROM streams WHERE name = ?) AND version >= ? ORDER BY version LIMIT ?`, stream, max(from, 1), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read stream %q: %w", stream, err)
	}
	return s.scanEvents(ctx, rows, limit)
}

// ReadAll implements eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	if s.isClosed() {
		return nil, eventstore.ErrClosed
	}
	if limit <= 0 {
		return nil, nil
	}
	limit = min(limit, maxPage)
	rows, err := s.reader.QueryContext(ctx, selectEvents+`WHERE position > ? ORDER BY position LIMIT ?`, int64(after.Commit), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read log after %v: %w", after, err)
	}
	return s.scanEvents(ctx, rows, limit)
}

// Head returns the position of the last event in the log (Start when empty).
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	var p sql.NullInt64
	if err := s.reader.QueryRowContext(ctx, `SELECT max(position) FROM events`).Scan(&p); err != nil {
		return eventstore.Start, fmt.Errorf("sqlite: read head: %w", err)
	}
	return pos(p.Int64), nil
}

// LoadCheckpoint returns the position consumer last saved (Start if none).
func (s *Store) LoadCheckpoint(ctx context.Context, consumer string) (eventstore.Position, error) {
	var p int64
	err := s.reader.QueryRowContext(ctx, `SELECT position FROM checkpoints WHERE consumer = ?`, consumer).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return eventstore.Start, nil
	}
	if err != nil {
		return eventstore.Start, fmt.Errorf("sqlite: load checkpoint of %q: %w", consumer, err)
	}
	return pos(p), nil
}

// SaveCheckpoint durably records that consumer has handled everything up to
// and including pos.
func (s *Store) SaveCheckpoint(ctx context.Context, consumer string, p eventstore.Position) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return eventstore.ErrClosed
	}
	_, err := s.writer.ExecContext(ctx, `INSERT INTO checkpoints (consumer, position) VALUES (?, ?)
		ON CONFLICT (consumer) DO UPDATE SET position = excluded.position`, consumer, int64(p.Commit))
	if err != nil {
		return fmt.Errorf("sqlite: save checkpoint of %q: %w", consumer, err)
	}
	return nil
}
