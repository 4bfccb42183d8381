package plan

import (
	"cmp"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
)

// Stream returns the name of the event stream of plan id.
func Stream(id string) string { return "plan-" + id }

// DefaultHorizonMonths is the length of the rolling horizon when Open is
// given none.
const DefaultHorizonMonths = 18

// MaxHorizonMonths is the longest rolling horizon.
const MaxHorizonMonths = 120

// MaxTextLen is the longest reason, comment or tag, in bytes.
const MaxTextLen = 2000

// Plan is the aggregate of one plan. Its zero value is not usable; use New.
type Plan struct {
	id, name, currency string
	metrics            []Metric
	derived            []DerivedMetric           // in the order defined
	policies           map[string]EstimatePolicy // latest-estimate policy by metric, "" the plan's default
	pins               []ModelPin                // forecast method pins in force, in the order set
	cal                fiscal.Calendar
	dims               []string
	horizonStart       fiscal.Period
	horizonMonths      int
	openedStart        fiscal.Period // the horizon start the plan was opened with

	targets  targetTable
	reallocs map[string]*reallocation
	order    []string             // reallocation ids in proposal order
	pending  map[targetKey]string // target → the open reallocation moving it
	tags     []VersionTagged
	approved []VersionApproved

	discarded bool

	version   uint64 // events applied
	changedAt uint64 // version of the last event that changed the numbers
	changes   []Event
}

type targetKey struct {
	node   dimension.Node
	metric string
	span   fiscal.Span
}

type target struct {
	amount    decimal.Decimal
	changedAt uint64 // plan version of the event that last set or revised it
}

var _ eventstore.Aggregate[Event] = (*Plan)(nil)

// New returns an empty plan, to replay events into or to Open.
func New() *Plan {
	return &Plan{
		reallocs: map[string]*reallocation{},
		pending:  map[targetKey]string{},
	}
}

// Open is the constructor command: it returns a new plan opened with o (see
// (*Plan).Open).
func Open(o Opened) (*Plan, error) {
	p := New()
	if err := p.Open(o); err != nil {
		return nil, err
	}
	return p, nil
}

// Apply changes the plan's state by one event and counts it. It never
// validates and never fails: events are facts.
func (p *Plan) Apply(e Event) {
	p.version++
	switch e := e.(type) {
	case Opened:
		p.id, p.name, p.currency = e.ID, e.Name, e.Currency
		p.metrics = slices.Clone(e.Metrics)
		p.cal, _ = fiscal.NewCalendar(e.FiscalYearStart)
		p.dims = slices.Clone(e.Dimensions)
		p.horizonStart, p.horizonMonths, p.openedStart = e.HorizonStart, e.HorizonMonths, e.HorizonStart
		p.changedAt = p.version
	case TargetSet:
		p.targets.set(targetKey{e.Node, e.Metric, e.Span}, &target{amount: e.Amount, changedAt: p.version})
		p.changedAt = p.version
	case TargetRevised:
		p.targets.set(targetKey{e.Node, e.Metric, e.Span}, &target{amount: e.To, changedAt: p.version})
		p.changedAt = p.version
	case TargetCleared:
		p.targets.remove(targetKey{e.Node, e.Metric, e.Span})
		p.changedAt = p.version
	case ReallocationProposed:
		p.applyProposed(e)
	case ChangesProposed:
		p.applyChangesProposed(e)
	case ReallocationApproved:
		p.decide(e.ID, StatusApproved, e.By, "")
	case ReallocationRejected:
		p.decide(e.ID, StatusRejected, e.By, e.Reason)
	case VersionTagged:
		p.tags = append(p.tags, e)
	case VersionApproved:
		p.approved = append(p.approved, e)
	case HorizonRolled:
		p.horizonStart = e.To
		p.changedAt = p.version
	case Renamed:
		p.name = e.To
	case Discarded:
		p.discarded = true
	case MetricDerived:
		p.derived = append(p.derived, DerivedMetric{Metric: e.Metric, Formula: e.Formula})
	case ModelPinned:
		p.applyPinned(e)
	case EstimatePolicySet:
		if p.policies == nil {
			p.policies = map[string]EstimatePolicy{}
		}
		p.policies[e.Metric] = e.Policy
		p.changedAt = p.version
	}
}

// Clone returns a deep copy of p: applying events to either, or running
// commands on either, leaves the other unchanged. It equals a plan
// replayed from the events p was replayed from (and holds a copy of the
// changes p recorded).
func (p *Plan) Clone() *Plan {
	c := *p
	c.metrics = slices.Clone(p.metrics)
	c.derived = slices.Clone(p.derived)
	c.dims = slices.Clone(p.dims)
	c.targets = p.targets.clone()
	c.reallocs = make(map[string]*reallocation, len(p.reallocs))
	for id, r := range p.reallocs {
		rc := *r // decide changes a reallocation in place
		c.reallocs[id] = &rc
	}
	c.order = slices.Clone(p.order)
	c.pending = maps.Clone(p.pending)
	c.tags = slices.Clone(p.tags)
	c.approved = slices.Clone(p.approved)
	c.changes = slices.Clone(p.changes)
	return &c
}

// Changes returns the events recorded by commands since the plan was
// created or loaded.
func (p *Plan) Changes() []Event { return p.changes }

func (p *Plan) record(e Event) {
	p.Apply(e)
	p.changes = append(p.changes, e)
}

func (p *Plan) opened() error {
	if p.version == 0 {
		return ErrNotOpened
	}
	if p.discarded {
		return fmt.Errorf("%w: plan %q was discarded", ErrNotOpened, p.id)
	}
	return nil
}

// Discarded reports whether the plan was discarded.
func (p *Plan) Discarded() bool { return p.discarded }

// Open records the opening of the plan described by o; a zero
// HorizonMonths means DefaultHorizonMonths, and names are trimmed. It
// returns ErrAlreadyOpened on an opened plan, and otherwise every problem
// of o at once, each matching ErrInvalid: id syntax (dimension.ValidID),
// blank name, currency not three capital letters (ISO 4217 form), no
// metric, bad or duplicate metric id, blank metric name, first month not
// 1 to 12, bad or duplicate dimension id, invalid horizon start, horizon
// not 1 to MaxHorizonMonths months.
func (p *Plan) Open(o Opened) error {
	if p.version > 0 {
		if p.discarded {
			return fmt.Errorf("%w: plan %q was opened and discarded; plan ids are not reused", ErrAlreadyOpened, p.id)
		}
		return fmt.Errorf("%w: plan %q", ErrAlreadyOpened, p.id)
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
	}
	if !dimension.ValidID(o.ID) {
		bad("plan id %q must be 1 to %d letters, digits, '_', '.' or '-', starting with a letter or digit", o.ID, dimension.MaxIDLen)
	}
	if !dimension.ValidName(o.Name) {
		bad("plan name %q must not be blank nor longer than %d bytes", o.Name, dimension.MaxNameLen)
	}
	if !isCurrency(o.Currency) {
		bad("currency %q is not an ISO 4217 code (three capital letters, e.g. EUR)", o.Currency)
	}
	if len(o.Metrics) == 0 {
		bad("a plan measures at least one metric")
	}
	o.Metrics = slices.Clone(o.Metrics)
	seen := map[string]bool{}
	for i, m := range o.Metrics {
		if !dimension.ValidID(m.ID) {
			bad("metric %d: id %q must be 1 to %d letters, digits, '_', '.' or '-', starting with a letter or digit", i+1, m.ID, dimension.MaxIDLen)
		} else if seen[m.ID] {
			bad("metric %d: id %q appears twice", i+1, m.ID)
		}
		seen[m.ID] = true
		if !dimension.ValidName(m.Name) {
			bad("metric %q: name %q must not be blank nor longer than %d bytes", m.ID, m.Name, dimension.MaxNameLen)
		}
		if len(m.Unit) > dimension.MaxNameLen {
			bad("metric %q: unit is longer than %d bytes", m.ID, dimension.MaxNameLen)
		}
		o.Metrics[i].Name, o.Metrics[i].Unit = strings.TrimSpace(m.Name), strings.TrimSpace(m.Unit)
	}
	if o.FiscalYearStart < time.January || o.FiscalYearStart > time.December {
		bad("first month of the fiscal year must be 1 to 12, got %d", int(o.FiscalYearStart))
	}
	seenDim := map[string]bool{}
	for _, d := range o.Dimensions {
		if !dimension.ValidID(d) {
			bad("dimension id %q must be 1 to %d letters, digits, '_', '.' or '-', starting with a letter or digit", d, dimension.MaxIDLen)
		} else if seenDim[d] {
			bad("dimension %q appears twice", d)
		}
		seenDim[d] = true
	}
	if !o.HorizonStart.Valid() {
		bad("horizon start %v is not a valid period", o.HorizonStart)
	}
	if o.HorizonMonths == 0 {
		o.HorizonMonths = DefaultHorizonMonths
	}
	if o.HorizonMonths < 1 || o.HorizonMonths > MaxHorizonMonths {
		bad("horizon must be 1 to %d months, got %d", MaxHorizonMonths, o.HorizonMonths)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	o.Name = strings.TrimSpace(o.Name)
	o.Dimensions = slices.Clone(o.Dimensions)
	p.record(o)
	return nil
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// ID returns the plan's id ("" before it is opened).
func (p *Plan) ID() string { return p.id }

// Name returns the plan's display name.
func (p *Plan) Name() string { return p.name }

// Currency returns the plan's ISO 4217 currency code.
func (p *Plan) Currency() string { return p.currency }

// Metrics returns the plan's metrics in the order they were opened with.
func (p *Plan) Metrics() []Metric { return slices.Clone(p.metrics) }

// Metric returns the metric id and whether the plan measures it.
func (p *Plan) Metric(id string) (Metric, bool) {
	for _, m := range p.metrics {
		if m.ID == id {
			return m, true
		}
	}
	return Metric{}, false
}

// Calendar returns the plan's fiscal calendar (the zero Calendar before
// the plan is opened).
func (p *Plan) Calendar() fiscal.Calendar { return p.cal }

// Dimensions returns the ids of the plan's dimensions.
func (p *Plan) Dimensions() []string { return slices.Clone(p.dims) }

// Horizon returns the rolling horizon: HorizonMonths periods from its
// start, as a range.
func (p *Plan) Horizon() fiscal.Span {
	return fiscal.Span{First: p.horizonStart, Last: p.horizonStart.Add(p.horizonMonths - 1), Kind: fiscal.KindRange}
}

// Version returns the number of events applied: the plan's stream version,
// counting events recorded but not yet stored.
func (p *Plan) Version() uint64 { return p.version }

// ChangedAt returns the version of the last event that changed the plan's
// numbers or structure (opening, targets, horizon, the estimate policy).
func (p *Plan) ChangedAt() uint64 { return p.changedAt }

// Target is a target as the plan holds it.
type Target struct {
	Node      dimension.Node
	Metric    string
	Span      fiscal.Span
	Amount    decimal.Decimal
	ChangedAt uint64 // the plan version that last set or revised it
}

// Target returns the target of node, metric and span, and whether it is
// set.
func (p *Plan) Target(node dimension.Node, metric string, span fiscal.Span) (Target, bool) {
	t := p.targets.get(targetKey{node, metric, span})
	if t == nil {
		return Target{}, false
	}
	return Target{Node: node, Metric: metric, Span: span, Amount: t.amount, ChangedAt: t.changedAt}, true
}

// Targets returns every target, ordered by metric, node text, span start
// and span end.
func (p *Plan) Targets() []Target {
	return sortTargets(make([]Target, 0, p.targets.len()), p.targets.all())
}

// TargetsOf returns the targets of node and metric, by span start and
// end: a node's row of targets, without sorting a whole plan's.
func (p *Plan) TargetsOf(node dimension.Node, metric string) []Target {
	var out []Target
	for k, t := range p.targets.ofMetric(metric) {
		if k.node == node {
			out = append(out, Target{Node: node, Metric: metric, Span: k.span, Amount: t.amount, ChangedAt: t.changedAt})
		}
	}
	slices.SortFunc(out, func(a, b Target) int {
		return cmp.Or(cmp.Compare(a.Span.First, b.Span.First), cmp.Compare(a.Span.Last, b.Span.Last))
	})
	return out
}

// TargetsWithin returns the targets of metric whose span lies within span,
// in the order of Targets: what one analysis reconciles, without sorting a
// whole plan's targets (hundreds of thousands at a company's size).
func (p *Plan) TargetsWithin(metric string, span fiscal.Span) []Target {
	return sortTargets(make([]Target, 0, p.targets.withinBound(metric, span)), p.targets.within(metric, span))
}

// sortTargets appends the targets of all to out and sorts them by metric,
// node text, span start and span end.
func sortTargets(out []Target, all iter.Seq2[targetKey, *target]) []Target {
	for k, t := range all {
		out = append(out, Target{Node: k.node, Metric: k.metric, Span: k.span, Amount: t.amount, ChangedAt: t.changedAt})
	}
	slices.SortFunc(out, CompareTargets)
	return out
}

// CompareTargets orders targets by metric, node text, span start and span
// end: the order of Targets and TargetsWithin. It returns at the first
// difference (cmp.Or would compare all four each time: the sort of an
// analysis's tens of thousands of targets spent most of its time there).
func CompareTargets(a, b Target) int {
	if c := strings.Compare(a.Metric, b.Metric); c != 0 {
		return c
	}
	if c := strings.Compare(a.Node.String(), b.Node.String()); c != 0 {
		return c
	}
	if a.Span.First != b.Span.First {
		return cmp.Compare(a.Span.First, b.Span.First)
	}
	return cmp.Compare(a.Span.Last, b.Span.Last)
}

// Tags returns the version tags in the order they were given.
func (p *Plan) Tags() []VersionTagged { return slices.Clone(p.tags) }

// Tag returns the version tag names and whether it exists.
func (p *Plan) Tag(tag string) (uint64, bool) {
	for _, t := range p.tags {
		if t.Tag == tag {
			return t.Version, true
		}
	}
	return 0, false
}

// Approvals returns the version approvals in the order they were given.
func (p *Plan) Approvals() []VersionApproved { return slices.Clone(p.approved) }
