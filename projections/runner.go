package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/concord-planning/concord/domain/eventstore"
)

// Projection is a read model: state folded from the global log.
//
// Concurrency contract. The Runner calls Apply on one instance from one
// goroutine at a time, in strictly increasing position order, each event
// once; meanwhile queries may call the instance's own read methods from any
// number of goroutines (through Model.Current). So a Projection must
// guard its state against its readers: typically a sync.RWMutex taken for
// writing in Apply and for reading in each query, or immutable snapshots
// published through an atomic.Pointer. After a Rebuild swaps an instance
// out, the old one receives no more Apply calls and stays readable, frozen,
// for readers who still hold it.
//
// Apply must be all or nothing: when it returns an error it must have left
// the state as it was, for the same event is applied again (StopOnFailure).
// It must be deterministic in the log (no clock, no randomness), so that a
// rebuilt instance equals the live one.
type Projection interface {
	Apply(ctx context.Context, rec eventstore.RecordedEvent, event any) error
}

// Model is the handle on a read model in service: readers take the current
// instance from it. It is safe for concurrent use.
type Model[T Projection] struct {
	name    string
	factory func() T
	cur     atomic.Pointer[instance[T]]
	prog    atomic.Pointer[progress]

	mu   sync.Mutex   // serialises Apply on cur and cand, and the swap
	cand *instance[T] // the instance being rebuilt, if any
	done chan struct{}
}

type instance[T Projection] struct {
	proj    T
	applied eventstore.Position // guarded by Model.mu
}

// progress is the current instance's position; next is closed when it
// moves on.
type progress struct {
	pos  eventstore.Position
	next chan struct{}
}

func newModel[T Projection](name string, factory func() T) *Model[T] {
	m := &Model[T]{name: name, factory: factory}
	m.cur.Store(&instance[T]{proj: factory()})
	m.prog.Store(&progress{next: make(chan struct{})})
	return m
}

// Name returns the name the model was registered under.
func (m *Model[T]) Name() string { return m.name }

// Current returns the instance in service. Hold it for one query only: a
// Rebuild may swap in another.
func (m *Model[T]) Current() T { return m.cur.Load().proj }

// Position returns the position of the last event the instance in service
// has applied.
func (m *Model[T]) Position() eventstore.Position { return m.prog.Load().pos }

// WaitFor blocks until the instance in service has applied the event at pos
// (or a later one), so a client can read its own write: pass the Position
// of the AppendResult. It returns ctx's error, wrapped with where the
// model is, if ctx ends first.
func (m *Model[T]) WaitFor(ctx context.Context, pos eventstore.Position) error {
	for {
		p := m.prog.Load()
		if !p.pos.Before(pos) {
			return nil
		}
		select {
		case <-p.next:
		case <-ctx.Done():
			return fmt.Errorf("projections: read model %q at %v waiting for %v: %w", m.name, p.pos, pos, ctx.Err())
		}
	}
}

func (m *Model[T]) advance(pos eventstore.Position) {
	old := m.prog.Load()
	m.prog.Store(&progress{pos: pos, next: make(chan struct{})})
	close(old.next)
}

// apply feeds the instance in service.
func (m *Model[T]) apply(ctx context.Context, rec eventstore.RecordedEvent, event any) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	inst := m.cur.Load()
	if !inst.applied.Before(rec.Position) {
		return nil
	}
	if err := inst.proj.Apply(ctx, rec, event); err != nil {
		return fmt.Errorf("projections: read model %q at %v: %w", m.name, rec.Position, err)
	}
	inst.applied = rec.Position
	m.swapIfCaughtUp()
	m.advance(rec.Position)
	return nil
}

// applyPage feeds the instance in service a page of a replay under one
// lock, announcing its progress once; on an error it keeps what it applied
// before the failing event.
func (m *Model[T]) applyPage(ctx context.Context, recs []eventstore.RecordedEvent, events []any) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	inst := m.cur.Load()
	start := inst.applied
	var err error
	for i := range recs {
		if !inst.applied.Before(recs[i].Position) {
			continue
		}
		if err = inst.proj.Apply(ctx, recs[i], events[i]); err != nil {
			err = fmt.Errorf("projections: read model %q at %v: %w", m.name, recs[i].Position, err)
			break
		}
		inst.applied = recs[i].Position
	}
	if inst.applied != start {
		m.swapIfCaughtUp()
		m.advance(inst.applied)
	}
	return err
}

// candidateSink feeds the instance being rebuilt a page of a replay.
type candidateSink[T Projection] struct{ m *Model[T] }

func (s candidateSink[T]) applyPage(ctx context.Context, recs []eventstore.RecordedEvent, events []any) error {
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range recs {
		c := m.cand
		if c == nil {
			return nil // swapped in (or abandoned)
		}
		if !c.applied.Before(recs[i].Position) {
			continue
		}
		if err := c.proj.Apply(ctx, recs[i], events[i]); err != nil {
			return fmt.Errorf("projections: rebuilding read model %q at %v: %w", m.name, recs[i].Position, err)
		}
		c.applied = recs[i].Position
		m.swapIfCaughtUp()
	}
	return nil
}

// candidatePosition returns what the instance being rebuilt has applied,
// and whether there still is one.
func (m *Model[T]) candidatePosition() (eventstore.Position, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cand == nil {
		return eventstore.Position{}, false
	}
	return m.cand.applied, true
}

// applyCandidate feeds the instance being rebuilt.
func (m *Model[T]) applyCandidate(ctx context.Context, rec eventstore.RecordedEvent, event any) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.cand
	if c == nil || !c.applied.Before(rec.Position) {
		return nil // swapped in or abandoned: the rebuild consumer is being removed
	}
	if err := c.proj.Apply(ctx, rec, event); err != nil {
		return fmt.Errorf("projections: rebuilding read model %q at %v: %w", m.name, rec.Position, err)
	}
	c.applied = rec.Position
	m.swapIfCaughtUp()
	return nil
}

// swapIfCaughtUp puts the candidate in service once it has applied exactly
// what the instance in service has. Both are fed the same events in the
// same order, one event at a time under m.mu, so the candidate cannot pass
// the instance in service without meeting it.
func (m *Model[T]) swapIfCaughtUp() {
	if m.cand == nil || m.cand.applied != m.cur.Load().applied {
		return
	}
	m.cur.Store(m.cand)
	m.cand = nil
	close(m.done)
}

func (m *Model[T]) startRebuild() (Handler, <-chan struct{}, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cand != nil {
		return nil, nil, fmt.Errorf("%w: %q", ErrRebuilding, m.name)
	}
	m.cand = &instance[T]{proj: m.factory()}
	m.done = make(chan struct{})
	done := m.done
	m.swapIfCaughtUp() // an empty log: nothing to catch up
	return HandlerFunc(m.applyCandidate), done, nil
}

// abandonRebuild drops the candidate; it reports false if there was none
// left, the candidate having been swapped in.
func (m *Model[T]) abandonRebuild() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	had := m.cand != nil
	m.cand = nil
	return had
}

func (m *Model[T]) position() eventstore.Position { return m.Position() }

func (m *Model[T]) modelName() string { return m.name }

func (m *Model[T]) candidate() sink { return candidateSink[T]{m} }

// model is what the Runner needs of a Model[T], whatever T.
type model interface {
	sink // feeds the instance in service
	modelName() string
	position() eventstore.Position
	WaitFor(ctx context.Context, pos eventstore.Position) error
	startRebuild() (Handler, <-chan struct{}, error)
	abandonRebuild() bool
	candidate() sink
	candidatePosition() (eventstore.Position, bool)
}

// Errors of the Runner.
var (
	// ErrRebuilding is returned by Rebuild while the model is being rebuilt.
	ErrRebuilding = errors.New("projections: read model already being rebuilt")
	// ErrUnknownModel is returned for a name no model was registered under.
	ErrUnknownModel = errors.New("projections: no such read model")
)

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	Logger     *slog.Logger         // default: discard
	Registry   *eventstore.Registry // decodes events for Apply; nil hands them nil
	Retry      Retry                // as RouterConfig.Retry
	Redelivery Backoff              // as FeedConfig.Redelivery
	// CatchUp configures the replay that brings the models registered
	// before Run up to the log's end, and each Rebuild's fresh instance up
	// to the one in service (its Registry and After are ignored).
	CatchUp ReplayConfig
}

// Runner keeps read models fed from the event store: each is replayed from
// the start of the log (its checkpoints live in memory, with the model),
// then follows appends, through a Feed and a Router with StopOnFailure, so a
// model never skips an event. It is safe for concurrent use.
//
// Catching up is a Replay: when Run starts, the models registered so far
// are brought up to the log's end together, every event read once, decoded
// once (in parallel) and applied to each of them in position order; only
// then do they follow the log through the Router, from where the replay
// left each of them. A model the replay cannot feed (its Apply fails, or an
// event does not decode) continues through the Router from the event it
// stopped at, which retries it and reports it unhealthy (StopOnFailure).
// Models registered while Run runs catch up through the Router.
type Runner struct {
	feed     *Feed
	router   *Router
	store    eventstore.Store
	registry *eventstore.Registry
	log      *slog.Logger
	catchUp  ReplayConfig

	mu       sync.Mutex
	models   map[string]model
	rebuilds int
}

// NewRunner returns a runner on store.
func NewRunner(store eventstore.Store, cfg RunnerConfig) (*Runner, error) {
	feed := NewFeed(store, FeedConfig{Checkpoints: NewMemoryCheckpoints(), Redelivery: cfg.Redelivery, Logger: cfg.Logger})
	router, err := NewRouter(RouterConfig{Logger: cfg.Logger, Registry: cfg.Registry, Retry: cfg.Retry})
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.CatchUp.Registry, cfg.CatchUp.After = cfg.Registry, eventstore.Start
	return &Runner{feed: feed, router: router, store: store, registry: cfg.Registry, log: log, catchUp: cfg.CatchUp,
		models: map[string]model{}}, nil
}

// Register adds a read model built by factory under name; the Runner feeds
// it from the start of the log. Register before or while the Runner runs.
func Register[T Projection](r *Runner, name string, factory func() T) (*Model[T], error) {
	m := newModel(name, factory)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.models[name]; dup {
		return nil, fmt.Errorf("%w: read model %q", ErrDuplicateConsumer, name)
	}
	if err := r.router.AddConsumer(Consumer{Name: name, Source: r.feed, Policy: StopOnFailure, Handler: HandlerFunc(m.apply)}); err != nil {
		return nil, err
	}
	r.models[name] = m
	return m, nil
}

// Run feeds the models until ctx ends: first the replay that catches them
// up, then the Router.
func (r *Runner) Run(ctx context.Context) error {
	defer r.feed.Close() // its goroutines end with the runner, before the store closes
	r.feed.startHead()
	if err := r.catchUpAll(ctx); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil // stopped while catching up, as the Router returns when stopped
	}
	return r.router.Run(ctx)
}

// catchUpAll replays the log into the models registered so far, then sets
// their checkpoints where each one stands, for the Router to go on from.
func (r *Runner) catchUpAll(ctx context.Context) error {
	r.mu.Lock()
	names := make([]string, 0, len(r.models))
	for name := range r.models {
		names = append(names, name)
	}
	slices.Sort(names)
	ms := make([]model, len(names))
	sinks := make([]sink, len(names))
	for i, name := range names {
		ms[i], sinks[i] = r.models[name], r.models[name]
	}
	r.mu.Unlock()
	if len(ms) == 0 {
		return nil
	}
	prog, errs := replay(ctx, r.store, r.catchUp, sinks, false)
	if ctx.Err() != nil {
		return nil
	}
	for i, err := range errs[:len(ms)] {
		if err != nil {
			r.log.Warn("projections: read model stopped catching up; it goes on through the router", "model", names[i], "err", err)
		}
	}
	if err := errs[len(ms)]; err != nil {
		r.log.Warn("projections: catch-up replay stopped; the read models go on through the router", "err", err)
	}
	r.log.Info("projections: read models caught up", "models", len(ms), "events", prog.Done, "position", prog.Position.String(),
		"elapsed", prog.Elapsed)
	for i, m := range ms {
		if err := r.feed.cfg.Checkpoints.SaveCheckpoint(ctx, names[i], m.position()); err != nil {
			return fmt.Errorf("projections: checkpoint of read model %q after catching up: %w", names[i], err)
		}
	}
	return nil
}

// Ready reports whether every model has caught up with the log's end as it
// was when the Runner started; from then on they follow it live.
func (r *Runner) Ready() bool {
	head, known := r.feed.head.startPos()
	if !known {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.models {
		if m.position().Before(head) {
			return false
		}
	}
	return true
}

// WaitReady blocks until Ready, or ctx ends.
func (r *Runner) WaitReady(ctx context.Context) error {
	head, err := r.feed.head.initial(ctx)
	if err != nil {
		return fmt.Errorf("projections: waiting for the log's head: %w", err)
	}
	return r.WaitFor(ctx, head)
}

// WaitFor blocks until every model has applied pos, or ctx ends.
func (r *Runner) WaitFor(ctx context.Context, pos eventstore.Position) error {
	r.mu.Lock()
	ms := make([]model, 0, len(r.models))
	for _, m := range r.models {
		ms = append(ms, m)
	}
	r.mu.Unlock()
	for _, m := range ms {
		if err := m.WaitFor(ctx, pos); err != nil {
			return err
		}
	}
	return nil
}

// Health returns a snapshot of every model's consumer (and of rebuilds in
// progress, named "model#rebuild-n").
func (r *Runner) Health() []Health { return r.router.Health() }

// Rebuild builds a fresh instance of the named model from the start of the
// log beside the one in service, which keeps serving queries and following
// the log; once the fresh one has caught up with it, it is swapped in
// atomically. It blocks until then, or until ctx ends (the fresh instance
// is then dropped), and needs the Runner running.
func (r *Runner) Rebuild(ctx context.Context, name string) error {
	r.mu.Lock()
	m, ok := r.models[name]
	r.rebuilds++
	cname := fmt.Sprintf("%s#rebuild-%d", name, r.rebuilds)
	r.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownModel, name)
	}
	select {
	case <-r.router.Running():
	case <-ctx.Done():
		return ctx.Err()
	}
	h, done, err := m.startRebuild()
	if err != nil {
		return err
	}
	// Catch up by a replay, then follow the log through the Router from
	// where the replay left the fresh instance, until it meets the one in
	// service.
	_, errs := replay(ctx, r.store, r.catchUp, []sink{m.candidate()}, false)
	select {
	case <-done:
		return nil
	default:
	}
	if ctx.Err() != nil {
		if m.abandonRebuild() {
			return fmt.Errorf("projections: rebuild of %q abandoned: %w", name, ctx.Err())
		}
		return nil
	}
	if err := errors.Join(errs...); err != nil {
		r.log.Warn("projections: rebuild replay stopped; the fresh instance goes on through the router", "model", name, "err", err)
	}
	pos, ok := m.candidatePosition()
	if !ok {
		return nil // swapped in meanwhile
	}
	if err := r.feed.cfg.Checkpoints.SaveCheckpoint(ctx, cname, pos); err != nil {
		m.abandonRebuild()
		return fmt.Errorf("projections: rebuild of %q: %w", name, err)
	}
	if err := r.router.AddConsumer(Consumer{Name: cname, Source: r.feed, Policy: StopOnFailure, Handler: h}); err != nil {
		m.abandonRebuild()
		return err
	}
	var waitErr error
	select {
	case <-done:
	case <-ctx.Done():
		if m.abandonRebuild() {
			waitErr = fmt.Errorf("projections: rebuild of %q abandoned: %w", name, ctx.Err())
		}
	}
	if err := r.router.RemoveConsumer(context.WithoutCancel(ctx), cname); err != nil {
		return errors.Join(waitErr, err)
	}
	return waitErr
}
