package plan_test

import (
	"reflect"
	"testing"

	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/projections/company"
)

// TestSnapshotRoundTrip replays the plan of a generated company and, at
// cuts along its stream, checks that the plan restored from its snapshot
// equals it, then that both stay equal as the rest of the stream is
// applied to each.
func TestSnapshotRoundTrip(t *testing.T) {
	l, err := company.Generate(company.Small(3))
	if err != nil {
		t.Fatal(err)
	}
	reg := company.Registry()
	var events []plan.Event
	for _, r := range l.Events {
		if r.Stream != plan.Stream(l.PlanID) {
			continue
		}
		e, err := reg.Decode(r)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e.(plan.Event))
	}
	if len(events) < 100 {
		t.Fatalf("the company's plan has %d events, want a busy plan", len(events))
	}
	for _, cut := range []int{0, 1, len(events) / 7, len(events) / 3, len(events) / 2, len(events) - 1, len(events)} {
		p := plan.New()
		for _, e := range events[:cut] {
			p.Apply(e)
		}
		r, err := plan.FromSnapshot(p.Snapshot())
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		if !reflect.DeepEqual(r, p) {
			t.Fatalf("cut %d: the plan restored from its snapshot differs:\n got %+v\nwant %+v", cut, r, p)
		}
		for _, e := range events[cut:] {
			p.Apply(e)
			r.Apply(e)
		}
		if !reflect.DeepEqual(r, p) {
			t.Fatalf("cut %d: after the rest of the stream, the plan restored from its snapshot differs", cut)
		}
		if !reflect.DeepEqual(r.Snapshot(), p.Snapshot()) {
			t.Fatalf("cut %d: equal plans give different snapshots", cut)
		}
	}
}

// TestFromSnapshotRefusesDamage checks that a snapshot whose columns do
// not agree is an error, not a panic.
func TestFromSnapshotRefusesDamage(t *testing.T) {
	p := plan.New()
	p.Apply(plan.Opened{ID: "p", Name: "P", Currency: "EUR", Metrics: []plan.Metric{{ID: "revenue", Name: "Revenue"}}, FiscalYearStart: 1, HorizonMonths: 12})
	p.Apply(plan.TargetSet{Metric: "revenue"})
	s := p.Snapshot()
	s.Targets.Node = append(s.Targets.Node, 0)
	if _, err := plan.FromSnapshot(s); err == nil {
		t.Fatal("a snapshot with target columns of unequal length was accepted")
	}
	s = p.Snapshot()
	s.Targets.Node[0] = 7
	if _, err := plan.FromSnapshot(s); err == nil {
		t.Fatal("a snapshot with a target node out of range was accepted")
	}
}
