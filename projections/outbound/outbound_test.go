package outbound_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
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

// runRelay runs the outbound relay over store, publishing through pub,
// until the returned stop is called.
func runRelay(t *testing.T, store eventstore.Store, url string, js jetstream.JetStream, pub *countingPublisher) (stop func() int) {
	t.Helper()
	bus, err := projections.NewNATSBus(url, nil, projections.NATSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	last := outbound.NewLastPublished(js, outbound.Topic)
	feed := projections.NewFeed(store, projections.FeedConfig{Checkpoints: last})
	r, err := projections.NewRouter(projections.RouterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	pub.Publisher = bus.Publisher
	if err := r.AddConsumer(projections.Consumer{Name: "outbound", Source: feed, Policy: projections.StopOnFailure,
		Handler: outbound.Handler(pub, last)}); err != nil {
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

// countingPublisher counts the messages published through it. With
// release set, its first Publish closes held and waits until release is
// closed.
type countingPublisher struct {
	message.Publisher
	n             atomic.Int64
	held, release chan struct{}
	once          sync.Once
}

func (p *countingPublisher) Publish(topic string, msgs ...*message.Message) error {
	if p.release != nil {
		p.once.Do(func() { close(p.held); <-p.release })
	}
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
	stop := runRelay(t, store, url, js, &countingPublisher{})
	published(t, js, 20)
	if n := stop(); n != 20 {
		t.Errorf("the first relay published %d messages, want 20", n)
	}
	// Restart with more events: the relay continues after the last
	// published one, publishing nothing twice (counted at the publisher:
	// the server's duplicate window would hide repeats from the topic).
	events = append(events, appendEvents(t, store, 30, 15)...)
	stop = runRelay(t, store, url, js, &countingPublisher{})
	msgs := published(t, js, 30)
	if n := stop(); n != 10 {
		t.Errorf("the restarted relay published %d messages, want the 10 new ones", n)
	}

	want := publishable(events)
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

// publishable returns the events of events that leave Concord.
func publishable(events []eventstore.EventData) []eventstore.EventData {
	var out []eventstore.EventData
	for _, e := range events {
		if outbound.Publishable(e.Type) {
			out = append(out, e)
		}
	}
	return out
}

// TestRelayPublishesOnceBeyondTheDuplicateWindow: a relay that falls behind
// another by more than the topic's duplicate window (here 100ms, the
// server's least) publishes nothing twice: the server refuses its message
// (another relay has moved the topic on), and it skips what the topic
// holds.
func TestRelayPublishesOnceBeyondTheDuplicateWindow(t *testing.T) {
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: outbound.Topic, Subjects: []string{outbound.Topic},
		Duplicates: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	events := appendEvents(t, store, 0, 15)
	stop := runRelay(t, store, url, js, &countingPublisher{})
	published(t, js, 10)
	stop()
	// The lagging relay reads the topic's end (10 messages) and holds the
	// 11th event while another relay publishes the 11th to the 20th.
	events = append(events, appendEvents(t, store, 15, 15)...)
	lagging := &countingPublisher{held: make(chan struct{}), release: make(chan struct{})}
	stopLagging := runRelay(t, store, url, js, lagging)
	select {
	case <-lagging.held:
	case <-time.After(waitLimit):
		t.Fatalf("the lagging relay did not publish in %v", waitLimit)
	}
	stop = runRelay(t, store, url, js, &countingPublisher{})
	published(t, js, 20)
	stop()
	want := publishable(events)
	windowPassed(t, js, want[10].ID.String())
	// Released past the window, the lagging relay skips the 11th to the
	// 20th and publishes the events appended since.
	close(lagging.release)
	events = append(events, appendEvents(t, store, 30, 15)...)
	published(t, js, 30)
	if n := stopLagging(); n != 11 {
		t.Errorf("the lagging relay published %d messages, want 11: the 11th event once (refused), then the 10 new ones", n)
	}
	want = publishable(events)
	msgs := published(t, js, 30)
	var got []string
	for _, m := range msgs {
		got = append(got, m.Headers().Get(nats.MsgIdHdr))
	}
	var ids []string
	for _, e := range want {
		ids = append(ids, e.ID.String())
	}
	if i := firstDifference(got, ids); i >= 0 {
		t.Errorf("the topic holds %d messages, want the %d publishable events once each, in log order: message %d is %s, want %s",
			len(got), len(ids), i, at(got, i), at(ids, i))
	}
}

// firstDifference returns the first index at which a and b differ, -1 when
// they are equal.
func firstDifference(a, b []string) int {
	for i := range max(len(a), len(b)) {
		if at(a, i) != at(b, i) {
			return i
		}
	}
	return -1
}

// at returns s[i], "nothing" past its end.
func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "nothing"
}

// errWrongLastMsgID is the server's code for a wrong expected last message
// id (JSStreamWrongLastMsgIDErrF in nats-server's errors.json), which
// nats.go names no constant for.
const errWrongLastMsgID jetstream.ErrorCode = 10070

// windowPassed waits until the topic's stream no longer remembers the
// message id id: a probe with that id, expecting a last message id no
// message has, is no longer acknowledged as a duplicate but refused
// (stored neither way).
func windowPassed(t *testing.T, js jetstream.JetStream, id string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		ack, err := js.PublishMsg(ctx, &nats.Msg{Subject: outbound.Topic}, jetstream.WithMsgID(id), jetstream.WithExpectLastMsgID("no such message"))
		cancel()
		var apiErr *jetstream.APIError
		switch {
		case errors.As(err, &apiErr) && apiErr.ErrorCode == errWrongLastMsgID:
			return
		case err == nil && !ack.Duplicate:
			t.Fatalf("the probe for %s was stored", id)
		case err != nil && !errors.As(err, &apiErr):
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the duplicate window of %s did not pass in %v", id, waitLimit)
		}
		time.Sleep(10 * time.Millisecond)
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
	_, js := natstest.Connect(t, natstest.Start(t)) // the topic does not exist yet: the relay starts at its beginning
	pub := &recordingPublisher{}
	h := outbound.Handler(pub, outbound.NewLastPublished(js, outbound.Topic))
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

// unansweredPublisher answers its first Publish with the client's
// timeout without publishing, as a message the server dropped unanswered;
// it fails every later Publish, so whatever the topic gets after that is
// the relay's nudge.
type unansweredPublisher struct {
	message.Publisher
	calls int
}

func (p *unansweredPublisher) Publish(topic string, msgs ...*message.Message) error {
	p.calls++
	if p.calls == 1 {
		return fmt.Errorf("sending message failed: %w", nats.ErrTimeout)
	}
	return errors.New("publisher used after the nudge")
}

// TestRelayNudgesAnUnansweredPublish: a publish that times out is sent
// again as copies of the same message (the nudge) once the topic's end is
// read, and the topic holds the event once, whatever the number of copies.
func TestRelayNudgesAnUnansweredPublish(t *testing.T) {
	url := natstest.Start(t)
	bus, err := projections.NewNATSBus(url, nil, projections.NATSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	last := outbound.NewLastPublished(bus.JetStream, outbound.Topic)
	first := eventstore.RecordedEvent{ID: uuid.Must(uuid.NewV7()), Type: "ledger.ActualRecorded", SchemaVersion: 1,
		Stream: "ledger-1", Version: 1, Position: eventstore.Position{Commit: 1, Prepare: 1}, Data: []byte(`{}`)}
	// The topic's stream exists, holding the first event.
	if err := outbound.Handler(bus.Publisher, last).Handle(context.Background(), first, nil); err != nil {
		t.Fatal(err)
	}
	pub := &unansweredPublisher{Publisher: bus.Publisher}
	relay := outbound.Handler(pub, last)
	second := first
	second.ID, second.Stream, second.Position = uuid.Must(uuid.NewV7()), "ledger-2", eventstore.Position{Commit: 2, Prepare: 2}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := relay.Handle(ctx, second, nil); err != nil {
		t.Fatalf("the relay after an unanswered publish: %v", err)
	}
	if pub.calls != 1 {
		t.Errorf("the publisher was called %d times, want once (then the nudge)", pub.calls)
	}
	msgs := published(t, bus.JetStream, 2)
	var got []string
	for _, m := range msgs {
		got = append(got, m.Headers().Get(projections.MetaPosition))
	}
	if fmt.Sprint(got) != "[1 2]" {
		t.Errorf("the topic holds positions %v, want [1 2]", got)
	}
}
