package main

import (
	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
)

// newRegistry registers every event type Concord stores, by its stable
// name. This is the one place that knows them all.
func newRegistry() *eventstore.Registry {
	r := eventstore.NewRegistry()
	dimension.RegisterEvents(r)
	plan.RegisterEvents(r)
	ledger.RegisterEvents(r)
	commit.RegisterEvents(r)
	forecast.RegisterEvents(r)
	return r
}
