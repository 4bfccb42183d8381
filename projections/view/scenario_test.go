package view_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
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

// TestShockedScenarioSharesReconciliation: a scenario that only shocks
// the forecasts reconciles with the reconciliation prepared for its plan
// (the shock changes no target, actual or variance), and its answers are
// those of a Service that prepared the scenario's own from scratch; the
// plan's answers likewise when the scenario is read first.
func TestShockedScenarioSharesReconciliation(t *testing.T) {
	reg := viewtest.Registry()
	store, d, _ := viewtest.Seeded(t, "", reg)
	ctx, svc, v := context.Background(), planning.New(store, reg), view.NewService(store, reg)
	t.Cleanup(v.Close)
	call := planning.Call{By: planning.Principal{Actor: "pat", Role: access.RolePlanner}}
	base, err := v.BasePosition(ctx, d.Plan, "from", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.OpenScenario(ctx, call, d.Plan, planning.OpenScenario{ID: "shock", Name: "Shocked", Base: base, From: "now"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AssumeShock(ctx, call, d.Plan, "shock", planning.Shock{Metric: d.Metric, Node: "region=dach", Span: "FY2028", Percent: "-10", Reason: "what if"}); err != nil {
		t.Fatal(err)
	}
	variance := func(v *view.Service, ref string) string {
		t.Helper()
		va, err := v.Variance(ctx, d.Plan, view.VarianceQuery{Metric: d.Metric, Year: "2028", AsOf: ref})
		if err != nil {
			t.Fatalf("Variance(as_of=%q) error %v", ref, err)
		}
		b, err := json.Marshal(va)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	planFirst := variance(v, "")
	shockedShared := variance(v, "scenario:shock")
	if planFirst == shockedShared {
		t.Fatal("the shocked scenario answers as the plan: the test shows nothing")
	}
	analyses, distinct := view.Reconciliations(v)
	if analyses < 2 || distinct >= analyses {
		t.Errorf("after the plan's and the shocked scenario's reads: %d analyses hold %d reconciliations, want them to share", analyses, distinct)
	}
	// A second Service over the same log reads the scenario first: it
	// prepares the scenario's reconciliation itself, and the plan's read
	// then shares it.
	scratch := view.NewService(store, reg)
	t.Cleanup(scratch.Close)
	if got := variance(scratch, "scenario:shock"); got != shockedShared {
		t.Errorf("shocked scenario prepared from scratch answers\n%s\nwith the plan's reconciliation\n%s", got, shockedShared)
	}
	if got := variance(scratch, ""); got != planFirst {
		t.Errorf("plan read after the scenario answers\n%s\nprepared from scratch\n%s", got, planFirst)
	}
}

// TestEmptyScenarioCostsNoMemory: scenarios opened with no events of their
// own keep no memory beyond their header. Opening and reading 64 of them
// adds no analysis and no scenario state to the Service, and the heap it
// keeps grows by less per scenario than a quarter of the analyses one
// scenario with a shock adds (its own state and analyses: what an empty
// scenario copying plan state would keep at least).
func TestEmptyScenarioCostsNoMemory(t *testing.T) {
	ctx, svc, call, v, d := diffFixture(t)
	read := func(ref string) {
		t.Helper()
		if _, err := v.Variance(ctx, d.Plan, view.VarianceQuery{Metric: d.Metric, Year: "2028", AsOf: ref}); err != nil {
			t.Fatalf("Variance(as_of=%q) error %v", ref, err)
		}
	}
	heap := func() int64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	// open opens n scenarios named prefix-k now, each with shock (if not
	// nil), and reads each.
	open := func(prefix string, n int, shock *planning.Shock) {
		t.Helper()
		for k := range n {
			id := fmt.Sprintf("%s-%d", prefix, k)
			pos, err := v.BasePosition(ctx, d.Plan, "from", "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.OpenScenario(ctx, call, d.Plan, planning.OpenScenario{ID: id, Name: id, Base: pos, From: "now"}); err != nil {
				t.Fatal(err)
			}
			if shock != nil {
				if _, err := svc.AssumeShock(ctx, call, d.Plan, id, *shock); err != nil {
					t.Fatal(err)
				}
			}
			read(view.ScenarioRef + id)
		}
	}
	read("")
	bytes0, states0 := view.Footprint(v)
	h0 := heap()
	const n = 64
	open("empty", n, nil)
	perEmpty := (heap() - h0) / n
	bytes1, states1 := view.Footprint(v)
	if bytes1 != bytes0 || states1 != states0 {
		t.Errorf("%d empty scenarios took the Service's analyses from %d to %d B and its scenario states from %d to %d, want no change", n, bytes0, bytes1, states0, states1)
	}
	open("shocked", 1, &planning.Shock{Metric: d.Metric, Node: "region=dach", Span: "FY2028", Percent: "-10", Reason: "what if"})
	bytes2, states2 := view.Footprint(v)
	shocked := bytes2 - bytes1
	if states2 != states1+1 || shocked <= 0 {
		t.Fatalf("a shocked scenario took the Service's analyses from %d to %d B and its scenario states from %d to %d: the footprint shows no state of its own", bytes1, bytes2, states1, states2)
	}
	t.Logf("heap kept per empty scenario %d B; analyses of a shocked scenario %d B", perEmpty, shocked)
	if perEmpty > shocked/4 {
		t.Errorf("each empty scenario keeps %d B of heap, more than a quarter of a shocked one's analyses (%d B): it copies plan state", perEmpty, shocked)
	}
}
