package view_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/view"
)

// TestPlanAt: the plan the view gives for a past version of its stream is
// the plan replayed to that version (the write side's scenario bases take
// it instead of replaying), at the first, middle and last versions and
// across a checkpoint; a version the stream never had is refused.
func TestPlanAt(t *testing.T) {
	ctx := context.Background()
	l, err := company.Generate(company.Small(5))
	if err != nil {
		t.Fatal(err)
	}
	store, _ := snapshotCompany(t, l, len(l.Appends))
	svc := view.NewService(store, company.Registry())
	view.SetCheckpointEvery(svc, 64)
	t.Cleanup(svc.Close)
	repo := eventstore.NewRepository[*plan.Plan, plan.Event](store, company.Registry(), plan.New)
	stream := plan.Stream(l.PlanID)
	_, head, err := repo.Load(ctx, stream)
	if err != nil || head < 3 {
		t.Fatalf("the plan's stream: version %d, %v", head, err)
	}
	for _, v := range []uint64{1, head / 2, head - 1, head} {
		got, gv, ok := svc.PlanAt(ctx, stream, v)
		want, err := repo.LoadVersion(ctx, stream, v)
		if err != nil {
			t.Fatal(err)
		}
		if !ok || gv != v || !reflect.DeepEqual(got.Snapshot(), want.Snapshot()) {
			t.Errorf("PlanAt(%d): found %v, not the plan replayed to that version", v, ok)
		}
	}
	if latest, v, ok := svc.PlanAt(ctx, stream, 0); !ok || v != head || latest.Version() != head {
		t.Errorf("PlanAt(0) = version %d, %v; want the plan as it stands, at %d", v, ok, head)
	}
	if _, _, ok := svc.PlanAt(ctx, stream, head+1); ok {
		t.Errorf("PlanAt(%d), past the stream's end, found a plan", head+1)
	}
	if _, _, ok := svc.PlanAt(ctx, "plan-nosuch", 0); ok {
		t.Error("PlanAt of a stream that does not exist found a plan")
	}
}

// TestCheckpointsThinned: a Service keeps at most 16 checkpoints however
// long the log (each holds its own copy of the aggregates changed since
// the one before), doubling their distance as it thins them, and its
// as-of answers stay those of a Service with no checkpoint in reach.
func TestCheckpointsThinned(t *testing.T) {
	ctx := context.Background()
	l, err := company.Generate(company.Small(5))
	if err != nil {
		t.Fatal(err)
	}
	store, _ := snapshotCompany(t, l, len(l.Appends))
	thinned := view.NewService(store, company.Registry())
	t.Cleanup(thinned.Close)
	view.SetCheckpointEvery(thinned, 8)
	if _, err := thinned.Live(ctx); err != nil {
		t.Fatal(err)
	}
	events := thinned.Events()
	if events/8 <= 32 {
		t.Fatalf("the company has %d events: too few to thin checkpoints of 8 twice", events)
	}
	if n := view.Checkpoints(thinned); n > 16 || n < events/8/64 {
		t.Errorf("%d checkpoints of %d events, want at most 16 and the distance doubled only as needed", n, events)
	}
	plain := view.NewService(store, company.Registry())
	t.Cleanup(plain.Close)
	want := answers(t, plain, l.PlanID, l.Metrics, events)
	got := answers(t, thinned, l.PlanID, l.Metrics, events)
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s differs with thinned checkpoints", k)
		}
	}
}
