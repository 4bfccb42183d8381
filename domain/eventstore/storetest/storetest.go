package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/google/uuid"
)

// Factory returns a new, empty store for one test. The suite closes nothing:
// the factory registers cleanup with t.Cleanup.
type Factory func(t *testing.T) eventstore.Store

// Features says what an adapter supports beyond the port.
type Features struct {
	// Reopen, when set, closes s and opens the same storage again: the
	// restart-survival test runs only for adapters that provide it.
	Reopen func(t *testing.T, s eventstore.Store) eventstore.Store
	// Racers is the number of goroutines racing on one expected version
	// (default 16).
	Racers int
	// Wait bounds how long the suite waits for a live event (default 10s).
	Wait time.Duration
	// Importer says the adapter implements eventstore.Importer: the import
	// tests run only for adapters that set it, and fail if the store is
	// no Importer.
	Importer bool
}

// Run runs the whole contract against stores made by newStore.
func Run(t *testing.T, newStore Factory, f Features) {
	if f.Racers == 0 {
		f.Racers = 16
	}
	if f.Wait == 0 {
		f.Wait = 10 * time.Second
	}
	tests := []struct {
		name string
		run  func(*testing.T, Factory, Features)
	}{
		{"AppendAndReadStream", testAppendAndReadStream},
		{"ExpectedVersions", testExpectedVersions},
		{"InvalidAppends", testInvalidAppends},
		{"GlobalOrder", testGlobalOrder},
		{"ReadAllFromPosition", testReadAllFromPosition},
		{"ConcurrentAppendOneWins", testConcurrentAppendOneWins},
		{"IdempotentRetry", testIdempotentRetry},
		{"DuplicateEventElsewhere", testDuplicateEventElsewhere},
		{"HashChain", testHashChain},
		{"SubscribeCatchUpThenLive", testSubscribeCatchUpThenLive},
		{"SubscribeClose", testSubscribeClose},
		{"RestartSurvival", testRestartSurvival},
		{"Import", testImport},
		{"ImportRefusals", testImportRefusals},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore, f) })
	}
}

// Event returns an event with a fresh ID, for tests.
func Event(typ, data string) eventstore.EventData {
	return eventstore.EventData{
		ID: uuid.New(), Type: typ, SchemaVersion: 1, Data: []byte(data),
		Metadata: eventstore.Metadata{Actor: "tester", CorrelationID: "corr-1", CausationID: "cause-1"},
	}
}

func events(n int, typ string) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = Event(typ, fmt.Sprintf(`{"n":%d}`, i))
	}
	return out
}

func mustAppend(t *testing.T, s eventstore.Store, stream string, exp eventstore.ExpectedVersion, evs ...eventstore.EventData) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), stream, exp, evs...)
	if err != nil {
		t.Fatalf("Append(%q, %v, %d events) error %v", stream, exp, len(evs), err)
	}
	return res
}

func readStream(t *testing.T, s eventstore.Store, stream string) []eventstore.RecordedEvent {
	t.Helper()
	got, err := s.ReadStream(context.Background(), stream, 1, 1<<20)
	if err != nil {
		t.Fatalf("ReadStream(%q) error %v", stream, err)
	}
	return got
}

func readAll(t *testing.T, s eventstore.Store, after eventstore.Position) []eventstore.RecordedEvent {
	t.Helper()
	var out []eventstore.RecordedEvent
	for {
		batch, err := s.ReadAll(context.Background(), after, 100)
		if err != nil {
			t.Fatalf("ReadAll(%v) error %v", after, err)
		}
		if len(batch) == 0 {
			return out
		}
		out = append(out, batch...)
		after = batch[len(batch)-1].Position
	}
}

// uniqueStream returns a stream name no other test uses, so the suite also
// works against a shared real server.
func uniqueStream(prefix string) string { return prefix + "-" + uuid.NewString()[:8] }

// ownEvents keeps the events of the given streams, so suites can run against
// a store that other tests also write to.
func ownEvents(all []eventstore.RecordedEvent, streams ...string) []eventstore.RecordedEvent {
	keep := map[string]bool{}
	for _, s := range streams {
		keep[s] = true
	}
	var out []eventstore.RecordedEvent
	for _, e := range all {
		if keep[e.Stream] {
			out = append(out, e)
		}
	}
	return out
}

func sameEvent(t *testing.T, got eventstore.RecordedEvent, want eventstore.EventData, stream string, version uint64) {
	t.Helper()
	if got.ID != want.ID || got.Type != want.Type || got.SchemaVersion != want.SchemaVersion ||
		string(got.Data) != string(want.Data) || got.Metadata != want.Metadata ||
		got.Stream != stream || got.Version != version {
		t.Errorf("stored event = {%s %s v%d %s %q %+v @%d}, want {%s %s v%d %s %q %+v @%d}",
			got.ID, got.Type, got.SchemaVersion, got.Stream, got.Data, got.Metadata, got.Version,
			want.ID, want.Type, want.SchemaVersion, stream, want.Data, want.Metadata, version)
	}
	if got.RecordedAt.IsZero() {
		t.Errorf("event %s has no recorded time", got.ID)
	}
}

func testAppendAndReadStream(t *testing.T, newStore Factory, _ Features) {
	s := newStore(t)
	stream := uniqueStream("plan")
	first := events(3, "test.Happened")
	res := mustAppend(t, s, stream, eventstore.NoStream, first...)
	if res.Version != 3 {
		t.Errorf("Append result version = %d, want 3", res.Version)
	}
	second := events(2, "test.Followed")
	res2 := mustAppend(t, s, stream, eventstore.Exact(3), second...)
	if res2.Version != 5 || !res.Position.Before(res2.Position) {
		t.Errorf("second append = %+v after %+v, want version 5 at a later position", res2, res)
	}
	got := readStream(t, s, stream)
	want := append(first, second...)
	if len(got) != len(want) {
		t.Fatalf("ReadStream returned %d events, want %d", len(got), len(want))
	}
	for i := range want {
		sameEvent(t, got[i], want[i], stream, uint64(i+1))
	}
	if got[4].Position != res2.Position {
		t.Errorf("last event position = %v, append returned %v", got[4].Position, res2.Position)
	}
	part, err := s.ReadStream(context.Background(), stream, 4, 1)
	if err != nil || len(part) != 1 || part[0].Version != 4 {
		t.Errorf("ReadStream(from 4, limit 1) = %d events, %v; want version 4", len(part), err)
	}
	empty, err := s.ReadStream(context.Background(), uniqueStream("nothing"), 1, 10)
	if err != nil || len(empty) != 0 {
		t.Errorf("ReadStream(missing) = %d events, %v; want none and no error", len(empty), err)
	}
}

func testExpectedVersions(t *testing.T, newStore Factory, _ Features) {
	s := newStore(t)
	ctx := context.Background()
	stream := uniqueStream("exp")
	steps := []struct {
		exp     eventstore.ExpectedVersion
		wantErr bool
		actual  uint64
	}{
		{eventstore.StreamExists, true, 0},
		{eventstore.Exact(1), true, 0},
		{eventstore.NoStream, false, 0},
		{eventstore.NoStream, true, 1},
		{eventstore.Exact(2), true, 1},
		{eventstore.Exact(1), false, 1},
		{eventstore.StreamExists, false, 2},
		{eventstore.Any, false, 3},
		{eventstore.Exact(3), true, 4},
	}
	for i, st := range steps {
		_, err := s.Append(ctx, stream, st.exp, Event("test.Step", fmt.Sprintf(`{"step":%d}`, i)))
		if !st.wantErr {
			if err != nil {
				t.Fatalf("step %d: Append(%v) error %v", i, st.exp, err)
			}
			continue
		}
		var ce *eventstore.ConflictError
		if !errors.Is(err, eventstore.ErrConflict) || !errors.As(err, &ce) {
			t.Fatalf("step %d: Append(%v) error = %v, want a *ConflictError", i, st.exp, err)
		}
		if ce.Actual != st.actual || ce.Stream != stream || ce.Expected != st.exp {
			t.Errorf("step %d: conflict = %+v, want stream %q expected at %v, at version %d", i, ce, stream, st.exp, st.actual)
		}
	}
	if n := len(readStream(t, s, stream)); n != 4 {
		t.Errorf("stream holds %d events, want 4: refused appends must store nothing", n)
	}
}

func testInvalidAppends(t *testing.T, newStore Factory, _ Features) {
	s := newStore(t)
	ctx := context.Background()
	stream := uniqueStream("invalid")
	noID := Event("test.X", `{}`)
	noID.ID = uuid.Nil
	noType := Event("", `{}`)
	dup := Event("test.X", `{}`)
	cases := map[string][]eventstore.EventData{
		"no events":     nil,
		"no ID":         {Event("test.X", `{}`), noID},
		"no type":       {noType},
		"duplicate IDs": {dup, dup},
	}
	for name, evs := range cases {
		if _, err := s.Append(ctx, stream, eventstore.Any, evs...); !errors.Is(err, eventstore.ErrInvalidEvent) {
			t.Errorf("%s: Append error = %v, want ErrInvalidEvent", name, err)
		}
	}
	if _, err := s.Append(ctx, "", eventstore.Any, Event("test.X", `{}`)); !errors.Is(err, eventstore.ErrInvalidEvent) {
		t.Errorf("empty stream name: Append error = %v, want ErrInvalidEvent", err)
	}
	if n := len(readStream(t, s, stream)); n != 0 {
		t.Errorf("stream holds %d events after invalid appends, want 0", n)
	}
}

func testGlobalOrder(t *testing.T, newStore Factory, _ Features) {
	s := newStore(t)
	a, b := uniqueStream("a"), uniqueStream("b")
	var want []eventstore.EventData
	var wantStreams []string
	for i := range 6 {
		stream := a
		if i%2 == 1 {
			stream = b
		}
		batch := events(i%3+1, "test.Ordered")
		mustAppend(t, s, stream, eventstore.Any, batch...)
		want = append(want, batch...)
		for range batch {
			wantStreams = append(wantStreams, stream)
		}
	}
	got := ownEvents(readAll(t, s, eventstore.Start), a, b)
	if len(got) != len(want) {
		t.Fatalf("ReadAll returned %d of our events, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].ID != want[i].ID || got[i].Stream != wantStreams[i] {
			t.Fatalf("global event %d = %s in %q, want %s in %q", i, got[i].ID, got[i].Stream, want[i].ID, wantStreams[i])
		}
		if i > 0 && !got[i-1].Position.Before(got[i].Position) {
			t.Fatalf("positions not increasing: %v then %v", got[i-1].Position, got[i].Position)
		}
	}
}

func testReadAllFromPosition(t *testing.T, newStore Factory, _ Features) {
	s := newStore(t)
	stream := uniqueStream("from")
	mustAppend(t, s, stream, eventstore.NoStream, events(10, "test.Numbered")...)
	all := ownEvents(readAll(t, s, eventstore.Start), stream)
	if len(all) != 10 {
		t.Fatalf("ReadAll returned %d of our events, want 10", len(all))
	}
	rest := ownEvents(readAll(t, s, all[3].Position), stream)
	if len(rest) != 6 || rest[0].ID != all[4].ID {
		t.Fatalf("ReadAll(after %v) = %d events starting %v, want 6 starting %s", all[3].Position, len(rest), rest, all[4].ID)
	}
	page, err := s.ReadAll(context.Background(), all[3].Position, 2)
	if err != nil || len(page) != 2 || page[0].ID != all[4].ID || page[1].ID != all[5].ID {
		t.Errorf("ReadAll(after %v, limit 2) = %d events, %v; want events 5 and 6", all[3].Position, len(page), err)
	}
}

func testConcurrentAppendOneWins(t *testing.T, newStore Factory, f Features) {
	s := newStore(t)
	stream := uniqueStream("race")
	mustAppend(t, s, stream, eventstore.NoStream, Event("test.Opened", `{}`))
	var (
		wg        sync.WaitGroup
		start     = make(chan struct{})
		mu        sync.Mutex
		wins      int
		conflicts int
		others    []error
	)
	for i := range f.Racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := s.Append(context.Background(), stream, eventstore.Exact(1), Event("test.Raced", fmt.Sprintf(`{"racer":%d}`, i)))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, eventstore.ErrConflict):
				conflicts++
			default:
				others = append(others, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if wins != 1 || conflicts != f.Racers-1 || len(others) > 0 {
		t.Fatalf("%d racers at version 1: %d won, %d conflicts, other errors %v; want exactly one winner", f.Racers, wins, conflicts, others)
	}
	if n := len(readStream(t, s, stream)); n != 2 {
		t.Errorf("stream holds %d events, want 2", n)
	}
}

func testIdempotentRetry(t *testing.T, newStore Factory, _ Features) {
	s := newStore(t)
	stream := uniqueStream("import")
	batch := events(5, "ledger.ActualRecorded")
	first := mustAppend(t, s, stream, eventstore.NoStream, batch...)
	again := mustAppend(t, s, stream, eventstore.NoStream, batch...)
	if again != first {
		t.Errorf("retried append = %+v, want the first result %+v", again, first)
	}
	anyAgain := mustAppend(t, s, stream, eventstore.Any, batch...)
	if anyAgain != first {
		t.Errorf("retried append with Any = %+v, want %+v", anyAgain, first)
	}
	if n := len(readStream(t, s, stream)); n != 5 {
		t.Errorf("stream holds %d events after retries, want 5", n)
	}
	if n := len(ownEvents(readAll(t, s, eventstore.Start), stream)); n != 5 {
		t.Errorf("global log holds %d of our events after retries, want 5", n)
	}
}

func testDuplicateEventElsewhere(t *testing.T, newStore Factory, _ Features) {
	s := newStore(t)
	a, b := uniqueStream("dup-a"), uniqueStream("dup-b")
	e := Event("test.Once", `{}`)
	mustAppend(t, s, a, eventstore.NoStream, e)
	_, err := s.Append(context.Background(), b, eventstore.NoStream, e)
	// EventStoreDB treats an ID reused in another stream as a new event (its
	// idempotence is per stream): an adapter either refuses it or stores it
	// once more in the other stream, but must never drop or merge it.
	if err != nil && !errors.Is(err, eventstore.ErrDuplicateEvent) {
		t.Fatalf("Append of an ID stored in another stream: error %v, want nil or ErrDuplicateEvent", err)
	}
	if n := len(readStream(t, s, a)); n != 1 {
		t.Errorf("stream %q holds %d events, want 1", a, n)
	}
}

func testHashChain(t *testing.T, newStore Factory, _ Features) {
	s := newStore(t)
	stream := uniqueStream("chain")
	mustAppend(t, s, stream, eventstore.NoStream, events(3, "test.Chained")...)
	mustAppend(t, s, stream, eventstore.Exact(3), events(2, "test.Chained")...)
	var v eventstore.Verifier
	for _, e := range readStream(t, s, stream) {
		if err := v.Check(e); err != nil {
			t.Fatalf("hash chain: %v", err)
		}
	}
	got := readStream(t, s, stream)
	got[2].Data = []byte(`{"n":99}`)
	var tampered eventstore.Verifier
	var broken error
	for _, e := range got {
		if err := tampered.Check(e); err != nil {
			broken = err
			break
		}
	}
	if !errors.Is(broken, eventstore.ErrChainBroken) {
		t.Errorf("tampered event: Verifier error = %v, want ErrChainBroken", broken)
	}
	// The recorded time is hashed too, to the nanosecond, under the
	// current rule.
	got = readStream(t, s, stream)
	if got[0].Rule != eventstore.CurrentRule {
		t.Errorf("appended event under hash rule %d, want %d", got[0].Rule, eventstore.CurrentRule)
	}
	got[3].RecordedAt = got[3].RecordedAt.Add(time.Nanosecond)
	var retimed eventstore.Verifier
	broken = nil
	for _, e := range got {
		if err := retimed.Check(e); err != nil {
			broken = err
			break
		}
	}
	if !errors.Is(broken, eventstore.ErrChainBroken) {
		t.Errorf("event with a changed recorded time: Verifier error = %v, want ErrChainBroken", broken)
	}
}

// Receive returns the next n events of sub from the given streams (of any
// stream when none is given), failing t if they do not all come within
// wait or the subscription ends first.
func Receive(t *testing.T, sub eventstore.Subscription, wait time.Duration, n int, streams ...string) []eventstore.RecordedEvent {
	t.Helper()
	keep := map[string]bool{}
	for _, s := range streams {
		keep[s] = true
	}
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	var out []eventstore.RecordedEvent
	for len(out) < n {
		select {
		case e, ok := <-sub.Events():
			if !ok {
				t.Fatalf("subscription ended after %d of %d events: %v", len(out), n, sub.Err())
			}
			if len(keep) == 0 || keep[e.Stream] {
				out = append(out, e)
			}
		case <-timeout.C:
			t.Fatalf("received %d of %d events within %v", len(out), n, wait)
		}
	}
	return out
}

func testSubscribeCatchUpThenLive(t *testing.T, newStore Factory, f Features) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := uniqueStream("sub")
	before := events(4, "test.Before")
	mustAppend(t, s, stream, eventstore.NoStream, before...)
	stored := ownEvents(readAll(t, s, eventstore.Start), stream)
	// Subscribe after the first of our events: catch-up must deliver 3.
	sub, err := s.SubscribeAll(ctx, stored[0].Position)
	if err != nil {
		t.Fatalf("SubscribeAll error %v", err)
	}
	defer sub.Close()
	caught := Receive(t, sub, f.Wait, 3, stream)
	for i, e := range caught {
		if e.ID != before[i+1].ID {
			t.Fatalf("catch-up event %d = %s, want %s", i, e.ID, before[i+1].ID)
		}
	}
	live := events(3, "test.Live")
	mustAppend(t, s, stream, eventstore.Exact(4), live[:1]...)
	mustAppend(t, s, stream, eventstore.Exact(5), live[1:]...)
	got := Receive(t, sub, f.Wait, 3, stream)
	for i, e := range got {
		if e.ID != live[i].ID || e.Version != uint64(5+i) {
			t.Fatalf("live event %d = %s v%d, want %s v%d", i, e.ID, e.Version, live[i].ID, 5+i)
		}
	}
	if !caught[2].Position.Before(got[0].Position) {
		t.Errorf("live position %v not after catch-up position %v", got[0].Position, caught[2].Position)
	}
}

func testSubscribeClose(t *testing.T, newStore Factory, f Features) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	sub, err := s.SubscribeAll(ctx, eventstore.Start)
	if err != nil {
		t.Fatalf("SubscribeAll error %v", err)
	}
	cancel()
	timeout := time.NewTimer(f.Wait)
	defer timeout.Stop()
	for {
		select {
		case _, ok := <-sub.Events():
			if ok {
				continue // events stored by earlier tests, on a shared server
			}
			if err := sub.Err(); err != nil {
				t.Errorf("subscription ended by its context: Err() = %v, want nil", err)
			}
			if err := sub.Close(); err != nil {
				t.Errorf("Close after end: %v", err)
			}
			return
		case <-timeout.C:
			t.Fatalf("subscription still open %v after its context ended", f.Wait)
		}
	}
}

func testRestartSurvival(t *testing.T, newStore Factory, f Features) {
	if f.Reopen == nil {
		t.Skip("adapter cannot be restarted from the suite")
	}
	s := newStore(t)
	stream := uniqueStream("durable")
	want := events(50, "test.Durable")
	for i := 0; i < len(want); i += 10 {
		mustAppend(t, s, stream, eventstore.Exact(uint64(i)), want[i:i+10]...)
	}
	before := ownEvents(readAll(t, s, eventstore.Start), stream)
	s = f.Reopen(t, s)
	after := ownEvents(readAll(t, s, eventstore.Start), stream)
	if len(after) != len(before) {
		t.Fatalf("after reopen %d events, before %d", len(after), len(before))
	}
	for i := range before {
		if after[i].ID != before[i].ID || after[i].Position != before[i].Position || string(after[i].Hash) != string(before[i].Hash) ||
			!after[i].RecordedAt.Equal(before[i].RecordedAt) {
			t.Fatalf("event %d changed across reopen: %+v, was %+v", i, after[i], before[i])
		}
	}
	res := mustAppend(t, s, stream, eventstore.Exact(50), Event("test.AfterRestart", `{}`))
	if res.Version != 51 || !before[49].Position.Before(res.Position) {
		t.Errorf("append after reopen = %+v, want version 51 after %v", res, before[49].Position)
	}
}
