package vintage

import (
	"math"
	"sort"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
)

// Latest is the position after every possible event: a query as of Latest
// sees everything its read model has applied.
var Latest = eventstore.Position{Commit: math.MaxUint64, Prepare: math.MaxUint64}

// Version is one state of a value: from Position on it was Value, or it was
// absent (removed) when Absent is true.
type Version[T any] struct {
	Position eventstore.Position
	Value    T
	Absent   bool
}

// History is a value with every change it went through, in position order.
// The zero History has no version: the value has never existed.
type History[T any] struct {
	versions []Version[T]
}

// Set records that the value became v at pos. Positions must not decrease:
// a version at the position of the last one replaces it (one event sets a
// value once; replacing keeps Set idempotent for a repeated event).
func (h *History[T]) Set(pos eventstore.Position, v T) {
	h.put(Version[T]{Position: pos, Value: v})
}

// Remove records that the value ceased to exist at pos.
func (h *History[T]) Remove(pos eventstore.Position) {
	h.put(Version[T]{Position: pos, Absent: true})
}

func (h *History[T]) put(v Version[T]) {
	if n := len(h.versions); n > 0 && h.versions[n-1].Position == v.Position {
		h.versions[n-1] = v
		return
	}
	h.versions = append(h.versions, v)
}

// index returns the number of versions at or before pos.
func (h *History[T]) index(pos eventstore.Position) int {
	n := len(h.versions)
	if n == 0 || !pos.Before(h.versions[n-1].Position) {
		return n // the common case: as of now
	}
	return sort.Search(n, func(i int) bool { return pos.Before(h.versions[i].Position) })
}

// At returns the value as known at pos, and whether it existed then.
func (h *History[T]) At(pos eventstore.Position) (T, bool) {
	v, ok := h.VersionAt(pos)
	return v.Value, ok
}

// VersionAt returns the version in force at pos, and whether the value
// existed then.
func (h *History[T]) VersionAt(pos eventstore.Position) (Version[T], bool) {
	i := h.index(pos)
	if i == 0 || h.versions[i-1].Absent {
		return Version[T]{}, false
	}
	return h.versions[i-1], true
}

// Until returns the versions at or before pos, oldest first. The slice is
// the History's own: read it, never modify it, and only while the owner's
// lock is held.
func (h *History[T]) Until(pos eventstore.Position) []Version[T] {
	return h.versions[:h.index(pos)]
}

// Len returns the number of versions.
func (h *History[T]) Len() int { return len(h.versions) }

// Timeline maps recorded times to global positions. Events are recorded in
// position order; consecutive events with the same recorded time form one
// run. A store's clock may step back; the time line then treats the earlier
// time as the latest time seen before it, so that times never decrease
// along the log and "the last position recorded at or before t" is one
// binary search.
type Timeline struct {
	runs []run
}

type run struct {
	last eventstore.Position // the last position of the run
	at   int64               // the recorded time of the run, Unix ns
	upTo int64               // the latest time recorded up to this run
}

// Record notes that the event at pos was recorded at t. Positions must
// increase from call to call.
func (tl *Timeline) Record(pos eventstore.Position, t time.Time) {
	at := t.UnixNano()
	n := len(tl.runs)
	if n > 0 && tl.runs[n-1].at == at {
		tl.runs[n-1].last = pos
		return
	}
	upTo := at
	if n > 0 && tl.runs[n-1].upTo > upTo {
		upTo = tl.runs[n-1].upTo
	}
	tl.runs = append(tl.runs, run{last: pos, at: at, upTo: upTo})
}

// PositionAt returns the last position recorded at or before t (Start when
// nothing was).
func (tl *Timeline) PositionAt(t time.Time) eventstore.Position {
	at := t.UnixNano()
	i := sort.Search(len(tl.runs), func(i int) bool { return tl.runs[i].upTo > at })
	if i == 0 {
		return eventstore.Start
	}
	return tl.runs[i-1].last
}

// TimeOf returns the recorded time of the event at pos, which must be a
// position Record was given, and false when pos is after every recorded
// event.
func (tl *Timeline) TimeOf(pos eventstore.Position) (time.Time, bool) {
	i := sort.Search(len(tl.runs), func(i int) bool { return !tl.runs[i].last.Before(pos) })
	if i == len(tl.runs) {
		return time.Time{}, false
	}
	return time.Unix(0, tl.runs[i].at).UTC(), true
}

// Len returns the number of runs of equal recorded time.
func (tl *Timeline) Len() int { return len(tl.runs) }
