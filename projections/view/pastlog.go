package view

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
)

// pastKind says how a past fold takes an event of the log (pastLog).
type pastKind uint8

const (
	pastSkip          pastKind = iota // apply changes nothing but the position: not read again
	pastStored                        // read from the store and applied as read
	pastTargetSet                     // plan.TargetSet
	pastTargetRevised                 // plan.TargetRevised
	pastTargetCleared                 // plan.TargetCleared
	pastActual                        // ledger.ActualRecorded or ledger.ActualRestated: the actual becomes amount
	pastVintage                       // forecast.Published or forecast.Sealed: the run the live state has at its position, if any
)

// pastEvent is an event of the log as a past fold needs it: for the kinds
// that are nearly all of a log (targets set, revised, cleared; actuals
// recorded, restated) only what State.apply reads of them, with the node,
// metric and plan as indices into the pastLog's tables, in 40 bytes; a
// forecast run published takes the vintage the live state keeps (its
// series, read again from the store, are megabytes of JSON); the few
// others are read from the store again (pastStored).
type pastEvent struct {
	amount decimal.Decimal // the target's amount (To when revised), the actual's
	span   fiscal.Span     // the target's span; an actual's period is span.First
	node   uint32          // the target's node, the actual's cell (pastLog.nodes)
	metric uint16          // pastLog.metrics
	plan   uint16          // a target's plan (pastLog.plans)
	kind   pastKind
}

// pastLog is the log folded into the live state kept in memory as
// pastEvents, from event from on (0, or the end of a restored snapshot,
// whose events before it are not known), so that a past state is folded
// from its checkpoint without reading and decoding the log again: a cold
// as-of read spent nearly all its time there (276 ms for 65,536 events of
// the Realistic log). It takes 40 bytes an event, in blocks of pastBlock
// (a slice grown by doubling held up to 2.4 times that). Only Live
// appends to it (under Service.mu); what a past fold reads of it (the
// events there were when it was taken, under Service.mu) never changes.
type pastLog struct {
	from    int
	blocks  []*[pastBlock]pastEvent // the last one filling
	n       int                     // events held
	nodes   []dimension.Node
	metrics []string
	plans   []string // plan ids
	owned   []string // "plan:" + id: the key of plan plans[i] in State.owned

	nodeIndex   map[dimension.Node]uint32
	metricIndex map[string]uint16
	planIndex   map[string]uint16
}

// pastBlock is how many events a block of a pastLog holds (160 KB).
const pastBlock = 1 << 12

// add appends event ev of rec, as decoded for a fold (Service.decode).
func (l *pastLog) add(rec eventstore.RecordedEvent, ev any) { l.push(l.pastEventOf(rec, ev)) }

// push appends e.
func (l *pastLog) push(e pastEvent) {
	if l.n%pastBlock == 0 {
		l.blocks = append(l.blocks, new([pastBlock]pastEvent))
	}
	l.blocks[l.n/pastBlock][l.n%pastBlock] = e
	l.n++
}

// extend appends the events of t from the one after l's last up to t's
// last (t holds events of the same log from l.from+l.n on), their nodes,
// metrics and plans indexed in l's tables.
func (l *pastLog) extend(t pastTables) {
	for i := l.from + l.n; i < t.from+t.n; i++ {
		e := t.event(i)
		switch e.kind {
		case pastTargetSet, pastTargetRevised, pastTargetCleared, pastActual:
			n, nok := l.node(t.nodes[e.node])
			m, mok := l.metric(t.metrics[e.metric])
			p, pok := uint16(0), true
			if e.kind != pastActual {
				p, pok = l.plan(t.plans[e.plan])
			}
			if !nok || !mok || !pok {
				e = pastEvent{kind: pastStored}
			} else {
				e.node, e.metric, e.plan = n, m, p
			}
		}
		l.push(e)
	}
}

// pastEventOf returns the pastEvent of ev, which rec recorded.
func (l *pastLog) pastEventOf(rec eventstore.RecordedEvent, ev any) pastEvent {
	if !folded(ev) {
		return pastEvent{kind: pastSkip}
	}
	switch e := ev.(type) {
	case plan.TargetSet:
		return l.target(pastTargetSet, rec, e.Node, e.Metric, e.Span, e.Amount)
	case plan.TargetRevised:
		return l.target(pastTargetRevised, rec, e.Node, e.Metric, e.Span, e.To)
	case plan.TargetCleared:
		return l.target(pastTargetCleared, rec, e.Node, e.Metric, e.Span, decimal.Decimal{})
	case ledger.ActualRecorded:
		return l.actual(e.Cell, e.Metric, e.Period, e.Amount)
	case ledger.ActualRestated:
		return l.actual(e.Cell, e.Metric, e.Period, e.To)
	case forecast.Published, forecast.Sealed:
		return pastEvent{kind: pastVintage}
	}
	return pastEvent{kind: pastStored}
}

// target returns the pastEvent of a plan's target event.
func (l *pastLog) target(kind pastKind, rec eventstore.RecordedEvent, node dimension.Node, metric string, span fiscal.Span, amount decimal.Decimal) pastEvent {
	n, nok := l.node(node)
	m, mok := l.metric(metric)
	p, pok := l.plan(strings.TrimPrefix(rec.Stream, "plan-"))
	if !nok || !mok || !pok {
		return pastEvent{kind: pastStored}
	}
	return pastEvent{amount: amount, span: span, node: n, metric: m, plan: p, kind: kind}
}

// actual returns the pastEvent of an actual recorded or restated.
func (l *pastLog) actual(cell dimension.Node, metric string, per fiscal.Period, amount decimal.Decimal) pastEvent {
	n, nok := l.node(cell)
	m, mok := l.metric(metric)
	if !nok || !mok {
		return pastEvent{kind: pastStored}
	}
	return pastEvent{amount: amount, span: fiscal.Span{First: per}, node: n, metric: m, kind: pastActual}
}

// node returns the index of node, added when new; false when the table
// is full (the event is then read from the store).
func (l *pastLog) node(node dimension.Node) (uint32, bool) {
	if i, ok := l.nodeIndex[node]; ok {
		return i, true
	}
	if len(l.nodes) == math.MaxUint32 {
		return 0, false
	}
	if l.nodeIndex == nil {
		l.nodeIndex = map[dimension.Node]uint32{}
	}
	i := uint32(len(l.nodes))
	l.nodes, l.nodeIndex[node] = append(l.nodes, node), i
	return i, true
}

// metric returns the index of metric, added when new; false when the
// table is full.
func (l *pastLog) metric(metric string) (uint16, bool) {
	if i, ok := l.metricIndex[metric]; ok {
		return i, true
	}
	if len(l.metrics) == math.MaxUint16 {
		return 0, false
	}
	if l.metricIndex == nil {
		l.metricIndex = map[string]uint16{}
	}
	i := uint16(len(l.metrics))
	l.metrics, l.metricIndex[metric] = append(l.metrics, metric), i
	return i, true
}

// plan returns the index of plan id, added when new; false when the
// table is full.
func (l *pastLog) plan(id string) (uint16, bool) {
	if i, ok := l.planIndex[id]; ok {
		return i, true
	}
	if len(l.plans) == math.MaxUint16 {
		return 0, false
	}
	if l.planIndex == nil {
		l.planIndex = map[string]uint16{}
	}
	i := uint16(len(l.plans))
	l.plans, l.owned, l.planIndex[id] = append(l.plans, id), append(l.owned, "plan:"+id), i
	return i, true
}

// pastTables is what a past fold reads of a pastLog: its events
// from+1 … from+n and the tables they index, taken under Service.mu; none
// of it changes after (Live writes only past event n).
type pastTables struct {
	from, n int
	blocks  []*[pastBlock]pastEvent
	nodes   []dimension.Node
	metrics []string
	plans   []string
	owned   []string
}

// tables returns what a past fold may read of l now (under Service.mu).
func (l *pastLog) tables() pastTables {
	return pastTables{from: l.from, n: l.n, blocks: clip(l.blocks), nodes: clip(l.nodes), metrics: clip(l.metrics), plans: clip(l.plans), owned: clip(l.owned)}
}

// clip returns vs with its capacity its length.
func clip[T any](vs []T) []T { return vs[:len(vs):len(vs)] }

// covers reports whether t holds events from+1 … n of the log.
func (t pastTables) covers(from, n int) bool { return from >= t.from && n <= t.from+t.n }

// event returns event i+1 of the log (i ≥ t.from).
func (t pastTables) event(i int) pastEvent {
	k := i - t.from
	return t.blocks[k/pastBlock][k%pastBlock]
}

// foldLogged returns the state after the first n events of the log,
// folded from base, the state after the first from (nil: the start), with
// the events t holds: those it keeps whole applied from memory, the
// forecast runs published taken from live, a later state, and the others
// read from the store at their positions (marks, the Service's marks up
// to n at least), as is the last, whose recorded time the state takes.
// The plan stream versions are those of live up to event n (a past fold
// of the store finds the same).
func (s *Service) foldLogged(ctx context.Context, t pastTables, marks []mark, live, base *State, from, n int) (*State, error) {
	st := s.build(base)
	st.versions = live.versions.upTo(marks[n-1].position)
	parts := s.runParts(ctx)
	var ahead []eventstore.RecordedEvent
	for i := from; i < n; i++ {
		switch pe := t.event(i); pe.kind {
		case pastSkip:
		case pastStored:
			if err := s.applyStored(ctx, st, t, marks, i, n, &ahead, parts); err != nil {
				return nil, err
			}
		case pastActual:
			st.setActual(t.nodes[pe.node], t.metrics[pe.metric], pe.span.First, pe.amount)
		case pastVintage:
			st.takeVintage(live, marks[i].position)
		default:
			p := own(st, st.plans, t.owned[pe.plan], t.plans[pe.plan], plan.New, (*plan.Plan).Clone)
			p.Apply(pe.targetEvent(t))
		}
	}
	if last := marks[n-1].position; st.Position != last {
		rec, err := s.eventAt(ctx, marks[:n])
		if err != nil {
			return nil, fmt.Errorf("query: %w", err)
		}
		st.Position, st.Time = rec.Position, rec.RecordedAt
	}
	st.done()
	return st, nil
}

// takeVintage folds into st the forecast run live published at pos, if
// any (a seal that completes no run publishes none): st's forecasts are
// a prefix of live's, in position order.
func (s *State) takeVintage(live *State, pos eventstore.Position) {
	k, ok := slices.BinarySearchFunc(live.forecasts, pos, func(v vintage, p eventstore.Position) int { return v.position.Compare(p) })
	if !ok {
		return
	}
	v := live.forecasts[k]
	s.forecasts = append(s.forecasts, v)
	delete(s.pending, v.RunID)
}

// targetEvent returns the target event pe keeps (of kind pastTargetSet,
// pastTargetRevised or pastTargetCleared) as Plan.Apply reads it.
func (pe pastEvent) targetEvent(t pastTables) plan.Event {
	node, metric := t.nodes[pe.node], t.metrics[pe.metric]
	switch pe.kind {
	case pastTargetSet:
		return plan.TargetSet{Node: node, Metric: metric, Span: pe.span, Amount: pe.amount}
	case pastTargetRevised:
		return plan.TargetRevised{Node: node, Metric: metric, Span: pe.span, To: pe.amount}
	}
	return plan.TargetCleared{Node: node, Metric: metric, Span: pe.span}
}

// applyStored reads event i+1 of the log from the store and folds it into
// st. Where more events that must be read follow within storedGap of it
// (and of each other, up to event n), it reads through the last of them
// in the same request and keeps the rest in ahead: a span dense in such
// events (a small company's log of forecast requests and plan events)
// costs a few reads instead of one each, which on EventStoreDB is a
// round trip each; an event far from the next is read alone.
func (s *Service) applyStored(ctx context.Context, st *State, t pastTables, marks []mark, i, n int, ahead *[]eventstore.RecordedEvent, parts func(string, uint64) ([]forecast.Event, error)) error {
	want := marks[i].position
	for len(*ahead) > 0 && (*ahead)[0].Position.Before(want) {
		*ahead = (*ahead)[1:]
	}
	if len(*ahead) == 0 {
		last := i
		for j := i + 1; j < n && j <= last+storedGap && j-i < storedBatch; j++ {
			if t.event(j).kind == pastStored {
				last = j
			}
		}
		after := eventstore.Start
		if i > 0 {
			after = marks[i-1].position
		}
		batch, err := s.store.ReadAll(ctx, after, last-i+1)
		if err != nil {
			return fmt.Errorf("query: view: reading the events from %s: %w", want, err)
		}
		*ahead = batch
	}
	if len(*ahead) == 0 || (*ahead)[0].Position != want {
		return fmt.Errorf("query: view: the log holds no event at %s", want)
	}
	rec := (*ahead)[0]
	*ahead = (*ahead)[1:]
	ev, err := s.decode(rec)
	if err != nil && !errors.Is(err, eventstore.ErrUnknownType) {
		return fmt.Errorf("query: %w", err)
	}
	return st.apply(entry{rec: rec, event: ev}, parts)
}

// storedGap is how many events applyStored reads past what it needs to
// reach the next event it must read in the same request; storedBatch
// bounds one request.
const (
	storedGap   = 64
	storedBatch = 4096
)
