package plan

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
)

// Snapshot is a plan's state as plain values, for read-model snapshots
// (package projections/view): FromSnapshot(p.Snapshot()) is a plan equal
// to p, to which later events apply as they would to p. The changes
// recorded by commands are not part of it: a snapshot is of a plan
// replayed from its events. Its slices are in a fixed order (targets by
// key, reallocations by id), so equal plans give equal snapshots.
type Snapshot struct {
	ID, Name, Currency string
	Metrics            []Metric
	Derived            []DerivedMetric
	Policies           []PolicySnapshot
	Pins               []PinSnapshot
	FiscalYearStart    time.Month // 0: not opened
	Dims               []string
	HorizonStart       int32
	HorizonMonths      int
	OpenedStart        int32
	Discarded          bool
	Version, ChangedAt uint64

	// Nodes are the nodes the targets and pending moves name, each once;
	// the targets are columns of equal length (Nodes and Metrics by index).
	Nodes   []string
	Targets TargetColumns

	Reallocs []ReallocSnapshot // by id
	Order    []string
	Pending  []PendingSnapshot // by target key
	Tags     []VersionTagged
	Approved []VersionApproved
}

// PolicySnapshot is the estimate policy of a metric ("" the plan's).
type PolicySnapshot struct {
	Metric string
	Policy EstimatePolicy
}

// PinSnapshot is a ModelPin, its node as text.
type PinSnapshot struct {
	Metric, Node, Method string
}

// TargetColumns are the targets of a plan, one row per target.
type TargetColumns struct {
	Node        []uint32 // index in Snapshot.Nodes
	Metric      []uint32 // index in MetricIDs
	MetricIDs   []string // the metric ids targets name, each once
	First, Last []int32  // the span's periods
	Kind        []uint8  // the span's kind
	AmountCoef  []int64  // the amount is AmountCoef × 10^-AmountScale
	AmountScale []uint8
	ChangedAt   []uint64
}

// ReallocSnapshot is a reallocation with the targets' versions and
// amounts when it was proposed.
type ReallocSnapshot struct {
	Reallocation
	Basis []uint64
	From  []decimal.Decimal
}

// PendingSnapshot is a target moved by an open reallocation.
type PendingSnapshot struct {
	Node    uint32 // index in Snapshot.Nodes
	Metric  string
	First   int32
	Last    int32
	Kind    uint8
	Realloc string
}

// Snapshot returns p's state as plain values (see Snapshot).
func (p *Plan) Snapshot() Snapshot {
	s := Snapshot{ID: p.id, Name: p.name, Currency: p.currency, Metrics: slices.Clone(p.metrics), Derived: slices.Clone(p.derived),
		FiscalYearStart: p.cal.StartMonth(), Dims: slices.Clone(p.dims), HorizonStart: int32(p.horizonStart), HorizonMonths: p.horizonMonths,
		OpenedStart: int32(p.openedStart), Discarded: p.discarded, Version: p.version, ChangedAt: p.changedAt,
		Order: slices.Clone(p.order), Tags: slices.Clone(p.tags), Approved: slices.Clone(p.approved)}
	for _, m := range slices.Sorted(maps.Keys(p.policies)) {
		s.Policies = append(s.Policies, PolicySnapshot{m, p.policies[m]})
	}
	for _, pin := range p.pins {
		s.Pins = append(s.Pins, PinSnapshot{pin.Metric, pin.Node.String(), pin.Method})
	}
	nodes := map[string]uint32{}
	nodeOf := func(n dimension.Node) uint32 {
		k := n.String()
		i, ok := nodes[k]
		if !ok {
			i = uint32(len(s.Nodes))
			nodes[k] = i
			s.Nodes = append(s.Nodes, k)
		}
		return i
	}
	keys := slices.SortedFunc(func(yield func(targetKey) bool) {
		for k := range p.targets.all() {
			if !yield(k) {
				return
			}
		}
	}, compareKeys)
	metrics := map[string]uint32{}
	t := &s.Targets
	// The columns at their length at once: grown by append, they were
	// copied over and over (a Large company's 2 million targets).
	n := len(keys)
	t.Node, t.Metric, t.First, t.Last = make([]uint32, 0, n), make([]uint32, 0, n), make([]int32, 0, n), make([]int32, 0, n)
	t.Kind, t.AmountCoef, t.AmountScale, t.ChangedAt = make([]uint8, 0, n), make([]int64, 0, n), make([]uint8, 0, n), make([]uint64, 0, n)
	for _, k := range keys {
		m, ok := metrics[k.metric]
		if !ok {
			m = uint32(len(t.MetricIDs))
			metrics[k.metric] = m
			t.MetricIDs = append(t.MetricIDs, k.metric)
		}
		v := p.targets.get(k)
		t.Node = append(t.Node, nodeOf(k.node))
		t.Metric = append(t.Metric, m)
		t.First, t.Last, t.Kind = append(t.First, int32(k.span.First)), append(t.Last, int32(k.span.Last)), append(t.Kind, uint8(k.span.Kind))
		t.AmountCoef, t.AmountScale = append(t.AmountCoef, v.amount.Coef()), append(t.AmountScale, uint8(v.amount.Scale()))
		t.ChangedAt = append(t.ChangedAt, v.changedAt)
	}
	for _, id := range slices.Sorted(maps.Keys(p.reallocs)) {
		r := p.reallocs[id]
		rs := ReallocSnapshot{Reallocation: r.Reallocation, Basis: slices.Clone(r.basis), From: slices.Clone(r.from)}
		rs.Moves, rs.Changes = slices.Clone(r.Moves), slices.Clone(r.Changes)
		s.Reallocs = append(s.Reallocs, rs)
	}
	for _, k := range slices.SortedFunc(maps.Keys(p.pending), compareKeys) {
		s.Pending = append(s.Pending, PendingSnapshot{Node: nodeOf(k.node), Metric: k.metric,
			First: int32(k.span.First), Last: int32(k.span.Last), Kind: uint8(k.span.Kind), Realloc: p.pending[k]})
	}
	return s
}

func compareKeys(a, b targetKey) int {
	return cmp.Or(strings.Compare(a.node.String(), b.node.String()), strings.Compare(a.metric, b.metric),
		cmp.Compare(a.span.First, b.span.First), cmp.Compare(a.span.Last, b.span.Last), cmp.Compare(a.span.Kind, b.span.Kind))
}

// FromSnapshot returns the plan s is a snapshot of. It fails when s is not
// one (a node that does not parse, columns of unequal length, an index out
// of range), as a snapshot damaged or written by other code would be.
func FromSnapshot(s Snapshot) (*Plan, error) {
	p := New()
	p.id, p.name, p.currency = s.ID, s.Name, s.Currency
	p.metrics, p.derived, p.dims = s.Metrics, s.Derived, s.Dims
	if s.FiscalYearStart != 0 {
		cal, err := fiscal.NewCalendar(s.FiscalYearStart)
		if err != nil {
			return nil, fmt.Errorf("plan snapshot %q: %w", s.ID, err)
		}
		p.cal = cal
	}
	p.horizonStart, p.horizonMonths, p.openedStart = fiscal.Period(s.HorizonStart), s.HorizonMonths, fiscal.Period(s.OpenedStart)
	p.discarded, p.version, p.changedAt = s.Discarded, s.Version, s.ChangedAt
	p.order, p.tags, p.approved = s.Order, s.Tags, s.Approved
	if len(s.Policies) > 0 {
		p.policies = make(map[string]EstimatePolicy, len(s.Policies))
		for _, ps := range s.Policies {
			p.policies[ps.Metric] = ps.Policy
		}
	}
	for _, pin := range s.Pins {
		n, err := dimension.ParseNode(pin.Node)
		if err != nil {
			return nil, fmt.Errorf("plan snapshot %q: pin: %w", s.ID, err)
		}
		p.pins = append(p.pins, ModelPin{Metric: pin.Metric, Node: n, Method: pin.Method})
	}
	nodes := make([]dimension.Node, len(s.Nodes))
	for i, k := range s.Nodes {
		n, err := dimension.ParseNode(k)
		if err != nil {
			return nil, fmt.Errorf("plan snapshot %q: %w", s.ID, err)
		}
		nodes[i] = n
	}
	t := s.Targets
	rows := len(t.Node)
	for _, l := range []int{len(t.Metric), len(t.First), len(t.Last), len(t.Kind), len(t.AmountCoef), len(t.AmountScale), len(t.ChangedAt)} {
		if l != rows {
			return nil, fmt.Errorf("plan snapshot %q: target columns of unequal length", s.ID)
		}
	}
	all := make([]target, rows) // one allocation for every target
	keys := make([]targetKey, rows)
	for i := range rows {
		if int(t.Node[i]) >= len(nodes) || int(t.Metric[i]) >= len(t.MetricIDs) || t.AmountScale[i] > decimal.MaxScale {
			return nil, fmt.Errorf("plan snapshot %q: target %d out of range", s.ID, i)
		}
		all[i] = target{amount: decimal.New(t.AmountCoef[i], int(t.AmountScale[i])), changedAt: t.ChangedAt[i]}
		keys[i] = targetKey{nodes[t.Node[i]], t.MetricIDs[t.Metric[i]], fiscal.Span{First: fiscal.Period(t.First[i]), Last: fiscal.Period(t.Last[i]), Kind: fiscal.SpanKind(t.Kind[i])}}
	}
	p.targets = loadTargets(keys, all)
	for _, r := range s.Reallocs {
		p.reallocs[r.ID] = &reallocation{Reallocation: r.Reallocation, basis: r.Basis, from: r.From}
	}
	for _, ps := range s.Pending {
		if int(ps.Node) >= len(nodes) {
			return nil, fmt.Errorf("plan snapshot %q: pending target out of range", s.ID)
		}
		p.pending[targetKey{nodes[ps.Node], ps.Metric, fiscal.Span{First: fiscal.Period(ps.First), Last: fiscal.Period(ps.Last), Kind: fiscal.SpanKind(ps.Kind)}}] = ps.Realloc
	}
	return p, nil
}
