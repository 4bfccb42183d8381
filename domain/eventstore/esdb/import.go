package esdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/concord-planning/concord/domain/eventstore"
)

var _ eventstore.Importer = (*Store)(nil)

// errOtherEvents is wrapped (with the stream's *eventstore.ConflictError)
// when a stream holds other events at the versions an import brings.
var errOtherEvents = errors.New("other events at those versions")

// Import implements eventstore.Importer. The events are appended at exactly
// their recorded versions (the expected revision is that of the event
// before the first, or no stream), keep their IDs, and keep their recorded times in their user
// metadata under "recordedAt", which reads prefer over the server's created
// date. The recorded hashes are checked against the chain recomputed from
// the stream's last stored hash before anything is written.
func (s *Store) Import(ctx context.Context, stream string, events []eventstore.RecordedEvent) (eventstore.AppendResult, error) {
	_, expected, err := eventstore.ValidateImport(stream, events)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	tail, err := s.readRaw(ctx, stream, esdb.Backwards, esdb.End{}, 1)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("esdb: import to %q: read its last event: %w", stream, err)
	}
	current, prev := tip(tail)
	last := events[len(events)-1].Version
	conflict := &eventstore.ConflictError{Stream: stream, Expected: eventstore.Exact(expected), Actual: current}
	switch {
	case current == expected:
	case current >= last:
		res, err := s.imported(ctx, stream, expected, events)
		if err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("%w: %w", conflict, err)
		}
		return res, nil
	default:
		return eventstore.AppendResult{}, conflict
	}
	if err := eventstore.CheckImport(prev, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.write(ctx, stream, eventstore.Exact(expected), expected, events)
}

// imported returns the result of an earlier import of events when stream
// holds them, with the same IDs and hashes, right after version after;
// otherwise an error saying what differs.
func (s *Store) imported(ctx context.Context, stream string, after uint64, events []eventstore.RecordedEvent) (eventstore.AppendResult, error) {
	raw, err := s.readRaw(ctx, stream, esdb.Forwards, esdb.Revision(after), uint64(len(events)))
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("esdb: import to %q: read events after version %d: %w", stream, after, err)
	}
	if len(raw) != len(events) {
		return eventstore.AppendResult{}, fmt.Errorf("%w: %d of %d versions found", errOtherEvents, len(raw), len(events))
	}
	for i, r := range raw {
		stored, err := decode(r)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		if stored.Version != events[i].Version || stored.ID != events[i].ID || !bytes.Equal(stored.Hash, events[i].Hash) {
			return eventstore.AppendResult{}, fmt.Errorf("%w: version %d holds event %s", errOtherEvents, stored.Version, stored.ID)
		}
	}
	end := raw[len(raw)-1].Position
	return eventstore.AppendResult{Version: events[len(events)-1].Version, Position: eventstore.Position{Commit: end.Commit, Prepare: end.Prepare}}, nil
}
