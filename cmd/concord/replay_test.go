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
	"github.com/concord-planning/concord/projections/view"
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

// TestReplayDropsTheSnapshot checks that replay ignores the read side's
// snapshot, and that --drop-snapshot removes it from the store's file.
func TestReplayDropsTheSnapshot(t *testing.T) {
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
	v := view.NewService(s, company.Registry())
	if _, err := v.Live(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := v.SaveSnapshot(ctx, s); err != nil {
		t.Fatal(err)
	}
	v.Close()
	s.Close()
	env, out, _ := testEnv(nil)
	if err := run(ctx, env, []string{"replay", "--store", "sqlite://" + path, "--drop-snapshot"}); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if want := fmt.Sprintf("replayed %d events", len(log.Events)); !strings.Contains(out.String(), want) {
		t.Errorf("replay output = %q, want it to say %q: the replay read every event, not the snapshot", out, want)
	}
	s, err = sqlite.Open(ctx, path, sqlite.Options{Existing: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if data, err := s.LoadSnapshot(ctx, view.SnapshotName); data != nil || err != nil {
		t.Fatalf("after replay --drop-snapshot, the store holds a snapshot of %d bytes (%v)", len(data), err)
	}
}
