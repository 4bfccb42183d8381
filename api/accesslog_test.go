package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/concord-planning/concord/api"
	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/prometheus/client_golang/prometheus"
)

// TestAccessLog: one log line per request with the server's request id,
// the principal, route, status and duration, never the credential; a
// failed authentication is logged as such and counted per client in
// /metrics (before: no access log, failures neither logged nor counted).
func TestAccessLog(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "e.db"), sqlite.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	reg := planning.NewRegistry()
	svc := planning.New(store, reg)
	issued, err := svc.IssueToken(ctx, planning.Call{By: planning.Principal{Actor: "setup", Role: access.RoleAdmin}}, planning.IssueToken{Name: "vera", Role: access.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logged, nil))
	srv, err := api.New(api.Config{Clock: clock}, api.Deps{Store: store, Registry: reg, Service: svc, Logger: logger, Metrics: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	send := func(path, token, peer string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.RemoteAddr = peer + ":40000"
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		r.Header.Set("X-Request-Id", "client-7")
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, r)
		return w
	}
	ok := send("/api/v1/tokens", issued.Secret, "10.0.0.1") // a viewer may not list tokens: 403
	send("/api/v1/me", issued.Secret, "10.0.0.1")
	send("/api/v1/me", "cnc_forged-token-secret", "10.0.0.9")
	send("/api/v1/me", "", "10.0.0.9")
	send("/api/v1/me", "not.a.jwt", "10.0.0.8")

	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logged.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	var requests, failures []map[string]any
	for _, l := range lines {
		switch l["msg"] {
		case "request":
			requests = append(requests, l)
		case "authentication failed":
			failures = append(failures, l)
		}
	}
	if len(requests) != 5 || len(failures) != 3 {
		t.Fatalf("logged %d request lines and %d authentication failures, want 5 and 3:\n%s", len(requests), len(failures), logged.String())
	}
	first := requests[0]
	want := map[string]any{"request_id": ok.Header().Get("X-Request-Id"), "client_request_id": "client-7", "principal": "token:vera",
		"role": "viewer", "method": "GET", "route": "/api/v1/tokens", "status": float64(403), "client": "10.0.0.1"}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("access log %s = %v, want %v", k, first[k], v)
		}
	}
	if _, ok := first["duration_ms"].(float64); !ok {
		t.Errorf("access log has no duration_ms: %v", first)
	}
	if requests[2]["status"] != float64(401) || requests[2]["principal"] != nil {
		t.Errorf("a forged token's request is logged as %v, want status 401 and no principal", requests[2])
	}
	if strings.Contains(logged.String(), issued.Secret) || strings.Contains(logged.String(), "cnc_forged-token-secret") || strings.Contains(logged.String(), "not.a.jwt") {
		t.Errorf("the log holds a credential:\n%s", logged.String())
	}

	w := httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(w.Body)
	for _, line := range []string{
		`concord_http_auth_failures_total{client="10.0.0.9"} 2`,
		`concord_http_auth_failures_total{client="10.0.0.8"} 1`,
	} {
		if !strings.Contains(string(body), line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
	if strings.Contains(string(body), `concord_http_auth_failures_total{client="10.0.0.1"}`) {
		t.Error("/metrics counts an authenticated client's 403 as an authentication failure")
	}
}
