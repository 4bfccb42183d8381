package planning_test

import (
	"context"
	"testing"

	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/planning"
)

// TestPlansFrom: a service given a plan folded elsewhere (here another
// service's) decides on it, sees the events appended after it, and leaves
// it unchanged.
func TestPlansFrom(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	set := func(svc *planning.Service, node, amount string) {
		t.Helper()
		if _, err := svc.ChangeTarget(ctx, planner, "p1", planning.TargetChange{Op: planning.OpSet, Node: node, Metric: "revenue", Span: "FY2027", Amount: amount, Reason: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	set(f.svc, "region=emea", "10")
	folded, v, err := f.svc.Plan(ctx, planner.By, "p1")
	if err != nil {
		t.Fatal(err)
	}
	seeded := planning.New(f.store, planning.NewRegistry())
	seeded.PlansFrom(func(_ context.Context, stream string, version uint64) (*plan.Plan, uint64, bool) {
		if stream != plan.Stream("p1") || version != 0 {
			return nil, 0, false
		}
		return folded, v, true
	})
	set(f.svc, "region=amer", "5") // after the seed
	set(seeded, "", "15")
	if folded.Version() != v || len(folded.Targets()) != 1 {
		t.Errorf("the seeded plan changed: version %d with %d targets, want %d with 1", folded.Version(), len(folded.Targets()), v)
	}
	replayed, rv, err := planning.New(f.store, planning.NewRegistry(), planning.WithAggregateCache(0)).Plan(ctx, planner.By, "p1")
	if err != nil {
		t.Fatal(err)
	}
	got, gv, _ := seeded.Plan(ctx, planner.By, "p1")
	if gv != rv || len(got.Targets()) != 3 || len(replayed.Targets()) != 3 {
		t.Errorf("seeded service's plan at %d with %d targets, replayed at %d with %d; want equal, 3 targets", gv, len(got.Targets()), rv, len(replayed.Targets()))
	}
	for _, tg := range replayed.Targets() {
		if g, ok := got.Target(tg.Node, tg.Metric, tg.Span); !ok || !g.Amount.Equal(tg.Amount) || g.ChangedAt != tg.ChangedAt {
			t.Errorf("target %v: seeded %+v, replayed %+v", tg.Node, g, tg)
		}
	}
}
