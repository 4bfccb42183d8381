package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore/sqlite"
)

// demoServer builds the demo company (as known on a fixed day) in a new
// store and serves the real API on a loopback port, with the read models
// and the reforecast process running.
type demoServer struct {
	url    string
	tokens demoTokens
	store  *sqlite.Store
}

func startDemo(t testing.TB) *demoServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	today := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	d, err := openDemo(ctx, filepath.Join(t.TempDir(), "demo.db"), appConfig{listen: "127.0.0.1:0", demo: true}, logger, today, 1)
	if err != nil {
		t.Fatal(err)
	}
	a, tokens, stop, s, store := d.app, d.tokens, d.stop, d.store.sqlite, d.store
	srv := httptest.NewServer(a.server.Handler())
	t.Cleanup(func() {
		srv.Close()
		if err := stop(); err != nil {
			t.Errorf("background work: %v", err)
		}
		cancel()
		store.close()
	})
	return &demoServer{url: srv.URL, tokens: tokens, store: s}
}

// call sends a request as the holder of token and decodes a JSON answer.
func (d *demoServer) call(t *testing.T, token, method, path string, body any, want int) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, d.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	out := map[string]any{}
	if len(raw) > 0 && strings.Contains(resp.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return out
}

func rows(t *testing.T, v map[string]any, key string) []map[string]any {
	t.Helper()
	list, ok := v[key].([]any)
	if !ok {
		t.Fatalf("answer has no list %q: %v", key, v)
	}
	out := make([]map[string]any, len(list))
	for i, r := range list {
		out[i] = r.(map[string]any)
	}
	return out
}

func byField(t *testing.T, list []map[string]any, field, value string) map[string]any {
	t.Helper()
	for _, r := range list {
		if r[field] == value {
			return r
		}
	}
	t.Fatalf("no row with %s = %q among %d", field, value, len(list))
	return nil
}

// number reads a JSON number or an exact decimal string.
func number(t *testing.T, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case float64:
		return x
	case string:
		var f float64
		if _, err := fmt.Sscan(x, &f); err != nil {
			t.Fatalf("%q is not a number", x)
		}
		return f
	}
	t.Fatalf("%v (%T) is not a number", v, v)
	return 0
}

// TestStories drives the three stories of Concord's users over HTTP
// against the demo company: finance, audit, and the in-year replan.
func TestStories(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo company")
	}
	d := startDemo(t)
	const plan = "/api/v1/plans/" + demoPlan
	variance := func(token, asOf string) []map[string]any {
		q := url.Values{"metric": {"net-revenue"}, "year": {"2027"}, "dimension": {"region"}, "level": {"1"}}
		if asOf != "" {
			q.Set("as_of", asOf)
		}
		return rows(t, d.call(t, token, "GET", plan+"/variance?"+q.Encode(), nil, 200), "rows")
	}

	t.Run("finance compares forecast to strategy", func(t *testing.T) {
		list := variance(d.tokens.viewer, "")
		if len(list) != 3 {
			t.Fatalf("variance by region at level 1 has %d rows, want EMEA, Americas, APAC", len(list))
		}
		for _, r := range list {
			target := number(t, r["target"])
			fc := r["forecast"].(map[string]any)
			mean := number(t, fc["mean"])
			p := number(t, r["probability"])
			if target <= 0 || mean <= 0 || p < 0 || p > 1 {
				t.Errorf("%v: target %v, forecast %v, probability %v", r["node"], target, mean, p)
			}
			if gap := number(t, r["gap"]); math.Abs(gap-(target-mean)) > 1e-6*target {
				t.Errorf("%v: gap %v, want target − forecast = %v", r["node"], gap, target-mean)
			}
			if !(number(t, fc["lo95"]) < mean && mean < number(t, fc["hi95"])) {
				t.Errorf("%v: forecast %v outside its 95%% interval %v", r["node"], mean, fc)
			}
		}
	})

	t.Run("an auditor reviews plan history", func(t *testing.T) {
		before := d.call(t, d.tokens.viewer, "GET", plan+"/summary?as_of=2026-06-30", nil, 200)
		tags := map[string]bool{}
		for _, tag := range rows(t, before, "tags") {
			tags[tag["tag"].(string)] = true
		}
		if !tags["Budget FY27"] || tags["Q2 reforecast FY27"] {
			t.Errorf("tags as of 2026-06-30 = %v, want the FY27 budget and not yet the Q2 reforecast", tags)
		}
		q := url.Values{"from": {"tag:Budget FY27"}, "to": {"tag:Q2 reforecast FY27"}}
		diff := rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/diff?"+q.Encode(), nil, 200), "changes")
		var sum float64
		nodes := map[string]bool{}
		for _, c := range diff {
			if c["span"] == "FY2027" && c["metric"] == "net-revenue" {
				sum += number(t, c["delta"])
				nodes[c["node"].(string)] = true
			}
		}
		if !nodes["region=apac"] || !nodes["region=north-america"] || sum != 0 {
			t.Errorf("budget → Q2 reforecast changed %v summing to %v; want APAC down, North America up, nothing net", nodes, sum)
		}
		apacBefore := number(t, byField(t, variance(d.tokens.viewer, "2026-06-30"), "node", "region=apac")["target"])
		apacNow := number(t, byField(t, variance(d.tokens.viewer, ""), "node", "region=apac")["target"])
		if apacNow >= apacBefore {
			t.Errorf("APAC FY27 target as of 2026-06-30 = %v, now %v: want the Q2 cut visible", apacBefore, apacNow)
		}
		hq := url.Values{"node": {"region=apac"}, "type": {"plan.TargetRevised"}}
		hist := rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/history?"+hq.Encode(), nil, 200), "items")
		if len(hist) == 0 || hist[0]["actor"] != "user:ann.planner" || !strings.Contains(fmt.Sprint(hist[0]["reason"]), "Q2 reforecast") {
			t.Errorf("history of APAC revisions = %v, want the Q2 reforecast by ann", hist)
		}
	})

	t.Run("a sales leader replans in-year", func(t *testing.T) {
		// The pending proposal is rejected by a planner; the sales leader
		// previews a larger shift, proposes it, and a planner approves it.
		d.call(t, d.tokens.sales, "POST", plan+"/reallocations/emea-shift-FY2027/reject", map[string]any{"reason": "not mine"}, 403)
		d.call(t, d.tokens.planner, "POST", plan+"/reallocations/emea-shift-FY2027/reject", map[string]any{"reason": "superseded by a larger shift"}, 200)
		moves := []map[string]any{
			{"node": "region=dach", "delta": "-300000"}, {"node": "region=uki", "delta": "300000"},
			{"node": "bu=industrial;region=dach", "delta": "-300000"}, {"node": "bu=industrial;region=uki", "delta": "300000"},
		}
		preview := d.call(t, d.tokens.sales, "POST", plan+"/reallocations/preview", map[string]any{"metric": "net-revenue", "year": 2027, "moves": moves}, 200)
		dach := byField(t, rows(t, preview, "rows"), "node", "region=dach")
		if number(t, dach["target_before"])-number(t, dach["target_after"]) != 300000 {
			t.Errorf("preview of DACH = %v, want its target 300,000 lower", dach)
		}
		beforeTargets := variance(d.tokens.viewer, "")
		d.call(t, d.tokens.sales, "POST", plan+"/reallocations", map[string]any{"id": "emea-shift-2", "metric": "net-revenue",
			"span": "FY2027", "moves": moves, "reason": "UK & Ireland pipeline ahead of DACH"}, 201)
		outside := []map[string]any{{"node": "region=dach", "delta": "-1"}, {"node": "region=north-america", "delta": "1"}}
		d.call(t, d.tokens.sales, "POST", plan+"/reallocations", map[string]any{"id": "grab", "metric": "net-revenue",
			"span": "FY2027", "moves": outside, "reason": "not mine"}, 403)
		d.call(t, d.tokens.planner, "POST", plan+"/reallocations/emea-shift-2/approve", map[string]any{}, 200)

		after := variance(d.tokens.viewer, "")
		emeaBefore := number(t, byField(t, beforeTargets, "node", "region=emea")["target"])
		emeaAfter := number(t, byField(t, after, "node", "region=emea")["target"])
		if emeaBefore != emeaAfter {
			t.Errorf("EMEA target %v → %v: a reallocation within EMEA must leave it unchanged", emeaBefore, emeaAfter)
		}
		q := url.Values{"metric": {"net-revenue"}, "year": {"2027"}, "dimension": {"region"}, "parent": {"emea"}}
		emea := rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/variance?"+q.Encode(), nil, 200), "rows")
		if uki := byField(t, emea, "node", "region=uki"); uki["target"] == nil {
			t.Fatalf("UK & Ireland has no FY27 target after the reallocation: %v", uki)
		}
		hq := url.Values{"type": {"plan.ReallocationApproved"}}
		hist := rows(t, d.call(t, d.tokens.viewer, "GET", plan+"/history?"+hq.Encode(), nil, 200), "items")
		if len(hist) == 0 || hist[0]["actor"] != "token:demo-planner" {
			t.Errorf("approval history = %v, want the approval by the planner's token", hist)
		}
		rolling := d.call(t, d.tokens.viewer, "GET", plan+"/rolling?"+url.Values{"metric": {"net-revenue"}, "node": {"region=uki"}}.Encode(), nil, 200)
		if len(rows(t, rolling, "periods")) == 0 {
			t.Errorf("rolling plan of UK & Ireland has no periods: %v", rolling)
		}
	})
}
