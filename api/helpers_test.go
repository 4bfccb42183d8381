package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/concord-planning/concord/api"
	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// now is the tests' fixed clock.
var now = time.Date(2027, 3, 15, 9, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// env is a server on a real SQLite store in a temporary directory, with a
// token per principal.
type env struct {
	t      testing.TB
	store  *sqlite.Store
	svc    *planning.Service
	srv    *api.Server
	h      http.Handler
	tok    map[string]string // principal name → secret
	router routers.Router
}

// principals issued in every env: name → role and scopes.
var principals = []struct {
	name   string
	role   access.Role
	scopes []string
}{
	{"admin", access.RoleAdmin, nil},
	{"alice", access.RolePlanner, nil},
	{"bob", access.RolePlanner, nil},
	{"vera", access.RoleViewer, nil},
	{"sam", access.RoleSales, []string{"region=emea"}},
	{"ann", access.RoleSales, []string{"region=amer"}},
}

func init() {
	openapi3filter.RegisterBodyDecoder("application/problem+json", openapi3filter.JSONBodyDecoder)
	text := func(r io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(r)
		return string(b), err
	}
	for _, mt := range []string{"text/plain", "text/csv", "text/html", "text/javascript", "text/css"} {
		openapi3filter.RegisterBodyDecoder(mt, text)
	}
}

// newEnv opens a store, defines the fixture dimensions (region: world >
// emea > de, fr; amer > us; product: all > pumps, valves), issues the
// principals' tokens, and builds a server with cfg.
func newEnv(t testing.TB, cfg api.Config) *env {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "events.db"), sqlite.Options{Clock: clock, Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	reg := planning.NewRegistry()
	svc := planning.New(store, reg, planning.WithClock(clock))
	root := planning.Call{By: planning.Principal{Actor: "setup", Role: access.RoleAdmin}}
	must := func(_ planning.Result, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(svc.DefineDimension(ctx, root, planning.DefineDimension{ID: "region", Name: "Region", RootID: "world", RootName: "World"}))
	for _, m := range [][3]string{{"emea", "EMEA", "world"}, {"amer", "Americas", "world"}, {"de", "Germany", "emea"}, {"fr", "France", "emea"}, {"us", "United States", "amer"}} {
		must(svc.AddMember(ctx, root, planning.AddMember{Dimension: "region", ID: m[0], Name: m[1], Parent: m[2]}))
	}
	must(svc.DefineDimension(ctx, root, planning.DefineDimension{ID: "product", Name: "Product", RootID: "all", RootName: "All products"}))
	for _, m := range [][3]string{{"pumps", "Pumps", "all"}, {"valves", "Valves", "all"}} {
		must(svc.AddMember(ctx, root, planning.AddMember{Dimension: "product", ID: m[0], Name: m[1], Parent: m[2]}))
	}
	e := &env{t: t, store: store, svc: svc, tok: map[string]string{}}
	for _, p := range principals {
		it, err := svc.IssueToken(ctx, root, planning.IssueToken{Name: p.name, Role: p.role, Scopes: p.scopes})
		if err != nil {
			t.Fatal(err)
		}
		e.tok[p.name] = it.Secret
	}
	if cfg.Clock == nil {
		cfg.Clock = clock
	}
	srv, err := api.New(cfg, api.Deps{Store: store, Registry: reg, Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	e.srv, e.h = srv, srv.Handler()
	doc, err := api.Document()
	if err != nil {
		t.Fatal(err)
	}
	if e.router, err = gorillamux.NewRouter(doc); err != nil {
		t.Fatal(err)
	}
	return e
}

// openPlan opens plan fy27 (fiscal year from April, revenue non-negative,
// margin) through the service, and returns it to the caller's tests.
func (e *env) openPlan() {
	e.t.Helper()
	_, err := e.svc.OpenPlan(context.Background(), planning.Call{By: planning.Principal{Actor: "setup", Role: access.RolePlanner}}, planning.OpenPlan{
		ID: "fy27", Name: "FY27", Currency: "EUR", FiscalYearStart: 4, Dimensions: []string{"region", "product"}, HorizonStart: "2026-04", HorizonMonths: 18,
		Metrics: []plan.Metric{{ID: "revenue", Name: "Revenue", Unit: "EUR", NonNegative: true}, {ID: "margin", Name: "Margin", Unit: "EUR"}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// req is one request.
type req struct {
	method, path string
	as           string // principal name; "" sends no credentials
	body         string
	ctype        string // default application/json when body is set
	header       map[string]string
}

// do sends r and checks the response against the OpenAPI document.
func (e *env) do(r req) *httptest.ResponseRecorder {
	e.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.body != "" {
		ct := r.ctype
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	} else if r.ctype != "" {
		hr.Header.Set("Content-Type", r.ctype)
	}
	if r.as != "" {
		tok, ok := e.tok[r.as]
		if !ok {
			tok = r.as // a raw credential
		}
		hr.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, hr)
	e.validate(hr, w)
	return w
}

// validate checks a response against the OpenAPI document: its status is
// documented for the operation, and its headers and body match.
func (e *env) validate(r *http.Request, w *httptest.ResponseRecorder) {
	e.t.Helper()
	route, params, err := e.router.FindRoute(r)
	if err != nil {
		if w.Code != http.StatusNotFound && w.Code != http.StatusMethodNotAllowed {
			e.t.Errorf("%s %s: no documented operation (%v), answered %d", r.Method, r.URL.Path, err, w.Code)
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 w.Code,
		Header:                 w.Header(),
		Body:                   io.NopCloser(bytes.NewReader(w.Body.Bytes())),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		e.t.Errorf("%s %s → %d does not match the OpenAPI document: %v\nbody: %s", r.Method, r.URL.Path, w.Code, err, w.Body.String())
	}
}

// head returns the global log's last position.
func (e *env) head() eventstore.Position {
	e.t.Helper()
	p, err := e.store.Head(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// problem decodes a problem+json body.
func problem(t *testing.T, w *httptest.ResponseRecorder) api.Problem {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json; body %s", ct, w.Body.String())
	}
	var p api.Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body %q: %v", w.Body.String(), err)
	}
	if p.Status != w.Code {
		t.Errorf("problem status %d, response %d", p.Status, w.Code)
	}
	return p
}

// lastEvent returns the last event of the log.
func (e *env) lastEvent() eventstore.RecordedEvent {
	e.t.Helper()
	h := e.head()
	evs, err := e.store.ReadAll(context.Background(), eventstore.Position{Commit: h.Commit - 1, Prepare: h.Commit - 1}, 1)
	if err != nil || len(evs) != 1 {
		e.t.Fatalf("read last event: %v %v", evs, err)
	}
	return evs[0]
}

func mustPeriod(s string) fiscal.Period {
	p, err := fiscal.ParsePeriod(s)
	if err != nil {
		panic(err)
	}
	return p
}

func mustRegistry() *eventstore.Registry { return planning.NewRegistry() }
