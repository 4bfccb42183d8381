package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Store is the event store port. Implementations are safe for concurrent use.
type Store interface {
	// Append writes events to stream atomically, all or none, if the stream
	// is at the expected version. It returns a *ConflictError (matching
	// ErrConflict) otherwise. Appending events whose IDs are already stored,
	// as the same run of the same stream, succeeds without writing anything
	// and returns the first append's result: retries are idempotent.
	// The events are durable when Append returns.
	Append(ctx context.Context, stream string, expected ExpectedVersion, events ...EventData) (AppendResult, error)

	// ReadStream returns up to limit events of stream, in version order,
	// starting at version from (1-based, inclusive). A stream with no events
	// reads as empty, not as an error. Limits up to MinPage are honoured
	// exactly; above it an adapter may return a shorter page, so callers
	// that read everything loop until a read returns nothing.
	ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]RecordedEvent, error)

	// ReadAll returns up to limit events of the global log whose position is
	// after the given one, in position order, with the same paging rule as
	// ReadStream.
	ReadAll(ctx context.Context, after Position, limit int) ([]RecordedEvent, error)

	// SubscribeAll delivers, in position order, every event after the given
	// position: first those already stored (catch-up), then each new one as
	// it is appended (live). It ends when ctx is done or Close is called.
	SubscribeAll(ctx context.Context, after Position) (Subscription, error)
}

// HeadReader is a Store that tells the position of its log's last event
// (Start when empty) without reading the log: the SQLite store. Readers
// that only need to know whether anything is new ask it first.
type HeadReader interface {
	Head(ctx context.Context) (Position, error)
}

// Subscription is a running subscription to the global log.
type Subscription interface {
	// Events delivers the events in position order. It is closed when the
	// subscription ends; Err then says why.
	Events() <-chan RecordedEvent
	// Err returns the error that ended the subscription, or nil when it was
	// closed or its context ended.
	Err() error
	// Close ends the subscription and waits for its goroutines to stop.
	Close() error
}

// EventData is an event to be appended.
type EventData struct {
	ID            uuid.UUID // unique across the store; the key of idempotent retries
	Type          string    // stable type name, e.g. "plan.TargetSet"
	SchemaVersion int       // version of Data's schema, from 1
	Data          []byte    // the encoded event, JSON
	Metadata      Metadata
}

// Metadata is what every event records about how it came about.
type Metadata struct {
	Actor         string `json:"actor,omitempty"`          // the principal who caused it, from credentials
	CorrelationID string `json:"correlation_id,omitempty"` // the request or process it belongs to
	CausationID   string `json:"causation_id,omitempty"`   // the message or event that caused it
}

// RecordedEvent is an event as stored.
type RecordedEvent struct {
	ID            uuid.UUID
	Type          string
	SchemaVersion int
	Stream        string
	Version       uint64    // 1-based position within the stream
	Position      Position  // position in the global log
	RecordedAt    time.Time // the store's clock at commit, UTC
	Metadata      Metadata
	Data          []byte
	Hash          []byte    // Chain of the previous event's hash and this event
	Rule          ChainRule // the rule Hash was computed by
}

// AppendResult reports where an append landed.
type AppendResult struct {
	Version  uint64   // stream version after the append (of its last event)
	Position Position // global position of the last event appended
}

// Position is a place in the global log. Commit orders positions; Prepare
// breaks ties where the store has two numbers (EventStoreDB). Stores with a
// single sequence set both to it. The zero Position is the start of the log.
type Position struct {
	Commit  uint64 `json:"commit"`
	Prepare uint64 `json:"prepare"`
}

// Start is the position before the first event.
var Start = Position{}

// Compare returns -1, 0 or +1 as p is before, equal to or after q.
func (p Position) Compare(q Position) int {
	switch {
	case p.Commit < q.Commit:
		return -1
	case p.Commit > q.Commit:
		return 1
	case p.Prepare < q.Prepare:
		return -1
	case p.Prepare > q.Prepare:
		return 1
	}
	return 0
}

// Before reports whether p comes before q.
func (p Position) Before(q Position) bool { return p.Compare(q) < 0 }

// String formats p as "commit" when both numbers agree, else "commit/prepare".
func (p Position) String() string {
	if p.Commit == p.Prepare {
		return strconv.FormatUint(p.Commit, 10)
	}
	return strconv.FormatUint(p.Commit, 10) + "/" + strconv.FormatUint(p.Prepare, 10)
}

// ParsePosition reads a position written by String.
func ParsePosition(s string) (Position, error) {
	c, p, two := strings.Cut(s, "/")
	commit, err := strconv.ParseUint(c, 10, 64)
	if err != nil {
		return Position{}, fmt.Errorf("eventstore: position %q: want a number or commit/prepare", s)
	}
	if !two {
		return Position{Commit: commit, Prepare: commit}, nil
	}
	prepare, err := strconv.ParseUint(p, 10, 64)
	if err != nil {
		return Position{}, fmt.Errorf("eventstore: position %q: want a number or commit/prepare", s)
	}
	return Position{Commit: commit, Prepare: prepare}, nil
}

// MarshalText implements encoding.TextMarshaler.
func (p Position) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Position) UnmarshalText(b []byte) error {
	v, err := ParsePosition(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// ExpectedVersion is what an append expects of its stream. It is sealed: use
// Any, NoStream, StreamExists or Exact.
type ExpectedVersion interface {
	expectedVersion()
	String() string
}

type (
	anyVersion   struct{}
	noStream     struct{}
	streamExists struct{}
	exactVersion uint64
)

func (anyVersion) expectedVersion()   {}
func (noStream) expectedVersion()     {}
func (streamExists) expectedVersion() {}
func (exactVersion) expectedVersion() {}

func (anyVersion) String() string     { return "any" }
func (noStream) String() string       { return "no stream" }
func (streamExists) String() string   { return "stream exists" }
func (v exactVersion) String() string { return "version " + strconv.FormatUint(uint64(v), 10) }

// The expected versions.
var (
	Any          ExpectedVersion = anyVersion{}   // whatever the stream holds
	NoStream     ExpectedVersion = noStream{}     // the stream holds no event
	StreamExists ExpectedVersion = streamExists{} // the stream holds at least one event
)

// Exact expects the stream to be at version v (Exact(0) is NoStream).
func Exact(v uint64) ExpectedVersion {
	if v == 0 {
		return NoStream
	}
	return exactVersion(v)
}

// ExactVersion returns v and true when e is Exact(v) (NoStream is Exact(0)).
func ExactVersion(e ExpectedVersion) (uint64, bool) {
	switch v := e.(type) {
	case exactVersion:
		return uint64(v), true
	case noStream:
		return 0, true
	}
	return 0, false
}

// Satisfied reports whether a stream at version current meets e.
func Satisfied(e ExpectedVersion, current uint64) bool {
	switch v := e.(type) {
	case anyVersion:
		return true
	case noStream:
		return current == 0
	case streamExists:
		return current > 0
	case exactVersion:
		return current == uint64(v)
	}
	return false
}

// Errors returned by stores.
var (
	// ErrConflict matches every *ConflictError: the stream was not at the
	// expected version.
	ErrConflict = errors.New("eventstore: wrong expected version")
	// ErrDuplicateEvent is returned when an append reuses an event ID stored
	// elsewhere than as the same run of the same stream.
	ErrDuplicateEvent = errors.New("eventstore: event ID already stored elsewhere")
	// ErrInvalidEvent is returned when an event to append lacks an ID or a
	// type, or its stream name is empty or too long, or a batch is too large.
	ErrInvalidEvent = errors.New("eventstore: invalid event")
	// ErrClosed is returned by a store used after Close.
	ErrClosed = errors.New("eventstore: store closed")
)

// ConflictError reports an append whose expectation the stream did not meet.
type ConflictError struct {
	Stream   string
	Expected ExpectedVersion
	Actual   uint64 // the stream's version when the append was refused
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("eventstore: stream %q expected at %v, is at version %d", e.Stream, e.Expected, e.Actual)
}

// Is makes errors.Is(err, ErrConflict) true for a *ConflictError.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// MinPage is the largest read limit every adapter honours exactly.
const MinPage = 4096

// Limits every adapter enforces on an append.
const (
	MaxStreamName = 255    // bytes in a stream name
	MaxBatch      = 10_000 // events in one append
	MaxEventSize  = 1 << 20
)

// Validate checks an append's arguments against the port's rules; adapters
// call it first, so every adapter rejects the same input the same way.
func Validate(stream string, events []EventData) error {
	if stream == "" || len(stream) > MaxStreamName || strings.HasPrefix(stream, "$") {
		return fmt.Errorf("%w: stream name %q must be 1 to %d bytes and not start with '$'", ErrInvalidEvent, stream, MaxStreamName)
	}
	if len(events) == 0 || len(events) > MaxBatch {
		return fmt.Errorf("%w: an append holds 1 to %d events, got %d", ErrInvalidEvent, MaxBatch, len(events))
	}
	seen := make(map[uuid.UUID]int, len(events))
	for i, e := range events {
		switch {
		case e.ID == uuid.Nil:
			return fmt.Errorf("%w: event %d of stream %q has no ID", ErrInvalidEvent, i, stream)
		case e.Type == "" || len(e.Type) > MaxStreamName:
			return fmt.Errorf("%w: event %d of stream %q has type %q (want 1 to %d bytes)", ErrInvalidEvent, i, stream, e.Type, MaxStreamName)
		case e.SchemaVersion < 1:
			return fmt.Errorf("%w: event %d (%s) has schema version %d, want 1 or more", ErrInvalidEvent, i, e.Type, e.SchemaVersion)
		case len(e.Data) > MaxEventSize:
			return fmt.Errorf("%w: event %d (%s) is %d bytes, at most %d", ErrInvalidEvent, i, e.Type, len(e.Data), MaxEventSize)
		}
		if j, dup := seen[e.ID]; dup {
			return fmt.Errorf("%w: events %d and %d share ID %s", ErrInvalidEvent, j, i, e.ID)
		}
		seen[e.ID] = i
	}
	return nil
}
