package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/concord-planning/concord/api/natskv"
	"github.com/concord-planning/concord/domain/eventstore/esdb/esdbtest"
	"github.com/concord-planning/concord/projections/outbound"
)

// natsNode is one nats-server process of a test cluster. It keeps its
// ports and storage directory across restarts.
type natsNode struct {
	name string
	port int
	conf string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	out  bytes.Buffer
}

// natsCluster is a JetStream cluster of separate nats-server processes on
// loopback, each with its own ports and storage, joined by cluster routes.
type natsCluster struct {
	bin   string
	nodes []*natsNode
}

// natsServerBinary returns the nats-server to run, or skips the test.
func natsServerBinary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nats-server"); err == nil {
		return "/usr/sbin/nats-server" // Debian's package, outside a user's PATH
	}
	t.Skip("nats-server is not installed (.ci/run installs Debian's package nats-server): skipping the test on a NATS JetStream cluster")
	return ""
}

// freePorts returns n distinct free loopback ports.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// startNATSCluster starts an n-node JetStream cluster and waits until it
// has elected its JetStream meta leader. Servers and clients ping every
// second, so a paused server is noticed within a few seconds.
func startNATSCluster(t testing.TB, n int) *natsCluster {
	t.Helper()
	c := &natsCluster{bin: natsServerBinary(t)}
	dir := t.TempDir()
	ports := freePorts(t, 2*n)
	var routes []string
	for i := range n {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[n+i]))
	}
	for i := range n {
		node := &natsNode{name: fmt.Sprintf("n%d", i+1), port: ports[i], conf: filepath.Join(dir, fmt.Sprintf("n%d.conf", i+1))}
		conf := fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
ping_interval: "1s"
ping_max: 2
jetstream {
  store_dir: %q
  max_memory_store: 64MB
  max_file_store: 1GB
}
cluster {
  name: concord
  listen: 127.0.0.1:%d
  routes: [%s]
}
`, node.name, node.port, filepath.Join(dir, node.name), ports[n+i], strings.Join(routes, ", "))
		if err := os.WriteFile(node.conf, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, node)
		node.start(t, c.bin)
	}
	t.Cleanup(func() {
		for _, node := range c.nodes {
			node.stop()
			if t.Failed() {
				t.Logf("NATS node %s, the end of its log:\n%s", node.name, node.log())
			}
		}
	})
	// The cluster is formed once a stream kept on every node can be made.
	until(t, fmt.Sprintf("a JetStream cluster of %d nodes", n), func(ctx context.Context) error {
		conn, err := nats.Connect(c.url(), nats.Timeout(time.Second))
		if err != nil {
			return err
		}
		defer conn.Close()
		js, err := jetstream.New(conn)
		if err != nil {
			return err
		}
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "probe", Replicas: n, Storage: jetstream.MemoryStorage}); err != nil {
			return err
		}
		return js.DeleteStream(ctx, "probe")
	})
	return c
}

// url is the --bus value naming every node.
func (c *natsCluster) url() string {
	var urls []string
	for _, n := range c.nodes {
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", n.port))
	}
	return strings.Join(urls, ",")
}

// node returns the node named name.
func (c *natsCluster) node(t testing.TB, name string) *natsNode {
	t.Helper()
	for _, n := range c.nodes {
		if n.name == name {
			return n
		}
	}
	t.Fatalf("no NATS node %q", name)
	return nil
}

// start runs the server on its configuration.
func (n *natsNode) start(t testing.TB, bin string) {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	cmd := exec.Command(bin, "-c", n.conf)
	cmd.Stdout, cmd.Stderr = &lockedWriter{mu: &n.mu, w: &n.out}, &lockedWriter{mu: &n.mu, w: &n.out}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nats-server %s: %v", n.name, err)
	}
	n.cmd, n.done = cmd, make(chan struct{})
	go func(done chan struct{}) { cmd.Wait(); close(done) }(n.done)
}

// kill ends the server at once (SIGKILL), as a crash would.
func (n *natsNode) kill(t testing.TB) {
	t.Helper()
	if err := n.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-n.done
}

// signal sends sig (SIGSTOP, SIGCONT) to the server.
func (n *natsNode) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := n.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%v to %s: %v", sig, n.name, err)
	}
}

// stop resumes the server if paused and stops it.
func (n *natsNode) stop() {
	select {
	case <-n.done:
		return
	default:
	}
	n.cmd.Process.Signal(syscall.SIGCONT)
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		n.cmd.Process.Kill()
		<-n.done
	}
}

func (n *natsNode) log() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.out.String()
	return s[max(0, len(s)-4000):]
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// clusterWait bounds each wait for the NATS cluster to reach a state.
const clusterWait = 60 * time.Second

// until calls cond every 100ms until it returns nil, and fails the test
// with its last error after clusterWait.
func until(t testing.TB, what string, cond func(ctx context.Context) error) {
	t.Helper()
	untilWithin(t, clusterWait, what, cond)
}

// untilWithin is until failing after limit.
func untilWithin(t testing.TB, limit time.Duration, what string, cond func(ctx context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := cond(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached after %v: %v", what, limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// streamCluster returns the cluster state of a stream as the current
// leader reports it.
func (c *cluster) streamCluster(ctx context.Context, stream string) (*jetstream.ClusterInfo, error) {
	s, err := c.js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	if info.Cluster == nil || info.Cluster.Leader == "" {
		return nil, fmt.Errorf("stream %s has no leader", stream)
	}
	return info.Cluster, nil
}

// leaderOf waits until stream has a leader other than not, and returns it.
func (c *cluster) leaderOf(t testing.TB, stream, not string) string {
	t.Helper()
	var leader string
	until(t, "a leader of "+stream+" other than "+not, func(ctx context.Context) error {
		ci, err := c.streamCluster(ctx, stream)
		if err != nil {
			return err
		}
		if ci.Leader == not {
			return fmt.Errorf("%s still leads", not)
		}
		leader = ci.Leader
		return nil
	})
	return leader
}

// replicated waits until each stream has a leader and all its replicas
// current, copies kept on want servers in all.
func (c *cluster) replicated(t testing.TB, want int, streams ...string) {
	t.Helper()
	for _, stream := range streams {
		until(t, fmt.Sprintf("%s on %d current servers", stream, want), func(ctx context.Context) error {
			ci, err := c.streamCluster(ctx, stream)
			if err != nil {
				return err
			}
			if len(ci.Replicas)+1 != want {
				return fmt.Errorf("%s is kept by %s and %d replicas, want %d servers", stream, ci.Leader, len(ci.Replicas), want)
			}
			for _, r := range ci.Replicas {
				if !r.Current || r.Offline {
					return fmt.Errorf("%s: replica %s not current (offline %v, %v since active)", stream, r.Name, r.Offline, r.Active)
				}
			}
			return nil
		})
	}
}

// readiness waits up to limit until the process p answers /readyz with
// status want, and returns the answer; with another status than 200 its
// reason must contain reason.
func readiness(t testing.TB, p *process, limit time.Duration, want int, reason string) string {
	t.Helper()
	var answer string
	untilWithin(t, limit, fmt.Sprintf("%s answering /readyz %d", p.name, want), func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.addr+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var body bytes.Buffer
		body.ReadFrom(resp.Body)
		answer = body.String()
		if resp.StatusCode != want {
			return fmt.Errorf("/readyz = %d %s", resp.StatusCode, body.String())
		}
		if want != http.StatusOK && !strings.Contains(body.String(), reason) {
			return fmt.Errorf("/readyz = %d %s, want the reason %q", resp.StatusCode, body.String(), reason)
		}
		return nil
	})
	return answer
}

// lostNATS is what /readyz names while a process has lost its NATS
// connection (projections.ErrDisconnected).
const lostNATS = "not connected to NATS"

// TestDistributedNATSCluster runs the multi-process test (two serve
// replicas, two workers, the esdb protocol test server as the store) on a
// real three-node NATS JetStream cluster of separate nats-server processes,
// every stream and bucket Concord creates kept on all three, and injects
// faults while writes, closes and forecast jobs are in flight: the leader
// of the jobs' stream killed (SIGKILL) and restarted; a node paused
// (SIGSTOP) until the cluster elects another leader, then resumed; a
// worker killed mid-job; a replica killed; the whole cluster paused (the
// replicas and workers must report not ready, then recover); two of the
// three nodes paused while a replica stays connected to the third (its
// outbound relay must be reported stalled, then recover). After each:
// every acknowledged write visible on every replica, every forecast run
// published exactly once, the outbound topic holding every publishable
// event once in log order, an Idempotency-Key honoured across the fault.
func TestDistributedNATSCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three NATS servers and four processes; skipped with -short")
	}
	nc := startNATSCluster(t, 3)
	c := startCluster(t, esdbtest.Start(t).ConnString(), nc.url())
	bus := []string{"--bus", c.busURL, "--nats-replicas", "3", "--nats-ping-interval", "500ms"}
	serve := slices.Concat([]string{"serve", "--store", c.storeID, "--listen", "127.0.0.1:0", "--rate-limit", "0"}, bus)
	work := slices.Concat([]string{"worker", "--store", c.storeID, "--listen", "127.0.0.1:0", "--log-level", "debug", "--job-ack-wait", "2s"}, bus)
	a := startProcess(t, "replica A", serve...)
	b := startProcess(t, "replica B", serve...)
	workers := []*process{startProcess(t, "worker 1", work...), startProcess(t, "worker 2", work...)}
	replicas := []*process{a, b}

	var written, runs []string
	// write sends a command to p, reads it back on every replica, and
	// keeps its position.
	write := func(p *process, path string, body any) {
		t.Helper()
		pos := c.write(t, p.addr, path, body)
		for _, r := range replicas {
			c.sees(t, r.addr, pos)
		}
		written = append(written, pos)
	}
	// setTarget sets a units target of a node not set before.
	targetNodes := slices.Concat([]string{"region=emea", "region=americas", "region=apac", "product=pumps", "product=valves"}, clusterCells)
	setTarget := func(p *process, plan, amount string) {
		t.Helper()
		node := targetNodes[0]
		targetNodes = targetNodes[1:]
		write(p, "/api/v1/plans/"+plan+"/targets/set", map[string]string{"node": node, "metric": "units", "span": "FY2027",
			"amount": amount, "reason": "round " + amount})
	}
	// idempotent sends a keyed target revision to p and returns the answer,
	// retrying as a client would while the API answers 503 (the key's
	// bucket electing a leader) or 409 (a claim whose answer was lost in
	// the fault is held until its lease of a minute ends).
	idempotent := func(p *process, key, amount string) ([]byte, http.Header) {
		t.Helper()
		var status int
		var raw []byte
		var h http.Header
		untilWithin(t, 2*time.Minute, key+" answered on "+p.name, func(context.Context) error {
			status, raw, h = c.send(t, p.addr, http.MethodPost, "/api/v1/plans/p3/targets/revise",
				map[string]string{"node": "region=emea", "metric": "net-revenue", "span": "FY2027", "amount": amount, "reason": key},
				http.Header{"Idempotency-Key": {key}})
			if status == http.StatusServiceUnavailable || status == http.StatusConflict {
				t.Logf("%s on %s: %d %s; retried", key, p.name, status, raw)
				return fmt.Errorf("%d %s", status, raw)
			}
			return nil
		})
		if status != http.StatusOK {
			t.Fatalf("%s on %s = %d, want 200: %s", key, p.name, status, raw)
		}
		return raw, h
	}
	retried := func(p *process, key, amount string, first []byte) {
		t.Helper()
		again, h := idempotent(p, key, amount)
		if !bytes.Equal(again, first) || h.Get("Idempotent-Replayed") != "true" {
			t.Errorf("%s retried on %s answered %s (replayed %q), want the first answer %s replayed", key, p.name, again, h.Get("Idempotent-Replayed"), first)
		}
	}
	// check asserts the guarantees after a fault: the forecasts of the
	// period's close published exactly once (and no run ever twice), every
	// write on every replica, the outbound topic complete and in order.
	check := func(period string) {
		t.Helper()
		runs = append(runs, c.waitForecasts(t, period, len(clusterPlans)*len(clusterMetrics))...)
		c.checkExactlyOnce(t, runs)
		for _, r := range replicas {
			for _, pos := range written {
				c.sees(t, r.addr, pos)
			}
		}
		c.checkOutbound(t)
	}
	streams := []string{jobsTopic, outbound.Topic, "KV_" + natskv.Bucket}
	// closeAndWaitJob records month i's actuals on one replica, closes the
	// month before on the other, and returns once a worker works on a
	// job of that close.
	closeAndWaitJob := func(i int, record, closer *process) (string, *process, *process, map[string]any) {
		t.Helper()
		period := fmt.Sprintf("%d-%02d", 2024+(3+i-1)/12, (3+i-1)%12+1)
		next := fmt.Sprintf("%d-%02d", 2024+(3+i)/12, (3+i)%12+1)
		write(record, "/api/v1/plans/p1/actuals", actualsBody(next, i))
		write(closer, "/api/v1/periods/"+period+"/close", map[string]any{})
		victim, survivor, job := firstJob(t, workers, period)
		return period, victim, survivor, job
	}

	// 1. The leader of the jobs' stream crashes while the jobs of a close
	// are handed out, and comes back.
	c.replicated(t, 3, streams...)
	first, _ := idempotent(a, "fault-1", "1510000")
	period, _, _, _ := closeAndWaitJob(24, a, b)
	leader := c.leaderOf(t, jobsTopic, "")
	victim := nc.node(t, leader)
	victim.kill(t)
	t.Logf("fault 1: killed NATS node %s, leader of %s, during the jobs of the %s close", leader, jobsTopic, period)
	setTarget(a, "p1", "5001")
	setTarget(b, "p2", "5002")
	c.leaderOf(t, "KV_"+natskv.Bucket, leader)
	retried(b, "fault-1", "1510000", first)
	victim.start(t, nc.bin)
	c.replicated(t, 3, streams...)
	check(period)

	// 2. A node pauses past the heartbeat (the cluster elects another
	// leader), then resumes.
	period, _, _, _ = closeAndWaitJob(25, b, a)
	leader = c.leaderOf(t, jobsTopic, "")
	paused := nc.node(t, leader)
	paused.signal(t, syscall.SIGSTOP)
	c.leaderOf(t, jobsTopic, leader)
	t.Logf("fault 2: paused NATS node %s until %s elected another leader", leader, jobsTopic)
	setTarget(b, "p1", "5003")
	first, _ = idempotent(a, "fault-2", "1520000")
	setTarget(a, "p2", "5004")
	paused.signal(t, syscall.SIGCONT)
	retried(b, "fault-2", "1520000", first)
	c.replicated(t, 3, streams...)
	check(period)

	// 3. A worker dies mid-job: its job goes to the other worker once the
	// acknowledgement is overdue. A new worker takes its place.
	period, dead, survivor, job := closeAndWaitJob(26, a, b)
	dead.kill(t)
	t.Logf("fault 3: killed %s while it worked on run %v", dead.name, job["run"])
	setTarget(b, "p3", "5005")
	check(period)
	handed := slices.ContainsFunc(survivor.lines(), func(l map[string]any) bool { return l["msg"] == "forecast job" && l["run"] == job["run"] })
	t.Logf("the killed worker's job handed to %s: %v", survivor.name, handed)
	workers = []*process{survivor, startProcess(t, "worker 3", work...)}

	// 4. A replica dies while it relays and dispatches a close; the other
	// goes on, and a replica started afresh answers as the survivor.
	first, _ = idempotent(a, "fault-4", "1540000")
	period, _, _, _ = closeAndWaitJob(27, b, a)
	a.kill(t)
	replicas = []*process{b}
	t.Logf("fault 4: killed replica A during the jobs of the %s close", period)
	setTarget(b, "p1", "5006")
	retried(b, "fault-4", "1540000", first)
	check(period)
	fresh := startProcess(t, "replica A restarted", serve...)
	replicas = []*process{fresh, b}
	c.sameAnswers(t, fresh, b, written[len(written)-1])

	// 5. The whole cluster pauses: every process reports not ready while it
	// cannot reach NATS, and ready again once it can.
	for _, n := range nc.nodes {
		n.signal(t, syscall.SIGSTOP)
	}
	for _, p := range slices.Concat(replicas, workers) {
		readiness(t, p, clusterWait, http.StatusServiceUnavailable, lostNATS)
	}
	for _, n := range nc.nodes {
		n.signal(t, syscall.SIGCONT)
	}
	for _, p := range slices.Concat(replicas, workers) {
		readiness(t, p, clusterWait, http.StatusOK, "")
	}
	t.Log("fault 5: paused every NATS node: all four processes reported not ready, and ready once resumed")
	c.replicated(t, 3, streams...)

	// 6. A replica connected to one node only keeps its connection while
	// the other two pause: the streams lose their quorum, so its outbound
	// relay fails every publish of a new event. It must report the stall,
	// not ready, though connected, and be ready again once they resume.
	// (It once stalled for minutes after they resumed: nats-server 2.9
	// dropped the relay's publishes unanswered after a leader change; see
	// outbound.Handler and TestNATSRelayPublishesWhenAnEarlierLeaderReturns.)
	third := nc.nodes[2]
	lone := startProcess(t, "replica C", slices.Concat(
		[]string{"serve", "--store", c.storeID, "--listen", "127.0.0.1:0", "--rate-limit", "0"},
		[]string{"--bus", fmt.Sprintf("nats://127.0.0.1:%d", third.port), "--nats-replicas", "3", "--nats-ping-interval", "500ms"})...)
	readiness(t, lone, clusterWait, http.StatusOK, "")
	for _, n := range nc.nodes[:2] {
		n.signal(t, syscall.SIGSTOP)
	}
	setTarget(lone, "p3", "5008")
	stall := readiness(t, lone, stallWait, http.StatusServiceUnavailable, "stalled")
	for _, n := range nc.nodes[:2] {
		n.signal(t, syscall.SIGCONT)
	}
	readiness(t, lone, stallWait, http.StatusOK, "")
	t.Logf("fault 6: paused NATS nodes %s and %s: %s, connected to %s, answered /readyz 503 %s and ready once they resumed",
		nc.nodes[0].name, nc.nodes[1].name, lone.name, third.name, strings.TrimSpace(stall))
	replicas = append(replicas, lone)
	c.replicated(t, 3, streams...)
	period, _, _, _ = closeAndWaitJob(28, fresh, b)
	setTarget(fresh, "p2", "5007")
	check(period)
}

// stallWait bounds the wait for a stall to show on /readyz, and to clear:
// stallDeliveries failed deliveries, each of the router's attempts bounded
// by a publish's timeout (5s), with backoff between them.
const stallWait = 3 * time.Minute
