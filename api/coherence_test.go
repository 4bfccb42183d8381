package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/concord-planning/concord/api"
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
