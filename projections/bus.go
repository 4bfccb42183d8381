package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/concord-planning/concord/domain/eventstore"
)

// Bus is a publisher and subscriber pair over one transport: work
// distribution (jobs fanned out to a consumer group) and the outbound
// publisher. Consumers on a Bus run on a Router like those on a Feed.
type Bus struct {
	Publisher  message.Publisher
	Subscriber message.Subscriber
	// JetStream is the JetStream API on the publisher's connection, for what
	// Watermill does not cover (key-value buckets, a stream's last
	// message); nil on GoChannel.
	JetStream jetstream.JetStream
	conns     []*nats.Conn // the NATS connections, for Connected
}

// Close closes the subscriber, then the publisher.
func (b *Bus) Close() error {
	return errors.Join(b.Subscriber.Close(), b.Publisher.Close())
}

// ErrDisconnected is returned by Connected while a connection of the bus to
// NATS is lost (reconnecting, or closed).
var ErrDisconnected = errors.New("projections: not connected to NATS")

// Connected returns nil when every connection of the bus is up (always, on
// GoChannel), and otherwise an error wrapping ErrDisconnected that names
// the connection and its state. It is safe for concurrent use.
func (b *Bus) Connected() error {
	for i, c := range b.conns {
		if st := c.Status(); st != nats.CONNECTED {
			return fmt.Errorf("%w: %s connection %s", ErrDisconnected, []string{"publisher", "subscriber"}[i], strings.ToLower(st.String()))
		}
	}
	return nil
}

// NewGoChannelBus returns the embedded bus: Watermill's in-process GoChannel
// with ordered delivery (Publish blocks until every subscriber of the topic
// acknowledges; a nacked message is delivered again at once, the Router's
// retry providing the backoff). It keeps nothing: a message published to a
// topic nobody subscribes to is dropped, and a subscriber sees only what is
// published while it is subscribed. Every subscriber gets every message.
func NewGoChannelBus(logger *slog.Logger) *Bus {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	gc := gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, watermill.NewSlogLogger(logger))
	return &Bus{Publisher: gc, Subscriber: gc}
}

// NATSOptions configures a Bus on NATS JetStream.
type NATSOptions struct {
	// Group names the durable JetStream consumer and its queue group:
	// subscribers with the same Group share one position on a topic, and
	// each message goes to one of them; it survives restarts. Empty gives
	// each subscription an ephemeral consumer reading the stream from its
	// start.
	Group string
	// MaxInFlight is how many messages the server lets the group hold
	// unacknowledged. 1 (the default) keeps delivery in order, a nacked
	// message coming back before any later one; more lets workers of a group
	// handle messages in parallel, out of order.
	MaxInFlight int
	// Subscribers is how many messages this process handles at once, each
	// subscription holding one (default 1). The server's limit for the
	// whole group is MaxInFlight.
	Subscribers int
	// AckWait is how long the server waits for an acknowledgement before it
	// delivers a message again. Default 30s.
	AckWait time.Duration
	// Redelivery is the delay before a nacked message is delivered again.
	// Default 50ms doubling up to 5s.
	Redelivery Backoff
	// Replicas is how many servers of a JetStream cluster keep each topic's
	// stream (1, the default, on a single server; 3 on a three-node cluster,
	// which then survives the loss of one). Streams are created, or updated
	// to it, when first published or subscribed to.
	Replicas int
	// Connect are extra options for the NATS connections.
	Connect []nats.Option
}

// NewNATSBus returns a Bus on the NATS server at url with JetStream: each
// topic is a stream of the same name, opts.Replicas-fold replicated
// (created or updated when first used; a topic is a valid stream name: no
// '.', '*', '>', spaces or path separators),
// published with the message UUID as JetStream message ID (the server drops
// a republished event within its duplicate window), and consumed through
// durable consumers with explicit acks.
func NewNATSBus(url string, logger *slog.Logger, opts NATSOptions) (*Bus, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 1
	}
	opts.Subscribers = max(opts.Subscribers, 1)
	if opts.AckWait <= 0 {
		opts.AckWait = 30 * time.Second
	}
	opts.Redelivery = opts.Redelivery.orDefault(50*time.Millisecond, 5*time.Second)
	opts.Replicas = max(opts.Replicas, 1)
	wlog := watermill.NewSlogLogger(logger)
	connect := append([]nats.Option{nats.Name("concord"), nats.MaxReconnects(-1)}, opts.Connect...)

	js := wmnats.JetStreamConfig{
		TrackMsgId: true,
		SubscribeOptions: []nats.SubOpt{
			// Without ManualAck, nats.go acknowledges every message once
			// Watermill's callback returns, and that callback returns
			// without handing the message on when the subscriber is
			// closing: a message received in the last moment of a stop
			// was acknowledged unhandled, so a stopped worker lost a job
			// and an ordered consumer skipped an event. Acknowledgements
			// come from the router alone; what it never saw is delivered
			// again after AckWait.
			nats.ManualAck(),
			nats.AckExplicit(),
			nats.DeliverAll(),
			nats.MaxAckPending(opts.MaxInFlight),
			nats.AckWait(opts.AckWait),
		},
	}
	if opts.Group != "" {
		js.DurablePrefix = opts.Group
		js.DurableCalculator = func(prefix, topic string) string { return prefix + "_" + topic }
	}
	pubConn, err := nats.Connect(url, connect...)
	if err != nil {
		return nil, fmt.Errorf("projections: NATS publisher at %s: %w", url, err)
	}
	pub, err := wmnats.NewPublisherWithNatsConn(pubConn, wmnats.PublisherPublishConfig{Marshaler: &wmnats.NATSMarshaler{}, SubjectCalculator: wmnats.DefaultSubjectCalculator, JetStream: js}, wlog)
	if err != nil {
		pubConn.Close()
		return nil, fmt.Errorf("projections: NATS publisher at %s: %w", url, err)
	}
	jsAPI, err := jetstream.New(pubConn)
	if err != nil {
		pub.Close()
		return nil, fmt.Errorf("projections: JetStream at %s: %w", url, err)
	}
	subConn, err := nats.Connect(url, connect...)
	if err != nil {
		pub.Close()
		return nil, fmt.Errorf("projections: NATS subscriber at %s: %w", url, err)
	}
	sub, err := wmnats.NewSubscriberWithNatsConn(subConn, wmnats.SubscriberSubscriptionConfig{
		QueueGroupPrefix: opts.Group,
		SubscribersCount: opts.Subscribers,
		AckWaitTimeout:   opts.AckWait,
		NakDelay:         nakDelay(opts.Redelivery),
		JetStream:        js,
	}, wlog)
	if err != nil {
		subConn.Close()
		pub.Close()
		return nil, fmt.Errorf("projections: NATS subscriber at %s: %w", url, err)
	}
	st := &streams{js: jsAPI, replicas: opts.Replicas, ensured: map[string]bool{}}
	var group *groupConsumer
	if opts.Group != "" {
		group = &groupConsumer{js: jsAPI, group: opts.Group, durable: js.DurableCalculator, maxAckPending: opts.MaxInFlight, ackWait: opts.AckWait}
	}
	return &Bus{Publisher: provisioningPublisher{pub, st}, Subscriber: provisioningSubscriber{sub, st, group}, JetStream: jsAPI,
		conns: []*nats.Conn{pubConn, subConn}}, nil
}

// streams creates the JetStream stream of each topic, with the configured
// replication, the first time the process uses the topic.
type streams struct {
	js       jetstream.JetStream
	replicas int

	mu      sync.Mutex
	ensured map[string]bool
}

// ensure creates the stream of topic, or updates its replication to the
// wanted one (a stream first created with fewer replicas is scaled up). A
// server that does not answer in time (a cluster electing a leader, or
// another process creating the same stream), or answers at once that
// JetStream is temporarily unavailable, is asked again, up to
// streamAttempts times, streamRetry apart (doubling).
func (s *streams) ensure(ctx context.Context, topic string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ensured[topic] {
		return nil
	}
	var err error
	for i := range streamAttempts {
		if err = s.ensureOnce(ctx, topic); err == nil {
			s.ensured[topic] = true
			return nil
		}
		if i == streamAttempts-1 {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(streamRetry << i):
		}
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("projections: stream %q (%d replicas): %w", topic, s.replicas, err)
}

// streamAttempts bounds how often ensure asks, each time for up to the
// JetStream API's timeout.
const streamAttempts = 5

// streamRetry is the pause after ensure's first failed attempt, doubling
// after each: 1+2+4+8 s, time for a cluster to elect its leaders.
const streamRetry = time.Second

func (s *streams) ensureOnce(ctx context.Context, topic string) error {
	ctx, cancel := context.WithTimeout(ctx, streamAttemptTimeout)
	defer cancel()
	stream, err := s.js.Stream(ctx, topic)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = s.js.CreateStream(ctx, jetstream.StreamConfig{Name: topic, Subjects: []string{topic}, Replicas: s.replicas})
		return err // already in use: created meanwhile, the next attempt finds it
	}
	if err != nil {
		return err
	}
	cfg := stream.CachedInfo().Config
	if cfg.Replicas == s.replicas {
		return nil
	}
	cfg.Replicas = s.replicas
	_, err = s.js.UpdateStream(ctx, cfg)
	return err
}

// streamAttemptTimeout bounds one attempt to create or update a stream.
const streamAttemptTimeout = 5 * time.Second

type provisioningPublisher struct {
	message.Publisher
	streams *streams
}

func (p provisioningPublisher) Publish(topic string, msgs ...*message.Message) error {
	ctx := context.Background()
	if len(msgs) > 0 {
		ctx = msgs[0].Context()
	}
	if err := p.streams.ensure(ctx, topic); err != nil {
		return err
	}
	return p.Publisher.Publish(topic, msgs...)
}

type provisioningSubscriber struct {
	message.Subscriber
	streams *streams
	group   *groupConsumer // nil without a group
}

func (s provisioningSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	if err := s.streams.ensure(ctx, topic); err != nil {
		return nil, err
	}
	if s.group != nil {
		if err := s.group.ensure(ctx, topic); err != nil {
			return nil, err
		}
	}
	return s.Subscriber.Subscribe(ctx, topic)
}

// groupConsumer creates a group's durable consumer of a topic before its
// first subscription. nats.go deletes a consumer that its subscription
// created when that subscription ends: the group's first worker to stop
// would take the consumer with it, and the others, still subscribed to
// its delivery subject, would get nothing more. A consumer that exists
// before the subscription is only attached to, never deleted; it lives as
// long as the stream, so a group keeps its position across restarts.
type groupConsumer struct {
	js            jetstream.JetStream
	group         string
	durable       func(prefix, topic string) string
	maxAckPending int
	ackWait       time.Duration
}

// ensure creates the consumer unless it exists: created meanwhile by
// another member with the same settings is no error; one with other
// settings is left for the subscription to refuse, naming the difference.
func (g *groupConsumer) ensure(ctx context.Context, topic string) error {
	ctx, cancel := context.WithTimeout(ctx, streamAttemptTimeout)
	defer cancel()
	name := g.durable(g.group, topic)
	_, err := g.js.CreatePushConsumer(ctx, topic, jetstream.ConsumerConfig{
		Durable:        name,
		DeliverSubject: "_concord.deliver." + name,
		DeliverGroup:   g.group,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        g.ackWait,
		MaxAckPending:  g.maxAckPending,
	})
	if err != nil && !errors.Is(err, jetstream.ErrConsumerExists) {
		return fmt.Errorf("projections: consumer %q of stream %q: %w", name, topic, err)
	}
	return nil
}

// nakDelay adapts Backoff to watermill-nats's redelivery delay.
type nakDelay Backoff

func (d nakDelay) WaitTime(delivered uint64) time.Duration {
	return Backoff(d).Delay(int(max(delivered, 1) - 1))
}

// PublishTo returns a Handler that publishes each event, as Marshal writes
// it, to topic: the outbound relay from a Feed to a Bus. Run it with
// StopOnFailure, so that an event the publisher refuses is published again
// rather than lost. With GoChannel, Publish returns once the topic's
// subscribers acknowledged, so the relay advances only as they do.
func PublishTo(pub message.Publisher, topic string) Handler {
	return HandlerFunc(func(ctx context.Context, rec eventstore.RecordedEvent, _ any) error {
		msg := Marshal(rec)
		msg.SetContext(ctx)
		if err := pub.Publish(topic, msg); err != nil {
			return fmt.Errorf("projections: publish %s (position %v) to %q: %w", rec.ID, rec.Position, topic, err)
		}
		return nil
	})
}
