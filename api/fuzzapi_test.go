package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/concord-planning/concord/api"
	"github.com/concord-planning/concord/domain/eventstore"
)

// fuzzRoutes are the routes FuzzAPI sends bodies to: every decoder of the
// write side (JSON commands, both forms of both batches, a forecast) and
// the preview, which decodes without recording.
var fuzzRoutes = []string{
	"/api/v1/dimensions",
	"/api/v1/dimensions/region/members",
	"/api/v1/dimensions/region/members/de/rename",
	"/api/v1/plans",
	"/api/v1/plans/fy27/targets/set",
	"/api/v1/plans/fy27/targets/clear",
	"/api/v1/plans/fy27/targets/batch",
	"/api/v1/plans/fy27/actuals",
	"/api/v1/plans/fy27/actuals?import_id=fz",
	"/api/v1/plans/fy27/actuals/restate",
	"/api/v1/plans/fy27/reallocations",
	"/api/v1/plans/fy27/reallocations/preview",
	"/api/v1/plans/fy27/reallocations/r1/approve",
	"/api/v1/plans/fy27/tags",
	"/api/v1/plans/fy27/approvals",
	"/api/v1/plans/fy27/commits",
	"/api/v1/plans/fy27/forecasts",
	"/api/v1/tokens",
}

var fuzzTypes = []string{"application/json", "text/csv", "application/json; charset=utf-8", "", "text/plain"}

// FuzzAPI drives the HTTP API's decoders with random bodies and headers
// (route, media type, body, X-Request-Id, Idempotency-Key, If-Match, as
// an admin so that every route decodes): no request is answered with a
// 5xx (a panic is one: the recoverer answers 500), and a refused request
// (4xx) leaves the log's head where it was. The seed corpus runs in every
// `go test`; `go test ./api -run '^$' -fuzz FuzzAPI -fuzztime 30s` fuzzes.
func FuzzAPI(f *testing.F) {
	seeds := []struct {
		route, ctype    uint8
		body            string
		reqID, key, tag string
	}{
		{4, 0, `{"node":"region=emea","metric":"revenue","span":"FY2027","amount":"1","reason":"r"}`, "", "", ""},
		{4, 0, `{"node":"region=emea","metric":"revenue","span":"FY2027","amount":"1","reason":"r\u0000"}`, "x", "k1", `"1"`},
		{4, 0, "{\"node\":\"region=emea\xff\"}", "", "", ""},
		{6, 1, "op,node,metric,span,reason,amount\nset,region=emea,revenue,FY2027,=cmd,1\n", "", "", ""},
		{6, 0, `{"rows":[{},{},{}]}`, "", "k2", ""},
		{7, 0, `{"import_id":"i","rows":[{"cell":"region=de;product=pumps","metric":"revenue","period":"2027-01","amount":"1"}]}`, "req-1", "", ""},
		{8, 1, "cell,metric,period,amount\n,,,\n\"\n", "", "", ""},
		{16, 0, `{"run_id":"r","metric":"revenue","data_position":"99999","model":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `,"series":[]}`, "", "", ""},
		{17, 0, `{"name":"n\n","role":"sales","scopes":["region=world"]}`, strings.Repeat("y", 300), "", ""},
		{11, 0, `{"metric":"revenue","span":"FY2027","moves":[{"node":"region=emea","delta":"1e999"}]}`, "", "", "*"},
		{3, 0, `{"id":"p","metrics":[{"id":"m"}],"horizon_months":65535}`, "", "", "W/\"x\""},
		{0, 4, ``, "", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.route, s.ctype, s.body, s.reqID, s.key, s.tag)
	}
	e := newEnv(f, api.Config{MaxBatchRows: 50})
	e.openPlan()
	tok := e.tok["admin"]
	head := func(t *testing.T) eventstore.Position {
		p, err := e.store.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	f.Fuzz(func(t *testing.T, route, ctype uint8, body, reqID, key, ifMatch string) {
		path := fuzzRoutes[int(route)%len(fuzzRoutes)]
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+tok)
		if ct := fuzzTypes[int(ctype)%len(fuzzTypes)]; ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		for name, v := range map[string]string{"X-Request-Id": reqID, "Idempotency-Key": key, "If-Match": ifMatch} {
			if v != "" && !strings.ContainsAny(v, "\r\n\x00") { // what net/http would let through
				r.Header.Set(name, v)
			}
		}
		before := head(t)
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("POST %s (%s) %q = %d: %s", path, r.Header.Get("Content-Type"), body, w.Code, w.Body.String())
		}
		if w.Code >= 400 {
			if after := head(t); after != before {
				t.Fatalf("POST %s %q was refused (%d) yet the log moved from %v to %v", path, body, w.Code, before, after)
			}
		}
	})
}
