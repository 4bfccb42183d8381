package outbound

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/projections"
)

const (
	// Topic is the external topic of the current schema: a new major
	// version of the envelope gets a new topic, so consumers of the old one
	// keep working while they migrate.
	Topic = "concord_events_v1"
	// MessageSchema names the envelope version every message carries.
	MessageSchema = "concord.event/1"
	// MetaMessageSchema is the metadata key (header) holding MessageSchema.
	MetaMessageSchema = "message_schema"
)

// Publishable reports whether events of type eventType leave Concord: every
// domain event except those of access tokens.
func Publishable(eventType string) bool {
	return !strings.HasPrefix(eventType, "access.")
}

// Handler returns the outbound relay: each publishable event, marshalled as
// projections.Marshal does with MetaMessageSchema added, is published to
// topic; other events are acknowledged without a message. Run it on a Feed
// with StopOnFailure, so that an event the publisher refuses is published
// again rather than lost.
func Handler(pub message.Publisher, topic string) projections.Handler {
	return projections.HandlerFunc(func(ctx context.Context, rec eventstore.RecordedEvent, _ any) error {
		if !Publishable(rec.Type) {
			return nil
		}
		msg := projections.Marshal(rec)
		msg.Metadata.Set(MetaMessageSchema, MessageSchema)
		msg.SetContext(ctx)
		if err := pub.Publish(topic, msg); err != nil {
			return fmt.Errorf("outbound: publish %s (position %v) to %q: %w", rec.ID, rec.Position, topic, err)
		}
		return nil
	})
}

// LastPublished is a projections.Checkpoints for the outbound relay kept by
// the topic itself: a consumer's checkpoint is the position of the last
// message on the JetStream stream of the topic, and saving is a no-op,
// since a published message is its own record. Several publishers may share
// it.
type LastPublished struct {
	js    jetstream.JetStream
	topic string
}

var _ projections.Checkpoints = (*LastPublished)(nil)

// NewLastPublished returns the checkpoints of the relay publishing to topic
// (whose JetStream stream has the topic's name, as projections.NewNATSBus
// provisions it) through js.
func NewLastPublished(js jetstream.JetStream, topic string) *LastPublished {
	return &LastPublished{js: js, topic: topic}
}

// LoadCheckpoint returns the position of the last message of the topic,
// eventstore.Start when the topic has none or does not exist yet.
func (l *LastPublished) LoadCheckpoint(ctx context.Context, _ string) (eventstore.Position, error) {
	stream, err := l.js.Stream(ctx, l.topic)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return eventstore.Start, nil
	}
	if err != nil {
		return eventstore.Start, fmt.Errorf("outbound: stream %q: %w", l.topic, err)
	}
	last, err := stream.GetLastMsgForSubject(ctx, l.topic)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return eventstore.Start, nil
	}
	if err != nil {
		return eventstore.Start, fmt.Errorf("outbound: last message of %q: %w", l.topic, err)
	}
	raw := last.Header.Get(projections.MetaPosition)
	pos, err := eventstore.ParsePosition(raw)
	if err != nil {
		return eventstore.Start, fmt.Errorf("outbound: last message of %q (sequence %d): header %s %q: %w",
			l.topic, last.Sequence, projections.MetaPosition, raw, err)
	}
	return pos, nil
}

// SaveCheckpoint does nothing: the published message is the checkpoint.
func (l *LastPublished) SaveCheckpoint(context.Context, string, eventstore.Position) error {
	return nil
}
