package view_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/view"
	"github.com/concord-planning/concord/projections/view/viewtest"
)

// TestIncrementalStateMatchesFold: a Service that reads the log after every
// append of a generated company (so each live state is built from the
// previous one, sharing what did not change, with memoised analyses) answers
// exactly as a new Service that folds the whole log at once. The company
// restates actuals, revises and clears targets, changes its dimensions,
// commits, reallocates and publishes forecasts, so every kind of event is
// folded incrementally.
func TestIncrementalStateMatchesFold(t *testing.T) {
	ctx := context.Background()
	log, err := company.Generate(company.Small(7))
	if err != nil {
		t.Fatal(err)
	}
	clock := &viewtest.Clock{}
	store := viewtest.OpenStore(t, "", clock)
	reg := company.Registry()
	live := view.NewService(store, reg)

	const checkpoints = 6
	every := len(log.Appends)/checkpoints + 1
	n, compared := 0, 0
	err = log.AppendTo(ctx, store, func(at time.Time) {
		clock.Set(at)
		if _, err := live.Live(ctx); err != nil {
			t.Fatal(err)
		}
		if n++; n%every == 0 {
			compareAnswers(t, live, view.NewService(store, reg), log.PlanID, log.Metrics, "")
			compared++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	compareAnswers(t, live, view.NewService(store, reg), log.PlanID, log.Metrics, "")
	if compared < checkpoints-1 {
		t.Errorf("compared at %d points of %d appends, want at least %d", compared, len(log.Appends), checkpoints-1)
	}
}

// compareAnswers checks that got answers every query of plan exactly as
// want, as of asOf ("": live): the plan, the rolling plan of the total and
// of every member of every dimension, the variance table of every
// dimension crossed with another, the first page of the history and the
// reallocations.
func compareAnswers(t *testing.T, got, want *view.Service, planID string, metrics []string, asOf string) {
	t.Helper()
	ctx := context.Background()
	gs, err := got.Live(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := want.Live(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if gs.Position != ws.Position {
		t.Fatalf("incremental state at %s, fold at %s", gs.Position, ws.Position)
	}
	same := func(what string, answer func(*view.Service) (any, error)) {
		t.Helper()
		g, gerr := answer(got)
		w, werr := answer(want)
		if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
			t.Fatalf("at %s, %s: incremental error %v, fold error %v", gs.Position, what, gerr, werr)
		}
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		if string(gj) != string(wj) {
			t.Fatalf("at %s, %s:\nincremental %s\nfold        %s", gs.Position, what, gj, wj)
		}
	}
	same("plan", func(s *view.Service) (any, error) { return s.Plan(ctx, planID, asOf) })
	detail, err := want.Plan(ctx, planID, asOf)
	if err != nil {
		return // no plan yet; same checked that neither has one
	}
	same("history", func(s *view.Service) (any, error) {
		return s.History(ctx, planID, view.HistoryQuery{To: asOf, Limit: 100})
	})
	same("reallocations", func(s *view.Service) (any, error) { return s.Reallocations(ctx, planID, "", asOf) })
	for _, m := range metrics {
		same("rolling of the total", func(s *view.Service) (any, error) { return s.Rolling(ctx, planID, m, "", asOf) })
		for k, d := range detail.Dimensions {
			for _, mem := range d.Members[1:] {
				node := d.ID + "=" + mem.ID
				same("rolling of "+node, func(s *view.Service) (any, error) { return s.Rolling(ctx, planID, m, node, asOf) })
			}
			cross := detail.Dimensions[(k+1)%len(detail.Dimensions)].ID
			for _, y := range detail.Years {
				q := view.VarianceQuery{Metric: m, Year: itoa(y), AsOf: asOf, Dimension: d.ID, Cross: cross}
				same("variance by "+d.ID+" × "+cross, func(s *view.Service) (any, error) { return s.Variance(ctx, planID, q) })
			}
		}
	}
}

// TestAsOfFromCheckpointMatchesFold: a Service that keeps a checkpoint
// state every 97 events, and folds a past state from the nearest one,
// answers as of positions before, at and after checkpoints exactly as a
// Service whose past states are folded from the start of the log.
func TestAsOfFromCheckpointMatchesFold(t *testing.T) {
	ctx := context.Background()
	log, err := company.Generate(company.Small(7))
	if err != nil {
		t.Fatal(err)
	}
	clock := &viewtest.Clock{}
	store := viewtest.OpenStore(t, "", clock)
	reg := company.Registry()
	if err := log.AppendTo(ctx, store, clock.Set); err != nil {
		t.Fatal(err)
	}
	const every = 97
	checkpointed, fromZero := view.NewService(store, reg), view.NewService(store, reg)
	view.SetCheckpointEvery(checkpointed, every)
	if _, err := checkpointed.Live(ctx); err != nil {
		t.Fatal(err)
	}
	n := checkpointed.Events()
	d := view.CheckpointDistance(checkpointed) // every, doubled as they were thinned
	if got := view.Checkpoints(checkpointed); got != n/d || got < 8 || got > 16 {
		t.Fatalf("%d checkpoints %d events apart over %d events, want %d (8 to 16)", got, d, n, n/d)
	}
	// Positions are 1, 2, … in a fresh store: the k-th event is at k.
	for _, k := range []int{every - 1, every, every + 1, 3*every + 40, n / 2, 7*every - 1, 7 * every, n - 5} {
		compareAnswers(t, checkpointed, fromZero, log.PlanID, log.Metrics, itoa(k))
	}
}

func itoa(y int) string { b, _ := json.Marshal(y); return string(b) }

// TestReadYourWrites: however concurrent calls of Live share reads of the
// store, a call made after a write completed sees it. Writers append to
// their own streams (events of a type the query side does not know, which
// still move the log) and then read; run it with -race.
func TestReadYourWrites(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ryw.db"), sqlite.Options{Synchronous: "OFF"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc := view.NewService(store, viewtest.Registry())
	const writers, writes = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*writes)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range writes {
				res, err := store.Append(ctx, fmt.Sprintf("note-%d", w), eventstore.Exact(uint64(i)),
					eventstore.EventData{ID: uuid.New(), Type: "test.Noted", SchemaVersion: 1, Data: []byte(`{}`)})
				if err != nil {
					errs <- err
					return
				}
				st, err := svc.Live(ctx)
				if err != nil {
					errs <- err
					return
				}
				if st.Position.Before(res.Position) {
					errs <- fmt.Errorf("writer %d, write %d at %s: Live returned the state at %s", w, i, res.Position, st.Position)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
