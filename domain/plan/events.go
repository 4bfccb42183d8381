package plan

import (
	"time"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
)

// Event is one of the events of a Plan. The interface is sealed.
type Event interface {
	planEvent()
}

// Stable type names of the events, as stored. Never change them: stored
// events are decoded by these names.
const (
	TypeOpened               = "plan.Opened"
	TypeTargetSet            = "plan.TargetSet"
	TypeTargetRevised        = "plan.TargetRevised"
	TypeTargetCleared        = "plan.TargetCleared"
	TypeReallocationProposed = "plan.ReallocationProposed"
	TypeReallocationApproved = "plan.ReallocationApproved"
	TypeReallocationRejected = "plan.ReallocationRejected"
	TypeVersionTagged        = "plan.VersionTagged"
	TypeVersionApproved      = "plan.VersionApproved"
	TypeHorizonRolled        = "plan.HorizonRolled"
	TypeRenamed              = "plan.Renamed"
	TypeDiscarded            = "plan.Discarded"
	TypeChangesProposed      = "plan.ChangesProposed"
)

// Metric is something a plan measures, such as net revenue or units.
type Metric struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Unit        string `json:"unit,omitempty"` // e.g. "EUR", "units"; free text
	NonNegative bool   `json:"non_negative"`   // targets and reallocations may not make it negative
}

// Opened records a new plan. It is the first event of a plan's stream.
type Opened struct {
	ID              string        `json:"id"`
	Name            string        `json:"name"`
	Currency        string        `json:"currency"` // ISO 4217 code, e.g. "EUR"
	Metrics         []Metric      `json:"metrics"`
	FiscalYearStart time.Month    `json:"fiscal_year_start"` // 1 to 12
	Dimensions      []string      `json:"dimensions"`        // dimension ids, in display order
	HorizonStart    fiscal.Period `json:"horizon_start"`
	HorizonMonths   int           `json:"horizon_months"`
}

// TargetSet records a new target.
type TargetSet struct {
	Node   dimension.Node  `json:"node"`
	Metric string          `json:"metric"`
	Span   fiscal.Span     `json:"span"`
	Amount decimal.Decimal `json:"amount"`
	Reason string          `json:"reason"`
	By     string          `json:"by"`
}

// TargetRevised records a target's change from From to To.
type TargetRevised struct {
	Node   dimension.Node  `json:"node"`
	Metric string          `json:"metric"`
	Span   fiscal.Span     `json:"span"`
	From   decimal.Decimal `json:"from"`
	To     decimal.Decimal `json:"to"`
	Reason string          `json:"reason"`
	By     string          `json:"by"`
}

// TargetCleared records that a target, which was From, no longer exists.
type TargetCleared struct {
	Node   dimension.Node  `json:"node"`
	Metric string          `json:"metric"`
	Span   fiscal.Span     `json:"span"`
	From   decimal.Decimal `json:"from"`
	Reason string          `json:"reason"`
	By     string          `json:"by"`
}

// Move is one node's part of a reallocation: its target changes by Delta.
type Move struct {
	Node  dimension.Node  `json:"node"`
	Delta decimal.Decimal `json:"delta"`
}

// ReallocationProposed records a proposal to move target between nodes of
// one metric and span. The deltas sum to exactly zero.
type ReallocationProposed struct {
	ID     string      `json:"id"`
	Metric string      `json:"metric"`
	Span   fiscal.Span `json:"span"`
	Moves  []Move      `json:"moves"`
	Reason string      `json:"reason"`
	By     string      `json:"by"`
}

// ReallocationApproved records the approval of a reallocation. It is
// followed, in the same append, by one TargetRevised per move.
type ReallocationApproved struct {
	ID      string `json:"id"`
	By      string `json:"by"`
	Comment string `json:"comment,omitempty"` // the approver's, optional
}

// ReallocationRejected records that a reallocation will not be applied.
type ReallocationRejected struct {
	ID     string `json:"id"`
	By     string `json:"by"`
	Reason string `json:"reason"`
}

// VersionTagged names version Version of the plan's stream.
type VersionTagged struct {
	Tag     string `json:"tag"`
	Version uint64 `json:"version"`
	By      string `json:"by"`
}

// VersionApproved records the approval of the plan as it was at stream
// version Version (optionally known by Tag).
type VersionApproved struct {
	Version uint64 `json:"version"`
	Tag     string `json:"tag,omitempty"`
	By      string `json:"by"`
	Comment string `json:"comment,omitempty"`
}

// HorizonRolled records the rolling horizon's start moving from From to To;
// its length is unchanged.
type HorizonRolled struct {
	From fiscal.Period `json:"from"`
	To   fiscal.Period `json:"to"`
}

// Renamed records the plan's new display name; nothing else changes (its
// id, numbers and version tags stay).
type Renamed struct {
	From string `json:"from"`
	To   string `json:"to"`
	By   string `json:"by"`
}

// Discarded records that a plan opened by mistake, before anything
// referred to it, is given up: it takes no more commands and is no longer
// listed; its id is not reused.
type Discarded struct {
	Reason string `json:"reason"`
	By     string `json:"by"`
}

func (Opened) planEvent()               {}
func (Renamed) planEvent()              {}
func (Discarded) planEvent()            {}
func (TargetSet) planEvent()            {}
func (TargetRevised) planEvent()        {}
func (TargetCleared) planEvent()        {}
func (ReallocationProposed) planEvent() {}
func (ReallocationApproved) planEvent() {}
func (ReallocationRejected) planEvent() {}
func (VersionTagged) planEvent()        {}
func (VersionApproved) planEvent()      {}
func (HorizonRolled) planEvent()        {}

// RegisterEvents registers every Plan event with its stable name.
func RegisterEvents(r *eventstore.Registry) {
	eventstore.Register[Opened](r, TypeOpened)
	eventstore.Register[TargetSet](r, TypeTargetSet)
	eventstore.Register[TargetRevised](r, TypeTargetRevised)
	eventstore.Register[TargetCleared](r, TypeTargetCleared)
	eventstore.Register[ReallocationProposed](r, TypeReallocationProposed)
	eventstore.Register[ReallocationApproved](r, TypeReallocationApproved)
	eventstore.Register[ReallocationRejected](r, TypeReallocationRejected)
	eventstore.Register[VersionTagged](r, TypeVersionTagged)
	eventstore.Register[VersionApproved](r, TypeVersionApproved)
	eventstore.Register[HorizonRolled](r, TypeHorizonRolled)
	eventstore.Register[Renamed](r, TypeRenamed)
	eventstore.Register[Discarded](r, TypeDiscarded)
	eventstore.Register[ChangesProposed](r, TypeChangesProposed)
	eventstore.Register[MetricDerived](r, TypeMetricDerived)
	eventstore.Register[EstimatePolicySet](r, TypeEstimatePolicySet)
	eventstore.Register[ModelPinned](r, TypeModelPinned)
}
