package api_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/concord-planning/concord/api"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/golang-jwt/jwt/v5"
)

// sample is a valid request per route, for sales sent within sam's scope
// (EMEA). The matrix checks who gets through, not what the command then
// decides.
var sample = map[string]string{
	"POST /api/v1/dimensions":                                   `{"id":"seg","name":"Segment","root_id":"any","root_name":"Any"}`,
	"GET /api/v1/dimensions/:dimension":                         "",
	"POST /api/v1/dimensions/:dimension/members":                `{"id":"apac","name":"APAC","parent":"world"}`,
	"POST /api/v1/dimensions/:dimension/members/:member/rename": `{"name":"Europe"}`,
	"POST /api/v1/dimensions/:dimension/members/:member/move":   `{"parent":"world"}`,
	"POST /api/v1/dimensions/:dimension/members/:member/retire": `{}`,
	"POST /api/v1/plans":                                        `{"id":"p2","name":"P2","currency":"EUR","fiscal_year_start":1,"dimensions":["region"],"horizon_start":"2027-01","metrics":[{"id":"m","name":"M"}]}`,
	"GET /api/v1/plans/:plan":                                   "",
	"GET /api/v1/plans/:plan/targets":                           "",
	"POST /api/v1/plans/:plan/targets/set":                      `{"node":"region=fr","metric":"revenue","span":"FY2027","amount":"1","reason":"r"}`,
	"POST /api/v1/plans/:plan/targets/revise":                   `{"node":"region=emea","metric":"revenue","span":"FY2027","amount":"7","reason":"r"}`,
	"POST /api/v1/plans/:plan/targets/clear":                    `{"node":"region=emea","metric":"revenue","span":"FY2027","reason":"r"}`,
	"POST /api/v1/plans/:plan/targets/batch":                    `{"rows":[{"op":"set","node":"region=us","metric":"revenue","span":"FY2027","amount":"1","reason":"r"}]}`,
	"POST /api/v1/plans/:plan/reallocations":                    `{"id":"rx","metric":"revenue","span":"FY2027","moves":[{"node":"region=emea","delta":"-1"},{"node":"region=de","delta":"1"}],"reason":"r"}`,
	"POST /api/v1/plans/:plan/reallocations/:id/approve":        `{}`,
	"POST /api/v1/plans/:plan/reallocations/:id/reject":         `{"reason":"r"}`,
	"POST /api/v1/plans/:plan/tags":                             `{"tag":"t"}`,
	"POST /api/v1/plans/:plan/approvals":                        `{"version":2}`,
	"POST /api/v1/plans/:plan/actuals":                          `{"import_id":"i","rows":[{"cell":"region=de;product=pumps","metric":"revenue","period":"2027-02","amount":"1"}]}`,
	"POST /api/v1/plans/:plan/actuals/restate":                  `{"cell":"region=de;product=pumps","metric":"revenue","period":"2027-01","amount":"5","reason":"r"}`,
	"POST /api/v1/plans/:plan/commits":                          `{"id":"c9","node":"region=de","metric":"revenue","span":"FY2027","amount":"1","confidence":"commit","comment":"c"}`,
	"POST /api/v1/plans/:plan/commits/:id/withdraw":             `{"reason":"r"}`,
	"POST /api/v1/plans/:plan/forecasts":                        `{"run_id":"rr","metric":"revenue","data_position":"1","model":{},"series":[{"node":"","first":"2027-04","mean":[1],"lo80":[1],"hi80":[1],"lo95":[1],"hi95":[1]}]}`,
	"POST /api/v1/periods/:period/close":                        `{"allow_missing":true,"reason":"r"}`,
	"POST /api/v1/periods/:period/reopen":                       `{"reason":"r"}`,
	"GET /api/v1/tokens":                                        "",
	"POST /api/v1/tokens":                                       `{"name":"new","role":"viewer"}`,
	"POST /api/v1/tokens/:id/revoke":                            `{"reason":"r"}`,

	"GET /api/v1/me":                                            "",
	"GET /api/v1/plans":                                         "",
	"GET /api/v1/plans/:plan/summary":                           "",
	"GET /api/v1/plans/:plan/variance":                          "",
	"GET /api/v1/plans/:plan/rolling":                           "",
	"GET /api/v1/plans/:plan/pivot":                             "",
	"GET /api/v1/plans/:plan/history":                           "",
	"GET /api/v1/dimensions":                                    "",
	"POST /api/v1/plans/:plan/discard":                          `{"reason":"by mistake"}`,
	"POST /api/v1/plans/:plan/rename":                           `{"name":"FY27 budget"}`,
	"POST /api/v1/dimensions/:dimension/members/:member/remove": `{}`,
	"POST /api/v1/dimensions/import":                            "dimension,member,name,parent\nregion,world,World,\n",
	"POST /api/v1/plans/:plan/reforecast":                       `{}`,
	"GET /api/v1/plans/:plan/diff":                              "",
	"GET /api/v1/plans/:plan/forecasts":                         "",
	"GET /api/v1/plans/:plan/accuracy":                          "",
	"GET /api/v1/plans/:plan/reallocations":                     "",
	"POST /api/v1/plans/:plan/reallocations/preview":            `{"metric":"revenue","year":2027,"moves":[{"node":"region=emea","delta":"-1"},{"node":"region=de","delta":"1"}]}`,
	"GET /api/v1/audit/verify":                                  "",
	"GET /api/v1/plans/:plan/alerts":                            "",
	"POST /api/v1/plans/:plan/alerts/:id/acknowledge":           `{"comment":"seen"}`,
	"GET /api/v1/plans/:plan/alert-rules":                       "",
	"POST /api/v1/plans/:plan/alert-rules":                      `{"id":"r1","kind":"probability_below","nodes":["region=emea"],"metric":"revenue","year":2027,"threshold":0.5,"severity":"warning"}`,
	"POST /api/v1/plans/:plan/alert-rules/:id/remove":           `{}`,
	"GET /api/v1/plans/:plan/dead-letters":                      "",
	"POST /api/v1/plans/:plan/dead-letters/:id/clear":           `{"change":"raised","retry":true}`,

	"POST /api/v1/plans/:plan/scenarios":                           `{"id":"s9","name":"What if"}`,
	"GET /api/v1/plans/:plan/scenarios":                            "",
	"GET /api/v1/plans/:plan/scenarios/:scenario":                  "",
	"POST /api/v1/plans/:plan/scenarios/:scenario/targets":         `{"rows":[{"op":"revise","node":"region=emea","metric":"revenue","span":"FY2027","amount":"8","reason":"r"}]}`,
	"POST /api/v1/plans/:plan/scenarios/:scenario/reallocations":   `{"metric":"revenue","span":"FY2027","moves":[{"node":"region=emea","delta":"-1"},{"node":"region=de","delta":"1"}],"reason":"r"}`,
	"POST /api/v1/plans/:plan/scenarios/:scenario/discard":         `{"reason":"r"}`,
	"POST /api/v1/plans/:plan/scenarios/:scenario/promote":         `{"reason":"r"}`,
	"POST /api/v1/plans/:plan/scenarios/:scenario/rebase":          `{}`,
	"GET /api/v1/plans/:plan/compare":                              "",
	"POST /api/v1/plans/:plan/scenarios/:scenario/assumptions":     `{"metric":"revenue","node":"region=emea","span":"FY2027","percent":"-10","reason":"r"}`,
	"POST /api/v1/plans/:plan/scenarios/:scenario/method":          `{"metric":"revenue","method":"snaive","reason":"r"}`,
	"POST /api/v1/plans/:plan/scenarios/:scenario/estimate-policy": `{"metric":"revenue","policy":"blend","commit_weight":0.5,"reason":"r"}`,
	"POST /api/v1/plans/:plan/derived-metrics":                     `{"id":"gm-pct","name":"Gross margin %","formula":"margin / revenue"}`,
	"POST /api/v1/plans/:plan/model-pins":                          `{"metric":"revenue","node":"region=emea","method":"ets","reason":"a growing region"}`,
	"POST /api/v1/plans/:plan/estimate-policy":                     `{"metric":"revenue","policy":"blend","commit_weight":0.5,"reason":"half each"}`,
}

// params fill the path parameters of the matrix's requests.
var params = map[string]string{":dimension": "region", ":member": "emea", ":plan": "fy27", ":id": "x1", ":period": "2027-01", ":scenario": "s1"}

// allowedFor says which roles may call a route: the contract the matrix
// holds the server to. Sales reaches commits and reallocation proposals
// (and withdrawing its own); viewers only read; everyone acknowledges
// alerts; planners everything but tokens and dead letters (and only they
// read alert rules); admins everything.
func allowedFor(method, path, role string) bool {
	if path == "/api/v1/plans/:plan/alerts/:id/acknowledge" {
		return role != ""
	}
	switch role {
	case "admin":
		return true
	case "alice": // planner
		return !strings.HasPrefix(path, "/api/v1/tokens") && !strings.HasPrefix(path, "/api/v1/plans/:plan/dead-letters")
	case "vera": // viewer
		return method == http.MethodGet && !strings.HasPrefix(path, "/api/v1/tokens") && !strings.HasPrefix(path, "/api/v1/plans/:plan/dead-letters") &&
			path != "/api/v1/plans/:plan/alert-rules"
	case "sam": // sales
		if method == http.MethodGet {
			return !strings.HasPrefix(path, "/api/v1/tokens") && !strings.HasPrefix(path, "/api/v1/plans/:plan/dead-letters") &&
				path != "/api/v1/plans/:plan/alert-rules"
		}
		return slices.Contains([]string{"/api/v1/plans/:plan/reallocations", "/api/v1/plans/:plan/reallocations/preview", "/api/v1/plans/:plan/reallocations/:id/reject",
			"/api/v1/plans/:plan/commits", "/api/v1/plans/:plan/commits/:id/withdraw"}, path) ||
			(strings.HasPrefix(path, "/api/v1/plans/:plan/scenarios") && !strings.HasSuffix(path, "/method") && !strings.HasSuffix(path, "/estimate-policy"))
	}
	return false
}

// TestAuthorizationMatrix calls every route as every role (and as nobody):
// anonymous calls get 401, calls beyond a role get 403, and neither
// records anything; allowed calls get through (whatever the command then
// decides). It fails when a route has no sample, so new routes join the
// matrix.
func TestAuthorizationMatrix(t *testing.T) {
	for _, as := range []string{"", "vera", "sam", "alice", "admin"} {
		e := newEnv(t, api.Config{})
		e.openPlan()
		for _, r := range []req{
			{method: "POST", path: "/api/v1/plans/fy27/targets/set", as: "bob", body: `{"node":"region=emea","metric":"revenue","span":"FY2027","amount":"9","reason":"r"}`},
			{method: "POST", path: "/api/v1/plans/fy27/targets/set", as: "bob", body: `{"node":"region=de","metric":"revenue","span":"FY2027","amount":"9","reason":"r"}`},
			{method: "POST", path: "/api/v1/plans/fy27/actuals", as: "bob", body: `{"import_id":"i0","rows":[{"cell":"region=de;product=pumps","metric":"revenue","period":"2027-01","amount":"1"}]}`},
		} {
			if w := e.do(r); w.Code >= 300 {
				t.Fatalf("setup: %d %s", w.Code, w.Body.String())
			}
		}
		routes := e.srv.Routes()
		if len(routes) != len(sample) {
			t.Errorf("the server has %d routes, the matrix samples %d: add the new routes to sample", len(routes), len(sample))
		}
		for _, rt := range routes {
			body, ok := sample[rt.Method+" "+rt.Path]
			if !ok {
				t.Errorf("no sample for %s %s", rt.Method, rt.Path)
				continue
			}
			path := rt.Path
			for k, v := range params {
				path = strings.ReplaceAll(path, k, v)
			}
			name := as
			if name == "" {
				name = "anonymous"
			}
			t.Run(name+" "+rt.Method+" "+rt.Path, func(t *testing.T) {
				before := e.head()
				w := e.do(req{method: rt.Method, path: path, as: as, body: body})
				switch {
				case as == "":
					if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") == "" {
						t.Errorf("anonymous %s %s = %d (WWW-Authenticate %q), want 401", rt.Method, path, w.Code, w.Header().Get("WWW-Authenticate"))
					}
				case allowedFor(rt.Method, rt.Path, as):
					if w.Code == http.StatusUnauthorized || w.Code == http.StatusForbidden {
						t.Errorf("%s %s %s = %d, want it let through: %s", as, rt.Method, path, w.Code, w.Body.String())
					}
					return
				default:
					if w.Code != http.StatusForbidden {
						t.Errorf("%s %s %s = %d, want 403: %s", as, rt.Method, path, w.Code, w.Body.String())
					}
				}
				if after := e.head(); after != before {
					t.Errorf("a refused call moved the log from %v to %v", before, after)
				}
			})
		}
	}
}

// TestSalesScope: a sales token scoped to EMEA acts on EMEA and below,
// nowhere else.
func TestSalesScope(t *testing.T) {
	e := newEnv(t, api.Config{})
	e.openPlan()
	for _, n := range []string{"region=emea", "region=amer", "region=de", "region=us"} {
		if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/targets/set", as: "alice", body: `{"node":"` + n + `","metric":"revenue","span":"FY2027","amount":"100","reason":"r"}`}); w.Code != 200 {
			t.Fatal(w.Body.String())
		}
	}
	if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/commits", as: "ann", body: `{"id":"us1","node":"region=us","metric":"revenue","span":"FY2027","amount":"1","confidence":"commit","comment":"c"}`}); w.Code != 200 {
		t.Fatal(w.Body.String())
	}
	commit := func(id, node string) req {
		return req{method: "POST", path: "/api/v1/plans/fy27/commits", as: "sam", body: `{"id":"` + id + `","node":"` + node + `","metric":"revenue","span":"FY2027","amount":"1","confidence":"commit","comment":"c"}`}
	}
	realloc := func(id, a, b string) req {
		return req{method: "POST", path: "/api/v1/plans/fy27/reallocations", as: "sam", body: `{"id":"` + id + `","metric":"revenue","span":"FY2027","moves":[{"node":"` + a + `","delta":"-1"},{"node":"` + b + `","delta":"1"}],"reason":"r"}`}
	}
	tests := []struct {
		name string
		r    req
		want int
	}{
		{"commit on the scope", commit("c1", "region=emea"), 200},
		{"commit below the scope", commit("c2", "region=de;product=pumps"), 200},
		{"commit on another region", commit("c3", "region=us"), 403},
		{"commit on the parent", commit("c4", "region=amer"), 403},
		{"commit on the total", commit("c5", ""), 403},
		{"commit on a product total across regions", commit("c6", "product=pumps"), 403},
		{"reallocation inside", realloc("r1", "region=emea", "region=de"), 201},
		{"reallocation across regions", realloc("r2", "region=de", "region=us"), 403},
		{"withdraw another region's commit", req{method: "POST", path: "/api/v1/plans/fy27/commits/us1/withdraw", as: "sam", body: `{"reason":"r"}`}, 403},
		{"withdraw own region's commit", req{method: "POST", path: "/api/v1/plans/fy27/commits/c1/withdraw", as: "sam", body: `{"reason":"r"}`}, 200},
		{"reject another's proposal", req{method: "POST", path: "/api/v1/plans/fy27/reallocations/r1/reject", as: "ann", body: `{"reason":"r"}`}, 403},
		{"approve as sales", req{method: "POST", path: "/api/v1/plans/fy27/reallocations/r1/approve", as: "sam", body: `{}`}, 403},
		{"approve own proposal as planner", req{method: "POST", path: "/api/v1/plans/fy27/reallocations/r1/approve", as: "alice", body: `{}`}, 200},
		{"withdraw own proposal", req{method: "POST", path: "/api/v1/plans/fy27/reallocations/r3/reject", as: "sam", body: `{"reason":"r"}`}, 404},
	}
	for _, tc := range tests {
		before := e.head()
		w := e.do(tc.r)
		if w.Code != tc.want {
			t.Errorf("%s: %d, want %d: %s", tc.name, w.Code, tc.want, w.Body.String())
		}
		if (w.Code >= 400) != (e.head() == before) {
			t.Errorf("%s: status %d but the log moved from %v to %v", tc.name, w.Code, before, e.head())
		}
	}
}

// TestSelfApproval: the proposer may not approve their own reallocation.
func TestSelfApproval(t *testing.T) {
	e := newEnv(t, api.Config{})
	e.openPlan()
	for _, r := range []req{
		{method: "POST", path: "/api/v1/plans/fy27/targets/set", as: "alice", body: `{"node":"region=emea","metric":"revenue","span":"FY2027","amount":"5","reason":"r"}`},
		{method: "POST", path: "/api/v1/plans/fy27/targets/set", as: "alice", body: `{"node":"region=amer","metric":"revenue","span":"FY2027","amount":"5","reason":"r"}`},
		{method: "POST", path: "/api/v1/plans/fy27/reallocations", as: "alice", body: `{"id":"r1","metric":"revenue","span":"FY2027","moves":[{"node":"region=emea","delta":"-1"},{"node":"region=amer","delta":"1"}],"reason":"r"}`},
	} {
		if w := e.do(r); w.Code >= 300 {
			t.Fatal(w.Body.String())
		}
	}
	before := e.head()
	w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/reallocations/r1/approve", as: "alice", body: `{}`})
	if w.Code != http.StatusForbidden || e.head() != before {
		t.Errorf("self approval = %d (log %v → %v), want 403 and nothing recorded", w.Code, before, e.head())
	}
	if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/reallocations/r1/approve", as: "bob", body: `{}`}); w.Code != 200 {
		t.Errorf("approval by another planner = %d: %s", w.Code, w.Body.String())
	}
}

// TestActorFromCredentials: events record the authenticated principal as
// actor, in metadata and in the event, and the server's request id as
// correlation: a client's X-Request-Id is kept beside it (answered as
// X-Client-Request-Id) only when short and printable, and never becomes
// the correlation id (before, any id of any length was stored and echoed).
func TestActorFromCredentials(t *testing.T) {
	e := newEnv(t, api.Config{})
	e.openPlan()
	serverID := regexp.MustCompile(`^req-[0-9a-f]{32}$`)
	for i, c := range []struct {
		name, sent, kept string
	}{
		{"short", "req-42", "req-42"},
		{"none", "", ""},
		{"too long", strings.Repeat("x", api.MaxClientRequestID+1), ""},
		{"a megabyte", strings.Repeat("y", 1<<20), ""},
		{"not printable", "req\x01", ""},
		{"an import batch's name", "csv-0123456789abcdef-5000-1", "csv-0123456789abcdef-5000-1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/targets/set", as: "alice", header: map[string]string{"X-Request-Id": c.sent},
				body: fmt.Sprintf(`{"node":"region=emea","metric":"revenue","span":"2026-%02d","amount":"5","reason":"r"}`, i+4)})
			id := w.Header().Get("X-Request-Id")
			if w.Code != 200 || !serverID.MatchString(id) {
				t.Fatalf("%d, X-Request-Id %q, want 200 and a server id: %s", w.Code, id, w.Body.String())
			}
			if got := w.Header().Get("X-Client-Request-Id"); got != c.kept {
				t.Errorf("X-Client-Request-Id = %q, want %q", got, c.kept)
			}
			ev := e.lastEvent()
			if ev.Metadata.Actor != "token:alice" || ev.Metadata.CorrelationID != id {
				t.Errorf("metadata = %+v, want actor token:alice, correlation %s", ev.Metadata, id)
			}
		})
	}
	ev := e.lastEvent()
	v, err := planningRegistry.Decode(ev)
	if err != nil {
		t.Fatal(err)
	}
	if ts, ok := v.(plan.TargetSet); !ok || ts.By != "token:alice" {
		t.Errorf("event = %#v, want TargetSet by token:alice", v)
	}
}

// TestIdempotentRetry: same key and body → the first answer, nothing
// recorded twice; same key, other body → 422; the import id guards
// retried imports even under a new key.
func TestIdempotentRetry(t *testing.T) {
	e := newEnv(t, api.Config{})
	e.openPlan()
	set := req{method: "POST", path: "/api/v1/plans/fy27/targets/set", as: "alice", header: map[string]string{"Idempotency-Key": "k1"},
		body: `{"node":"region=emea","metric":"revenue","span":"FY2027","amount":"5","reason":"r"}`}
	first := e.do(set)
	if first.Code != 200 {
		t.Fatal(first.Body.String())
	}
	head := e.head()
	again := e.do(set)
	if again.Code != 200 || again.Body.String() != first.Body.String() || again.Header().Get("Idempotent-Replayed") != "true" ||
		again.Header().Get("ETag") != first.Header().Get("ETag") || e.head() != head {
		t.Errorf("retry = %d %q %s (log %v → %v), want the first answer replayed and nothing recorded", again.Code, again.Header().Get("Idempotent-Replayed"), again.Body.String(), head, e.head())
	}
	other := set
	other.body = strings.Replace(set.body, `"5"`, `"6"`, 1)
	if w := e.do(other); w.Code != http.StatusUnprocessableEntity || e.head() != head {
		t.Errorf("same key, other body = %d, want 422 and nothing recorded: %s", w.Code, w.Body.String())
	}
	// Keys are per principal: bob's k1 is his own.
	bobs := set
	bobs.as = "bob"
	bobs.body = strings.Replace(set.body, "region=emea", "region=amer", 1)
	if w := e.do(bobs); w.Code != 200 || w.Header().Get("Idempotent-Replayed") != "" {
		t.Errorf("another principal's k1 = %d %s", w.Code, w.Body.String())
	}
	// A refused request is replayed as refused, and still records nothing.
	bad := req{method: "POST", path: "/api/v1/plans/fy27/targets/set", as: "alice", header: map[string]string{"Idempotency-Key": "k2"},
		body: `{"node":"region=mars","metric":"revenue","span":"FY2027","amount":"5","reason":"r"}`}
	head = e.head()
	if a, b := e.do(bad), e.do(bad); a.Code != 422 || b.Code != 422 || b.Header().Get("Idempotent-Replayed") != "true" || e.head() != head {
		t.Errorf("refused retry: %d then %d (%q)", a.Code, b.Code, b.Header().Get("Idempotent-Replayed"))
	}
	// Imports are idempotent by import id.
	imp := req{method: "POST", path: "/api/v1/plans/fy27/actuals", as: "alice", header: map[string]string{"Idempotency-Key": "imp-a"},
		body: `{"import_id":"erp-1","rows":[{"cell":"region=de;product=pumps","metric":"revenue","period":"2027-01","amount":"1"},{"cell":"region=fr;product=pumps","metric":"revenue","period":"2027-02","amount":"1"}]}`}
	if w := e.do(imp); w.Code != 200 {
		t.Fatal(w.Body.String())
	}
	head = e.head()
	imp.header = map[string]string{"Idempotency-Key": "imp-b"}
	w := e.do(imp)
	var out api.ImportOutput
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code != 200 || !out.AlreadyImported || out.Recorded != 0 || e.head() != head {
		t.Errorf("import again under a new key = %d %s (log %v → %v), want already_imported and nothing recorded", w.Code, w.Body.String(), head, e.head())
	}
}

// TestJWT accepts well-formed JWTs (HS256, RS256, ES256) and refuses the
// rest with 401.
func TestJWT(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, api.Config{JWT: api.JWTConfig{Issuer: "https://idp", Audience: "concord", HMACSecret: secret,
		PublicKeys: map[string]crypto.PublicKey{"rsa1": &rsaKey.PublicKey, "ec1": &ecKey.PublicKey}, MaxLifetime: 2 * time.Hour}})
	e.openPlan()
	good := jwt.MapClaims{"sub": "carol", "iss": "https://idp", "aud": "concord", "exp": now.Add(time.Hour).Unix(), "nbf": now.Add(-time.Minute).Unix(), "role": "planner"}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, vv := range good {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	and := func(c jwt.MapClaims, k string, v any) jwt.MapClaims {
		out := jwt.MapClaims{k: v}
		for kk, vv := range c {
			if kk != k {
				out[kk] = vv
			}
		}
		return out
	}
	sign := func(m jwt.SigningMethod, kid string, key any, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(m, c)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name string
		tok  string
		want int
	}{
		{"HS256", sign(jwt.SigningMethodHS256, "", secret, good), 200},
		{"RS256 by kid", sign(jwt.SigningMethodRS256, "rsa1", rsaKey, good), 200},
		{"ES256 without kid", sign(jwt.SigningMethodES256, "", ecKey, good), 200},
		{"expired", sign(jwt.SigningMethodHS256, "", secret, with("exp", now.Add(-time.Minute).Unix())), 401},
		{"no exp", sign(jwt.SigningMethodHS256, "", secret, with("exp", nil)), 401},
		{"not yet valid", sign(jwt.SigningMethodHS256, "", secret, with("nbf", now.Add(time.Hour).Unix())), 401},
		{"wrong issuer", sign(jwt.SigningMethodHS256, "", secret, with("iss", "https://evil")), 401},
		{"wrong audience", sign(jwt.SigningMethodHS256, "", secret, with("aud", "other")), 401},
		{"wrong secret", sign(jwt.SigningMethodHS256, "", []byte("another secret of thirty-two by"), good), 401},
		{"unknown kid", sign(jwt.SigningMethodRS256, "rsa9", rsaKey, good), 401},
		{"alg none", sign(jwt.SigningMethodNone, "", jwt.UnsafeAllowNoneSignatureType, good), 401},
		{"HS256 signed with the RSA public key", func() string {
			der := rsaKey.PublicKey.N.Bytes()
			return sign(jwt.SigningMethodHS512, "rsa1", der, good)
		}(), 401},
		{"unknown role", sign(jwt.SigningMethodHS256, "", secret, with("role", "root")), 401},
		{"no subject", sign(jwt.SigningMethodHS256, "", secret, with("sub", nil)), 401},
		{"sales without scopes", sign(jwt.SigningMethodHS256, "", secret, with("role", "sales")), 401},
		{"garbage", "not.a.jwt", 401},
		// Issue 14: each of these was accepted.
		{"exp as a string", sign(jwt.SigningMethodHS256, "", secret, with("exp", fmt.Sprint(now.Add(time.Hour).Unix()))), 401},
		{"nbf as a string", sign(jwt.SigningMethodHS256, "", secret, with("nbf", fmt.Sprint(now.Add(-time.Minute).Unix()))), 401},
		{"iat as a string", sign(jwt.SigningMethodHS256, "", secret, with("iat", fmt.Sprint(now.Unix()))), 401},
		{"sub with a line break", sign(jwt.SigningMethodHS256, "", secret, with("sub", "carol\nlevel=INFO msg=approved")), 401},
		{"sub with NUL", sign(jwt.SigningMethodHS256, "", secret, with("sub", "carol\x00")), 401},
		{"sub blank", sign(jwt.SigningMethodHS256, "", secret, with("sub", "  ")), 401},
		{"sales scoped to a dimension's root", sign(jwt.SigningMethodHS256, "", secret, and(with("role", "sales"), "scopes", []string{"region=world"})), 401},
		{"sales scoped to an unknown member", sign(jwt.SigningMethodHS256, "", secret, and(with("role", "sales"), "scopes", []string{"region=mars"})), 401},
		{"sales scoped twice", sign(jwt.SigningMethodHS256, "", secret, and(with("role", "sales"), "scopes", []string{"region=amer", "region=amer"})), 401},
		{"planner with scopes", sign(jwt.SigningMethodHS256, "", secret, and(good, "scopes", []string{"region=amer"})), 401},
		{"lives beyond the maximum", sign(jwt.SigningMethodHS256, "", secret, with("exp", now.Add(3*time.Hour).Unix())), 401},
		{"iat to exp beyond the maximum", sign(jwt.SigningMethodHS256, "", secret, and(good, "iat", now.Add(-2*time.Hour).Unix())), 401},
		{"iat to exp within the maximum", sign(jwt.SigningMethodHS256, "", secret, and(good, "iat", now.Add(-time.Minute).Unix())), 200},
	}
	for _, tc := range tests {
		before := e.head()
		w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/tags", as: tc.tok, body: `{"tag":"` + tc.name + `"}`})
		if w.Code != tc.want {
			t.Errorf("%s: %d, want %d: %s", tc.name, w.Code, tc.want, w.Body.String())
			continue
		}
		if tc.want == 401 && e.head() != before {
			t.Errorf("%s: refused, yet the log moved", tc.name)
		}
		if tc.want == 200 && e.lastEvent().Metadata.Actor != "jwt:carol" {
			t.Errorf("%s: actor %q, want jwt:carol", tc.name, e.lastEvent().Metadata.Actor)
		}
	}
	// A sales JWT carries its scopes.
	scoped := with("role", "sales")
	scoped["scopes"] = []string{"region=amer"}
	tok := sign(jwt.SigningMethodHS256, "", secret, scoped)
	for _, n := range []string{"region=amer", "region=emea"} {
		w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/commits", as: tok, body: `{"id":"c-` + n[7:] + `","node":"` + n + `","metric":"revenue","span":"FY2027","amount":"1","confidence":"commit","comment":"c"}`})
		if want := map[string]int{"region=amer": 200, "region=emea": 403}[n]; w.Code != want {
			t.Errorf("sales JWT scoped to amer, commit on %s = %d, want %d", n, w.Code, want)
		}
	}
}

// TestTokenRevocationAcrossServers: a token revoked through one server
// stops working on another replica over the same store within
// Config.TokenRefresh.
func TestTokenRevocationAcrossServers(t *testing.T) {
	e := newEnv(t, api.Config{})
	clockNow := now
	other, err := api.New(api.Config{TokenRefresh: time.Second, Clock: func() time.Time { return clockNow }}, api.Deps{Store: e.store, Registry: planningRegistry, Service: e.svc})
	if err != nil {
		t.Fatal(err)
	}
	get := func(h http.Handler) int {
		r := httptest.NewRequest("GET", "/api/v1/dimensions/region", nil)
		r.Header.Set("Authorization", "Bearer "+e.tok["vera"])
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	if c := get(other.Handler()); c != 200 {
		t.Fatalf("before revocation: %d", c)
	}
	w := e.do(req{method: "GET", path: "/api/v1/tokens", as: "admin"})
	var page api.Page[api.TokenOutput]
	if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil {
		t.Fatal(err)
	}
	id := ""
	for _, tk := range page.Items {
		if tk.Name == "vera" {
			id = tk.ID
		}
	}
	if w := e.do(req{method: "POST", path: "/api/v1/tokens/" + id + "/revoke", as: "admin", body: `{"reason":"left"}`}); w.Code != 200 {
		t.Fatal(w.Body.String())
	}
	if c := get(e.h); c != 401 {
		t.Errorf("on the revoking server: %d, want 401 at once", c)
	}
	clockNow = now.Add(2 * time.Second)
	if c := get(other.Handler()); c != 401 {
		t.Errorf("on the other replica after the refresh interval: %d, want 401", c)
	}
}

var planningRegistry = func() *eventstore.Registry {
	return mustRegistry()
}()
