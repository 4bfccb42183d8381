package commit

import (
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
)

// Event is one of the events of a Book. The interface is sealed.
type Event interface {
	commitEvent()
}

// Stable type names of the events, as stored. Never change them: stored
// events are decoded by these names.
const (
	TypeSubmitted = "commit.Submitted"
	TypeWithdrawn = "commit.Withdrawn"
)

// Confidence says how sure sales leadership is of a commit.
type Confidence string

// The confidences of a commit.
const (
	ConfidenceCommit   Confidence = "commit"    // the number sales stands behind
	ConfidenceBestCase Confidence = "best_case" // reachable if things go well
)

// Valid reports whether c is ConfidenceCommit or ConfidenceBestCase.
func (c Confidence) Valid() bool { return c == ConfidenceCommit || c == ConfidenceBestCase }

// Submitted records a commit for a node, metric and span of a plan.
type Submitted struct {
	ID         string          `json:"id"`
	Plan       string          `json:"plan"`
	Node       dimension.Node  `json:"node"`
	Metric     string          `json:"metric"`
	Span       fiscal.Span     `json:"span"`
	Amount     decimal.Decimal `json:"amount"`
	Confidence Confidence      `json:"confidence"`
	Comment    string          `json:"comment"`
	By         string          `json:"by"`
}

// Withdrawn records that a commit no longer stands.
type Withdrawn struct {
	ID     string `json:"id"`
	By     string `json:"by"`
	Reason string `json:"reason"`
}

func (Submitted) commitEvent() {}
func (Withdrawn) commitEvent() {}

// RegisterEvents registers every Book event with its stable name.
func RegisterEvents(r *eventstore.Registry) {
	eventstore.Register[Submitted](r, TypeSubmitted)
	eventstore.Register[Withdrawn](r, TypeWithdrawn)
}
