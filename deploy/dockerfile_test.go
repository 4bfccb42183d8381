package deploy_test

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	corev1 "k8s.io/api/core/v1"
)

const (
	distroless = "gcr.io/distroless/static-debian12:nonroot"
	dataDir    = "/var/lib/concord"
)

// dockerfile is the Dockerfile parsed by BuildKit's own frontend, with the
// lint warnings BuildKit would print on `docker build`.
type dockerfile struct {
	stages   []instructions.Stage
	metaArgs map[string]string // ARGs before the first FROM, with defaults
	warnings []string
}

func parseDockerfile(t *testing.T, path string) *dockerfile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	d := &dockerfile{metaArgs: map[string]string{}}
	for _, w := range res.Warnings {
		d.warnings = append(d.warnings, fmt.Sprintf("line %d: %s", w.Location.Start.Line, w.Short))
	}
	lint := linter.New(&linter.Config{
		ExperimentalAll: true,
		Warn: func(rule, _, _, msg string, loc []parser.Range) {
			line := 0
			if len(loc) > 0 {
				line = loc[0].Start.Line
			}
			d.warnings = append(d.warnings, fmt.Sprintf("line %d: %s: %s", line, rule, msg))
		},
	})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	d.stages = stages
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				d.metaArgs[kv.Key] = *kv.Value
			}
		}
	}
	return d
}

// base is a stage's image with the global ARG defaults substituted.
func (d *dockerfile) base(s instructions.Stage) string {
	return os.Expand(s.BaseName, func(k string) string { return d.metaArgs[k] })
}

func commands[T instructions.Command](s instructions.Stage) []T {
	var out []T
	for _, c := range s.Commands {
		if v, ok := c.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func TestDockerfile(t *testing.T) {
	d := parseDockerfile(t, "Dockerfile")
	for _, w := range d.warnings {
		t.Errorf("Dockerfile: BuildKit lint: %s", w)
	}
	if len(d.stages) < 2 {
		t.Fatalf("Dockerfile: %d stages, want a builder and a final stage", len(d.stages))
	}
	build, final := d.stages[0], d.stages[len(d.stages)-1]

	// Builder: the Go toolchain, a static, reproducible, stripped build.
	if b := d.base(build); !strings.HasPrefix(b, "golang:1.26") {
		t.Errorf("builder stage FROM %q, want golang:1.26", b)
	}
	var goBuild string
	for _, r := range commands[*instructions.RunCommand](build) {
		if line := strings.Join(r.CmdLine, " "); strings.Contains(line, "go build") {
			goBuild = line
		}
	}
	if goBuild == "" {
		t.Fatal("builder stage: no RUN with go build")
	}
	cgoOff := regexp.MustCompile(`(^|\s)CGO_ENABLED=0(\s|$)`).MatchString(goBuild)
	for _, e := range commands[*instructions.EnvCommand](build) {
		for _, kv := range e.Env {
			cgoOff = cgoOff || (kv.Key == "CGO_ENABLED" && kv.Value == "0")
		}
	}
	if !cgoOff {
		t.Errorf("builder stage: go build without CGO_ENABLED=0: %q", goBuild)
	}
	for _, flag := range []string{"-trimpath", "./cmd/concord"} {
		if !slices.Contains(strings.Fields(goBuild), flag) {
			t.Errorf("builder stage: go build lacks %s: %q", flag, goBuild)
		}
	}
	ld := regexp.MustCompile(`-ldflags[= ]"([^"]*)"`).FindStringSubmatch(goBuild)
	if ld == nil {
		t.Errorf("builder stage: go build without -ldflags: %q", goBuild)
	} else {
		fields := strings.Fields(ld[1])
		if !slices.Contains(fields, "-s") || !slices.Contains(fields, "-w") || !strings.Contains(ld[1], "-X main.version=") {
			t.Errorf("builder stage: -ldflags %q, want -s -w -X main.version=…", ld[1])
		}
	}

	// Final stage: distroless (or scratch), non-root, nothing but the binary.
	if b := d.base(final); b != distroless && b != "scratch" {
		t.Errorf("final stage FROM %q, want %s or scratch", b, distroless)
	}
	users := commands[*instructions.UserCommand](final)
	if len(users) == 0 {
		t.Fatal("final stage: no USER")
	}
	uidText, gidText, _ := strings.Cut(users[len(users)-1].User, ":")
	uid, err := strconv.Atoi(uidText)
	if err != nil || uid == 0 {
		t.Errorf("final stage: USER %q, want a numeric non-root UID (Kubernetes verifies runAsNonRoot only for numeric users)", users[len(users)-1].User)
	}
	for _, c := range commands[*instructions.CopyCommand](final) {
		if c.From == "" || !slices.ContainsFunc(d.stages[:len(d.stages)-1], func(s instructions.Stage) bool { return s.Name == c.From }) {
			t.Errorf("final stage: %q copies from outside the build stages", c.String())
		}
		if c.DestPath == dataDir && c.Chown != uidText+":"+gidText {
			t.Errorf("final stage: %s owned by %q, want the runtime user %s:%s", dataDir, c.Chown, uidText, gidText)
		}
	}
	var volumes, exposed []string
	for _, v := range commands[*instructions.VolumeCommand](final) {
		volumes = append(volumes, v.Volumes...)
	}
	for _, e := range commands[*instructions.ExposeCommand](final) {
		for _, p := range e.Ports {
			exposed = append(exposed, strings.TrimSuffix(p, "/tcp"))
		}
	}
	if !slices.Contains(volumes, dataDir) {
		t.Errorf("final stage: VOLUME %v, want %s", volumes, dataDir)
	}
	if !slices.Contains(exposed, strconv.Itoa(concordPort)) {
		t.Errorf("final stage: EXPOSE %v, want %d", exposed, concordPort)
	}
	envs := map[string]string{}
	for _, e := range commands[*instructions.EnvCommand](final) {
		for _, kv := range e.Env {
			envs[kv.Key] = kv.Value
		}
	}
	if v := envs["CONCORD_LISTEN"]; v != "0.0.0.0:"+strconv.Itoa(concordPort) {
		t.Errorf("final stage: CONCORD_LISTEN = %q, want 0.0.0.0:%d (reachable from outside the container)", v, concordPort)
	}
	if v := envs["CONCORD_STORE"]; !strings.HasPrefix(v, "sqlite://"+dataDir+"/") {
		t.Errorf("final stage: CONCORD_STORE = %q, want a SQLite file in the volume %s", v, dataDir)
	}
	eps := commands[*instructions.EntrypointCommand](final)
	if len(eps) != 1 || eps[0].PrependShell {
		t.Errorf("final stage: want one ENTRYPOINT in exec form (there is no shell)")
	}
	for _, r := range commands[*instructions.RunCommand](final) {
		if r.PrependShell {
			t.Errorf("final stage: %q needs a shell, which the image lacks", r.String())
		}
	}
	for _, h := range commands[*instructions.HealthCheckCommand](final) {
		if test := h.Health.Test; len(test) > 0 && test[0] == "CMD-SHELL" {
			t.Errorf("final stage: HEALTHCHECK %q needs a shell, which the image lacks", test)
		}
	}

	// The image's user is the one the Kubernetes pods run as.
	c := loadCluster(t)
	for _, sub := range []string{"serve", "worker"} {
		for _, dep := range concordWorkloads(c, sub) {
			psc := dep.Spec.Template.Spec.SecurityContext
			if psc == nil {
				psc = &corev1.PodSecurityContext{}
			}
			if got := ptrOr(psc.RunAsUser, -1); got != int64(uid) {
				t.Errorf("Deployment %s runs as UID %d, the image's USER is %d", dep.Name, got, uid)
			}
		}
	}
}

// TestDockerfileLintCatches shows that the lint above is live: BuildKit flags
// these on a Dockerfile.
func TestDockerfileLintCatches(t *testing.T) {
	bad := "FROM golang:1.26 as Build\nMAINTAINER someone\n"
	path := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	d := parseDockerfile(t, path)
	for _, rule := range []string{"FromAsCasing", "StageNameCasing", "MaintainerDeprecated"} {
		if !slices.ContainsFunc(d.warnings, func(w string) bool { return strings.Contains(w, rule) }) {
			t.Errorf("lint of %q: warnings %q lack %s", bad, d.warnings, rule)
		}
	}
}

// TestDockerignore checks deploy/Dockerfile.dockerignore with the matcher
// Docker uses: every file the build needs is in the context (non-test Go
// files, go:embed assets, go.mod, go.sum), and secrets, databases and the
// repository's history are not.
func TestDockerignore(t *testing.T) {
	f, err := os.Open("Dockerfile.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	patterns, err := ignorefile.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	excluded := func(rel string) bool {
		ex, err := pm.MatchesOrParentMatches(filepath.ToSlash(rel))
		if err != nil {
			t.Fatalf("match %s: %v", rel, err)
		}
		return ex
	}

	root := repoRoot(t)
	need := []string{"go.mod", "go.sum"}
	embed := regexp.MustCompile(`(?m)^//go:embed\s+(.+)$`)
	err = filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		name := e.Name()
		if e.IsDir() {
			if rel != "." && (strings.HasPrefix(name, ".") || name == "testdata" || rel == "deploy") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		need = append(need, rel)
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range embed.FindAllStringSubmatch(string(src), -1) {
			for _, pat := range strings.Fields(m[1]) {
				matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), strings.TrimPrefix(pat, "all:")))
				for _, mt := range matches {
					r, _ := filepath.Rel(root, mt)
					need = append(need, r)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(need) < 3 {
		t.Fatalf("found %d files the build needs; the walk is broken", len(need))
	}
	for _, rel := range need {
		if excluded(rel) {
			t.Errorf("Dockerfile.dockerignore excludes %s, which the build needs", rel)
		}
	}
	for _, rel := range []string{".git/HEAD", "deploy/secrets/jwt-secret", "concord.db", "domain/eventstore/sqlite/concord.db", "cmd/concord/concord.db-wal",
		"domain/eventstore/sqlite/testdata/x.csv", "domain/doc_test.go", "README.md", "deploy/compose.yaml"} {
		if !excluded(rel) {
			t.Errorf("Dockerfile.dockerignore lets %s into the build context", rel)
		}
	}
}

// TestDockerignoreIsAllowList guards the file's shape: an allow-list starting
// with "*", so that new files stay out of the image's context by default.
func TestDockerignoreIsAllowList(t *testing.T) {
	f, err := os.Open("Dockerfile.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if line != "*" {
			t.Errorf("Dockerfile.dockerignore: first pattern %q, want *", line)
		}
		return
	}
	t.Error("Dockerfile.dockerignore: no patterns")
}
