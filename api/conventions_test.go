package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/concord-planning/concord/api"
	"github.com/labstack/echo/v4"
)

// TestOpenAPICoversRoutes: every route registered with Echo is documented
// with its method, and every documented operation is a registered route;
// /openapi.json serves the document.
func TestOpenAPICoversRoutes(t *testing.T) {
	e := newEnv(t, api.Config{})
	doc, err := api.Document()
	if err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`:(\w+)`)
	registered := map[string]bool{}
	for _, r := range e.srv.Handler().(*echo.Echo).Routes() {
		if r.Method == echo.RouteNotFound {
			continue // Echo's fallback of a group with middleware
		}
		key := r.Method + " " + param.ReplaceAllString(r.Path, "{$1}")
		registered[key] = true
		item := doc.Paths.Find(param.ReplaceAllString(r.Path, "{$1}"))
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("route %s is not documented in openapi.yaml", key)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !registered[method+" "+path] {
				t.Errorf("openapi.yaml documents %s %s, which is no route", method, path)
			}
		}
	}
	if len(registered) < 30 {
		t.Errorf("only %d routes registered: is the table wired?", len(registered))
	}
	w := e.do(req{method: "GET", path: "/openapi.json"})
	var served map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &served); w.Code != 200 || err != nil || served["openapi"] != "3.0.3" {
		t.Errorf("GET /openapi.json = %d %v", w.Code, err)
	}
}

// TestHealthReadyMetrics: liveness always, readiness from the injected
// function, metrics in the Prometheus format with route templates as
// labels.
func TestHealthReadyMetrics(t *testing.T) {
	e := newEnv(t, api.Config{})
	ready := errors.New("projections are catching up")
	srv, err := api.New(api.Config{Clock: clock}, api.Deps{Store: e.store, Registry: planningRegistry, Service: e.svc,
		Ready: func(context.Context) error { return ready }})
	if err != nil {
		t.Fatal(err)
	}
	e.h = srv.Handler()
	if w := e.do(req{method: "GET", path: "/healthz"}); w.Code != 200 {
		t.Errorf("healthz = %d", w.Code)
	}
	if w := e.do(req{method: "GET", path: "/readyz"}); w.Code != 503 || !strings.Contains(w.Body.String(), "catching up") {
		t.Errorf("readyz while not ready = %d %s", w.Code, w.Body.String())
	}
	ready = nil
	if w := e.do(req{method: "GET", path: "/readyz"}); w.Code != 200 {
		t.Errorf("readyz when ready = %d", w.Code)
	}
	e.do(req{method: "GET", path: "/api/v1/plans/nope", as: "vera"})
	w := e.do(req{method: "GET", path: "/metrics"})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `concord_http_requests_total{code="404",host="example.com",method="GET",url="/api/v1/plans/:plan"} 1`) {
		t.Errorf("metrics = %d, want a request count labelled with the route template:\n%s", w.Code, grep(w.Body.String(), "requests_total"))
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestRateLimitByClientIP: the limit is per client IP; the peer address
// counts unless the peer is a trusted proxy, whose X-Forwarded-For is then
// believed.
func TestRateLimitByClientIP(t *testing.T) {
	e := newEnv(t, api.Config{RateLimit: 0.001, RateBurst: 2, TrustedProxies: []string{"10.0.0.0/8"}})
	send := func(peer, xff string) int {
		r := httptest.NewRequest("GET", "/api/v1/dimensions/region", nil)
		r.RemoteAddr = peer + ":4711"
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		r.Header.Set("Authorization", "Bearer "+e.tok["vera"])
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		e.validate(r, w)
		return w.Code
	}
	tests := []struct {
		name      string
		peer, xff string
		want      int
	}{
		{"client A 1", "203.0.113.1", "", 200},
		{"client A 2", "203.0.113.1", "", 200},
		{"client A 3: over the burst", "203.0.113.1", "", 429},
		{"client A spoofing XFF from an untrusted peer", "203.0.113.1", "198.51.100.9", 429},
		{"client B through the proxy 1", "10.1.1.1", "198.51.100.7", 200},
		{"client B through the proxy 2", "10.1.1.1", "198.51.100.7", 200},
		{"client B through the proxy 3", "10.1.1.1", "198.51.100.7", 429},
		{"client C through the same proxy", "10.1.1.1", "198.51.100.8", 200},
	}
	for _, tc := range tests {
		if got := send(tc.peer, tc.xff); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	if _, err := api.New(api.Config{TrustedProxies: []string{"10.0.0.0"}}, api.Deps{Store: e.store, Registry: planningRegistry, Service: e.svc}); err == nil {
		t.Errorf("New accepted a trusted proxy that is not a CIDR network")
	}
}

// TestCORS: closed by default (no CORS headers at all); when origins are
// configured, only those get them.
func TestCORS(t *testing.T) {
	preflight := func(h http.Handler, origin string) http.Header {
		r := httptest.NewRequest("OPTIONS", "/api/v1/plans", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", "POST")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Header()
	}
	closed := newEnv(t, api.Config{})
	if h := preflight(closed.h, "https://app.example"); h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("default server allowed origin %q", h.Get("Access-Control-Allow-Origin"))
	}
	open := newEnv(t, api.Config{AllowedOrigins: []string{"https://app.example"}})
	if h := preflight(open.h, "https://app.example"); h.Get("Access-Control-Allow-Origin") != "https://app.example" || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Idempotency-Key") {
		t.Errorf("configured origin: %v", h)
	}
	if h := preflight(open.h, "https://evil.example"); h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("unlisted origin allowed: %v", h)
	}
}

// TestPagination walks a plan's targets two at a time.
func TestPagination(t *testing.T) {
	e := newEnv(t, api.Config{})
	e.openPlan()
	var nodes []string
	amounts := map[string]string{"region=emea": "2", "region=amer": "1", "region=de": "1", "region=fr": "1", "region=us": "1"} // EMEA = Germany + France
	for _, n := range []string{"region=emea", "region=amer", "region=de", "region=fr", "region=us"} {
		if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/targets/set", as: "alice", body: `{"node":"` + n + `","metric":"revenue","span":"FY2027","amount":"` + amounts[n] + `","reason":"r"}`}); w.Code != 200 {
			t.Fatal(w.Body.String())
		}
		nodes = append(nodes, n)
	}
	slices.Sort(nodes)
	var got []string
	cursor, pages := "", 0
	for {
		w := e.do(req{method: "GET", path: "/api/v1/plans/fy27/targets?limit=2&cursor=" + cursor, as: "vera"})
		var p api.Page[api.Target]
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || w.Code != 200 {
			t.Fatalf("%d %s", w.Code, w.Body.String())
		}
		pages++
		for _, it := range p.Items {
			got = append(got, it.Node)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if !slices.Equal(got, nodes) || pages != 3 {
		t.Errorf("paged %v in %d pages, want %v in 3", got, pages, nodes)
	}
}
