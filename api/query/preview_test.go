package query_test

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/concord-planning/concord/projections/view"
)

// TestPreviewOfConflictingMove: moving target from EMEA to the Americas
// leaves the product × EMEA targets summing to the old EMEA target, so
// the moved targets conflict. The preview says so, has no probability
// after, and its gap after is still computed from the new target (it used
// to repeat the gap before).
func TestPreviewOfConflictingMove(t *testing.T) {
	e, _ := demo(t)
	body := `{"metric":"revenue","year":2028,"moves":[{"node":"region=emea","delta":"-50000"},{"node":"region=americas","delta":"50000"}]}`
	req := httptest.NewRequest(http.MethodPost, "/api/v1/plans/acme/reallocations/preview", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	var p view.Preview
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &p) != nil || len(p.Rows) != 2 {
		t.Fatalf("preview = %d %s", rec.Code, rec.Body)
	}
	if len(p.Conflicts) == 0 {
		t.Errorf("preview of a move that breaks the product × EMEA targets: no conflicts")
	}
	for k, want := range []float64{-50000, 50000} {
		r := p.Rows[k]
		if r.GapBefore == nil || r.GapAfter == nil {
			t.Fatalf("preview row %s: gap before %v, after %v; want both", r.Node, r.GapBefore, r.GapAfter)
		}
		if d := float64(*r.GapAfter) - float64(*r.GapBefore); math.Abs(d-want) > 1e-6 {
			t.Errorf("preview row %s: gap %v → %v, moved by %v, want %v", r.Node, *r.GapBefore, *r.GapAfter, d, want)
		}
		if r.ProbabilityAfter != nil {
			t.Errorf("preview row %s: probability after %v under conflicting targets, want none", r.Node, *r.ProbabilityAfter)
		}
	}
}
