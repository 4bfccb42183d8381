package alert

import (
	"time"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
)

// Event is one of the events of a Book. The interface is sealed.
type Event interface {
	alertEvent()
}

// Stable type names of the events, as stored. Never change them: stored
// events are decoded by these names.
const (
	TypeRuleDefined       = "alert.RuleDefined"
	TypeRuleRemoved       = "alert.RuleRemoved"
	TypeRaised            = "alert.Raised"
	TypeResolved          = "alert.Resolved"
	TypeAcknowledged      = "alert.Acknowledged"
	TypeDeliveryFailed    = "alert.DeliveryFailed"
	TypeDelivered         = "alert.Delivered"
	TypeDeadLettered      = "alert.DeadLettered"
	TypeDeadLetterCleared = "alert.DeadLetterCleared"
	TypeDeliveryClaimed   = "alert.DeliveryClaimed"
)

// Kind is what a rule watches.
type Kind string

// The kinds of rule. Each compares one figure of a node's fiscal year with
// the rule's threshold.
const (
	// ProbabilityBelow holds when P(target) is below the threshold, a
	// probability in (0, 1).
	ProbabilityBelow Kind = "probability_below"
	// GapAbove holds when the gap to target (target − latest estimate)
	// exceeds the threshold, an amount ≥ 0.
	GapAbove Kind = "gap_above"
	// GapShareAbove holds when the gap is more than the threshold percent
	// of the target, a percentage in (0, 100].
	GapShareAbove Kind = "gap_share_above"
	// CommitDivergence holds when the sales commit lies more than the
	// threshold standard deviations of the statistical forecast away from
	// its mean, a number > 0.
	CommitDivergence Kind = "commit_divergence"
	// ForecastMove holds when the latest published forecast run moves the
	// fiscal-year forecast by more than the threshold percent from the run
	// before it, a percentage > 0.
	ForecastMove Kind = "forecast_move"
	// ActualOutsideInterval holds when the actual of the last closed month
	// of the year lies outside the central interval of the threshold
	// percent (95 for the 95% interval) that the forecast gave that month,
	// a percentage in [50, 100).
	ActualOutsideInterval Kind = "actual_outside_interval"
	// CloseOverdue holds when a month of the year is still not closed more
	// than the threshold number of days after its end, a number ≥ 0.
	CloseOverdue Kind = "close_overdue"
)

// Kinds lists every kind, in the order the documentation gives them.
var Kinds = []Kind{ProbabilityBelow, GapAbove, GapShareAbove, CommitDivergence, ForecastMove, ActualOutsideInterval, CloseOverdue}

// Severity says how urgent a rule's alerts are.
type Severity string

// The severities of a rule.
const (
	Info     Severity = "info"
	Warning  Severity = "warning"
	Critical Severity = "critical"
)

// RuleDefined records a rule, or its redefinition under the same id.
type RuleDefined struct {
	ID     string           `json:"id"`
	Plan   string           `json:"plan"`
	Kind   Kind             `json:"kind"`
	Nodes  []dimension.Node `json:"nodes"`
	Metric string           `json:"metric"`
	// Year is the fiscal year whose figures the rule watches.
	Year      int      `json:"year"`
	Threshold float64  `json:"threshold"`
	Severity  Severity `json:"severity"`
	// Owners are who the alerts are for: principals' names, or roles
	// written "role:<role>".
	Owners []string  `json:"owners"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// RuleRemoved records that a rule no longer raises alerts; its open alerts
// are resolved by the same command, each with its own Resolved event.
type RuleRemoved struct {
	ID string    `json:"id"`
	By string    `json:"by"`
	At time.Time `json:"at"`
}

// Raised records that a rule's condition began to hold for a node.
type Raised struct {
	ID        string              `json:"id"`
	Rule      string              `json:"rule"`
	Kind      Kind                `json:"kind"`
	Severity  Severity            `json:"severity"`
	Node      dimension.Node      `json:"node"`
	Metric    string              `json:"metric"`
	Year      int                 `json:"year"`
	Threshold float64             `json:"threshold"`
	Before    *float64            `json:"before,omitempty"` // the figure just before the event; nil when there was none
	After     float64             `json:"after"`            // the figure after it
	Position  eventstore.Position `json:"position"`         // the log position of the event that caused it
	At        time.Time           `json:"at"`
}

// Resolved records that the condition of an alert no longer holds (or its
// rule was removed: then Position is zero and Value is not set).
type Resolved struct {
	ID       string              `json:"id"`
	Value    *float64            `json:"value,omitempty"`
	Position eventstore.Position `json:"position"`
	Reason   string              `json:"reason"`
	At       time.Time           `json:"at"`
}

// Acknowledged records that a principal has seen an alert.
type Acknowledged struct {
	ID      string    `json:"id"`
	By      string    `json:"by"`
	Comment string    `json:"comment"`
	At      time.Time `json:"at"`
}

// DeliveryFailed records a failed attempt to deliver an alert's news
// (raised or resolved) to a webhook, and when the next one is due.
type DeliveryFailed struct {
	ID      string    `json:"id"`
	Change  string    `json:"change"` // "raised" or "resolved"
	Attempt int       `json:"attempt"`
	Error   string    `json:"error"`
	Next    time.Time `json:"next"`
	At      time.Time `json:"at"`
}

// DeliveryClaimed records that a replica takes the next attempt to
// deliver an alert's news, until Until: the other replicas leave it alone
// meanwhile, so the news is sent once however many replicas deliver. A
// claim whose replica stops before recording the attempt's outcome lapses
// at Until, and another replica makes the attempt again.
type DeliveryClaimed struct {
	ID      string    `json:"id"`
	Change  string    `json:"change"`
	Attempt int       `json:"attempt"`
	By      string    `json:"by"` // the replica
	Until   time.Time `json:"until"`
	At      time.Time `json:"at"`
}

// Delivered records that a webhook accepted an alert's news.
type Delivered struct {
	ID      string    `json:"id"`
	Change  string    `json:"change"`
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
}

// DeadLettered records that an alert's news was not delivered after the
// last attempt: it waits on the dead-letter list for an administrator.
type DeadLettered struct {
	ID       string    `json:"id"`
	Change   string    `json:"change"`
	Attempts int       `json:"attempts"`
	Error    string    `json:"error"`
	At       time.Time `json:"at"`
}

// DeadLetterCleared records that an administrator took a dead letter off
// the list: Retry says whether its delivery starts again.
type DeadLetterCleared struct {
	ID     string    `json:"id"`
	Change string    `json:"change"`
	Retry  bool      `json:"retry"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

func (RuleDefined) alertEvent()       {}
func (RuleRemoved) alertEvent()       {}
func (Raised) alertEvent()            {}
func (Resolved) alertEvent()          {}
func (Acknowledged) alertEvent()      {}
func (DeliveryFailed) alertEvent()    {}
func (Delivered) alertEvent()         {}
func (DeadLettered) alertEvent()      {}
func (DeadLetterCleared) alertEvent() {}
func (DeliveryClaimed) alertEvent()   {}

// RegisterEvents registers every Book event with its stable name.
func RegisterEvents(r *eventstore.Registry) {
	eventstore.Register[RuleDefined](r, TypeRuleDefined)
	eventstore.Register[RuleRemoved](r, TypeRuleRemoved)
	eventstore.Register[Raised](r, TypeRaised)
	eventstore.Register[Resolved](r, TypeResolved)
	eventstore.Register[Acknowledged](r, TypeAcknowledged)
	eventstore.Register[DeliveryFailed](r, TypeDeliveryFailed)
	eventstore.Register[Delivered](r, TypeDelivered)
	eventstore.Register[DeadLettered](r, TypeDeadLettered)
	eventstore.Register[DeadLetterCleared](r, TypeDeadLetterCleared)
	eventstore.Register[DeliveryClaimed](r, TypeDeliveryClaimed)
}
