package ledger

import (
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
)

// Event is one of the events of a Ledger. The interface is sealed.
type Event interface {
	ledgerEvent()
}

// Stable type names of the events, as stored. Never change them: stored
// events are decoded by these names.
const (
	TypeActualRecorded = "ledger.ActualRecorded"
	TypeActualRestated = "ledger.ActualRestated"
	TypePeriodClosed   = "ledger.PeriodClosed"
	TypePeriodReopened = "ledger.PeriodReopened"
)

// ActualRecorded records one actual: one row of import ImportID.
type ActualRecorded struct {
	ImportID string          `json:"import_id"`
	Cell     dimension.Node  `json:"cell"`
	Metric   string          `json:"metric"`
	Period   fiscal.Period   `json:"period"`
	Amount   decimal.Decimal `json:"amount"`
	By       string          `json:"by"`
}

// ActualRestated records the correction of an actual from From to To.
type ActualRestated struct {
	Cell   dimension.Node  `json:"cell"`
	Metric string          `json:"metric"`
	Period fiscal.Period   `json:"period"`
	From   decimal.Decimal `json:"from"`
	To     decimal.Decimal `json:"to"`
	Reason string          `json:"reason"`
	By     string          `json:"by"`
}

// PeriodClosed records that the period takes no new actuals. Missing is
// the number of cells the closer found without an actual, closed anyway
// for Reason (empty when none was missing and none given).
type PeriodClosed struct {
	Period  fiscal.Period `json:"period"`
	By      string        `json:"by"`
	Missing int           `json:"missing,omitempty"`
	Reason  string        `json:"reason,omitempty"`
}

// PeriodReopened records that a closed period takes new actuals again,
// by actor By for Reason.
type PeriodReopened struct {
	Period fiscal.Period `json:"period"`
	Reason string        `json:"reason"`
	By     string        `json:"by"`
}

func (ActualRecorded) ledgerEvent() {}
func (ActualRestated) ledgerEvent() {}
func (PeriodClosed) ledgerEvent()   {}
func (PeriodReopened) ledgerEvent() {}

// RegisterEvents registers every Ledger event with its stable name.
func RegisterEvents(r *eventstore.Registry) {
	eventstore.Register[ActualRecorded](r, TypeActualRecorded)
	eventstore.Register[ActualRestated](r, TypeActualRestated)
	eventstore.Register[PeriodClosed](r, TypePeriodClosed)
	eventstore.Register[PeriodReopened](r, TypePeriodReopened)
}
