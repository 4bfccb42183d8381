package outbound_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/concord-planning/concord/domain/alert"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/projections"
	"github.com/concord-planning/concord/projections/natstest"
	"github.com/concord-planning/concord/projections/outbound"
)

const waitLimit = 20 * time.Second

// appendEvents appends n events to the store, every third an access
// token event (which must never leave Concord).
func appendEvents(t *testing.T, s eventstore.Store, from, n int) []eventstore.EventData {
	t.Helper()
	var all []eventstore.EventData
	for i := from; i < from+n; i++ {
		typ, stream := "ledger.ActualRecorded", fmt.Sprintf("ledger-%d", i)
		if i%3 == 2 {
			typ, stream = "access.TokenIssued", fmt.Sprintf("token-%d", i)
		}
		ev := eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: typ, SchemaVersion: 1,
			Data: fmt.Appendf(nil, `{"i":%d}`, i), Metadata: eventstore.Metadata{Actor: "cli:test", CorrelationID: fmt.Sprint("c", i)}}
		if _, err := s.Append(context.Background(), stream, eventstore.NoStream, ev); err != nil {
			t.Fatal(err)
		}
		all = append(all, ev)
	}
	return all
}

// runRelay runs the outbound relay over store until the returned stop is
// called.
func runRelay(t *testing.T, store eventstore.Store, url string, js jetstream.JetStream) (stop func() int) {
	t.Helper()
	bus, err := projections.NewNATSBus(url, nil, projections.NATSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	feed := projections.NewFeed(store, projections.FeedConfig{Checkpoints: outbound.NewLastPublished(js, outbound.Topic)})
	r, err := projections.NewRouter(projections.RouterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	pub := &countingPublisher{Publisher: bus.Publisher}
	if err := r.AddConsumer(projections.Consumer{Name: "outbound", Source: feed, Policy: projections.StopOnFailure,
		Handler: outbound.Handler(pub, outbound.Topic)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	return func() int {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("relay: %v", err)
		}
		feed.Close()
		bus.Close()
		return int(pub.n.Load())
	}
}

// countingPublisher counts the messages published through it.
type countingPublisher struct {
	message.Publisher
	n atomic.Int64
}

func (p *countingPublisher) Publish(topic string, msgs ...*message.Message) error {
	p.n.Add(int64(len(msgs)))
	return p.Publisher.Publish(topic, msgs...)
}

// published waits until the topic holds want messages and returns them.
func published(t *testing.T, js jetstream.JetStream, want int) []jetstream.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	for {
		s, err := js.Stream(ctx, outbound.Topic)
		if err == nil {
			info, err := s.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if info.State.Msgs >= uint64(want) {
				break
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the topic did not reach %d messages in %v", want, waitLimit)
		case <-time.After(10 * time.Millisecond):
		}
	}
	c, err := js.OrderedConsumer(ctx, outbound.Topic, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := c.FetchNoWait(want + 10)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []jetstream.Msg
	for m := range batch.Messages() {
		msgs = append(msgs, m)
	}
	return msgs
}

// TestRelayPublishesEachEventOnceInOrder: every publishable event reaches
// the topic once, in log order, with the documented headers; token events
// never do; a restarted relay continues after the last published event.
func TestRelayPublishesEachEventOnceInOrder(t *testing.T) {
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	events := appendEvents(t, store, 0, 30)
	stop := runRelay(t, store, url, js)
	published(t, js, 20)
	if n := stop(); n != 20 {
		t.Errorf("the first relay published %d messages, want 20", n)
	}
	// Restart with more events: the relay continues after the last
	// published one, publishing nothing twice (counted at the publisher:
	// the server's duplicate window would hide repeats from the topic).
	events = append(events, appendEvents(t, store, 30, 15)...)
	stop = runRelay(t, store, url, js)
	msgs := published(t, js, 30)
	if n := stop(); n != 10 {
		t.Errorf("the restarted relay published %d messages, want the 10 new ones", n)
	}

	var want []eventstore.EventData
	for _, e := range events {
		if outbound.Publishable(e.Type) {
			want = append(want, e)
		}
	}
	if len(msgs) != len(want) {
		t.Fatalf("the topic holds %d messages, want %d (one per publishable event)", len(msgs), len(want))
	}
	var last eventstore.Position
	for i, m := range msgs {
		h := m.Headers()
		if id := h.Get("_watermill_message_uuid"); id != want[i].ID.String() {
			t.Errorf("message %d: id %s, want %s (log order)", i, id, want[i].ID)
		}
		if id := h.Get(nats.MsgIdHdr); id != want[i].ID.String() {
			t.Errorf("message %d: Nats-Msg-Id %q, want the event id", i, id)
		}
		if got := h.Get(outbound.MetaMessageSchema); got != outbound.MessageSchema {
			t.Errorf("message %d: %s %q, want %q", i, outbound.MetaMessageSchema, got, outbound.MessageSchema)
		}
		if h.Get("type") != want[i].Type || h.Get("schema_version") != "1" || h.Get("actor") != "cli:test" || h.Get("correlation_id") != want[i].Metadata.CorrelationID {
			t.Errorf("message %d: headers %v do not describe event %+v", i, h, want[i])
		}
		if string(m.Data()) != string(want[i].Data) {
			t.Errorf("message %d: payload %s, want %s", i, m.Data(), want[i].Data)
		}
		pos, err := eventstore.ParsePosition(h.Get("position"))
		if err != nil || !last.Before(pos) {
			t.Errorf("message %d: position %q after %v: want increasing positions", i, h.Get("position"), last)
		}
		last = pos
		if _, err := time.Parse(time.RFC3339Nano, h.Get("recorded_at")); err != nil {
			t.Errorf("message %d: recorded_at: %v", i, err)
		}
	}
}

func TestLastPublishedOfAMissingTopicIsTheStart(t *testing.T) {
	_, js := natstest.Connect(t, natstest.Start(t))
	pos, err := outbound.NewLastPublished(js, "nothing_here").LoadCheckpoint(context.Background(), "outbound")
	if err != nil || pos != eventstore.Start {
		t.Errorf("LoadCheckpoint of a missing topic = %v, %v; want the start, nil", pos, err)
	}
}

// recordingPublisher keeps what is published through it.
type recordingPublisher struct{ msgs []*message.Message }

func (p *recordingPublisher) Publish(_ string, msgs ...*message.Message) error {
	p.msgs = append(p.msgs, msgs...)
	return nil
}
func (p *recordingPublisher) Close() error { return nil }

// TestRelayCarriesAlerts: in distributed mode the outbound topic carries the
// alerts as they are raised and resolved, with their payload unchanged.
func TestRelayCarriesAlerts(t *testing.T) {
	pub := &recordingPublisher{}
	h := outbound.Handler(pub, outbound.Topic)
	events := []eventstore.RecordedEvent{
		{ID: uuid.Must(uuid.NewV7()), Stream: alert.Stream("fy28"), Type: alert.TypeRaised, SchemaVersion: 1, Data: []byte(`{"id":"a1","rule":"emea-fy"}`)},
		{ID: uuid.Must(uuid.NewV7()), Stream: "token-1", Type: "access.TokenIssued", SchemaVersion: 1, Data: []byte(`{}`)},
		{ID: uuid.Must(uuid.NewV7()), Stream: alert.Stream("fy28"), Type: alert.TypeResolved, SchemaVersion: 1, Data: []byte(`{"id":"a1"}`)},
	}
	for i, rec := range events {
		rec.Position = eventstore.Position{Commit: uint64(i + 1), Prepare: uint64(i + 1)}
		if err := h.Handle(context.Background(), rec, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(pub.msgs) != 2 {
		t.Fatalf("the relay published %d messages, want the raise and the resolution", len(pub.msgs))
	}
	for i, want := range []eventstore.RecordedEvent{events[0], events[2]} {
		got, err := projections.Unmarshal(pub.msgs[i])
		if err != nil {
			t.Fatal(err)
		}
		if got.Type != want.Type || string(got.Data) != string(want.Data) || pub.msgs[i].Metadata.Get(outbound.MetaMessageSchema) != outbound.MessageSchema {
			t.Errorf("message %d = %s %s, want %s %s", i, got.Type, got.Data, want.Type, want.Data)
		}
	}
}
