package esdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/concord-planning/concord/domain/eventstore"
)

// eventMeta is the user metadata of every event the adapter writes.
type eventMeta struct {
	Actor         string `json:"actor,omitempty"`
	CorrelationID string `json:"$correlationId,omitempty"`
	CausationID   string `json:"$causationId,omitempty"`
	SchemaVersion int    `json:"schemaVersion"`
	Hash          []byte `json:"hash"`
	// RecordedAt is the time the event was recorded: by this adapter's
	// clock when it appended the event, or in the store it was imported
	// from (eventstore.Importer). Absent only in events written before
	// hashes covered it, whose recorded time is the server's created date.
	RecordedAt *time.Time `json:"recordedAt,omitempty"`
	// Rule is the hash rule; absent means eventstore.ChainV1.
	Rule eventstore.ChainRule `json:"chainRule,omitempty"`
}

func encodeMeta(e eventstore.RecordedEvent) ([]byte, error) {
	t := e.RecordedAt.UTC()
	return json.Marshal(eventMeta{
		Actor: e.Metadata.Actor, CorrelationID: e.Metadata.CorrelationID, CausationID: e.Metadata.CausationID,
		SchemaVersion: e.SchemaVersion, Hash: e.Hash, RecordedAt: &t, Rule: e.Rule,
	})
}

// decode turns a stored event into the port's form. It returns an error
// matching ErrForeignEvent for an event without the adapter's metadata.
func decode(r *esdb.RecordedEvent) (eventstore.RecordedEvent, error) {
	var m eventMeta
	if err := json.Unmarshal(r.UserMetadata, &m); err != nil || m.SchemaVersion < 1 || len(m.Hash) != eventstore.HashSize {
		reason := "no schema version or hash"
		if err != nil {
			reason = err.Error()
		}
		return eventstore.RecordedEvent{}, fmt.Errorf("%w: %s event %s in stream %q at revision %d: metadata: %s",
			ErrForeignEvent, r.EventType, r.EventID, r.StreamID, r.EventNumber, reason)
	}
	recorded := r.CreatedDate.UTC()
	if m.RecordedAt != nil {
		recorded = m.RecordedAt.UTC()
	}
	if m.Rule == 0 {
		m.Rule = eventstore.ChainV1
	}
	return eventstore.RecordedEvent{
		ID:            r.EventID,
		Type:          r.EventType,
		SchemaVersion: m.SchemaVersion,
		Stream:        r.StreamID,
		Version:       r.EventNumber + 1,
		Position:      eventstore.Position{Commit: r.Position.Commit, Prepare: r.Position.Prepare},
		RecordedAt:    recorded,
		Metadata:      eventstore.Metadata{Actor: m.Actor, CorrelationID: m.CorrelationID, CausationID: m.CausationID},
		Data:          r.Data,
		Hash:          m.Hash,
		Rule:          m.Rule,
	}, nil
}

// system reports whether r is a system event: its stream or type starts
// with '$'.
func system(r *esdb.RecordedEvent) bool {
	return strings.HasPrefix(r.StreamID, "$") || strings.HasPrefix(r.EventType, "$")
}

// readRaw reads up to count events of stream from revision from in direction
// dir. A stream that does not exist reads as empty.
func (s *Store) readRaw(ctx context.Context, stream string, dir esdb.Direction, from esdb.StreamPosition, count uint64) ([]*esdb.RecordedEvent, error) {
	return call(ctx, s, func(ctx context.Context, c *esdb.Client) ([]*esdb.RecordedEvent, error) {
		rs, err := c.ReadStream(ctx, stream, esdb.ReadStreamOptions{Direction: dir, From: from}, count)
		if err != nil {
			return nil, err
		}
		defer rs.Close()
		return drain(rs)
	})
}

func drain(rs *esdb.ReadStream) ([]*esdb.RecordedEvent, error) {
	var out []*esdb.RecordedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if errorCode(err) == esdb.ErrorCodeResourceNotFound {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, ev.OriginalEvent())
	}
}

// ReadStream implements eventstore.Store. A from of 0 reads from the start;
// a limit below 1 reads nothing.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	if limit < 1 {
		return nil, nil
	}
	if from == 0 {
		from = 1
	}
	raw, err := s.readRaw(ctx, stream, esdb.Forwards, esdb.Revision(from-1), uint64(limit))
	if err != nil {
		return nil, fmt.Errorf("esdb: read stream %q from version %d: %w", stream, from, err)
	}
	out := make([]eventstore.RecordedEvent, 0, len(raw))
	for _, r := range raw {
		e, err := decode(r)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// readAllPage bounds the events one $all read asks for.
const readAllPage = 4096

// ReadAll implements eventstore.Store. It skips system events, reading on
// until it has limit events or reaches the end of the log; a limit below 1
// reads nothing.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	if limit < 1 {
		return nil, nil
	}
	var out []eventstore.RecordedEvent
	// cursor is the position of the last event seen; moved is false only
	// while reading from the start of the log.
	cursor, moved := after, after != eventstore.Start
	for len(out) < limit {
		// The server reads $all from a position inclusively: ask for one
		// more, and drop the event at the position itself.
		page := uint64(min(limit-len(out)+1, readAllPage))
		var from esdb.AllPosition = esdb.Start{}
		if moved {
			from = esdb.Position{Commit: cursor.Commit, Prepare: cursor.Prepare}
		}
		raw, err := call(ctx, s, func(ctx context.Context, c *esdb.Client) ([]*esdb.RecordedEvent, error) {
			rs, err := c.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Forwards, From: from}, page)
			if err != nil {
				return nil, err
			}
			defer rs.Close()
			return drain(rs)
		})
		if err != nil {
			return nil, fmt.Errorf("esdb: read $all after %v: %w", cursor, err)
		}
		for _, r := range raw {
			pos := eventstore.Position{Commit: r.Position.Commit, Prepare: r.Position.Prepare}
			if moved && !cursor.Before(pos) {
				continue // the event at the cursor itself (or, defensively, before it)
			}
			cursor, moved = pos, true
			if system(r) {
				continue
			}
			e, err := decode(r)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
			if len(out) == limit {
				break
			}
		}
		if uint64(len(raw)) < page {
			break // end of the log
		}
	}
	return out, nil
}
