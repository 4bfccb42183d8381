package outbound

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
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

// Handler returns the outbound relay to the topic of last: each
// publishable event, marshalled as projections.Marshal does with
// MetaMessageSchema added, is published to the topic once; other events
// are acknowledged without a message. Run it on a Feed checkpointed by
// last, with StopOnFailure, so that an event the publisher refuses is
// published again rather than lost.
//
// Several relays may publish to one topic (every replica runs one), and
// the duplicate window of the topic's stream (JetStream's default: two
// minutes) does not bound how far one may fall behind another. So each
// message carries the stream sequence the relay expects the topic to end
// at (Nats-Expected-Last-Sequence): the server refuses it when another
// relay has published meanwhile, and the relay then reads the topic's
// last message and skips every event the topic already holds (by log
// position). A publish whose answer is lost (a timeout) is settled the
// same way on its retry. The message id (the event id) still lets the
// server drop a copy within its window.
//
// A publish that goes unanswered while the topic's end can be read is sent
// again as a pipeline of copies (see LastPublished.nudge), not one copy a
// delivery: a stream leader of nats-server 2.9 that regains the leadership
// proposes messages at sequences it already used, and drops them without
// an answer, until it has made as many proposals as the stream refused
// meanwhile (every race between relays adds one).
func Handler(pub message.Publisher, last *LastPublished) projections.Handler {
	return &relay{pub: pub, last: last}
}

// relay is the state of one outbound relay: the position and stream
// sequence it knows the topic to end at, after it has read the topic's
// last message or published.
type relay struct {
	pub  message.Publisher
	last *LastPublished

	mu    sync.Mutex
	known bool
	pos   eventstore.Position
	seq   uint64
	// unanswered is set when the last publish timed out: the next copy of
	// the event goes as a pipeline (nudge).
	unanswered bool
}

// relayAttempts bounds how often one event is tried against a topic other
// relays keep moving, before Handle leaves it to the router's retry.
const relayAttempts = 5

func (r *relay) Handle(ctx context.Context, rec eventstore.RecordedEvent, _ any) error {
	if !Publishable(rec.Type) {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var err error
	for range relayAttempts {
		if !r.known {
			if r.pos, r.seq, err = r.last.last(ctx); err != nil {
				return err
			}
			r.known = true
		}
		if !r.pos.Before(rec.Position) {
			r.unanswered = false
			return nil // the topic holds the event already: another relay (or a late answered publish) stored it
		}
		msg := projections.Marshal(rec)
		msg.Metadata.Set(MetaMessageSchema, MessageSchema)
		msg.Metadata.Set(nats.ExpectedLastSeqHdr, strconv.FormatUint(r.seq, 10))
		msg.SetContext(ctx)
		if r.unanswered {
			// The last publish went unanswered and the topic does not
			// hold the event: send it again as a nudge, then, whatever
			// the server answered, read the topic's end again.
			r.known = false
			if err = r.last.nudge(ctx, msg); err != nil {
				break
			}
			r.unanswered = false
			continue
		}
		if err = r.pub.Publish(r.last.topic, msg); err == nil {
			r.pos, r.seq = rec.Position, r.seq+1
			return nil
		}
		// Whether or not the message was stored, read the topic's end again.
		r.known = false
		if unanswered(err) {
			r.unanswered = true
			continue
		}
		if !wrongLastSequence(err) {
			break
		}
	}
	return fmt.Errorf("outbound: publish %s (position %v) to %q: %w", rec.ID, rec.Position, r.last.topic, err)
}

// wrongLastSequence reports whether err is the server's refusal of a
// message whose expected last sequence is not the stream's.
func wrongLastSequence(err error) bool {
	var apiErr *nats.APIError
	return errors.As(err, &apiErr) &&
		(apiErr.ErrorCode == nats.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == nats.JSErrCodeStreamWrongLastSequenceConstant)
}

// unanswered reports whether err is a publish the server did not answer in
// time.
func unanswered(err error) bool {
	return errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded)
}

// nudgeWait is how long nudge waits for an answer to each batch of copies
// before it sends twice as many; nudgeBatch bounds a batch, nudgeCopies
// all the copies of one nudge.
const (
	nudgeWait   = 200 * time.Millisecond
	nudgeBatch  = 256
	nudgeCopies = 4096
)

// nudge sends copies of msg to the topic (each with the message id and
// the expected last sequence of msg, so the server stores one at most) in
// batches of 1, 2, 4, ... nudgeBatch without waiting between them, until
// the server answers one of them, whatever the answer; ctx and
// nudgeCopies bound it. Each copy is one proposal to the stream's leader:
// a leader that drops the proposals of the sequences it reused
// (nats-server 2.9) comes to a fresh sequence after as many proposals as
// the stream refused meanwhile, in a few batches, not after as many
// deliveries of the relay.
func (l *LastPublished) nudge(ctx context.Context, msg *message.Message) error {
	m, err := (&wmnats.NATSMarshaler{}).Marshal(l.topic, msg)
	if err != nil {
		return fmt.Errorf("outbound: marshal %s: %w", msg.UUID, err)
	}
	m.Header.Set(nats.MsgIdHdr, msg.UUID)
	conn := l.js.Conn()
	m.Reply = conn.NewRespInbox()
	answers, err := conn.SubscribeSync(m.Reply)
	if err != nil {
		return fmt.Errorf("outbound: nudge %q: %w", l.topic, err)
	}
	defer answers.Unsubscribe()
	for batch, sent := 1, 0; ; batch = min(2*batch, nudgeBatch) {
		if sent >= nudgeCopies {
			return fmt.Errorf("outbound: publish %s to %q: no answer to %d copies", msg.UUID, l.topic, sent)
		}
		sent += batch
		for range batch {
			if err := conn.PublishMsg(m); err != nil {
				return fmt.Errorf("outbound: nudge %q with %s: %w", l.topic, msg.UUID, err)
			}
		}
		wait, cancel := context.WithTimeout(ctx, nudgeWait)
		_, err := answers.NextMsgWithContext(wait)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("outbound: publish %s to %q: no answer: %w", msg.UUID, l.topic, ctx.Err())
		}
	}
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
	pos, _, err := l.last(ctx)
	return pos, err
}

// last returns the position and the stream sequence of the last message of
// the topic; eventstore.Start and 0 when it has none or does not exist yet.
func (l *LastPublished) last(ctx context.Context) (eventstore.Position, uint64, error) {
	stream, err := l.js.Stream(ctx, l.topic)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return eventstore.Start, 0, nil
	}
	if err != nil {
		return eventstore.Start, 0, fmt.Errorf("outbound: stream %q: %w", l.topic, err)
	}
	last, err := stream.GetLastMsgForSubject(ctx, l.topic)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return eventstore.Start, 0, nil
	}
	if err != nil {
		return eventstore.Start, 0, fmt.Errorf("outbound: last message of %q: %w", l.topic, err)
	}
	raw := last.Header.Get(projections.MetaPosition)
	pos, err := eventstore.ParsePosition(raw)
	if err != nil {
		return eventstore.Start, 0, fmt.Errorf("outbound: last message of %q (sequence %d): header %s %q: %w",
			l.topic, last.Sequence, projections.MetaPosition, raw, err)
	}
	return pos, last.Sequence, nil
}

// SaveCheckpoint does nothing: the published message is the checkpoint.
func (l *LastPublished) SaveCheckpoint(context.Context, string, eventstore.Position) error {
	return nil
}
