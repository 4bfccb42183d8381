package query

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/concord-planning/concord/projections/view"
)

// Handlers serves the answers of one view over HTTP: routes, parameter
// parsing, content negotiation (JSON or CSV) and the CSV mapping. Every
// answer comes from the view; Handlers holds no state of its own and is
// safe for concurrent use.
type Handlers struct {
	view *view.Service
}

// New returns the HTTP handlers of the answers of v.
func New(v *view.Service) *Handlers { return &Handlers{view: v} }

// View returns the view the handlers answer from.
func (s *Handlers) View() *view.Service { return s.view }

// Route is one query endpoint, for the API's route table. Path uses Echo's
// ":param" syntax relative to /api/v1. Propose marks the routes only the
// roles that may propose plan changes (sales, planner, admin) may call;
// every other route is readable by every role.
type Route struct {
	Method, Path string
	Propose      bool
	Handler      echo.HandlerFunc
}

// Routes returns the query endpoints. Handlers return errors
// (view.ErrNotFound, *view.ParamError, store errors) for the API's error handler to translate.
func (s *Handlers) Routes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/dimensions", Handler: s.getDimensions},
		{Method: http.MethodGet, Path: "/plans", Handler: s.getPlans},
		{Method: http.MethodGet, Path: "/plans/:plan/summary", Handler: s.getPlan},
		{Method: http.MethodGet, Path: "/plans/:plan/variance", Handler: s.serveTable("variance")},
		{Method: http.MethodGet, Path: "/plans/:plan/rolling", Handler: s.serveTable("rolling")},
		{Method: http.MethodGet, Path: "/plans/:plan/pivot", Handler: s.serveTable("pivot")},
		{Method: http.MethodGet, Path: "/plans/:plan/history", Handler: s.serveTable("history")},
		{Method: http.MethodGet, Path: "/plans/:plan/diff", Handler: s.serveTable("diff")},
		{Method: http.MethodGet, Path: "/plans/:plan/forecasts", Handler: s.serveTable("forecasts")},
		{Method: http.MethodGet, Path: "/plans/:plan/accuracy", Handler: s.serveTable("accuracy")},
		{Method: http.MethodGet, Path: "/plans/:plan/reallocations", Handler: s.serveTable("reallocations")},
		{Method: http.MethodPost, Path: "/plans/:plan/reallocations/preview", Propose: true, Handler: s.postPreview},
		{Method: http.MethodGet, Path: "/plans/:plan/compare", Handler: s.getCompare},
	}
}

// Register adds the query routes to g, each wrapped by mw(route) (the
// caller's authentication and role checks).
func (s *Handlers) Register(g *echo.Group, mw func(Route) []echo.MiddlewareFunc) {
	for _, r := range s.Routes() {
		g.Add(r.Method, r.Path, r.Handler, mw(r)...)
	}
}

// wantsCSV reports whether the client asked for CSV: ?format=csv or an
// Accept header that prefers text/csv over JSON.
func wantsCSV(c echo.Context) bool {
	if f := c.QueryParam("format"); f != "" {
		return strings.EqualFold(f, "csv")
	}
	for _, part := range strings.Split(c.Request().Header.Get(echo.HeaderAccept), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "text/csv":
			return true
		case "application/json", "*/*", "application/*":
			return false
		}
	}
	return false
}

// reply writes v as JSON, or its table (the field named by table) as CSV
// when the client asked for CSV.
func reply(c echo.Context, v any, table, name string) error {
	if c.QueryParam("format") != "" && !strings.EqualFold(c.QueryParam("format"), "csv") && !strings.EqualFold(c.QueryParam("format"), "json") {
		return view.BadParam("format", c.QueryParam("format"), "want csv or json")
	}
	if table == "" || !wantsCSV(c) {
		// The bytes echo's c.JSON writes (the server never runs echo in
		// debug mode, which indents), kept with the answer when the view
		// keeps it (view.JSON).
		b, err := view.JSON(v)
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
	}
	var buf bytes.Buffer
	if err := writeCSV(&buf, v, table); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename=%q`, name+".csv"))
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// writeCSV writes the array field table of v as CSV: one row per element,
// nested objects flattened with "_" (forecast_mean), arrays as JSON text,
// null as an empty field; columns in the order of the first row's fields.
// Text that a spreadsheet would evaluate is neutralised (SafeCell).
func writeCSV(w io.Writer, v any, table string) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return err
	}
	var rows []json.RawMessage
	if t := top[table]; len(t) > 0 && string(t) != "null" {
		if err := json.Unmarshal(t, &rows); err != nil {
			return err
		}
	}
	var header []string
	seen := map[string]bool{}
	var records []map[string]string
	for _, r := range rows {
		rec := map[string]string{}
		var keys []string
		if err := flatten("", r, rec, &keys); err != nil {
			return err
		}
		for _, k := range keys {
			if !seen[k] {
				seen[k] = true
				header = append(header, k)
			}
		}
		records = append(records, rec)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	line := make([]string, len(header))
	for _, rec := range records {
		for k, h := range header {
			line[k] = rec[h]
		}
		if err := cw.Write(line); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// SafeCell returns a CSV cell's text so that no spreadsheet evaluates
// it: text starting with =, +, -, @, a tab or a carriage return (a
// formula to Excel, LibreOffice and Google Sheets: "formula injection"
// through a member name or a reason) is prefixed with an apostrophe,
// which spreadsheets read as "this is text" and do not show. A number
// (-1250.75, +3, 1e-3) is left as it is: negative amounts stay numbers.
func SafeCell(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return s
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "xXpPnN_") {
		return s // a number, in decimal notation (not hex, NaN, Inf)
	}
	return "'" + s
}

// flatten walks a JSON value keeping object key order.
func flatten(prefix string, raw json.RawMessage, out map[string]string, keys *[]string) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); ok && d == '{' {
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			var val json.RawMessage
			if err := dec.Decode(&val); err != nil {
				return err
			}
			name := kt.(string)
			if prefix != "" {
				name = prefix + "_" + name
			}
			if err := flatten(name, val, out, keys); err != nil {
				return err
			}
		}
		return nil
	}
	*keys = append(*keys, prefix)
	switch t := tok.(type) {
	case nil:
		out[prefix] = ""
	case string:
		out[prefix] = SafeCell(t)
	case json.Number:
		out[prefix] = t.String()
	case bool:
		out[prefix] = strconv.FormatBool(t)
	default: // an array: keep it as JSON text
		out[prefix] = string(raw)
	}
	return nil
}

func (s *Handlers) getPlans(c echo.Context) error {
	ps, err := s.view.Plans(c.Request().Context(), c.QueryParam("as_of"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"plans": ps})
}

func (s *Handlers) getDimensions(c echo.Context) error {
	ds, err := s.view.Dimensions(c.Request().Context(), c.QueryParam("as_of"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ds)
}

func (s *Handlers) getPlan(c echo.Context) error {
	at, err := asOf(c.QueryParams())
	if err != nil {
		return err
	}
	p, err := s.view.Plan(c.Request().Context(), c.Param("plan"), at)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (s *Handlers) postPreview(c echo.Context) error {
	var body view.PreviewRequest
	dec := json.NewDecoder(io.LimitReader(c.Request().Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return view.BadParam("body", "", "want a JSON object {metric, year, moves: [{node, delta}]}: %v", err)
	}
	v, err := s.view.Preview(c.Request().Context(), c.Param("plan"), body)
	if err != nil {
		return err
	}
	return reply(c, v, "rows", c.Param("plan")+"-preview")
}
