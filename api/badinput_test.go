package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/concord-planning/concord/api"
)

// fieldErr is an expected item of a problem's errors: zero fields are not
// compared.
type fieldErr struct {
	row   int
	field string
	value string
}

// TestBadInput sends requests that must be refused with a precise status
// and, where the request is a batch or a field problem, the rows and
// fields at fault; each must leave the log exactly as it was.
func TestBadInput(t *testing.T) {
	e := newEnv(t, api.Config{BodyLimit: 2048, UploadLimit: 8192, MaxBatchRows: 5})
	e.openPlan()
	setup := []req{
		{method: "POST", path: "/api/v1/plans/fy27/targets/set", as: "alice", body: `{"node":"region=emea","metric":"revenue","span":"FY2027","amount":"100","reason":"budget"}`},
		{method: "POST", path: "/api/v1/plans/fy27/actuals", as: "alice", body: `{"import_id":"erp-0","rows":[{"cell":"region=de;product=pumps","metric":"revenue","period":"2027-01","amount":"1"}]}`},
		{method: "POST", path: "/api/v1/periods/2026-04/close", as: "alice", body: `{"allow_missing":true,"reason":"no sales yet"}`},
	}
	for _, r := range setup {
		if w := e.do(r); w.Code >= 300 {
			t.Fatalf("setup %s: %d %s", r.path, w.Code, w.Body.String())
		}
	}
	set := "/api/v1/plans/fy27/targets/set"
	actuals := "/api/v1/plans/fy27/actuals"
	tests := []struct {
		name   string
		r      req
		status int
		errs   []fieldErr // expected among the problem's errors
		detail string     // expected in the detail
	}{
		{"malformed JSON", req{method: "POST", path: set, as: "alice", body: `{"node":`}, 400, nil, "ends in the middle"},
		{"estimate policy: unknown kind and a blend weight of 2", req{method: "POST", path: "/api/v1/plans/fy27/estimate-policy", as: "alice", body: `{"policy":"gut","commit_weight":2,"reason":"r"}`}, 422, nil, `policy "gut": want statistical, commit or blend`},
		{"estimate policy: blend weight 1", req{method: "POST", path: "/api/v1/plans/fy27/estimate-policy", as: "alice", body: `{"metric":"revenue","policy":"blend","commit_weight":1,"reason":"r"}`}, 422, nil, "strictly between 0 and 1"},
		{"not JSON", req{method: "POST", path: set, as: "alice", body: `node=emea`}, 400, nil, "malformed JSON"},
		{"two values", req{method: "POST", path: set, as: "alice", body: `{} {}`}, 400, nil, "more than one"},
		{"empty body", req{method: "POST", path: set, as: "alice", ctype: "application/json"}, 400, nil, "empty"},
		{"unknown field", req{method: "POST", path: set, as: "alice", body: `{"node":"region=emea","metric":"revenue","span":"FY2027","amount":"1","reason":"r","colour":"red"}`}, 400, []fieldErr{{field: "colour"}}, ""},
		{"actor in body", req{method: "POST", path: set, as: "alice", body: `{"node":"region=emea","metric":"revenue","span":"FY2026","amount":"1","reason":"r","actor":"ceo"}`}, 400, []fieldErr{{field: "actor"}}, "actor"},
		{"by in body", req{method: "POST", path: "/api/v1/plans/fy27/tags", as: "alice", body: `{"tag":"x","by":"ceo"}`}, 400, []fieldErr{{field: "by"}}, ""},
		{"wrong type: amount bool", req{method: "POST", path: set, as: "alice", body: `{"node":"region=emea","metric":"revenue","span":"FY2026","amount":true,"reason":"r"}`}, 400, []fieldErr{{field: "amount"}}, ""},
		{"wrong type: name number", req{method: "POST", path: "/api/v1/dimensions", as: "alice", body: `{"id":"x","name":5,"root_id":"r","root_name":"R"}`}, 400, []fieldErr{{field: "name"}}, ""},
		{"wrong type: rows object", req{method: "POST", path: actuals, as: "alice", body: `{"import_id":"x","rows":{}}`}, 400, []fieldErr{{field: "rows"}}, ""},
		{"NaN literal", req{method: "POST", path: set, as: "alice", body: `{"node":"region=emea","metric":"revenue","span":"FY2026","amount":NaN,"reason":"r"}`}, 400, nil, "malformed JSON"},
		{"NaN string", req{method: "POST", path: set, as: "alice", body: `{"node":"region=emea","metric":"revenue","span":"FY2026","amount":"NaN","reason":"r"}`}, 400, []fieldErr{{field: "amount"}}, ""},
		{"infinite string", req{method: "POST", path: set, as: "alice", body: `{"node":"region=emea","metric":"revenue","span":"FY2026","amount":"-Infinity","reason":"r"}`}, 400, []fieldErr{{field: "amount"}}, ""},
		{"infinite number", req{method: "POST", path: set, as: "alice", body: `{"node":"region=emea","metric":"revenue","span":"FY2026","amount":1e999,"reason":"r"}`}, 400, []fieldErr{{field: "amount"}}, ""},
		{"infinite float in a series", req{method: "POST", path: "/api/v1/plans/fy27/forecasts", as: "alice", body: `{"run_id":"r","metric":"revenue","data_position":"1","model":{},"series":[{"node":"","first":"2027-04","mean":[1e400],"lo80":[0],"hi80":[0],"lo95":[0],"hi95":[0]}]}`}, 400, []fieldErr{{field: "series.mean"}}, ""},
		{"NaN in a series", req{method: "POST", path: "/api/v1/plans/fy27/forecasts", as: "alice", body: `{"run_id":"r","metric":"revenue","data_position":"1","model":{},"series":[{"node":"","first":"2027-04","mean":["NaN"],"lo80":[0],"hi80":[0],"lo95":[0],"hi95":[0]}]}`}, 400, []fieldErr{{field: "series.mean"}}, ""},
		{"negative horizon", req{method: "POST", path: "/api/v1/plans", as: "alice", body: `{"id":"p2","name":"P","currency":"EUR","fiscal_year_start":1,"dimensions":[],"horizon_start":"2027-01","horizon_months":-1,"metrics":[{"id":"m","name":"M"}]}`}, 400, []fieldErr{{field: "horizon_months"}}, ""},
		{"negative version", req{method: "POST", path: "/api/v1/plans/fy27/approvals", as: "bob", body: `{"version":-1}`}, 400, []fieldErr{{field: "version"}}, ""},
		{"negative seed", req{method: "POST", path: "/api/v1/plans/fy27/forecasts", as: "alice", body: `{"run_id":"r","metric":"revenue","data_position":"1","seed":-3,"model":{},"series":[]}`}, 400, []fieldErr{{field: "seed"}}, ""},
		{"negative page size", req{method: "GET", path: "/api/v1/plans/fy27/targets?limit=-1", as: "vera"}, 400, []fieldErr{{field: "limit"}}, ""},
		{"bad cursor", req{method: "GET", path: "/api/v1/plans/fy27/targets?cursor=%25%25", as: "vera"}, 400, []fieldErr{{field: "cursor"}}, ""},
		{"negative target of a non-negative metric", req{method: "POST", path: set, as: "alice", body: `{"node":"region=amer","metric":"revenue","span":"FY2027","amount":"-1","reason":"r"}`}, 422, []fieldErr{{field: "amount", value: "-1"}}, ""},
		{"amount with exponent", req{method: "POST", path: set, as: "alice", body: `{"node":"region=amer","metric":"revenue","span":"FY2027","amount":1e3,"reason":"r"}`}, 422, []fieldErr{{field: "amount", value: "1e3"}}, ""},
		{"unknown node member", req{method: "POST", path: set, as: "alice", body: `{"node":"region=mars","metric":"revenue","span":"FY2027","amount":"1","reason":"r"}`}, 422, []fieldErr{{field: "node", value: "region=mars"}}, ""},
		{"unknown node dimension", req{method: "POST", path: set, as: "alice", body: `{"node":"colour=red","metric":"revenue","span":"FY2027","amount":"1","reason":"r"}`}, 422, []fieldErr{{field: "node", value: "colour=red"}}, ""},
		{"node syntax", req{method: "POST", path: set, as: "alice", body: `{"node":"emea","metric":"revenue","span":"FY2027","amount":"1","reason":"r"}`}, 422, []fieldErr{{field: "node", value: "emea"}}, ""},
		{"unknown metric", req{method: "POST", path: set, as: "alice", body: `{"node":"region=amer","metric":"profit","span":"FY2027","amount":"1","reason":"r"}`}, 422, []fieldErr{{field: "metric", value: "profit"}}, ""},
		{"unknown span", req{method: "POST", path: set, as: "alice", body: `{"node":"region=amer","metric":"revenue","span":"FY2027-Q5","amount":"1","reason":"r"}`}, 422, []fieldErr{{field: "span", value: "FY2027-Q5"}}, ""},
		{"every problem at once", req{method: "POST", path: set, as: "alice", body: `{"node":"region=mars","metric":"profit","span":"2027-13","amount":"x","reason":"r"}`}, 422,
			[]fieldErr{{field: "node"}, {field: "metric"}, {field: "span"}, {field: "amount"}}, ""},
		{"unknown period", req{method: "POST", path: "/api/v1/plans/fy27/actuals/restate", as: "alice", body: `{"cell":"region=de;product=pumps","metric":"revenue","period":"2027-13","amount":"1","reason":"r"}`}, 422, []fieldErr{{field: "period", value: "2027-13"}}, ""},
		{"unknown period to close", req{method: "POST", path: "/api/v1/periods/March/close", as: "alice", body: `{}`}, 422, []fieldErr{{field: "period", value: "March"}}, ""},
		{"unknown plan", req{method: "POST", path: "/api/v1/plans/nope/targets/set", as: "alice", body: `{"node":"","metric":"revenue","span":"FY2027","amount":"1","reason":"r"}`}, 404, nil, "nope"},
		{"unknown dimension", req{method: "POST", path: "/api/v1/dimensions/colour/members", as: "alice", body: `{"id":"red","name":"Red","parent":"all"}`}, 404, nil, ""},
		{"unknown parent", req{method: "POST", path: "/api/v1/dimensions/region/members", as: "alice", body: `{"id":"apac","name":"APAC","parent":"mars"}`}, 422, []fieldErr{{field: "member", value: "apac"}}, "mars"},
		{"unknown reallocation", req{method: "POST", path: "/api/v1/plans/fy27/reallocations/r9/approve", as: "bob", body: `{}`}, 404, nil, ""},
		{"target exists", req{method: "POST", path: set, as: "alice", body: `{"node":"region=emea","metric":"revenue","span":"FY2027","amount":"1","reason":"r"}`}, 409, nil, "already set"},
		{"dimension exists", req{method: "POST", path: "/api/v1/dimensions", as: "alice", body: `{"id":"region","name":"R","root_id":"w","root_name":"W"}`}, 409, nil, ""},
		{"closed period takes no actuals", req{method: "POST", path: actuals, as: "alice", body: `{"import_id":"late","rows":[{"cell":"region=de;product=pumps","metric":"revenue","period":"2026-04","amount":"1"}]}`}, 409, nil, "closed"},
		{"already recorded", req{method: "POST", path: actuals, as: "alice", body: `{"import_id":"erp-9","rows":[{"cell":"region=de;product=pumps","metric":"revenue","period":"2027-01","amount":"2"}]}`}, 422, []fieldErr{{row: 1, field: "cell"}}, ""},
		{"oversized body", req{method: "POST", path: set, as: "alice", body: `{"node":"region=emea","metric":"revenue","span":"FY2027","amount":"1","reason":"` + strings.Repeat("x", 3000) + `"}`}, 413, nil, ""},
		{"oversized upload", req{method: "POST", path: actuals + "?import_id=x", as: "alice", ctype: "text/csv", body: "cell,metric,period,amount\n" + strings.Repeat("region=de;product=pumps,revenue,2027-02,1\n", 300)}, 413, nil, ""},
		{"too many rows", req{method: "POST", path: actuals + "?import_id=x", as: "alice", ctype: "text/csv", body: "cell,metric,period,amount\n" + strings.Repeat("region=de;product=pumps,revenue,2027-02,1\n", 6)}, 413, nil, "at most 5"},
		{"text/plain", req{method: "POST", path: set, as: "alice", ctype: "text/plain", body: `{}`}, 415, nil, ""},
		{"CSV where JSON is wanted", req{method: "POST", path: set, as: "alice", ctype: "text/csv", body: "a,b\n"}, 415, nil, ""},
		{"no content type", req{method: "POST", path: "/api/v1/plans/fy27/tags", as: "alice", ctype: "", body: ""}, 415, nil, ""},
		{"CSV without import id", req{method: "POST", path: actuals, as: "alice", ctype: "text/csv", body: "cell,metric,period,amount\n"}, 400, []fieldErr{{field: "import_id"}}, ""},
		{"CSV unknown column", req{method: "POST", path: actuals + "?import_id=x", as: "alice", ctype: "text/csv", body: "cell,metric,period,amount,actor\nregion=de;product=pumps,revenue,2027-02,1,ceo\n"}, 400, []fieldErr{{row: 1, field: "actor"}}, ""},
		{"CSV missing column", req{method: "POST", path: actuals + "?import_id=x", as: "alice", ctype: "text/csv", body: "cell,metric,amount\nregion=de;product=pumps,revenue,1\n"}, 400, []fieldErr{{row: 1, field: "period"}}, ""},
		{"CSV ragged rows", req{method: "POST", path: actuals + "?import_id=x", as: "alice", ctype: "text/csv", body: "cell,metric,period,amount\nregion=de;product=pumps,revenue,2027-02\nregion=fr;product=pumps,revenue,2027-02,1,2\n"}, 422, []fieldErr{{row: 2}, {row: 3}}, ""},
		{"CSV with bad rows", req{method: "POST", path: actuals + "?import_id=x", as: "alice", ctype: "text/csv", body: "cell,metric,period,amount\n" +
			"region=de;product=pumps,revenue,2027-02,1\n" + // good
			"region=emea;product=pumps,revenue,2027-02,1\n" + // not a leaf
			"region=de,revenue,2027-02,1\n" + // product root is not a leaf
			"region=de;product=pumps,profit,2027-02,1\n" + // unknown metric
			"region=fr;product=pumps,revenue,2027-14,abc\n"}, // bad period and amount
			422, []fieldErr{{row: 3, field: "cell", value: "region=emea;product=pumps"}, {row: 4, field: "cell", value: "region=de"}, {row: 5, field: "metric", value: "profit"},
				{row: 6, field: "period", value: "2027-14"}, {row: 6, field: "amount", value: "abc"}}, ""},
		{"JSON actuals with bad rows", req{method: "POST", path: actuals, as: "alice", body: `{"import_id":"y","rows":[
			{"cell":"region=de;product=pumps","metric":"revenue","period":"2027-02","amount":"1"},
			{"cell":"region=de;product=pumps","metric":"revenue","period":"2027-02","amount":"2"},
			{"cell":"region=us;product=valves","metric":"revenue","period":"2027-02","amount":"-2"},
			{"cell":"region=us;product=gears","metric":"margin","period":"2027-02","amount":"1.0000000001"}]}`},
			422, []fieldErr{{row: 2, field: "cell"}, {row: 3, field: "amount", value: "-2"}, {row: 4, field: "cell"}, {row: 4, field: "amount"}}, ""},
		{"target batch with bad rows", req{method: "POST", path: "/api/v1/plans/fy27/targets/batch", as: "alice", body: `{"rows":[
			{"op":"set","node":"region=amer","metric":"revenue","span":"FY2027","amount":"5","reason":"r"},
			{"op":"set","node":"region=emea","metric":"revenue","span":"FY2027","amount":"5","reason":"r"},
			{"op":"revise","node":"region=us","metric":"revenue","span":"FY2027","amount":"5","reason":"r"},
			{"op":"grow","node":"region=fr","metric":"revenue","span":"FY2027","amount":"5","reason":"r"},
			{"op":"set","node":"region=fr","metric":"revenue","span":"FY2027","amount":"5","reason":""}]}`},
			422, []fieldErr{{row: 2, field: "node"}, {row: 3, field: "node"}, {row: 4, field: "op", value: "grow"}, {row: 5, field: "reason"}}, ""},
		{"target batch CSV with bad rows", req{method: "POST", path: "/api/v1/plans/fy27/targets/batch", as: "alice", ctype: "text/csv",
			body: "op,node,metric,span,amount,reason\nset,region=amer,revenue,FY2027,5,r\nset,region=amer,revenue,FY2027,6,r\nclear,region=us,revenue,FY2027,,r\n"},
			422, []fieldErr{{row: 3, field: "node", value: "region=amer"}, {row: 4, field: "node", value: "region=us"}}, ""},
		{"empty batch", req{method: "POST", path: "/api/v1/plans/fy27/targets/batch", as: "alice", body: `{"rows":[]}`}, 422, []fieldErr{{field: "rows"}}, ""},
		{"If-Match behind", req{method: "POST", path: set, as: "alice", body: `{"node":"region=amer","metric":"revenue","span":"FY2027","amount":"1","reason":"r"}`, header: map[string]string{"If-Match": `"1"`}}, 412, nil, ""},
		{"If-Match malformed", req{method: "POST", path: set, as: "alice", body: `{"node":"region=amer","metric":"revenue","span":"FY2027","amount":"1","reason":"r"}`, header: map[string]string{"If-Match": `v2`}}, 400, []fieldErr{{field: "If-Match"}}, ""},
		{"Idempotency-Key not printable", req{method: "POST", path: set, as: "alice", body: `{}`, header: map[string]string{"Idempotency-Key": "ké"}}, 400, []fieldErr{{field: "Idempotency-Key"}}, ""},
		{"Idempotency-Key on token issue", req{method: "POST", path: "/api/v1/tokens", as: "admin", body: `{"name":"x","role":"viewer"}`, header: map[string]string{"Idempotency-Key": "k"}}, 400, []fieldErr{{field: "Idempotency-Key"}}, ""},
		{"self approval", req{method: "POST", path: "/api/v1/plans/fy27/approvals", as: "bob", body: `{"version":99}`}, 422, nil, "no such version"},
		{"sales token scope outside", req{method: "POST", path: "/api/v1/tokens", as: "admin", body: `{"name":"z","role":"sales","scopes":["region=mars"]}`}, 422, []fieldErr{{row: 1, field: "scopes", value: "region=mars"}}, ""},
		{"unknown role", req{method: "POST", path: "/api/v1/tokens", as: "admin", body: `{"name":"z","role":"root"}`}, 422, nil, "role"},
		{"unknown route", req{method: "POST", path: "/api/v1/plans/fy27/nothing", as: "alice", body: `{}`}, 404, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.head()
			w := e.do(tc.r)
			if w.Code != tc.status {
				t.Fatalf("%s %s = %d, want %d: %s", tc.r.method, tc.r.path, w.Code, tc.status, w.Body.String())
			}
			p := problem(t, w)
			for _, want := range tc.errs {
				if !hasFieldErr(p.Errors, want) {
					t.Errorf("errors %+v lack %+v", p.Errors, want)
				}
			}
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q lacks %q", p.Detail, tc.detail)
			}
			if after := e.head(); after != before {
				t.Errorf("the log moved from %v to %v", before, after)
			}
		})
	}
}

func hasFieldErr(errs []api.FieldError, want fieldErr) bool {
	for _, e := range errs {
		if (want.row == 0 || e.Row == want.row) && (want.field == "" || e.Field == want.field) && (want.value == "" || e.Value == want.value) && e.Reason != "" {
			return true
		}
	}
	return false
}

// TestConcurrentEdits sends the same conditional edit from many clients at
// once: exactly one wins, every other gets 412 and records nothing.
func TestConcurrentEdits(t *testing.T) {
	e := newEnv(t, api.Config{})
	e.openPlan()
	w := e.do(req{method: "GET", path: "/api/v1/plans/fy27", as: "alice"})
	tag := w.Header().Get("ETag")
	before := e.head()
	const n = 8
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = e.do(req{method: "POST", path: "/api/v1/plans/fy27/targets/set", as: "alice", header: map[string]string{"If-Match": tag},
				body: fmt.Sprintf(`{"node":"region=emea","metric":"revenue","span":"FY2027","amount":"%d","reason":"r"}`, i+1)}).Code
		}()
	}
	wg.Wait()
	won := 0
	for _, c := range codes {
		switch c {
		case http.StatusOK:
			won++
		case http.StatusPreconditionFailed:
		default:
			t.Errorf("a concurrent edit answered %d", c)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent edits at %s won, want exactly 1 (codes %v)", won, n, tag, codes)
	}
	if after := e.head(); after.Commit != before.Commit+1 {
		t.Errorf("the log moved from %v to %v, want one event", before, after)
	}
	// The loser, retried against what it now sees, wins.
	w = e.do(req{method: "GET", path: "/api/v1/plans/fy27", as: "alice"})
	if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/targets/revise", as: "alice", header: map[string]string{"If-Match": w.Header().Get("ETag")},
		body: `{"node":"region=emea","metric":"revenue","span":"FY2027","amount":"999","reason":"r"}`}); w.Code != 200 {
		t.Errorf("revise at the current ETag = %d: %s", w.Code, w.Body.String())
	}
}
