package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/concord-planning/concord/domain/eventstore"
)

var _ eventstore.Importer = (*Store)(nil)

// Import implements eventstore.Importer: it appends events at exactly their
// recorded versions, with their IDs and recorded times (the store's Clock is
// not read), after checking that their recorded hashes chain onto the
// stream's last hash. See eventstore.Importer for the contract.
func (s *Store) Import(ctx context.Context, stream string, events []eventstore.RecordedEvent) (eventstore.AppendResult, error) {
	data, expected, err := eventstore.ValidateImport(stream, events)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	res, wrote, err := s.importEvents(ctx, stream, expected, data, events)
	if err == nil && wrote {
		s.notify()
	}
	return res, err
}

func (s *Store) importEvents(ctx context.Context, stream string, expected uint64, data []eventstore.EventData, events []eventstore.RecordedEvent) (res eventstore.AppendResult, wrote bool, err error) {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return res, false, fmt.Errorf("sqlite: begin import to %q: %w", stream, err)
	}
	defer func() {
		if err != nil || !wrote {
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
		return res, false, fmt.Errorf("sqlite: read tip of %q: %w", stream, err)
	}
	last := events[len(events)-1].Version
	conflict := &eventstore.ConflictError{Stream: stream, Expected: eventstore.Exact(expected), Actual: version}
	switch {
	case version == expected:
	case version >= last:
		res, err := s.imported(ctx, tx, streamID, events)
		if err != nil {
			return res, false, fmt.Errorf("%w: %w", conflict, err)
		}
		return res, false, nil
	default:
		return res, false, conflict
	}
	if err := eventstore.CheckImport(prev, events); err != nil {
		return res, false, err
	}
	if streamID == 0 {
		r, err := tx.ExecContext(ctx, `INSERT INTO streams (name, version, hash) VALUES (?, 0, x'')`, stream)
		if err != nil {
			return res, false, fmt.Errorf("sqlite: create stream %q: %w", stream, err)
		}
		if streamID, err = r.LastInsertId(); err != nil {
			return res, false, fmt.Errorf("sqlite: create stream %q: %w", stream, err)
		}
	}
	res, err = s.insert(ctx, tx, stream, streamID, version, prev, data, func(i int) int64 { return events[i].RecordedAt.UnixNano() })
	if err != nil {
		return res, false, err
	}
	if err := tx.Commit(); err != nil {
		return res, false, fmt.Errorf("sqlite: commit import to %q: %w", stream, err)
	}
	return res, true, nil
}

// errOtherEvents is wrapped (with the stream's *eventstore.ConflictError)
// when a stream holds other events at the versions an import brings.
var errOtherEvents = errors.New("other events at those versions")

// imported returns the result of an earlier import of events when the
// stream (row streamID) holds them, with the same IDs and hashes, at their
// versions; otherwise an error saying what differs.
func (s *Store) imported(ctx context.Context, tx *sql.Tx, streamID int64, events []eventstore.RecordedEvent) (eventstore.AppendResult, error) {
	first, last := events[0].Version, events[len(events)-1].Version
	rows, err := tx.QueryContext(ctx, `SELECT position, version, envelope FROM events WHERE stream_id = ? AND version BETWEEN ? AND ? ORDER BY version`, streamID, first, last)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("sqlite: compare imported events: %w", err)
	}
	defer rows.Close()
	var (
		i        int
		position int64
	)
	for ; rows.Next(); i++ {
		var (
			stored eventstore.RecordedEvent
			env    []byte
		)
		if err := rows.Scan(&position, &stored.Version, &env); err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("sqlite: compare imported events: %w", err)
		}
		if err := decodeEnvelope(env, &stored, nil); err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("sqlite: event at position %d: %w", position, err)
		}
		if i >= len(events) || stored.Version != events[i].Version || stored.ID != events[i].ID || !bytes.Equal(stored.Hash, events[i].Hash) {
			return eventstore.AppendResult{}, fmt.Errorf("%w: version %d holds event %s", errOtherEvents, stored.Version, stored.ID)
		}
	}
	if err := rows.Err(); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("sqlite: compare imported events: %w", err)
	}
	if i != len(events) {
		return eventstore.AppendResult{}, fmt.Errorf("%w: %d of %d versions found", errOtherEvents, i, len(events))
	}
	return eventstore.AppendResult{Version: last, Position: pos(position)}, nil
}
