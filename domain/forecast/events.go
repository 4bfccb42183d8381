package forecast

import (
	"encoding/json"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
)

// Event is one of the events of a Run. The interface is sealed.
type Event interface {
	forecastEvent()
}

// Stable type names of the events, as stored. Never change them: stored
// events are decoded by these names.
const (
	TypeRequested = "forecast.Requested"
	TypePublished = "forecast.Published"
)

// Requested records that a forecast of a plan's metric is wanted, and why.
type Requested struct {
	RunID  string        `json:"run_id"`
	Plan   string        `json:"plan"`
	Metric string        `json:"metric"`
	Reason string        `json:"reason"` // e.g. "period 2027-03 closed"
	Period fiscal.Period `json:"period"` // the last period of data the run is to use
}

// Published records a forecast as it was produced.
type Published struct {
	RunID        string          `json:"run_id"`
	Plan         string          `json:"plan"`
	Metric       string          `json:"metric"`
	DataPosition string          `json:"data_position"` // the global log position the data was read at (eventstore.Position text)
	Seed         uint64          `json:"seed,string"`
	Model        json.RawMessage `json:"model"` // the forecaster's own description of models and parameters
	Series       []Series        `json:"series"`
}

// Series is the forecast of one node: for each period from First on, the
// mean and the 80% and 95% prediction intervals. All five slices have the
// same length, the forecast's horizon.
type Series struct {
	Node  dimension.Node `json:"node"`
	First fiscal.Period  `json:"first"`
	Mean  []float64      `json:"mean"`
	Lo80  []float64      `json:"lo80"`
	Hi80  []float64      `json:"hi80"`
	Lo95  []float64      `json:"lo95"`
	Hi95  []float64      `json:"hi95"`
	Model string         `json:"model,omitempty"` // the model chosen for this series, e.g. "ETS(A,N,A)"
}

// Len returns the number of periods s forecasts.
func (s Series) Len() int { return len(s.Mean) }

// Span returns the periods s forecasts, as a range (a month when it has
// one period).
func (s Series) Span() fiscal.Span {
	if s.Len() == 1 {
		return fiscal.Month(s.First)
	}
	return fiscal.Span{First: s.First, Last: s.First.Add(s.Len() - 1), Kind: fiscal.KindRange}
}

func (Requested) forecastEvent() {}
func (Published) forecastEvent() {}

// RegisterEvents registers every Run event with its stable name.
func RegisterEvents(r *eventstore.Registry) {
	eventstore.Register[Requested](r, TypeRequested)
	eventstore.Register[Published](r, TypePublished)
}
