package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/concord-planning/concord/api"
)

// TestPeriodCloseGuards: with the plan's horizon from 2026-04 and the
// clock in 2027-03, each refused close answers with the period in its
// problem and leaves the log as it was.
func TestPeriodCloseGuards(t *testing.T) {
	e := newEnv(t, api.Config{})
	e.openPlan()
	if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/actuals", as: "alice", body: `{"import_id":"erp-1","rows":[
		{"cell":"region=de;product=pumps","metric":"revenue","period":"2026-04","amount":"1"}]}`}); w.Code != 200 {
		t.Fatalf("actuals: %d %s", w.Code, w.Body.String())
	}
	tests := []struct {
		name   string
		r      req
		status int
		says   []string
	}{
		{"a future period", req{method: "POST", path: "/api/v1/periods/2027-04/close", as: "alice", body: `{}`}, 422, []string{"2027-04 has not begun", "2027-03"}},
		{"the last period there is", req{method: "POST", path: "/api/v1/periods/9999-12/close", as: "alice", body: `{"allow_missing":true,"reason":"r"}`}, 422, []string{"9999-12"}},
		{"skipping an open month", req{method: "POST", path: "/api/v1/periods/2026-05/close", as: "alice", body: `{"allow_missing":true,"reason":"r"}`}, 409,
			[]string{"cannot close 2026-05: 2026-04 is still open"}},
		// 6 cells × 2 metrics, one actual recorded.
		{"cells missing actuals", req{method: "POST", path: "/api/v1/periods/2026-04/close", as: "alice", body: `{}`}, 409,
			[]string{"cannot close 2026-04: 11 of 12 cells have no actual", "plan fy27: product=valves;region=de, revenue", "and 6 more", "allow_missing"}},
		{"allow_missing without a reason", req{method: "POST", path: "/api/v1/periods/2026-04/close", as: "alice", body: `{"allow_missing":true}`}, 422, []string{"reason"}},
		{"a viewer", req{method: "POST", path: "/api/v1/periods/2026-04/close", as: "vera", body: `{"allow_missing":true,"reason":"r"}`}, 403, nil},
		{"reopen with nothing closed", req{method: "POST", path: "/api/v1/periods/2026-04/reopen", as: "alice", body: `{"reason":"r"}`}, 409, []string{"no period is closed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head := e.head()
			w := e.do(tt.r)
			if w.Code != tt.status {
				t.Fatalf("%s %s = %d, want %d: %s", tt.r.method, tt.r.path, w.Code, tt.status, w.Body.String())
			}
			var p api.Problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			text := p.Detail
			for _, f := range p.Errors {
				text += " " + f.Field + " " + f.Reason
			}
			for _, s := range tt.says {
				if !strings.Contains(text, s) {
					t.Errorf("problem %q, want it to say %q", text, s)
				}
			}
			if e.head() != head {
				t.Errorf("a refused request moved the log from %v to %v", head, e.head())
			}
		})
	}
}

// TestPeriodReopenThenCloseAgain: a close allowing missing actuals, then
// its reopen (planner, with a reason) and a close again, each seen by the
// plan's summary and its history.
func TestPeriodReopenThenCloseAgain(t *testing.T) {
	e := newEnv(t, api.Config{})
	e.openPlan()
	summary := func() (horizon, closed string) {
		t.Helper()
		w := e.do(req{method: "GET", path: "/api/v1/plans/fy27/summary", as: "vera"})
		var s struct {
			Horizon struct {
				First string `json:"first"`
			} `json:"horizon"`
			ClosedThrough string `json:"closed_through"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &s); err != nil || w.Code != 200 {
			t.Fatalf("summary = %d %s", w.Code, w.Body.String())
		}
		return s.Horizon.First, s.ClosedThrough
	}
	steps := []struct {
		name            string
		r               req
		status          int
		horizon, closed string
	}{
		{"close allowing missing actuals", req{method: "POST", path: "/api/v1/periods/2026-04/close", as: "alice",
			body: `{"allow_missing":true,"reason":"ERP migration"}`}, 200, "2026-05", "2026-04"},
		{"reopen by a viewer", req{method: "POST", path: "/api/v1/periods/2026-04/reopen", as: "vera", body: `{"reason":"late"}`}, 403, "2026-05", "2026-04"},
		{"reopen without a reason", req{method: "POST", path: "/api/v1/periods/2026-04/reopen", as: "alice", body: `{"reason":""}`}, 422, "2026-05", "2026-04"},
		{"reopen a period not the last closed", req{method: "POST", path: "/api/v1/periods/2026-03/reopen", as: "alice", body: `{"reason":"late"}`}, 409, "2026-05", "2026-04"},
		{"reopen", req{method: "POST", path: "/api/v1/periods/2026-04/reopen", as: "bob", body: `{"reason":"late invoices"}`}, 200, "2026-04", ""},
		{"reopen again", req{method: "POST", path: "/api/v1/periods/2026-04/reopen", as: "bob", body: `{"reason":"late invoices"}`}, 409, "2026-04", ""},
		{"close again", req{method: "POST", path: "/api/v1/periods/2026-04/close", as: "admin",
			body: `{"allow_missing":true,"reason":"ERP migration"}`}, 200, "2026-05", "2026-04"},
	}
	for _, s := range steps {
		w := e.do(s.r)
		if w.Code != s.status {
			t.Fatalf("%s: %s %s = %d, want %d: %s", s.name, s.r.method, s.r.path, w.Code, s.status, w.Body.String())
		}
		if s.status == 200 {
			var out api.CloseOutput
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.Period != "2026-04" || len(out.Plans) != 1 || out.Position != e.head().String() {
				t.Errorf("%s answered %+v, %v; want 2026-04, one plan moved, the head", s.name, out, err)
			}
		}
		if h, c := summary(); h != s.horizon || c != s.closed {
			t.Errorf("after %s: horizon from %q, closed through %q; want %q, %q", s.name, h, c, s.horizon, s.closed)
		}
	}
	w := e.do(req{method: "GET", path: "/api/v1/plans/fy27/history", as: "vera"})
	for _, want := range []string{"Period 2026-04 reopened: late invoices", "closed with 12 cells missing actuals: ERP migration"} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("history does not say %q: %s", want, w.Body.String())
		}
	}
}
