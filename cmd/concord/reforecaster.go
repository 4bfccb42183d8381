package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/forecasting"
	"github.com/concord-planning/concord/projections"
	"github.com/concord-planning/concord/projections/reforecast"
	"github.com/concord-planning/concord/projections/view"
)

// forecasterPrincipal is who records the forecasts Concord produces itself.
var forecasterPrincipal = planning.Principal{Actor: reforecast.Actor, Role: access.RolePlanner}

// reforecaster is the reforecast process: a decider that turns period
// closes into forecast requests (reforecast.Manager), and a worker that
// produces each requested forecast from the actuals cube and publishes it.
// Both are handlers of the event log (see consumers); in distributed mode
// the worker runs in `concord worker` processes, fed by the bus. The
// decider's state is rebuilt from the start of the log at every start, and
// both are idempotent: a request per run id is recorded once; a run
// already published, or superseded by a later close, is skipped; and two
// workers racing on one run record it once (the run's stream is appended
// at the version each loaded).
type reforecaster struct {
	svc     *planning.Service
	view    *view.Service
	log     *slog.Logger
	manager *reforecast.Manager
	runs    *eventstore.Repository[*forecast.Run, forecast.Event]
}

func newReforecaster(svc *planning.Service, registry *eventstore.Registry, store eventstore.Store, v *view.Service,
	logger *slog.Logger) *reforecaster {
	return &reforecaster{svc: svc, view: v, log: logger,
		manager: reforecast.New(), runs: eventstore.NewRepository(store, registry, forecast.New)}
}

// jobsTopic is the bus topic on which serve processes hand forecast
// requests to `concord worker` processes (distributed mode).
const jobsTopic = "concord_forecast_jobs"

// consumers returns the reforecast process's consumers of feed: the decider,
// and either the worker (jobs == nil: forecasts are made in this process)
// or the dispatcher, which publishes each forecast request to jobsTopic on
// jobs for the workers.
func (r *reforecaster) consumers(feed *projections.Feed, jobs message.Publisher) []projections.Consumer {
	out := []projections.Consumer{{Name: "reforecast-decider", Source: feed, Policy: projections.StopOnFailure, Handler: projections.HandlerFunc(r.decide),
		Types: r.manager.Types()}}
	if jobs == nil {
		return append(out, projections.Consumer{Name: "reforecast-worker", Source: feed, Policy: projections.PoisonOnFailure, Handler: projections.HandlerFunc(r.work),
			Types: []string{forecast.TypeRequested}})
	}
	relay := projections.PublishTo(jobs, jobsTopic)
	dispatch := projections.HandlerFunc(func(ctx context.Context, rec eventstore.RecordedEvent, event any) error {
		if _, ok := event.(forecast.Requested); !ok {
			return nil
		}
		return relay.Handle(ctx, rec, event)
	})
	return append(out, projections.Consumer{Name: "reforecast-dispatch", Source: feed, Policy: projections.StopOnFailure, Handler: dispatch,
		Types: []string{forecast.TypeRequested}})
}

// decide records the forecast requests a period close calls for.
func (r *reforecaster) decide(ctx context.Context, rec eventstore.RecordedEvent, event any) error {
	reqs, err := r.manager.Apply(rec, event)
	if err != nil {
		return err
	}
	for _, req := range reqs {
		_, err := r.runs.Update(ctx, req.Stream, eventstore.NoStream, eventstore.Command{Metadata: req.Metadata}, req.Decide)
		if err != nil && !errors.Is(err, eventstore.ErrConflict) && !errors.Is(err, forecast.ErrAlreadyRequested) {
			return fmt.Errorf("record forecast request %s: %w", req.Requested.RunID, err)
		}
	}
	return nil
}

// work produces the forecast a request asks for.
func (r *reforecaster) work(ctx context.Context, rec eventstore.RecordedEvent, event any) error {
	req, ok := event.(forecast.Requested)
	if !ok {
		return nil
	}
	r.log.Debug("forecast job", "run", req.RunID, "plan", req.Plan, "metric", req.Metric, "period", req.Period)
	run, _, err := r.runs.Load(ctx, forecast.Stream(req.RunID))
	if err != nil {
		return err
	}
	if _, done := run.Published(); done {
		return nil
	}
	published, err := r.produce(ctx, req, rec.Position)
	switch {
	case errors.Is(err, errSuperseded):
		r.log.Debug("forecast request superseded by a later close", "run", req.RunID, "period", req.Period)
		return nil
	case errors.Is(err, forecast.ErrAlreadyPublished):
		// Another worker published the run while this one made it (a job
		// redelivered after its acknowledgement was late): the run is
		// recorded once, by whoever appended first.
		r.log.Info("forecast already published by another worker", "run", req.RunID)
		return nil
	}
	if err != nil {
		return err
	}
	r.log.Info("forecast published", "run", req.RunID, "plan", req.Plan, "metric", req.Metric, "series", len(published.Series))
	return nil
}

// pinNode names a pinned node for people.
func pinNode(n dimension.Node) string {
	if n.IsTotal() {
		return "every cell"
	}
	return n.String()
}

var errSuperseded = errors.New("a later period has closed since the request")

// produce forecasts metric of plan from the cells' actuals up to period
// last, as the view knows them once it has read the log through at, and
// publishes the run.
func (r *reforecaster) produce(ctx context.Context, req forecast.Requested, at eventstore.Position) (forecast.Published, error) {
	runID, planID, metric, last := req.RunID, req.Plan, req.Metric, req.Period
	st, err := r.view.Live(ctx) // at is in the store, so the live state has read it
	if err != nil {
		return forecast.Published{}, err
	}
	if st.Position.Before(at) {
		return forecast.Published{}, fmt.Errorf("the view is at %s, before the request at %s", st.Position, at)
	}
	pos := st.Position
	if closed, ok := st.LastClosed(); ok && req.SupersededBy(closed) {
		return forecast.Published{}, errSuperseded
	}
	in, err := st.ForecastInput(planID, metric, last)
	if err != nil {
		return forecast.Published{}, err
	}
	in.RunID, in.Seed, in.DataPosition, in.Workers = runID, seedOf(runID), pos, runtime.GOMAXPROCS(0)
	// Pinned methods (plan.ModelPinned): the cells under a pinned node are
	// fitted with its method instead of the automatic choice.
	if p, ok := st.Plan(planID); ok && len(p.ModelPins()) > 0 {
		dims := st.Dimensions(p.Dimensions())
		in.Methods, in.Pins = make([]forecasting.Method, len(in.Cells)), make([]string, len(in.Cells))
		for i, cell := range in.Cells {
			if pin, ok := p.PinOf(metric, cell, dims); ok {
				in.Methods[i] = forecasting.Method(pin.Method)
				in.Pins[i] = fmt.Sprintf("%s pinned for %s (%s)", pin.Method, pinNode(pin.Node), cmp.Or(pin.Metric, "every metric"))
			}
		}
	}
	published, err := reforecast.Run(ctx, in)
	if err != nil {
		return forecast.Published{}, err
	}
	series := make([]planning.Series, len(published.Series))
	for i, s := range published.Series {
		for _, v := range [][]float64{s.Mean, s.Lo80, s.Hi80, s.Lo95, s.Hi95} {
			if !allFinite(v) {
				return forecast.Published{}, fmt.Errorf("forecast of %v (%s) is not finite", s.Node, s.Model)
			}
		}
		series[i] = planning.Series{Node: s.Node.String(), First: s.First.String(), Mean: s.Mean, Lo80: s.Lo80,
			Hi80: s.Hi80, Lo95: s.Lo95, Hi95: s.Hi95, Model: s.Model, Detail: s.Detail}
	}
	_, err = r.svc.PublishForecast(ctx, planning.Call{By: forecasterPrincipal, CorrelationID: runID}, planID, planning.PublishForecast{
		RunID: runID, Metric: metric, DataPosition: published.DataPosition, Seed: published.Seed, Model: published.Model, Series: series})
	return published, err
}

// seedOf derives a run's seed from its id, so a rerun is reproducible.
func seedOf(runID string) uint64 {
	h := sha256.Sum256([]byte(runID))
	return binary.BigEndian.Uint64(h[:8])
}

func allFinite(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
