package query_test

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/concord-planning/concord/api/query"
	"github.com/concord-planning/concord/projections/view"
	"github.com/concord-planning/concord/projections/view/viewtest"
)

// demo seeds the demo company into a fresh SQLite store and returns an
// Echo server with the query routes (every request is let through: the
// API's authentication is tested in package api).
func demo(t *testing.T) (*echo.Echo, viewtest.Demo) {
	t.Helper()
	reg := viewtest.Registry()
	store, d, _ := viewtest.Seeded(t, "", reg)
	e := echo.New()
	svc := query.New(view.NewService(store, reg))
	svc.Register(e.Group("/api/v1"), func(query.Route) []echo.MiddlewareFunc { return nil })
	return e, d
}

func get(t *testing.T, e *echo.Echo, url string, v any) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, url, nil)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if v != nil {
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s = %d %s", url, rec.Code, rec.Body)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
	}
	return rec
}

func TestVarianceOfDemo(t *testing.T) {
	e, _ := demo(t)
	var v view.Variance
	get(t, e, "/api/v1/plans/acme/variance?cross=product", &v)
	t.Logf("%s", must(json.MarshalIndent(v, "", " ")))
	if len(v.Rows) != 3 {
		t.Fatalf("rows = %d, want 3 (World, EMEA, Americas)", len(v.Rows))
	}
}

func must(b []byte, err error) string {
	if err != nil {
		panic(err)
	}
	return strings.TrimSpace(string(b))
}

// TestAccuracyOfDemo: the demo's first vintage (April 2027, twelve months
// of eight cells) has three months with actuals, the second (July, every
// one of the 7 × 3 nodes) none yet; FVA is the difference of pooled MAPEs,
// so commit over naive = commit over statistical + statistical over naive,
// and with one scored vintage it equals that vintage's MAPE differences.
func TestAccuracyOfDemo(t *testing.T) {
	e, _ := demo(t)
	var a view.Accuracy
	get(t, e, "/api/v1/plans/acme/accuracy", &a)
	if len(a.Vintages) != 2 || a.Vintages[0].N != 3 || a.Vintages[1].N != 0 || a.FVA.N != 3 || len(a.Points) != 3 {
		t.Fatalf("accuracy: %d vintages (n %+v), FVA n %d, %d points; want 2 (3 and 0), 3, 3", len(a.Vintages), a.Vintages, a.FVA.N, len(a.Points))
	}
	v := a.Vintages[0]
	if v.Statistical == nil || v.Commit == nil || v.Naive == nil || a.FVA.CommitVsStatistical == nil || a.FVA.CommitVsNaive == nil || a.FVA.StatisticalVsNaive == nil {
		t.Fatalf("accuracy of %s: %+v, FVA %+v; want every score", v.RunID, v, a.FVA)
	}
	f := func(n *view.Num) float64 { return float64(*n) }
	if d := f(a.FVA.CommitVsStatistical) + f(a.FVA.StatisticalVsNaive) - f(a.FVA.CommitVsNaive); math.Abs(d) > 1e-9 {
		t.Errorf("FVA %s: commit/statistical + statistical/naive − commit/naive = %v, want 0", must(json.Marshal(a.FVA)), d)
	}
	if d := f(a.FVA.CommitVsStatistical) - float64(v.Statistical.MAPE-v.Commit.MAPE); math.Abs(d) > 1e-9 {
		t.Errorf("FVA commit over statistical %v, vintage MAPEs %v and %v", f(a.FVA.CommitVsStatistical), v.Statistical.MAPE, v.Commit.MAPE)
	}
	var vs struct{ Vintages []view.VintageJSON }
	get(t, e, "/api/v1/plans/acme/forecasts", &vs)
	if len(vs.Vintages) != 2 || vs.Vintages[0].Series != 8 || vs.Vintages[0].Horizon != 12 || vs.Vintages[1].Series != 21 || vs.Vintages[1].First != "2027-07" {
		t.Errorf("vintages = %+v, want 8 cells × 12 months, then 21 nodes from 2027-07", vs.Vintages)
	}
}
