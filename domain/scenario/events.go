package scenario

import (
	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/plan"
)

// Event is one of the events of a Book. The interface is sealed.
type Event interface {
	scenarioEvent()
}

// Stable type names of the events, as stored. Never change them: stored
// events are decoded by these names.
const (
	TypeOpened            = "scenario.Opened"
	TypeTargetSet         = "scenario.TargetSet"
	TypeTargetRevised     = "scenario.TargetRevised"
	TypeTargetCleared     = "scenario.TargetCleared"
	TypeEstimatePolicySet = "scenario.EstimatePolicySet"
	TypeCommitSubmitted   = "scenario.CommitSubmitted"
	TypeCommitWithdrawn   = "scenario.CommitWithdrawn"
	TypeDiscarded         = "scenario.Discarded"
	TypePromoted          = "scenario.Promoted"
	TypeRebased           = "scenario.Rebased"
)

// Opened records a new scenario of plan Plan branching from log position
// Base, where the plan's stream was at version BaseVersion and its
// commits' stream at BookVersion. From says how the base was named ("now",
// "tag:Budget FY27", a time or a position), for people.
type Opened struct {
	Plan        string              `json:"plan"`
	ID          string              `json:"id"`
	Name        string              `json:"name"`
	Base        eventstore.Position `json:"base"`
	BaseVersion uint64              `json:"base_version"`
	BookVersion uint64              `json:"book_version"`
	From        string              `json:"from"`
	By          string              `json:"by"`
}

// TargetSet is a plan.TargetSet recorded in scenario Scenario.
type TargetSet struct {
	Scenario string `json:"scenario"`
	plan.TargetSet
}

// TargetRevised is a plan.TargetRevised recorded in scenario Scenario.
type TargetRevised struct {
	Scenario string `json:"scenario"`
	plan.TargetRevised
}

// TargetCleared is a plan.TargetCleared recorded in scenario Scenario.
type TargetCleared struct {
	Scenario string `json:"scenario"`
	plan.TargetCleared
}

// EstimatePolicySet is a plan.EstimatePolicySet recorded in scenario
// Scenario: how the scenario's latest estimate is made.
type EstimatePolicySet struct {
	Scenario string `json:"scenario"`
	plan.EstimatePolicySet
}

// CommitSubmitted is a commit.Submitted recorded in scenario Scenario.
type CommitSubmitted struct {
	Scenario string `json:"scenario"`
	commit.Submitted
}

// CommitWithdrawn is a commit.Withdrawn recorded in scenario Scenario.
type CommitWithdrawn struct {
	Scenario string `json:"scenario"`
	commit.Withdrawn
}

// Discarded records that scenario ID is given up.
type Discarded struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
	By     string `json:"by"`
}

// Promoted records that the target changes of scenario ID were proposed
// to the plan as proposal Proposal, made at plan version PlanVersion.
type Promoted struct {
	ID          string `json:"id"`
	Proposal    string `json:"proposal"`
	PlanVersion uint64 `json:"plan_version"`
	By          string `json:"by"`
}

// Rebased records that scenario ID now branches from log position Base
// (the plan's stream at BaseVersion, its commits at BookVersion), its own
// changes unchanged.
type Rebased struct {
	ID          string              `json:"id"`
	From        eventstore.Position `json:"from"`
	Base        eventstore.Position `json:"base"`
	BaseVersion uint64              `json:"base_version"`
	BookVersion uint64              `json:"book_version"`
	By          string              `json:"by"`
}

func (Opened) scenarioEvent()            {}
func (TargetSet) scenarioEvent()         {}
func (TargetRevised) scenarioEvent()     {}
func (TargetCleared) scenarioEvent()     {}
func (EstimatePolicySet) scenarioEvent() {}
func (CommitSubmitted) scenarioEvent()   {}
func (CommitWithdrawn) scenarioEvent()   {}
func (Discarded) scenarioEvent()         {}
func (Promoted) scenarioEvent()          {}
func (Rebased) scenarioEvent()           {}

// RegisterEvents registers every Book event with its stable name.
func RegisterEvents(r *eventstore.Registry) {
	eventstore.Register[Opened](r, TypeOpened)
	eventstore.Register[TargetSet](r, TypeTargetSet)
	eventstore.Register[TargetRevised](r, TypeTargetRevised)
	eventstore.Register[TargetCleared](r, TypeTargetCleared)
	eventstore.Register[EstimatePolicySet](r, TypeEstimatePolicySet)
	eventstore.Register[CommitSubmitted](r, TypeCommitSubmitted)
	eventstore.Register[CommitWithdrawn](r, TypeCommitWithdrawn)
	eventstore.Register[Discarded](r, TypeDiscarded)
	eventstore.Register[Promoted](r, TypePromoted)
	eventstore.Register[Rebased](r, TypeRebased)
	eventstore.Register[ShockAssumed](r, TypeShockAssumed)
	eventstore.Register[MethodAssumed](r, TypeMethodAssumed)
}
