package view_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/projections/view"
	"github.com/concord-planning/concord/projections/view/viewtest"
)

// targetOf returns the FY2028 revenue target of node in the variance
// rows read at ref.
func targetOf(t *testing.T, v *view.Service, d viewtest.Demo, ref, node string) string {
	t.Helper()
	va, err := v.Variance(context.Background(), d.Plan, view.VarianceQuery{Metric: d.Metric, Year: "2028", AsOf: ref, Dimension: "region", Level: "2"})
	if err != nil {
		t.Fatalf("Variance(as_of=%q) error %v", ref, err)
	}
	for _, r := range va.Rows {
		if r.Node == node && r.Target != nil {
			return *r.Target
		}
	}
	t.Fatalf("Variance(as_of=%q) has no target for %s", ref, node)
	return ""
}

// TestScenarioReads: a scenario reads as its base plus its own events;
// the plan is unchanged; a scenario with no events of its own is its base
// state itself; its history is the plan's up to the base, then its own;
// promoting a scenario whose targets the plan changed since its base is
// refused, as is rebasing it over the change.
func TestScenarioReads(t *testing.T) {
	ctx, svc, call, v, d := diffFixture(t)
	other := planning.Call{By: planning.Principal{Actor: "quinn", Role: access.RolePlanner}}
	move := planning.ProposeReallocation{Metric: d.Metric, Span: "FY2028", Reason: "what if",
		Moves: []planning.Move{{Node: "region=dach", Delta: "-1000"}, {Node: "region=uk", Delta: "1000"}}}

	// At the Q1 reforecast, nothing moved DACH since.
	must := func(_ planning.Result, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(svc.OpenScenario(ctx, call, d.Plan, planning.OpenScenario{ID: "now", Name: "From the reforecast", Base: d.Reforecast, From: "tag:Q1 reforecast"}))
	base, err := view.StateOf(ctx, v, d.Plan, d.Reforecast.String())
	if err != nil {
		t.Fatal(err)
	}
	empty, err := view.StateOf(ctx, v, d.Plan, "scenario:now")
	if err != nil {
		t.Fatal(err)
	}
	live, err := view.StateOf(ctx, v, d.Plan, "")
	if err != nil {
		t.Fatal(err)
	}
	if empty != base && empty != live {
		t.Error("a scenario with no events of its own is neither its base state nor the live state: it costs a state of its own")
	}
	planDach := targetOf(t, v, d, "", "region=dach")
	must(svc.ReallocateInScenario(ctx, call, d.Plan, "now", move))
	if got := targetOf(t, v, d, "", "region=dach"); got != planDach {
		t.Errorf("plan DACH target = %s after a scenario's move, want %s unchanged", got, planDach)
	}
	if got, want := targetOf(t, v, d, "scenario:now", "region=dach"), minus(t, planDach, "1000"); got != want {
		t.Errorf("scenario DACH target = %s, want %s", got, want)
	}
	diff, err := v.Diff(ctx, d.Plan, d.Reforecast.String(), "scenario:now")
	if err != nil {
		t.Fatal(err)
	}
	if len(diff.Changes) != 2 || diff.Changes[0].ChangedBy != "pat" || diff.Changes[0].Reason != "reallocation: what if" {
		t.Errorf("diff base → scenario = %+v, want the two moved targets, changed by pat in the scenario", diff.Changes)
	}
	h, err := v.History(ctx, d.Plan, view.HistoryQuery{Scenario: "now", Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Items) < 3 || h.Items[0].Type != "scenario.TargetRevised" || h.Items[2].Type != "scenario.Opened" {
		t.Fatalf("scenario history starts %+v, want its two revisions and its opening", h.Items[:min(3, len(h.Items))])
	}
	for _, it := range h.Items[3:] {
		if pos, err := eventstore.ParsePosition(it.Position); err != nil || d.Reforecast.Before(pos) {
			t.Errorf("scenario history holds %s at %s, after its base %s", it.Type, it.Position, d.Reforecast)
		}
	}

	// At the budget, before the approved reallocation r-1 moved DACH and UK.
	must(svc.OpenScenario(ctx, call, d.Plan, planning.OpenScenario{ID: "old", Name: "From the budget", Base: d.Budget, From: "tag:Budget FY28"}))
	must(svc.ReallocateInScenario(ctx, call, d.Plan, "old", move))
	if _, err := svc.PromoteScenario(ctx, call, d.Plan, "old", "try"); !errors.Is(err, plan.ErrTargetChanged) {
		t.Errorf("promoting over targets the plan changed since the base: error %v, want ErrTargetChanged", err)
	}
	if _, err := svc.RebaseScenario(ctx, call, d.Plan, "old", d.Reforecast); !errors.Is(err, plan.ErrTargetChanged) {
		t.Errorf("rebasing over targets the plan changed since the base: error %v, want ErrTargetChanged", err)
	}

	// Promote and approve the first: the plan moves, naming the scenario.
	must(svc.PromoteScenario(ctx, call, d.Plan, "now", "board asked"))
	if got := targetOf(t, v, d, "", "region=dach"); got != planDach {
		t.Errorf("plan DACH target = %s after promotion, before approval; want %s", got, planDach)
	}
	must(svc.ApproveReallocation(ctx, other, d.Plan, planning.ProposalID("now"), ""))
	if got, want := targetOf(t, v, d, "", "region=dach"), minus(t, planDach, "1000"); got != want {
		t.Errorf("plan DACH target after approval = %s, want %s", got, want)
	}
	if _, err := v.Compare(ctx, d.Plan, view.CompareQuery{Scenarios: []string{"now", "now"}}); !errors.Is(err, view.ErrBadParameter) {
		t.Errorf("compare of a scenario twice: error %v, want a bad parameter", err)
	}
	if _, err := v.Compare(ctx, d.Plan, view.CompareQuery{Scenarios: []string{"a", "b", "c", "d", "e"}}); !errors.Is(err, view.ErrBadParameter) {
		t.Errorf("compare of five scenarios: error %v, want a bad parameter", err)
	}
}

// minus returns a − b, decimals as text.
func minus(t *testing.T, a, b string) string {
	t.Helper()
	d, err := decimal.MustParse(a).Add(decimal.MustParse(b).Neg())
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// TestScenarioOpenedNowSharesLive: a scenario opened now with no events of
// its own reads the live state itself (its own opening, after its base,
// changes nothing a state holds), so its reads cost what the plan's cost
// and no memory; with a shock only, it shares the base's plan; once the
// plan changes after its base, it still reads the plan at its base.
func TestScenarioOpenedNowSharesLive(t *testing.T) {
	ctx, svc, call, v, d := diffFixture(t)
	base, err := v.BasePosition(ctx, d.Plan, "from", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.OpenScenario(ctx, call, d.Plan, planning.OpenScenario{ID: "fresh", Name: "Opened now", Base: base, From: "now"}); err != nil {
		t.Fatal(err)
	}
	live, err := view.StateOf(ctx, v, d.Plan, "")
	if err != nil {
		t.Fatal(err)
	}
	if live.Position == base {
		t.Fatal("the scenario's opening did not move the log past its base")
	}
	sc, err := view.StateOf(ctx, v, d.Plan, "scenario:fresh")
	if err != nil {
		t.Fatal(err)
	}
	if sc != live {
		t.Error("a scenario opened now with no events of its own is not the live state: it folds and analyses a state of its own")
	}
	// A shock is the scenario's own, its plan still the base's: shared,
	// not replayed from the store.
	if _, err := svc.AssumeShock(ctx, call, d.Plan, "fresh", planning.Shock{Metric: d.Metric, Node: "region=dach", Span: "FY2028", Percent: "-10", Reason: "what if"}); err != nil {
		t.Fatal(err)
	}
	shocked, err := view.StateOf(ctx, v, d.Plan, "scenario:fresh")
	if err != nil {
		t.Fatal(err)
	}
	lp, _ := live.Plan(d.Plan)
	if sp, _ := shocked.Plan(d.Plan); shocked == live || sp != lp {
		t.Error("a scenario with a shock only does not share its base's plan: it replays the plan's stream")
	}
	// Sharing the plan, it must not share the plan's analyses.
	le := func(ref string) string {
		va, err := v.Variance(ctx, d.Plan, view.VarianceQuery{Metric: d.Metric, Year: "2028", AsOf: ref, Dimension: "region", Level: "2"})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range va.Rows {
			if r.Node == "region=dach" && r.LatestEstimate != nil {
				return fmt.Sprint(*r.LatestEstimate)
			}
		}
		t.Fatalf("no latest estimate of DACH as of %q", ref)
		return ""
	}
	if p, sc := le(""), le("scenario:fresh"); p == sc {
		t.Errorf("DACH latest estimate %s in the plan and in the scenario shocked −10%%: the scenario read the plan's analysis", p)
	}
	if _, err := svc.ChangeTarget(ctx, call, d.Plan, planning.TargetChange{Op: planning.OpSet, Node: "region=dach", Metric: d.Metric,
		Span: "FY2031", Amount: "5", Reason: "after the base"}); err != nil {
		t.Fatal(err)
	}
	after, err := view.StateOf(ctx, v, d.Plan, "scenario:fresh")
	if err != nil {
		t.Fatal(err)
	}
	now, err := view.StateOf(ctx, v, d.Plan, "")
	if err != nil {
		t.Fatal(err)
	}
	ap, _ := after.Plan(d.Plan)
	if np, _ := now.Plan(d.Plan); after == now || ap != lp || np == lp {
		t.Error("after a plan change, the scenario reads the changed plan; want its base's")
	}
}
