package dimension

import "github.com/concord-planning/concord/domain/eventstore"

// Event is one of the events of a Dimension: Defined, MemberAdded,
// MemberRenamed, MemberMoved, MemberRetired or MemberRemoved. The
// interface is sealed.
type Event interface {
	dimensionEvent()
}

// Stable type names of the events, as stored. Never change them: stored
// events are decoded by these names.
const (
	TypeDefined       = "dimension.Defined"
	TypeMemberAdded   = "dimension.MemberAdded"
	TypeMemberRenamed = "dimension.MemberRenamed"
	TypeMemberMoved   = "dimension.MemberMoved"
	TypeMemberRetired = "dimension.MemberRetired"
	TypeMemberRemoved = "dimension.MemberRemoved"
)

// Defined records a new dimension with its root member.
type Defined struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	RootID   string `json:"root_id"`
	RootName string `json:"root_name"`
}

// MemberAdded records a new member under Parent.
type MemberAdded struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Parent string `json:"parent"`
}

// MemberRenamed records a member's new display name.
type MemberRenamed struct {
	ID   string `json:"id"`
	From string `json:"from"`
	To   string `json:"to"`
}

// MemberMoved records a member (with everything below it) moving to a new
// parent.
type MemberMoved struct {
	ID         string `json:"id"`
	FromParent string `json:"from_parent"`
	ToParent   string `json:"to_parent"`
}

// MemberRetired records that a member takes no new children and no longer
// counts among the active members.
type MemberRetired struct {
	ID string `json:"id"`
}

// MemberRemoved records that a member added by mistake is taken out of
// the hierarchy, as if it had not been added; its id stays used. Unlike
// MemberRetired it leaves no trace in the hierarchy (history keeps the
// event).
type MemberRemoved struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Parent string `json:"parent"`
}

func (Defined) dimensionEvent()       {}
func (MemberRemoved) dimensionEvent() {}
func (MemberAdded) dimensionEvent()   {}
func (MemberRenamed) dimensionEvent() {}
func (MemberMoved) dimensionEvent()   {}
func (MemberRetired) dimensionEvent() {}

// RegisterEvents registers every Dimension event with its stable name.
func RegisterEvents(r *eventstore.Registry) {
	eventstore.Register[Defined](r, TypeDefined)
	eventstore.Register[MemberAdded](r, TypeMemberAdded)
	eventstore.Register[MemberRenamed](r, TypeMemberRenamed)
	eventstore.Register[MemberMoved](r, TypeMemberMoved)
	eventstore.Register[MemberRetired](r, TypeMemberRetired)
	eventstore.Register[MemberRemoved](r, TypeMemberRemoved)
}
