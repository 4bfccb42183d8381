package view

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/view/viewtest"
)

// TestEarlierStatesDoNotChange: building a live state from the previous
// one must leave the previous one as it was (requests may still be reading
// it). Every live state of a generated company is fingerprinted when built
// and again at the end, after every later state was built from it.
func TestEarlierStatesDoNotChange(t *testing.T) {
	ctx := context.Background()
	log, err := company.Generate(company.Small(11))
	if err != nil {
		t.Fatal(err)
	}
	clock := &viewtest.Clock{}
	store := viewtest.OpenStore(t, "", clock)
	svc := NewService(store, company.Registry())
	var states []*State
	var prints []string
	const sample = 5 // fingerprint every fifth state (each one reads the whole state)
	built := 0
	err = log.AppendTo(ctx, store, func(at time.Time) {
		clock.Set(at)
		st, err := svc.Live(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if built++; built%sample == 0 {
			states = append(states, st)
			prints = append(prints, fingerprint(st))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Live(ctx); err != nil {
		t.Fatal(err)
	}
	if len(states) < 50 {
		t.Fatalf("%d states fingerprinted, want one every %d appends of %d", len(states), sample, len(log.Appends))
	}
	for k, st := range states {
		if got := fingerprint(st); got != prints[k] {
			t.Fatalf("the state at %s changed after later states were built from it:\nthen %.300s\nnow  %.300s", st.Position, prints[k], got)
		}
	}
}

// fingerprint renders everything a state holds, in a fixed order.
func fingerprint(st *State) string {
	var out []any
	for _, id := range slices.Sorted(maps.Keys(st.plans)) {
		p := st.plans[id]
		out = append(out, id, p.Version(), p.Targets(), p.Tags(), p.Approvals(), p.Horizon())
	}
	for _, id := range slices.Sorted(maps.Keys(st.dims)) {
		d := st.dims[id]
		out = append(out, id, d.Name(), d.Members())
	}
	for _, id := range slices.Sorted(maps.Keys(st.books)) {
		out = append(out, id, st.books[id].Entries())
	}
	months := slices.SortedFunc(maps.Keys(st.actuals), func(a, b monthOf) int {
		if a.period != b.period {
			return int(a.period - b.period)
		}
		return strings.Compare(a.metric, b.metric)
	})
	for _, k := range months {
		cells := st.actuals[k]
		for _, c := range slices.Sorted(maps.Keys(cells)) {
			out = append(out, fmt.Sprint(k, c, cells[c]))
		}
	}
	out = append(out, slices.Sorted(maps.Keys(st.closed)), len(st.forecasts))
	versions := map[string]recorded{}
	for stream, vs := range st.versions {
		for _, v := range vs {
			versions[fmt.Sprint(stream, v.version)] = v.recorded
		}
	}
	out = append(out, versions)
	b, err := json.Marshal(out)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// hookStore calls during, once it is set, after one read of the log.
type hookStore struct {
	eventstore.Store
	during func()
}

func (h *hookStore) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	recs, err := h.Store.ReadAll(ctx, after, limit)
	if f := h.during; f != nil {
		h.during = nil
		f()
	}
	return recs, err
}

// TestLiveDoesNotShareAnEarlierRead: a call of Live that arrives while
// another call reads the store, after that read began, must read again: the
// write it follows may have completed after the read's snapshot.
func TestLiveDoesNotShareAnEarlierRead(t *testing.T) {
	ctx := context.Background()
	base, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "share.db"), sqlite.Options{Synchronous: "OFF"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { base.Close() })
	store := &hookStore{Store: base}
	svc := NewService(store, viewtest.Registry())
	if _, err := svc.Live(ctx); err != nil {
		t.Fatal(err)
	}
	type result struct {
		wrote, read eventstore.Position
		err         error
	}
	done := make(chan result, 1)
	store.during = func() {
		// The first call's read has its snapshot; now a write completes
		// and a second call arrives, to wait for the first.
		arrived := svc.arrivals.Load() + 1
		go func() {
			res, err := base.Append(ctx, "note-1", eventstore.NoStream,
				eventstore.EventData{ID: uuid.New(), Type: "test.Noted", SchemaVersion: 1, Data: []byte(`{}`)})
			if err != nil {
				done <- result{err: err}
				return
			}
			st, err := svc.Live(ctx)
			if err != nil {
				done <- result{err: err}
				return
			}
			done <- result{wrote: res.Position, read: st.Position}
		}()
		for svc.arrivals.Load() < arrived {
			runtime.Gosched()
		}
	}
	if _, err := svc.Live(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.read.Before(r.wrote) {
		t.Errorf("a call of Live made after a write at %s returned the state at %s", r.wrote, r.read)
	}
}
