package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/concord-planning/concord/api"
	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/planning"
)

// TestCommands runs every command once, in an order that makes each
// succeed, and checks its status, that it appended (the log's head moved to
// the position it reports) and its ETag.
func TestCommands(t *testing.T) {
	e := newEnv(t, api.Config{})
	steps := []struct {
		name   string
		r      req
		want   int
		events int // how many events the command appends
	}{
		{"define dimension", req{method: "POST", path: "/api/v1/dimensions", as: "alice", body: `{"id":"segment","name":"Segment","root_id":"any","root_name":"All segments"}`}, 201, 1},
		{"add member", req{method: "POST", path: "/api/v1/dimensions/segment/members", as: "alice", body: `{"id":"smb","name":"SMB","parent":"any"}`}, 200, 1},
		{"add member 2", req{method: "POST", path: "/api/v1/dimensions/segment/members", as: "alice", body: `{"id":"ent","name":"Enterprise","parent":"any"}`}, 200, 1},
		{"add member 3", req{method: "POST", path: "/api/v1/dimensions/segment/members", as: "alice", body: `{"id":"big","name":"Big","parent":"any"}`}, 200, 1},
		{"rename member", req{method: "POST", path: "/api/v1/dimensions/segment/members/ent/rename", as: "alice", body: `{"name":"Large enterprise"}`}, 200, 1},
		{"move member", req{method: "POST", path: "/api/v1/dimensions/segment/members/ent/move", as: "alice", body: `{"parent":"big"}`}, 200, 1},
		{"retire member", req{method: "POST", path: "/api/v1/dimensions/segment/members/smb/retire", as: "alice", body: `{}`}, 200, 1},
		{"open plan", req{method: "POST", path: "/api/v1/plans", as: "alice", body: `{"id":"fy27","name":"FY27","currency":"EUR","fiscal_year_start":4,
			"dimensions":["region","product"],"horizon_start":"2026-04","horizon_months":18,
			"metrics":[{"id":"revenue","name":"Revenue","unit":"EUR","non_negative":true},{"id":"margin","name":"Margin"}]}`}, 201, 1},
		{"set target", req{method: "POST", path: "/api/v1/plans/fy27/targets/set", as: "alice", body: `{"node":"region=emea","metric":"revenue","span":"FY2027","amount":"1000.50","reason":"budget"}`}, 200, 1},
		{"set target, number", req{method: "POST", path: "/api/v1/plans/fy27/targets/set", as: "alice", body: `{"node":"region=amer","metric":"revenue","span":"FY2027","amount":800,"reason":"budget"}`}, 200, 1},
		{"revise target", req{method: "POST", path: "/api/v1/plans/fy27/targets/revise", as: "alice", body: `{"node":"region=emea","metric":"revenue","span":"FY2027","amount":"1200","reason":"upside"}`}, 200, 1},
		{"set target to clear", req{method: "POST", path: "/api/v1/plans/fy27/targets/set", as: "alice", body: `{"node":"","metric":"margin","span":"FY2027-Q1","amount":"-5","reason":"r"}`}, 200, 1},
		{"clear target", req{method: "POST", path: "/api/v1/plans/fy27/targets/clear", as: "alice", body: `{"node":"","metric":"margin","span":"FY2027-Q1","reason":"dropped"}`}, 200, 1},
		{"batch JSON", req{method: "POST", path: "/api/v1/plans/fy27/targets/batch", as: "alice", body: `{"rows":[
			{"op":"set","node":"region=de;product=pumps","metric":"revenue","span":"2026-05","amount":"10","reason":"r"},
			{"op":"revise","node":"region=de;product=pumps","metric":"revenue","span":"2026-05","amount":"12","reason":"r"},
			{"op":"set","node":"region=fr","metric":"revenue","span":"FY2027","amount":"300","reason":"r"}]}`}, 200, 3},
		{"batch CSV", req{method: "POST", path: "/api/v1/plans/fy27/targets/batch", as: "alice", ctype: "text/csv",
			body: "op,node,metric,span,amount,reason\nset,region=us,revenue,2026-06,500,r\nclear,region=fr,revenue,FY2027,,gone\nset,region=de,revenue,FY2027,200,r\n"}, 200, 3},
		{"propose (sales in scope)", req{method: "POST", path: "/api/v1/plans/fy27/reallocations", as: "sam", body: `{"id":"r1","metric":"revenue","span":"FY2027",
			"moves":[{"node":"region=emea","delta":"-100"},{"node":"region=de","delta":100}],"reason":"shift"}`}, 201, 1},
		{"approve reallocation", req{method: "POST", path: "/api/v1/plans/fy27/reallocations/r1/approve", as: "bob", body: `{}`}, 200, 3},
		{"propose again", req{method: "POST", path: "/api/v1/plans/fy27/reallocations", as: "alice", body: `{"id":"r2","metric":"revenue","span":"FY2027",
			"moves":[{"node":"region=emea","delta":"-1"},{"node":"region=amer","delta":"1"}],"reason":"shift"}`}, 201, 1},
		{"reject reallocation", req{method: "POST", path: "/api/v1/plans/fy27/reallocations/r2/reject", as: "bob", body: `{"reason":"no"}`}, 200, 1},
		{"tag version", req{method: "POST", path: "/api/v1/plans/fy27/tags", as: "alice", body: `{"tag":"Budget FY27"}`}, 200, 1},
		{"approve version", req{method: "POST", path: "/api/v1/plans/fy27/approvals", as: "bob", body: `{"version":18,"tag":"Budget FY27","comment":"ok"}`}, 200, 1},
		{"set estimate policy", req{method: "POST", path: "/api/v1/plans/fy27/estimate-policy", as: "alice", body: `{"metric":"revenue","policy":"blend","commit_weight":0.4,"reason":"sales and the model"}`}, 200, 1},
		{"record actuals JSON", req{method: "POST", path: "/api/v1/plans/fy27/actuals", as: "alice", body: `{"import_id":"erp-1","rows":[
			{"cell":"region=de;product=pumps","metric":"revenue","period":"2027-02","amount":"10.25"},
			{"cell":"region=fr;product=pumps","metric":"revenue","period":"2027-03","amount":7},
			{"cell":"region=us;product=valves","metric":"margin","period":"2027-03","amount":"-1.5"}]}`}, 200, 5}, // 3 actuals + a forecast request per metric
		{"record actuals CSV", req{method: "POST", path: "/api/v1/plans/fy27/actuals?import_id=erp-2", as: "alice", ctype: "text/csv; charset=utf-8",
			body: "cell,metric,period,amount\nregion=de;product=valves,revenue,2027-03,4\n"}, 200, 3},
		{"reforecast", req{method: "POST", path: "/api/v1/plans/fy27/reforecast", as: "alice", body: `{"through":"2027-03"}`}, 202, 2},
		{"restate actual", req{method: "POST", path: "/api/v1/plans/fy27/actuals/restate", as: "alice", body: `{"cell":"region=de;product=valves","metric":"revenue","period":"2027-03","amount":"5","reason":"late invoice"}`}, 200, 1},
		{"submit commit", req{method: "POST", path: "/api/v1/plans/fy27/commits", as: "sam", body: `{"id":"c1","node":"region=de","metric":"revenue","span":"FY2027-Q4","amount":"250","confidence":"commit","comment":"pipeline"}`}, 200, 1},
		{"withdraw commit", req{method: "POST", path: "/api/v1/plans/fy27/commits/c1/withdraw", as: "sam", body: `{"reason":"slipped"}`}, 200, 1},
		{"publish forecast", req{method: "POST", path: "/api/v1/plans/fy27/forecasts", as: "alice", body: `{"run_id":"run-1","metric":"revenue","data_position":"20","seed":7,"model":{"m":"ets"},
			"series":[{"node":"region=emea","first":"2027-04","mean":[1,2],"lo80":[0,1],"hi80":[2,3],"lo95":[-1,0],"hi95":[3,4],"model":"ETS(A,N,N)",
			"detail":{"alpha":0.3}}]}`}, 200, 2}, // a part and the seal
		{"close period", req{method: "POST", path: "/api/v1/periods/2026-04/close", as: "alice", body: `{"allow_missing":true,"reason":"no sales yet"}`}, 200, 2}, // ledger + one plan horizon
		{"issue token", req{method: "POST", path: "/api/v1/tokens", as: "admin", body: `{"name":"erp","role":"planner"}`}, 201, 1},
		{"revoke token", req{method: "POST", path: "/api/v1/tokens/{erp}/revoke", as: "admin", body: `{"reason":"rotated"}`}, 200, 1},
	}
	var erpID string
	for _, s := range steps {
		if strings.Contains(s.r.path, "{erp}") {
			s.r.path = strings.Replace(s.r.path, "{erp}", erpID, 1)
		}
		before := e.head()
		w := e.do(s.r)
		if w.Code != s.want {
			t.Fatalf("%s: %s %s = %d, want %d: %s", s.name, s.r.method, s.r.path, w.Code, s.want, w.Body.String())
		}
		after := e.head()
		if got := after.Commit - before.Commit; got != uint64(s.events) {
			t.Errorf("%s appended %d events, want %d", s.name, got, s.events)
		}
		if p := w.Header().Get(api.HeaderPosition); p != after.String() {
			t.Errorf("%s: %s = %q, want the head %v", s.name, api.HeaderPosition, p, after)
		}
		if s.name == "issue token" {
			var out api.TokenOutput
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out.Secret, planning.TokenPrefix) || out.Role != "planner" {
				t.Errorf("issued %+v", out)
			}
			erpID = out.ID
			e.tok["erp"] = out.Secret
		}
	}

	// The reads agree with what the commands did.
	w := e.do(req{method: "GET", path: "/api/v1/plans/fy27", as: "vera"})
	if w.Code != 200 {
		t.Fatalf("GET plan = %d: %s", w.Code, w.Body.String())
	}
	var p api.Plan
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.HorizonFirst != "2026-05" || len(p.Tags) != 1 || len(p.Approvals) != 1 || len(p.Reallocations) != 2 || p.Reallocations[0].Status != "approved" {
		t.Errorf("GET plan = %+v", p)
	}
	if w.Header().Get("ETag") != `"22"` { // 21 plan events before the estimate policy
		t.Errorf("plan ETag = %q, want \"22\"", w.Header().Get("ETag"))
	}
	w = e.do(req{method: "GET", path: "/api/v1/dimensions/segment", as: "sam"})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"name":"Large enterprise","parent":"big"`) || w.Header().Get("ETag") != `"7"` {
		t.Errorf("GET dimension = %d %s %s", w.Code, w.Header().Get("ETag"), w.Body.String())
	}
	// The revoked token no longer authenticates.
	if w := e.do(req{method: "GET", path: "/api/v1/plans/fy27", as: "erp"}); w.Code != http.StatusUnauthorized {
		t.Errorf("revoked token: GET = %d, want 401", w.Code)
	}
	// Amounts are kept exactly as entered.
	ctx := context.Background()
	l, _, err := eventstore.NewRepository[*ledger.Ledger, ledger.Event](e.store, planning.NewRegistry(), func() *ledger.Ledger { return ledger.New(mustPeriod("2027-03")) }).Load(ctx, "ledger-2027-03")
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Actuals(); len(got) != 3 || got[0].Amount.String() != "-1.5" || got[2].Amount.String() != "5" {
		t.Errorf("ledger 2027-03 = %+v", got)
	}
	b, _, err := eventstore.NewRepository[*commit.Book, commit.Event](e.store, planning.NewRegistry(), commit.New).Load(ctx, commit.Stream("fy27"))
	if err != nil {
		t.Fatal(err)
	}
	if en, ok := b.Entry("c1"); !ok || en.By != "token:sam" || en.WithdrawnBy != "token:sam" {
		t.Errorf("commit c1 = %+v", en)
	}
	pl, _, err := eventstore.NewRepository[*plan.Plan, plan.Event](e.store, planning.NewRegistry(), plan.New).Load(ctx, plan.Stream("fy27"))
	if err != nil {
		t.Fatal(err)
	}
	var amounts []string
	for _, tg := range pl.Targets() {
		amounts = append(amounts, tg.Node.String()+"="+tg.Amount.String())
	}
	if got, want := strings.Join(amounts, " "), "product=pumps;region=de=12 region=amer=800 region=de=300 region=emea=1100 region=us=500"; got != want {
		t.Errorf("targets = %s, want %s", got, want)
	}
}
