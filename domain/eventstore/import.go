package eventstore

import (
	"context"
	"fmt"
)

// Importer is implemented by stores that can take in events recorded by
// another store as they were recorded, for copying a log from one store to
// another (concord migrate). It is optional: a Store that is no Importer
// cannot be the target of a migration.
type Importer interface {
	// Import appends events to stream at exactly their recorded versions:
	// the stream must be at version events[0].Version−1, the events' versions
	// must follow one another, and every event's Stream must be stream. The
	// stored events keep their IDs, recorded times (RecordedAt) and hash
	// rules (Rule), not the
	// store's clock; global positions are the target's own.
	//
	// Before writing, Import recomputes the hash chain from the stream's
	// last stored hash and refuses the whole batch with a *ChainError
	// (matching ErrChainBroken) naming the first event whose recomputed
	// hash differs from its recorded Hash: a copy verifies the chain as it
	// goes, and never stores an event whose hash it would not reproduce.
	//
	// Importing again events stored by an earlier Import, with the same IDs
	// and hashes at the same versions, writes nothing and returns the stored
	// result, so an interrupted copy can be repeated. Any other state of the
	// stream is a *ConflictError (the stream not at the expected version, or
	// other events at those versions). Invalid batches (see ValidateImport)
	// return an error matching ErrInvalidEvent. The events are durable when
	// Import returns.
	Import(ctx context.Context, stream string, events []RecordedEvent) (AppendResult, error)
}

// ValidateImport checks an import's arguments against the port's rules:
// those of Validate, plus that every event belongs to stream, the versions
// follow one another from at least 1, and every event has a recorded time
// and a hash of HashSize bytes computed by a known rule. It returns the events as EventData (for
// Chain) and the version the stream must be at. Adapters call it first.
func ValidateImport(stream string, events []RecordedEvent) ([]EventData, uint64, error) {
	data := make([]EventData, len(events))
	for i, e := range events {
		data[i] = e.EventData()
	}
	if err := Validate(stream, data); err != nil {
		return nil, 0, err
	}
	if events[0].Version < 1 {
		return nil, 0, fmt.Errorf("%w: import to stream %q starts at version 0, want 1 or more", ErrInvalidEvent, stream)
	}
	for i, e := range events {
		switch {
		case e.Stream != stream:
			return nil, 0, fmt.Errorf("%w: event %d (%s) of an import to stream %q belongs to stream %q", ErrInvalidEvent, i, e.ID, stream, e.Stream)
		case e.Version != events[0].Version+uint64(i):
			return nil, 0, fmt.Errorf("%w: event %d (%s) of an import to stream %q has version %d, want %d (versions must follow one another)",
				ErrInvalidEvent, i, e.ID, stream, e.Version, events[0].Version+uint64(i))
		case e.RecordedAt.IsZero():
			return nil, 0, fmt.Errorf("%w: event %d (%s) of stream %q version %d has no recorded time", ErrInvalidEvent, i, e.ID, stream, e.Version)
		case e.Rule != ChainV1 && e.Rule != ChainV2:
			return nil, 0, fmt.Errorf("%w: event %d (%s) of stream %q version %d has hash rule %d, want %d or %d", ErrInvalidEvent, i, e.ID, stream, e.Version, e.Rule, ChainV1, ChainV2)
		case len(e.Hash) != HashSize:
			return nil, 0, fmt.Errorf("%w: event %d (%s) of stream %q version %d has a %d-byte hash, want %d", ErrInvalidEvent, i, e.ID, stream, e.Version, len(e.Hash), HashSize)
		}
	}
	return data, events[0].Version - 1, nil
}

// EventData returns what the writer of r chose: the part of r that Chain
// covers, without where and when the store put it.
func (r RecordedEvent) EventData() EventData {
	return EventData{ID: r.ID, Type: r.Type, SchemaVersion: r.SchemaVersion, Data: r.Data, Metadata: r.Metadata}
}

// CheckImport recomputes the hash chain of events (validated by
// ValidateImport) from prev, the hash of the stream's last stored event (nil
// for an empty stream), and returns a *ChainError for the first event whose
// recorded hash differs. Position in the error is the event's position in
// the store it was read from.
func CheckImport(prev []byte, events []RecordedEvent) error {
	for _, e := range events {
		h := Chain(prev, e)
		if string(h) != string(e.Hash) {
			return &ChainError{Stream: e.Stream, Version: e.Version, Position: e.Position,
				Reason: "recorded hash does not match the event's content and its predecessor; import refused"}
		}
		prev = h
	}
	return nil
}
