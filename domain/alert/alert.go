package alert

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/text"
)

// Limits of a rule and of text.
const (
	MaxTextLen = 2000 // the longest comment or actor, in bytes
	MaxNodes   = 64   // the most nodes one rule watches
	MaxOwners  = 32   // the most owners of one rule
)

// Sentinel errors of the Book commands, returned wrapped and joined when a
// command finds several problems. Check them with errors.Is.
var (
	// ErrInvalid is returned for a bad id, kind, node list, metric, year,
	// threshold, severity, owner or text.
	ErrInvalid = errors.New("alert: invalid argument")
	// ErrWrongPlan is returned for a rule of another plan than the book's.
	ErrWrongPlan = errors.New("alert: rule of another plan")
	// ErrUnknownRule is returned for a rule never defined, or removed.
	ErrUnknownRule = errors.New("alert: unknown rule")
	// ErrUnknownAlert is returned for an alert never raised.
	ErrUnknownAlert = errors.New("alert: unknown alert")
	// ErrNotWatched is returned by Observe for a node the rule does not
	// watch.
	ErrNotWatched = errors.New("alert: node not watched by the rule")
	// ErrAcknowledged is returned by Acknowledge for an alert already
	// acknowledged.
	ErrAcknowledged = errors.New("alert: already acknowledged")
	// ErrCommentRequired is returned by Acknowledge without a comment.
	ErrCommentRequired = errors.New("alert: a comment is required")
	// ErrActorRequired is returned when a command comes without its actor.
	ErrActorRequired = errors.New("alert: the acting principal is required")
	// ErrClaimed is returned by Claim for a delivery another replica has
	// claimed and whose claim has not lapsed.
	ErrClaimed = errors.New("alert: delivery claimed by another replica")
	// ErrNoDelivery is returned by the delivery commands for news that is
	// not waiting for delivery (delivered, dead-lettered, or an attempt
	// number that is not the next one), and by ClearDeadLetter for news
	// that is not on the dead-letter list.
	ErrNoDelivery = errors.New("alert: no such delivery pending")
)

// Stream returns the name of the event stream of plan planID's alerts.
func Stream(planID string) string { return streamPrefix + planID }

const streamPrefix = "alerts-"

// PlanOf returns the plan whose alerts stream is, and whether stream is
// an alerts stream.
func PlanOf(stream string) (string, bool) {
	p, ok := strings.CutPrefix(stream, streamPrefix)
	return p, ok && p != ""
}

// Change is the news about an alert that a webhook is told.
type Change string

// The changes delivered.
const (
	ChangeRaised   Change = "raised"
	ChangeResolved Change = "resolved"
)

// Rule is a read-only view of a rule.
type Rule struct {
	RuleDefined
	Removed bool
}

// Alert is a read-only view of an alert.
type Alert struct {
	Raised
	Resolved     *Resolved     // nil while open
	Acknowledged *Acknowledged // nil until acknowledged
	Delivery     map[Change]Delivery
}

// Open reports whether the alert's condition still holds.
func (a Alert) Open() bool { return a.Resolved == nil }

// Delivery is the state of the delivery of one change of an alert.
type Delivery struct {
	Attempts  int       // failed attempts so far (the dead letter's last included)
	Next      time.Time // when the next attempt is due (zero: now)
	LastError string
	Delivered bool
	Dead      bool // on the dead-letter list
	// ClaimedBy is the replica that claimed the next attempt, until
	// ClaimedUntil ("" when none has).
	ClaimedBy    string
	ClaimedUntil time.Time
}

// Claimed reports whether a replica other than by holds a claim on the
// delivery that has not lapsed at now.
func (d Delivery) Claimed(by string, now time.Time) bool {
	return d.ClaimedBy != "" && d.ClaimedBy != by && now.Before(d.ClaimedUntil)
}

// Pending is a change of an alert waiting for delivery.
type Pending struct {
	Alert  Alert
	Change Change
	Delivery
}

// DeadLetter is a change of an alert whose delivery was given up.
type DeadLetter = Pending

type key struct {
	rule string
	node dimension.Node
}

// Book is the aggregate of one plan's alert rules and alerts. Its zero
// value is not usable; use New.
type Book struct {
	plan    string
	rules   map[string]*Rule
	ruleIDs []string
	alerts  map[string]*Alert
	order   []string
	open    map[key]string
	last    map[key]eventstore.Position
	changes []Event
}

var _ eventstore.Aggregate[Event] = (*Book)(nil)

// New returns an empty book.
func New() *Book {
	return &Book{rules: map[string]*Rule{}, alerts: map[string]*Alert{}, open: map[key]string{}, last: map[key]eventstore.Position{}}
}

// Apply changes the book's state by one event. It never validates and
// never fails: events are facts.
func (b *Book) Apply(e Event) {
	switch e := e.(type) {
	case RuleDefined:
		b.plan = e.Plan
		if _, ok := b.rules[e.ID]; !ok {
			b.ruleIDs = append(b.ruleIDs, e.ID)
		}
		b.rules[e.ID] = &Rule{RuleDefined: e}
	case RuleRemoved:
		if r := b.rules[e.ID]; r != nil {
			r.Removed = true
		}
	case Raised:
		b.alerts[e.ID] = &Alert{Raised: e, Delivery: map[Change]Delivery{}}
		b.order = append(b.order, e.ID)
		k := key{e.Rule, e.Node}
		b.open[k] = e.ID
		b.last[k] = e.Position
	case Resolved:
		a := b.alerts[e.ID]
		if a == nil {
			return
		}
		r := e
		a.Resolved = &r
		k := key{a.Rule, a.Node}
		if b.open[k] == e.ID {
			delete(b.open, k)
		}
		if e.Position != (eventstore.Position{}) {
			b.last[k] = e.Position
		}
	case Acknowledged:
		if a := b.alerts[e.ID]; a != nil {
			ack := e
			a.Acknowledged = &ack
		}
	case DeliveryClaimed:
		b.delivery(e.ID, Change(e.Change), func(d *Delivery) { d.ClaimedBy, d.ClaimedUntil = e.By, e.Until })
	case DeliveryFailed:
		b.delivery(e.ID, Change(e.Change), func(d *Delivery) {
			d.Attempts, d.Next, d.LastError = e.Attempt, e.Next, e.Error
			d.ClaimedBy, d.ClaimedUntil = "", time.Time{}
		})
	case Delivered:
		b.delivery(e.ID, Change(e.Change), func(d *Delivery) {
			d.Delivered = true
			d.ClaimedBy, d.ClaimedUntil = "", time.Time{}
		})
	case DeadLettered:
		b.delivery(e.ID, Change(e.Change), func(d *Delivery) {
			d.Attempts, d.LastError, d.Dead = e.Attempts, e.Error, true
			d.ClaimedBy, d.ClaimedUntil = "", time.Time{}
		})
	case DeadLetterCleared:
		b.delivery(e.ID, Change(e.Change), func(d *Delivery) {
			if e.Retry {
				*d = Delivery{}
			} else {
				d.Dead, d.Delivered = false, true
			}
		})
	}
}

func (b *Book) delivery(id string, c Change, f func(*Delivery)) {
	a := b.alerts[id]
	if a == nil {
		return
	}
	d := a.Delivery[c]
	f(&d)
	a.Delivery[c] = d
}

// Changes returns the events recorded by commands since the book was
// created or loaded.
func (b *Book) Changes() []Event { return b.changes }

func (b *Book) record(e Event) {
	b.Apply(e)
	b.changes = append(b.changes, e)
}

// checkThreshold checks a rule's threshold for its kind.
func checkThreshold(k Kind, t float64) error {
	bad := func(want string) error {
		return fmt.Errorf("%w: threshold %v of a %s rule: want %s", ErrInvalid, t, k, want)
	}
	switch {
	case math.IsNaN(t) || math.IsInf(t, 0):
		return bad("a finite number")
	case k == ProbabilityBelow && (t <= 0 || t >= 1):
		return bad("a probability between 0 and 1, exclusive (0.5 for 50%)")
	case k == GapAbove && t < 0:
		return bad("an amount ≥ 0")
	case k == GapShareAbove && (t <= 0 || t > 100):
		return bad("a percentage of the target above 0 and at most 100")
	case k == CommitDivergence && t <= 0:
		return bad("a number of standard deviations above 0")
	case k == ForecastMove && t <= 0:
		return bad("a percentage of the previous forecast above 0")
	case k == ActualOutsideInterval && (t < 50 || t >= 100):
		return bad("the interval's level in percent, from 50 to below 100 (95 for the 95% interval)")
	case k == CloseOverdue && t < 0:
		return bad("a number of days ≥ 0")
	}
	return nil
}

// checkOwner checks an owner: a principal's name, or "role:<role>".
func checkOwner(o string) error {
	if r, ok := strings.CutPrefix(o, "role:"); ok {
		if !access.Role(r).Valid() {
			return fmt.Errorf("%w: owner %q names no role (want role:viewer, role:sales, role:planner or role:admin)", ErrInvalid, o)
		}
		return nil
	}
	if strings.TrimSpace(o) != o || o == "" || len(o) > 200 || !utf8.ValidString(o) {
		return fmt.Errorf("%w: owner %q must be a principal's name of 1 to 200 bytes without surrounding space, or role:<role>", ErrInvalid, o)
	}
	return nil
}

// DefineRule records rule r, or redefines the rule of its id: the open
// alerts of the earlier definition are then resolved, and the next
// evaluation raises them again if the new condition holds. It returns
// every problem at once: ErrInvalid (rule, plan or metric id; unknown kind
// or severity; no node, more than MaxNodes, or one twice; a year outside
// 1900..9999; a threshold out of its kind's range; a bad owner or more than
// MaxOwners), ErrWrongPlan, ErrActorRequired.
func (b *Book) DefineRule(r RuleDefined) error {
	errs := []error{dimension.CheckID("rule id", r.ID, ErrInvalid), dimension.CheckID("plan id", r.Plan, ErrInvalid), dimension.CheckID("metric", r.Metric, ErrInvalid)}
	if b.plan != "" && r.Plan != b.plan {
		errs = append(errs, fmt.Errorf("%w: this book holds the alerts of plan %q, not %q", ErrWrongPlan, b.plan, r.Plan))
	}
	if !slices.Contains(Kinds, r.Kind) {
		errs = append(errs, fmt.Errorf("%w: kind %q (want one of %v)", ErrInvalid, r.Kind, Kinds))
	} else {
		errs = append(errs, checkThreshold(r.Kind, r.Threshold))
	}
	switch {
	case len(r.Nodes) == 0:
		errs = append(errs, fmt.Errorf("%w: a rule watches at least one node", ErrInvalid))
	case len(r.Nodes) > MaxNodes:
		errs = append(errs, fmt.Errorf("%w: %d nodes, at most %d", ErrInvalid, len(r.Nodes), MaxNodes))
	}
	seen := map[dimension.Node]bool{}
	for i, n := range r.Nodes {
		if seen[n] {
			errs = append(errs, fmt.Errorf("%w: nodes[%d] %q is listed twice", ErrInvalid, i, n))
		}
		seen[n] = true
	}
	if r.Year < 1900 || r.Year > 9999 {
		errs = append(errs, fmt.Errorf("%w: year %d, want a fiscal year such as 2028", ErrInvalid, r.Year))
	}
	if r.Severity != Info && r.Severity != Warning && r.Severity != Critical {
		errs = append(errs, fmt.Errorf("%w: severity %q (want info, warning or critical)", ErrInvalid, r.Severity))
	}
	if len(r.Owners) > MaxOwners {
		errs = append(errs, fmt.Errorf("%w: %d owners, at most %d", ErrInvalid, len(r.Owners), MaxOwners))
	}
	for _, o := range r.Owners {
		errs = append(errs, checkOwner(o))
	}
	errs = append(errs, text.Check("actor", r.By, MaxTextLen, ErrActorRequired, ErrInvalid))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	r.Nodes, r.Owners = slices.Clone(r.Nodes), slices.Clone(r.Owners)
	if r.Owners == nil {
		r.Owners = []string{}
	}
	b.resolveOpen(r.ID, "rule redefined by "+r.By, r.At)
	b.record(r)
	return nil
}

// resolveOpen resolves every open alert of rule, in the order raised.
func (b *Book) resolveOpen(rule, reason string, at time.Time) {
	for _, id := range b.order {
		if a := b.alerts[id]; a.Rule == rule && a.Open() {
			b.record(Resolved{ID: id, Reason: reason, At: at})
		}
	}
}

// RemoveRule records that rule id raises no more alerts, and resolves its
// open ones. It returns ErrUnknownRule or ErrActorRequired.
func (b *Book) RemoveRule(id, by string, at time.Time) error {
	r := b.rules[id]
	if r == nil || r.Removed {
		return fmt.Errorf("%w: %q", ErrUnknownRule, id)
	}
	if err := text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid); err != nil {
		return err
	}
	b.resolveOpen(id, "rule removed by "+by, at)
	b.record(RuleRemoved{ID: id, By: by, At: at})
	return nil
}

// Observation is what one evaluation of a rule found for one of its nodes.
type Observation struct {
	Rule  string
	Node  dimension.Node
	Holds bool // whether the rule's condition holds
	// Before is the figure just before the event at Position (nil: there
	// was none); After the figure once it is applied (when the figure is
	// missing, e.g. no target, Holds is false and After is 0).
	Before   *float64
	After    float64
	Position eventstore.Position
	At       time.Time
}

// Observe records what o found: an alert Raised when the condition holds
// and no alert of the rule and node is open, Resolved when it no longer
// holds and one is open, nothing otherwise. An observation at a position
// no later than the last one that raised or resolved an alert of the rule
// and node records nothing: replaying the log changes nothing. It returns
// ErrUnknownRule (never defined, or removed) or ErrNotWatched.
func (b *Book) Observe(o Observation) error {
	r := b.rules[o.Rule]
	if r == nil || r.Removed {
		return fmt.Errorf("%w: %q", ErrUnknownRule, o.Rule)
	}
	if !slices.Contains(r.Nodes, o.Node) {
		return fmt.Errorf("%w: rule %q does not watch node %q", ErrNotWatched, o.Rule, o.Node)
	}
	k := key{o.Rule, o.Node}
	if last, ok := b.last[k]; ok && !last.Before(o.Position) {
		return nil
	}
	open, isOpen := b.open[k]
	switch {
	case o.Holds && !isOpen:
		b.record(Raised{ID: "a" + strconv.Itoa(len(b.order)+1), Rule: r.ID, Kind: r.Kind, Severity: r.Severity, Node: o.Node,
			Metric: r.Metric, Year: r.Year, Threshold: r.Threshold, Before: o.Before, After: o.After, Position: o.Position, At: o.At})
	case !o.Holds && isOpen:
		v := o.After
		b.record(Resolved{ID: open, Value: &v, Position: o.Position, Reason: "condition cleared", At: o.At})
	}
	return nil
}

// Acknowledge records that by has seen alert id, with a comment: its news
// is delivered no more. It returns ErrUnknownAlert, ErrAcknowledged,
// ErrCommentRequired or ErrActorRequired.
func (b *Book) Acknowledge(id, by, comment string, at time.Time) error {
	a := b.alerts[id]
	if a == nil {
		return fmt.Errorf("%w: %q", ErrUnknownAlert, id)
	}
	if a.Acknowledged != nil {
		return fmt.Errorf("%w: %q by %s", ErrAcknowledged, id, a.Acknowledged.By)
	}
	comment = strings.TrimSpace(comment)
	if err := errors.Join(text.Check("comment", comment, MaxTextLen, ErrCommentRequired, ErrInvalid), text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid)); err != nil {
		return err
	}
	b.record(Acknowledged{ID: id, By: by, Comment: comment, At: at})
	return nil
}

// pending returns the delivery of change c of alert id if it is waiting
// for attempt number attempt.
func (b *Book) pending(id string, c Change, attempt int) (*Alert, error) {
	a := b.alerts[id]
	if a == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownAlert, id)
	}
	d := a.Delivery[c]
	if !b.due(a, c) || d.Attempts+1 != attempt {
		return nil, fmt.Errorf("%w: %s of %q, attempt %d (%d failed so far, delivered %v, dead %v)", ErrNoDelivery, c, id, attempt, d.Attempts, d.Delivered, d.Dead)
	}
	return a, nil
}

// due reports whether change c of a waits for delivery: it happened, is
// neither delivered nor dead, and (for raised) the alert is not
// acknowledged; a resolution waits until its raise is settled, so a
// receiver never hears of the end of an alert before its start.
func (b *Book) due(a *Alert, c Change) bool {
	d := a.Delivery[c]
	switch {
	case d.Delivered || d.Dead:
		return false
	case c == ChangeRaised:
		return a.Acknowledged == nil
	case c == ChangeResolved:
		return a.Resolved != nil && !b.due(a, ChangeRaised)
	}
	return false
}

// Claim records that replica by takes attempt number attempt of the
// delivery of change c of alert id until until: it is the one to send it.
// It returns ErrUnknownAlert or ErrNoDelivery (not waiting for that
// attempt), ErrClaimed (another replica's claim has not lapsed at at),
// ErrActorRequired (no replica) or ErrInvalid (until not after at).
func (b *Book) Claim(id string, c Change, attempt int, by string, until, at time.Time) error {
	a, err := b.pending(id, c, attempt)
	if err != nil {
		return err
	}
	if d := a.Delivery[c]; d.Claimed(by, at) {
		return fmt.Errorf("%w: %s of %q, attempt %d, by %s until %s", ErrClaimed, c, id, attempt, d.ClaimedBy, d.ClaimedUntil.Format(time.RFC3339))
	}
	if err := text.Check("replica", by, MaxTextLen, ErrActorRequired, ErrInvalid); err != nil {
		return err
	}
	if !until.After(at) {
		return fmt.Errorf("%w: a claim until %s made at %s has lapsed already", ErrInvalid, until.Format(time.RFC3339), at.Format(time.RFC3339))
	}
	b.record(DeliveryClaimed{ID: id, Change: string(c), Attempt: attempt, By: by, Until: until, At: at})
	return nil
}

// Deliver records that attempt number attempt delivered change c of alert
// id. It returns ErrUnknownAlert or ErrNoDelivery.
func (b *Book) Deliver(id string, c Change, attempt int, at time.Time) error {
	if _, err := b.pending(id, c, attempt); err != nil {
		return err
	}
	b.record(Delivered{ID: id, Change: string(c), Attempt: attempt, At: at})
	return nil
}

// Fail records that attempt number attempt to deliver change c of alert id
// failed with reason; dead says it was the last: the change goes to the
// dead-letter list. Otherwise next is when to try again. It returns
// ErrUnknownAlert, ErrNoDelivery or ErrInvalid (no reason).
func (b *Book) Fail(id string, c Change, attempt int, reason string, dead bool, next, at time.Time) error {
	if _, err := b.pending(id, c, attempt); err != nil {
		return err
	}
	if strings.TrimSpace(reason) == "" {
		return fmt.Errorf("%w: a failed delivery needs its reason", ErrInvalid)
	}
	if len(reason) > MaxTextLen {
		reason = reason[:MaxTextLen]
	}
	reason = strings.ToValidUTF8(reason, "?")
	if dead {
		b.record(DeadLettered{ID: id, Change: string(c), Attempts: attempt, Error: reason, At: at})
		return nil
	}
	b.record(DeliveryFailed{ID: id, Change: string(c), Attempt: attempt, Error: reason, Next: next, At: at})
	return nil
}

// ClearDeadLetter takes change c of alert id off the dead-letter list:
// with retry its delivery starts over, without it the change counts as
// handled. It returns ErrUnknownAlert, ErrNoDelivery (not dead-lettered)
// or ErrActorRequired.
func (b *Book) ClearDeadLetter(id string, c Change, retry bool, by string, at time.Time) error {
	a := b.alerts[id]
	if a == nil {
		return fmt.Errorf("%w: %q", ErrUnknownAlert, id)
	}
	if !a.Delivery[c].Dead {
		return fmt.Errorf("%w: %s of %q is not on the dead-letter list", ErrNoDelivery, c, id)
	}
	if err := text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid); err != nil {
		return err
	}
	b.record(DeadLetterCleared{ID: id, Change: string(c), Retry: retry, By: by, At: at})
	return nil
}

// Plan returns the id of the book's plan ("" before the first rule).
func (b *Book) Plan() string { return b.plan }

// Rule returns rule id and whether it was ever defined.
func (b *Book) Rule(id string) (Rule, bool) {
	r := b.rules[id]
	if r == nil {
		return Rule{}, false
	}
	return *r, true
}

// Rules returns the rules not removed, in the order first defined.
func (b *Book) Rules() []Rule {
	var out []Rule
	for _, id := range b.ruleIDs {
		if r := b.rules[id]; !r.Removed {
			out = append(out, *r)
		}
	}
	return out
}

// Alert returns alert id and whether it was raised.
func (b *Book) Alert(id string) (Alert, bool) {
	a := b.alerts[id]
	if a == nil {
		return Alert{}, false
	}
	return a.view(), true
}

func (a *Alert) view() Alert {
	v := *a
	v.Delivery = make(map[Change]Delivery, len(a.Delivery))
	for c, d := range a.Delivery {
		v.Delivery[c] = d
	}
	return v
}

// LastFigure returns the last figure that rule's alerts recorded for node
// under the rule's current definition: the figure that resolved the latest
// alert, or the one that raised it while it is open. It reports false when
// there is none, e.g. after a restart it seeds the "before" of the next
// observation.
func (b *Book) LastFigure(rule string, node dimension.Node) (float64, bool) {
	r := b.rules[rule]
	if r == nil {
		return 0, false
	}
	for i := len(b.order) - 1; i >= 0; i-- {
		a := b.alerts[b.order[i]]
		if a.Rule != rule || a.Node != node {
			continue
		}
		if a.Kind != r.Kind || a.Metric != r.Metric || a.Year != r.Year {
			return 0, false // raised under an earlier definition
		}
		switch {
		case a.Resolved == nil:
			return a.After, true
		case a.Resolved.Value != nil:
			return *a.Resolved.Value, true
		}
		return 0, false
	}
	return 0, false
}

// Alerts returns every alert, newest first.
func (b *Book) Alerts() []Alert {
	out := make([]Alert, 0, len(b.order))
	for i := len(b.order) - 1; i >= 0; i-- {
		out = append(out, b.alerts[b.order[i]].view())
	}
	return out
}

// Pending returns the changes waiting for delivery, oldest alert first,
// its raise before its resolution.
func (b *Book) Pending() []Pending {
	var out []Pending
	for _, id := range b.order {
		a := b.alerts[id]
		for _, c := range []Change{ChangeRaised, ChangeResolved} {
			if b.due(a, c) {
				out = append(out, Pending{Alert: a.view(), Change: c, Delivery: a.Delivery[c]})
			}
		}
	}
	return out
}

// DeadLetters returns the changes on the dead-letter list, oldest first.
func (b *Book) DeadLetters() []DeadLetter {
	var out []DeadLetter
	for _, id := range b.order {
		a := b.alerts[id]
		for _, c := range []Change{ChangeRaised, ChangeResolved} {
			if d := a.Delivery[c]; d.Dead {
				out = append(out, DeadLetter{Alert: a.view(), Change: c, Delivery: d})
			}
		}
	}
	return out
}
