package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/concord-planning/concord/api"
	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/projections/view"
)

// TestIncoherentTargetsRefused: a revision, and a region-only reallocation
// that leaves a region's product targets behind, are refused (409) with
// the nodes and amounts that do not add up, and record nothing; a batch
// that keeps every sum is taken.
func TestIncoherentTargetsRefused(t *testing.T) {
	e := newEnv(t, api.Config{})
	e.openPlan()
	batch := `{"rows":[
		{"op":"set","node":"region=emea","metric":"revenue","span":"FY2027","amount":"1000000","reason":"budget"},
		{"op":"set","node":"region=de","metric":"revenue","span":"FY2027","amount":"600000","reason":"budget"},
		{"op":"set","node":"region=fr","metric":"revenue","span":"FY2027","amount":"400000","reason":"budget"},
		{"op":"set","node":"region=de;product=pumps","metric":"revenue","span":"FY2027","amount":"400000","reason":"budget"},
		{"op":"set","node":"region=de;product=valves","metric":"revenue","span":"FY2027","amount":"200000","reason":"budget"}]}`
	if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/targets/batch", as: "alice", body: batch}); w.Code != 200 {
		t.Fatalf("a coherent batch: %d %s", w.Code, w.Body.String())
	}
	tests := []struct {
		name string
		r    req
		says string
	}{
		{"a revision", req{method: "POST", path: "/api/v1/plans/fy27/targets/revise", as: "alice",
			body: `{"node":"region=fr","metric":"revenue","span":"FY2027","amount":"350000","reason":"France down"}`},
			"Germany 600,000 + France 350,000 = 950,000, but EMEA FY2027 is 1,000,000"},
		{"a region-only reallocation", req{method: "POST", path: "/api/v1/plans/fy27/reallocations", as: "sam",
			body: `{"id":"r1","metric":"revenue","span":"FY2027","moves":[{"node":"region=de","delta":"-100"},{"node":"region=fr","delta":"100"}],"reason":"shift"}`},
			"Germany × Pumps 400,000 + Germany × Valves 200,000 = 600,000, but Germany FY2027 is 599,900"},
	}
	// The preview shows the conflict the proposal would be refused for.
	var pv view.Preview
	w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/reallocations/preview", as: "sam",
		body: `{"metric":"revenue","year":2027,"moves":[{"node":"region=de","delta":"-100"},{"node":"region=fr","delta":"100"}]}`})
	if err := json.Unmarshal(w.Body.Bytes(), &pv); err != nil || w.Code != 200 ||
		!slices.ContainsFunc(pv.Incoherent, func(c string) bool { return strings.Contains(c, "but Germany FY2027 is 599,900") }) {
		t.Errorf("preview = %d %s, want the conflict", w.Code, w.Body.String())
	}
	for _, tt := range tests {
		head := e.head()
		w := e.do(tt.r)
		var p api.Problem
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || w.Code != 409 || !strings.Contains(p.Detail, tt.says) {
			t.Errorf("%s = %d %s, want 409 saying %q", tt.name, w.Code, w.Body.String(), tt.says)
		}
		if e.head() != head {
			t.Errorf("%s was refused but moved the log from %v to %v", tt.name, head, e.head())
		}
	}
}

// TestConflictFromAnOlderLogIsReportedPerTarget: targets written before the
// commands checked coherence (EMEA 800,000 against Germany 500,000 +
// France 200,000) are reported as a conflict, and every node still gets
// its reconciled plan and latest estimate; before, every row was blank.
func TestConflictFromAnOlderLogIsReportedPerTarget(t *testing.T) {
	e := newEnv(t, api.Config{})
	e.seedCompany()
	ctx := context.Background()
	repo := eventstore.NewRepository[*plan.Plan, plan.Event](e.store, planning.NewRegistry(), plan.New)
	fy27 := fiscal.MustCalendar(time.April).FiscalYear(2027)
	if _, err := repo.Update(ctx, plan.Stream("fy27"), eventstore.Any, eventstore.Command{Metadata: eventstore.Metadata{Actor: "old-release"}}, func(p *plan.Plan) error {
		return errors.Join(p.SetTarget(dimension.MustParseNode("region=de"), "revenue", fy27, decimal.FromInt(500000), "budget", "old-release"),
			p.SetTarget(dimension.MustParseNode("region=fr"), "revenue", fy27, decimal.FromInt(200000), "budget", "old-release"))
	}); err != nil {
		t.Fatal(err)
	}
	var v view.Variance
	e.getJSON("/api/v1/plans/fy27/variance?metric=revenue&year=2027", "vera", &v)
	if len(v.Conflicts) == 0 {
		t.Errorf("no conflict reported")
	}
	for _, r := range v.Rows {
		if r.PlanToTarget == nil || r.LatestEstimate == nil {
			t.Errorf("row %s: plan to target %v, LE %v; want both", r.Member, r.PlanToTarget, r.LatestEstimate)
		}
		if r.Member == "world" && r.Probability == nil {
			t.Errorf("the total, whose target is not in the conflict, has no P(target)")
		}
	}
}

// TestCascadedRevision: a revision of EMEA with cascade moves Germany and
// France, and Germany's products, in proportion; the same revision without
// it is refused.
func TestCascadedRevision(t *testing.T) {
	e := newEnv(t, api.Config{})
	e.openPlan()
	batch := `{"rows":[
		{"op":"set","node":"region=emea","metric":"revenue","span":"FY2027","amount":"1000000","reason":"budget"},
		{"op":"set","node":"region=de","metric":"revenue","span":"FY2027","amount":"600000","reason":"budget"},
		{"op":"set","node":"region=fr","metric":"revenue","span":"FY2027","amount":"400000","reason":"budget"},
		{"op":"set","node":"region=de;product=pumps","metric":"revenue","span":"FY2027","amount":"400000","reason":"budget"},
		{"op":"set","node":"region=de;product=valves","metric":"revenue","span":"FY2027","amount":"200000","reason":"budget"}]}`
	if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/targets/batch", as: "alice", body: batch}); w.Code != 200 {
		t.Fatalf("batch: %d %s", w.Code, w.Body.String())
	}
	revise := `{"node":"region=emea","metric":"revenue","span":"FY2027","amount":"1100000","reason":"stretch"%s}`
	if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/targets/revise", as: "alice", body: fmt.Sprintf(revise, "")}); w.Code != 409 {
		t.Errorf("revise without cascade = %d %s, want 409", w.Code, w.Body.String())
	}
	if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/targets/set", as: "alice",
		body: `{"node":"region=us","metric":"revenue","span":"FY2027","amount":"1","reason":"r","cascade":true}`}); w.Code != 422 {
		t.Errorf("set with cascade = %d %s, want 422", w.Code, w.Body.String())
	}
	if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/targets/revise", as: "alice", body: fmt.Sprintf(revise, `,"cascade":true`)}); w.Code != 200 {
		t.Fatalf("revise with cascade = %d %s", w.Code, w.Body.String())
	}
	p, _, err := e.svc.Plan(context.Background(), planning.Principal{Actor: "vera", Role: access.RoleViewer}, "fy27")
	if err != nil {
		t.Fatal(err)
	}
	fy27 := p.Calendar().FiscalYear(2027)
	for node, want := range map[string]int64{"region=emea": 1100000, "region=de": 660000, "region=fr": 440000, "region=de;product=pumps": 440000, "region=de;product=valves": 220000} {
		if got, _ := p.Target(dimension.MustParseNode(node), "revenue", fy27); !got.Amount.Equal(decimal.FromInt(want)) {
			t.Errorf("%s = %v, want %d", node, got.Amount, want)
		}
	}
}

// TestTargetBatchDryRun: ?dry_run=true on a batch answers what the batch
// would meet — the sums it breaks (409, each in errors[]), rows it cannot
// take (422), or 200 — and records nothing; the same batch without it is
// taken.
func TestTargetBatchDryRun(t *testing.T) {
	e := newEnv(t, api.Config{})
	e.openPlan()
	base := `{"rows":[
		{"op":"set","node":"region=emea","metric":"revenue","span":"FY2027","amount":"1000000","reason":"budget"},
		{"op":"set","node":"region=de","metric":"revenue","span":"FY2027","amount":"600000","reason":"budget"},
		{"op":"set","node":"region=fr","metric":"revenue","span":"FY2027","amount":"400000","reason":"budget"}]}`
	if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/targets/batch", as: "alice", body: base}); w.Code != 200 {
		t.Fatalf("batch: %d %s", w.Code, w.Body.String())
	}
	broken := `{"rows":[
		{"op":"revise","node":"region=emea","metric":"revenue","span":"FY2027","amount":"1100000","reason":"stretch"},
		{"op":"revise","node":"region=de","metric":"revenue","span":"FY2027","amount":"650000","reason":"stretch"}]}`
	kept := `{"rows":[
		{"op":"revise","node":"region=emea","metric":"revenue","span":"FY2027","amount":"1100000","reason":"stretch"},
		{"op":"revise","node":"region=de","metric":"revenue","span":"FY2027","amount":"650000","reason":"stretch"},
		{"op":"upsert","node":"region=fr","metric":"revenue","span":"FY2027","amount":"450000","reason":"stretch"}]}`
	bad := `{"rows":[{"op":"revise","node":"region=nowhere","metric":"revenue","span":"FY2027","amount":"1","reason":"r"}]}`
	head := e.head()
	for _, tt := range []struct {
		name, body string
		code       int
		says       string
	}{
		{"a batch that breaks EMEA's sum", broken, 409, "Germany 650,000 + France 400,000 = 1,050,000, but EMEA FY2027 is 1,100,000"},
		{"a batch with an unknown node", bad, 422, "nowhere"},
		{"a coherent batch", kept, 200, `"dry_run":true,"rows":3`},
	} {
		w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/targets/batch?dry_run=true", as: "alice", body: tt.body})
		if w.Code != tt.code || !strings.Contains(w.Body.String(), tt.says) {
			t.Errorf("dry run of %s = %d %s, want %d saying %q", tt.name, w.Code, w.Body.String(), tt.code, tt.says)
		}
		if e.head() != head {
			t.Fatalf("the dry run of %s moved the log from %v to %v", tt.name, head, e.head())
		}
	}
	if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/targets/batch?dry_run=maybe", as: "alice", body: kept}); w.Code != 400 {
		t.Errorf("dry_run=maybe = %d %s, want 400", w.Code, w.Body.String())
	}
	if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/targets/batch", as: "alice", body: kept}); w.Code != 200 || e.head() == head {
		t.Errorf("the batch after its dry run = %d %s, want it recorded", w.Code, w.Body.String())
	}
}
