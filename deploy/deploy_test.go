package deploy_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Names shared by compose.yaml and the Kubernetes manifests.
const (
	concordImage    = "ghcr.io/concord-planning/concord" // repository of the published image
	eventstoreImage = "eventstore/eventstore"
	esdbNodePort    = 2113 // EventStoreDB's HTTP/gRPC port: clients and gossip
	natsClientPort  = 4222
	concordPort     = 8080
)

// repoRoot walks up from the working directory to the directory holding
// go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// esdbEndpoints parses an EventStoreDB connection string of the form
// esdb://host:port,host:port?tls=false into its endpoints and query.
func esdbEndpoints(conn string) (hosts []string, query url.Values, err error) {
	rest, ok := strings.CutPrefix(conn, "esdb://")
	if !ok {
		return nil, nil, fmt.Errorf("connection string %q: want scheme esdb:// (a list of gossip seeds)", conn)
	}
	hostList, rawQuery, _ := strings.Cut(rest, "?")
	hostList = strings.TrimSuffix(hostList, "/")
	if strings.Contains(hostList, "@") {
		return nil, nil, fmt.Errorf("connection string %q: credentials must not be inline", conn)
	}
	if query, err = url.ParseQuery(rawQuery); err != nil {
		return nil, nil, fmt.Errorf("connection string %q: query: %w", conn, err)
	}
	for _, h := range strings.Split(hostList, ",") {
		if _, _, err := hostPort(h); err != nil {
			return nil, nil, fmt.Errorf("connection string %q: %w", conn, err)
		}
		hosts = append(hosts, h)
	}
	return hosts, query, nil
}

// hostPort splits "host:port" and requires a numeric port.
func hostPort(s string) (string, int, error) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return "", 0, fmt.Errorf("endpoint %q: want host:port", s)
	}
	port, err := strconv.Atoi(s[i+1:])
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("endpoint %q: bad port", s)
	}
	return s[:i], port, nil
}

// sameSet reports whether a and b hold the same strings, ignoring order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// secretLike reports whether an environment variable's name suggests that
// its value is a credential.
func secretLike(name string) bool {
	n := strings.ToUpper(name)
	for _, w := range []string{"SECRET", "PASSWORD", "PASSWD", "TOKEN", "PRIVATE_KEY", "API_KEY", "CREDENTIAL"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

func TestEsdbEndpoints(t *testing.T) {
	tests := []struct {
		in      string
		hosts   []string
		tls     string
		wantErr bool
	}{
		{in: "esdb://a:2113,b:2113,c:2113?tls=false", hosts: []string{"a:2113", "b:2113", "c:2113"}, tls: "false"},
		{in: "esdb://a:2113", hosts: []string{"a:2113"}},
		{in: "esdb+discover://a:2113", wantErr: true},
		{in: "esdb://admin:changeit@a:2113", wantErr: true},
		{in: "esdb://a", wantErr: true},
		{in: "esdb://a:x", wantErr: true},
	}
	for _, tt := range tests {
		hosts, q, err := esdbEndpoints(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("esdbEndpoints(%q) = %v, want an error", tt.in, hosts)
			}
			continue
		}
		if err != nil || !slices.Equal(hosts, tt.hosts) || q.Get("tls") != tt.tls {
			t.Errorf("esdbEndpoints(%q) = %v, tls=%q, %v; want %v, tls=%q", tt.in, hosts, q.Get("tls"), err, tt.hosts, tt.tls)
		}
	}
}
