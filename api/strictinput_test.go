package api_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/concord-planning/concord/api"
)

// TestStrictText sends control characters (NUL, BEL, CR, LF, ESC, DEL)
// and invalid UTF-8 in every kind of text a client writes: each is refused
// (400 for JSON, 422 for CSV rows) naming the field, and the log does not
// move. Before, they were stored (and invalid UTF-8 silently replaced).
func TestStrictText(t *testing.T) {
	e := newEnv(t, api.Config{})
	e.openPlan()
	set := "/api/v1/plans/fy27/targets/set"
	actuals := "/api/v1/plans/fy27/actuals"
	row := `{"cell":"region=de;product=pumps","metric":"revenue","period":"2027-01","amount":"1"}`
	for _, c := range []struct {
		name   string
		r      req
		status int
		field  string
		row    int
	}{
		{"NUL in a tag", req{method: "POST", path: "/api/v1/plans/fy27/tags", as: "alice", body: `{"tag":"Budget\u0000FY27"}`}, 400, "tag", 0},
		{"BEL in a dimension name", req{method: "POST", path: "/api/v1/dimensions", as: "alice", body: `{"id":"bu","name":"Business\u0007","root_id":"all","root_name":"All"}`}, 400, "name", 0},
		{"ESC in a member name", req{method: "POST", path: "/api/v1/dimensions/region/members/de/rename", as: "alice", body: `{"name":"\u001b[31mGermany"}`}, 400, "name", 0},
		{"LF in a token name", req{method: "POST", path: "/api/v1/tokens", as: "admin", body: `{"name":"ci\nINFO forged","role":"viewer"}`}, 400, "name", 0},
		{"CR in a reason", req{method: "POST", path: set, as: "alice", body: `{"node":"region=emea","metric":"revenue","span":"FY2027","amount":"1","reason":"budget\r"}`}, 400, "reason", 0},
		{"DEL in a revoke reason", req{method: "POST", path: "/api/v1/tokens/x/revoke", as: "admin", body: `{"reason":"gone\u007f"}`}, 400, "reason", 0},
		{"invalid UTF-8 in a reason", req{method: "POST", path: set, as: "alice", body: "{\"node\":\"region=emea\",\"metric\":\"revenue\",\"span\":\"FY2027\",\"amount\":\"1\",\"reason\":\"bud\xffget\"}"}, 400, "reason", 0},
		{"invalid UTF-8 in a nested row", req{method: "POST", path: actuals, as: "alice", body: "{\"import_id\":\"i1\",\"rows\":[" + row + ",{\"cell\":\"region=fr;product=pumps\xc3\",\"metric\":\"revenue\",\"period\":\"2027-01\",\"amount\":\"1\"}]}"}, 400, "rows[1].cell", 0},
		{"CR in an import id", req{method: "POST", path: actuals, as: "alice", body: `{"import_id":"erp\r-1","rows":[` + row + `]}`}, 400, "import_id", 0},
		{"NUL in a row's cell", req{method: "POST", path: actuals, as: "alice", body: `{"import_id":"erp-1","rows":[` + row + `,{"cell":"region=fr\u0000","metric":"revenue","period":"2027-01","amount":"1"}]}`}, 400, "rows[1].cell", 0},
		{"LF in a CSV import id", req{method: "POST", path: actuals + "?import_id=" + url.QueryEscape("erp\n1"), as: "alice", ctype: "text/csv", body: "cell,metric,period,amount\nregion=de;product=pumps,revenue,2027-01,1\n"}, 400, "import_id", 0},
		{"ESC in a CSV reason", req{method: "POST", path: "/api/v1/plans/fy27/targets/batch", as: "alice", ctype: "text/csv", body: "op,node,metric,span,reason,amount\nset,region=emea,revenue,FY2027,\x1b[2Jbudget,1\n"}, 422, "reason", 2},
		{"invalid UTF-8 in a CSV cell", req{method: "POST", path: actuals + "?import_id=erp-2", as: "alice", ctype: "text/csv", body: "cell,metric,period,amount\nregion=de;product=pumps\xff,revenue,2027-01,1\n"}, 422, "cell", 2},
		{"control character in a commit comment", req{method: "POST", path: "/api/v1/plans/fy27/commits", as: "sam", body: `{"id":"c1","node":"region=emea","metric":"revenue","span":"FY2027","amount":"1","confidence":"commit","comment":"sure\u0008"}`}, 400, "comment", 0},
		{"control character in a forecast model key", req{method: "POST", path: "/api/v1/plans/fy27/forecasts", as: "alice", body: `{"run_id":"r1","metric":"revenue","data_position":"1","model":{"na\u0000me":"ets"},"series":[]}`}, 400, "model.na\x00me", 0},
		{"control character in a scope", req{method: "POST", path: "/api/v1/tokens", as: "admin", body: `{"name":"s","role":"sales","scopes":["region=emea\t"]}`}, 400, "scopes[0]", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := e.head()
			w := e.do(c.r)
			if w.Code != c.status {
				t.Fatalf("%s %s = %d, want %d: %s", c.r.method, c.r.path, w.Code, c.status, w.Body.String())
			}
			p := problem(t, w)
			if !hasFieldErr(p.Errors, fieldErr{row: c.row, field: c.field}) {
				t.Errorf("errors %+v lack field %q (row %d)", p.Errors, c.field, c.row)
			}
			if after := e.head(); after != before {
				t.Errorf("the log moved from %v to %v", before, after)
			}
		})
	}
}

// TestUploadRowLimit: a batch beyond the row limit is refused with 413 in
// both forms, also when its body is within UploadLimit.
func TestUploadRowLimit(t *testing.T) {
	e := newEnv(t, api.Config{MaxBatchRows: 3})
	e.openPlan()
	row := `{"cell":"region=de;product=pumps","metric":"revenue","period":"2027-01","amount":"1"}`
	for _, c := range []struct {
		name string
		r    req
	}{
		{"JSON actuals", req{method: "POST", path: "/api/v1/plans/fy27/actuals", as: "alice", body: `{"import_id":"i","rows":[` + strings.Repeat(row+",", 3) + row + `]}`}},
		{"JSON actuals of empty rows", req{method: "POST", path: "/api/v1/plans/fy27/actuals", as: "alice", body: `{"import_id":"i","rows":[` + strings.Repeat("{},", 20000) + `{}]}`}},
		{"JSON targets", req{method: "POST", path: "/api/v1/plans/fy27/targets/batch", as: "alice", body: `{"rows":[` + strings.Repeat("{},", 20000) + `{}]}`}},
		{"CSV actuals of empty rows", req{method: "POST", path: "/api/v1/plans/fy27/actuals?import_id=i", as: "alice", ctype: "text/csv", body: "cell,metric,period,amount\n" + strings.Repeat(",,,\n", 2000)}},
		{"CSV targets", req{method: "POST", path: "/api/v1/plans/fy27/targets/batch", as: "alice", ctype: "text/csv", body: "op,node,metric,span,reason\n" + strings.Repeat(",,,,\n", 4)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := e.head()
			w := e.do(c.r)
			if w.Code != 413 {
				t.Fatalf("%s = %d, want 413: %s", c.name, w.Code, w.Body.String())
			}
			p := problem(t, w)
			if !strings.Contains(p.Detail, "rows") {
				t.Errorf("detail %q does not speak of rows", p.Detail)
			}
			if after := e.head(); after != before {
				t.Errorf("the log moved from %v to %v", before, after)
			}
		})
	}
}

// TestForecastBounds: a forecast's data_position may not lie beyond the
// log's head, and its model is bounded in depth and size (issue 14: a
// model nested 5,000 levels deep was stored, data positions beyond the
// head were accepted).
func TestForecastBounds(t *testing.T) {
	e := newEnv(t, api.Config{})
	e.openPlan()
	head := e.head()
	body := func(pos, model string) string {
		return `{"run_id":"run-1","metric":"revenue","data_position":"` + pos + `","seed":7,"model":` + model +
			`,"series":[{"node":"region=emea","first":"2027-04","mean":[1],"lo80":[1],"hi80":[1],"lo95":[1],"hi95":[1],"model":"ets"}]}`
	}
	for _, c := range []struct {
		name   string
		body   string
		status int
		field  string
	}{
		{"beyond the head", body(fmt.Sprint(head.Commit+1), `{"m":"ets"}`), 422, "data_position"},
		{"far beyond the head", body("999999999", `{"m":"ets"}`), 422, "data_position"},
		{"model 5,000 levels deep", body(fmt.Sprint(head.Commit), strings.Repeat(`{"a":`, 5000)+"1"+strings.Repeat("}", 5000)), 422, ""},
		{"at the head", body(fmt.Sprint(head.Commit), `{"m":"ets"}`), 200, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := e.head()
			w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/forecasts", as: "alice", body: c.body})
			if w.Code != c.status {
				t.Fatalf("= %d, want %d: %s", w.Code, c.status, w.Body.String())
			}
			if c.status == 200 {
				return
			}
			p := problem(t, w)
			if c.field != "" && !hasFieldErr(p.Errors, fieldErr{field: c.field}) {
				t.Errorf("errors %+v lack field %q", p.Errors, c.field)
			}
			if after := e.head(); after != before {
				t.Errorf("the log moved from %v to %v", before, after)
			}
		})
	}
}
