package outbound

import (
	"errors"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"

	"github.com/concord-planning/concord/projections"
	"github.com/concord-planning/concord/projections/natstest"
)

// TestWrongLastSequenceRecognisesTheServersRefusal: a message expecting a
// last sequence the topic is not at is refused, and the refusal, as the
// Watermill publisher returns it, is recognised (the relay then reads the
// topic's end instead of failing the delivery); other errors are not.
func TestWrongLastSequenceRecognisesTheServersRefusal(t *testing.T) {
	bus, err := projections.NewNATSBus(natstest.Start(t), nil, projections.NATSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	publish := func(expect string) error {
		msg := message.NewMessage("m-"+expect, []byte("{}"))
		msg.Metadata.Set(nats.ExpectedLastSeqHdr, expect)
		return bus.Publisher.Publish(Topic, msg)
	}
	if err := publish("0"); err != nil {
		t.Fatalf("publish expecting an empty topic: %v", err)
	}
	err = publish("0") // the topic is at 1 now
	if err == nil || !wrongLastSequence(err) {
		t.Errorf("publish expecting sequence 0 of a topic at 1: wrongLastSequence(%v) = false, want true", err)
	}
	if other := errors.New("nats: timeout"); wrongLastSequence(other) {
		t.Errorf("wrongLastSequence(%v) = true, want false", other)
	}
}
