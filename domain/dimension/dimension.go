package dimension

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/concord-planning/concord/domain/eventstore"
)

// Stream returns the name of the event stream of dimension id.
func Stream(id string) string { return "dimension-" + id }

// Member is a read-only view of one member of a dimension.
type Member struct {
	ID      string
	Name    string
	Parent  string // "" for the root
	Retired bool
}

// member is a member's state: its view and its children, active or
// retired, in the order they arrived under it.
type member struct {
	Member
	children []string
}

// Dimension is the aggregate of one dimension's hierarchy. Its zero value is
// not usable; use New.
type Dimension struct {
	id, name string
	root     string
	members  map[string]*member
	order    []string        // every member id, in the order they were added
	removed  map[string]bool // ids of removed members: never used again
	changes  []Event
}

var _ eventstore.Aggregate[Event] = (*Dimension)(nil)

// New returns an empty dimension, to replay events into or to Define.
func New() *Dimension {
	return &Dimension{members: map[string]*member{}, removed: map[string]bool{}}
}

// Define is the constructor command: it returns a new dimension id named
// name, whose root member is rootID named rootName.
func Define(id, name, rootID, rootName string) (*Dimension, error) {
	d := New()
	if err := d.Define(id, name, rootID, rootName); err != nil {
		return nil, err
	}
	return d, nil
}

// Apply changes the dimension's state by one event. It never validates and
// never fails: events are facts.
func (d *Dimension) Apply(e Event) {
	switch e := e.(type) {
	case Defined:
		d.id, d.name, d.root = e.ID, e.Name, e.RootID
		d.addMember(e.RootID, e.RootName, "")
	case MemberAdded:
		d.addMember(e.ID, e.Name, e.Parent)
	case MemberRenamed:
		if m := d.members[e.ID]; m != nil {
			m.Name = e.To
		}
	case MemberMoved:
		m := d.members[e.ID]
		if m == nil {
			return
		}
		if old := d.members[m.Parent]; old != nil {
			old.children = remove(old.children, e.ID)
		}
		m.Parent = e.ToParent
		if p := d.members[e.ToParent]; p != nil {
			p.children = append(p.children, e.ID)
		}
	case MemberRetired:
		if m := d.members[e.ID]; m != nil {
			m.Retired = true
		}
	case MemberRemoved:
		m := d.members[e.ID]
		if m == nil {
			return
		}
		if p := d.members[m.Parent]; p != nil {
			p.children = remove(p.children, e.ID)
		}
		delete(d.members, e.ID)
		d.order = remove(d.order, e.ID)
		d.removed[e.ID] = true
	}
}

func (d *Dimension) addMember(id, name, parent string) {
	d.members[id] = &member{Member: Member{ID: id, Name: name, Parent: parent}}
	d.order = append(d.order, id)
	if p := d.members[parent]; p != nil {
		p.children = append(p.children, id)
	}
}

func remove(ids []string, id string) []string {
	out := ids[:0:0]
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

// Clone returns a deep copy of d: applying events to either, or running
// commands on either, leaves the other unchanged. It equals a dimension
// replayed from the events d was replayed from (and holds a copy of the
// changes d recorded).
func (d *Dimension) Clone() *Dimension {
	c := *d
	c.members = make(map[string]*member, len(d.members))
	for id, m := range d.members {
		c.members[id] = &member{Member: m.Member, children: slices.Clone(m.children)}
	}
	c.order = slices.Clone(d.order)
	c.removed = maps.Clone(d.removed)
	c.changes = slices.Clone(d.changes)
	return &c
}

// Changes returns the events recorded by commands since the dimension was
// created or loaded.
func (d *Dimension) Changes() []Event { return d.changes }

func (d *Dimension) record(e Event) {
	d.Apply(e)
	d.changes = append(d.changes, e)
}

func (d *Dimension) fail(member, reason string, err error) error {
	return &MemberError{Dimension: d.id, Member: member, Reason: reason, Err: err}
}

// Define records the dimension's definition. It returns ErrAlreadyDefined
// if the dimension is defined, and ErrInvalidID or ErrInvalidName (joined,
// all at once) for bad arguments.
func (d *Dimension) Define(id, name, rootID, rootName string) error {
	if d.id != "" {
		return d.fail(rootID, "dimension is already defined", ErrAlreadyDefined)
	}
	var errs []error
	if !ValidID(id) {
		errs = append(errs, &MemberError{Dimension: id, Reason: "dimension " + idReason(id), Err: ErrInvalidID})
	}
	if !ValidName(name) {
		errs = append(errs, &MemberError{Dimension: id, Reason: nameReason("dimension", name), Err: ErrInvalidName})
	}
	if !ValidID(rootID) {
		errs = append(errs, &MemberError{Dimension: id, Member: rootID, Reason: "root " + idReason(rootID), Err: ErrInvalidID})
	}
	if !ValidName(rootName) {
		errs = append(errs, &MemberError{Dimension: id, Member: rootID, Reason: nameReason("root", rootName), Err: ErrInvalidName})
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	d.record(Defined{ID: id, Name: strings.TrimSpace(name), RootID: rootID, RootName: strings.TrimSpace(rootName)})
	return nil
}

func nameReason(what, name string) string {
	return fmt.Sprintf("%s name %q must be 1 to %d bytes of UTF-8 text, not blank", what, name, MaxNameLen)
}

// Add records a new member id named name under parent. It returns, joined,
// every problem found: ErrNotDefined, ErrInvalidID, ErrInvalidName,
// ErrDuplicateMember (the id is used, even by a retired member),
// ErrUnknownMember (no such parent) or ErrRetired (the parent is retired).
func (d *Dimension) Add(id, name, parent string) error {
	if d.id == "" {
		return d.fail(id, "dimension is not defined", ErrNotDefined)
	}
	var errs []error
	switch m := d.members[id]; {
	case !ValidID(id):
		errs = append(errs, d.fail(id, idReason(id), ErrInvalidID))
	case m != nil && m.Retired:
		errs = append(errs, d.fail(id, "id is used by a retired member; member ids are never reused", ErrDuplicateMember))
	case d.removed[id]:
		errs = append(errs, d.fail(id, "id was used by a removed member; member ids are never reused", ErrDuplicateMember))
	case m != nil:
		errs = append(errs, d.fail(id, fmt.Sprintf("id is already used by member %q under %q", m.Name, m.Parent), ErrDuplicateMember))
	}
	if !ValidName(name) {
		errs = append(errs, d.fail(id, nameReason("member", name), ErrInvalidName))
	}
	errs = append(errs, d.checkParent(id, parent))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	d.record(MemberAdded{ID: id, Name: strings.TrimSpace(name), Parent: parent})
	return nil
}

// checkParent checks that parent can take member id as a child.
func (d *Dimension) checkParent(id, parent string) error {
	p := d.members[parent]
	switch {
	case p == nil:
		return d.fail(id, fmt.Sprintf("parent %q is not a member of the dimension", parent), ErrUnknownMember)
	case p.Retired:
		return d.fail(id, fmt.Sprintf("parent %q is retired", parent), ErrRetired)
	}
	return nil
}

// active returns member id if it exists and is not retired, else an error
// saying which.
func (d *Dimension) active(id string) (*member, error) {
	if d.id == "" {
		return nil, d.fail(id, "dimension is not defined", ErrNotDefined)
	}
	m := d.members[id]
	switch {
	case m == nil:
		return nil, d.fail(id, "no such member", ErrUnknownMember)
	case m.Retired:
		return nil, d.fail(id, "member is retired", ErrRetired)
	}
	return m, nil
}

// Rename records a new name for member id. Renaming to the current name
// records nothing. It returns ErrNotDefined, ErrUnknownMember, ErrRetired or
// ErrInvalidName.
func (d *Dimension) Rename(id, name string) error {
	m, err := d.active(id)
	if err != nil {
		return err
	}
	if !ValidName(name) {
		return d.fail(id, nameReason("member", name), ErrInvalidName)
	}
	name = strings.TrimSpace(name)
	if name == m.Name {
		return nil
	}
	d.record(MemberRenamed{ID: id, From: m.Name, To: name})
	return nil
}

// Move records member id, with everything below it, moving under parent.
// Moving a member to its current parent records nothing. It returns
// ErrNotDefined, ErrUnknownMember, ErrRetired (the member or the new
// parent), ErrRoot (the member is the root) or ErrCycle (the new parent is
// the member or lies below it).
func (d *Dimension) Move(id, parent string) error {
	m, err := d.active(id)
	if err != nil {
		return err
	}
	if id == d.root {
		return d.fail(id, "the root cannot be moved", ErrRoot)
	}
	if err := d.checkParent(id, parent); err != nil {
		return err
	}
	if d.Covers(id, parent) {
		return d.fail(id, fmt.Sprintf("new parent %q is the member itself or lies below it", parent), ErrCycle)
	}
	if parent == m.Parent {
		return nil
	}
	d.record(MemberMoved{ID: id, FromParent: m.Parent, ToParent: parent})
	return nil
}

// Retire records that member id is retired. It returns ErrNotDefined,
// ErrUnknownMember, ErrRetired (already retired), ErrRoot, or
// ErrActiveChildren naming the children still active.
func (d *Dimension) Retire(id string) error {
	if _, err := d.active(id); err != nil {
		return err
	}
	if id == d.root {
		return d.fail(id, "the root cannot be retired", ErrRoot)
	}
	if kids := d.Children(id); len(kids) > 0 {
		return d.fail(id, fmt.Sprintf("retire or move its active children first: %s", strings.Join(kids, ", ")), ErrActiveChildren)
	}
	d.record(MemberRetired{ID: id})
	return nil
}

// Remove records that member id, added by mistake, is taken out of the
// hierarchy (MemberRemoved); its id is never used again. Whether anything
// refers to the member is for the caller to check (see planning). It
// returns ErrNotDefined, ErrUnknownMember, ErrRoot, or ErrActiveChildren
// naming its children (active or retired: remove or move them first).
func (d *Dimension) Remove(id string) error {
	if d.id == "" {
		return d.fail(id, "dimension is not defined", ErrNotDefined)
	}
	m := d.members[id]
	switch {
	case m == nil:
		return d.fail(id, "no such member", ErrUnknownMember)
	case id == d.root:
		return d.fail(id, "the root cannot be removed", ErrRoot)
	case len(m.children) > 0:
		return d.fail(id, fmt.Sprintf("remove or move its children first: %s", strings.Join(m.children, ", ")), ErrActiveChildren)
	}
	d.record(MemberRemoved{ID: id, Name: m.Name, Parent: m.Parent})
	return nil
}

// ID returns the dimension's id ("" before it is defined).
func (d *Dimension) ID() string { return d.id }

// Name returns the dimension's display name.
func (d *Dimension) Name() string { return d.name }

// Root returns the id of the root member.
func (d *Dimension) Root() string { return d.root }

// Member returns member id, active or retired, and whether it exists.
func (d *Dimension) Member(id string) (Member, bool) {
	m := d.members[id]
	if m == nil {
		return Member{}, false
	}
	return m.Member, true
}

// Members returns every member, active and retired, in the order they were
// added.
func (d *Dimension) Members() []Member {
	out := make([]Member, len(d.order))
	for i, id := range d.order {
		out[i] = d.members[id].Member
	}
	return out
}

// Children returns the ids of the active children of id, in the order they
// arrived under it; nil for an unknown member or a leaf.
func (d *Dimension) Children(id string) []string {
	m := d.members[id]
	if m == nil {
		return nil
	}
	var out []string
	for _, c := range m.children {
		if !d.members[c].Retired {
			out = append(out, c)
		}
	}
	return out
}

// IsLeaf reports whether id is an active member without active children.
func (d *Dimension) IsLeaf(id string) bool {
	m := d.members[id]
	return m != nil && !m.Retired && len(d.Children(id)) == 0
}

// Leaves returns the active leaves at or below id, depth first in child
// order: id itself when it is a leaf, nil when it is unknown or retired.
func (d *Dimension) Leaves(id string) []string {
	m := d.members[id]
	if m == nil || m.Retired {
		return nil
	}
	kids := d.Children(id)
	if len(kids) == 0 {
		return []string{id}
	}
	var out []string
	for _, c := range kids {
		out = append(out, d.Leaves(c)...)
	}
	return out
}

// Ancestors returns the ids above id, from its parent up to the root; nil
// for the root or an unknown member.
func (d *Dimension) Ancestors(id string) []string {
	m := d.members[id]
	if m == nil {
		return nil
	}
	var out []string
	for p := d.members[m.Parent]; p != nil; p = d.members[p.Parent] {
		out = append(out, p.ID)
	}
	return out
}

// Path returns the ids from the root down to id inclusive; nil for an
// unknown member.
func (d *Dimension) Path(id string) []string {
	if d.members[id] == nil {
		return nil
	}
	anc := d.Ancestors(id)
	out := make([]string, 0, len(anc)+1)
	for i := len(anc) - 1; i >= 0; i-- {
		out = append(out, anc[i])
	}
	return append(out, id)
}

// Covers reports whether member id is ancestor itself or lies below it.
// Both must be members; retired ones count.
func (d *Dimension) Covers(ancestor, id string) bool {
	if d.members[ancestor] == nil {
		return false
	}
	for m := d.members[id]; m != nil; m = d.members[m.Parent] {
		if m.ID == ancestor {
			return true
		}
	}
	return false
}
