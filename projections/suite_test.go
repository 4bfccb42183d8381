package projections_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/projections"
)

// transport is one way of bringing the log to a consumer: the Feed itself,
// or the Feed relayed through a Bus. The same consumer suite runs on each.
type transport struct {
	name string
	// durable: a stopped consumer, restarted, gets what it missed.
	durable bool
	// setup prepares the transport for one test and returns a function
	// giving, at each (re)start of the consumer, its source and topic.
	setup func(t *testing.T, e *env) func() (message.Subscriber, string)
}

// env is one test's world: a store and the durable state consumers keep.
type env struct {
	store       *memStore
	checkpoints *projections.MemoryCheckpoints
	poison      *projections.MemoryPoisonStore
	source      func() (message.Subscriber, string)
	started     func() // called once the consumer runs; may be nil
}

const waitLimit = 30 * time.Second // a deadline, not a synchronisation

func fastRetry() projections.Retry {
	return projections.Retry{MaxRetries: 1, Backoff: projections.Backoff{Initial: time.Millisecond, Max: 4 * time.Millisecond}}
}

func fastRedelivery() projections.Backoff {
	return projections.Backoff{Initial: time.Millisecond, Max: 4 * time.Millisecond}
}

func newFeed(e *env) *projections.Feed {
	return projections.NewFeed(e.store, projections.FeedConfig{Checkpoints: e.checkpoints, Redelivery: fastRedelivery()})
}

// feedTransport: consumers subscribe to the Feed directly.
var feedTransport = transport{name: "feed", durable: true,
	setup: func(t *testing.T, e *env) func() (message.Subscriber, string) {
		return func() (message.Subscriber, string) { return newFeed(e), "c" }
	}}

// relay runs, for the whole test, a Feed consumer publishing each event to
// topic on pub.
func relay(t *testing.T, e *env, pub message.Publisher, topic string) {
	t.Helper()
	r, err := projections.NewRouter(projections.RouterConfig{Retry: fastRetry()})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.AddConsumer(projections.Consumer{Name: "relay", Source: newFeed(e), Policy: projections.StopOnFailure,
		Handler: projections.PublishTo(pub, topic)}); err != nil {
		t.Fatal(err)
	}
	run(t, r)
}

// run runs r until the test ends (or stop is called) and waits for it.
func run(t *testing.T, r *projections.Router) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	select {
	case <-r.Running():
	case err := <-done:
		t.Fatalf("Router.Run = %v before running", err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Router.Run = %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

type happened struct {
	N int `json:"n"`
}

// appendEvents appends n events over three streams, numbered from the
// store's current length + 1, and returns their IDs.
func (e *env) appendEvents(t *testing.T, n int) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	for range n {
		e.store.mu.Lock()
		k := len(e.store.events) + 1
		e.store.mu.Unlock()
		data, _ := json.Marshal(happened{N: k})
		id := uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint(k)))
		ev := eventstore.EventData{ID: id, Type: "test.Happened", SchemaVersion: 1, Data: data,
			Metadata: eventstore.Metadata{Actor: "ana", CorrelationID: fmt.Sprint("corr-", k), CausationID: "cause"}}
		if _, err := e.store.Append(context.Background(), fmt.Sprint("s-", k%3), eventstore.Any, ev); err != nil {
			t.Error(err) // not Fatal: writers also run in goroutines
			return ids
		}
		ids = append(ids, id)
	}
	return ids
}

// recorder is a handler that records the positions it applied, failing or
// panicking where its test tells it to.
type recorder struct {
	mu       sync.Mutex
	applied  []uint64
	attempts map[uint64]int
	grew     chan struct{}
	fail     func(ctx context.Context, pos uint64, attempt int) error // nil: succeed
	last     eventstore.RecordedEvent
	lastEv   any
}

func newRecorder() *recorder {
	return &recorder{attempts: map[uint64]int{}, grew: make(chan struct{})}
}

func (r *recorder) Handle(ctx context.Context, rec eventstore.RecordedEvent, ev any) error {
	r.mu.Lock()
	r.attempts[rec.Position.Commit]++
	n := r.attempts[rec.Position.Commit]
	fail := r.fail
	r.mu.Unlock()
	if fail != nil {
		if err := fail(ctx, rec.Position.Commit, n); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.applied = append(r.applied, rec.Position.Commit)
	r.last, r.lastEv = rec, ev
	close(r.grew)
	r.grew = make(chan struct{})
	return nil
}

func (r *recorder) snapshot() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.applied)
}

// waitLen waits until n events were applied; it fails the test after
// waitLimit.
func (r *recorder) waitLen(t *testing.T, n int) {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		got, grew := len(r.applied), r.grew
		r.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-grew:
		case <-deadline.C:
			t.Fatalf("applied %v after %v, want %d events", r.snapshot(), waitLimit, n)
		}
	}
}

func seq(from, to uint64) []uint64 {
	var out []uint64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// startConsumer runs a Router with consumer "c" on the transport.
func (e *env) startConsumer(t *testing.T, policy projections.Policy, h projections.Handler) (*projections.Router, func()) {
	t.Helper()
	reg := eventstore.NewRegistry()
	eventstore.Register[happened](reg, "test.Happened")
	r, err := projections.NewRouter(projections.RouterConfig{Registry: reg, Checkpoints: e.checkpoints, Poison: e.poison, Retry: fastRetry()})
	if err != nil {
		t.Fatal(err)
	}
	src, topic := e.source()
	if err := r.AddConsumer(projections.Consumer{Name: "c", Source: src, Topic: topic, Policy: policy, Handler: h}); err != nil {
		t.Fatal(err)
	}
	stop := run(t, r)
	if e.started != nil {
		e.started()
	}
	return r, stop
}

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitLimit):
		t.Fatalf("no %s after %v", what, waitLimit)
	}
}

// testConsumers is the consumer suite every transport passes.
func testConsumers(t *testing.T, tr transport) {
	newEnv := func(t *testing.T) *env {
		e := &env{store: newMemStore(), checkpoints: projections.NewMemoryCheckpoints(), poison: projections.NewMemoryPoisonStore()}
		e.source = tr.setup(t, e)
		return e
	}

	t.Run("delivers every event once, in order, catch-up then live", func(t *testing.T) {
		e := newEnv(t)
		ids := e.appendEvents(t, 30)
		rec := newRecorder()
		e.startConsumer(t, projections.StopOnFailure, rec)
		rec.waitLen(t, 30)
		ids = append(ids, e.appendEvents(t, 10)...)
		rec.waitLen(t, 40)
		if got := rec.snapshot(); !slices.Equal(got, seq(1, 40)) {
			t.Fatalf("applied %v, want 1…40 in order", got)
		}
		rec.mu.Lock()
		last, ev := rec.last, rec.lastEv
		rec.mu.Unlock()
		want := eventstore.Metadata{Actor: "ana", CorrelationID: "corr-40", CausationID: "cause"}
		if last.ID != ids[39] || last.Type != "test.Happened" || last.Stream != "s-1" || last.Metadata != want ||
			last.RecordedAt != e.store.clock.Add(40*time.Second) || ev != (happened{N: 40}) {
			t.Errorf("last event = %+v decoded %+v, want ID %v of stream s-1 with %+v, decoded {N:40}", last, ev, ids[39], want)
		}
	})

	t.Run("a nack delivers the same event again, never the next", func(t *testing.T) {
		e := newEnv(t)
		e.appendEvents(t, 10)
		rec := newRecorder()
		var r *projections.Router
		var ready sync.WaitGroup
		ready.Add(1)
		var seen atomic.Pointer[projections.Health]
		rec.fail = func(_ context.Context, pos uint64, attempt int) error {
			if pos != 5 || attempt > 5 {
				return nil
			}
			if attempt == 3 { // first attempt of the second delivery: the first one's outcome is recorded
				ready.Wait()
				h, err := r.ConsumerHealth("c")
				if err != nil {
					t.Error(err)
				}
				seen.Store(&h)
			}
			return errors.New("boom")
		}
		r, _ = e.startConsumer(t, projections.StopOnFailure, rec)
		ready.Done()
		rec.waitLen(t, 10)
		if got := rec.snapshot(); !slices.Equal(got, seq(1, 10)) {
			t.Fatalf("applied %v, want 1…10 in order", got)
		}
		rec.mu.Lock()
		attempts := rec.attempts[5]
		rec.mu.Unlock()
		if attempts != 6 {
			t.Errorf("event 5 attempted %d times, want 6 (3 deliveries of 2 attempts)", attempts)
		}
		if h := seen.Load(); h == nil || h.Healthy || h.Failures != 1 || !strings.Contains(h.LastError, "boom") || h.Position.Commit != 4 {
			t.Errorf("health while failing = %+v, want unhealthy at 4 with 1 failure and error boom", h)
		}
		// Event 5's outcome is recorded before it is acknowledged, so before
		// event 6 is delivered.
		if h, _ := r.ConsumerHealth("c"); !h.Healthy || h.Failures != 0 || h.Position.Commit < 5 {
			t.Errorf("health after recovery = %+v, want healthy past 5", h)
		}
	})

	t.Run("stop on failure stops advancing until the failure is fixed", func(t *testing.T) {
		e := newEnv(t)
		e.appendEvents(t, 8)
		rec := newRecorder()
		var fixed atomic.Bool
		stuck := make(chan struct{})
		var once sync.Once
		rec.fail = func(_ context.Context, pos uint64, attempt int) error {
			if pos != 4 || fixed.Load() {
				return nil
			}
			if attempt == 7 { // the fourth delivery began
				once.Do(func() { close(stuck) })
			}
			return fmt.Errorf("cannot apply %d", pos)
		}
		r, _ := e.startConsumer(t, projections.StopOnFailure, rec)
		waitClosed(t, stuck, "fourth delivery of event 4")
		if got := rec.snapshot(); !slices.Equal(got, seq(1, 3)) {
			t.Fatalf("applied %v while event 4 fails, want 1…3", got)
		}
		h, _ := r.ConsumerHealth("c")
		if h.Healthy || h.Failures < 3 || h.Position.Commit != 3 || !strings.Contains(h.LastError, "cannot apply 4") {
			t.Errorf("health while stuck = %+v, want unhealthy at 3 after 3 or more failures", h)
		}
		fixed.Store(true)
		rec.waitLen(t, 8)
		if got := rec.snapshot(); !slices.Equal(got, seq(1, 8)) {
			t.Fatalf("applied %v, want 1…8 in order", got)
		}
	})

	t.Run("poison on failure keeps the message and continues", func(t *testing.T) {
		e := newEnv(t)
		ids := e.appendEvents(t, 6)
		rec := newRecorder()
		var fixed atomic.Bool
		rec.fail = func(_ context.Context, pos uint64, attempt int) error {
			if pos == 3 && !fixed.Load() {
				return errors.New("no plan for this")
			}
			return nil
		}
		r, _ := e.startConsumer(t, projections.PoisonOnFailure, rec)
		rec.waitLen(t, 5)
		if got := rec.snapshot(); !slices.Equal(got, []uint64{1, 2, 4, 5, 6}) {
			t.Fatalf("applied %v, want 1 2 4 5 6", got)
		}
		list, _ := e.poison.List(context.Background(), "c")
		if len(list) != 1 {
			t.Fatalf("poison store holds %d messages, want 1", len(list))
		}
		p := list[0]
		pr, err := projections.Unmarshal(p.Message)
		if err != nil || pr.ID != ids[2] || pr.Position.Commit != 3 || p.Consumer != "c" || !strings.Contains(p.Reason, "no plan for this") {
			t.Errorf("poisoned = %+v (event %+v, %v), want event 3 of consumer c with its reason", p, pr, err)
		}
		if h, _ := r.ConsumerHealth("c"); !h.Healthy || h.Poisoned != 1 || h.Position.Commit < 3 {
			t.Errorf("health = %+v, want healthy past 3 with 1 poisoned", h)
		}
		if err := r.ReplayPoisoned(context.Background(), "c"); err == nil {
			t.Errorf("ReplayPoisoned before the fix = nil, want the handler's error")
		}
		fixed.Store(true)
		if err := r.ReplayPoisoned(context.Background(), "c"); err != nil {
			t.Fatalf("ReplayPoisoned = %v", err)
		}
		if got := rec.snapshot(); !slices.Equal(got, []uint64{1, 2, 4, 5, 6, 3}) {
			t.Errorf("applied %v after replay, want 1 2 4 5 6 3", got)
		}
		if list, _ := e.poison.List(context.Background(), "c"); len(list) != 0 {
			t.Errorf("poison store holds %d messages after replay, want 0", len(list))
		}
	})

	t.Run("a panic is recovered and retried", func(t *testing.T) {
		e := newEnv(t)
		e.appendEvents(t, 4)
		rec := newRecorder()
		rec.fail = func(_ context.Context, pos uint64, attempt int) error {
			if pos == 2 && attempt == 1 {
				panic("handler bug")
			}
			return nil
		}
		e.startConsumer(t, projections.StopOnFailure, rec)
		rec.waitLen(t, 4)
		if got := rec.snapshot(); !slices.Equal(got, seq(1, 4)) {
			t.Fatalf("applied %v, want 1…4", got)
		}
	})

	t.Run("stopped mid-stream and restarted, resumes from the checkpoint", func(t *testing.T) {
		if !tr.durable {
			t.Skipf("%s keeps nothing for a stopped consumer", tr.name)
		}
		e := newEnv(t)
		e.appendEvents(t, 30)
		rec := newRecorder()
		for _, stopAt := range []uint64{7, 16, 23} {
			reached := make(chan struct{})
			var once sync.Once
			rec.fail = func(ctx context.Context, pos uint64, attempt int) error {
				if pos == stopAt {
					// Stop while this event is being handled; it completes.
					once.Do(func() { close(reached) })
					<-ctx.Done()
				}
				return nil
			}
			_, stop := e.startConsumer(t, projections.StopOnFailure, rec)
			waitClosed(t, reached, fmt.Sprintf("event %d", stopAt))
			stop()
			got := rec.snapshot()
			if !slices.Equal(got, seq(1, stopAt)) {
				t.Fatalf("applied %v when stopped while handling %d, want 1…%d", got, stopAt, stopAt)
			}
		}
		e.appendEvents(t, 5)
		rec.fail = nil
		e.startConsumer(t, projections.StopOnFailure, rec)
		rec.waitLen(t, 35)
		if got := rec.snapshot(); !slices.Equal(got, seq(1, 35)) {
			t.Fatalf("applied %v over three restarts, want 1…35 each once in order", got)
		}
	})
}

func TestConsumersOnFeed(t *testing.T) { testConsumers(t, feedTransport) }

func TestConsumersOnGoChannel(t *testing.T) {
	testConsumers(t, transport{name: "gochannel",
		setup: func(t *testing.T, e *env) func() (message.Subscriber, string) {
			bus := projections.NewGoChannelBus(nil)
			var once sync.Once // GoChannel keeps nothing: relay once the consumer listens
			e.started = func() { once.Do(func() { relay(t, e, bus.Publisher, "events") }) }
			return func() (message.Subscriber, string) { return bus.Subscriber, "events" }
		}})
}
