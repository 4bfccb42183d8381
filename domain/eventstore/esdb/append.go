package esdb

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/google/uuid"
)

// MaxAnyAttempts bounds the attempts of an append with Any or StreamExists
// that loses races with concurrent writers to the same stream.
const MaxAnyAttempts = 8

// TailWindow is how many events beyond the batch size an append with Any or
// StreamExists reads from the end of its stream to recognise a retry.
const TailWindow = 32

// errRetry marks an append with Any or StreamExists that lost a race.
var errRetry = errors.New("esdb: stream moved")

// Append implements eventstore.Store; see the package comment for how the
// hash chain, expected versions and retries map onto EventStoreDB.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if err := eventstore.Validate(stream, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	if expected == nil {
		return eventstore.AppendResult{}, fmt.Errorf("%w: no expected version for stream %q", eventstore.ErrInvalidEvent, stream)
	}
	if n, exact := eventstore.ExactVersion(expected); exact {
		return s.appendExact(ctx, stream, expected, n, events)
	}
	var actual uint64
	for range MaxAnyAttempts {
		res, current, err := s.appendLoose(ctx, stream, expected, events)
		if !errors.Is(err, errRetry) {
			return res, err
		}
		actual = current
	}
	return eventstore.AppendResult{}, &eventstore.ConflictError{Stream: stream, Expected: expected, Actual: actual}
}

// appendExact appends at version n, or recognises a retry of events stored
// right after n.
func (s *Store) appendExact(ctx context.Context, stream string, expected eventstore.ExpectedVersion, n uint64, events []eventstore.EventData) (eventstore.AppendResult, error) {
	tail, err := s.readRaw(ctx, stream, esdb.Backwards, esdb.End{}, 1)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("esdb: append to %q: read its last event: %w", stream, err)
	}
	current, prev := tip(tail)
	switch {
	case current == n:
		return s.write(ctx, stream, expected, n, eventstore.Seal(prev, stream, n, s.clock(), events...))
	case current > n:
		stored, err := s.readRaw(ctx, stream, esdb.Forwards, esdb.Revision(n), uint64(len(events)))
		if err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("esdb: append to %q: read events after version %d: %w", stream, n, err)
		}
		if res, ok, err := sameRun(stream, stored, events); ok || err != nil {
			return res, err
		}
	}
	return eventstore.AppendResult{}, &eventstore.ConflictError{Stream: stream, Expected: expected, Actual: current}
}

// appendLoose appends with Any or StreamExists at the version it reads; it
// returns errRetry, with the version it read, when the stream moved before
// the write.
func (s *Store) appendLoose(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, uint64, error) {
	tail, err := s.readRaw(ctx, stream, esdb.Backwards, esdb.End{}, uint64(len(events)+TailWindow))
	if err != nil {
		return eventstore.AppendResult{}, 0, fmt.Errorf("esdb: append to %q: read its last events: %w", stream, err)
	}
	current, prev := tip(tail)
	// tail is newest first; the run, if stored, reads oldest first.
	stored := make([]*esdb.RecordedEvent, len(tail))
	for i, r := range tail {
		stored[len(tail)-1-i] = r
	}
	if at := indexOf(stored, events[0].ID); at >= 0 {
		res, ok, err := sameRun(stream, stored[at:], events)
		if ok || err != nil {
			return res, current, err
		}
		return eventstore.AppendResult{}, current, duplicate(stream, events[0].ID)
	}
	for _, e := range events[1:] {
		if indexOf(stored, e.ID) >= 0 {
			return eventstore.AppendResult{}, current, duplicate(stream, e.ID)
		}
	}
	if !eventstore.Satisfied(expected, current) {
		return eventstore.AppendResult{}, current, &eventstore.ConflictError{Stream: stream, Expected: expected, Actual: current}
	}
	res, err := s.write(ctx, stream, expected, current, eventstore.Seal(prev, stream, current, s.clock(), events...))
	if errors.Is(err, eventstore.ErrConflict) {
		return res, current, errRetry
	}
	return res, current, err
}

// tip returns the version and hash of the last event of a stream, given its
// tail read backwards (newest first).
func tip(tail []*esdb.RecordedEvent) (uint64, []byte) {
	if len(tail) == 0 {
		return 0, nil
	}
	last := tail[0]
	var m eventMeta
	if decoded, err := decode(last); err == nil {
		m.Hash = decoded.Hash
	}
	// An event without a hash (not ours) chains as the start of a chain;
	// Verify reports it when it reads that event.
	return last.EventNumber + 1, m.Hash
}

func indexOf(stored []*esdb.RecordedEvent, id uuid.UUID) int {
	for i, r := range stored {
		if r.EventID == id {
			return i
		}
	}
	return -1
}

func duplicate(stream string, id uuid.UUID) error {
	return fmt.Errorf("%w: event %s is stored in stream %q, but not as this run of events", eventstore.ErrDuplicateEvent, id, stream)
}

// sameRun reports whether stored (oldest first) begins with events' IDs in
// order, and if so returns the result the first append returned. Some but
// not all IDs matching is ErrDuplicateEvent.
func sameRun(stream string, stored []*esdb.RecordedEvent, events []eventstore.EventData) (eventstore.AppendResult, bool, error) {
	matched := 0
	for i := range min(len(stored), len(events)) {
		if stored[i].EventID != events[i].ID {
			break
		}
		matched++
	}
	switch {
	case matched == len(events):
		last := stored[len(events)-1]
		return eventstore.AppendResult{
			Version:  last.EventNumber + 1,
			Position: eventstore.Position{Commit: last.Position.Commit, Prepare: last.Position.Prepare},
		}, true, nil
	case matched > 0:
		return eventstore.AppendResult{}, false, duplicate(stream, events[matched-1].ID)
	}
	for _, e := range events {
		if indexOf(stored, e.ID) >= 0 {
			return eventstore.AppendResult{}, false, duplicate(stream, e.ID)
		}
	}
	return eventstore.AppendResult{}, false, nil
}

// write appends the sealed events recs (hashed and stamped, at the
// versions after at) to stream at version at (exactly), keeping each one's
// recorded time, hash and hash rule in its metadata. A refusal is a
// *eventstore.ConflictError.
func (s *Store) write(ctx context.Context, stream string, expected eventstore.ExpectedVersion, at uint64, recs []eventstore.RecordedEvent) (eventstore.AppendResult, error) {
	batch := make([]esdb.EventData, len(recs))
	for i, e := range recs {
		meta, err := encodeMeta(e)
		if err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("esdb: append to %q: metadata of event %d: %w", stream, i, err)
		}
		batch[i] = esdb.EventData{EventID: e.ID, EventType: e.Type, ContentType: esdb.ContentTypeJson, Data: e.Data, Metadata: meta}
	}
	var rev esdb.ExpectedRevision = esdb.NoStream{}
	if at > 0 {
		rev = esdb.Revision(at - 1)
	}
	wr, err := call(ctx, s, func(ctx context.Context, c *esdb.Client) (*esdb.WriteResult, error) {
		return c.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: rev}, batch...)
	})
	if errorCode(err) == esdb.ErrorCodeWrongExpectedVersion {
		actual, ok := actualVersion(err)
		if !ok {
			tail, rerr := s.readRaw(ctx, stream, esdb.Backwards, esdb.End{}, 1)
			if rerr != nil {
				return eventstore.AppendResult{}, fmt.Errorf("esdb: append to %q refused (%v); reading its version: %w", stream, err, rerr)
			}
			actual, _ = tip(tail)
		}
		return eventstore.AppendResult{}, &eventstore.ConflictError{Stream: stream, Expected: expected, Actual: actual}
	}
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("esdb: append %d events to %q at version %d: %w", len(recs), stream, at, err)
	}
	res := eventstore.AppendResult{
		Version:  wr.NextExpectedVersion + 1,
		Position: eventstore.Position{Commit: wr.CommitPosition, Prepare: wr.PreparePosition},
	}
	if res.Position == (eventstore.Position{}) {
		// The server answers a write it recognised as a retry without a
		// position: read the position of the last event back.
		last, err := s.readRaw(ctx, stream, esdb.Forwards, esdb.Revision(wr.NextExpectedVersion), 1)
		if err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("esdb: append to %q was a retry; reading its position back: %w", stream, err)
		}
		if len(last) != 1 {
			return eventstore.AppendResult{}, fmt.Errorf("esdb: append to %q was a retry, but revision %d is missing", stream, wr.NextExpectedVersion)
		}
		res.Position = eventstore.Position{Commit: last[0].Position.Commit, Prepare: last[0].Position.Prepare}
	}
	return res, nil
}

// actualVersion reads the stream's revision out of the client's
// wrong-expected-version error, which carries it only in its message
// ("... expecting 'E' but got 'C'", C a 0-based revision or "no_stream").
// The protocol message has the number, but the client keeps only the text.
func actualVersion(err error) (uint64, bool) {
	msg := err.Error()
	const marker = "but got '"
	i := strings.LastIndex(msg, marker)
	if i < 0 {
		return 0, false
	}
	rest := msg[i+len(marker):]
	j := strings.IndexByte(rest, '\'')
	if j < 0 {
		return 0, false
	}
	if rest[:j] == "no_stream" {
		return 0, true
	}
	rev, perr := strconv.ParseUint(rest[:j], 10, 64)
	if perr != nil {
		return 0, false
	}
	return rev + 1, true
}
