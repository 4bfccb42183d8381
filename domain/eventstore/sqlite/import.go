package sqlite

import (
	"bytes"
	"context"
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
	_, expected, err := eventstore.ValidateImport(stream, events)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var (
		res   eventstore.AppendResult
		wrote bool
	)
	err = s.write(ctx, func(c conn) error {
		var err error
		res, wrote, err = importEvents(c, stream, expected, events)
		return err
	})
	if err == nil && wrote {
		s.notify()
	}
	return res, err
}

func importEvents(c conn, stream string, expected uint64, events []eventstore.RecordedEvent) (res eventstore.AppendResult, wrote bool, err error) {
	err = transact(c, func() (bool, error) {
		streamID, version, prev, err := tip(c, stream)
		if err != nil {
			return false, err
		}
		last := events[len(events)-1].Version
		conflict := &eventstore.ConflictError{Stream: stream, Expected: eventstore.Exact(expected), Actual: version}
		switch {
		case version == expected:
		case version >= last:
			done, err := imported(c, streamID, events)
			if err != nil {
				return false, fmt.Errorf("%w: %w", conflict, err)
			}
			res = done
			return false, nil
		default:
			return false, conflict
		}
		if err := eventstore.CheckImport(prev, events); err != nil {
			return false, err
		}
		if streamID == 0 {
			if streamID, err = createStream(c, stream); err != nil {
				return false, err
			}
		}
		res, err = insert(c, streamID, events)
		wrote = err == nil
		return wrote, err
	})
	if err != nil {
		wrote = false
	}
	return res, wrote, err
}

// errOtherEvents is wrapped (with the stream's *eventstore.ConflictError)
// when a stream holds other events at the versions an import brings.
var errOtherEvents = errors.New("other events at those versions")

// imported returns the result of an earlier import of events when the
// stream (row streamID) holds them, with the same IDs and hashes, at their
// versions; otherwise an error saying what differs.
func imported(c conn, streamID int64, events []eventstore.RecordedEvent) (eventstore.AppendResult, error) {
	first, last := events[0].Version, events[len(events)-1].Version
	var (
		i        int
		position int64
	)
	err := c.query(`SELECT position, version, envelope FROM events WHERE stream_id = ? AND version BETWEEN ? AND ? ORDER BY version`, []any{streamID, first, last}, func(r row) error {
		position = r.int64(0)
		stored := eventstore.RecordedEvent{Version: uint64(r.int64(1))}
		if err := decodeEnvelope(r.blob(2, nil), &stored, nil); err != nil {
			return fmt.Errorf("sqlite: event at position %d: %w", position, err)
		}
		if i >= len(events) || stored.Version != events[i].Version || stored.ID != events[i].ID || !bytes.Equal(stored.Hash, events[i].Hash) {
			return fmt.Errorf("%w: version %d holds event %s", errOtherEvents, stored.Version, stored.ID)
		}
		i++
		return nil
	})
	if err != nil {
		if errors.Is(err, errOtherEvents) {
			return eventstore.AppendResult{}, err
		}
		return eventstore.AppendResult{}, fmt.Errorf("sqlite: compare imported events: %w", err)
	}
	if i != len(events) {
		return eventstore.AppendResult{}, fmt.Errorf("%w: %d of %d versions found", errOtherEvents, i, len(events))
	}
	return eventstore.AppendResult{Version: last, Position: pos(position)}, nil
}
