package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"

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

// Cloner is what Repository needs of an aggregate to cache it: Clone
// returns a deep copy, equal to the aggregate replayed from the same events,
// that applying events to or running commands on changes independently of
// the original. An aggregate without it is replayed on every load.
type Cloner[A any] interface {
	Clone() A
}

// Repository loads aggregates of type A by replaying their stream, and saves
// the events their commands record at the version they were loaded at. It
// is safe for concurrent use.
//
// For aggregates that are Cloners it keeps the latest state it read or
// wrote of the streams used most recently (CacheSize), and a load copies
// that state and replays only the events recorded after it: a stream of a
// million events is read once, not on every command. The store is read
// on every load all the same, from the cached version on, so a load sees
// every event appended before it, by this process or another.
type Repository[A Aggregate[E], E any] struct {
	store    Store
	registry *Registry
	newA     func() A
	retries  int
	cache    *lru[A] // nil when A is not a Cloner or the cache is off
	past     *lru[A] // past states LoadVersion made, by stream@version
	// states, when set (StatesFrom), offers states built elsewhere.
	states func(ctx context.Context, stream string, version uint64) (A, uint64, bool)
}

// StatesFrom has the repository take a stream's state from src where it
// holds none, rather than replay the stream from its start: a read side
// that folded the same events with the aggregate's own Apply holds them,
// and gives one far sooner than a replay of a long stream. src(ctx,
// stream, version) returns the state of stream at version — at the latest
// version it holds for version 0 — with that version, or false; the
// state must be exactly what a replay to that version gives, and nobody
// may change it afterwards (the repository shares it as it shares its
// own). A load from it still reads the events after it from the store. A
// repository that caches nothing ignores it. Not safe to call once the
// repository is in use.
func (r *Repository[A, E]) StatesFrom(src func(ctx context.Context, stream string, version uint64) (A, uint64, bool)) {
	r.states = src
}

// pastStates is how many past states (LoadVersion) a Repository keeps
// when it caches: the bases of the scenarios being worked on.
const pastStates = 8

// RepositoryOption configures a Repository.
type RepositoryOption func(*repositoryConfig)

type repositoryConfig struct{ cacheSize int }

// DefaultCacheSize is how many streams' latest states a Repository keeps
// unless told otherwise.
const DefaultCacheSize = 64

// CacheSize sets how many streams' latest states a Repository keeps, the
// least recently used dropped first; 0 or less keeps none.
func CacheSize(n int) RepositoryOption { return func(c *repositoryConfig) { c.cacheSize = n } }

// NewRepository returns a repository over store, decoding with registry;
// newA returns an empty aggregate to replay into.
func NewRepository[A Aggregate[E], E any](store Store, registry *Registry, newA func() A, opts ...RepositoryOption) *Repository[A, E] {
	cfg := repositoryConfig{cacheSize: DefaultCacheSize}
	for _, o := range opts {
		o(&cfg)
	}
	r := &Repository[A, E]{store: store, registry: registry, newA: newA, retries: 3}
	if _, ok := any(newA()).(Cloner[A]); ok && cfg.cacheSize > 0 {
		r.cache, r.past = newLRU[A](cfg.cacheSize), newLRU[A](pastStates)
	}
	return r
}

// readPage is the number of events a load reads at a time.
const readPage = 1024

// Load returns the aggregate of stream as it stands, the caller's own to
// change, with the stream's version (0 for a stream with no events).
func (r *Repository[A, E]) Load(ctx context.Context, stream string) (A, uint64, error) {
	a, version, err := r.Current(ctx, stream)
	if err != nil {
		return a, 0, err
	}
	return r.own(a), version, nil
}

// Current is Load for readers: the aggregate it returns may be the
// repository's cached state, shared with other callers, so it must not be
// changed (no Apply, no command). It costs no copy when the stream has not
// changed since it was last read.
func (r *Repository[A, E]) Current(ctx context.Context, stream string) (A, uint64, error) {
	if r.cache == nil {
		a := r.newA()
		version, err := r.replay(ctx, stream, a, 0, 0, nil)
		return a, version, err
	}
	cached, version, ok := r.cache.get(stream)
	if !ok && r.states != nil {
		if cached, version, ok = r.states(ctx, stream, 0); ok {
			r.cache.put(stream, cached, version)
		}
	}
	batch, err := r.store.ReadStream(ctx, stream, version+1, readPage)
	if err != nil {
		var zero A
		return zero, 0, err
	}
	if ok && len(batch) == 0 {
		return cached, version, nil
	}
	a := r.newA()
	if ok {
		a = r.own(cached)
	}
	if version, err = r.replay(ctx, stream, a, version, 0, batch); err != nil {
		return a, 0, err
	}
	r.cache.put(stream, a, version)
	return a, version, nil
}

// LoadVersion returns the aggregate of stream as it was at version upTo,
// the caller's own to change: a copy of the cached latest state when it
// is at upTo, or of one of the last few past states asked for (streams
// never change below their end, so these are never stale); else replayed
// from the cached latest state when it is before upTo, else taken from the
// StatesFrom source when it has it, from the start otherwise. It fails
// when the stream ends before upTo.
func (r *Repository[A, E]) LoadVersion(ctx context.Context, stream string, upTo uint64) (A, error) {
	if r.cache == nil {
		a := r.newA()
		return a, r.replayTo(ctx, stream, a, 0, upTo)
	}
	latest, version, ok := r.cache.get(stream)
	if ok && version == upTo {
		return r.own(latest), nil
	}
	key := stream + "@" + strconv.FormatUint(upTo, 10)
	if past, _, ok := r.past.get(key); ok {
		return r.own(past), nil
	}
	a := r.newA()
	if ok && version < upTo {
		a = r.own(latest)
	} else {
		version = 0
		if r.states != nil {
			if built, v, found := r.states(ctx, stream, upTo); found && v == upTo {
				r.past.put(key, built, upTo)
				return r.own(built), nil
			}
		}
	}
	if err := r.replayTo(ctx, stream, a, version, upTo); err != nil {
		return a, err
	}
	r.past.put(key, a, upTo)
	return r.own(a), nil
}

// replayTo applies to a the events of stream after version up to version
// upTo, and fails when the stream ends before upTo.
func (r *Repository[A, E]) replayTo(ctx context.Context, stream string, a A, version, upTo uint64) error {
	if version == upTo {
		return nil
	}
	reached, err := r.replay(ctx, stream, a, version, upTo, nil)
	if err != nil {
		return err
	}
	if reached < upTo {
		return fmt.Errorf("eventstore: stream %q ends at version %d, before version %d", stream, reached, upTo)
	}
	return nil
}

// own returns a copy of a the caller may change, when the repository
// caches (and so may share) aggregates; a itself otherwise.
func (r *Repository[A, E]) own(a A) A {
	if r.cache == nil {
		return a
	}
	return any(a).(Cloner[A]).Clone()
}

// replay applies to a the events of stream after version, up to version
// upTo (0: to the end), beginning with batch when it is not nil (the
// events after version, read already), and returns the version reached.
func (r *Repository[A, E]) replay(ctx context.Context, stream string, a A, version, upTo uint64, batch []RecordedEvent) (uint64, error) {
	for {
		limit := readPage
		if upTo > 0 {
			limit = int(min(upTo-version, readPage))
		}
		if batch == nil {
			var err error
			if batch, err = r.store.ReadStream(ctx, stream, version+1, limit); err != nil {
				return 0, err
			}
		}
		for _, rec := range batch {
			if err := r.apply(a, rec); err != nil {
				return 0, err
			}
			version = rec.Version
		}
		if len(batch) < limit || (upTo > 0 && version >= upTo) {
			return version, nil
		}
		batch = nil
	}
}

// apply decodes rec and applies it to a.
func (r *Repository[A, E]) apply(a A, rec RecordedEvent) error {
	v, err := r.registry.Decode(rec)
	if err != nil {
		return err
	}
	e, ok := v.(E)
	if !ok {
		return fmt.Errorf("eventstore: stream %q version %d holds %s, which is not an event of this aggregate", rec.Stream, rec.Version, rec.Type)
	}
	a.Apply(e)
	return nil
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
		base, version, err := r.Current(ctx, stream)
		if err != nil {
			return AppendResult{}, err
		}
		if !Satisfied(expected, version) {
			return AppendResult{}, &ConflictError{Stream: stream, Expected: expected, Actual: version}
		}
		a := r.own(base)
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
		if err == nil {
			r.saved(stream, base, version, events, res)
		}
		return res, err
	}
}

// saved caches the state of stream after events, appended at version to
// base and landing at res: base with the events applied as a load would
// decode them from the store, not the aggregate the command changed,
// whose state and recorded changes are the command's business. An
// idempotent retry that stored nothing lands where the first append did,
// not at version+len(events), and is not cached.
func (r *Repository[A, E]) saved(stream string, base A, version uint64, events []EventData, res AppendResult) {
	if r.cache == nil || res.Version != version+uint64(len(events)) {
		return
	}
	next := r.own(base)
	for i, ev := range events {
		rec := RecordedEvent{ID: ev.ID, Type: ev.Type, SchemaVersion: ev.SchemaVersion, Stream: stream, Version: version + uint64(i) + 1,
			Metadata: ev.Metadata, Data: ev.Data}
		if err := r.apply(next, rec); err != nil {
			return // a load will replay it from the store, and say what is wrong
		}
	}
	r.cache.put(stream, next, res.Version)
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
