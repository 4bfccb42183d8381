package view_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/view"
	"github.com/concord-planning/concord/projections/view/viewtest"
	"github.com/google/uuid"
)

// TestHistoryQuality: forecast requests (132 against 3 published flooded
// the demo's first page) are left out of the history unless asked for,
// a filter excludes kinds; approvals carry their comment once ("approved
// approved by the board" before) and a reallocation's approval its own.
func TestHistoryQuality(t *testing.T) {
	ctx := context.Background()
	reg := viewtest.Registry()
	store, d, _ := viewtest.Seeded(t, "", reg)
	for i := range 5 {
		run := "req-run-" + string(rune('a'+i))
		ev, err := reg.Encode(uuid.New(), forecast.Requested{RunID: run, Plan: d.Plan, Metric: "revenue", Reason: "period closed",
			Period: fiscal.NewPeriod(2027, time.June)}, eventstore.Metadata{Actor: "reforecaster"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Append(ctx, forecast.Stream(run), eventstore.NoStream, ev); err != nil {
			t.Fatal(err)
		}
	}
	svc := planning.New(store, reg)
	ben := planning.Call{By: planning.Principal{Actor: "ben", Role: access.RolePlanner}}
	_, v, err := svc.Plan(ctx, ben.By, d.Plan)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ApproveVersion(ctx, ben, d.Plan, v, "Q1 reforecast", "approved by the board"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ProposeReallocation(ctx, planning.Call{By: planning.Principal{Actor: "ana", Role: access.RolePlanner}}, d.Plan,
		planning.ProposeReallocation{ID: "r-9", Metric: "revenue", Span: "FY2028", Moves: []planning.Move{{Node: "region=dach", Delta: "-5"}, {Node: "region=uk", Delta: "5"}}, Reason: "shift"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ApproveReallocation(ctx, ben, d.Plan, "r-9", "fine by finance"); err != nil {
		t.Fatal(err)
	}

	q := view.NewService(store, reg)
	types := func(hq view.HistoryQuery) map[string]int {
		t.Helper()
		hq.Limit = 1000
		h, err := q.History(ctx, d.Plan, hq)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, it := range h.Items {
			out[it.Type]++
		}
		return out
	}
	if n := types(view.HistoryQuery{})[forecast.TypeRequested]; n != 0 {
		t.Errorf("the default history lists %d forecast requests, want none", n)
	}
	if got := types(view.HistoryQuery{Types: []string{forecast.TypeRequested}}); got[forecast.TypeRequested] != 5 || len(got) != 1 {
		t.Errorf("type=forecast.Requested lists %v, want the 5 requests only", got)
	}
	all := types(view.HistoryQuery{ExcludeTypes: []string{"plan.TargetSet"}})
	if all["plan.TargetSet"] != 0 || all[forecast.TypeRequested] != 5 || all["plan.VersionTagged"] == 0 {
		t.Errorf("exclude_type=plan.TargetSet lists %v, want no TargetSet, the requests and the rest", all)
	}

	h, err := q.History(ctx, d.Plan, view.HistoryQuery{Types: []string{"plan.VersionApproved", "plan.ReallocationApproved"}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var summaries []string
	for _, it := range h.Items {
		summaries = append(summaries, it.Summary)
		if strings.Contains(it.Summary, "approved approved") {
			t.Errorf("summary %q says approved twice", it.Summary)
		}
	}
	for _, want := range []string{`approved: approved by the board`, `Reallocation r-9 approved: fine by finance`} {
		if !slices.ContainsFunc(summaries, func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("summaries %q lack %q", summaries, want)
		}
	}
}

// TestDiffSaysWhoChanged: each row of the diff between two versions
// carries who changed the target last, when, at which position and why
// (before, only the amounts).
func TestDiffSaysWhoChanged(t *testing.T) {
	ctx := context.Background()
	reg := viewtest.Registry()
	store, d, _ := viewtest.Seeded(t, "", reg)
	svc := planning.New(store, reg)
	erin := planning.Call{By: planning.Principal{Actor: "erin", Role: access.RolePlanner}}
	if _, err := svc.ChangeTarget(ctx, erin, d.Plan, planning.TargetChange{Op: planning.OpClear, Node: "region=brazil", Metric: "revenue", Span: "FY2028", Reason: "market exit"}); err != nil {
		t.Fatal(err)
	}
	q := view.NewService(store, reg)
	diff, err := q.Diff(ctx, d.Plan, "tag:Budget FY28", "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{ // node → changed_by, reason
		"region=dach":   {"paul", "reallocation r-1: UK pipeline is stronger than planned; DACH lost a key account"},
		"region=uk":     {"paul", "reallocation r-1: UK pipeline is stronger than planned; DACH lost a key account"},
		"region=brazil": {"erin", "market exit"},
	}
	for _, c := range diff.Changes {
		w, ok := want[c.Node]
		if !ok || c.Span != "FY2028" {
			continue
		}
		delete(want, c.Node)
		if c.ChangedBy != w[0] || c.Reason != w[1] || c.ChangedAt == "" || c.ChangedPosition == "" {
			t.Errorf("change of %s = by %q at %q (position %q), reason %q; want by %q, reason %q, with time and position", c.Node, c.ChangedBy, c.ChangedAt, c.ChangedPosition, c.Reason, w[0], w[1])
		}
		if _, err := time.Parse(time.RFC3339, c.ChangedAt); err != nil {
			t.Errorf("changed_at %q: %v", c.ChangedAt, err)
		}
	}
	if len(want) > 0 {
		t.Errorf("the diff lacks the changes of %v", want)
	}
}

// readCounter counts the events its store's ReadAll returns.
type readCounter struct {
	eventstore.Store
	read int
}

func (r *readCounter) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	recs, err := r.Store.ReadAll(ctx, after, limit)
	r.read += len(recs)
	return recs, err
}

// TestHistoryAtAPositionReadsThatEvent: the history asked for exactly the
// position a write returned (how a replica shows another's write) reads
// that event from the store, not the page of events before it: a
// period close's forecast runs, megabytes of series, made that read take
// seconds on a replica of a large company (BenchmarkReadBack). A page of
// the newest items reads a few more events than it lists, not a whole page.
func TestHistoryAtAPositionReadsThatEvent(t *testing.T) {
	ctx := context.Background()
	l, err := company.Generate(company.Small(5))
	if err != nil {
		t.Fatal(err)
	}
	clock := &viewtest.Clock{}
	base := viewtest.OpenStore(t, "", clock)
	if err := l.AppendTo(ctx, base, clock.Set); err != nil {
		t.Fatal(err)
	}
	store := &readCounter{Store: base}
	q := view.NewService(store, company.Registry())
	t.Cleanup(q.Close)
	admin := planning.Call{By: planning.Principal{Actor: "ana", Role: access.RoleAdmin}}
	res, err := planning.New(base, company.Registry()).RenamePlan(ctx, admin, l.PlanID, "Renamed")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Live(ctx); err != nil {
		t.Fatal(err)
	}
	if q.Events() < 4096 {
		t.Fatalf("the company's log holds %d events, want more than two pages", q.Events())
	}
	pos := res.Position.String()
	store.read = 0
	h, err := q.History(ctx, l.PlanID, view.HistoryQuery{From: pos, To: pos, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Items) != 1 || h.Items[0].Position != pos || h.Items[0].Type != "plan.Renamed" {
		t.Fatalf("the history at %s: %+v, want the rename", pos, h.Items)
	}
	if store.read != 1 {
		t.Errorf("the history at one position read %d events from the store, want 1", store.read)
	}
	store.read = 0
	if h, err = q.History(ctx, l.PlanID, view.HistoryQuery{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	if len(h.Items) != 1 || h.Items[0].Position != pos {
		t.Fatalf("the newest item of the history: %+v, want the rename at %s", h.Items, pos)
	}
	if store.read > 64 {
		t.Errorf("the newest item of the history read %d events from the store, want at most 64", store.read)
	}
}
