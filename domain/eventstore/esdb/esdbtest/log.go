package esdbtest

import (
	"errors"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
)

// record is one stored event. Records are immutable once in the log.
type record struct {
	id          uuid.UUID
	stream      string
	revision    uint64 // 0-based, as EventStoreDB numbers events
	commit      uint64
	prepare     uint64
	eventType   string
	contentType string
	created     int64 // 100 ns ticks since the Unix epoch, as the server sends it
	custom      []byte
	data        []byte
}

// after reports whether r lies after the position (commit, prepare).
func (r *record) after(commit, prepare uint64) bool {
	return r.commit > commit || (r.commit == commit && r.prepare > prepare)
}

// proposed is an event offered for appending.
type proposed struct {
	id          uuid.UUID
	eventType   string
	contentType string
	custom      []byte
	data        []byte
}

// expectation is an append's expected revision.
type expectation struct {
	kind     expectKind
	revision uint64 // for expectRevision
}

type expectKind int

const (
	expectAny expectKind = iota
	expectNoStream
	expectExists
	expectRevision
)

// appendOutcome is what an append did. current is the stream's last revision
// after the append (or before it, when refused); exists says whether the
// stream holds any event.
type appendOutcome struct {
	refused    bool
	idempotent bool
	exists     bool
	current    uint64
	commit     uint64 // of the last event written; unset when idempotent or refused
	prepare    uint64
}

// errInvalid marks an append the server rejects as a bad request.
var errInvalid = errors.New("invalid append")

// eventLog is the server's data: the global log and its per-stream index.
// It survives Stop and Restart. It is safe for concurrent use.
type eventLog struct {
	now func() time.Time

	mu      sync.Mutex
	all     []*record
	streams map[string][]*record
	end     uint64        // next log position
	changed chan struct{} // closed and replaced at each commit
}

// firstPosition is where the log starts; the first record (a system event)
// lives there, so no user event ever sits at position 0/0.
const firstPosition = 0

func newEventLog(now func() time.Time) *eventLog {
	l := &eventLog{now: now, streams: map[string][]*record{}, end: firstPosition, changed: make(chan struct{})}
	// A real node writes system events before any client connects; clients
	// must cope with them in $all.
	l.append("$settings", expectation{kind: expectNoStream}, []proposed{{
		id: uuid.NewSHA1(uuid.NameSpaceOID, []byte("esdbtest-settings")), eventType: "$settings",
		contentType: "application/json", data: []byte(`{"$userStreamAcl":{},"$systemStreamAcl":{}}`),
	}})
	return l
}

// recordSize approximates the bytes a record takes in the log, so positions
// grow like file offsets and are not consecutive numbers.
func recordSize(p proposed, stream string) uint64 {
	return uint64(96 + len(stream) + len(p.eventType) + len(p.custom) + len(p.data))
}

// append writes events to stream if exp holds, or recognises a retry of
// events already written. It returns errInvalid (wrapped) for a bad request.
func (l *eventLog) append(stream string, exp expectation, events []proposed) (appendOutcome, error) {
	if stream == "" {
		return appendOutcome{}, errors.Join(errInvalid, errors.New("empty stream name"))
	}
	for i, e := range events {
		if e.eventType == "" {
			return appendOutcome{}, errors.Join(errInvalid, errors.New("event "+strconv.Itoa(i)+" has no type"))
		}
		if e.id == uuid.Nil {
			return appendOutcome{}, errors.Join(errInvalid, errors.New("event "+strconv.Itoa(i)+" has no id"))
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	recs := l.streams[stream]
	out := appendOutcome{exists: len(recs) > 0}
	if out.exists {
		out.current = recs[len(recs)-1].revision
	}
	// next is the revision the first event would take if written now.
	next := uint64(len(recs))

	// Idempotence: a run of these IDs already stored where the expectation
	// would have put them is a retry, answered as success without writing.
	switch exp.kind {
	case expectRevision:
		if out.exists && out.current > exp.revision && idempotent(recs, exp.revision+1, events) {
			return l.idempotentOutcome(out, exp.revision+uint64(len(events))), nil
		}
	case expectNoStream:
		if out.exists && idempotent(recs, 0, events) {
			return l.idempotentOutcome(out, uint64(len(events))-1), nil
		}
	case expectAny, expectExists:
		if len(events) > 0 {
			if at, ok := find(recs, events[0].id); ok {
				if idempotent(recs, at, events) {
					return l.idempotentOutcome(out, at+uint64(len(events))-1), nil
				}
				// Stored, but not as this run: the real server refuses it
				// as a wrong expected version (corrupt idempotency).
				out.refused = true
				return out, nil
			}
		}
	}

	switch exp.kind {
	case expectNoStream:
		out.refused = out.exists
	case expectExists:
		out.refused = !out.exists
	case expectRevision:
		out.refused = !out.exists || out.current != exp.revision
	}
	if out.refused || len(events) == 0 {
		return out, nil
	}

	created := l.now().UnixNano() / 100
	commit := l.end
	for i, e := range events {
		r := &record{
			id: e.id, stream: stream, revision: next + uint64(i),
			commit: commit, prepare: l.end,
			eventType: e.eventType, contentType: e.contentType, created: created,
			custom: e.custom, data: e.data,
		}
		l.end += recordSize(e, stream)
		l.all = append(l.all, r)
		recs = append(recs, r)
	}
	l.streams[stream] = recs
	last := recs[len(recs)-1]
	out.exists, out.current, out.commit, out.prepare = true, last.revision, last.commit, last.prepare
	close(l.changed)
	l.changed = make(chan struct{})
	return out, nil
}

func (l *eventLog) idempotentOutcome(out appendOutcome, last uint64) appendOutcome {
	out.idempotent = true
	out.current = last
	return out
}

// idempotent reports whether recs holds exactly events' IDs from revision at on.
func idempotent(recs []*record, at uint64, events []proposed) bool {
	if len(events) == 0 || at+uint64(len(events)) > uint64(len(recs)) {
		return false
	}
	for i, e := range events {
		if recs[at+uint64(i)].id != e.id {
			return false
		}
	}
	return true
}

func find(recs []*record, id uuid.UUID) (uint64, bool) {
	for i, r := range recs {
		if r.id == id {
			return uint64(i), true
		}
	}
	return 0, false
}

// stream returns the records of stream and whether it exists.
func (l *eventLog) stream(name string) []*record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.streams[name]
}

// snapshot returns the global log as it is now and a channel closed at the
// next commit. The returned slice is never modified.
func (l *eventLog) snapshot() ([]*record, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all, l.changed
}

// firstAfter returns the index in all of the first record after (commit,
// prepare), or the first at or after it when inclusive.
func firstAfter(all []*record, commit, prepare uint64, inclusive bool) int {
	return sort.Search(len(all), func(i int) bool {
		r := all[i]
		if inclusive && r.commit == commit && r.prepare == prepare {
			return true
		}
		return r.after(commit, prepare)
	})
}
