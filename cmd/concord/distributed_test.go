package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/esdb/esdbtest"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/projections/natstest"
	"github.com/concord-planning/concord/projections/outbound"
	"github.com/concord-planning/concord/projections/reforecast"
)

// TestMain lets the test binary stand in for the concord binary: the
// distributed test starts it as separate processes with
// CONCORD_TEST_AS_BINARY=1, and then it runs main.
func TestMain(m *testing.M) {
	if os.Getenv("CONCORD_TEST_AS_BINARY") == "1" {
		// A benchmark may ask for a CPU profile of a process it runs.
		var profile *os.File
		if out := os.Getenv("CONCORD_TEST_CPUPROFILE"); out != "" {
			var err error
			if profile, err = os.Create(out); err == nil {
				err = pprof.StartCPUProfile(profile)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "CONCORD_TEST_CPUPROFILE:", err)
				os.Exit(1)
			}
		}
		main()
		if profile != nil {
			pprof.StopCPUProfile()
			profile.Close()
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// processLimit bounds every wait of the distributed test.
const processLimit = 3 * time.Minute

// process is one concord process started by a test, with its log.
type process struct {
	name string
	cmd  *exec.Cmd
	addr string // where it listens, from its "listening" log line
	done chan struct{}

	mu      sync.Mutex
	logged  []map[string]any
	changed chan struct{} // closed and replaced at every new line
}

// startProcess runs the test binary as `concord args...` and waits until
// it listens (for serve: until its read models are ready).
func startProcess(t testing.TB, name string, args ...string) *process {
	t.Helper()
	return startProcessIn(t, name, "", nil, args...)
}

// startProcessIn is startProcess in directory dir ("" for the test's),
// with the CONCORD_ variables of env (KEY=VALUE) set.
func startProcessIn(t testing.TB, name, dir string, env []string, args ...string) *process {
	t.Helper()
	return startProcessWithin(t, processLimit, name, dir, env, args...)
}

// startProcessWithin is startProcessIn waiting up to limit for the process
// to listen.
func startProcessWithin(t testing.TB, limit time.Duration, name, dir string, env []string, args ...string) *process {
	t.Helper()
	p := spawn(t, name, dir, env, args...)
	p.listening(t, limit)
	return p
}

// listening waits up to limit until p logs that it listens, and keeps its
// address.
func (p *process) listening(t testing.TB, limit time.Duration) {
	t.Helper()
	p.addr = p.waitLogWithin(t, limit, func(l map[string]any) bool { return l["msg"] == "listening" })["addr"].(string)
}

// spawn runs the test binary as `concord args...` without waiting for it.
func spawn(t testing.TB, name, dir string, env []string, args ...string) *process {
	t.Helper()
	cmd := binaryCommand(dir, env, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{}), changed: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				line = map[string]any{"msg": sc.Text()}
			}
			p.mu.Lock()
			p.logged = append(p.logged, line)
			close(p.changed)
			p.changed = make(chan struct{})
			p.mu.Unlock()
		}
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("%s, the end of its log:\n%s", p.name, p.log())
		}
	})
	return p
}

// binaryCommand returns the command that runs the test binary as
// `concord args...` in dir, with only the CONCORD_ variables of env.
func binaryCommand(dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CONCORD_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(append(cmd.Env, env...), "CONCORD_TEST_AS_BINARY=1")
	return cmd
}

// waitLog waits for a log line that match accepts and returns it.
func (p *process) waitLog(t testing.TB, match func(map[string]any) bool) map[string]any {
	t.Helper()
	return p.waitLogWithin(t, processLimit, match)
}

// waitLogWithin is waitLog failing after limit.
func (p *process) waitLogWithin(t testing.TB, limit time.Duration, match func(map[string]any) bool) map[string]any {
	t.Helper()
	select {
	case l, ok := <-watch(p, match):
		if !ok {
			t.Fatalf("%s exited before the awaited log line; its log:\n%s", p.name, p.log())
		}
		return l
	case <-time.After(limit):
		t.Fatalf("%s: the awaited log line did not come in %v; its log:\n%s", p.name, limit, p.log())
	}
	return nil
}

// lines returns what p has logged so far.
func (p *process) lines() []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.logged)
}

func (p *process) log() string {
	var b strings.Builder
	lines := p.lines()
	for _, l := range lines[max(0, len(lines)-40):] {
		j, _ := json.Marshal(l)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// kill ends the process at once, as a crash would.
func (p *process) kill(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// stop asks the process to stop (SIGTERM) and waits for it.
func (p *process) stop(t testing.TB) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Errorf("%s did not stop within 30s of SIGTERM; killed", p.name)
		p.cmd.Process.Kill()
		<-p.done
	}
}

// cluster is what the distributed test runs against: the shared store
// (the esdb protocol test server) and the bus (NATS JetStream), both in the
// test process, and the tokens of its company.
type cluster struct {
	store   *openedStore
	storeID string // --store of the processes
	busURL  string
	nc      *nats.Conn
	js      jetstream.JetStream
	planner string // an API token
}

// api sends a request to the process at addr as the planner; it fails the
// test unless the answer has status want, and returns the body.
func (c *cluster) api(t testing.TB, addr, method, path string, body any, want int) []byte {
	t.Helper()
	raw, _ := c.request(t, addr, method, path, body, want, nil)
	return raw
}

// request is api with extra request headers, also returning the answer's.
func (c *cluster) request(t testing.TB, addr, method, path string, body any, want int, header http.Header) ([]byte, http.Header) {
	t.Helper()
	status, raw, h := c.send(t, addr, method, path, body, header)
	if status != want {
		t.Fatalf("%s %s on %s = %d, want %d: %s", method, path, addr, status, want, raw)
	}
	return raw, h
}

// send sends a request to the process at addr as the planner and returns
// the answer's status, body and headers.
func (c *cluster) send(t testing.TB, addr, method, path string, body any, header http.Header) (int, []byte, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+addr+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+c.planner)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, raw, resp.Header
}

// write sends a command to the process at addr and returns the log
// position its answer reports.
func (c *cluster) write(t testing.TB, addr, path string, body any) string {
	t.Helper()
	var res struct {
		Position string `json:"position"`
	}
	if err := json.Unmarshal(c.api(t, addr, http.MethodPost, path, body, http.StatusOK), &res); err != nil || res.Position == "" {
		t.Fatalf("POST %s: no position in the answer (%v)", path, err)
	}
	return res.Position
}

// sees checks that the process at addr shows the event at position pos in
// the audit history of one of the plans at once: a write is read back on
// any replica, without waiting, by the position its answer returned.
func (c *cluster) sees(t testing.TB, addr, pos string) {
	t.Helper()
	if !slices.ContainsFunc(clusterPlans, func(planID string) bool { return c.shows(t, addr, planID, pos) }) {
		t.Errorf("the replica at %s does not show the write at position %s in any plan's history", addr, pos)
	}
}

// shows reports whether the process at addr lists the event at position
// pos in the audit history of plan planID.
func (c *cluster) shows(t testing.TB, addr, planID, pos string) bool {
	t.Helper()
	// A write's position is that of the last event it recorded: for an
	// import of actuals, the forecast requests it makes, which the history
	// lists only when asked for.
	for _, q := range []url.Values{{"from": {pos}, "to": {pos}}, {"from": {pos}, "to": {pos}, "type": {forecast.TypeRequested}}} {
		var h struct {
			Items []struct {
				Position string `json:"position"`
			} `json:"items"`
		}
		if err := json.Unmarshal(c.api(t, addr, http.MethodGet, "/api/v1/plans/"+planID+"/history?"+q.Encode(), nil, http.StatusOK), &h); err != nil {
			t.Fatal(err)
		}
		if len(h.Items) == 1 && h.Items[0].Position == pos {
			return true
		}
	}
	return false
}

var (
	clusterPlans   = []string{"p1", "p2", "p3"}
	clusterMetrics = []string{"net-revenue", "units"}
	clusterCells   = []string{"product=pumps;region=emea", "product=valves;region=emea", "product=pumps;region=americas",
		"product=valves;region=americas", "product=pumps;region=apac", "product=valves;region=apac"}
)

// startCluster connects to the NATS servers at busURL, opens the store at
// storeID and writes a small company: two dimensions, three plans of two
// metrics, 24 months of actuals from 2024-04, the first 23 of them closed.
func startCluster(t testing.TB, storeID, busURL string) *cluster {
	t.Helper()
	ctx := context.Background()
	c := connectCluster(t, storeID, busURL)
	svc := planning.New(c.store, planning.NewRegistry())
	call := setupCall
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(svc.DefineDimension(ctx, call, planning.DefineDimension{ID: "region", Name: "Region", RootID: "world", RootName: "World"}))
	for _, r := range []string{"emea", "americas", "apac"} {
		must(svc.AddMember(ctx, call, planning.AddMember{Dimension: "region", ID: r, Name: strings.ToUpper(r), Parent: "world"}))
	}
	must(svc.DefineDimension(ctx, call, planning.DefineDimension{ID: "product", Name: "Product", RootID: "all", RootName: "All products"}))
	for _, p := range []string{"pumps", "valves"} {
		must(svc.AddMember(ctx, call, planning.AddMember{Dimension: "product", ID: p, Name: p, Parent: "all"}))
	}
	var metrics []plan.Metric
	for _, m := range clusterMetrics {
		metrics = append(metrics, plan.Metric{ID: m, Name: m, NonNegative: true})
	}
	for _, id := range clusterPlans {
		must(svc.OpenPlan(ctx, call, planning.OpenPlan{ID: id, Name: "Plan " + id, Currency: "EUR", Metrics: metrics,
			FiscalYearStart: 4, Dimensions: []string{"region", "product"}, HorizonStart: "2024-04", HorizonMonths: 18}))
		must(svc.ChangeTargets(ctx, call, id, []planning.TargetChange{
			{Op: planning.OpSet, Node: "region=emea", Metric: "net-revenue", Span: "FY2027", Amount: "1500000", Reason: "budget"},
			{Op: planning.OpSet, Node: "region=americas", Metric: "net-revenue", Span: "FY2027", Amount: "1300000", Reason: "budget"}}))
	}
	for i := range 24 {
		period := fmt.Sprintf("%d-%02d", 2024+(3+i)/12, (3+i)%12+1)
		c.recordMonth(t, svc, call, period, i)
		if i < 23 {
			must(svc.ClosePeriod(ctx, call, planning.ClosePeriod{Period: period}))
		}
	}
	c.issuePlanner(t)
	return c
}

// setupCall is who writes a test's company.
var setupCall = planning.Call{By: planning.Principal{Actor: "user:setup", Role: access.RoleAdmin}, CorrelationID: "setup"}

// connectCluster connects to the NATS servers at busURL and opens the
// store at storeID.
func connectCluster(t testing.TB, storeID, busURL string) *cluster {
	t.Helper()
	c := &cluster{storeID: storeID, busURL: busURL}
	// A short heartbeat, so the test's connection leaves a paused server soon.
	c.nc, c.js = natstest.Connect(t, c.busURL, nats.PingInterval(500*time.Millisecond), nats.MaxPingsOutstanding(2), nats.MaxReconnects(-1))
	var err error
	if c.store, err = openStore(context.Background(), c.storeID, slog.New(slog.DiscardHandler), false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.store.close() })
	return c
}

// issuePlanner issues the API token the cluster's requests carry.
func (c *cluster) issuePlanner(t testing.TB) {
	t.Helper()
	issued, err := planning.New(c.store, planning.NewRegistry()).IssueToken(context.Background(), setupCall,
		planning.IssueToken{Name: "cluster-planner", Role: access.RolePlanner})
	if err != nil {
		t.Fatal(err)
	}
	c.planner = issued.Secret
}

// actualRows are month i's actuals of every cell and metric: a trend and a
// yearly season, different per cell.
func actualRows(period string, i int) []planning.ActualRow {
	var rows []planning.ActualRow
	for k, cell := range clusterCells {
		season := []int{0, 3, 5, 8, 6, 2, -1, -4, -6, -3, 1, 4}[i%12]
		revenue := 10000 + 1000*k + 60*i + 400*season
		rows = append(rows, planning.ActualRow{Cell: cell, Metric: "net-revenue", Period: period, Amount: fmt.Sprintf("%d.%02d", revenue, (7*i+k)%100)},
			planning.ActualRow{Cell: cell, Metric: "units", Period: period, Amount: fmt.Sprint(100 + 10*k + i + 2*season)})
	}
	return rows
}

func (c *cluster) recordMonth(t testing.TB, svc *planning.Service, call planning.Call, period string, i int) {
	t.Helper()
	if _, err := svc.RecordActuals(context.Background(), call, planning.RecordActuals{Plan: "p1", ImportID: "erp-" + period, Rows: actualRows(period, i)}); err != nil {
		t.Fatal(err)
	}
}

// actualsBody is the API body of month i's actuals.
func actualsBody(period string, i int) map[string]any {
	var rows []map[string]string
	for _, r := range actualRows(period, i) {
		rows = append(rows, map[string]string{"cell": r.Cell, "metric": r.Metric, "period": r.Period, "amount": r.Amount})
	}
	return map[string]any{"import_id": "erp-" + period, "rows": rows}
}

// TestDistributed runs Concord as it runs on several machines: two API
// replicas and two forecast workers, separate processes, over one store
// (the esdb protocol test server; see the README for a real EventStoreDB)
// and NATS JetStream. Writes go to both replicas and each is read back on
// the other at once; a period close fans forecast jobs out to the workers;
// one replica and the worker holding a job are killed mid-run; the
// survivors go on. Then: every write is visible on the survivor, each
// forecast run is recorded at most once and each run of the last close
// exactly once, and a replica started afresh (rebuilding its read models
// from the store) answers every query exactly as the surviving replica,
// whose models were kept current through it all.
func TestDistributed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four processes; skipped with -short")
	}
	testDistributed(t, esdbtest.Start(t).ConnString())
}

// TestDistributedRealESDB runs the same over the EventStoreDB named by
// CONCORD_TEST_ESDB, which must hold no events (the company's streams have
// fixed names).
func TestDistributedRealESDB(t *testing.T) {
	conn := os.Getenv("CONCORD_TEST_ESDB")
	if conn == "" {
		t.Skip("CONCORD_TEST_ESDB is not set: skipping the multi-process test on a real EventStoreDB (set it to the connection string of an empty server, e.g. esdb://localhost:2113?tls=false)")
	}
	store := openESDBStore(t, conn)
	if first, err := store.ReadAll(context.Background(), eventstore.Start, 1); err != nil {
		t.Fatal(err)
	} else if len(first) > 0 {
		t.Skipf("the EventStoreDB at CONCORD_TEST_ESDB holds events (stream %q first): the multi-process test needs an empty server", first[0].Stream)
	}
	testDistributed(t, conn)
}

func testDistributed(t testing.TB, storeID string) {
	c := startCluster(t, storeID, natstest.Start(t))
	serve := []string{"serve", "--store", c.storeID, "--bus", c.busURL, "--listen", "127.0.0.1:0", "--rate-limit", "0"}
	work := []string{"worker", "--store", c.storeID, "--bus", c.busURL, "--listen", "127.0.0.1:0", "--log-level", "debug",
		"--job-ack-wait", "2s"}
	a := startProcess(t, "replica A", serve...)
	b := startProcess(t, "replica B", serve...)
	workers := []*process{startProcess(t, "worker 1", work...), startProcess(t, "worker 2", work...)}
	for _, p := range slices.Concat([]*process{a, b}, workers) {
		readiness(t, p, clusterWait, http.StatusOK, "")
	}

	// Phase 1: writes on both replicas, each read back on the other.
	var written []string
	on := func(p *process, path string, body any, readBack *process) {
		t.Helper()
		pos := c.write(t, p.addr, path, body)
		c.sees(t, readBack.addr, pos)
		written = append(written, pos)
	}
	on(a, "/api/v1/periods/2026-03/close", map[string]any{}, b)
	on(b, "/api/v1/plans/p2/targets/set", map[string]string{"node": "region=apac", "metric": "net-revenue", "span": "FY2027",
		"amount": "900000.50", "reason": "APAC budget"}, a)
	on(a, "/api/v1/plans/p1/actuals", actualsBody("2026-04", 24), b)
	on(b, "/api/v1/periods/2026-04/close", map[string]any{}, a)

	// A command retried with its Idempotency-Key on the other replica gets
	// the first answer and records nothing twice.
	key := http.Header{"Idempotency-Key": {"commit-fy27-apac-1"}}
	revise := map[string]string{"node": "region=apac", "metric": "net-revenue", "span": "FY2027", "amount": "950000", "reason": "APAC re-budget"}
	first, _ := c.request(t, a.addr, http.MethodPost, "/api/v1/plans/p2/targets/revise", revise, http.StatusOK, key)
	before, err := c.store.ReadAll(context.Background(), eventstore.Start, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	again, h := c.request(t, b.addr, http.MethodPost, "/api/v1/plans/p2/targets/revise", revise, http.StatusOK, key)
	after, err := c.store.ReadAll(context.Background(), eventstore.Start, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, again) || h.Get("Idempotent-Replayed") != "true" {
		t.Errorf("a retry on the other replica answered %s (replayed %q), want the first answer %s replayed", again, h.Get("Idempotent-Replayed"), first)
	}
	if stray := after[len(before):]; len(stray) > 0 && slices.ContainsFunc(stray, func(r eventstore.RecordedEvent) bool { return r.Type == plan.TypeTargetRevised }) {
		t.Errorf("the retried revision was recorded again: %+v", stray)
	}

	// Kill the first worker seen working on a job of the 2026-04 close,
	// and replica A.
	victim, survivor, job := firstJob(t, workers, "2026-04")
	victim.kill(t)
	a.kill(t)
	t.Logf("killed replica A, and %s while it worked on run %v", victim.name, job["run"])

	// Phase 2: the survivors go on.
	on(b, "/api/v1/plans/p3/actuals/restate", map[string]string{"cell": clusterCells[0], "metric": "net-revenue", "period": "2026-03",
		"amount": "12345.67", "reason": "credit note"}, b)
	on(b, "/api/v1/plans/p3/targets/set", map[string]string{"node": "region=apac", "metric": "units", "span": "FY2027",
		"amount": "5000", "reason": "units budget"}, b)
	on(b, "/api/v1/plans/p2/actuals", actualsBody("2026-05", 25), b)

	runs := c.waitForecasts(t, "2026-04", len(clusterPlans)*len(clusterMetrics))
	for _, pos := range written {
		c.sees(t, b.addr, pos)
	}
	c.checkExactlyOnce(t, runs)
	// The victim's job was either finished before the kill or handed to the
	// survivor once its acknowledgement was overdue; exactly once either way.
	redelivered := slices.ContainsFunc(survivor.lines(), func(l map[string]any) bool { return l["msg"] == "forecast job" && l["run"] == job["run"] })
	if legacy, err := c.nc.JetStream(); err != nil {
		t.Error(err)
	} else if ci, err := legacy.ConsumerInfo(jobsTopic, workerGroup+"_"+jobsTopic); err != nil {
		t.Errorf("the workers' consumer group: %v", err)
	} else if si, err := legacy.StreamInfo(jobsTopic); err != nil {
		t.Errorf("the jobs' stream: %v", err)
	} else {
		t.Logf("forecast jobs: %d on the topic (two dispatchers, duplicates dropped by id), %d deliveries; the killed worker's job handed to %s: %v",
			si.State.Msgs, ci.Delivered.Consumer, survivor.name, redelivered)
	}

	// A replica started afresh rebuilds from the store and answers as the
	// survivor, as of the same position.
	fresh := startProcess(t, "replica A restarted", serve...)
	head, err := c.store.ReadAll(context.Background(), eventstore.Start, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	c.sameAnswers(t, fresh, b, head[len(head)-1].Position.String())
	c.checkOutbound(t)
}

// sameAnswers checks that the rebuilt replica answers every query as the
// survivor, as of position asOf.
func (c *cluster) sameAnswers(t testing.TB, rebuilt, survivor *process, asOf string) {
	t.Helper()
	for _, path := range clusterQueries(asOf) {
		got, want := c.api(t, rebuilt.addr, http.MethodGet, path, nil, http.StatusOK), c.api(t, survivor.addr, http.MethodGet, path, nil, http.StatusOK)
		if !bytes.Equal(got, want) {
			t.Errorf("GET %s: %s and %s differ:\n%s  %.600s\n%s %.600s", path, rebuilt.name, survivor.name, rebuilt.name, got, survivor.name, want)
		}
	}
}

// checkOutbound waits until the outbound topic holds as many messages as
// the log holds publishable events, and checks that they are those events,
// once each, in log order: the replicas published concurrently, one was
// killed, one restarted, and the server dropped the duplicates by id. Every
// wait is bounded: a relay that stops publishing fails the test, naming how
// far the topic got.
func (c *cluster) checkOutbound(t testing.TB) {
	t.Helper()
	all, err := c.store.ReadAll(context.Background(), eventstore.Start, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var want []eventstore.RecordedEvent
	for _, rec := range all {
		if outbound.Publishable(rec.Type) {
			want = append(want, rec)
		}
	}
	var state jetstream.StreamState
	untilWithin(t, processLimit, fmt.Sprintf("the outbound topic holding the log's %d publishable events", len(want)), func(ctx context.Context) error {
		s, err := c.js.Stream(ctx, outbound.Topic)
		if err != nil {
			return err
		}
		state = s.CachedInfo().State
		if state.Msgs < uint64(len(want)) {
			return fmt.Errorf("%d messages on the topic, the last %s at %v", state.Msgs, outbound.Topic, state.LastTime)
		}
		return nil
	})
	// The stream keeps every message (no limits): sequences first to last.
	var got []string
	untilWithin(t, processLimit, "the messages of the outbound topic read", func(ctx context.Context) error {
		s, err := c.js.Stream(ctx, outbound.Topic)
		if err != nil {
			return err
		}
		for seq := state.FirstSeq + uint64(len(got)); seq <= state.LastSeq; seq++ {
			m, err := s.GetMsg(ctx, seq)
			if err != nil {
				return fmt.Errorf("message %d: %w", seq, err)
			}
			got = append(got, m.Header.Get("_watermill_message_uuid"))
		}
		return nil
	})
	for i, rec := range want {
		if i >= len(got) || got[i] != rec.ID.String() {
			g := "nothing"
			if i < len(got) {
				g = got[i]
			}
			t.Errorf("the outbound topic holds %d messages, want the log's %d publishable events once each, in order: message %d is %s, want event %s (%s at %v)",
				len(got), len(want), i+1, g, rec.ID, rec.Type, rec.Position)
			return
		}
	}
	if len(got) != len(want) {
		t.Errorf("the outbound topic holds %d messages, want the log's %d publishable events once each: %v more", len(got), len(want), got[len(want):])
	}
}

// firstJob waits until one of two workers logs that it works on a forecast
// job of period, and returns it, the other worker and the job's log line.
func firstJob(t testing.TB, workers []*process, period string) (victim, survivor *process, job map[string]any) {
	t.Helper()
	jobOf := func(l map[string]any) bool { return l["msg"] == "forecast job" && l["period"] == period }
	var ok bool
	select {
	case job, ok = <-watch(workers[0], jobOf):
		victim, survivor = workers[0], workers[1]
	case job, ok = <-watch(workers[1], jobOf):
		victim, survivor = workers[1], workers[0]
	case <-time.After(processLimit):
		t.Fatalf("no worker took a job of the %s close in %v", period, processLimit)
	}
	if !ok {
		t.Fatalf("%s exited; its log:\n%s", victim.name, victim.log())
	}
	return victim, survivor, job
}

// watch returns a channel that receives the first line p logs that match
// accepts, or is closed when p exits without logging one.
func watch(p *process, match func(map[string]any) bool) <-chan map[string]any {
	ch := make(chan map[string]any, 1)
	go func() {
		defer close(ch)
		seen := 0
		for {
			p.mu.Lock()
			lines, changed := p.logged[seen:], p.changed
			seen = len(p.logged)
			p.mu.Unlock()
			if i := slices.IndexFunc(lines, match); i >= 0 {
				ch <- lines[i]
				return
			}
			select {
			case <-changed:
			case <-p.done:
				// Every line is in by now: look once more.
				if i := slices.IndexFunc(p.lines()[seen:], match); i >= 0 {
					ch <- p.lines()[seen+i]
				}
				return
			}
		}
	}()
	return ch
}

// waitForecasts follows the store's log until every forecast requested for
// period has been published (n requests), and returns the run ids.
func (c *cluster) waitForecasts(t testing.TB, period string, n int) []string {
	t.Helper()
	return c.waitForecastsFrom(t, eventstore.Start, period, n, processLimit)
}

// waitForecastsFrom is waitForecasts reading the log after position from
// (where the requests are), failing after limit.
func (c *cluster) waitForecastsFrom(t testing.TB, from eventstore.Position, period string, n int, limit time.Duration) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	sub, err := c.store.SubscribeAll(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	registry := planning.NewRegistry()
	requested, published := map[string]bool{}, map[string]bool{}
	for rec := range sub.Events() {
		ev, err := registry.Decode(rec)
		if err != nil {
			t.Fatal(err)
		}
		switch ev := ev.(type) {
		case forecast.Requested:
			// The close's runs (imports of actuals request runs of their own).
			if ev.Period.String() == period && ev.RunID == reforecast.RunID(ev.Plan, ev.Metric, ev.Period) {
				requested[ev.RunID] = true
			}
		case forecast.Sealed:
			published[ev.RunID] = true
		}
		if len(requested) == n && done(requested, published) == n {
			var ids []string
			for id := range requested {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			return ids
		}
	}
	t.Fatalf("after %v, %d of the %d forecasts of %s are published (%v requested); %v", limit, done(requested, published), n, period,
		len(requested), joinErrs(sub.Err(), ctx.Err()))
	return nil
}

// done counts the runs of requested that are published.
func done(requested, published map[string]bool) int {
	n := 0
	for id := range requested {
		if published[id] {
			n++
		}
	}
	return n
}

func joinErrs(errs ...error) string {
	var s []string
	for _, err := range errs {
		if err != nil {
			s = append(s, err.Error())
		}
	}
	return strings.Join(s, "; ")
}

// checkExactlyOnce reads every forecast run's stream: none is published
// twice, and each of must is published once.
func (c *cluster) checkExactlyOnce(t testing.TB, must []string) {
	t.Helper()
	all, err := c.store.ReadAll(context.Background(), eventstore.Start, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	published := map[string]int{}
	requests := 0
	for _, rec := range all {
		if !strings.HasPrefix(rec.Stream, "forecast-") {
			continue
		}
		switch rec.Type {
		case forecast.TypeSealed:
			published[rec.Stream]++
		case forecast.TypeRequested:
			requests++
		}
	}
	for stream, n := range published {
		if n != 1 {
			t.Errorf("%s holds %d published forecasts, want at most one", stream, n)
		}
	}
	for _, id := range must {
		if published[forecast.Stream(id)] != 1 {
			t.Errorf("run %s is published %d times, want once", id, published[forecast.Stream(id)])
		}
	}
	t.Logf("%d forecast requests recorded, %d runs published (the others superseded by a later close)", requests, len(published))
}

// clusterQueries are the query paths compared between replicas, as of
// position asOf.
func clusterQueries(asOf string) []string {
	paths := []string{"/api/v1/plans?as_of=" + asOf}
	for _, p := range clusterPlans {
		base := "/api/v1/plans/" + p
		paths = append(paths, base+"/summary?as_of="+asOf, base+"/history?limit=500&to="+asOf,
			base+"/forecasts?as_of="+asOf, base+"/reallocations?as_of="+asOf)
		for _, m := range clusterMetrics {
			paths = append(paths, base+"/rolling?metric="+m+"&as_of="+asOf, base+"/variance?metric="+m+"&as_of="+asOf,
				base+"/accuracy?metric="+m+"&as_of="+asOf)
		}
	}
	return paths
}
