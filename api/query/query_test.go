package query_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/concord-planning/concord/api/query"
	"github.com/concord-planning/concord/api/query/querytest"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
)

// demo seeds the demo company into a fresh SQLite store and returns an
// Echo server with the query routes (every request is let through: the
// API's authentication is tested in package api).
func demo(t *testing.T) (*echo.Echo, querytest.Demo) {
	t.Helper()
	ctx := context.Background()
	clock := &querytest.Clock{}
	clock.Set(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "demo.db"), sqlite.Options{Clock: clock.Now, Synchronous: "OFF"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	reg := querytest.Registry()
	d, err := querytest.Seed(ctx, store, reg, clock)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	svc := query.NewService(store, reg)
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
	var v query.Variance
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

func TestAccuracyOfDemo(t *testing.T) {
	e, _ := demo(t)
	var a query.Accuracy
	get(t, e, "/api/v1/plans/acme/accuracy", &a)
	t.Logf("%s", must(json.Marshal(a.FVA)))
	t.Logf("%s", must(json.Marshal(a.Vintages)))
	var v map[string]any
	get(t, e, "/api/v1/plans/acme/forecasts", &v)
	t.Logf("%v", v)
}
