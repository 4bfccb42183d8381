package dimension_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/projections/company"
)

// TestSnapshotRoundTrip replays the dimensions of a generated company
// (whose dimensions change: members added, moved, retired, removed) and,
// at cuts along each stream, checks that the dimension restored from its
// snapshot equals it, then that both stay equal as the rest of the stream
// is applied to each.
func TestSnapshotRoundTrip(t *testing.T) {
	l, err := company.Generate(company.Small(3))
	if err != nil {
		t.Fatal(err)
	}
	reg := company.Registry()
	streams := map[string][]dimension.Event{}
	for _, r := range l.Events {
		if !strings.HasPrefix(r.Stream, "dimension-") {
			continue
		}
		e, err := reg.Decode(r)
		if err != nil {
			t.Fatal(err)
		}
		streams[r.Stream] = append(streams[r.Stream], e.(dimension.Event))
	}
	if len(streams) == 0 {
		t.Fatal("the company has no dimension")
	}
	for stream, events := range streams {
		for _, cut := range []int{1, len(events) / 3, len(events) / 2, len(events)} {
			d := dimension.New()
			for _, e := range events[:cut] {
				d.Apply(e)
			}
			r, err := dimension.FromSnapshot(d.Snapshot())
			if err != nil {
				t.Fatalf("%s cut %d: %v", stream, cut, err)
			}
			if !reflect.DeepEqual(r, d) {
				t.Fatalf("%s cut %d: the dimension restored from its snapshot differs:\n got %+v\nwant %+v", stream, cut, r, d)
			}
			for _, e := range events[cut:] {
				d.Apply(e)
				r.Apply(e)
			}
			if !reflect.DeepEqual(r, d) {
				t.Fatalf("%s cut %d: after the rest of the stream, the dimension restored from its snapshot differs", stream, cut)
			}
		}
	}
}
