package commit_test

import (
	"reflect"
	"testing"

	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/projections/company"
)

// TestSnapshotRoundTrip replays the commits of a generated company
// (submitted, superseded and withdrawn) and, at cuts along the stream,
// checks that the book restored from its snapshot equals it, then that
// both stay equal as the rest of the stream is applied to each.
func TestSnapshotRoundTrip(t *testing.T) {
	l, err := company.Generate(company.Small(3))
	if err != nil {
		t.Fatal(err)
	}
	reg := company.Registry()
	var events []commit.Event
	for _, r := range l.Events {
		if r.Stream != commit.Stream(l.PlanID) {
			continue
		}
		e, err := reg.Decode(r)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e.(commit.Event))
	}
	if len(events) < 10 {
		t.Fatalf("the company has %d commit events, want a busy book", len(events))
	}
	for _, cut := range []int{1, len(events) / 3, len(events) / 2, len(events)} {
		b := commit.New()
		for _, e := range events[:cut] {
			b.Apply(e)
		}
		r, err := commit.FromSnapshot(b.Snapshot())
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		if !reflect.DeepEqual(r, b) {
			t.Fatalf("cut %d: the book restored from its snapshot differs:\n got %+v\nwant %+v", cut, r, b)
		}
		for _, e := range events[cut:] {
			b.Apply(e)
			r.Apply(e)
		}
		if !reflect.DeepEqual(r, b) {
			t.Fatalf("cut %d: after the rest of the stream, the book restored from its snapshot differs", cut)
		}
	}
}
