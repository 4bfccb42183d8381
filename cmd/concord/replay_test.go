package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/projections/company"
)

func TestReplayReportsTheWholeLog(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "concord.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log, err := company.Generate(company.Small(3))
	if err != nil {
		t.Fatal(err)
	}
	if err := log.AppendTo(ctx, s, func(time.Time) {}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	env, out, _ := testEnv(nil)
	if err := run(ctx, env, []string{"replay", "--store", "sqlite://" + path}); err != nil {
		t.Fatalf("replay: %v", err)
	}
	want := fmt.Sprintf("replayed %d events up to position %d", len(log.Events), len(log.Events))
	if !strings.Contains(out.String(), want) {
		t.Errorf("replay output = %q, want it to start %q", out, want)
	}
}
