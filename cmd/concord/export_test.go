package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/concord-planning/concord/api"
	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/projections/view"
	"github.com/concord-planning/concord/projections/view/viewtest"
)

// exportFixture is the query side's demo company in a store file, served
// by the real API, with a viewer's token.
type exportFixture struct {
	store string // the --store URL
	srv   *httptest.Server
	token string
	demo  viewtest.Demo
}

func newExportFixture(t *testing.T) exportFixture {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "concord.db")
	reg := planning.NewRegistry()
	s, demo, _ := viewtest.Seeded(t, path, reg)
	svc := planning.New(s, reg)
	issued, err := svc.IssueToken(ctx, planning.Call{By: operator()}, planning.IssueToken{Name: "vera", Role: access.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	server, err := api.New(api.Config{}, api.Deps{Store: s, Registry: reg, Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.Handler())
	t.Cleanup(srv.Close)
	return exportFixture{store: "sqlite://" + path, srv: srv, token: issued.Secret, demo: demo}
}

// get asks the API for path and returns the status and body.
func (f exportFixture) get(t *testing.T, path string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// export runs concord export with args and returns standard output.
func (f exportFixture) export(t *testing.T, args ...string) (string, error) {
	t.Helper()
	env, out, _ := testEnv(map[string]string{"CONCORD_STORE": f.store})
	err := run(context.Background(), env, append([]string{"export"}, args...))
	return out.String(), err
}

// TestExportIsTheAPIsCSV: concord export writes byte for byte the CSV the
// API serves for the same table and parameters.
func TestExportIsTheAPIsCSV(t *testing.T) {
	f := newExportFixture(t)
	plan := f.demo.Plan
	for _, c := range []struct {
		table string
		query url.Values
	}{
		{"rolling", nil},
		{"rolling", url.Values{"node": {"region=emea;product=pumps"}, "as_of": {"2027-01-31"}}},
		{"variance", nil},
		{"variance", url.Values{"cross": {"product"}, "year": {"2028"}}},
		{"history", url.Values{"limit": {"500"}}},
		{"history", url.Values{"type": {"plan.TargetSet", "plan.VersionTagged"}, "node": {"region=emea"}}},
		{"diff", url.Values{"from": {"tag:Budget FY28"}, "to": {"tag:Q1 reforecast"}}},
		{"forecasts", nil},
		{"accuracy", url.Values{"as_of": {f.demo.Reforecast.String()}}},
		{"reallocations", nil},
	} {
		args := []string{c.table, "--plan", plan}
		for k, vs := range c.query {
			for _, v := range vs {
				args = append(args, "--"+strings.ReplaceAll(k, "_", "-"), v)
			}
		}
		got, err := f.export(t, args...)
		if err != nil {
			t.Fatalf("export %q: %v", args, err)
		}
		q := url.Values{"format": {"csv"}}
		for k, v := range c.query {
			q[k] = v
		}
		status, want := f.get(t, "/api/v1/plans/"+plan+"/"+c.table+"?"+q.Encode())
		if status != http.StatusOK {
			t.Fatalf("GET %s?%s = %d %s", c.table, q.Encode(), status, want)
		}
		if got != string(want) {
			t.Errorf("export %q =\n%s\nthe API serves\n%s", args, got, want)
		}
		if strings.Count(got, "\n") < 2 {
			t.Errorf("export %q has no rows:\n%s", args, got)
		}
	}

	// --out writes the same bytes to a file.
	file := filepath.Join(t.TempDir(), "variance.csv")
	if _, err := f.export(t, "variance", "--plan", plan, "--out", file); err != nil {
		t.Fatal(err)
	}
	written, err := os.ReadFile(file)
	_, want := f.get(t, "/api/v1/plans/"+plan+"/variance?format=csv")
	if err != nil || string(written) != string(want) {
		t.Errorf("export --out wrote %q (%v), want the API's CSV", written, err)
	}
}

// TestExportRefusesWhatTheAPIRefuses: a bad parameter is the API's own
// error, an unknown plan is not found, and a flag the table does not read
// or an unknown table is a usage error.
func TestExportRefusesWhatTheAPIRefuses(t *testing.T) {
	f := newExportFixture(t)
	plan := f.demo.Plan
	for _, c := range []struct {
		table, flag, value, param string
	}{
		{"rolling", "--as-of", "yesterday", "as_of"},
		{"history", "--limit", "501", "limit"},
		{"variance", "--year", "28", "year"},
		{"diff", "--from", "tag:nope", "from"},
	} {
		_, err := f.export(t, c.table, "--plan", plan, c.flag, c.value)
		status, body := f.get(t, "/api/v1/plans/"+plan+"/"+c.table+"?format=csv&"+url.Values{c.param: {c.value}}.Encode())
		var problem api.Problem
		if jerr := json.Unmarshal(body, &problem); jerr != nil || status != http.StatusBadRequest || len(problem.Errors) != 1 {
			t.Fatalf("GET %s %s=%s = %d %s, want a 400 naming one parameter", c.table, c.param, c.value, status, body)
		}
		var pe *view.ParamError
		if !errors.As(err, &pe) || pe.Field != problem.Errors[0].Field || pe.Value != problem.Errors[0].Value || pe.Reason != problem.Errors[0].Reason {
			t.Errorf("export %s %s %s = %v, want the API's %+v", c.table, c.flag, c.value, err, problem.Errors[0])
		}
	}
	if _, err := f.export(t, "rolling", "--plan", "nope"); !errors.Is(err, view.ErrNotFound) {
		t.Errorf("export of an unknown plan = %v, want view.ErrNotFound", err)
	}
	for _, args := range [][]string{
		{"rolling", "--plan", plan, "--status", "approved"},
		{"summary", "--plan", plan},
		{"rolling"},
		{},
	} {
		if _, err := f.export(t, args...); err != errUsage {
			t.Errorf("export %q = %v, want a usage error", args, err)
		}
	}
}

// TestExportScenario: concord export --scenario writes the scenario's
// table, byte for byte the API's CSV for ?scenario=, and it differs from
// the plan's where the scenario's assumption moved the forecast.
func TestExportScenario(t *testing.T) {
	f := newExportFixture(t)
	ctx := context.Background()
	store, err := openStore(ctx, f.store, slog.New(slog.NewTextHandler(io.Discard, nil)), true)
	if err != nil {
		t.Fatal(err)
	}
	svc := planning.New(store.Store, planning.NewRegistry())
	planner := planning.Call{By: planning.Principal{Actor: "pia", Role: access.RolePlanner}}
	if _, err := svc.OpenScenario(ctx, planner, f.demo.Plan, planning.OpenScenario{ID: "us-slips", Name: "US slips", Base: f.demo.Reforecast, From: "tag:Q1 reforecast"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AssumeShock(ctx, planner, f.demo.Plan, "us-slips", planning.Shock{Metric: f.demo.Metric, Node: "region=us", Span: "FY2028", Percent: "-20", Reason: "a lost account"}); err != nil {
		t.Fatal(err)
	}
	store.close()
	for _, table := range []string{"variance", "rolling"} {
		args := []string{table, "--plan", f.demo.Plan, "--scenario", "us-slips"}
		q := url.Values{"format": {"csv"}, "scenario": {"us-slips"}}
		if table == "rolling" {
			args = append(args, "--node", "region=us")
			q.Set("node", "region=us")
		}
		got, err := f.export(t, args...)
		if err != nil {
			t.Fatalf("export %q: %v", args, err)
		}
		status, want := f.get(t, "/api/v1/plans/"+f.demo.Plan+"/"+table+"?"+q.Encode())
		if status != http.StatusOK || got != string(want) {
			t.Errorf("export %q =\n%s\nthe API serves (%d)\n%s", args, got, status, want)
		}
		q.Del("scenario")
		q.Set("as_of", "tag:Q1 reforecast")
		if _, plan := f.get(t, "/api/v1/plans/"+f.demo.Plan+"/"+table+"?"+q.Encode()); got == string(plan) {
			t.Errorf("export %q is the plan's table at the scenario's base: the shock did not show", args)
		}
	}
}
