package planning

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"github.com/concord-planning/concord/domain/alert"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/scenario"
)

// NewRegistry returns a registry holding the events of every domain
// package: dimension, plan, ledger, commit, forecast, access, alert and
// scenario.
func NewRegistry() *eventstore.Registry {
	r := eventstore.NewRegistry()
	RegisterEvents(r)
	return r
}

// RegisterEvents registers the events of every domain package in r.
func RegisterEvents(r *eventstore.Registry) {
	dimension.RegisterEvents(r)
	plan.RegisterEvents(r)
	ledger.RegisterEvents(r)
	commit.RegisterEvents(r)
	forecast.RegisterEvents(r)
	access.RegisterEvents(r)
	alert.RegisterEvents(r)
	scenario.RegisterEvents(r)
}

// Principal is who gives a command, as established from credentials.
type Principal struct {
	Actor  string           // recorded as the events' actor
	Role   access.Role      // what it may do
	Scopes []dimension.Node // RoleSales only: the nodes it may act on, and everything below them
}

// Call carries what every command needs besides its own arguments.
type Call struct {
	By Principal
	// IfMatch is the version the caller expects the command's stream to be
	// at (an HTTP If-Match); nil means any version.
	IfMatch eventstore.ExpectedVersion
	// IdempotencyKey, when set, makes the appended event IDs a function of
	// the stream and the key, so a retried command is stored once.
	IdempotencyKey string
	// CorrelationID ties the events to the request that caused them.
	CorrelationID string
}

func (c Call) expected() eventstore.ExpectedVersion {
	if c.IfMatch == nil {
		return eventstore.Any
	}
	return c.IfMatch
}

func (c Call) command() eventstore.Command {
	return eventstore.Command{
		Metadata:       eventstore.Metadata{Actor: c.By.Actor, CorrelationID: c.CorrelationID},
		IdempotencyKey: c.IdempotencyKey,
	}
}

// Result says where a command's events landed, so a client can read its
// own writes: the stream, its version after the command, and the global
// position of the command's last event (the zero Position when the command
// recorded nothing).
type Result struct {
	Stream   string
	Version  uint64
	Position eventstore.Position
}

func result(stream string, r eventstore.AppendResult) Result {
	return Result{Stream: stream, Version: r.Version, Position: r.Position}
}

// MaxRows is the most rows one batch command (ChangeTargets,
// RecordActuals) takes: a batch is appended in one go per stream.
const MaxRows = eventstore.MaxBatch

// Option configures a Service.
type Option func(*Service)

// WithRandom sets the source of token secrets and ids (crypto/rand by
// default). Tests may pass a seeded reader.
func WithRandom(r io.Reader) Option { return func(s *Service) { s.random = r } }

// WithClock sets the clock (time.Now by default) that tells which periods
// have begun: a period after the clock's month cannot be closed.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// OnPeriodClosed sets a function called after ClosePeriod succeeds, with
// its result: the place to wire an in-process reaction such as requesting
// reforecasts. The durable path is a process manager following the log's
// ledger.PeriodClosed events; the hook is a shortcut and must not fail the
// close, so it returns nothing.
func OnPeriodClosed(f func(ctx context.Context, closed fiscal.Period, res CloseResult)) Option {
	return func(s *Service) { s.onClosed = f }
}

// WithAggregateCache sets how many streams' latest states each of the
// service's repositories keeps (eventstore.CacheSize; by default
// eventstore.DefaultCacheSize): 0 replays every stream on every command.
func WithAggregateCache(n int) Option { return func(s *Service) { s.cacheSize = n } }

// Service runs commands against an event store. It is safe for concurrent
// use.
type Service struct {
	store    eventstore.Store
	registry *eventstore.Registry
	random   io.Reader
	onClosed func(context.Context, fiscal.Period, CloseResult)
	now      func() time.Time

	dims   *eventstore.Repository[*dimension.Dimension, dimension.Event]
	plans  *eventstore.Repository[*plan.Plan, plan.Event]
	books  *eventstore.Repository[*commit.Book, commit.Event]
	runs   *eventstore.Repository[*forecast.Run, forecast.Event]
	tokens *eventstore.Repository[*access.Tokens, access.Event]
	alerts *eventstore.Repository[*alert.Book, alert.Event]

	planMu    sync.Mutex // guards what catchUp reads from the log:
	planAfter eventstore.Position
	planIDs   []string
	closed    map[fiscal.Period]bool

	closeMu sync.Mutex // serialises ClosePeriod and ReopenPeriod

	cacheSize int // of each repository (WithAggregateCache)
}

// New returns a Service over store, decoding with registry, which must
// hold every domain package's events (see NewRegistry).
func New(store eventstore.Store, registry *eventstore.Registry, opts ...Option) *Service {
	s := &Service{
		store:     store,
		registry:  registry,
		random:    rand.Reader,
		now:       time.Now,
		closed:    map[fiscal.Period]bool{},
		cacheSize: eventstore.DefaultCacheSize,
	}
	for _, o := range opts {
		o(s)
	}
	size := eventstore.CacheSize(s.cacheSize)
	s.dims = eventstore.NewRepository[*dimension.Dimension, dimension.Event](store, registry, dimension.New, size)
	s.plans = eventstore.NewRepository[*plan.Plan, plan.Event](store, registry, plan.New, size)
	s.books = eventstore.NewRepository[*commit.Book, commit.Event](store, registry, commit.New, size)
	s.runs = eventstore.NewRepository[*forecast.Run, forecast.Event](store, registry, forecast.New, size)
	s.tokens = eventstore.NewRepository[*access.Tokens, access.Event](store, registry, access.New, size)
	s.alerts = eventstore.NewRepository[*alert.Book, alert.Event](store, registry, alert.New, size)
	return s
}

// ledgers returns a repository of the ledger of period p.
func (s *Service) ledgers(p fiscal.Period) *eventstore.Repository[*ledger.Ledger, ledger.Event] {
	return eventstore.NewRepository[*ledger.Ledger, ledger.Event](s.store, s.registry, func() *ledger.Ledger { return ledger.New(p) })
}

// authorize returns nil when p is authenticated and holds one of roles.
func authorize(p Principal, action string, roles ...access.Role) error {
	if p.Actor == "" || !p.Role.Valid() {
		return ErrUnauthenticated
	}
	if p.Role == access.RoleAdmin || slices.Contains(roles, p.Role) {
		return nil
	}
	return &ForbiddenError{Actor: p.Actor, Role: p.Role, Action: action, Reason: fmt.Sprintf("it needs the role %v", roles)}
}

// covers reports whether p may act on node: every role but sales reaches
// every node; a sales principal reaches the nodes one of its scopes
// contains (each member the scope names is the node's member in that
// dimension, or an ancestor of it).
func covers(p Principal, node dimension.Node, dims []*dimension.Dimension) bool {
	if p.Role != access.RoleSales {
		return true
	}
	for _, s := range p.Scopes {
		if s.Contains(node, dims...) {
			return true
		}
	}
	return false
}

// checkScope returns a *ForbiddenError naming every node p may not act on.
func checkScope(p Principal, action string, nodes []dimension.Node, dims []*dimension.Dimension) error {
	var out []string
	for _, n := range nodes {
		if !covers(p, n, dims) {
			out = append(out, fmt.Sprintf("%q", n))
		}
	}
	if len(out) == 0 {
		return nil
	}
	return &ForbiddenError{Actor: p.Actor, Role: p.Role, Action: action,
		Reason: fmt.Sprintf("node %s is outside the token's scopes %v", joinComma(out), p.Scopes)}
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

// dimension returns dimension id as it stands (shared: it must not be
// changed) with its stream version.
func (s *Service) dimension(ctx context.Context, id string) (*dimension.Dimension, uint64, error) {
	d, v, err := s.dims.Current(ctx, dimension.Stream(id))
	if err != nil {
		return nil, 0, err
	}
	if v == 0 {
		return nil, 0, &dimension.MemberError{Dimension: id, Reason: "no such dimension", Err: dimension.ErrNotDefined}
	}
	return d, v, nil
}

// dimensions returns the dimensions of ids, in order.
func (s *Service) dimensions(ctx context.Context, ids []string) ([]*dimension.Dimension, error) {
	out := make([]*dimension.Dimension, 0, len(ids))
	var errs []error
	for _, id := range ids {
		d, _, err := s.dimension(ctx, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, d)
	}
	return out, errors.Join(errs...)
}

// openPlan returns plan id as it stands with its dimensions, or
// plan.ErrNotOpened. They are shared (Repository.Current): they must not
// be changed.
func (s *Service) openPlan(ctx context.Context, id string) (*plan.Plan, uint64, []*dimension.Dimension, error) {
	p, v, err := s.plans.Current(ctx, plan.Stream(id))
	if err != nil {
		return nil, 0, nil, err
	}
	if v == 0 || p.Discarded() {
		return nil, 0, nil, fmt.Errorf("%w: plan %q", plan.ErrNotOpened, id)
	}
	dims, err := s.dimensions(ctx, p.Dimensions())
	if err != nil {
		return nil, 0, nil, fmt.Errorf("planning: dimensions of plan %q: %w", id, err)
	}
	return p, v, dims, nil
}

// Plan returns plan id as it stands, with its stream version, for any
// authenticated principal; plan.ErrNotOpened when there is no such plan.
// The returned plan is shared: the caller must not change it (no command,
// no Apply).
func (s *Service) Plan(ctx context.Context, by Principal, id string) (*plan.Plan, uint64, error) {
	if err := authorize(by, "read plans", access.Roles...); err != nil {
		return nil, 0, err
	}
	p, v, err := s.plans.Current(ctx, plan.Stream(id))
	if err != nil {
		return nil, 0, err
	}
	if v == 0 || p.Discarded() {
		return nil, 0, fmt.Errorf("%w: plan %q", plan.ErrNotOpened, id)
	}
	return p, v, nil
}

// PlansFrom has the service take the plans it does not hold, as they
// stand or at a past version (a scenario's base), from src: a read side
// that folded them with the plan's own Apply (eventstore.Repository.StatesFrom),
// rather than replay each plan's stream from its start — on a plan of a
// million events, well under a second instead of tens.
func (s *Service) PlansFrom(src func(ctx context.Context, stream string, version uint64) (*plan.Plan, uint64, bool)) {
	s.plans.StatesFrom(src)
}

// Dimension returns dimension id as it stands, with its stream version,
// for any authenticated principal; dimension.ErrNotDefined when there is
// no such dimension. The returned value must not be changed.
func (s *Service) Dimension(ctx context.Context, by Principal, id string) (*dimension.Dimension, uint64, error) {
	if err := authorize(by, "read dimensions", access.Roles...); err != nil {
		return nil, 0, err
	}
	return s.dimension(ctx, id)
}
