package view

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/view/viewtest"
)

// TestMemoOutlivesItsCaller: a caller whose context ends gets ErrBusy
// (wrapping its context's error) while the computation goes on; the next
// caller takes its result, and it ran once.
func TestMemoOutlivesItsCaller(t *testing.T) {
	work := newPool(1)
	release := make(chan struct{})
	runs := 0
	fn := func() (int, error) { runs++; <-release; return 42, nil }
	var m memo[int]
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.get(ctx, work, fn); !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
		t.Fatalf("get(cancelled) = %v, want ErrBusy wrapping context.Canceled", err)
	}
	close(release)
	v, err := m.get(context.Background(), work, fn)
	if v != 42 || err != nil || runs != 1 {
		t.Fatalf("get after the computation = %d, %v (%d runs), want 42, nil (1 run)", v, err, runs)
	}
}

// TestMemoWorkIsBounded: a computation waits for a free slot of work, so no
// more run at once than it has slots.
func TestMemoWorkIsBounded(t *testing.T) {
	work := newPool(1)
	release := make(chan struct{})
	started := make(chan int, 2)
	var first, second memo[int]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go first.get(ctx, work, func() (int, error) { started <- 1; <-release; return 1, nil })
	if got := <-started; got != 1 {
		t.Fatalf("started %d, want 1", got)
	}
	waiting, stop := context.WithCancel(context.Background())
	stop() // the caller gives up at once: the second computation stays queued
	if _, err := second.get(waiting, work, func() (int, error) { started <- 2; return 2, nil }); !errors.Is(err, ErrBusy) {
		t.Fatalf("second get = %v, want ErrBusy", err)
	}
	select {
	case n := <-started:
		t.Fatalf("computation %d started while the only slot was taken", n)
	default:
	}
	close(release)
	if v, err := second.get(context.Background(), work, nil); v != 2 || err != nil {
		t.Fatalf("second get after the slot was freed = %d, %v, want 2, nil", v, err)
	}
}

// TestMemoPanicIsAnError: a panicking computation answers an error instead
// of taking the process down.
func TestMemoPanicIsAnError(t *testing.T) {
	var m memo[int]
	if _, err := m.get(context.Background(), newPool(1), func() (int, error) { panic("boom") }); err == nil {
		t.Fatal("get of a panicking computation = nil error, want one")
	}
}

// TestAsOfDoesNotBlockLive: while a past state is being folded (here:
// queued behind a full set of the slots of past folds), live reads,
// including reads of new writes and their analyses, go on; the as-of
// caller gets its state once a slot is free.
func TestAsOfDoesNotBlockLive(t *testing.T) {
	ctx := context.Background()
	log, store, clock := generated(t, 3)
	svc := NewService(store, company.Registry())
	live, err := svc.Live(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := cap(svc.work.past.slots); n != max(1, cap(svc.work.slots)/2) {
		t.Fatalf("past folds have %d slots of %d, want half, at least one", n, cap(svc.work.slots))
	}
	for range cap(svc.work.past.slots) {
		svc.work.past.slots <- struct{}{} // every slot of past folds busy
	}
	past := eventstore.Position{Commit: live.Position.Commit / 2, Prepare: live.Position.Commit / 2}
	type answer struct {
		st  *State
		err error
	}
	asOf := make(chan answer, 1)
	go func() {
		st, err := svc.At(ctx, past)
		asOf <- answer{st, err}
	}()
	last := log.Appends[len(log.Appends)-1]
	clock.Set(last.At.Add(time.Hour))
	if _, err := store.Append(ctx, "probe-1", eventstore.NoStream, eventstore.EventData{ID: uuid.MustParse("0195f0a8-0000-7000-8000-000000000001"), Type: "probe", SchemaVersion: 1, Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	after, err := svc.Live(ctx)
	if err != nil || !live.Position.Before(after.Position) {
		t.Fatalf("Live while an as-of fold waits = %v, %v, want a state after %s", after, err, live.Position)
	}
	p, ok := after.Plan(log.PlanID)
	if !ok {
		t.Fatalf("plan %s not in the live state", log.PlanID)
	}
	if _, err := after.analysis(ctx, p, p.Metrics()[0], p.Horizon()); err != nil {
		t.Fatalf("analysis of the live state while an as-of fold waits = %v", err)
	}
	select {
	case a := <-asOf:
		t.Fatalf("At(%s) answered (%v, %v) while no slot was free", past, a.st, a.err)
	default:
	}
	for range cap(svc.work.past.slots) {
		<-svc.work.past.slots
	}
	a := <-asOf
	if a.err != nil || a.st.Position != past {
		t.Fatalf("At(%s) once slots are free = %v, %v, want the state at %s", past, a.st, a.err, past)
	}
}

// TestPositionAtOutOfOrderTimes: the position of a time is the end of the
// longest prefix of the log recorded at or before it, as a scan from the
// start finds it, also where recorded times go back.
func TestPositionAtOutOfOrderTimes(t *testing.T) {
	ctx := context.Background()
	clock := &viewtest.Clock{}
	store := viewtest.OpenStore(t, "", clock)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hours := []int{0, 3, 1, 2, 5, 4, 6} // recorded times, in log order
	for k, h := range hours {
		clock.Set(base.Add(time.Duration(h) * time.Hour))
		id := eventstore.EventData{ID: uuid.MustParse(fmt.Sprintf("0195f0a8-0000-7000-8000-%012d", k+1)), Type: "probe", SchemaVersion: 1, Data: []byte(`{}`)}
		if _, err := store.Append(ctx, "probe-1", eventstore.Any, id); err != nil {
			t.Fatal(err)
		}
	}
	svc := NewService(store, company.Registry())
	recs, err := store.ReadAll(ctx, eventstore.Start, 100)
	if err != nil {
		t.Fatal(err)
	}
	for q := -1; q <= 13; q++ {
		at := base.Add(time.Duration(q) * 30 * time.Minute)
		want := eventstore.Start
		for _, r := range recs { // the reference: a scan from the start
			if r.RecordedAt.After(at) {
				break
			}
			want = r.Position
		}
		got, err := svc.PositionAt(ctx, at)
		if err != nil || got != want {
			t.Errorf("PositionAt(%s) = %s, %v, want %s", at.Format(time.Kitchen), got, err, want)
		}
	}
}

// TestLiveCutShortIsBusy: a read of the log cut short by the caller's
// context is ErrBusy (503, retry), not a store failure; what was read is
// kept and the next call completes it.
func TestLiveCutShortIsBusy(t *testing.T) {
	ctx := context.Background()
	log, store, _ := generated(t, 5)
	svc := NewService(store, company.Registry())
	cut, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := svc.Live(cut); !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Live(cancelled) = %v, want ErrBusy wrapping context.Canceled", err)
	}
	st, err := svc.Live(ctx)
	if want := log.Events[len(log.Events)-1].Position; err != nil || st.Position != want {
		t.Fatalf("Live after a cut read = %v, %v, want the state at %s", st, err, want)
	}
}

// livePlan returns a Service over a small generated company (seed,
// generated), its live state and the company's plan in it.
func livePlan(t *testing.T, seed uint64) (*Service, *State, *plan.Plan) {
	t.Helper()
	log, store, _ := generated(t, seed)
	svc := NewService(store, company.Registry())
	st, err := svc.Live(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p, ok := st.Plan(log.PlanID)
	if !ok {
		t.Fatalf("plan %s not in the state", log.PlanID)
	}
	return svc, st, p
}

// generated writes a small generated company (seed) to a new store.
func generated(t *testing.T, seed uint64) (*company.Log, *sqlite.Store, *viewtest.Clock) {
	t.Helper()
	log, err := company.Generate(company.Small(seed))
	if err != nil {
		t.Fatal(err)
	}
	clock := &viewtest.Clock{}
	store := viewtest.OpenStore(t, "", clock)
	if err := log.AppendTo(context.Background(), store, clock.Set); err != nil {
		t.Fatal(err)
	}
	return log, store, clock
}

// TestCloseStopsWork: once the Service is closed, a computation waiting
// for a slot never starts and answers ErrClosed, and the check long
// computations call between their steps fails.
func TestCloseStopsWork(t *testing.T) {
	work := newPool(1)
	work.slots <- struct{}{} // the only slot busy
	started := false
	var m memo[int]
	wait, stop := context.WithCancel(context.Background())
	stop()
	if _, err := m.get(wait, work, func() (int, error) { started = true; return 1, nil }); !errors.Is(err, ErrBusy) {
		t.Fatalf("get with the only slot busy = %v, want ErrBusy", err)
	}
	if err := work.check(); err != nil {
		t.Fatalf("check before close = %v, want nil", err)
	}
	work.close()
	work.close() // twice is fine
	if _, err := m.get(context.Background(), work, nil); !errors.Is(err, ErrClosed) || started {
		t.Fatalf("get after close = %v (started %v), want ErrClosed, never started", err, started)
	}
	if err := work.check(); !errors.Is(err, ErrClosed) {
		t.Fatalf("check after close = %v, want ErrClosed", err)
	}
}

// TestClosedServiceAnalysesNothing: an analysis asked for after Close is
// ErrClosed, not computed.
func TestClosedServiceAnalysesNothing(t *testing.T) {
	ctx := context.Background()
	svc, st, p := livePlan(t, 7)
	svc.Close()
	metric, err := metricOf(p, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.analysis(ctx, p, metric, p.Horizon()); !errors.Is(err, ErrClosed) {
		t.Fatalf("analysis after Close = %v, want ErrClosed", err)
	}
}

// TestQuiet: background work waits while a computation callers wait for
// runs — until it ends, at most the bound — and not at all when none runs;
// a computation running through a memo counts, of the past's slots too.
func TestQuiet(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	work := newPool(2)
	if err := work.running.quiet(canceled, time.Hour); err != nil {
		t.Errorf("quiet with nothing running = %v, want nil at once", err)
	}
	work.running.begin()
	if err := work.running.quiet(canceled, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("quiet while a computation runs, its context ended = %v, want context.Canceled", err)
	}
	if err := work.running.quiet(context.Background(), time.Nanosecond); err != nil {
		t.Errorf("quiet bounded by 1ns while a computation runs = %v, want nil after the bound", err)
	}
	done := make(chan error)
	go func() { done <- work.running.quiet(context.Background(), time.Hour) }()
	work.running.end()
	if err := <-done; err != nil {
		t.Errorf("quiet until the computation ended = %v, want nil", err)
	}
	// A memo's computation, on the past's slots, counts while it runs.
	started, release := make(chan struct{}), make(chan struct{})
	var m memo[int]
	go m.get(context.Background(), work.past, func() (int, error) { close(started); <-release; return 1, nil })
	<-started
	if err := work.running.quiet(canceled, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("quiet while a past fold runs = %v, want it to wait (context.Canceled)", err)
	}
	close(release)
	if v, err := m.get(context.Background(), work.past, nil); v != 1 || err != nil {
		t.Fatalf("memo = %d, %v", v, err)
	}
	if err := work.running.quiet(canceled, time.Hour); err != nil {
		t.Errorf("quiet after the past fold ended = %v, want nil", err)
	}
}
