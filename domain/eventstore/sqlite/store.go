package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/google/uuid"
)

// Options configure a Store. The zero value is the production default.
type Options struct {
	// Driver chooses the SQLite build: "sqlite" (the default) is
	// modernc.org/sqlite's pure-Go engine, driven through
	// zombiezen.com/go/sqlite; any other name is a database/sql driver the
	// program registers, such as "sqlite3" (github.com/mattn/go-sqlite3,
	// cgo).
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
	// Existing makes Open refuse, with ErrNoStore, a path where no event
	// store is: no file, or a file without the store's tables. Commands
	// that only read set it, so a mistyped path is an error rather than a
	// new, empty store.
	Existing bool
}

// ErrNoStore is returned by Open with Options.Existing when the path holds
// no event store.
var ErrNoStore = errors.New("sqlite: no event store at that path")

// Store is the SQLite event store.
type Store struct {
	path   string
	opts   Options
	writer conn // the one writing connection: appends serialise on mu
	reader *pool

	namesMu sync.RWMutex
	names   map[int64]string // stream id → name

	mu      sync.Mutex   // serialises appends in this process; guards writer
	readMu  sync.RWMutex // held for reading by reads, for writing by Close
	closed  bool
	wakeMu  sync.Mutex
	wake    chan struct{} // closed and replaced after every append
	subs    sync.WaitGroup
	closing chan struct{}
}

var (
	_ eventstore.Store      = (*Store)(nil)
	_ eventstore.HeadReader = (*Store)(nil)
)

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

// readers is the most connections reads use at once.
const readers = 8

// Open opens (creating if needed, unless Options.Existing) the event store
// in the file at path.
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
	if opts.Existing {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist", ErrNoStore, path)
		} else if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrNoStore, path, err)
		}
	}
	open := func(create bool) (conn, error) {
		if opts.Driver == "sqlite" {
			return openPure(path, create, opts.Synchronous)
		}
		return openSQL(opts.Driver, path, opts.Synchronous)
	}
	writer, err := open(!opts.Existing)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	writer.bind(ctx)
	if opts.Existing {
		var tables int64
		if _, err := queryRow(writer, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('streams', 'events')`, nil,
			func(r row) { tables = r.int64(0) }); err != nil || tables != 2 {
			writer.close()
			return nil, fmt.Errorf("%w: %s holds no streams and events tables (%v)", ErrNoStore, path, err)
		}
	}
	if err := writer.script(schema + parkingSchema + snapshotSchema); err != nil {
		writer.close()
		return nil, fmt.Errorf("sqlite: create schema in %s: %w", path, err)
	}
	var mode string
	if _, err := queryRow(writer, "PRAGMA journal_mode", nil, func(r row) { mode = r.text(0) }); err != nil || mode != "wal" {
		writer.close()
		return nil, fmt.Errorf("sqlite: %s is not in WAL mode (journal_mode=%q, %v)", path, mode, err)
	}
	writer.bind(context.Background())
	reader := newPool(readers, func() (conn, error) {
		c, err := open(false)
		if err != nil {
			return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
		}
		return c, nil
	})
	return &Store{path: path, opts: opts, names: map[int64]string{}, writer: writer, reader: reader, wake: make(chan struct{}), closing: make(chan struct{})}, nil
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
	s.readMu.Lock() // wait for reads under way
	defer s.readMu.Unlock()
	return errors.Join(s.writer.close(), s.reader.close())
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// read runs f on a reading connection, unless the store is closed.
func (s *Store) read(ctx context.Context, f func(c conn) error) error {
	s.readMu.RLock()
	defer s.readMu.RUnlock()
	if s.isClosed() {
		return eventstore.ErrClosed
	}
	return s.reader.with(ctx, f)
}

// write runs f on the writing connection, bound to ctx, unless the store
// is closed. The caller holds s.mu.
func (s *Store) write(ctx context.Context, f func(c conn) error) error {
	if s.closed {
		return eventstore.ErrClosed
	}
	s.writer.bind(ctx)
	defer s.writer.bind(context.Background())
	return f(s.writer)
}

// transact runs f inside a BEGIN IMMEDIATE transaction on the writing
// connection: the write lock is taken before f reads anything. It commits
// when f returns nil and commit is true, else rolls back. The rollback runs
// even when the context was cancelled: a transaction left open would refuse
// every later append. The caller holds s.mu.
func transact(c conn, f func() (commit bool, err error)) error {
	if _, _, err := c.exec("BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	rollback := func(err error) error {
		c.bind(context.Background())
		if _, _, rerr := c.exec("ROLLBACK"); rerr != nil {
			return errors.Join(err, fmt.Errorf("sqlite: roll back: %w", rerr))
		}
		return err
	}
	commit, err := f()
	if err != nil || !commit {
		return rollback(err)
	}
	if _, _, err := c.exec("COMMIT"); err != nil {
		return rollback(fmt.Errorf("sqlite: commit: %w", err))
	}
	return nil
}

// Append implements eventstore.Store.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if err := eventstore.Validate(stream, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var res eventstore.AppendResult
	err := s.write(ctx, func(c conn) error {
		var err error
		res, err = s.append(c, stream, expected, events)
		return err
	})
	if err == nil {
		s.notify()
	}
	return res, err
}

// tip returns the row id, version and last hash of stream (0 when the
// stream does not exist).
func tip(c conn, stream string) (id int64, version uint64, hash []byte, err error) {
	_, err = queryRow(c, `SELECT id, version, hash FROM streams WHERE name = ?`, []any{stream}, func(r row) {
		id, version, hash = r.int64(0), uint64(r.int64(1)), r.blob(2, nil)
	})
	if err != nil {
		return 0, 0, nil, fmt.Errorf("sqlite: read tip of %q: %w", stream, err)
	}
	return id, version, hash, nil
}

// createStream inserts stream's row and returns its id.
func createStream(c conn, stream string) (int64, error) {
	_, id, err := c.exec(`INSERT INTO streams (name, version, hash) VALUES (?, 0, x'')`, stream)
	if err != nil {
		return 0, fmt.Errorf("sqlite: create stream %q: %w", stream, err)
	}
	return id, nil
}

func (s *Store) append(c conn, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (res eventstore.AppendResult, err error) {
	err = transact(c, func() (bool, error) {
		streamID, version, prev, err := tip(c, stream)
		if err != nil {
			return false, err
		}
		if done, ok, err := retried(c, stream, streamID, events); err != nil || ok {
			res = done
			return false, err
		}
		if !eventstore.Satisfied(expected, version) {
			return false, &eventstore.ConflictError{Stream: stream, Expected: expected, Actual: version}
		}
		if streamID == 0 {
			if streamID, err = createStream(c, stream); err != nil {
				return false, err
			}
		}
		res, err = insert(c, streamID, eventstore.Seal(prev, stream, version, s.opts.Clock(), events...))
		return err == nil, err
	})
	return res, err
}

// insert writes the sealed events recs (hashed, stamped, at the versions
// after the stream's) to stream row streamID on c, inside a transaction,
// and advances the stream's tip. The caller commits.
func insert(c conn, streamID int64, recs []eventstore.RecordedEvent) (eventstore.AppendResult, error) {
	var (
		last int64
		buf  []byte // the chunk's envelopes, back to back
		envs = make([]int, 0, insertChunk+1)
	)
	stream := recs[0].Stream
	// Rows go in multi-row INSERTs of up to insertChunk events: one
	// statement per chunk rather than per event is what makes batched
	// appends fast (BenchmarkAppendBatch1000); the full-chunk statement is
	// prepared once per connection.
	args := make([]any, 0, 4*min(len(recs), insertChunk))
	for start := 0; start < len(recs); start += insertChunk {
		chunk := recs[start:min(start+insertChunk, len(recs))]
		buf, envs = buf[:0], append(envs[:0], 0)
		for i := range chunk {
			buf = appendEnvelope(buf, &chunk[i])
			envs = append(envs, len(buf))
		}
		args = args[:0]
		for i, e := range chunk {
			args = append(args, streamID, e.Version, e.ID[:], buf[envs[i]:envs[i+1]:envs[i+1]])
		}
		n, id, err := c.exec(insertStatement(len(chunk)), args...)
		if err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("sqlite: append events %d to %d to %q: %w", start, start+len(chunk)-1, stream, err)
		}
		if n != int64(len(chunk)) {
			return eventstore.AppendResult{}, fmt.Errorf("%w: among events %d to %d of the append to %q", eventstore.ErrDuplicateEvent, start, start+len(chunk)-1, stream)
		}
		last = id
	}
	tip := recs[len(recs)-1]
	if _, _, err := c.exec(`UPDATE streams SET version = ?, hash = ? WHERE id = ?`, tip.Version, tip.Hash, streamID); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("sqlite: advance %q: %w", stream, err)
	}
	return eventstore.AppendResult{Version: tip.Version, Position: pos(last)}, nil
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
func retried(c conn, stream string, streamID int64, events []eventstore.EventData) (eventstore.AppendResult, bool, error) {
	var (
		otherStream int64
		first       uint64
	)
	found, err := queryRow(c, `SELECT stream_id, version FROM events WHERE id = ?`, []any{events[0].ID[:]}, func(r row) {
		otherStream, first = r.int64(0), uint64(r.int64(1))
	})
	if err != nil {
		return eventstore.AppendResult{}, false, fmt.Errorf("sqlite: look up event %s: %w", events[0].ID, err)
	}
	if !found {
		return eventstore.AppendResult{}, false, nil
	}
	if otherStream != streamID {
		return eventstore.AppendResult{}, false, fmt.Errorf("%w: event %s is stored in another stream than %q", eventstore.ErrDuplicateEvent, events[0].ID, stream)
	}
	var (
		i    int
		last int64
	)
	err = c.query(`SELECT id, position FROM events WHERE stream_id = ? AND version >= ? ORDER BY version LIMIT ?`, []any{streamID, first, len(events)}, func(r row) error {
		if i < len(events) && uuid.UUID(r.blob(0, nil)) == events[i].ID {
			last = r.int64(1)
			i++
		} else {
			i = len(events) + 1 // a mismatch: no retry
		}
		return nil
	})
	if err != nil {
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

// readEvents runs a query of selectEvents on c, then names the events'
// streams through the cache (on the same connection, after the rows are
// done). Blobs are copied into a shared arena rather than one allocation
// each, and strings that repeat across a page (types, actors, correlation
// ids) are shared rather than allocated per event.
func (s *Store) readEvents(c conn, query string, args []any, limit int) ([]eventstore.RecordedEvent, error) {
	out := make([]eventstore.RecordedEvent, 0, min(limit, maxPage))
	ids := make([]int64, 0, cap(out))
	var (
		a    arena
		strs interner
	)
	err := c.query(query, args, func(r row) error {
		position := r.int64(0)
		out = append(out, eventstore.RecordedEvent{Version: uint64(r.int64(2)), Position: pos(position)})
		if err := decodeEnvelope(r.blob(3, &a), &out[len(out)-1], &strs); err != nil {
			return fmt.Errorf("sqlite: event at position %d: %w", position, err)
		}
		ids = append(ids, r.int64(1))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: read events: %w", err)
	}
	lastID, lastName := int64(-1), ""
	for i, id := range ids {
		if id != lastID {
			name, err := s.streamName(c, id)
			if err != nil {
				return nil, err
			}
			lastID, lastName = id, name
		}
		out[i].Stream = lastName
	}
	return out, nil
}

// streamName returns the name of stream id, from the cache or through c.
// Stream ids are never reused, so cached names never go stale.
func (s *Store) streamName(c conn, id int64) (string, error) {
	s.namesMu.RLock()
	name, ok := s.names[id]
	s.namesMu.RUnlock()
	if ok {
		return name, nil
	}
	found, err := queryRow(c, `SELECT name FROM streams WHERE id = ?`, []any{id}, func(r row) { name = r.text(0) })
	if err == nil && !found {
		err = errors.New("no such stream")
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: name of stream %d: %w", id, err)
	}
	s.namesMu.Lock()
	s.names[id] = name
	s.namesMu.Unlock()
	return name, nil
}

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	if limit <= 0 {
		return nil, s.read(ctx, func(conn) error { return nil })
	}
	limit = min(limit, maxPage)
	var out []eventstore.RecordedEvent
	err := s.read(ctx, func(c conn) (err error) {
		out, err = s.readEvents(c, selectEvents+`WHERE stream_id = (SELECT id FROM streams WHERE name = ?) AND version >= ? ORDER BY version LIMIT ?`,
			[]any{stream, max(from, 1), limit}, limit)
		return err
	})
	if err != nil && !errors.Is(err, eventstore.ErrClosed) {
		return nil, fmt.Errorf("sqlite: read stream %q: %w", stream, err)
	}
	return out, err
}

// ReadAll implements eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	if limit <= 0 {
		return nil, s.read(ctx, func(conn) error { return nil })
	}
	limit = min(limit, maxPage)
	var out []eventstore.RecordedEvent
	err := s.read(ctx, func(c conn) (err error) {
		out, err = s.readEvents(c, selectEvents+`WHERE position > ? ORDER BY position LIMIT ?`, []any{after.Commit, limit}, limit)
		return err
	})
	if err != nil && !errors.Is(err, eventstore.ErrClosed) {
		return nil, fmt.Errorf("sqlite: read log after %v: %w", after, err)
	}
	return out, err
}

// Head returns the position of the last event in the log (Start when empty).
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	var p int64
	err := s.read(ctx, func(c conn) error {
		_, err := queryRow(c, `SELECT coalesce(max(position), 0) FROM events`, nil, func(r row) { p = r.int64(0) })
		return err
	})
	if err != nil {
		return eventstore.Start, fmt.Errorf("sqlite: read head: %w", err)
	}
	return pos(p), nil
}

// LoadCheckpoint returns the position consumer last saved (Start if none).
func (s *Store) LoadCheckpoint(ctx context.Context, consumer string) (eventstore.Position, error) {
	var p int64
	err := s.read(ctx, func(c conn) error {
		_, err := queryRow(c, `SELECT position FROM checkpoints WHERE consumer = ?`, []any{consumer}, func(r row) { p = r.int64(0) })
		return err
	})
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
	err := s.write(ctx, func(c conn) error {
		_, _, err := c.exec(`INSERT INTO checkpoints (consumer, position) VALUES (?, ?)
		ON CONFLICT (consumer) DO UPDATE SET position = excluded.position`, consumer, p.Commit)
		return err
	})
	if err != nil && !errors.Is(err, eventstore.ErrClosed) {
		return fmt.Errorf("sqlite: save checkpoint of %q: %w", consumer, err)
	}
	return err
}

var _ eventstore.Ledger = (*Store)(nil)

// Record implements eventstore.Ledger: the streams table (each stream's
// version and last hash, as every append leaves them), the log's last
// position and the furthest consumer checkpoint, read in one transaction.
// Positions are SQLite row ids without AUTOINCREMENT: an append takes the
// next one, and nothing ever deletes an event, so the log is numbered
// 1, 2, 3, … without gaps.
func (s *Store) Record(ctx context.Context) (eventstore.Record, error) {
	rec := eventstore.Record{Heads: map[string]eventstore.Head{}}
	err := s.read(ctx, func(c conn) error {
		if _, _, err := c.exec("BEGIN"); err != nil {
			return err
		}
		err := c.query(`SELECT name, version, hash FROM streams`, nil, func(r row) error {
			rec.Heads[r.text(0)] = eventstore.Head{Version: uint64(r.int64(1)), Hash: r.blob(2, nil)}
			return nil
		})
		if err == nil {
			_, err = queryRow(c, `SELECT coalesce(max(position), 0) FROM events`, nil, func(r row) { rec.Head = pos(r.int64(0)) })
		}
		if err == nil {
			_, err = queryRow(c, `SELECT coalesce(max(position), 0) FROM checkpoints`, nil, func(r row) { rec.Consumed = pos(r.int64(0)) })
		}
		c.bind(context.Background())
		if _, _, cerr := c.exec("COMMIT"); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return err
	})
	if err != nil {
		return eventstore.Record{}, fmt.Errorf("sqlite: read the store's record of its streams: %w", err)
	}
	return rec, nil
}
