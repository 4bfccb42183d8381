package projections_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/projections"
	"github.com/concord-planning/concord/projections/natstest"
)

func natsOptions(group string) projections.NATSOptions {
	// AckWait bounds how long a message whose acknowledgement was lost at a
	// stop waits before the server delivers it again.
	return projections.NATSOptions{Group: group, AckWait: time.Second, Redelivery: fastRedelivery()}
}

func TestConsumersOnNATS(t *testing.T) {
	testConsumers(t, transport{name: "nats", durable: true,
		setup: func(t *testing.T, e *env) func() (message.Subscriber, string) {
			url := natstest.Start(t)
			out, err := projections.NewNATSBus(url, nil, natsOptions(""))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { out.Publisher.Close() })
			relay(t, e, out.Publisher, "events")
			return func() (message.Subscriber, string) {
				bus, err := projections.NewNATSBus(url, nil, natsOptions("c"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { bus.Publisher.Close() })
				return bus.Subscriber, "events"
			}
		}})
}

// TestNATSWorkersShareJobs: two workers in one queue group share a topic's
// messages: each job goes to one worker, none is lost.
func TestNATSWorkersShareJobs(t *testing.T) {
	url := natstest.Start(t)
	e := &env{store: newMemStore(), checkpoints: projections.NewMemoryCheckpoints()}
	ids := e.appendEvents(t, 40)
	opts := natsOptions("reforecast")
	opts.MaxInFlight = 8
	var mu sync.Mutex
	got := map[string][]string{} // worker → event IDs
	all := newRecorder()
	for _, w := range []string{"w1", "w2"} {
		bus, err := projections.NewNATSBus(url, nil, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { bus.Publisher.Close() })
		r, err := projections.NewRouter(projections.RouterConfig{Retry: fastRetry()})
		if err != nil {
			t.Fatal(err)
		}
		h := projections.HandlerFunc(func(ctx context.Context, rec eventstore.RecordedEvent, ev any) error {
			mu.Lock()
			got[w] = append(got[w], rec.ID.String())
			mu.Unlock()
			return all.Handle(ctx, rec, ev)
		})
		if err := r.AddConsumer(projections.Consumer{Name: "reforecast-" + w, Source: bus.Subscriber, Topic: "jobs",
			Policy: projections.StopOnFailure, Handler: h, Shared: true}); err != nil {
			t.Fatal(err)
		}
		run(t, r)
	}
	pub, err := projections.NewNATSBus(url, nil, natsOptions(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Publisher.Close() })
	for _, rec := range e.store.events {
		if err := pub.Publisher.Publish("jobs", projections.Marshal(rec)); err != nil {
			t.Fatal(err)
		}
	}
	all.waitLen(t, 40)
	mu.Lock()
	defer mu.Unlock()
	union := slices.Concat(got["w1"], got["w2"])
	slices.Sort(union)
	var want []string
	for _, id := range ids {
		want = append(want, id.String())
	}
	slices.Sort(want)
	if !slices.Equal(union, want) {
		t.Errorf("workers handled %d jobs %v, want each of the 40 once", len(union), union)
	}
	t.Log(fmt.Sprintf("w1 took %d jobs, w2 %d", len(got["w1"]), len(got["w2"])))
}

// TestNATSGroupOutlivesAMember stops the worker whose subscription made the
// group's durable consumer, then publishes: the other worker of the group
// takes every job. (nats.go deletes a consumer it created when that
// subscription ends, which left the rest of a group deaf.)
func TestNATSGroupOutlivesAMember(t *testing.T) {
	url := natstest.Start(t)
	e := &env{store: newMemStore(), checkpoints: projections.NewMemoryCheckpoints()}
	ids := e.appendEvents(t, 10)
	opts := natsOptions("reforecast")
	var stops []func()
	var buses []*projections.Bus
	got := newRecorder()
	for _, w := range []string{"first", "second"} {
		bus, err := projections.NewNATSBus(url, nil, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { bus.Close() })
		r, err := projections.NewRouter(projections.RouterConfig{Retry: fastRetry()})
		if err != nil {
			t.Fatal(err)
		}
		h := projections.HandlerFunc(func(ctx context.Context, rec eventstore.RecordedEvent, ev any) error {
			if w == "first" {
				t.Errorf("the stopped worker took %s", rec.ID)
			}
			return got.Handle(ctx, rec, ev)
		})
		if err := r.AddConsumer(projections.Consumer{Name: "reforecast-" + w, Source: bus.Subscriber, Topic: "jobs",
			Policy: projections.StopOnFailure, Handler: h, Shared: true}); err != nil {
			t.Fatal(err)
		}
		stops = append(stops, run(t, r))
		buses = append(buses, bus)
	}
	stops[0]()
	if err := buses[0].Close(); err != nil {
		t.Fatal(err)
	}
	pub, err := projections.NewNATSBus(url, nil, natsOptions(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Publisher.Close() })
	for _, rec := range e.store.events {
		if err := pub.Publisher.Publish("jobs", projections.Marshal(rec)); err != nil {
			t.Fatal(err)
		}
	}
	got.waitLen(t, len(ids))
}

// TestNATSUnhandledMessageIsDeliveredAgain: a message the subscriber took
// from NATS but nobody acknowledged (its subscriber closed first) is
// delivered again to the next subscriber of the group, before the messages
// after it. nats.go acknowledged it by itself when Watermill's callback
// returned, so it was lost: a worker stopped between jobs dropped one, and
// an ordered consumer restarted past it.
func TestNATSUnhandledMessageIsDeliveredAgain(t *testing.T) {
	url := natstest.Start(t)
	e := &env{store: newMemStore(), checkpoints: projections.NewMemoryCheckpoints()}
	ids := e.appendEvents(t, 2)
	pub, err := projections.NewNATSBus(url, nil, natsOptions(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	relay(t, e, pub.Publisher, "events")
	first := func(bus *projections.Bus) *message.Message {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		ch, err := bus.Subscriber.Subscribe(ctx, "events")
		if err != nil {
			t.Fatal(err)
		}
		select {
		case msg := <-ch:
			return msg
		case <-ctx.Done():
			t.Fatalf("no message after %v", waitLimit)
			return nil
		}
	}
	bus, err := projections.NewNATSBus(url, nil, natsOptions("c"))
	if err != nil {
		t.Fatal(err)
	}
	if msg := first(bus); msg.UUID != ids[0].String() {
		t.Fatalf("first message %s, want the first event %s", msg.UUID, ids[0])
	}
	// Closed without acknowledging the message it handed out.
	if err := bus.Close(); err != nil {
		t.Logf("closing the first subscriber: %v", err)
	}
	again, err := projections.NewNATSBus(url, nil, natsOptions("c"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { again.Close() })
	msg := first(again)
	if msg.UUID != ids[0].String() {
		t.Fatalf("the next subscriber's first message is %s, want the unacknowledged first event %s again (the second is %s)", msg.UUID, ids[0], ids[1])
	}
}
