package query_test

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/concord-planning/concord/api/query"
	"github.com/concord-planning/concord/projections/view"
	"github.com/concord-planning/concord/projections/view/viewtest"
)

// TestWriteCSVIsTheServedCSV: every table written by WriteCSV is byte for
// byte what the route serves as CSV for the same query, and a bad
// parameter is the same *ParamError.
func TestWriteCSVIsTheServedCSV(t *testing.T) {
	ctx := context.Background()
	reg := viewtest.Registry()
	store, d, _ := viewtest.Seeded(t, "", reg)
	svc := query.New(view.NewService(store, reg))
	e := echo.New()
	svc.Register(e.Group("/api/v1"), func(query.Route) []echo.MiddlewareFunc { return nil })

	queries := map[string]url.Values{
		"variance":      {"cross": {"product"}},
		"rolling":       {"node": {"region=emea"}},
		"pivot":         {"dimension": {"region"}, "open": {"*"}},
		"history":       {"limit": {"500"}, "type": {"plan.TargetSet", "plan.TargetRevised"}},
		"diff":          {"from": {"tag:Budget FY28"}, "to": {"tag:Q1 reforecast"}},
		"forecasts":     {},
		"accuracy":      {"as_of": {d.Reforecast.String()}},
		"reallocations": {"status": {"approved"}},
	}
	if len(queries) != len(query.Tables()) {
		t.Fatalf("the test asks %d tables, there are %d", len(queries), len(query.Tables()))
	}
	for _, table := range query.Tables() {
		q, ok := queries[table.Name]
		if !ok {
			t.Fatalf("no query for table %s", table.Name)
		}
		var got bytes.Buffer
		if err := svc.WriteCSV(ctx, &got, table.Name, d.Plan, q); err != nil {
			t.Fatalf("WriteCSV(%s, %v) = %v", table.Name, q, err)
		}
		withFormat := url.Values{"format": {"csv"}}
		for k, v := range q {
			withFormat[k] = v
		}
		rec := get(t, e, "/api/v1/plans/"+d.Plan+"/"+table.Name+"?"+withFormat.Encode(), nil)
		if rec.Code != 200 {
			t.Fatalf("GET %s = %d %s", table.Name, rec.Code, rec.Body)
		}
		if got.String() != rec.Body.String() {
			t.Errorf("WriteCSV(%s) =\n%s\nthe route serves\n%s", table.Name, got.String(), rec.Body.String())
		}
		if bytes.Count(got.Bytes(), []byte("\n")) < 2 {
			t.Errorf("WriteCSV(%s) wrote no rows:\n%s", table.Name, got.String())
		}
	}

	var pe *view.ParamError
	var out bytes.Buffer
	if err := svc.WriteCSV(ctx, &out, "rolling", d.Plan, url.Values{"as_of": {"yesterday"}}); !errors.As(err, &pe) || pe.Field != "as_of" || out.Len() != 0 {
		t.Errorf("WriteCSV with as_of=yesterday = %v (wrote %d bytes), want a *ParamError for as_of and nothing written", err, out.Len())
	}
	if err := svc.WriteCSV(ctx, &out, "summary", d.Plan, nil); !errors.Is(err, view.ErrNotFound) {
		t.Errorf("WriteCSV of an unknown table = %v, want ErrNotFound", err)
	}
}
