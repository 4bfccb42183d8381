package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/concord-planning/concord/domain/eventstore"
)

// Policy says what a consumer does with a message it cannot handle after
// its retries.
type Policy int

const (
	// StopOnFailure (ordered deciders and relays): the message is nacked and delivered
	// again, with bounded backoff, until it succeeds. The consumer stops
	// advancing and reports itself unhealthy meanwhile; it never skips an
	// event, so its state stays a faithful replay of the log.
	StopOnFailure Policy = iota + 1
	// PoisonOnFailure (process managers): the message is persisted to the
	// PoisonStore with the error as reason, reported in Health, and
	// acknowledged; the consumer continues with the next one. If the poison
	// store refuses it, the message is nacked and delivered again.
	PoisonOnFailure
)

func (p Policy) String() string {
	switch p {
	case StopOnFailure:
		return "stop-on-failure"
	case PoisonOnFailure:
		return "poison-on-failure"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// Handler reacts to one stored event. event is the value the Router's
// Registry decoded (nil when the Router has none). A Handler returns an
// error to have the event retried; with StopOnFailure it must leave its
// state untouched when it fails, since the same event comes again.
type Handler interface {
	Handle(ctx context.Context, rec eventstore.RecordedEvent, event any) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, rec eventstore.RecordedEvent, event any) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, rec eventstore.RecordedEvent, event any) error {
	return f(ctx, rec, event)
}

// Retry is the bounded retry of a message within one delivery, before the
// consumer's Policy applies.
type Retry struct {
	MaxRetries int // retries after the first attempt; default 3, negative for none
	Backoff    Backoff
}

// RouterConfig configures a Router.
type RouterConfig struct {
	// Logger receives the router's and Watermill's logs. Default: discard.
	Logger *slog.Logger
	// Registry decodes events for handlers; nil hands them nil.
	Registry *eventstore.Registry
	// Checkpoints are the positions of consumers fed by a Bus rather than a
	// Feed (a Feed brings its own); with it, such a consumer resumes
	// skipping what it handled before a restart. Optional.
	Checkpoints Checkpoints
	// Poison keeps what PoisonOnFailure consumers give up on. Required for
	// them.
	Poison PoisonStore
	// Retry defaults to 3 retries, 100ms doubling up to 2s.
	Retry Retry
	// CloseTimeout bounds how long Close waits for handlers. Default 30s.
	CloseTimeout time.Duration
}

// Consumer describes one consumer of a Router.
type Consumer struct {
	// Name identifies the consumer: its handler, checkpoint and poison
	// entries. Unique within a Router.
	Name string
	// Source delivers its messages: a *Feed, or a Bus's Subscriber.
	Source message.Subscriber
	// Topic to subscribe to; defaults to Name (what a Feed expects).
	Topic string
	// Policy on failure after retries; required.
	Policy Policy
	// Handler handles each event.
	Handler Handler
	// Shared marks a competing consumer (several workers in one queue group
	// share its messages): it gets no ordering and no skipping by position,
	// so its handler must be idempotent by the event's ID.
	Shared bool
	// Types, when not empty, are the only event types Handler is given:
	// events of other types are passed over as handled without being
	// decoded, so a consumer that reacts to a few types does not decode
	// the whole log.
	Types []string
}

// Health is a snapshot of one consumer's progress.
type Health struct {
	Name     string
	Policy   Policy
	Position eventstore.Position // last event handled (or found handled before)
	// Head is the end of the log as the consumer's Feed knows it (zero for a
	// consumer fed by a Bus).
	Head eventstore.Position
	// Lag is Head.Commit − Position.Commit, 0 when caught up: a count of
	// events for stores with dense positions (SQLite), log bytes for
	// EventStoreDB.
	Lag       uint64
	Handled   uint64 // events handled successfully since start
	Poisoned  uint64 // messages sent to the poison store since start
	Failures  int    // consecutive failed deliveries of the current message
	LastError string // the most recent error, kept after recovery
	Healthy   bool   // no failure pending
}

// Errors of the Router.
var (
	// ErrDuplicateConsumer is returned by AddConsumer for a name in use.
	ErrDuplicateConsumer = errors.New("projections: consumer name in use")
	// ErrUnknownConsumer is returned for a name no consumer has.
	ErrUnknownConsumer = errors.New("projections: no such consumer")
	// ErrNoPoisonStore is returned by AddConsumer for a PoisonOnFailure
	// consumer of a Router without a PoisonStore.
	ErrNoPoisonStore = errors.New("projections: PoisonOnFailure needs a PoisonStore")
)

// Router runs consumers on a Watermill message.Router, each with, from the
// outside in: correlation ID propagation, health accounting, the poison
// queue (PoisonOnFailure only), bounded retry with backoff, panic recovery,
// then the consumer wrapper, which decodes the event, skips positions at or
// before the consumer's checkpoint (unless Shared), and calls the Handler.
//
// Consumers may be added before or while the router runs, and removed while
// it runs. A Router is safe for concurrent use. It runs once: after Run
// returns, build a new one.
type Router struct {
	wm      *message.Router
	cfg     RouterConfig
	log     *slog.Logger
	retry   middleware.Retry
	poisonQ message.HandlerMiddleware

	mu        sync.Mutex
	consumers map[string]*consumer
	runCtx    context.Context // the context Run was given, for consumers added later
}

// NewRouter returns a router with cfg.
func NewRouter(cfg RouterConfig) (*Router, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Retry.MaxRetries == 0 {
		cfg.Retry.MaxRetries = 3
	}
	cfg.Retry.MaxRetries = max(cfg.Retry.MaxRetries, 0)
	cfg.Retry.Backoff = cfg.Retry.Backoff.orDefault(100*time.Millisecond, 2*time.Second)
	wlog := watermill.NewSlogLogger(cfg.Logger)
	wm, err := message.NewRouter(message.RouterConfig{CloseTimeout: cfg.CloseTimeout}, wlog)
	if err != nil {
		return nil, fmt.Errorf("projections: %w", err)
	}
	wm.AddMiddleware(middleware.CorrelationID)
	r := &Router{wm: wm, cfg: cfg, log: cfg.Logger, consumers: map[string]*consumer{}}
	r.retry = middleware.Retry{
		MaxRetries:      cfg.Retry.MaxRetries,
		InitialInterval: cfg.Retry.Backoff.Initial,
		MaxInterval:     cfg.Retry.Backoff.Max,
		Multiplier:      2,
		Logger:          wlog,
	}
	if cfg.Poison != nil {
		pub := poisonPublisher{store: cfg.Poison, poisoned: r.countPoisoned}
		if r.poisonQ, err = middleware.PoisonQueue(pub, "poison"); err != nil {
			return nil, fmt.Errorf("projections: %w", err)
		}
	}
	return r, nil
}

// AddConsumer adds c; if the router is running, c starts at once.
func (r *Router) AddConsumer(c Consumer) error {
	switch {
	case c.Name == "":
		return errors.New("projections: AddConsumer: empty name")
	case c.Source == nil || c.Handler == nil:
		return fmt.Errorf("projections: AddConsumer %q: nil Source or Handler", c.Name)
	case c.Policy != StopOnFailure && c.Policy != PoisonOnFailure:
		return fmt.Errorf("projections: AddConsumer %q: unknown policy %v", c.Name, c.Policy)
	case c.Policy == PoisonOnFailure && r.cfg.Poison == nil:
		return fmt.Errorf("%w (consumer %q)", ErrNoPoisonStore, c.Name)
	}
	if c.Topic == "" {
		c.Topic = c.Name
	}
	cons := &consumer{name: c.Name, policy: c.Policy, handler: c.Handler, shared: c.Shared, registry: r.cfg.Registry,
		types: slices.Clone(c.Types)}
	if feed, ok := c.Source.(*Feed); ok {
		cons.feed, cons.cp = feed, feed.cfg.Checkpoints
	} else if !c.Shared && r.cfg.Checkpoints != nil {
		cons.cp, cons.save = r.cfg.Checkpoints, true
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.consumers[c.Name]; dup {
		return fmt.Errorf("%w: %q", ErrDuplicateConsumer, c.Name)
	}
	h := r.wm.AddConsumerHandler(c.Name, c.Topic, c.Source, cons.process)
	h.AddMiddleware(cons.outcome)
	if c.Policy == PoisonOnFailure {
		h.AddMiddleware(r.poisonQ)
	}
	h.AddMiddleware(r.retry.Middleware, middleware.Recoverer)
	cons.handle = h
	r.consumers[c.Name] = cons
	if r.runCtx != nil {
		if err := r.wm.RunHandlers(r.runCtx); err != nil {
			delete(r.consumers, c.Name)
			return fmt.Errorf("projections: start consumer %q: %w", c.Name, err)
		}
	}
	return nil
}

// RemoveConsumer stops the named consumer of a running router and waits
// until it has stopped (its message in flight acknowledged or nacked), or
// ctx ends.
func (r *Router) RemoveConsumer(ctx context.Context, name string) error {
	r.mu.Lock()
	c, ok := r.consumers[name]
	if ok && r.runCtx == nil {
		r.mu.Unlock()
		return fmt.Errorf("projections: RemoveConsumer %q: router not running", name)
	}
	delete(r.consumers, name)
	r.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownConsumer, name)
	}
	c.handle.Stop()
	select {
	case <-c.handle.Stopped():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run starts every consumer and blocks until ctx ends or Close is called,
// then waits for the handlers to finish their messages (up to
// CloseTimeout).
func (r *Router) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.runCtx != nil {
		r.mu.Unlock()
		return errors.New("projections: Router.Run called twice")
	}
	r.runCtx = ctx
	r.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { r.wm.Close() })
	defer stop()
	return r.wm.Run(ctx)
}

// Running is closed once Run has started every consumer.
func (r *Router) Running() <-chan struct{} { return r.wm.Running() }

// Close stops the router, as ending Run's context does, and waits.
func (r *Router) Close() error { return r.wm.Close() }

// Health returns a snapshot of every consumer, sorted by name.
func (r *Router) Health() []Health {
	r.mu.Lock()
	cs := make([]*consumer, 0, len(r.consumers))
	for _, c := range r.consumers {
		cs = append(cs, c)
	}
	r.mu.Unlock()
	out := make([]Health, len(cs))
	for i, c := range cs {
		out[i] = c.health()
	}
	slices.SortFunc(out, func(a, b Health) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// ConsumerHealth returns the named consumer's snapshot.
func (r *Router) ConsumerHealth(name string) (Health, error) {
	r.mu.Lock()
	c, ok := r.consumers[name]
	r.mu.Unlock()
	if !ok {
		return Health{}, fmt.Errorf("%w: %q", ErrUnknownConsumer, name)
	}
	return c.health(), nil
}

// ReplayPoisoned hands each of the consumer's poisoned messages to its
// handler again, in order, with the router's retries but without the
// position check (a poisoned event lies before the checkpoint by design);
// those handled are removed from the poison store. It returns the errors
// of those that failed again, joined.
func (r *Router) ReplayPoisoned(ctx context.Context, name string) error {
	r.mu.Lock()
	c, ok := r.consumers[name]
	r.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownConsumer, name)
	}
	if r.cfg.Poison == nil {
		return ErrNoPoisonStore
	}
	h := r.retry.Middleware(middleware.Recoverer(func(msg *message.Message) ([]*message.Message, error) {
		return nil, c.deliver(msg)
	}))
	return r.cfg.Poison.Replay(ctx, name, func(ctx context.Context, p Poisoned) error {
		msg := p.Message.Copy()
		msg.SetContext(ctx)
		if _, err := h(msg); err != nil {
			return fmt.Errorf("projections: replay of %s for %q: %w", msg.UUID, name, err)
		}
		return nil
	})
}

func (r *Router) countPoisoned(name string) {
	r.mu.Lock()
	c := r.consumers[name]
	r.mu.Unlock()
	if c != nil {
		c.mu.Lock()
		c.poisoned++
		c.mu.Unlock()
	}
}

// consumer is a Consumer at run time: the wrapper around its Handler and
// its health.
type consumer struct {
	name     string
	policy   Policy
	handler  Handler
	shared   bool
	registry *eventstore.Registry
	types    []string    // the types handed to handler; empty: all
	feed     *Feed       // when fed by a Feed: its head, for the lag
	cp       Checkpoints // where the starting position is loaded from
	save     bool        // whether the wrapper saves cp (not a Feed's)
	handle   *message.Handler

	mu       sync.Mutex
	loaded   bool
	applied  eventstore.Position // last position handled (or skipped as handled)
	saved    eventstore.Position
	handled  uint64
	poisoned uint64
	failures int
	lastErr  string
}

// process is the innermost handler: skip what is done, else deliver.
func (c *consumer) process(msg *message.Message) error {
	if c.shared {
		return c.deliver(msg)
	}
	ctx := msg.Context()
	rec, err := Unmarshal(msg)
	if err != nil {
		return err
	}
	if err := c.load(ctx); err != nil {
		return err
	}
	c.mu.Lock()
	done := !c.applied.Before(rec.Position)
	c.mu.Unlock()
	if !done {
		if err := c.deliver(msg); err != nil {
			return err
		}
		c.mu.Lock()
		c.applied = rec.Position
		c.mu.Unlock()
	}
	return c.persist(ctx)
}

// deliver decodes msg's event and calls the handler.
func (c *consumer) deliver(msg *message.Message) error {
	rec, err := Unmarshal(msg)
	if err != nil {
		return err
	}
	if len(c.types) > 0 && !slices.Contains(c.types, rec.Type) {
		return nil
	}
	var event any
	if c.registry != nil {
		if event, err = c.registry.Decode(rec); err != nil {
			return err
		}
	}
	if err := c.handler.Handle(msg.Context(), rec, event); err != nil {
		return err
	}
	c.mu.Lock()
	c.handled++
	c.mu.Unlock()
	return nil
}

func (c *consumer) load(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded || c.cp == nil {
		return nil
	}
	pos, err := c.cp.LoadCheckpoint(ctx, c.name)
	if err != nil {
		return fmt.Errorf("projections: load checkpoint of %q: %w", c.name, err)
	}
	c.applied, c.saved, c.loaded = pos, pos, true
	return nil
}

// persist saves the checkpoint when the wrapper owns it. A failure fails the
// message; its retry finds the event handled and only saves.
func (c *consumer) persist(ctx context.Context) error {
	if !c.save {
		return nil
	}
	c.mu.Lock()
	pos, saved := c.applied, c.saved
	c.mu.Unlock()
	if !saved.Before(pos) {
		return nil
	}
	if err := c.cp.SaveCheckpoint(ctx, c.name, pos); err != nil {
		return fmt.Errorf("projections: save checkpoint of %q: %w", c.name, err)
	}
	c.mu.Lock()
	c.saved = pos
	c.mu.Unlock()
	return nil
}

// outcome records the final result of each delivery for Health.
func (c *consumer) outcome(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		stopping := msg.Context().Err() != nil && errors.Is(err, msg.Context().Err())
		c.mu.Lock()
		switch {
		case err == nil:
			c.failures = 0
		case !stopping:
			c.failures++
			c.lastErr = err.Error()
		}
		c.mu.Unlock()
		return out, err
	}
}

func (c *consumer) health() Health {
	c.mu.Lock()
	h := Health{Name: c.name, Policy: c.policy, Position: c.applied, Handled: c.handled,
		Poisoned: c.poisoned, Failures: c.failures, LastError: c.lastErr, Healthy: c.failures == 0}
	c.mu.Unlock()
	if c.feed != nil {
		if head, ok := c.feed.Head(); ok {
			h.Head = head
			if h.Position.Before(head) {
				h.Lag = head.Commit - h.Position.Commit
			}
		}
	}
	return h
}
