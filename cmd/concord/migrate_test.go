package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/esdb"
	"github.com/concord-planning/concord/domain/eventstore/esdb/esdbtest"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/domain/eventstore/storetest"
	"github.com/concord-planning/concord/projections/company"
)

// serverClock is the test server's clock: far from every recorded time of
// the source, so a copy that kept the server's time instead of the
// original shows.
var serverClock = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)

// companyLog is a small company's log (5,832 events in 49 streams, some 600
// appends interleaving plans, ledgers, dimensions, commits and forecasts,
// with actors and correlation ids), generated once.
var companyLog = sync.OnceValues(func() (*company.Log, error) { return company.Generate(company.Small(7)) })

// sourceStore writes the company's log into a new SQLite file, each append
// recorded at its generated time, and returns the file and the events as
// the store recorded them.
func sourceStore(t *testing.T) (string, []eventstore.RecordedEvent) {
	t.Helper()
	l, err := companyLog()
	if err != nil {
		t.Fatalf("company.Generate: %v", err)
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "source.db")
	var now time.Time
	s, err := sqlite.Open(ctx, path, sqlite.Options{Clock: func() time.Time { return now }, Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.AppendTo(ctx, s, func(at time.Time) { now = at }); err != nil {
		t.Fatal(err)
	}
	events := readLog(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if len(events) != len(l.Events) {
		t.Fatalf("source holds %d events, generated %d", len(events), len(l.Events))
	}
	return path, events
}

func readLog(t *testing.T, s eventstore.Store) []eventstore.RecordedEvent {
	t.Helper()
	var out []eventstore.RecordedEvent
	after := eventstore.Start
	for {
		page, err := s.ReadAll(context.Background(), after, eventstore.MinPage)
		if err != nil {
			t.Fatalf("ReadAll after %v: %v", after, err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].Position
	}
}

// assertCopy checks that got, read from the target in global order, holds
// want's events in the same order with every field equal but positions,
// and that the target's positions increase.
func assertCopy(t *testing.T, want, got []eventstore.RecordedEvent) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("target holds %d events, source %d", len(got), len(want))
	}
	for i := range want {
		if d := differences(want[i], got[i]); d != "" {
			t.Fatalf("target event %d (%s@%d) differs from the source's (%s@%d) in %s", i, got[i].Stream, got[i].Version, want[i].Stream, want[i].Version, d)
		}
		if i > 0 && !got[i-1].Position.Before(got[i].Position) {
			t.Fatalf("target positions do not increase: %v then %v", got[i-1].Position, got[i].Position)
		}
	}
	// differences is the command's own comparison: check independently
	// that recorded times are the originals, not the copy's.
	if !got[0].RecordedAt.Equal(want[0].RecordedAt) || got[len(got)-1].RecordedAt.Equal(serverClock) {
		t.Fatalf("recorded times: first %v (source %v), last %v", got[0].RecordedAt, want[0].RecordedAt, got[len(got)-1].RecordedAt)
	}
}

func openESDBStore(t *testing.T, conn string) *esdb.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := esdb.New(ctx, conn, nil)
	if err != nil {
		t.Fatalf("esdb.New(%q): %v", conn, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openSQLite(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{Clock: func() time.Time { return serverClock }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var summaryCounts = regexp.MustCompile(`copied: +(\d+) events in (\d+) imports .*; (\d+) events were already in the target`)

// runMigrate runs `concord migrate` and returns the events it copied and
// those it found in the target.
func runMigrate(t *testing.T, vars map[string]string, args ...string) (copied, skipped int, out string, err error) {
	t.Helper()
	env, stdout, stderr := testEnv(vars)
	err = run(context.Background(), env, append([]string{"migrate"}, args...))
	out = stdout.String()
	if err != nil {
		return 0, 0, out + stderr.String(), err
	}
	m := summaryCounts.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("migrate output has no summary line:\n%s", out)
	}
	copied, _ = strconv.Atoi(m[1])
	skipped, _ = strconv.Atoi(m[3])
	return copied, skipped, out, nil
}

func TestMigrateSQLiteToESDB(t *testing.T) {
	path, want := sourceStore(t)
	srv := esdbtest.Start(t, esdbtest.WithClock(func() time.Time { return serverClock }))

	copied, skipped, out, err := runMigrate(t, nil, "--from", "sqlite://"+path, "--to", srv.ConnString(), "--batch", "50")
	if err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	t.Logf("migrate output:\n%s", out)
	if copied != len(want) || skipped != 0 {
		t.Errorf("migrate copied %d and skipped %d events, want %d and 0\n%s", copied, skipped, len(want), out)
	}
	streams := map[string]bool{}
	for _, r := range want {
		streams[r.Stream] = true
	}
	for _, line := range []string{fmt.Sprintf("verified: %d events in %d streams", len(want), len(streams)), fmt.Sprintf("%d events checked, no break", len(want))} {
		if !strings.Contains(out, line) {
			t.Errorf("migrate output lacks %q:\n%s", line, out)
		}
	}
	target := openESDBStore(t, srv.ConnString())
	assertCopy(t, want, readLog(t, target))

	// Again, configured through the environment: nothing to do.
	copied, skipped, out, err = runMigrate(t, map[string]string{"CONCORD_MIGRATE_FROM": "sqlite://" + path, "CONCORD_MIGRATE_TO": srv.ConnString()})
	if err != nil {
		t.Fatalf("migrate again: %v\n%s", err, out)
	}
	if copied != 0 || skipped != len(want) {
		t.Errorf("migrate again copied %d and skipped %d events, want 0 and %d\n%s", copied, skipped, len(want), out)
	}
	if n := srv.Events(); n != len(want)+1 { // and the server's $settings event
		t.Errorf("server holds %d events after migrating twice, want %d", n, len(want)+1)
	}
	assertCopy(t, want, readLog(t, target))

	// And back, EventStoreDB to SQLite: the recorded times kept in the
	// metadata come back as the originals.
	back := filepath.Join(t.TempDir(), "back.db")
	copied, skipped, out, err = runMigrate(t, nil, "--from", srv.ConnString(), "--to", "sqlite://"+back)
	if err != nil || copied != len(want) || skipped != 0 {
		t.Fatalf("migrate back: copied %d, skipped %d, error %v; want %d, 0, nil\n%s", copied, skipped, err, len(want), out)
	}
	assertCopy(t, want, readLog(t, openSQLite(t, back)))
}

func TestMigrateResumesAfterInterruption(t *testing.T) {
	for _, kind := range []string{"esdb", "sqlite"} {
		t.Run(kind, func(t *testing.T) {
			path, want := sourceStore(t)
			var (
				target importStore
				to     string
				count  func() int
			)
			switch kind {
			case "esdb":
				srv := esdbtest.Start(t, esdbtest.WithClock(func() time.Time { return serverClock }))
				to = srv.ConnString()
				target = openESDBStore(t, to)
				count = func() int { return srv.Events() - 1 } // less $settings
			case "sqlite":
				targetPath := filepath.Join(t.TempDir(), "target.db")
				to = "sqlite://" + targetPath
				target = openSQLite(t, targetPath)
				count = func() int { return len(readLog(t, target)) }
			}
			source := openSQLite(t, path)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			const stopAfter = 2000
			var copiedBefore uint64
			_, err := migrate(ctx, source, target, migration{batch: 40, progress: func(phase string, done uint64) {
				if phase == "copying" && done >= stopAfter && copiedBefore == 0 {
					copiedBefore = done
					cancel()
				}
			}})
			if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "run it again to resume") {
				t.Fatalf("interrupted migrate error = %v, want context.Canceled and advice to resume", err)
			}
			n := count()
			if uint64(n) < copiedBefore || n >= len(want) {
				t.Fatalf("after the interruption the target holds %d events, want %d (or one batch more, on a server that finished the last write) of %d",
					n, copiedBefore, len(want))
			}
			if kind == "sqlite" && uint64(n) != copiedBefore {
				t.Errorf("after the interruption the SQLite target holds %d events, want exactly the %d imported", n, copiedBefore)
			}

			copied, skipped, out, err := runMigrate(t, nil, "--from", "sqlite://"+path, "--to", to, "--batch", "40")
			if err != nil {
				t.Fatalf("resumed migrate: %v\n%s", err, out)
			}
			if skipped < n || copied+skipped != len(want) {
				t.Errorf("resumed migrate copied %d and skipped %d events, want %d in all, at least %d skipped\n%s", copied, skipped, len(want), n, out)
			}
			assertCopy(t, want, readLog(t, target))
		})
	}
}

func TestMigrateStopsAtTamperedSourceEvent(t *testing.T) {
	path, want := sourceStore(t)
	// Pick an event in the middle that is not the first of its stream and
	// change the last byte of its data behind the store's back.
	victim := want[len(want)/2]
	for i := len(want) / 2; victim.Version < 2; i++ {
		victim = want[i]
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE events SET envelope = substr(envelope, 1, length(envelope) - 1) || x'20' WHERE position = ?`, victim.Position.Commit); err != nil {
		t.Fatal(err)
	}
	db.Close()

	srv := esdbtest.Start(t, esdbtest.WithClock(func() time.Time { return serverClock }))
	_, _, out, err := runMigrate(t, nil, "--from", "sqlite://"+path, "--to", srv.ConnString())
	if !errors.Is(err, eventstore.ErrChainBroken) {
		t.Fatalf("migrate of a tampered source: error %v, want ErrChainBroken\n%s", err, out)
	}
	t.Logf("migrate error: %v", err)
	var ce *eventstore.ChainError
	if !errors.As(err, &ce) || ce.Stream != victim.Stream || ce.Version != victim.Version {
		t.Errorf("migrate error = %v, want a chain error at stream %q version %d", err, victim.Stream, victim.Version)
	}
	if wantText := fmt.Sprintf("stream %q version %d", victim.Stream, victim.Version); !strings.Contains(err.Error(), wantText) {
		t.Errorf("migrate error %q does not name %s", err, wantText)
	}
	got := readLog(t, openESDBStore(t, srv.ConnString()))
	if len(got) >= int(victim.Position.Commit) {
		t.Errorf("target holds %d events, want fewer than the tampered event's position %d", len(got), victim.Position.Commit)
	}
	for _, e := range got {
		if e.ID == victim.ID {
			t.Fatalf("the tampered event %s was copied", e.ID)
		}
	}
}

func TestMigrateRefusesTargetWithOtherEvents(t *testing.T) {
	path, want := sourceStore(t)
	ctx := context.Background()
	cases := []struct {
		name    string
		prepare func(t *testing.T, target *sqlite.Store)
		wantErr string
	}{
		{"another stream", func(t *testing.T, target *sqlite.Store) {
			if _, err := target.Append(ctx, "tokens-legacy", eventstore.NoStream, storetest.Event("access.TokenIssued", `{}`)); err != nil {
				t.Fatal(err)
			}
		}, `event 1 in global order is stream "tokens-legacy" version 1`},
		{"another event in a source stream", func(t *testing.T, target *sqlite.Store) {
			if _, err := target.Append(ctx, want[0].Stream, eventstore.NoStream, storetest.Event(want[0].Type, string(want[0].Data))); err != nil {
				t.Fatal(err)
			}
		}, fmt.Sprintf(`event 1 in global order is stream %q version 1`, want[0].Stream)},
		{"a copy and more", func(t *testing.T, target *sqlite.Store) {
			if _, err := migrate(ctx, openSQLite(t, path), target, migration{batch: 100}); err != nil {
				t.Fatal(err)
			}
			last := want[len(want)-1]
			if _, err := target.Append(ctx, last.Stream, eventstore.Exact(last.Version), storetest.Event("plan.TargetSet", `{}`)); err != nil {
				t.Fatal(err)
			}
		}, fmt.Sprintf(`more events than the source; the first one beyond the source's log is stream %q version %d`, want[len(want)-1].Stream, want[len(want)-1].Version+1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			targetPath := filepath.Join(t.TempDir(), "target.db")
			target := openSQLite(t, targetPath)
			c.prepare(t, target)
			before := len(readLog(t, target))
			_, _, out, err := runMigrate(t, nil, "--from", "sqlite://"+path, "--to", "sqlite://"+targetPath)
			t.Logf("migrate error: %v", err)
			if !errors.Is(err, errTargetNotEmpty) || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("migrate into a target with other events: error %v, want errTargetNotEmpty naming %s\n%s", err, c.wantErr, out)
			}
			if after := len(readLog(t, target)); after != before {
				t.Errorf("refused migrate changed the target from %d to %d events", before, after)
			}
		})
	}
}

func TestMigrateSQLiteToSQLite(t *testing.T) {
	path, want := sourceStore(t)
	targetPath := filepath.Join(t.TempDir(), "nested", "target.db")
	copied, skipped, out, err := runMigrate(t, nil, "--from", "sqlite://"+path, "--to", "sqlite://"+targetPath)
	if err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	if copied != len(want) || skipped != 0 {
		t.Errorf("migrate copied %d, skipped %d, want %d and 0", copied, skipped, len(want))
	}
	assertCopy(t, want, readLog(t, openSQLite(t, targetPath)))
	copied, skipped, out, err = runMigrate(t, nil, "--from", "sqlite://"+path, "--to", "sqlite://"+targetPath)
	if err != nil || copied != 0 || skipped != len(want) {
		t.Errorf("migrate again: copied %d, skipped %d, error %v; want 0, %d, nil\n%s", copied, skipped, err, len(want), out)
	}
}

// TestMigrateRealESDB copies into the EventStoreDB named by
// CONCORD_TEST_ESDB. A migration needs an empty target: on a server that
// holds events (other tests' streams) it checks the refusal instead.
func TestMigrateRealESDB(t *testing.T) {
	conn := os.Getenv("CONCORD_TEST_ESDB")
	if conn == "" {
		t.Skip("CONCORD_TEST_ESDB is not set: skipping the migration into a real EventStoreDB (set it to a connection string, e.g. esdb://localhost:2113?tls=false; an empty server gets the full copy)")
	}
	path, want := sourceStore(t)
	target := openESDBStore(t, conn)
	first, err := target.ReadAll(context.Background(), eventstore.Start, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, _, out, err := runMigrate(t, nil, "--from", "sqlite://"+path, "--to", conn)
	if len(first) > 0 {
		t.Logf("the server holds events: checking that the migration refuses it")
		wantText := fmt.Sprintf("stream %q version %d", first[0].Stream, first[0].Version)
		if !errors.Is(err, errTargetNotEmpty) || !strings.Contains(err.Error(), wantText) {
			t.Fatalf("migrate into a non-empty server: error %v, want errTargetNotEmpty naming %s\n%s", err, wantText, out)
		}
		return
	}
	if err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	assertCopy(t, want, readLog(t, target))
}

func TestMigrateBadCommandLines(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no source", []string{"--to", "sqlite://" + filepath.Join(dir, "t.db")}, "no source: set --from (or CONCORD_MIGRATE_FROM)"},
		{"no target", []string{"--from", "sqlite://" + filepath.Join(dir, "s.db")}, "no target: set --to (or CONCORD_MIGRATE_TO)"},
		{"same file", []string{"--from", "sqlite://" + filepath.Join(dir, "s.db"), "--to", "sqlite://" + dir + "/./s.db"}, "name the same store"},
		{"batch 0", []string{"--from", "sqlite://a.db", "--to", "sqlite://b.db", "--batch", "0"}, "--batch 0: want 1 to 10000"},
		{"missing source file", []string{"--from", "sqlite://" + filepath.Join(dir, "missing.db"), "--to", "sqlite://" + filepath.Join(dir, "t.db")}, "missing.db: no such file"},
		{"unknown scheme", []string{"--from", "sqlite://" + filepath.Join(dir, "s.db"), "--to", "postgres://db/concord"}, `unknown scheme "postgres"`},
	}
	s := openSQLite(t, filepath.Join(dir, "s.db"))
	s.Close()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, out, err := runMigrate(t, nil, c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("migrate %v: error %v, want one containing %q\n%s", c.args, err, c.want, out)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a migration from a missing SQLite file created it (stat: %v)", err)
	}
}
