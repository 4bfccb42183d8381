package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/alert"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/projections/alerts"
)

// jumpClock is the webhook's clock in tests: waiting jumps it forward, so
// backoff happens at once, in order, without sleeping.
type jumpClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *jumpClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *jumpClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// hookDelivery is one request a hookReceiver accepted.
type hookDelivery struct {
	header http.Header
	body   []byte
}

// hookReceiver is a webhook endpoint on loopback that refuses its first
// fail requests and hands the rest to got.
type hookReceiver struct {
	mu    sync.Mutex
	fail  int
	calls int
	got   chan hookDelivery
}

func (r *hookReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.calls++
	refuse := r.calls <= r.fail
	r.mu.Unlock()
	if refuse {
		http.Error(w, "not now", http.StatusServiceUnavailable)
		return
	}
	r.got <- hookDelivery{header: req.Header.Clone(), body: body}
}

func (r *hookReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// receive waits for the receiver's next accepted delivery.
func receive(t *testing.T, r *hookReceiver) hookDelivery {
	t.Helper()
	select {
	case d := <-r.got:
		return d
	case <-time.After(2 * time.Minute):
		t.Fatal("no webhook delivery within 2 minutes")
	}
	return hookDelivery{}
}

// waitSealed returns the position of the n-th forecast run sealed after
// from.
func waitSealed(ctx context.Context, store eventstore.Store, from eventstore.Position, n int) (eventstore.Position, error) {
	ctx, cancel := context.WithTimeout(ctx, forecastWait)
	defer cancel()
	sub, err := store.SubscribeAll(ctx, from)
	if err != nil {
		return eventstore.Position{}, err
	}
	defer sub.Close()
	for rec := range sub.Events() {
		if rec.Type == forecast.TypeSealed {
			if n--; n == 0 {
				return rec.Position, nil
			}
		}
	}
	return eventstore.Position{}, errors.Join(sub.Err(), ctx.Err(), errors.New("no forecast sealed"))
}

// TestAlertsEndToEnd is issue 18's story over the demo company: a rule
// "P(EMEA FY) < 50%"; a close with weak December actuals raises exactly one
// alert, in the inbox and delivered, signed, to a loopback webhook that
// fails three times first; a restart delivers nothing again; a
// restatement that lifts P resolves it.
func TestAlertsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo company")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	secret := []byte("an alert webhook secret of 32+ bytes")
	clock := &jumpClock{now: time.Date(2026, 12, 20, 9, 0, 0, 0, time.UTC)}
	recv := &hookReceiver{fail: 3, got: make(chan hookDelivery, 8)}
	hook := httptest.NewTLSServer(recv)
	defer hook.Close()
	hookCfg := func(srv *httptest.Server) *alerts.WebhookConfig {
		return &alerts.WebhookConfig{URL: srv.URL, Secret: secret, Client: srv.Client(), MaxAttempts: 5, Backoff: time.Second, Clock: clock}
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	today := time.Date(2026, 12, 20, 9, 0, 0, 0, time.UTC) // November closed, December open
	cfg := appConfig{listen: "127.0.0.1:0", demo: true, alertWebhook: hookCfg(hook)}
	d, err := openDemo(ctx, filepath.Join(t.TempDir(), "demo.db"), cfg, logger, today, 1)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = d.stop()
		}
		d.store.close()
	}()
	api := httptest.NewServer(d.app.server.Handler())
	defer api.Close()
	ds := &demoServer{url: api.URL, tokens: d.tokens, store: d.store.sqlite}
	const plan = "/api/v1/plans/" + demoPlan
	pEMEA := func() float64 {
		q := url.Values{"metric": {"net-revenue"}, "year": {"2027"}, "dimension": {"region"}, "parent": {"emea"}}
		return number(t, byField(t, rows(t, ds.call(t, d.tokens.viewer, "GET", plan+"/variance?"+q.Encode(), nil, 200), "rows"), "node", "region=emea")["probability"])
	}
	inbox := func(token string) []map[string]any {
		return rows(t, map[string]any{"list": callList(t, ds, token, plan+"/alerts")}, "list")
	}
	handled := func(a *app, position string) {
		t.Helper()
		pos, err := eventstore.ParsePosition(position)
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, forecastWait)
		defer cancel()
		if err := a.alerts.manager.WaitHandled(wctx, pos); err != nil {
			t.Fatal(err)
		}
	}

	before := pEMEA()
	if before < 0.5 {
		t.Fatalf("P(EMEA FY2027) = %.3f before December: the story needs it above 50%%", before)
	}
	res := ds.call(t, d.tokens.planner, "POST", plan+"/alert-rules", map[string]any{"id": "emea-fy", "kind": "probability_below",
		"nodes": []string{"region=emea"}, "metric": "net-revenue", "year": 2027, "threshold": 0.5, "severity": "critical", "owners": []string{"role:sales"}}, 201)
	handled(d.app, res["position"].(string))
	if got := inbox(d.tokens.planner); len(got) != 0 {
		t.Fatalf("alerts right after the rule, with P = %.3f: %v", before, got)
	}

	// Weak December: EMEA sells a tenth of its November.
	company := newDemoCompany(today, 1)
	var actuals []map[string]any
	weak := map[string]string{}
	for _, c := range company.cells {
		if company.regionUnder(c.region, "emea") {
			nov := c.series("net-revenue")[len(c.series("net-revenue"))-1]
			amount := fmt.Sprintf("%.2f", nov.Float64()/10)
			weak[c.node()] = amount
			actuals = append(actuals, map[string]any{"cell": c.node(), "metric": "net-revenue", "period": "2026-12", "amount": amount})
		}
	}
	head, err := d.store.sqlite.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ds.call(t, d.tokens.planner, "POST", plan+"/actuals", map[string]any{"import_id": "erp-2026-12", "rows": actuals}, 200)
	ds.call(t, d.tokens.planner, "POST", "/api/v1/periods/2026-12/close", map[string]any{"allow_missing": true, "reason": "EMEA's December is in; the other regions report late"}, 200)
	sealed, err := waitSealed(ctx, d.store.sqlite, head, len(company.metrics))
	if err != nil {
		t.Fatal(err)
	}
	handled(d.app, sealed.String())
	after := pEMEA()
	got := inbox(d.tokens.sales)
	if len(got) != 1 {
		t.Fatalf("P(EMEA) %.3f → %.3f: %d alerts in the EMEA inbox, want exactly 1: %v", before, after, len(got), got)
	}
	a := got[0]
	if a["node"] != "region=emea" || a["open"] != true || number(t, a["after"]) >= 0.5 {
		t.Errorf("alert = %v, want EMEA open below 50%%", a)
	}
	t.Logf("P(EMEA FY2027) %.3f → %.3f; alert %v → %v at %v", before, after, a["before"], a["after"], a["position"])

	// The figures of the newer kinds, read by the process from the same
	// read side: December's weak actual (a tenth of November) lies far
	// outside the interval the run before the close gave it, and December
	// is the last closed month, so January is the first open one.
	fig, err := alertReader{d.app.view}.Figure(ctx, demoPlan, "net-revenue", dimension.MustParseNode("region=emea"), 2027)
	if err != nil {
		t.Fatal(err)
	}
	var weakSum float64
	for _, v := range weak {
		f, _ := strconv.ParseFloat(v, 64)
		weakSum += f
	}
	if v, ok := alerts.Value(alert.ActualOutsideInterval, fig, clock.Now()); !fig.HasClosed || math.Abs(fig.ClosedActual-weakSum) > 0.01 || !ok || v <= 95 ||
		fig.ClosedLo95 <= fig.ClosedActual {
		t.Errorf("EMEA's closed month: actual %.2f in [%.2f, %.2f] (level %.2f%%, %v); want December's %.2f below the 95%% interval",
			fig.ClosedActual, fig.ClosedLo95, fig.ClosedHi95, v, ok, weakSum)
	}
	if want := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC); !fig.OpenSince.Equal(want) {
		t.Errorf("EMEA's first open month ends %v, want %v (January)", fig.OpenSince, want)
	}
	if v, ok := alerts.Value(alert.ForecastMove, fig, clock.Now()); !fig.HasRuns || !ok || !(v > 0) {
		t.Errorf("EMEA's forecast move = %v, %v (runs %v: %.0f after %.0f), want a move after the December run", v, ok, fig.HasRuns, fig.Latest, fig.Previous)
	}

	// The receiver refused three times; the fourth attempt got through.
	del := receive(t, recv)
	if n := recv.count(); n != 4 {
		t.Errorf("the receiver saw %d attempts, want 4", n)
	}
	if id := del.header.Get(alerts.HeaderAlertID); id != demoPlan+"/"+a["id"].(string) {
		t.Errorf("%s = %q", alerts.HeaderAlertID, id)
	}
	if err := alerts.Verify(secret, del.body, del.header.Get(alerts.HeaderSignature), clock.Now(), time.Hour); err != nil {
		t.Errorf("signature: %v", err)
	}
	var payload alerts.Payload
	if err := json.Unmarshal(del.body, &payload); err != nil || payload.Change != "raised" || payload.Node != "region=emea" {
		t.Errorf("payload = %+v (%v), want EMEA raised", payload, err)
	}
	ds.call(t, d.tokens.sales, "POST", plan+"/alerts/"+a["id"].(string)+"/acknowledge", map[string]any{"comment": "calling the DACH distributors"}, 200)

	// A restart, with a new receiver: the log is replayed, nothing is
	// raised or delivered again.
	stopped = true
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	recv2 := &hookReceiver{got: make(chan hookDelivery, 8)}
	hook2 := httptest.NewTLSServer(recv2)
	defer hook2.Close()
	cfg.alertWebhook = hookCfg(hook2)
	a2, err := newApp(ctx, cfg, d.store, logger)
	if err != nil {
		t.Fatal(err)
	}
	stop2, err := a2.start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := stop2(); err != nil {
			t.Error(err)
		}
	}()
	api2 := httptest.NewServer(a2.server.Handler())
	defer api2.Close()
	ds.url = api2.URL

	// A restatement lifts December far above plan: P rises, the alert is
	// resolved, and the resolution is the only delivery after the restart.
	var cell string
	for c := range weak {
		cell = c
		break
	}
	res = ds.call(t, d.tokens.planner, "POST", plan+"/actuals/restate", map[string]any{"cell": cell, "metric": "net-revenue", "period": "2026-12",
		"amount": "90000000", "reason": "December invoices of the DACH framework contract were booked late"}, 200)
	handled(a2, res["position"].(string))
	del = receive(t, recv2)
	if err := json.Unmarshal(del.body, &payload); err != nil || payload.Change != "resolved" || payload.Alert != a["id"] {
		t.Errorf("delivery after the restart = %s (%v), want the resolution of %v", del.body, err, a["id"])
	}
	if n := recv2.count(); n != 1 {
		t.Errorf("the receiver after the restart saw %d requests, want only the resolution", n)
	}
	all := inbox(d.tokens.planner)
	if len(all) != 1 || all[0]["open"] != false || all[0]["acknowledged"] == nil {
		t.Errorf("alerts after the restatement = %v, want the one alert, acknowledged and resolved", all)
	}
}

// callList GETs a JSON array.
func callList(t *testing.T, d *demoServer, token, path string) []any {
	t.Helper()
	req, err := http.NewRequest("GET", d.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []any
	if err := json.NewDecoder(resp.Body).Decode(&out); resp.StatusCode != 200 || err != nil {
		t.Fatalf("GET %s = %d (%v)", path, resp.StatusCode, err)
	}
	return out
}
