package planning_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/domain/planning/csvimport"
)

func members(t *testing.T, csv string) []planning.MemberRow {
	t.Helper()
	rows, bad, err := csvimport.ReadMembers(strings.NewReader(csv))
	if err != nil || len(bad) > 0 {
		t.Fatalf("ReadMembers: %v %v", err, bad)
	}
	return rows
}

func changeTexts(changes []planning.DimensionChange) []string {
	out := make([]string, len(changes))
	for i, c := range changes {
		out[i] = string(c.Kind) + " " + c.Dimension + "/" + c.Member
	}
	return out
}

// TestImportDimensions: a file defines hierarchies, a changed file
// applies its differences as events (after a dry run shows them), and the
// same file again records nothing.
func TestImportDimensions(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	first := "dimension,member,name,parent\n" +
		"product,all,All products,\n" +
		"product,pumps,Pumps,all\n" +
		"product,p1,P1,pumps\n" +
		"product,valves,Valves,all\n" +
		"product,v1,V1,valves\n" +
		"channel,any,Any channel,\n" +
		"channel,direct,Direct,any\n"
	second := "dimension,member,name,parent\n" +
		"product,all,All products,\n" +
		"product,valves,Valves & fittings,all\n" + // renamed
		"product,pumps,Pumps,all\n" +
		"product,p1,P1,valves\n" + // moved
		"product,p3,P3,pumps\n" + // new (v1 retired: not in the file)
		"channel,any,Any channel,\n" +
		"channel,direct,Direct,any\n"
	steps := []struct {
		name string
		csv  string
		dry  bool
		want []string
	}{
		{"define", first, false, []string{"define product/all", "add product/pumps", "add product/valves", "add product/p1", "add product/v1",
			"define channel/any", "add channel/direct"}},
		{"again", first, false, nil},
		{"dry run of a changed file", second, true, []string{"rename product/valves", "move product/p1", "add product/p3", "retire product/v1"}},
		{"changed file", second, false, []string{"rename product/valves", "move product/p1", "add product/p3", "retire product/v1"}},
		{"changed file again", second, false, nil},
	}
	for _, st := range steps {
		before := f.head(t)
		got, err := f.svc.ImportDimensions(ctx, planner, members(t, st.csv), st.dry)
		if err != nil {
			t.Fatalf("%s: ImportDimensions: %v", st.name, err)
		}
		if g := changeTexts(got.Changes); strings.Join(g, "|") != strings.Join(st.want, "|") {
			t.Errorf("%s: changes = %v, want %v", st.name, g, st.want)
		}
		wrote := f.head(t) != before
		if wrote != (len(st.want) > 0 && !st.dry) {
			t.Errorf("%s: wrote %v, want %v", st.name, wrote, len(st.want) > 0 && !st.dry)
		}
	}
	d, _, err := f.svc.Dimension(ctx, viewer.By, "product")
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := d.Member("p1"); m.Parent != "valves" {
		t.Errorf("p1's parent = %q, want valves", m.Parent)
	}
	if m, _ := d.Member("valves"); m.Name != "Valves & fittings" {
		t.Errorf("valves' name = %q, want the new name", m.Name)
	}
	if m, _ := d.Member("v1"); !m.Retired {
		t.Errorf("v1 = %+v, want retired", m)
	}
	if got := d.Name(); got != "Product" {
		t.Errorf("dimension name = %q, want Product", got)
	}
}

// TestImportDimensionsChecksWholeFile: every problem is reported by line,
// and nothing is written.
func TestImportDimensionsChecksWholeFile(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	tests := []struct {
		name, csv string
		want      []string // each must appear in the error
		is        error
	}{
		{"unknown parent", "dimension,member,name,parent\nproduct,all,All,\nproduct,p1,P1,pumps\n",
			[]string{`row 3`, `no row of dimension "product" lists member "pumps"`}, dimension.ErrUnknownMember},
		{"duplicate", "dimension,member,name,parent\nproduct,all,All,\nproduct,p1,P1,all\nproduct,p1,P one,all\n",
			[]string{`row 4`, `listed twice: also on line 3`}, dimension.ErrDuplicateMember},
		{"cycle", "dimension,member,name,parent\nproduct,all,All,\nproduct,a,A,b\nproduct,b,B,a\n",
			[]string{`row 3`, `row 4`, `"a" is below itself: a → b → a`}, dimension.ErrCycle},
		{"two roots", "dimension,member,name,parent\nproduct,all,All,\nproduct,other,Other,\n",
			[]string{`row 3`, `has one root, "all" on line 2`}, dimension.ErrRoot},
		{"no root", "dimension,member,name,parent\nproduct,a,A,b\nproduct,b,B,a\n",
			[]string{`has no root`}, dimension.ErrNotDefined},
		{"bad id", "dimension,member,name,parent\nproduct,all,All,\nproduct,p 1,P1,all\n",
			[]string{`row 3`, `not a valid member id`}, dimension.ErrInvalidID},
		{"another root than the store's", "dimension,member,name,parent\nregion,earth,Earth,\n",
			[]string{`the dimension's root is "world"`}, dimension.ErrRoot},
	}
	for _, tt := range tests {
		before := f.head(t)
		_, err := f.svc.ImportDimensions(ctx, planner, members(t, tt.csv), false)
		if !errors.Is(err, planning.ErrValidation) || !errors.Is(err, tt.is) {
			t.Errorf("%s: ImportDimensions error = %v, want a validation error matching %v", tt.name, err, tt.is)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tt.name, err, w)
			}
		}
		if f.head(t) != before {
			t.Errorf("%s: a rejected file wrote events", tt.name)
		}
	}
}

// TestEnsurePlanAndUpsert: a plan file opens the plan once; the same file
// again records nothing, a different one is refused naming the field; an
// upsert sets, revises or leaves a target as needed.
func TestEnsurePlanAndUpsert(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	file := "plan,name,currency,fiscal_year_start,dimensions,horizon_start,metric,metric_name,unit,non_negative\n" +
		"acme,Acme,EUR,4,region,2027-04,revenue,Revenue,EUR,true\n" +
		"acme,Acme,EUR,4,region,2027-04,units,Units,units,true\n"
	read := func(csv string) planning.OpenPlan {
		rows, bad, err := csvimport.ReadPlan(strings.NewReader(csv))
		if err != nil || len(bad) > 0 {
			t.Fatalf("ReadPlan: %v %v", err, bad)
		}
		in, err := planning.PlanFromRows(rows)
		if err != nil {
			t.Fatalf("PlanFromRows: %v", err)
		}
		return in
	}
	for i, want := range []bool{true, false} {
		_, created, err := f.svc.EnsurePlan(ctx, planner, read(file))
		if err != nil || created != want {
			t.Fatalf("EnsurePlan #%d = %v, %v; want created %v", i+1, created, err, want)
		}
	}
	changed := read(strings.ReplaceAll(file, "EUR,4", "USD,4"))
	if _, _, err := f.svc.EnsurePlan(ctx, planner, changed); !errors.Is(err, plan.ErrAlreadyOpened) || !strings.Contains(err.Error(), `currency "EUR"`) {
		t.Errorf("EnsurePlan of a changed definition: %v, want a refusal naming the currency", err)
	}
	if _, err := planning.PlanFromRows([]planning.PlanRow{{Plan: "a", FiscalYearStart: "13", Metric: "m"}, {Plan: "b", FiscalYearStart: "13", Metric: "m"}}); err == nil ||
		!strings.Contains(err.Error(), "fiscal_year_start") || !strings.Contains(err.Error(), "listed twice") || !strings.Contains(err.Error(), `line 1 has "a"`) {
		t.Errorf("PlanFromRows of a bad file: %v", err)
	}

	upsert := func(amount string) {
		t.Helper()
		if _, err := f.svc.ChangeTargets(ctx, planner, "acme", []planning.TargetChange{{Op: planning.OpUpsert, Node: "region=emea",
			Metric: "revenue", Span: "FY2027", Amount: amount, Reason: "budget"}}); err != nil {
			t.Fatalf("upsert %s: %v", amount, err)
		}
	}
	for _, st := range []struct {
		amount    string
		wantWrite bool
	}{{"100", true}, {"100", false}, {"120", true}} {
		before := f.head(t)
		upsert(st.amount)
		if wrote := f.head(t) != before; wrote != st.wantWrite {
			t.Errorf("upsert %s wrote %v, want %v", st.amount, wrote, st.wantWrite)
		}
	}
	p, _, err := f.svc.Plan(ctx, viewer.By, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if ts := p.Targets(); len(ts) != 1 || ts[0].Amount.String() != "120" {
		t.Errorf("targets after upserts = %v, want one of 120", ts)
	}
}

// TestRemoveMember: a member added by mistake is removed while no plan
// uses its dimension; once one does, the refusal names the plan and says
// to rename or retire instead.
func TestRemoveMember(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	if _, err := f.svc.ImportDimensions(ctx, planner, members(t, "dimension,member,name,parent\nchannel,any,Any,\nchannel,direct,Direct,any\nchannel,drect,Drect,any\n"), false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RemoveMember(ctx, planner, "channel", "drect"); err != nil {
		t.Fatalf("RemoveMember of an unused dimension: %v", err)
	}
	d, _, err := f.svc.Dimension(ctx, viewer.By, "channel")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Member("drect"); ok {
		t.Errorf("drect is still a member after its removal: %v", d.Members())
	}
	if _, err := f.svc.AddMember(ctx, planner, planning.AddMember{Dimension: "channel", ID: "drect", Name: "again", Parent: "any"}); !errors.Is(err, dimension.ErrDuplicateMember) {
		t.Errorf("re-adding a removed id: %v, want ErrDuplicateMember", err)
	}
	before := f.head(t)
	_, err = f.svc.RemoveMember(ctx, planner, "region", "amer")
	if !errors.Is(err, planning.ErrInUse) || !strings.Contains(err.Error(), "p1, p2") || !strings.Contains(err.Error(), "rename it or retire it") {
		t.Errorf("RemoveMember of a dimension plans use: %v, want ErrInUse naming p1, p2", err)
	}
	if f.head(t) != before {
		t.Error("a refused removal wrote events")
	}
	if _, err := f.svc.RemoveMember(ctx, viewer, "channel", "direct"); !errors.Is(err, planning.ErrForbidden) {
		t.Errorf("RemoveMember as a viewer: %v, want ErrForbidden", err)
	}
}

// TestDiscardPlan: a plan opened by mistake is discarded while it holds
// nothing; then it takes no commands, is not found, frees its dimensions'
// members for removal, and its id is not reused. A plan with targets is
// refused, saying what it holds.
func TestDiscardPlan(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	if _, err := f.svc.ChangeTarget(ctx, planner, "p2", planning.TargetChange{Op: planning.OpSet, Node: "region=emea", Metric: "revenue",
		Span: "FY2027", Amount: "10", Reason: "budget"}); err != nil {
		t.Fatal(err)
	}
	before := f.head(t)
	if _, err := f.svc.DiscardPlan(ctx, planner, "p2", "by mistake"); !errors.Is(err, plan.ErrInUse) || !strings.Contains(err.Error(), "1 targets (clear them first)") {
		t.Errorf("DiscardPlan of a plan with a target: %v, want plan.ErrInUse naming the target", err)
	}
	if _, err := f.svc.DiscardPlan(ctx, planner, "p1", ""); !errors.Is(err, plan.ErrReasonRequired) {
		t.Errorf("DiscardPlan without a reason: %v, want ErrReasonRequired", err)
	}
	if f.head(t) != before {
		t.Error("a refused discard wrote events")
	}
	if _, err := f.svc.DiscardPlan(ctx, planner, "p1", "opened twice by mistake"); err != nil {
		t.Fatalf("DiscardPlan: %v", err)
	}
	if _, _, err := f.svc.Plan(ctx, viewer.By, "p1"); !errors.Is(err, plan.ErrNotOpened) {
		t.Errorf("Plan(p1) after its discard: %v, want ErrNotOpened", err)
	}
	if _, err := f.svc.ChangeTarget(ctx, planner, "p1", planning.TargetChange{Op: planning.OpSet, Node: "region=emea", Metric: "revenue",
		Span: "FY2027", Amount: "10", Reason: "budget"}); !errors.Is(err, plan.ErrNotOpened) || !strings.Contains(err.Error(), "discarded") {
		t.Errorf("a target on a discarded plan: %v, want ErrNotOpened saying it was discarded", err)
	}
	if _, err := f.svc.OpenPlan(ctx, planner, planning.OpenPlan{ID: "p1", Name: "again", Currency: "EUR", FiscalYearStart: 1,
		Dimensions: []string{"region"}, HorizonStart: "2027-01", Metrics: []plan.Metric{{ID: "revenue", Name: "Revenue"}}}); !errors.Is(err, plan.ErrAlreadyOpened) {
		t.Errorf("re-opening a discarded plan's id: %v, want ErrAlreadyOpened", err)
	}
	if _, err := f.svc.ClosePeriod(ctx, planner, planning.ClosePeriod{Period: "2027-01", AllowMissing: true, Reason: "test"}); err != nil {
		t.Errorf("ClosePeriod with a discarded plan: %v", err)
	}
	_, err := f.svc.RemoveMember(ctx, planner, "region", "amer")
	if !errors.Is(err, planning.ErrInUse) || strings.Contains(err.Error(), "p1") {
		t.Errorf("RemoveMember with p1 discarded and p2 open: %v, want ErrInUse naming p2 only", err)
	}
}
