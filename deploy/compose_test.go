package deploy_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// loadCompose loads a compose file the way `docker compose` does: schema
// validation, interpolation (from env only, so the machine's environment
// cannot change the result), normalisation and consistency checks.
func loadCompose(t *testing.T, path string, env map[string]string) (*types.Project, error) {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	details := types.ConfigDetails{
		WorkingDir:  filepath.Dir(abs),
		ConfigFiles: []types.ConfigFile{{Filename: abs}},
		Environment: env,
	}
	return loader.LoadWithContext(context.Background(), details, func(o *loader.Options) {
		o.SetProjectName("concord", true)
	})
}

// TestComposeLoaderRejects shows that the loader's validation is on: the
// checks below would otherwise pass on a file that docker compose refuses.
func TestComposeLoaderRejects(t *testing.T) {
	tests := map[string]string{
		"unknown service key": "services:\n  a:\n    image: x\n    healthchek:\n      test: [\"CMD\", \"true\"]\n",
		"missing dependency":  "services:\n  a:\n    image: x\n    depends_on:\n      b:\n        condition: service_healthy\n",
		"undefined secret":    "services:\n  a:\n    image: x\n    secrets: [s]\n",
		"bad replicas":        "services:\n  a:\n    image: x\n    deploy:\n      replicas: two\n",
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "compose.yaml")
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := loadCompose(t, path, nil); err == nil {
				t.Errorf("loadCompose(%q) succeeded, want a validation error", body)
			}
		})
	}
}

// env returns a service's environment variable, and whether it is set.
func env(s types.ServiceConfig, name string) (string, bool) {
	v, ok := s.Environment[name]
	if !ok || v == nil {
		return "", false
	}
	return *v, true
}

func replicas(s types.ServiceConfig) int {
	if s.Deploy != nil && s.Deploy.Replicas != nil {
		return *s.Deploy.Replicas
	}
	return 1
}

func TestCompose(t *testing.T) {
	p, err := loadCompose(t, "compose.yaml", map[string]string{})
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}

	var esdb, nats, serve, workers []types.ServiceConfig
	for _, s := range p.Services {
		switch {
		case strings.HasPrefix(s.Image, eventstoreImage+":"):
			esdb = append(esdb, s)
		case strings.HasPrefix(s.Image, "nats:"):
			nats = append(nats, s)
		case s.Build != nil && s.Build.Dockerfile == "deploy/Dockerfile":
			if len(s.Command) == 0 {
				t.Fatalf("service %s runs the concord image without a subcommand", s.Name)
			}
			switch s.Command[0] {
			case "serve":
				serve = append(serve, s)
			case "worker":
				workers = append(workers, s)
			default:
				t.Errorf("service %s runs concord %q, want serve or worker", s.Name, s.Command[0])
			}
		default:
			t.Errorf("service %s (image %q) is neither EventStoreDB, NATS nor concord", s.Name, s.Image)
		}
	}
	if len(esdb) != 3 {
		t.Fatalf("%d EventStoreDB services, want 3", len(esdb))
	}
	if len(nats) != 3 {
		t.Fatalf("%d NATS services, want a three-node JetStream cluster", len(nats))
	}
	n := 0
	for _, s := range serve {
		n += replicas(s)
	}
	if n != 2 {
		t.Errorf("%d concord serve replicas, want 2", n)
	}
	n = 0
	for _, s := range workers {
		n += replicas(s)
	}
	if n != 1 {
		t.Errorf("%d concord worker replicas, want 1", n)
	}

	insecure := checkEventStoreCluster(t, p, esdb)
	var natsURLs []string
	for _, s := range nats {
		natsURLs = append(natsURLs, checkNATS(t, p, s, nats))
	}
	for _, s := range slices.Concat(serve, workers) {
		checkConcordService(t, p, s, esdb, insecure, natsURLs)
		if r, _ := env(s, "CONCORD_NATS_REPLICAS"); r != strconv.Itoa(len(nats)) {
			t.Errorf("%s: CONCORD_NATS_REPLICAS = %q, want %d: every stream and bucket on every NATS node", s.Name, r, len(nats))
		}
	}
	for _, s := range serve {
		checkJWTSecret(t, p, s)
	}
	checkNoInlineSecrets(t, p)
	checkPublishedPorts(t, p, serve)
}

// checkEventStoreCluster checks that the nodes form one cluster: same size,
// each seeded with exactly the other nodes, each advertising its own name, a
// health check and a volume of its own. It returns whether the cluster runs
// insecure (no TLS).
func checkEventStoreCluster(t *testing.T, p *types.Project, nodes []types.ServiceConfig) (insecure bool) {
	t.Helper()
	names := make([]string, len(nodes))
	for i, s := range nodes {
		names[i] = s.Name
	}
	seenVolumes := map[string]string{}
	for i, s := range nodes {
		if v, _ := env(s, "EVENTSTORE_CLUSTER_SIZE"); v != strconv.Itoa(len(nodes)) {
			t.Errorf("%s: EVENTSTORE_CLUSTER_SIZE = %q, want %d", s.Name, v, len(nodes))
		}
		if v, _ := env(s, "EVENTSTORE_DISCOVER_VIA_DNS"); v != "false" {
			t.Errorf("%s: EVENTSTORE_DISCOVER_VIA_DNS = %q, want false (seeded gossip)", s.Name, v)
		}
		seed, _ := env(s, "EVENTSTORE_GOSSIP_SEED")
		var want []string
		for _, other := range names {
			if other != s.Name {
				want = append(want, other+":"+strconv.Itoa(esdbNodePort))
			}
		}
		if got := strings.Split(seed, ","); !sameSet(got, want) {
			t.Errorf("%s: EVENTSTORE_GOSSIP_SEED = %q, want the other nodes %v", s.Name, seed, want)
		}
		for _, k := range []string{"EVENTSTORE_NODE_HOST_ADVERTISE_AS", "EVENTSTORE_REPLICATION_HOST_ADVERTISE_AS"} {
			if v, _ := env(s, k); v != s.Name {
				t.Errorf("%s: %s = %q, want its own service name", s.Name, k, v)
			}
		}
		v, _ := env(s, "EVENTSTORE_INSECURE")
		if i == 0 {
			insecure = v == "true"
		} else if (v == "true") != insecure {
			t.Errorf("%s: EVENTSTORE_INSECURE = %q differs from %s's", s.Name, v, nodes[0].Name)
		}
		hc := s.HealthCheck
		if hc == nil || hc.Disable || !strings.Contains(strings.Join(hc.Test, " "), "/health/live") {
			t.Errorf("%s: want a health check on /health/live, have %+v", s.Name, hc)
		}
		var data *types.ServiceVolumeConfig
		for _, m := range s.Volumes {
			if m.Target == "/var/lib/eventstore" {
				data = &m
			}
		}
		switch {
		case data == nil || data.Type != types.VolumeTypeVolume:
			t.Errorf("%s: want a named volume at /var/lib/eventstore", s.Name)
		case seenVolumes[data.Source] != "":
			t.Errorf("%s and %s share the data volume %s", seenVolumes[data.Source], s.Name, data.Source)
		default:
			seenVolumes[data.Source] = s.Name
			if _, ok := p.Volumes[data.Source]; !ok {
				t.Errorf("%s: volume %s is not declared", s.Name, data.Source)
			}
		}
	}
	return insecure
}

// checkNATS checks that a NATS node runs JetStream with its store on a
// volume, named uniquely, in the cluster "concord" with routes to every
// node, and returns the URL clients must use.
func checkNATS(t *testing.T, p *types.Project, s types.ServiceConfig, nodes []types.ServiceConfig) string {
	t.Helper()
	args := []string(s.Command)
	if !slices.Contains(args, "-js") && !slices.Contains(args, "--jetstream") {
		t.Errorf("%s: command %q does not enable JetStream (-js)", s.Name, args)
	}
	storeDir, name, clusterName, routes := "", "", "", ""
	for i, a := range args {
		if i+1 >= len(args) {
			continue
		}
		switch a {
		case "-n", "--name", "--server_name":
			name = args[i+1]
		case "--cluster_name":
			clusterName = args[i+1]
		case "--routes":
			routes = args[i+1]
		}
		if (a == "-sd" || a == "--store_dir") && i+1 < len(args) {
			storeDir = args[i+1]
		}
		if (a == "-p" || a == "--port") && i+1 < len(args) && args[i+1] != strconv.Itoa(natsClientPort) {
			t.Errorf("%s: client port %s, want %d", s.Name, args[i+1], natsClientPort)
		}
	}
	onVolume := false
	for _, m := range s.Volumes {
		if m.Target == storeDir && m.Type == types.VolumeTypeVolume {
			_, onVolume = p.Volumes[m.Source]
		}
	}
	if storeDir == "" || !onVolume {
		t.Errorf("%s: JetStream store dir %q is not on a declared named volume", s.Name, storeDir)
	}
	if hc := s.HealthCheck; hc == nil || hc.Disable || len(hc.Test) == 0 {
		t.Errorf("%s: no health check", s.Name)
	}
	if name != s.Name {
		t.Errorf("%s: server name %q, want the service's name (JetStream clustering needs unique names)", s.Name, name)
	}
	if clusterName != "concord" {
		t.Errorf("%s: cluster name %q, want concord", s.Name, clusterName)
	}
	var want []string
	for _, n := range nodes {
		want = append(want, "nats://"+n.Name+":6222")
	}
	if !sameSet(strings.Split(routes, ","), want) {
		t.Errorf("%s: routes %q, want every node %v", s.Name, routes, want)
	}
	return "nats://" + s.Name + ":" + strconv.Itoa(natsClientPort)
}

// checkConcordService checks a concord process's wiring: the store is the
// whole EventStoreDB cluster (with TLS off only if the cluster is insecure),
// the bus is NATS, it waits for healthy dependencies, and it runs hardened.
func checkConcordService(t *testing.T, p *types.Project, s types.ServiceConfig, esdb []types.ServiceConfig, insecure bool, natsURLs []string) {
	t.Helper()
	store, _ := env(s, "CONCORD_STORE")
	hosts, q, err := esdbEndpoints(store)
	if err != nil {
		t.Errorf("%s: CONCORD_STORE: %v", s.Name, err)
	} else {
		var want []string
		for _, n := range esdb {
			want = append(want, n.Name+":"+strconv.Itoa(esdbNodePort))
		}
		if !sameSet(hosts, want) {
			t.Errorf("%s: CONCORD_STORE seeds %v, want every cluster node %v", s.Name, hosts, want)
		}
		if tlsOff := q.Get("tls") == "false"; tlsOff != insecure {
			t.Errorf("%s: CONCORD_STORE tls=%q but the cluster's EVENTSTORE_INSECURE is %v", s.Name, q.Get("tls"), insecure)
		}
	}
	if bus, _ := env(s, "CONCORD_BUS"); !sameSet(strings.Split(bus, ","), natsURLs) {
		t.Errorf("%s: CONCORD_BUS = %q, want every NATS node %v", s.Name, bus, natsURLs)
	}
	if v, _ := env(s, "CONCORD_LISTEN"); v != "0.0.0.0:"+strconv.Itoa(concordPort) {
		t.Errorf("%s: CONCORD_LISTEN = %q, want 0.0.0.0:%d", s.Name, v, concordPort)
	}
	var deps []string
	for _, u := range natsURLs {
		deps = append(deps, strings.TrimSuffix(strings.TrimPrefix(u, "nats://"), ":"+strconv.Itoa(natsClientPort)))
	}
	for _, n := range esdb {
		deps = append(deps, n.Name)
	}
	for _, d := range deps {
		if c := s.DependsOn[d].Condition; c != types.ServiceConditionHealthy {
			t.Errorf("%s: depends_on %s with condition %q, want %s", s.Name, d, c, types.ServiceConditionHealthy)
		}
	}
	// The image is distroless: a shell health check could never pass.
	if hc := s.HealthCheck; hc != nil && !hc.Disable && len(hc.Test) > 0 && hc.Test[0] == "CMD-SHELL" {
		t.Errorf("%s: health check %q needs a shell, which the distroless image lacks", s.Name, hc.Test)
	}
	if !s.ReadOnly {
		t.Errorf("%s: root filesystem is writable, want read_only", s.Name)
	}
	if !slices.Contains(s.CapDrop, "ALL") {
		t.Errorf("%s: cap_drop = %v, want ALL", s.Name, s.CapDrop)
	}
	if s.Build == nil || s.Build.Context != repoRoot(t) {
		t.Errorf("%s: build context %v, want the repository root", s.Name, s.Build)
	}
}

// checkJWTSecret checks that the API reads its JWT secret from a compose
// secret backed by a file that git ignores.
func checkJWTSecret(t *testing.T, p *types.Project, s types.ServiceConfig) {
	t.Helper()
	path, _ := env(s, "CONCORD_JWT_SECRET_FILE")
	var mounted *types.ServiceSecretConfig
	for _, sec := range s.Secrets {
		target := sec.Target
		if target == "" {
			target = sec.Source
		}
		if !filepath.IsAbs(target) {
			target = "/run/secrets/" + target
		}
		if target == path {
			mounted = &sec
		}
	}
	if mounted == nil {
		t.Errorf("%s: CONCORD_JWT_SECRET_FILE = %q is not where any of its secrets is mounted", s.Name, path)
		return
	}
	def, ok := p.Secrets[mounted.Source]
	if !ok {
		t.Fatalf("%s: secret %s not defined", s.Name, mounted.Source)
	}
	if def.Content != "" || def.Environment != "" || def.File == "" {
		t.Errorf("secret %s: want file-backed (file:), not content or environment", mounted.Source)
	}
	root := repoRoot(t)
	rel, err := filepath.Rel(root, def.File)
	if err != nil || strings.HasPrefix(rel, "..") {
		return // outside the repository: fine
	}
	ignore, err := os.ReadFile(".gitignore")
	if err != nil {
		t.Fatalf("secret %s lives in the repository at %s, and deploy/.gitignore is unreadable: %v", mounted.Source, rel, err)
	}
	dir := filepath.ToSlash(filepath.Dir(rel))
	if !strings.HasPrefix(dir, "deploy/") || !slices.Contains(strings.Split(string(ignore), "\n"), "/"+strings.TrimPrefix(dir, "deploy/")+"/") {
		t.Errorf("secret %s defaults to %s inside the repository, and deploy/.gitignore does not ignore its folder", mounted.Source, rel)
	}
}

// checkNoInlineSecrets fails on a credential written into compose.yaml: a
// secret-like variable that is not a *_FILE path under /run/secrets, or a
// URL with user information.
func checkNoInlineSecrets(t *testing.T, p *types.Project) {
	t.Helper()
	for _, s := range p.Services {
		for k, v := range s.Environment {
			if v == nil {
				continue
			}
			if secretLike(k) && !(strings.HasSuffix(k, "_FILE") && strings.HasPrefix(*v, "/run/secrets/")) {
				t.Errorf("%s: %s carries a value inline; mount a secret and pass its path in %s_FILE", s.Name, k, k)
			}
			if u, err := url.Parse(*v); err == nil && u.User != nil {
				t.Errorf("%s: %s holds credentials in a URL", s.Name, k)
			}
		}
	}
}

// checkPublishedPorts checks that only the API is published, on loopback.
func checkPublishedPorts(t *testing.T, p *types.Project, serve []types.ServiceConfig) {
	t.Helper()
	for _, s := range p.Services {
		isServe := slices.ContainsFunc(serve, func(x types.ServiceConfig) bool { return x.Name == s.Name })
		if !isServe && len(s.Ports) > 0 {
			t.Errorf("%s publishes ports %+v; only the API should", s.Name, s.Ports)
		}
		if isServe && len(s.Ports) == 0 {
			t.Errorf("%s publishes no port", s.Name)
		}
		for _, port := range s.Ports {
			if port.Target != concordPort || port.HostIP != "127.0.0.1" {
				t.Errorf("%s publishes %s:%s->%d, want 127.0.0.1:…->%d", s.Name, port.HostIP, port.Published, port.Target, concordPort)
			}
		}
	}
}
