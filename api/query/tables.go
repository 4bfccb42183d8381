package query

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/concord-planning/concord/projections/view"
)

// Table is a query answer that is also served as CSV, at
// GET /plans/{plan}/{Name}: its rows are one array field of the JSON
// answer, flattened by writeCSV.
type Table struct {
	Name   string   // the last path segment, and the CSV file's suffix
	Params []string // the query parameters it reads, besides format ("type" may repeat)
	field  string   // the answer's field that holds the rows
	answer func(ctx context.Context, v *view.Service, planID string, q url.Values) (any, error)
}

// tables are the answers served as CSV, in the order of Routes.
var tables = []Table{
	{Name: "variance", Params: []string{"metric", "year", "as_of", "scenario", "dimension", "parent", "level", "node", "cross"}, field: "rows",
		answer: func(ctx context.Context, v *view.Service, planID string, q url.Values) (any, error) {
			at, err := asOf(q)
			if err != nil {
				return nil, err
			}
			return v.Variance(ctx, planID, view.VarianceQuery{Metric: q.Get("metric"), Year: q.Get("year"), AsOf: at,
				Dimension: q.Get("dimension"), Parent: q.Get("parent"), Level: q.Get("level"), Node: q.Get("node"), Cross: q.Get("cross")})
		}},
	{Name: "rolling", Params: []string{"metric", "node", "as_of", "scenario"}, field: "periods",
		answer: func(ctx context.Context, v *view.Service, planID string, q url.Values) (any, error) {
			at, err := asOf(q)
			if err != nil {
				return nil, err
			}
			return v.Rolling(ctx, planID, q.Get("metric"), q.Get("node"), at)
		}},
	{Name: "pivot", Params: []string{"metric", "year", "as_of", "scenario", "dimension", "open", "rows"}, field: "rows",
		answer: func(ctx context.Context, v *view.Service, planID string, q url.Values) (any, error) {
			at, err := asOf(q)
			if err != nil {
				return nil, err
			}
			return v.Pivot(ctx, planID, view.PivotQuery{Metric: q.Get("metric"), Year: q.Get("year"), AsOf: at,
				Dimension: q.Get("dimension"), Open: q.Get("open"), Rows: q.Get("rows")})
		}},
	{Name: "history", Params: []string{"type", "exclude_type", "actor", "node", "metric", "from", "to", "cursor", "limit", "scenario"}, field: "items",
		answer: func(ctx context.Context, v *view.Service, planID string, q url.Values) (any, error) {
			limit, err := parseLimit("limit", q.Get("limit"), 50, 500)
			if err != nil {
				return nil, err
			}
			nonEmpty := func(vs []string) []string {
				var out []string
				for _, v := range vs {
					if v != "" {
						out = append(out, v)
					}
				}
				return out
			}
			return v.History(ctx, planID, view.HistoryQuery{Types: nonEmpty(q["type"]), ExcludeTypes: nonEmpty(q["exclude_type"]),
				Actor: q.Get("actor"), Node: q.Get("node"), Metric: q.Get("metric"),
				From: q.Get("from"), To: q.Get("to"), Cursor: q.Get("cursor"), Limit: limit, Scenario: q.Get("scenario")})
		}},
	{Name: "diff", Params: []string{"from", "to", "scenario"}, field: "changes",
		answer: func(ctx context.Context, v *view.Service, planID string, q url.Values) (any, error) {
			to, err := diffTo(q)
			if err != nil {
				return nil, err
			}
			return v.Diff(ctx, planID, q.Get("from"), to)
		}},
	{Name: "forecasts", Params: []string{"metric", "as_of"}, field: "vintages",
		answer: func(ctx context.Context, v *view.Service, planID string, q url.Values) (any, error) {
			rows, err := v.Vintages(ctx, planID, q.Get("metric"), q.Get("as_of"))
			if err != nil {
				return nil, err
			}
			return map[string]any{"vintages": rows}, nil
		}},
	{Name: "accuracy", Params: []string{"metric", "node", "as_of"}, field: "points",
		answer: func(ctx context.Context, v *view.Service, planID string, q url.Values) (any, error) {
			return v.Accuracy(ctx, planID, q.Get("metric"), q.Get("node"), q.Get("as_of"))
		}},
	{Name: "reallocations", Params: []string{"status", "as_of", "scenario"}, field: "reallocations",
		answer: func(ctx context.Context, v *view.Service, planID string, q url.Values) (any, error) {
			at, err := asOf(q)
			if err != nil {
				return nil, err
			}
			rows, err := v.Reallocations(ctx, planID, q.Get("status"), at)
			if err != nil {
				return nil, err
			}
			return map[string]any{"reallocations": rows}, nil
		}},
}

// Tables returns the answers served as CSV, in the order of Routes.
func Tables() []Table { return append([]Table(nil), tables...) }

// tableNamed returns the table called name.
func tableNamed(name string) (Table, bool) {
	for _, t := range tables {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}

// WriteCSV writes table name of plan planID, asked with the query
// parameters params, as CSV to w: the bytes the API answers to
// GET /plans/{planID}/{name}?format=csv with that query, from the same
// code. It returns the query's errors (a *view.ParamError for a bad parameter,
// view.ErrNotFound for an unknown plan, node or version) and view.ErrNotFound for a
// table that is not one of Tables. Nothing is written when it fails.
func (s *Handlers) WriteCSV(ctx context.Context, w io.Writer, name, planID string, params url.Values) error {
	t, ok := tableNamed(name)
	if !ok {
		names := make([]string, len(tables))
		for i, t := range tables {
			names[i] = t.Name
		}
		return fmt.Errorf("%w: table %q (the tables are %s)", view.ErrNotFound, name, strings.Join(names, ", "))
	}
	v, err := t.answer(ctx, s.view, planID, params)
	if err != nil {
		return err
	}
	return writeCSV(w, v, t.field)
}

// serveTable answers GET /plans/:plan/{name}, as JSON or as CSV.
func (s *Handlers) serveTable(name string) echo.HandlerFunc {
	t, ok := tableNamed(name)
	if !ok {
		panic("query: no table " + name) // a programmer's error in Routes
	}
	return func(c echo.Context) error {
		v, err := t.answer(c.Request().Context(), s.view, c.Param("plan"), c.QueryParams())
		if err != nil {
			return err
		}
		return reply(c, v, t.field, c.Param("plan")+"-"+t.Name)
	}
}

// parseLimit reads a page size in [1, max], default def.
func parseLimit(field, v string, def, max int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, view.BadParam(field, v, "want a whole number from 1 to %d", max)
	}
	return n, nil
}
