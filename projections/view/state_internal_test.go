package view

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/plan"
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

// TestIncrementalStateEqualsFromZero: a Service that reads the log after
// every append of a generated company, keeping a checkpoint every 37
// events (so its states copy the aggregates they share with earlier ones
// many times over), holds at the end exactly the aggregates, actuals,
// versions and forecasts of a state folded from the start of the log in
// one go; and its past states, folded from the nearest checkpoint with the
// events after it kept in memory (pastLog), equal the same positions
// folded from zero out of the store.
func TestIncrementalStateEqualsFromZero(t *testing.T) {
	ctx := context.Background()
	log, err := company.Generate(company.Small(5))
	if err != nil {
		t.Fatal(err)
	}
	clock := &viewtest.Clock{}
	store := viewtest.OpenStore(t, "", clock)
	svc := NewService(store, company.Registry())
	svc.every = 37
	err = log.AppendTo(ctx, store, func(at time.Time) {
		clock.Set(at)
		if _, err := svc.Live(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	live, err := svc.Live(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := svc.Events()
	if len(svc.checkpoints) != n/svc.every || len(svc.checkpoints) > maxCheckpoints || n < 10*37 {
		t.Fatalf("%d checkpoints %d events apart over %d events, want %d, at most %d (and at least 370 events)", len(svc.checkpoints), svc.every, n, n/svc.every, maxCheckpoints)
	}
	zero, err := svc.foldFrom(ctx, nil, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameState(t, live, zero)
	// The past states below are folded from the events kept in memory
	// (foldLogged): every event is there, most of them kept whole.
	kinds := map[pastKind]int{}
	logged := svc.logged.tables()
	for i := range logged.n {
		kinds[logged.event(i).kind]++
	}
	if logged.from != 0 || logged.n != n || kinds[pastTargetSet] == 0 || kinds[pastActual] == 0 || kinds[pastVintage] == 0 || kinds[pastStored] >= n/10 {
		t.Fatalf("the past log holds events %d to %d of %d, by kind %v: want all, mostly targets and actuals, and runs published", logged.from+1, logged.from+logged.n, n, kinds)
	}
	ks := []int{1, 36, 37, 38, 5*37 + 11, n / 2, n - 1}
	for _, v := range live.forecasts[:min(3, len(live.forecasts))] {
		// Past states at a run's publication and just after it, folded
		// from a checkpoint before it (pastVintage).
		if k := int(v.position.Commit); k%37 != 0 {
			ks = append(ks, k, k+1)
		}
	}
	for _, k := range ks {
		past, err := svc.At(ctx, eventstore.Position{Commit: uint64(k), Prepare: uint64(k)})
		if err != nil {
			t.Fatal(err)
		}
		zero, err := svc.foldFrom(ctx, nil, k, nil)
		if err != nil {
			t.Fatal(err)
		}
		if past.Position != zero.Position {
			t.Fatalf("as of event %d: state at %s, from zero at %s", k, past.Position, zero.Position)
		}
		sameState(t, past, zero)
	}
}

// sameState fails t unless got and want hold equal aggregates (deeply,
// unexported state included), actuals, closed periods, pending runs,
// plan versions and forecasts.
func sameState(t *testing.T, got, want *State) {
	t.Helper()
	same := func(what string, g, w any) {
		t.Helper()
		if reflect.DeepEqual(g, w) {
			return
		}
		// Name the entries that differ (the values may be pointers).
		gv, wv := reflect.ValueOf(g), reflect.ValueOf(w)
		if gv.Kind() == reflect.Map {
			var keys []string
			for _, k := range append(gv.MapKeys(), wv.MapKeys()...) {
				a, b := gv.MapIndex(k), wv.MapIndex(k)
				if !a.IsValid() || !b.IsValid() || !reflect.DeepEqual(a.Interface(), b.Interface()) {
					keys = append(keys, fmt.Sprint(k.Interface()))
				}
			}
			t.Fatalf("at %s, %s differ at %v", want.Position, what, keys)
		}
		t.Fatalf("at %s, %s differ:\ngot  %.400v\nwant %.400v", want.Position, what, g, w)
	}
	// A plan's snapshot holds all of it (plan.TestSnapshot restores it
	// deeply equal), without how its target table shares shards with the
	// copies of it at checkpoints.
	snapshots := func(plans map[string]*plan.Plan) map[string]plan.Snapshot {
		out := make(map[string]plan.Snapshot, len(plans))
		for id, p := range plans {
			out[id] = p.Snapshot()
		}
		return out
	}
	same("plans", snapshots(got.plans), snapshots(want.plans))
	same("dimensions", got.dims, want.dims)
	same("books", got.books, want.books)
	same("actuals", got.actuals, want.actuals)
	same("closed periods", got.closed, want.closed)
	same("pending runs", got.pending, want.pending)
	flat := func(v versions) map[string][]versioned {
		out := map[string][]versioned{}
		for k, vs := range v {
			out[k] = slices.Clone(vs)
		}
		return out
	}
	same("versions", flat(got.versions), flat(want.versions))
	type published struct {
		at  recorded
		run string
		n   int
	}
	runs := func(st *State) []published {
		var out []published
		for _, v := range st.forecasts {
			out = append(out, published{recorded{v.position, v.time}, v.RunID, len(v.Series)})
		}
		return out
	}
	same("forecasts", runs(got), runs(want))
}

// TestBackwardReadsTheLogNewestFirst: the audit history's reader gives
// every event at or before a position, newest first, across pages of the
// store, exactly as the log read forward.
func TestBackwardReadsTheLogNewestFirst(t *testing.T) {
	ctx := context.Background()
	log, err := company.Generate(company.Small(5))
	if err != nil {
		t.Fatal(err)
	}
	clock := &viewtest.Clock{}
	store := viewtest.OpenStore(t, "", clock)
	if err := log.AppendTo(ctx, store, clock.Set); err != nil {
		t.Fatal(err)
	}
	svc := NewService(store, company.Registry())
	if _, err := svc.Live(ctx); err != nil {
		t.Fatal(err)
	}
	n := svc.Events()
	if n <= 2*readPage {
		t.Fatalf("%d events, want more than two pages of %d", n, readPage)
	}
	var forward []eventstore.Position
	for after := eventstore.Start; ; {
		batch, err := store.ReadAll(ctx, after, readPage)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		for _, r := range batch {
			forward = append(forward, r.Position)
		}
		after = batch[len(batch)-1].Position
	}
	all := func(eventstore.RecordedEvent) bool { return true }
	for _, upTo := range []int{n, n - 1, readPage, readPage + 1, 2*readPage + 7, 1} {
		// from: the start of the log, the event at upTo itself, and one
		// some pages before it.
		for _, from := range []int{0, upTo, max(1, upTo-3*readPage-5)} {
			fromPos := eventstore.Start
			if from > 0 {
				fromPos = forward[from-1]
			}
			var got []eventstore.Position
			var rerr error
			for e := range svc.backward(ctx, fromPos, forward[upTo-1], all, &rerr) {
				got = append(got, e.rec.Position)
			}
			if rerr != nil {
				t.Fatal(rerr)
			}
			want := slices.Clone(forward[max(0, from-1):upTo])
			slices.Reverse(want)
			if !slices.Equal(got, want) {
				t.Fatalf("from event %d up to event %d: read %d events back (first %v), want %d (first %v)", from, upTo,
					len(got), got[:min(3, len(got))], len(want), want[:min(3, len(want))])
			}
		}
	}
}

// TestLastChangesReadOnlyWhatDiffers: the last changes Diff reads between
// two states — only the plan stream's events after the earlier state's
// version, or all of them up to the later one's when from is later —
// name, for every target that differs, the same change as a read of the
// whole stream.
func TestLastChangesReadOnlyWhatDiffers(t *testing.T) {
	ctx := context.Background()
	log, err := company.Generate(company.Small(5))
	if err != nil {
		t.Fatal(err)
	}
	clock := &viewtest.Clock{}
	store := viewtest.OpenStore(t, "", clock)
	if err := log.AppendTo(ctx, store, clock.Set); err != nil {
		t.Fatal(err)
	}
	svc := NewService(store, company.Registry())
	if _, err := svc.Live(ctx); err != nil {
		t.Fatal(err)
	}
	n := svc.Events()
	at := func(k int) *State {
		st, err := svc.At(ctx, eventstore.Position{Commit: uint64(k), Prepare: uint64(k)})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	targets := func(st *State) map[targetKey]string {
		out := map[targetKey]string{}
		if p, ok := st.Plan(log.PlanID); ok {
			for _, tg := range p.Targets() {
				out[targetKey{tg.Node, tg.Metric, tg.Span}] = tg.Amount.String()
			}
		}
		return out
	}
	checked := 0
	for _, pair := range [][2]int{{n / 4, n / 2}, {n / 2, n - 1}, {n / 2, n / 2}, {n - 1, n / 3}} {
		a, b := at(pair[0]), at(pair[1])
		got, err := svc.lastChanges(ctx, log.PlanID, a, b)
		if err != nil {
			t.Fatal(err)
		}
		all, err := svc.lastChanges(ctx, log.PlanID, &State{}, b)
		if err != nil {
			t.Fatal(err)
		}
		ta, tb := targets(a), targets(b)
		for _, m := range []map[targetKey]string{ta, tb} {
			for k := range m {
				if ta[k] == tb[k] {
					continue
				}
				checked++
				if got[k] != all[k] {
					t.Fatalf("events %d → %d, target %v: last change %+v, want %+v", pair[0], pair[1], k, got[k], all[k])
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("%d differing targets checked, want at least 10", checked)
	}
}

// TestUnfoldedTypesChangeNothing: the fold does not decode events of the
// types folded reports false for (decode gives their zero value), so
// applying one, whatever its content, must change nothing but the state's
// position and time.
func TestUnfoldedTypesChangeNothing(t *testing.T) {
	registry := company.Registry()
	skipped := 0
	for _, ty := range registry.Types() {
		zero := reflect.New(ty.Type).Elem().Interface()
		if folded(zero) {
			continue
		}
		skipped++
		st := next(nil)
		at := eventstore.Position{Commit: 7, Prepare: 7}
		rec := eventstore.RecordedEvent{Type: ty.Name, Stream: "some-1", Version: 1, Position: at, RecordedAt: time.Unix(7, 0).UTC()}
		noParts := func(string, uint64) ([]forecast.Event, error) {
			t.Fatalf("%s: apply asked for a run's parts", ty.Name)
			return nil, nil
		}
		if err := st.apply(entry{rec: rec, event: zero}, noParts); err != nil {
			t.Fatalf("%s: %v", ty.Name, err)
		}
		want := next(nil)
		want.Position, want.Time = rec.Position, rec.RecordedAt
		if !reflect.DeepEqual(st, want) {
			t.Errorf("applying a %s changed the state", ty.Name)
		}
	}
	if skipped == 0 {
		t.Error("no registered type is left undecoded by the fold")
	}
}

// TestUnixNanosClamps checks the marks' time: nanoseconds where an int64
// holds them, the ends of int64 before and after.
func TestUnixNanosClamps(t *testing.T) {
	now := time.Date(2026, 12, 6, 5, 18, 0, 0, time.UTC)
	for _, c := range []struct {
		t    time.Time
		want int64
	}{
		{now, now.UnixNano()},
		{time.Time{}, math.MinInt64},
		{time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), math.MinInt64},
		{time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxInt64},
	} {
		if got := unixNanos(c.t); got != c.want {
			t.Errorf("unixNanos(%v) = %d, want %d", c.t, got, c.want)
		}
	}
}

// TestLayoutsShareByMembers: dimension aggregates of their own (a past
// state's) with the same members share a layout; a member retired makes
// another.
func TestLayoutsShareByMembers(t *testing.T) {
	build := func(retire bool) *dimension.Dimension {
		t.Helper()
		d, err := dimension.Define("region", "Region", "world", "World")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []string{"emea", "amer"} {
			if err := d.Add(m, m, "world"); err != nil {
				t.Fatal(err)
			}
		}
		if retire {
			if err := d.Retire("amer"); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	var c layouts
	ids := []string{"region"}
	built := 0
	of := func(d *dimension.Dimension) *layout {
		t.Helper()
		dims := []*dimension.Dimension{d}
		l, err := c.of(ids, dims, func() (*layout, error) { built++; return newLayout(ids, dims) })
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	a, b, r := of(build(false)), of(build(false)), of(build(true))
	if a != b || built != 2 {
		t.Errorf("two aggregates of the same members: same layout %v, layouts built %d; want the same, 2 built in all", a == b, built)
	}
	if r == a || len(r.cells) != 1 || len(a.cells) != 2 {
		t.Errorf("a member retired: %d cells (same layout %v), want 1 in a layout of its own (the other has %d)", len(r.cells), r == a, len(a.cells))
	}
}
