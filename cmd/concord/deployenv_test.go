package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDeployUsesOnlyKnownVariables: every CONCORD_* variable the compose
// file, the Kubernetes manifests and the operations guide set for a
// concord process is one some command reads (its flag help says "env
// VAR"). Compose's own interpolation variables (${CONCORD_…}) are not
// concord's and are left out.
func TestDeployUsesOnlyKnownVariables(t *testing.T) {
	known := map[string]bool{}
	envOf := regexp.MustCompile(`\(env (CONCORD_[A-Z_]+)\)`)
	for name := range commands() {
		env, out, errOut := testEnv(nil)
		args := []string{name, "-h"}
		if name == "token" {
			args = []string{name, "create", "-h"}
		}
		run(context.Background(), env, args)
		for _, m := range envOf.FindAllStringSubmatch(out.String()+errOut.String(), -1) {
			known[m[1]] = true
		}
	}
	if len(known) < 10 {
		t.Fatalf("found only %d variables in the commands' help: %v", len(known), known)
	}
	used := regexp.MustCompile(`\$\{?CONCORD_[A-Z_]+|CONCORD_[A-Z_]+`)
	files, err := filepath.Glob("../../deploy/k8s/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../../deploy/compose.yaml", "../../deploy/OPERATIONS.md")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var unknown []string
		for _, v := range used.FindAllString(string(b), -1) {
			if !strings.HasPrefix(v, "$") && !known[v] && !slices.Contains(unknown, v) && !composeOnly[v] {
				unknown = append(unknown, v)
			}
		}
		if len(unknown) > 0 {
			t.Errorf("%s sets %v, which no concord command reads", f, unknown)
		}
	}
}

// composeOnly are variables of the compose file itself (interpolated by
// Compose, documented in the operations guide), not of concord.
var composeOnly = map[string]bool{"CONCORD_JWT_SECRET_HOST_FILE": true, "CONCORD_VERSION": true}
