package history

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/projections/catalog"
	"github.com/concord-planning/concord/projections/vintage"
)

// Errors returned by Log; check them with errors.Is.
var (
	// ErrInvalidFilter is returned for a filter with a negative limit, an
	// unknown kind or a time range that ends before it starts.
	ErrInvalidFilter = errors.New("history: invalid filter")
	// ErrEventMismatch is returned by Apply when the event value is not of
	// the Go type its record's type name stands for: a wiring error.
	ErrEventMismatch = errors.New("history: event value does not match its type name")
)

// Kind says what an entry records.
type Kind string

// The kinds of entry.
const (
	PlanOpened           Kind = "plan.opened"
	PlanRenamed          Kind = "plan.renamed"
	PlanDiscarded        Kind = "plan.discarded"
	TargetSet            Kind = "target.set"
	TargetRevised        Kind = "target.revised"
	TargetCleared        Kind = "target.cleared"
	ReallocationProposed Kind = "reallocation.proposed" // one entry per move; After is the delta
	ReallocationApproved Kind = "reallocation.approved" // one entry per move
	ReallocationRejected Kind = "reallocation.rejected" // one entry per move
	VersionTagged        Kind = "version.tagged"
	VersionApproved      Kind = "version.approved"
	HorizonRolled        Kind = "horizon.rolled"
	ActualRecorded       Kind = "actual.recorded"
	ActualRestated       Kind = "actual.restated"
	PeriodClosed         Kind = "period.closed"
	DimensionDefined     Kind = "dimension.defined"
	MemberAdded          Kind = "member.added"
	MemberRenamed        Kind = "member.renamed"
	MemberMoved          Kind = "member.moved"
	MemberRetired        Kind = "member.retired"
	MemberRemoved        Kind = "member.removed"
	CommitSubmitted      Kind = "commit.submitted"
	CommitWithdrawn      Kind = "commit.withdrawn"
	PeriodReopened       Kind = "period.reopened"
)

var kinds = []Kind{PlanOpened, PlanRenamed, PlanDiscarded, TargetSet, TargetRevised, TargetCleared, ReallocationProposed, ReallocationApproved,
	ReallocationRejected, VersionTagged, VersionApproved, HorizonRolled, ActualRecorded, ActualRestated, PeriodClosed,
	DimensionDefined, MemberAdded, MemberRenamed, MemberMoved, MemberRetired, MemberRemoved, CommitSubmitted, CommitWithdrawn, PeriodReopened}

// Entry is one change.
type Entry struct {
	Position   eventstore.Position
	RecordedAt time.Time
	Kind       Kind
	Actor      string
	Plan       string         // "" for actuals and dimensions
	Node       dimension.Node // the node, cell or member ("dim=member") concerned
	HasNode    bool           // false for plan-wide entries (tags, approvals, horizon, closes)
	Metric     string
	Span       fiscal.Span // zero when the change has no span
	Before     string      // "" when there was nothing; amounts as exact decimal text
	After      string      // "" when nothing is left
	Reason     string      // reason, or the comment of a commit or approval
	Ref        string      // reallocation or commit id, tag, import id, confidence
}

// entry is Entry stored: fixed size, no pointers.
type entry struct {
	pos             eventstore.Position
	at, upTo        int64 // recorded time, and the time line's (never decreasing) time
	span            fiscal.Span
	before, after   decimal.Decimal
	kind            uint8
	hasB, hasA      uint8 // 1 = decimal, 2 = text (beforeT/afterT)
	actor, plan     uint32
	node, metric    uint32
	reason, ref     uint32
	beforeT, afterT uint32
}

const noNode = ^uint32(0)

// Log is the audit history read model. The zero value is not usable; use
// New.
type Log struct {
	mu      sync.RWMutex
	pos     eventstore.Position
	cat     *catalog.Catalog
	entries entries
	text    map[string]uint32
	texts   []string
	nodeIdx map[dimension.Node]uint32
	nodes   []nodeInfo
	upTo    int64
	times   vintage.Timeline // every event applied, also those with no entry

	scratch  []change                // the changes of the event being applied
	reallocs map[string]reallocMoves // by plan + "\x00" + id
	commits  map[string]commitState  // by commit id
	slots    map[commitSlot]string   // current commit id of a slot
}

type nodeInfo struct {
	node    dimension.Node
	coords  []dimension.Coord
	entries []uint32 // indexes into Log.entries, ascending
}

type reallocMoves struct {
	metric string
	span   fiscal.Span
	moves  []plan.Move
}

type commitSlot struct {
	plan       string
	node       dimension.Node
	metric     string
	span       fiscal.Span
	confidence commit.Confidence
}

type commitState struct {
	slot   commitSlot
	amount decimal.Decimal
}

// New returns an empty log with its own catalog.
func New() *Log {
	l := &Log{cat: catalog.New(), text: map[string]uint32{"": 0}, texts: []string{""}, nodeIdx: map[dimension.Node]uint32{},
		reallocs: map[string]reallocMoves{}, commits: map[string]commitState{}, slots: map[commitSlot]string{}}
	return l
}

// Catalog returns the catalog the log keeps for subtree filters. Do not
// Apply to it.
func (l *Log) Catalog() *catalog.Catalog { return l.cat }

// Position returns the position of the last event applied.
func (l *Log) Position() eventstore.Position {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.pos
}

// PositionAt returns the last position applied whose event was recorded at
// or before t (eventstore.Start when none was).
func (l *Log) PositionAt(t time.Time) eventstore.Position {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.times.PositionAt(t)
}

func (l *Log) id(s string) uint32 {
	if i, ok := l.text[s]; ok {
		return i
	}
	i := uint32(len(l.texts))
	l.text[s] = i
	l.texts = append(l.texts, s)
	return i
}

func (l *Log) nodeID(n dimension.Node) uint32 {
	if i, ok := l.nodeIdx[n]; ok {
		return i
	}
	i := uint32(len(l.nodes))
	l.nodeIdx[n] = i
	l.nodes = append(l.nodes, nodeInfo{node: n, coords: n.Coords()})
	return i
}

// change is an entry being built by Apply.
type change struct {
	kind          Kind
	actor, plan   string
	node          nodeRef
	metric        string
	span          fiscal.Span
	before, after value
	reason, ref   string
}

// nodeRef is a node, if ok.
type nodeRef struct {
	n  dimension.Node
	ok bool
}

// value is a before or after: none, an amount or a text.
type value struct {
	d    decimal.Decimal
	s    string
	kind uint8 // 0 none, 1 d, 2 s: as entry.hasB and hasA
}

func dec(d decimal.Decimal) value { return value{d: d, kind: 1} }

func txt(s string) value { return value{s: s, kind: 2} }

func actor(by string, md eventstore.Metadata) string {
	if by != "" {
		return by
	}
	return md.Actor
}

func nodePtr(n dimension.Node) nodeRef { return nodeRef{n: n, ok: true} }

func memberNode(dim, member string) nodeRef {
	n, err := dimension.NewNode(dimension.Coord{Dimension: dim, Member: member})
	return nodeRef{n: n, ok: err == nil}
}

var typeNames = map[reflect.Type]string{} // Go type → stable name, filled in init

func init() {
	for name, v := range map[string]any{
		plan.TypeOpened: plan.Opened{}, plan.TypeTargetSet: plan.TargetSet{}, plan.TypeTargetRevised: plan.TargetRevised{},
		plan.TypeTargetCleared: plan.TargetCleared{}, plan.TypeReallocationProposed: plan.ReallocationProposed{},
		plan.TypeReallocationApproved: plan.ReallocationApproved{}, plan.TypeReallocationRejected: plan.ReallocationRejected{},
		plan.TypeVersionTagged: plan.VersionTagged{}, plan.TypeVersionApproved: plan.VersionApproved{}, plan.TypeHorizonRolled: plan.HorizonRolled{},
		plan.TypeRenamed: plan.Renamed{}, plan.TypeDiscarded: plan.Discarded{},
		ledger.TypeActualRecorded: ledger.ActualRecorded{}, ledger.TypeActualRestated: ledger.ActualRestated{}, ledger.TypePeriodClosed: ledger.PeriodClosed{},
		ledger.TypePeriodReopened: ledger.PeriodReopened{},
		commit.TypeSubmitted:      commit.Submitted{}, commit.TypeWithdrawn: commit.Withdrawn{},
		dimension.TypeDefined: dimension.Defined{}, dimension.TypeMemberAdded: dimension.MemberAdded{}, dimension.TypeMemberRenamed: dimension.MemberRenamed{},
		dimension.TypeMemberMoved: dimension.MemberMoved{}, dimension.TypeMemberRetired: dimension.MemberRetired{},
		dimension.TypeMemberRemoved: dimension.MemberRemoved{},
	} {
		typeNames[reflect.TypeOf(v)] = name
	}
}

// Apply folds one event: one entry per change (a reallocation gives one per
// move). Events at or before Position are ignored, as are events of other
// kinds (forecasts). It returns ErrEventMismatch, leaving the log
// unchanged, when event is not the value rec.Type names.
func (l *Log) Apply(rec eventstore.RecordedEvent, event any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.pos.Before(rec.Position) {
		return nil
	}
	if name, ok := typeNames[reflect.TypeOf(event)]; ok && name != rec.Type {
		return fmt.Errorf("%w: %q at position %v holds a %T", ErrEventMismatch, rec.Type, rec.Position, event)
	}
	if _, ok := event.(dimension.Event); ok {
		if err := l.cat.Apply(rec, event); err != nil {
			return err
		}
	}
	l.scratch = l.changes(l.scratch[:0], rec, event)
	for i := range l.scratch {
		l.add(rec, &l.scratch[i])
	}
	clear(l.scratch) // drop the references until the next event
	l.pos = rec.Position
	l.times.Record(rec.Position, rec.RecordedAt)
	return nil
}

func (l *Log) changes(out []change, rec eventstore.RecordedEvent, event any) []change {
	md := rec.Metadata
	planID, _ := strings.CutPrefix(rec.Stream, "plan-")
	switch e := event.(type) {
	case plan.Opened:
		return append(out, change{kind: PlanOpened, actor: md.Actor, plan: e.ID, after: txt(e.Name)})
	case plan.Renamed:
		return append(out, change{kind: PlanRenamed, actor: actor(e.By, md), plan: planID, before: txt(e.From), after: txt(e.To)})
	case plan.Discarded:
		return append(out, change{kind: PlanDiscarded, actor: actor(e.By, md), plan: planID, before: txt("open"), after: txt("discarded"), reason: e.Reason})
	case plan.TargetSet:
		return append(out, change{kind: TargetSet, actor: actor(e.By, md), plan: planID, node: nodePtr(e.Node), metric: e.Metric, span: e.Span, after: dec(e.Amount), reason: e.Reason})
	case plan.TargetRevised:
		return append(out, change{kind: TargetRevised, actor: actor(e.By, md), plan: planID, node: nodePtr(e.Node), metric: e.Metric, span: e.Span, before: dec(e.From), after: dec(e.To), reason: e.Reason})
	case plan.TargetCleared:
		return append(out, change{kind: TargetCleared, actor: actor(e.By, md), plan: planID, node: nodePtr(e.Node), metric: e.Metric, span: e.Span, before: dec(e.From), reason: e.Reason})
	case plan.ReallocationProposed:
		l.reallocs[planID+"\x00"+e.ID] = reallocMoves{metric: e.Metric, span: e.Span, moves: e.Moves}
		for _, m := range e.Moves {
			out = append(out, change{kind: ReallocationProposed, actor: actor(e.By, md), plan: planID, node: nodePtr(m.Node), metric: e.Metric, span: e.Span,
				after: dec(m.Delta), reason: e.Reason, ref: e.ID})
		}
		return out
	case plan.ReallocationApproved:
		return l.decided(out, planID, e.ID, ReallocationApproved, actor(e.By, md), "approved", e.Comment)
	case plan.ReallocationRejected:
		return l.decided(out, planID, e.ID, ReallocationRejected, actor(e.By, md), "rejected", e.Reason)
	case plan.VersionTagged:
		return append(out, change{kind: VersionTagged, actor: actor(e.By, md), plan: planID, after: txt("version " + strconv.FormatUint(e.Version, 10)), ref: e.Tag})
	case plan.VersionApproved:
		return append(out, change{kind: VersionApproved, actor: actor(e.By, md), plan: planID, after: txt("version " + strconv.FormatUint(e.Version, 10)), reason: e.Comment, ref: e.Tag})
	case plan.HorizonRolled:
		return append(out, change{kind: HorizonRolled, actor: md.Actor, plan: planID, before: txt(e.From.String()), after: txt(e.To.String())})
	case ledger.ActualRecorded:
		return append(out, change{kind: ActualRecorded, actor: actor(e.By, md), node: nodePtr(e.Cell), metric: e.Metric, span: fiscal.Month(e.Period), after: dec(e.Amount), ref: e.ImportID})
	case ledger.ActualRestated:
		return append(out, change{kind: ActualRestated, actor: actor(e.By, md), node: nodePtr(e.Cell), metric: e.Metric, span: fiscal.Month(e.Period), before: dec(e.From), after: dec(e.To), reason: e.Reason})
	case ledger.PeriodClosed:
		return append(out, change{kind: PeriodClosed, actor: actor(e.By, md), span: fiscal.Month(e.Period), reason: e.Reason})
	case ledger.PeriodReopened:
		return append(out, change{kind: PeriodReopened, actor: actor(e.By, md), span: fiscal.Month(e.Period), reason: e.Reason})
	case commit.Submitted:
		slot := commitSlot{e.Plan, e.Node, e.Metric, e.Span, e.Confidence}
		c := change{kind: CommitSubmitted, actor: actor(e.By, md), plan: e.Plan, node: nodePtr(e.Node), metric: e.Metric, span: e.Span,
			after: dec(e.Amount), reason: e.Comment, ref: e.ID + " (" + string(e.Confidence) + ")"}
		if prev, ok := l.slots[slot]; ok {
			c.before = dec(l.commits[prev].amount)
		}
		l.slots[slot] = e.ID
		l.commits[e.ID] = commitState{slot: slot, amount: e.Amount}
		return append(out, c)
	case commit.Withdrawn:
		cs, ok := l.commits[e.ID]
		if !ok {
			return out
		}
		if l.slots[cs.slot] == e.ID {
			delete(l.slots, cs.slot)
		}
		return []change{{kind: CommitWithdrawn, actor: actor(e.By, md), plan: cs.slot.plan, node: nodePtr(cs.slot.node), metric: cs.slot.metric,
			span: cs.slot.span, before: dec(cs.amount), reason: e.Reason, ref: e.ID + " (" + string(cs.slot.confidence) + ")"}}
	}
	dim, _ := strings.CutPrefix(rec.Stream, "dimension-")
	switch e := event.(type) {
	case dimension.Defined:
		return append(out, change{kind: DimensionDefined, actor: md.Actor, node: memberNode(e.ID, e.RootID), after: txt(e.Name)})
	case dimension.MemberAdded:
		return append(out, change{kind: MemberAdded, actor: md.Actor, node: memberNode(dim, e.ID), after: txt(e.Name + " under " + e.Parent)})
	case dimension.MemberRenamed:
		return append(out, change{kind: MemberRenamed, actor: md.Actor, node: memberNode(dim, e.ID), before: txt(e.From), after: txt(e.To)})
	case dimension.MemberMoved:
		return append(out, change{kind: MemberMoved, actor: md.Actor, node: memberNode(dim, e.ID), before: txt(e.FromParent), after: txt(e.ToParent)})
	case dimension.MemberRetired:
		return append(out, change{kind: MemberRetired, actor: md.Actor, node: memberNode(dim, e.ID), before: txt("active"), after: txt("retired")})
	case dimension.MemberRemoved:
		return append(out, change{kind: MemberRemoved, actor: md.Actor, node: memberNode(dim, e.ID), before: txt(e.Name + " under " + e.Parent), after: txt("removed")})
	}
	return out
}

func (l *Log) decided(out []change, planID, id string, k Kind, by, status, reason string) []change {
	r, ok := l.reallocs[planID+"\x00"+id]
	if !ok {
		return out
	}
	for _, m := range r.moves {
		out = append(out, change{kind: k, actor: by, plan: planID, node: nodePtr(m.Node), metric: r.metric, span: r.span,
			before: txt("open"), after: txt(status), reason: reason, ref: id})
	}
	return out
}

func kindID(k Kind) uint8 {
	for i, x := range kinds {
		if x == k {
			return uint8(i)
		}
	}
	panic("history: unknown kind " + string(k))
}

func (l *Log) add(rec eventstore.RecordedEvent, c *change) {
	at := rec.RecordedAt.UnixNano()
	l.upTo = max(l.upTo, at)
	e := entry{pos: rec.Position, at: at, upTo: l.upTo, span: c.span, kind: kindID(c.kind), actor: l.id(c.actor), plan: l.id(c.plan),
		node: noNode, metric: l.id(c.metric), reason: l.id(c.reason), ref: l.id(c.ref)}
	switch e.hasB = c.before.kind; e.hasB {
	case 1:
		e.before = c.before.d
	case 2:
		e.beforeT = l.id(c.before.s)
	}
	switch e.hasA = c.after.kind; e.hasA {
	case 1:
		e.after = c.after.d
	case 2:
		e.afterT = l.id(c.after.s)
	}
	i := uint32(l.entries.len())
	if c.node.ok {
		e.node = l.nodeID(c.node.n)
		n := &l.nodes[e.node]
		n.entries = append(n.entries, i)
	}
	l.entries.add(e)
}

func (l *Log) export(e *entry) Entry {
	x := Entry{Position: e.pos, RecordedAt: time.Unix(0, e.at).UTC(), Kind: kinds[e.kind], Actor: l.texts[e.actor], Plan: l.texts[e.plan],
		Metric: l.texts[e.metric], Span: e.span, Reason: l.texts[e.reason], Ref: l.texts[e.ref]}
	if e.node != noNode {
		x.Node, x.HasNode = l.nodes[e.node].node, true
	}
	switch e.hasB {
	case 1:
		x.Before = e.before.String()
	case 2:
		x.Before = l.texts[e.beforeT]
	}
	switch e.hasA {
	case 1:
		x.After = e.after.String()
	case 2:
		x.After = l.texts[e.afterT]
	}
	return x
}

// entries stores entries in fixed blocks, so that growing the log never
// copies what it holds (a million entries would otherwise be copied over
// and over as one slice doubles).
type entries struct {
	blocks [][]entry
	n      int
}

const blockBits = 14

func (s *entries) len() int { return s.n }

func (s *entries) at(i int) *entry { return &s.blocks[i>>blockBits][i&(1<<blockBits-1)] }

func (s *entries) add(e entry) {
	if s.n>>blockBits == len(s.blocks) {
		s.blocks = append(s.blocks, make([]entry, 0, 1<<blockBits))
	}
	b := &s.blocks[len(s.blocks)-1]
	*b = append(*b, e)
	s.n++
}
