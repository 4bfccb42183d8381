package view_test

import (
	"context"
	"errors"
	"testing"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/projections/view"
	"github.com/concord-planning/concord/projections/view/viewtest"
)

// diffFixture is the demo company with a planning service to change it and
// the view that answers from it.
func diffFixture(t *testing.T) (context.Context, *planning.Service, planning.Call, *view.Service, viewtest.Demo) {
	t.Helper()
	reg := viewtest.Registry()
	store, d, _ := viewtest.Seeded(t, "", reg)
	call := planning.Call{By: planning.Principal{Actor: "pat", Role: access.RolePlanner}}
	return context.Background(), planning.New(store, reg), call, view.NewService(store, reg), d
}

// liveTargets returns the plan's targets as the view knows them now.
func liveTargets(t *testing.T, ctx context.Context, v *view.Service, planID string) (*plan.Plan, []plan.Target) {
	t.Helper()
	st, err := v.Live(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := st.Plan(planID)
	if !ok {
		t.Fatalf("plan %s not in the view", planID)
	}
	return p, p.Targets()
}

// TestDiffRemovedInTargetOrder: targets cleared between two versions are
// listed in the plan's target order (metric, node, span), after the
// added and changed ones. Before, they came in the order of a map, so the same
// diff could list them differently from one request to the next.
func TestDiffRemovedInTargetOrder(t *testing.T) {
	ctx, svc, call, v, d := diffFixture(t)
	p, targets := liveTargets(t, ctx, v, d.Plan)
	if len(targets) < 6 {
		t.Fatalf("the demo plan has %d targets, want at least 6 to clear", len(targets))
	}
	before, err := v.Live(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Clear every other target, last first, so the order of clearing is
	// not the order wanted.
	var want []string
	for i := len(targets) - 1; i >= 0; i -= 2 {
		tg := targets[i]
		if _, err := svc.ChangeTarget(ctx, call, d.Plan, planning.TargetChange{Op: planning.OpClear, Node: tg.Node.String(),
			Metric: tg.Metric, Span: p.Calendar().Format(tg.Span), Reason: "dropped"}); err != nil {
			t.Fatal(err)
		}
		want = append([]string{tg.Metric + " " + tg.Node.String() + " " + p.Calendar().Format(tg.Span)}, want...)
	}
	diff, err := v.Diff(ctx, d.Plan, before.Position.String(), "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range diff.Changes {
		if c.Kind != "removed" {
			t.Errorf("change %+v, want only removals", c)
			continue
		}
		got = append(got, c.Metric+" "+c.Node+" "+c.Span)
	}
	if len(got) != len(want) {
		t.Fatalf("Diff removed %d targets %q, want %d %q", len(got), got, len(want), want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Diff removed %q, want the plan's order %q", got, want)
		}
	}
}

// TestDiffOverflowIsAnError: a change whose difference does not fit a
// decimal (999999999999999999 revised to 0.05: the first at two decimal
// places overflows) makes
// the diff fail with decimal.ErrOverflow naming the target. Before, the
// error was dropped and the change reported a delta of 0.
func TestDiffOverflowIsAnError(t *testing.T) {
	ctx, svc, call, v, d := diffFixture(t)
	p, targets := liveTargets(t, ctx, v, d.Plan)
	// A target of its own (a far year no other target shares), so that no
	// sum of targets constrains it.
	tg := targets[0]
	tg.Span = p.Calendar().FiscalYear(p.Calendar().Year(tg.Span.First) + 5)
	change := func(op planning.TargetOp, amount string) error {
		_, err := svc.ChangeTarget(ctx, call, d.Plan, planning.TargetChange{Op: op, Node: tg.Node.String(),
			Metric: tg.Metric, Span: p.Calendar().Format(tg.Span), Amount: amount, Reason: "stress"})
		return err
	}
	if err := change(planning.OpSet, "999999999999999999"); err != nil {
		t.Fatal(err)
	}
	from, err := v.Live(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := change(planning.OpRevise, "0.05"); err != nil {
		t.Fatal(err)
	}
	diff, err := v.Diff(ctx, d.Plan, from.Position.String(), "")
	if !errors.Is(err, decimal.ErrOverflow) {
		t.Fatalf("Diff = %+v, %v; want decimal.ErrOverflow", diff, err)
	}
}
