package company_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/projections"
	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/vintage"
)

// TestReplayReadModelsEqualsSequential replays a small company through
// ReplayReadModels (pages of 97 events, 3 decode workers, so pages finish
// decoding out of order) and checks the models answer exactly like
// models fed one event at a time, and that progress was reported.
func TestReplayReadModelsEqualsSequential(t *testing.T) {
	l, err := company.Generate(company.Small(4))
	if err != nil {
		t.Fatal(err)
	}
	var calls int
	var last projections.Progress
	rm, prog, err := projections.ReplayReadModels(context.Background(), sliceLog(l.Events), projections.ReplayConfig{
		Registry: company.Registry(), PageSize: 97, Workers: 3,
		Progress: func(p projections.Progress) {
			if p.Done < last.Done {
				t.Errorf("progress went back from %d to %d", last.Done, p.Done)
			}
			calls, last = calls+1, p
		}})
	if err != nil {
		t.Fatal(err)
	}
	n := len(l.Events)
	if prog.Done != uint64(n) || prog.Position != l.Events[n-1].Position || calls != (n+96)/97 || last.Done != uint64(n) {
		t.Errorf("ReplayReadModels progress %+v after %d calls (last %+v), want %d events in %d pages", prog, calls, last, n, (n+96)/97)
	}
	got := &models{rolling: rm.Rolling(), history: rm.History(), catalog: rm.Catalog()}
	want := rebuild(t, decode(t, l), n)
	mid := l.Events[n/2].Position
	diffDumps(t, "replay vs sequential", dump(t, got, l, vintage.Latest, mid), dump(t, want, l, vintage.Latest, mid))
	if rm.Position() != l.Events[n-1].Position {
		t.Errorf("ReadModels.Position() = %v, want %v", rm.Position(), l.Events[n-1].Position)
	}
}

// TestReplayReadModelsStopsOnUndecodable: an event whose type the
// registry lacks stops the replay before it; nothing after it is applied.
func TestReplayReadModelsStopsOnUndecodable(t *testing.T) {
	l, err := company.Generate(company.Small(5))
	if err != nil {
		t.Fatal(err)
	}
	events := append([]eventstore.RecordedEvent(nil), l.Events...)
	bad := 300
	events[bad].Type = "nobody.Knows"
	rm, prog, err := projections.ReplayReadModels(context.Background(), sliceLog(events), projections.ReplayConfig{Registry: company.Registry(), PageSize: 64})
	if !errors.Is(err, projections.ErrReplay) || !errors.Is(err, eventstore.ErrUnknownType) {
		t.Fatalf("ReplayReadModels error = %v, want ErrReplay and ErrUnknownType", err)
	}
	if prog.Position.Commit >= events[bad].Position.Commit || rm.Position() != prog.Position {
		t.Errorf("stopped at %v (models at %v), want before %v", prog.Position, rm.Position(), events[bad].Position)
	}
}

// TestRunnerWithReadModels runs the business read models on a Runner over
// a store: they catch up by replay, then follow appends.
func TestRunnerWithReadModels(t *testing.T) {
	l, err := company.Generate(company.Small(6))
	if err != nil {
		t.Fatal(err)
	}
	half := len(l.Appends) / 2
	var now time.Time
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"), sqlite.Options{Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	appendAll := func(as []company.Append) {
		for _, a := range as {
			now = a.At
			if _, err := store.Append(context.Background(), a.Stream, eventstore.Exact(a.Expected), a.Events...); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendAll(l.Appends[:half])
	r, err := projections.NewRunner(store, projections.RunnerConfig{Registry: company.Registry(), CatchUp: projections.ReplayConfig{PageSize: 50}})
	if err != nil {
		t.Fatal(err)
	}
	rm, err := projections.RegisterReadModels(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := projections.RegisterReadModels(r); !errors.Is(err, projections.ErrDuplicateConsumer) {
		t.Errorf("RegisterReadModels twice = %v, want ErrDuplicateConsumer", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()
	wctx, wcancel := context.WithTimeout(context.Background(), time.Minute)
	defer wcancel()
	if err := r.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	appendAll(l.Appends[half:])
	if err := rm.WaitFor(wctx, l.Events[len(l.Events)-1].Position); err != nil {
		t.Fatal(err)
	}
	got := &models{rolling: rm.Rolling(), history: rm.History(), catalog: rm.Catalog()}
	want := rebuild(t, decode(t, l), len(l.Events))
	mid := l.Events[len(l.Events)/2].Position
	diffDumps(t, "runner vs sequential", dump(t, got, l, vintage.Latest, mid), dump(t, want, l, vintage.Latest, mid))
	if err := r.Rebuild(wctx, projections.HistoryModel); err != nil {
		t.Fatal(err)
	}
	got.history = rm.History()
	diffDumps(t, "rebuilt history vs sequential", dump(t, got, l, vintage.Latest, mid), dump(t, want, l, vintage.Latest, mid))
}
