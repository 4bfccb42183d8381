package vintage

import (
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
)

func pos(n uint64) eventstore.Position { return eventstore.Position{Commit: n, Prepare: n} }

func TestHistoryAt(t *testing.T) {
	var h History[string]
	h.Set(pos(3), "a")
	h.Set(pos(7), "b")
	h.Remove(pos(9))
	h.Set(pos(12), "c")
	h.Set(pos(12), "c2") // same position replaces
	tests := []struct {
		at   uint64
		want string
		ok   bool
	}{
		{0, "", false}, {2, "", false}, {3, "a", true}, {6, "a", true}, {7, "b", true},
		{8, "b", true}, {9, "", false}, {11, "", false}, {12, "c2", true}, {1000, "c2", true},
	}
	for _, tt := range tests {
		got, ok := h.At(pos(tt.at))
		if got != tt.want || ok != tt.ok {
			t.Errorf("At(%d) = %q, %v, want %q, %v", tt.at, got, ok, tt.want, tt.ok)
		}
	}
	if got, ok := h.At(Latest); got != "c2" || !ok {
		t.Errorf("At(Latest) = %q, %v, want c2, true", got, ok)
	}
	if n := len(h.Until(pos(8))); n != 2 {
		t.Errorf("len(Until(8)) = %d, want 2", n)
	}
	if h.Len() != 4 {
		t.Errorf("Len() = %d, want 4", h.Len())
	}
}

func TestTimeline(t *testing.T) {
	base := time.Date(2027, 3, 31, 12, 0, 0, 0, time.UTC)
	var tl Timeline
	tl.Record(pos(1), base)
	tl.Record(pos(2), base)                   // same run
	tl.Record(pos(4), base.Add(time.Hour))    // a gap in positions
	tl.Record(pos(5), base.Add(-time.Minute)) // the clock stepped back
	tl.Record(pos(6), base.Add(2*time.Hour))
	tests := []struct {
		at   time.Time
		want uint64
	}{
		{base.Add(-time.Hour), 0},
		{base.Add(-time.Minute), 0}, // 5's time, but 4 came before at a later time
		{base, 2},
		{base.Add(30 * time.Minute), 2},
		{base.Add(time.Hour), 5},
		{base.Add(3 * time.Hour), 6},
	}
	for _, tt := range tests {
		if got := tl.PositionAt(tt.at); got != pos(tt.want) {
			t.Errorf("PositionAt(%v) = %v, want %d", tt.at, got, tt.want)
		}
	}
	times := map[uint64]time.Time{1: base, 2: base, 4: base.Add(time.Hour), 5: base.Add(-time.Minute), 6: base.Add(2 * time.Hour)}
	for p, want := range times {
		if got, ok := tl.TimeOf(pos(p)); !ok || !got.Equal(want) {
			t.Errorf("TimeOf(%d) = %v, %v, want %v", p, got, ok, want)
		}
	}
	if _, ok := tl.TimeOf(pos(7)); ok {
		t.Errorf("TimeOf(7) found a time after the last event")
	}
}
