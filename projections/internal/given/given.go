package given

import (
	"fmt"
	"time"

	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
)

// Start is the recorded time of the first event of every Log.
var Start = time.Date(2026, time.April, 1, 9, 0, 0, 0, time.UTC)

var registry = func() *eventstore.Registry {
	r := eventstore.NewRegistry()
	dimension.RegisterEvents(r)
	plan.RegisterEvents(r)
	ledger.RegisterEvents(r)
	commit.RegisterEvents(r)
	forecast.RegisterEvents(r)
	return r
}()

// Event is a recorded event with its decoded value, as a Runner hands it
// to a read model.
type Event struct {
	Rec   eventstore.RecordedEvent
	Value any
}

// Log is a sequence of recorded events. The zero Log is empty and ready.
type Log struct {
	Events []Event
}

// Add records event on stream by actor (the metadata's actor) and returns
// its position. It panics for an event type the domain does not register
// (a mistake in the test).
func (l *Log) Add(stream, actor string, event any) eventstore.Position {
	name, ok := registry.Name(event)
	if !ok {
		panic(fmt.Sprintf("given: %T is not a registered event", event))
	}
	n := uint64(len(l.Events) + 1)
	pos := eventstore.Position{Commit: n, Prepare: n}
	l.Events = append(l.Events, Event{Value: event, Rec: eventstore.RecordedEvent{
		Type: name, SchemaVersion: 1, Stream: stream, Position: pos,
		RecordedAt: Start.Add(time.Duration(n-1) * time.Hour), Metadata: eventstore.Metadata{Actor: actor},
	}})
	return pos
}

// Last returns the position of the last event (Start when none).
func (l *Log) Last() eventstore.Position {
	if len(l.Events) == 0 {
		return eventstore.Start
	}
	return l.Events[len(l.Events)-1].Rec.Position
}

// Dimension adds a dimension id with root "all" and the members given as
// child → parent pairs, in order.
func (l *Log) Dimension(id string, members ...[2]string) {
	l.Add(dimension.Stream(id), "admin", dimension.Defined{ID: id, Name: id, RootID: "all", RootName: "All"})
	for _, m := range members {
		l.Add(dimension.Stream(id), "admin", dimension.MemberAdded{ID: m[0], Name: m[0], Parent: m[1]})
	}
}

// Applier is a read model's Apply.
type Applier interface {
	Apply(rec eventstore.RecordedEvent, event any) error
}

// ApplyTo applies every event to each model, failing on the first error.
func (l *Log) ApplyTo(models ...Applier) error {
	for _, e := range l.Events {
		for _, m := range models {
			if err := m.Apply(e.Rec, e.Value); err != nil {
				return fmt.Errorf("given: apply %v %s: %w", e.Rec.Position, e.Rec.Type, err)
			}
		}
	}
	return nil
}

// At returns the recorded time of the event at p.
func At(p eventstore.Position) time.Time { return Start.Add(time.Duration(p.Commit-1) * time.Hour) }

// Before returns the position just before p.
func Before(p eventstore.Position) eventstore.Position {
	return eventstore.Position{Commit: p.Commit - 1, Prepare: p.Commit - 1}
}
