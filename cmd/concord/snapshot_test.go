package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/view"
)

// TestSnapshotFlags: the snapshot flags reach the configuration; bad
// values are refused by name.
func TestSnapshotFlags(t *testing.T) {
	for _, c := range []struct {
		name    string
		args    []string
		want    snapshotConfig
		wantErr string
	}{
		{"defaults", nil, snapshotConfig{every: 100000, interval: 10 * time.Minute}, ""},
		{"set", []string{"--snapshot-dir", "/var/snap", "--snapshot-every", "5000", "--snapshot-interval", "1m"}, snapshotConfig{dir: "/var/snap", every: 5000, interval: time.Minute}, ""},
		{"off", []string{"--snapshot-every", "0"}, snapshotConfig{every: 0, interval: 10 * time.Minute}, ""},
		{"bad every", []string{"--snapshot-every", "-3"}, snapshotConfig{}, `--snapshot-every "-3"`},
		{"bad interval", []string{"--snapshot-interval", "10ms"}, snapshotConfig{}, `--snapshot-interval "10ms"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			env, _, _ := testEnv(nil)
			fs := newFlagSet(env, "serve", "")
			sf := declareServeFlags(fs, env, "127.0.0.1:0")
			if err := parseFlags(fs, c.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := sf.config()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("config() error = %v, want one naming %s", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.snapshots != c.want {
				t.Errorf("config() snapshots = %+v, want %+v", cfg.snapshots, c.want)
			}
		})
	}
}

// smallCompanyStore returns a new SQLite store, closed with the test, and
// the small company's log (companyLog, not written to it).
func smallCompanyStore(t *testing.T) (*sqlite.Store, *company.Log) {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "concord.db"), sqlite.Options{Synchronous: "OFF"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	l, err := companyLog()
	if err != nil {
		t.Fatalf("company.Generate: %v", err)
	}
	return s, l
}

// TestSnapshotterWritesAndRestores: a server's snapshotter writes the
// view's snapshot into the SQLite store (at the latest at shutdown), and
// the next server's view starts from it, folding nothing more.
func TestSnapshotterWritesAndRestores(t *testing.T) {
	ctx := context.Background()
	s, l := smallCompanyStore(t)
	if err := l.AppendTo(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	cfg := snapshotConfig{every: 100000, interval: time.Hour}
	store := snapshotStore(cfg, &openedStore{Store: s, sqlite: s})
	if store == nil {
		t.Fatal("no snapshot store for the SQLite store")
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	first := &snapshotter{view: view.NewService(s, company.Registry()), store: store, cfg: cfg, log: logger}
	defer first.view.Close()
	first.restore(ctx)
	if _, err := first.view.Live(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); first.run(runCtx) }()
	cancel()
	<-done
	first.final()
	if first.saved != l.Count {
		t.Fatalf("the snapshot written folds %d events, want %d\n%s", first.saved, l.Count, logs.String())
	}

	second := &snapshotter{view: view.NewService(s, company.Registry()), store: store, cfg: cfg, log: logger}
	defer second.view.Close()
	second.restore(ctx)
	if second.view.Folded() != l.Count || !strings.Contains(logs.String(), "snapshot restored") {
		t.Fatalf("the second view starts at %d events, want %d\n%s", second.view.Folded(), l.Count, logs.String())
	}
	if _, err := second.view.Live(ctx); err != nil {
		t.Fatal(err)
	}
	if second.view.Events() != 0 {
		t.Errorf("the view restored from the snapshot read %d events, want none", second.view.Events())
	}
	second.backfill(ctx)
	if !strings.Contains(logs.String(), fmt.Sprintf("the log before the snapshot folded for as-of reads\" events=%d", l.Count)) {
		t.Errorf("no backfill of the %d events before the snapshot logged:\n%s", l.Count, logs.String())
	}
	if off := snapshotStore(snapshotConfig{every: 0}, &openedStore{Store: s, sqlite: s}); off != nil {
		t.Error("--snapshot-every 0 still keeps snapshots")
	}
}

// TestSnapshotterAtStart: a server that folded the log from its start
// writes a snapshot at once; one restored from a snapshot does so only
// when it folded --snapshot-every events or more past it, not for a few
// (within --snapshot-interval).
func TestSnapshotterAtStart(t *testing.T) {
	ctx := context.Background()
	s, l := smallCompanyStore(t)
	k := len(l.Appends) - 3
	head, tail := company.Log{Appends: l.Appends[:k]}, company.Log{Appends: l.Appends[k:]}
	headEvents := 0
	for _, a := range head.Appends {
		headEvents += len(a.Events)
	}
	if err := head.AppendTo(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	start := func(every int) *snapshotter {
		cfg := snapshotConfig{every: every, interval: time.Hour}
		sn := &snapshotter{view: view.NewService(s, company.Registry()), store: snapshotStore(cfg, &openedStore{Store: s, sqlite: s}), cfg: cfg, log: logger}
		t.Cleanup(sn.view.Close)
		sn.restore(ctx)
		if _, err := sn.view.Live(ctx); err != nil {
			t.Fatal(err)
		}
		sn.saveIfDue(ctx)
		return sn
	}
	if got := start(100000).saved; got != headEvents {
		t.Fatalf("from the log's start: the snapshot folds %d events, want %d at once\n%s", got, headEvents, logs.String())
	}
	if err := tail.AppendTo(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	if got := start(100000).saved; got != headEvents {
		t.Errorf("%d events past the snapshot, --snapshot-every 100000: a snapshot of %d events written at once, want none (the restored one's %d)\n%s",
			l.Count-headEvents, got, headEvents, logs.String())
	}
	if got := start(l.Count - headEvents).saved; got != l.Count {
		t.Errorf("%d events past the snapshot, --snapshot-every %d: the snapshot folds %d events, want %d at once\n%s",
			l.Count-headEvents, l.Count-headEvents, got, l.Count, logs.String())
	}
}
