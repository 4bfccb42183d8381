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
	// TypePublished is a whole run in one event, as runs were recorded
	// before they were split into parts; such events are still read.
	TypePublished     = "forecast.Published"
	TypePartPublished = "forecast.PartPublished"
	TypeSealed        = "forecast.Sealed"
)

// Requested records that a forecast of a plan's metric is wanted, and why.
type Requested struct {
	RunID  string        `json:"run_id"`
	Plan   string        `json:"plan"`
	Metric string        `json:"metric"`
	Reason string        `json:"reason"` // e.g. "period 2027-03 closed"
	Period fiscal.Period `json:"period"` // the last period of data the run is to use
}

// SupersededBy reports whether a close of period lastClosed makes the
// request void: a later month has closed since, and the run asked for that
// close replaces it. No worker makes a superseded run, and no reader waits
// for it.
func (r Requested) SupersededBy(lastClosed fiscal.Period) bool {
	return lastClosed > r.Period
}

// Published is a whole published run: what readers of a run see once it is
// sealed (Run.Published). It is also the event that recorded a whole run at
// once before runs were split into parts (TypePublished): Publish no longer
// records it, Apply still reads it.
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
	// Detail is the forecaster's own description of this series (its
	// model's parameters, its row of the error covariance), a JSON value
	// or empty. It travels with the series' part, so the run-level Model
	// stays small however many series a run has.
	Detail json.RawMessage `json:"detail,omitempty"`
}

// PartPublished records part Part of the Parts parts of a run's series, all
// of equal Digest. Parts are recorded by Publish, in order, followed by the
// run's Sealed; a run is published once sealed, and parts without their
// seal (a publication interrupted between appends) publish nothing.
type PartPublished struct {
	RunID  string   `json:"run_id"`
	Digest string   `json:"digest"` // the publication's Sealed.Digest
	Part   int      `json:"part"`   // 1 to Parts
	Parts  int      `json:"parts"`
	Series []Series `json:"series"`
}

// Sealed records that a run was published: the run's description, and the
// number of parts and the digest that name the PartPublished events
// holding its series, which immediately precede it in the run's stream.
type Sealed struct {
	RunID        string          `json:"run_id"`
	Plan         string          `json:"plan"`
	Metric       string          `json:"metric"`
	DataPosition string          `json:"data_position"`
	Seed         uint64          `json:"seed,string"`
	Model        json.RawMessage `json:"model"`
	Series       int             `json:"series"` // the number of series, over all parts
	Parts        int             `json:"parts"`
	// Digest is the hex SHA-256 of the run's series, each JSON-encoded and
	// followed by a newline, in order (see Digest).
	Digest string `json:"digest"`
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

func (Requested) forecastEvent()     {}
func (Published) forecastEvent()     {}
func (PartPublished) forecastEvent() {}
func (Sealed) forecastEvent()        {}

// RegisterEvents registers every Run event with its stable name.
func RegisterEvents(r *eventstore.Registry) {
	eventstore.Register[Requested](r, TypeRequested)
	eventstore.Register[Published](r, TypePublished)
	eventstore.Register[PartPublished](r, TypePartPublished)
	eventstore.Register[Sealed](r, TypeSealed)
}
