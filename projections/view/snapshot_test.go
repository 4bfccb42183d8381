package view_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/view"
)

// snapshotCompany writes the first k appends of the generated company l
// to a new SQLite store and returns it, with a function appending the
// rest.
func snapshotCompany(t *testing.T, l *company.Log, k int) (*sqlite.Store, func()) {
	t.Helper()
	ctx := context.Background()
	var now time.Time
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "events.db"), sqlite.Options{Synchronous: "OFF", Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	at := func(t time.Time) { now = t }
	if err := (&company.Log{Appends: l.Appends[:k]}).AppendTo(ctx, s, at); err != nil {
		t.Fatal(err)
	}
	return s, func() {
		t.Helper()
		for i, a := range l.Appends[k:] {
			now = a.At
			if _, err := s.Append(ctx, a.Stream, eventstore.Exact(a.Expected), a.Events...); err != nil {
				t.Fatalf("append %d: %v", k+i, err)
			}
		}
	}
}

// answers returns what s answers of the plan, at the head and as of
// positions before and after half the log, as JSON, for comparing
// services.
func answers(t *testing.T, s *view.Service, planID string, metrics []string, events int) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	put := func(name string, v any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = string(b)
	}
	for _, asOf := range []string{"", strconv.Itoa(events / 4), strconv.Itoa(events/2 + 3), strconv.Itoa(events - 5)} {
		plans, err := s.Plans(ctx, asOf)
		put("plans@"+asOf, plans, err)
		for _, m := range metrics {
			v, err := s.Variance(ctx, planID, view.VarianceQuery{Metric: m, AsOf: asOf})
			put("variance "+m+"@"+asOf, v, err)
			r, err := s.Rolling(ctx, planID, m, "", asOf)
			put("rolling "+m+"@"+asOf, r, err)
		}
	}
	h, err := s.History(ctx, planID, view.HistoryQuery{Limit: 50})
	put("history", h, err)
	return out
}

// TestSnapshotAnswersAsFold checks that a Service restored from a snapshot
// taken halfway through the log, then folding the rest, holds the same
// state (marks included) and gives the same answers — at the head and as
// of earlier positions, before and after the snapshot — as a Service that
// folded the whole log from its start, and as the Service that took the
// snapshot and went on folding.
func TestSnapshotAnswersAsFold(t *testing.T) {
	ctx := context.Background()
	l, err := company.Generate(company.Small(5))
	if err != nil {
		t.Fatal(err)
	}
	store, rest := snapshotCompany(t, l, len(l.Appends)/2)
	dir := view.SnapshotDir(t.TempDir())
	incremental := view.NewService(store, company.Registry())
	defer incremental.Close()
	if _, err := incremental.Live(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := incremental.SaveSnapshot(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Events == 0 || info.Events != incremental.Folded() {
		t.Fatalf("the snapshot folds %d events, the service %d", info.Events, incremental.Folded())
	}
	rest()

	restored := view.NewService(store, company.Registry())
	defer restored.Close()
	view.SetCheckpointEvery(restored, 64) // as-of reads before the snapshot need checkpoints it lacks
	got, err := restored.Restore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got != info {
		t.Fatalf("restored %+v, saved %+v", got, info)
	}
	// backfilled is restored too, then folds the log before its snapshot
	// in the background (Backfill), as serve does once it answers.
	backfilled := view.NewService(store, company.Registry())
	defer backfilled.Close()
	view.SetCheckpointEvery(backfilled, 64)
	if _, err := backfilled.Restore(ctx, dir); err != nil {
		t.Fatal(err)
	}
	fromZero := view.NewService(store, company.Registry())
	defer fromZero.Close()
	view.SetCheckpointEvery(fromZero, 64)
	for _, s := range []*view.Service{incremental, restored, backfilled, fromZero} {
		if _, err := s.Live(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// While a backfill runs, an as-of read before the snapshot waits for
	// it (until its context ends: ErrBusy); one after it does not.
	release := view.HoldBackfill(backfilled)
	ended, cancel := context.WithCancel(ctx)
	cancel()
	before, after := eventstore.Position{Commit: 3, Prepare: 3}, info.Position
	if err := view.AwaitBackfill(ended, backfilled, before); !errors.Is(err, view.ErrBusy) {
		t.Errorf("an as-of read before the snapshot during a backfill: %v, want ErrBusy", err)
	}
	if err := view.AwaitBackfill(ended, backfilled, after); err != nil {
		t.Errorf("an as-of read at the snapshot during a backfill: %v, want no wait", err)
	}
	if n, err := backfilled.Backfill(ctx); err != nil || n != 0 {
		t.Fatalf("Backfill beside a running one folded %d events (%v), want none", n, err)
	}
	release()
	if err := view.AwaitBackfill(ended, backfilled, before); err != nil {
		t.Errorf("an as-of read before the snapshot after the backfill ended: %v, want no wait", err)
	}
	if n, err := backfilled.Backfill(ctx); err != nil || n != info.Events {
		t.Fatalf("Backfill folded %d events (%v), want the snapshot's %d", n, err, info.Events)
	}
	if m, from := view.MissingCheckpoints(backfilled), view.PastLogFrom(backfilled); m != 0 || from != 0 {
		t.Fatalf("after Backfill: %d checkpoints missing, past log from event %d; want none, 0", m, from)
	}
	if n, err := backfilled.Backfill(ctx); err != nil || n != 0 {
		t.Fatalf("a second Backfill folded %d events (%v), want none", n, err)
	}
	if restored.Folded() != l.Count || restored.Events() != l.Count-info.Events {
		t.Fatalf("the restored service folds %d events, read %d; want %d, %d", restored.Folded(), restored.Events(), l.Count, l.Count-info.Events)
	}
	missing := view.MissingCheckpoints(restored)
	if missing == 0 {
		t.Fatal("the restored service has every checkpoint before its snapshot: the test exercises no fold through missing ones")
	}
	want := view.LiveEncoding(fromZero)
	if !bytes.Equal(view.LiveEncoding(restored), want) {
		t.Error("the state restored from the snapshot then folded differs from the state folded from the start")
	}
	if !bytes.Equal(view.LiveEncoding(incremental), want) {
		t.Error("the state folded incrementally differs from the state folded from the start")
	}
	wantAnswers := answers(t, fromZero, l.PlanID, l.Metrics, l.Count)
	for name, s := range map[string]*view.Service{"restored": restored, "backfilled": backfilled, "incremental": incremental} {
		for q, a := range answers(t, s, l.PlanID, l.Metrics, l.Count) {
			if a != wantAnswers[q] {
				t.Errorf("%s service: %s differs:\n got %.300s\nwant %.300s", name, q, a, wantAnswers[q])
			}
		}
	}
	if left := view.MissingCheckpoints(restored); left >= missing {
		t.Errorf("as-of reads before the snapshot left %d of its %d missing checkpoints missing, want them kept as they are folded", left, missing)
	}
	for _, at := range []time.Time{l.Appends[3].At, l.Appends[len(l.Appends)/3].At, l.Appends[len(l.Appends)-2].At} {
		p, err := restored.PositionAt(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		if q, _ := fromZero.PositionAt(ctx, at); p != q {
			t.Errorf("position at %v: restored %s, from the start %s", at, p, q)
		}
	}
}

// TestSnapshotRefused checks that a snapshot of another schema, of another
// log, or damaged is refused (ErrSnapshotRefused) and leaves the Service
// folding from the start, with the same state as one without a snapshot.
func TestSnapshotRefused(t *testing.T) {
	ctx := context.Background()
	l, err := company.Generate(company.Small(5))
	if err != nil {
		t.Fatal(err)
	}
	store, _ := snapshotCompany(t, l, len(l.Appends)/2)
	taker := view.NewService(store, company.Registry())
	defer taker.Close()
	if _, err := taker.Live(ctx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := taker.SaveSnapshot(ctx, view.SnapshotDir(dir)); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(dir, view.SnapshotName+".snapshot"))
	if err != nil {
		t.Fatal(err)
	}
	// Another log: another company, as long, so that an event is at the
	// snapshot's position.
	other, err := company.Generate(company.Small(6))
	if err != nil {
		t.Fatal(err)
	}
	otherStore, _ := snapshotCompany(t, other, len(other.Appends))
	if other.Count < taker.Folded() {
		t.Fatalf("the other log has %d events, fewer than the snapshot's %d", other.Count, taker.Folded())
	}
	schema := bytes.Replace(bytes.Clone(good), []byte(view.SnapshotSchema), []byte("0-0000000000000000"), 1)
	damaged := bytes.Clone(good)
	for i := len(damaged) / 2; i < len(damaged)/2+64; i++ {
		damaged[i] ^= 0x5a
	}
	cases := []struct {
		name  string
		store *sqlite.Store
		data  []byte
	}{
		{"another schema", store, schema},
		{"another log", otherStore, good},
		{"damaged", store, damaged},
		{"truncated", store, good[:len(good)/3]},
		{"no header", store, []byte{0xff, 0xff}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if bytes.Equal(c.data, good) == (c.name != "another log") {
				t.Fatal("the case does not change what it means to")
			}
			d := view.SnapshotDir(t.TempDir())
			if err := d.SaveSnapshot(ctx, view.SnapshotName, c.data); err != nil {
				t.Fatal(err)
			}
			s := view.NewService(c.store, company.Registry())
			defer s.Close()
			info, err := s.Restore(ctx, d)
			if !errors.Is(err, view.ErrSnapshotRefused) {
				t.Fatalf("Restore = %+v, %v; want ErrSnapshotRefused", info, err)
			}
			if s.Folded() != 0 {
				t.Fatalf("a refused snapshot left %d events folded", s.Folded())
			}
			if _, err := s.Live(ctx); err != nil {
				t.Fatal(err)
			}
			fresh := view.NewService(c.store, company.Registry())
			defer fresh.Close()
			if _, err := fresh.Live(ctx); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(view.LiveEncoding(s), view.LiveEncoding(fresh)) {
				t.Error("after a refused snapshot, the state differs from one folded without")
			}
		})
	}
}

// TestSnapshotNone checks that a store without a snapshot restores
// nothing, and that a dropped snapshot is gone.
func TestSnapshotNone(t *testing.T) {
	ctx := context.Background()
	l, err := company.Generate(company.Small(5))
	if err != nil {
		t.Fatal(err)
	}
	store, _ := snapshotCompany(t, l, 40)
	s := view.NewService(store, company.Registry())
	defer s.Close()
	if info, err := s.Restore(ctx, store); err != nil || info.Events != 0 {
		t.Fatalf("Restore from a store without snapshot = %+v, %v", info, err)
	}
	if _, err := s.Live(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveSnapshot(ctx, store); err != nil {
		t.Fatal(err)
	}
	r := view.NewService(store, company.Registry())
	defer r.Close()
	if info, err := r.Restore(ctx, store); err != nil || info.Events != s.Folded() {
		t.Fatalf("Restore from the store's own snapshot = %+v, %v; want %d events", info, err, s.Folded())
	}
	if err := store.DropSnapshot(ctx, view.SnapshotName); err != nil {
		t.Fatal(err)
	}
	if data, err := store.LoadSnapshot(ctx, view.SnapshotName); data != nil || err != nil {
		t.Fatalf("after DropSnapshot, LoadSnapshot = %d bytes, %v", len(data), err)
	}
}
