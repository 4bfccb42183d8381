package eventstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// Aggregate is what Repository needs of an event-sourced aggregate whose
// events implement E.
type Aggregate[E any] interface {
	// Apply changes state by one event; it never fails and never validates.
	Apply(event E)
	// Changes returns the events recorded by commands since loading.
	Changes() []E
}

// Repository loads aggregates of type A by replaying their stream, and saves
// the events their commands record at the version they were loaded at. It
// is safe for concurrent use.
type Repository[A Aggregate[E], E any] struct {
	store    Store
	registry *Registry
	newA     func() A
	retries  int
}

// NewRepository returns a repository over store, decoding with registry;
// newA returns an empty aggregate to replay into.
func NewRepository[A Aggregate[E], E any](store Store, registry *Registry, newA func() A) *Repository[A, E] {
	return &Repository[A, E]{store: store, registry: registry, newA: newA, retries: 3}
}

// readPage is the number of events a load reads at a time.
const readPage = 1024

// Load replays stream into a new aggregate and returns it with the stream's
// version (0 for a stream with no events).
func (r *Repository[A, E]) Load(ctx context.Context, stream string) (A, uint64, error) {
	a := r.newA()
	var version uint64
	for {
		batch, err := r.store.ReadStream(ctx, stream, version+1, readPage)
		if err != nil {
			return a, 0, err
		}
		for _, rec := range batch {
			v, err := r.registry.Decode(rec)
			if err != nil {
				return a, 0, err
			}
			e, ok := v.(E)
			if !ok {
				return a, 0, fmt.Errorf("eventstore: stream %q version %d holds %s, which is not an event of this aggregate", stream, rec.Version, rec.Type)
			}
			a.Apply(e)
			version = rec.Version
		}
		if len(batch) < readPage {
			return a, version, nil
		}
	}
}

// Command carries what Update records alongside the events.
type Command struct {
	Metadata Metadata
	// IdempotencyKey, when set, derives the event IDs from the stream, the
	// key and each event's index, so that a retried command produces the
	// same IDs and the store's idempotent append stores it once.
	IdempotencyKey string
	// MaxAppendBytes, when positive, has Update append the recorded events
	// in consecutive appends of at most this many bytes of event data each
	// (at least one event), each at the version the previous one left. The
	// events are then atomic per append only: for aggregates whose partial
	// records change nothing until a last event completes them (a forecast
	// run is published by its seal).
	MaxAppendBytes int
}

// Update loads the aggregate of stream, checks expected against the version
// loaded (a *ConflictError if it is not met), runs decide, and appends the
// events it recorded at exactly the loaded version. A decide that records
// nothing appends nothing. With expected Any, a conflict with a concurrent
// writer reloads and decides again, a few times, before giving up; with
// any other expectation the conflict is returned to the caller, whose
// decision was made on what it saw.
func (r *Repository[A, E]) Update(ctx context.Context, stream string, expected ExpectedVersion, cmd Command, decide func(A) error) (AppendResult, error) {
	for attempt := 0; ; attempt++ {
		a, version, err := r.Load(ctx, stream)
		if err != nil {
			return AppendResult{}, err
		}
		if !Satisfied(expected, version) {
			return AppendResult{}, &ConflictError{Stream: stream, Expected: expected, Actual: version}
		}
		if err := decide(a); err != nil {
			return AppendResult{}, err
		}
		changes := a.Changes()
		if len(changes) == 0 {
			return AppendResult{Version: version}, nil
		}
		events := make([]EventData, len(changes))
		for i, c := range changes {
			id, err := eventID(stream, cmd.IdempotencyKey, i)
			if err != nil {
				return AppendResult{}, err
			}
			if events[i], err = r.registry.Encode(id, c, cmd.Metadata); err != nil {
				return AppendResult{}, err
			}
		}
		res, err := r.append(ctx, stream, version, cmd.MaxAppendBytes, events)
		if errors.Is(err, ErrConflict) && expected == Any && attempt < r.retries {
			continue
		}
		return res, err
	}
}

// append appends events to stream at version, in one append, or in
// consecutive appends of at most maxBytes of event data when maxBytes > 0.
func (r *Repository[A, E]) append(ctx context.Context, stream string, version uint64, maxBytes int, events []EventData) (AppendResult, error) {
	if maxBytes <= 0 {
		return r.store.Append(ctx, stream, Exact(version), events...)
	}
	var res AppendResult
	for len(events) > 0 {
		n, size := 1, len(events[0].Data)
		for n < len(events) && n < MaxBatch && size+len(events[n].Data) <= maxBytes {
			size += len(events[n].Data)
			n++
		}
		var err error
		if res, err = r.store.Append(ctx, stream, Exact(version), events[:n]...); err != nil {
			return res, err
		}
		version, events = res.Version, events[n:]
	}
	return res, nil
}

// eventID returns the ID of the i-th event of a command. Without an
// idempotency key it is a UUIDv7, time-ordered, so the store's ID index
// grows at its end. With a key it is derived from the stream and the key:
// a UUIDv8 whose first 80 bits hash them and whose last 48 bits count the
// events, so a retried command produces the same IDs and the events of one
// command sit next to each other in the index.
func eventID(stream, key string, i int) (uuid.UUID, error) {
	if key == "" {
		return uuid.NewV7()
	}
	h := uuid.NewSHA1(idempotencyNamespace, []byte(stream+"\x00"+key))
	var id uuid.UUID
	copy(id[:10], h[:10])
	id[10], id[11], id[12], id[13], id[14], id[15] = byte(i>>40), byte(i>>32), byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
	id[6] = id[6]&0x0f | 0x80 // version 8
	id[8] = id[8]&0x3f | 0x80 // RFC 9562 variant
	return id, nil
}

// idempotencyNamespace seeds the name-based UUIDs of idempotent commands.
var idempotencyNamespace = uuid.MustParse("5f0c3c1e-6f3e-4b47-9d0e-6a1d2f8c7b10")
