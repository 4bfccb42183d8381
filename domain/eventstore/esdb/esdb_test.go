package esdb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/esdb"
	"github.com/concord-planning/concord/domain/eventstore/esdb/esdbtest"
	"github.com/concord-planning/concord/domain/eventstore/storetest"
	"github.com/google/uuid"
)

// recordedAt is the fixed clock of the test server and of the stores.
var recordedAt = time.Date(2026, 3, 1, 12, 0, 0, 123456700, time.UTC)

// fast makes the client give up on an unreachable node quickly, so that
// tests of reconnection do not wait for the defaults (10 attempts, 100 ms).
const fast = "&maxDiscoverAttempts=3&discoveryInterval=20&gossipTimeout=2"

// waitFor bounds every poll on a condition.
const waitFor = 20 * time.Second

func testLogger(t *testing.T) *slog.Logger { return esdb.LoggerForTest(t) }

func startServer(t *testing.T) *esdbtest.Server {
	t.Helper()
	return esdbtest.Start(t, esdbtest.WithClock(func() time.Time { return recordedAt }))
}

func open(t *testing.T, conn string) *esdb.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	s, err := esdb.New(ctx, conn, testLogger(t), esdb.WithClock(func() time.Time { return recordedAt }))
	if err != nil {
		t.Fatalf("New(%q) error %v", conn, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// target is a server the adapter tests run against.
type target struct {
	name string
	conn string
	real bool
}

// targets returns the test server, and a real EventStoreDB when
// CONCORD_TEST_ESDB holds its connection string.
func targets(t *testing.T) []target {
	out := []target{{name: "esdbtest", conn: startServer(t).ConnString() + fast}}
	if conn := os.Getenv("CONCORD_TEST_ESDB"); conn != "" {
		out = append(out, target{name: "real", conn: conn, real: true})
	} else {
		t.Log("CONCORD_TEST_ESDB is not set: skipping the real EventStoreDB variant (set it to a connection string, e.g. esdb://localhost:2113?tls=false)")
	}
	return out
}

func forEachTarget(t *testing.T, run func(t *testing.T, tg target)) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) { run(t, tg) })
	}
}

func stream(prefix string) string { return prefix + "-" + uuid.NewString()[:8] }

func event(typ string, n int) eventstore.EventData {
	return eventstore.EventData{
		ID: uuid.New(), Type: typ, SchemaVersion: 2, Data: fmt.Appendf(nil, `{"n":%d}`, n),
		Metadata: eventstore.Metadata{Actor: "alice", CorrelationID: "req-7", CausationID: "cmd-3"},
	}
}

func batch(typ string, n int) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = event(typ, i)
	}
	return out
}

func mustAppend(t *testing.T, s *esdb.Store, name string, exp eventstore.ExpectedVersion, evs ...eventstore.EventData) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), name, exp, evs...)
	if err != nil {
		t.Fatalf("Append(%q, %v, %d events) error %v", name, exp, len(evs), err)
	}
	return res
}

func readStream(t *testing.T, s *esdb.Store, name string) []eventstore.RecordedEvent {
	t.Helper()
	got, err := s.ReadStream(context.Background(), name, 1, 10_000)
	if err != nil {
		t.Fatalf("ReadStream(%q) error %v", name, err)
	}
	return got
}

// readAll reads the whole global log after a position, keeping the events
// of the given streams.
func readAll(t *testing.T, s *esdb.Store, after eventstore.Position, streams ...string) []eventstore.RecordedEvent {
	t.Helper()
	keep := map[string]bool{}
	for _, n := range streams {
		keep[n] = true
	}
	var out []eventstore.RecordedEvent
	for {
		page, err := s.ReadAll(context.Background(), after, 7)
		if err != nil {
			t.Fatalf("ReadAll(after %v) error %v", after, err)
		}
		if len(page) == 0 {
			return out
		}
		for _, e := range page {
			if !after.Before(e.Position) {
				t.Fatalf("ReadAll(after %v) returned an event at %v", after, e.Position)
			}
			if keep[e.Stream] {
				out = append(out, e)
			}
			after = e.Position
		}
	}
}

func TestAppendAndRead(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		s := open(t, tg.conn)
		name := stream("plan")
		first, second := batch("plan.TargetSet", 3), batch("plan.TargetChanged", 2)
		r1 := mustAppend(t, s, name, eventstore.NoStream, first...)
		r2 := mustAppend(t, s, name, eventstore.Exact(3), second...)
		if r1.Version != 3 || r2.Version != 5 || !r1.Position.Before(r2.Position) {
			t.Fatalf("Append results %+v then %+v, want versions 3 then 5 at increasing positions", r1, r2)
		}
		got := readStream(t, s, name)
		want := append(first, second...)
		if len(got) != len(want) {
			t.Fatalf("ReadStream returned %d events, want %d", len(got), len(want))
		}
		var v eventstore.Verifier
		for i, e := range got {
			w := want[i]
			if e.ID != w.ID || e.Type != w.Type || e.SchemaVersion != 2 || !bytes.Equal(e.Data, w.Data) ||
				e.Metadata != w.Metadata || e.Stream != name || e.Version != uint64(i+1) {
				t.Errorf("event %d = %+v, want %+v at version %d", i, e, w, i+1)
			}
			if !e.RecordedAt.Equal(recordedAt) {
				t.Errorf("event %d recorded at %v, want the store clock's %v", i, e.RecordedAt, recordedAt)
			}
			if err := v.Check(e); err != nil {
				t.Errorf("hash chain: %v", err)
			}
		}
		if got[4].Position != r2.Position || got[2].Position != r1.Position {
			t.Errorf("stored positions %v, %v; Append returned %v, %v", got[2].Position, got[4].Position, r1.Position, r2.Position)
		}
		part, err := s.ReadStream(context.Background(), name, 2, 2)
		if err != nil || len(part) != 2 || part[0].Version != 2 || part[1].Version != 3 {
			t.Errorf("ReadStream(from 2, limit 2) = %d events, %v; want versions 2 and 3", len(part), err)
		}
		none, err := s.ReadStream(context.Background(), stream("missing"), 1, 10)
		if err != nil || len(none) != 0 {
			t.Errorf("ReadStream(missing stream) = %d events, %v; want none and no error", len(none), err)
		}
	})
}

func TestInvalidAppend(t *testing.T) {
	s := open(t, startServer(t).ConnString()+fast)
	noType := event("", 0)
	cases := []struct {
		name   string
		stream string
		events []eventstore.EventData
	}{
		{"no events", "s", nil},
		{"no type", "s", []eventstore.EventData{noType}},
		{"system stream", "$stats", []eventstore.EventData{event("x", 0)}},
		{"empty stream", "", []eventstore.EventData{event("x", 0)}},
	}
	for _, c := range cases {
		if _, err := s.Append(context.Background(), c.stream, eventstore.Any, c.events...); !errors.Is(err, eventstore.ErrInvalidEvent) {
			t.Errorf("%s: Append error = %v, want ErrInvalidEvent", c.name, err)
		}
	}
}

func TestConcurrentAppendsOneWins(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		s := open(t, tg.conn)
		for _, exp := range []eventstore.ExpectedVersion{eventstore.NoStream, eventstore.Exact(1)} {
			name := stream("race")
			if exp != eventstore.NoStream {
				mustAppend(t, s, name, eventstore.NoStream, event("race.Opened", 0))
			}
			const racers = 16
			var (
				wg              sync.WaitGroup
				start           = make(chan struct{})
				mu              sync.Mutex
				wins, conflicts int
				others          []error
				winner          eventstore.AppendResult
			)
			for i := range racers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					res, err := s.Append(context.Background(), name, exp, event("race.Raced", i), event("race.Raced", i))
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						wins++
						winner = res
					case errors.Is(err, eventstore.ErrConflict):
						conflicts++
					default:
						others = append(others, err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if wins != 1 || conflicts != racers-1 || len(others) > 0 {
				t.Fatalf("%d racers at %v: %d won, %d conflicts, other errors %v; want one winner", racers, exp, wins, conflicts, others)
			}
			got := readStream(t, s, name)
			base, _ := eventstore.ExactVersion(exp)
			if uint64(len(got)) != base+2 || winner.Version != base+2 {
				t.Errorf("after the race at %v the stream holds %d events, winner at version %d; want %d", exp, len(got), winner.Version, base+2)
			}
			var v eventstore.Verifier
			for _, e := range got {
				if err := v.Check(e); err != nil {
					t.Errorf("hash chain after race: %v", err)
				}
			}
		}
	})
}

// TestConcurrentAnyAppends races writers with Any on one stream: every
// append lands (retrying at the new tip) and the hash chain stays whole.
func TestConcurrentAnyAppends(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		s := open(t, tg.conn)
		name := stream("any")
		const writers = 6
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.Append(context.Background(), name, eventstore.Any, event("any.Added", i))
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			// More writers than MaxAnyAttempts could make one give up;
			// with fewer, every one must land.
			if err != nil {
				t.Errorf("Append(Any) error %v", err)
			}
		}
		got := readStream(t, s, name)
		if len(got) != writers {
			t.Fatalf("stream holds %d events, want %d", len(got), writers)
		}
		var v eventstore.Verifier
		for _, e := range got {
			if err := v.Check(e); err != nil {
				t.Errorf("hash chain: %v", err)
			}
		}
	})
}

func TestIdempotentRetry(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		s := open(t, tg.conn)
		name := stream("import")
		evs := batch("ledger.ActualRecorded", 4)
		first := mustAppend(t, s, name, eventstore.NoStream, evs...)
		more := mustAppend(t, s, name, eventstore.Exact(4), event("ledger.ActualRecorded", 9))
		for _, exp := range []eventstore.ExpectedVersion{eventstore.NoStream, eventstore.Any, eventstore.StreamExists} {
			again, err := s.Append(context.Background(), name, exp, evs...)
			if err != nil || again != first {
				t.Errorf("retry with %v = %+v, %v; want the first result %+v", exp, again, err, first)
			}
		}
		if got := readStream(t, s, name); len(got) != 5 {
			t.Errorf("stream holds %d events after retries, want 5", len(got))
		}
		if got := readAll(t, s, eventstore.Start, name); len(got) != 5 || got[4].Position != more.Position {
			t.Errorf("global log holds %d of our events after retries, want 5 ending at %v", len(got), more.Position)
		}
		// Part of the run, or the run elsewhere in the stream, is not a retry.
		partial := []eventstore.EventData{evs[0], event("ledger.ActualRecorded", 7)}
		if _, err := s.Append(context.Background(), name, eventstore.NoStream, partial...); !errors.Is(err, eventstore.ErrDuplicateEvent) {
			t.Errorf("append of a partly stored run: error %v, want ErrDuplicateEvent", err)
		}
		shifted := []eventstore.EventData{evs[1], evs[2]}
		if _, err := s.Append(context.Background(), name, eventstore.Any, evs[2], evs[1]); !errors.Is(err, eventstore.ErrDuplicateEvent) {
			t.Errorf("append of stored IDs in another order: error %v, want ErrDuplicateEvent", err)
		}
		if res, err := s.Append(context.Background(), name, eventstore.Exact(1), shifted...); err != nil || res.Version != 3 {
			t.Errorf("retry of events 2-3 at version 1 = %+v, %v; want version 3", res, err)
		}
	})
}

// rawClient returns a client of the official library, to write what the
// adapter refuses to (system events).
func rawClient(t *testing.T, conn string) *esdbclient.Client {
	t.Helper()
	conf, err := esdbclient.ParseConnectionString(conn)
	if err != nil {
		t.Fatal(err)
	}
	conf.Logger = esdbclient.NoopLogging()
	c, err := esdbclient.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestReadAllAfterPositionSkipsSystemEvents(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		s := open(t, tg.conn)
		raw := rawClient(t, tg.conn)
		a, b := stream("a"), stream("b")
		mustAppend(t, s, a, eventstore.NoStream, batch("a.Done", 3)...)
		// A system stream and a system event type in a user stream.
		sys := "$test-" + uuid.NewString()[:8]
		for _, w := range []struct{ stream, typ string }{{sys, "test.Counted"}, {b, "$test-type"}} {
			if _, err := raw.AppendToStream(context.Background(), w.stream, esdbclient.AppendToStreamOptions{},
				esdbclient.EventData{EventID: uuid.New(), EventType: w.typ, ContentType: esdbclient.ContentTypeJson, Data: []byte(`{}`)}); err != nil {
				t.Fatalf("raw append to %q: %v", w.stream, err)
			}
		}
		mustAppend(t, s, a, eventstore.Exact(3), batch("a.Done", 2)...)
		all := readAll(t, s, eventstore.Start, a, b, sys)
		if len(all) != 5 {
			t.Fatalf("ReadAll kept %d events of ours, want the 5 non-system ones", len(all))
		}
		for i, e := range all {
			if e.Stream != a || e.Version != uint64(i+1) {
				t.Errorf("global event %d = %s v%d, want %s v%d", i, e.Stream, e.Version, a, i+1)
			}
		}
		rest := readAll(t, s, all[1].Position, a, b, sys)
		if len(rest) != 3 || rest[0].ID != all[2].ID {
			t.Fatalf("ReadAll(after %v) = %d events, want 3 starting at version 3", all[1].Position, len(rest))
		}
		page, err := s.ReadAll(context.Background(), all[2].Position, 1)
		if err != nil || len(page) != 1 || page[0].ID != all[3].ID {
			t.Errorf("ReadAll(after %v, limit 1) = %v, %v; want version 4 (past the system events)", all[2].Position, page, err)
		}
	})
}

func sameIDs(t *testing.T, what string, got []eventstore.RecordedEvent, want []eventstore.EventData) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d events, want %d", what, len(got), len(want))
	}
	for i := range want {
		if got[i].ID != want[i].ID {
			t.Fatalf("%s: event %d = %s (%s v%d), want %s", what, i, got[i].ID, got[i].Stream, got[i].Version, want[i].ID)
		}
	}
}

func TestSubscribeCatchUpThenLive(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		s := open(t, tg.conn)
		raw := rawClient(t, tg.conn)
		name := stream("sub")
		before := batch("sub.Before", 4)
		mustAppend(t, s, name, eventstore.NoStream, before...)
		stored := readAll(t, s, eventstore.Start, name)
		sub, err := s.SubscribeAll(context.Background(), stored[0].Position)
		if err != nil {
			t.Fatalf("SubscribeAll error %v", err)
		}
		defer sub.Close()
		sameIDs(t, "catch-up", storetest.Receive(t, sub, waitFor, 3, name), before[1:])
		if _, err := raw.AppendToStream(context.Background(), "$test-"+uuid.NewString()[:8], esdbclient.AppendToStreamOptions{},
			esdbclient.EventData{EventID: uuid.New(), EventType: "test.InSystemStream", ContentType: esdbclient.ContentTypeJson, Data: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		live := batch("sub.Live", 3)
		mustAppend(t, s, name, eventstore.Exact(4), live[0])
		mustAppend(t, s, name, eventstore.Exact(5), live[1:]...)
		got := storetest.Receive(t, sub, waitFor, 3)
		sameIDs(t, "live", got, live) // nothing else: the system events were filtered out
	})
}

func TestSubscriptionCloseAndStoreClose(t *testing.T) {
	srv := startServer(t)
	s := open(t, srv.ConnString()+fast)
	sub, err := s.SubscribeAll(context.Background(), eventstore.Start)
	if err != nil {
		t.Fatal(err)
	}
	sub2, err := s.SubscribeAll(context.Background(), eventstore.Start)
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Close(); err != nil || sub.Err() != nil {
		t.Errorf("Close = %v, then Err = %v; want nil, nil", err, sub.Err())
	}
	if _, ok := <-sub.Events(); ok {
		t.Errorf("Events still open after Close")
	}
	s.Close()
	if _, ok := <-sub2.Events(); ok {
		t.Errorf("Events still open after the store closed")
	}
	if _, err := s.Append(context.Background(), "x", eventstore.Any, event("x", 0)); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("Append after Close: error %v, want ErrClosed", err)
	}
	if _, err := s.SubscribeAll(context.Background(), eventstore.Start); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("SubscribeAll after Close: error %v, want ErrClosed", err)
	}
}

func TestNewFailsWithoutServer(t *testing.T) {
	srv := startServer(t)
	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if _, err := esdb.New(ctx, srv.ConnString()+fast, testLogger(t)); err == nil {
		t.Errorf("New with the server down: no error")
	}
	if _, err := esdb.New(ctx, "http://nowhere", testLogger(t)); err == nil {
		t.Errorf("New with a bad connection string: no error")
	}
}

// TestSubscriptionSurvivesRestart kills the server under a live
// subscription, writes nothing while it is down, brings it back and checks
// that the subscription resumes where it was: no event twice, none skipped.
func TestSubscriptionSurvivesRestart(t *testing.T) {
	srv := startServer(t)
	s := open(t, srv.ConnString()+fast)
	name := stream("restart")
	first := batch("r.First", 3)
	mustAppend(t, s, name, eventstore.NoStream, first...)
	sub, err := s.SubscribeAll(context.Background(), eventstore.Start)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	sameIDs(t, "before restart", storetest.Receive(t, sub, waitFor, 3, name), first)

	srv.Stop()
	if _, err := s.Append(context.Background(), name, eventstore.Exact(3), event("r.Lost", 0)); err == nil {
		t.Fatalf("Append with the server down: no error")
	}
	srv.Restart()

	second := batch("r.Second", 3)
	appendEventually(t, s, name, eventstore.Exact(3), second...)
	sameIDs(t, "after restart", storetest.Receive(t, sub, waitFor, 3, name), second)
	// A second kill and restart, with events written while the subscriber
	// is away: they arrive once, in order.
	srv.Stop()
	srv.Restart()
	third := batch("r.Third", 2)
	appendEventually(t, s, name, eventstore.Exact(6), third...)
	sameIDs(t, "after second restart", storetest.Receive(t, sub, waitFor, 2, name), third)
	if sub.Err() != nil {
		t.Errorf("subscription Err = %v after restarts, want nil", sub.Err())
	}
}

// appendEventually appends, repeating while the store reconnects. Repeating
// is safe: a retried append is idempotent.
func appendEventually(t *testing.T, s *esdb.Store, name string, exp eventstore.ExpectedVersion, evs ...eventstore.EventData) eventstore.AppendResult {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		res, err := s.Append(context.Background(), name, exp, evs...)
		if err == nil {
			return res
		}
		if errors.Is(err, eventstore.ErrConflict) || time.Now().After(deadline) {
			t.Fatalf("Append(%q, %v) error %v", name, exp, err)
		}
	}
}

// TestCallsHonourContextWhileClientDiscovers stops the server under a store
// whose client retries discovery for seconds, a wait the client does not
// cut short for contexts: the store's calls must still end with their
// context.
func TestCallsHonourContextWhileClientDiscovers(t *testing.T) {
	srv := startServer(t)
	s := open(t, srv.ConnString()+"&maxDiscoverAttempts=300&discoveryInterval=10&gossipTimeout=2")
	srv.Stop()
	// The first call fails on the dead connection and makes the store
	// replace the client; the next ones wait in the new client's discovery.
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := s.Append(ctx, stream("ctx"), eventstore.NoStream, event("ctx.E", 0))
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			srv.Restart() // let the abandoned discovery finish before cleanup
			return
		}
		if err == nil {
			t.Fatalf("Append with the server down: no error")
		}
	}
	t.Fatalf("Append with the server down never ended with its context's deadline")
}
