package reforecast_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/projections/reforecast"
	"github.com/google/uuid"
)

func rec(n uint64, stream, typ string) eventstore.RecordedEvent {
	return eventstore.RecordedEvent{ID: uuid.NewSHA1(uuid.Nil, []byte{byte(n)}), Stream: stream, Type: typ,
		Position: eventstore.Position{Commit: n, Prepare: n}, Metadata: eventstore.Metadata{CorrelationID: "close-1"}}
}

func TestPeriodClosedRequestsOncePerOpenPlanAndMetric(t *testing.T) {
	mar := fiscal.NewPeriod(2027, time.March)
	m := reforecast.New()
	steps := []struct {
		rec  eventstore.RecordedEvent
		ev   any
		want int
	}{
		{rec(1, "plan-fy27", plan.TypeOpened), plan.Opened{ID: "fy27", Metrics: []plan.Metric{{ID: "revenue"}, {ID: "margin"}}, HorizonStart: mar.Add(-11), HorizonMonths: 18}, 0},
		// A plan whose horizon ends with the closed period has nothing left to forecast.
		{rec(2, "plan-old", plan.TypeOpened), plan.Opened{ID: "old", Metrics: []plan.Metric{{ID: "revenue"}}, HorizonStart: mar.Add(-11), HorizonMonths: 12}, 0},
		{rec(3, ledger.Stream(mar), ledger.TypePeriodClosed), ledger.PeriodClosed{Period: mar, By: "controller"}, 2},
		{rec(4, "plan-fy27", plan.TypeHorizonRolled), plan.HorizonRolled{From: mar.Add(-11), To: mar.Add(1)}, 0},
	}
	var reqs []reforecast.Request
	for _, s := range steps {
		got, err := m.Apply(s.rec, s.ev)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != s.want {
			t.Errorf("Apply(%s) decided %d requests, want %d", s.rec.Type, len(got), s.want)
		}
		reqs = append(reqs, got...)
	}
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	for i, metric := range []string{"revenue", "margin"} {
		r := reqs[i]
		id := reforecast.RunID("fy27", metric, mar)
		if r.Requested.RunID != id || r.Stream != forecast.Stream(id) || r.Requested.Metric != metric || r.Requested.Period != mar || r.Requested.Plan != "fy27" {
			t.Errorf("request %d = %+v, want run %s of fy27/%s for %v", i, r, id, metric, mar)
		}
		if r.Metadata.CausationID != steps[2].rec.ID.String() || r.Metadata.CorrelationID != "close-1" || r.Metadata.Actor != reforecast.Actor {
			t.Errorf("request %d metadata = %+v", i, r.Metadata)
		}
		run := forecast.New()
		if err := r.Decide(run); err != nil {
			t.Errorf("Decide on a new run: %v", err)
		}
		if err := r.Decide(run); !errors.Is(err, forecast.ErrAlreadyRequested) {
			t.Errorf("Decide on a requested run: error %v, want forecast.ErrAlreadyRequested", err)
		}
	}
	// A replay decides nothing again; a fresh manager decides the same runs.
	if got, _ := m.Apply(steps[2].rec, steps[2].ev); len(got) != 0 {
		t.Errorf("replayed close decided %d requests, want 0", len(got))
	}
	fresh := reforecast.New()
	var again []reforecast.Request
	for _, s := range steps[:3] {
		got, _ := fresh.Apply(s.rec, s.ev)
		again = append(again, got...)
	}
	if len(again) != 2 || again[0].Requested != reqs[0].Requested || again[1].Requested != reqs[1].Requested {
		t.Errorf("a replay from scratch decided %+v, want %+v", again, reqs)
	}
	if reforecast.RunID("fy27", "revenue", mar) == reforecast.RunID("fy27", "revenue", mar.Add(1)) {
		t.Errorf("RunID does not depend on the period")
	}
	if _, err := m.Apply(rec(9, ledger.Stream(mar), ledger.TypeActualRecorded), ledger.PeriodClosed{Period: mar}); err == nil {
		t.Errorf("Apply with a mismatched type name: no error")
	}
}

// TestReopenAndCloseAgainRequestNewRuns: a reopen asks for a reforecast from
// the month before, and closing the month again asks for one more: each
// with a run id of its own, the same on a replay.
func TestReopenAndCloseAgainRequestNewRuns(t *testing.T) {
	mar := fiscal.NewPeriod(2027, time.March)
	steps := []struct {
		rec  eventstore.RecordedEvent
		ev   any
		last fiscal.Period // the Period of the requests, the last closed month
	}{
		{rec(1, "plan-fy27", plan.TypeOpened), plan.Opened{ID: "fy27", Metrics: []plan.Metric{{ID: "revenue"}}, HorizonStart: mar, HorizonMonths: 12}, 0},
		{rec(2, ledger.Stream(mar), ledger.TypePeriodClosed), ledger.PeriodClosed{Period: mar, By: "controller"}, mar},
		{rec(3, ledger.Stream(mar), ledger.TypePeriodReopened), ledger.PeriodReopened{Period: mar, Reason: "late invoices", By: "controller"}, mar.Add(-1)},
		{rec(4, ledger.Stream(mar), ledger.TypePeriodClosed), ledger.PeriodClosed{Period: mar, By: "controller"}, mar},
	}
	run := func() []forecast.Requested {
		m := reforecast.New()
		var out []forecast.Requested
		for i, s := range steps {
			got, err := m.Apply(s.rec, s.ev)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				continue
			}
			if len(got) != 1 || got[0].Requested.Period != s.last {
				t.Fatalf("Apply(%s) = %+v, want one request through %v", s.rec.Type, got, s.last)
			}
			out = append(out, got[0].Requested)
		}
		return out
	}
	reqs := run()
	ids := map[string]bool{}
	for _, r := range reqs {
		ids[r.RunID] = true
	}
	if len(ids) != 3 || reqs[0].RunID != reforecast.RunID("fy27", "revenue", mar) {
		t.Errorf("run ids %v, want three distinct, the first RunID's", reqs)
	}
	if again := run(); again[1] != reqs[1] || again[2] != reqs[2] {
		t.Errorf("a replay decided %+v, want %+v", again, reqs)
	}
	if _, err := reforecast.New().Apply(rec(9, ledger.Stream(mar), ledger.TypePeriodClosed), ledger.PeriodReopened{Period: mar}); err == nil {
		t.Errorf("Apply with a mismatched type name: no error")
	}
}

// TestTypesAreAllApplyReads: a manager given only the events of Types
// decides what one given every event decides, and each type of Types
// changes what the manager decides (none is listed in vain).
func TestTypesAreAllApplyReads(t *testing.T) {
	mar := fiscal.NewPeriod(2027, time.March)
	type step struct {
		rec eventstore.RecordedEvent
		ev  any
	}
	log := []step{
		{rec(1, "plan-fy27", plan.TypeOpened), plan.Opened{ID: "fy27", Metrics: []plan.Metric{{ID: "revenue"}}, HorizonStart: mar.Add(-11), HorizonMonths: 18}},
		{rec(2, "plan-fy27", plan.TypeTargetSet), plan.TargetSet{Metric: "revenue"}},
		{rec(3, "plan-b", plan.TypeOpened), plan.Opened{ID: "b", Metrics: []plan.Metric{{ID: "units"}}, HorizonStart: mar.Add(-11), HorizonMonths: 18}},
		{rec(4, ledger.Stream(mar), ledger.TypeActualRecorded), ledger.ActualRecorded{Metric: "revenue", Period: mar}},
		{rec(5, ledger.Stream(mar), ledger.TypePeriodClosed), ledger.PeriodClosed{Period: mar}},
		{rec(6, "plan-b", plan.TypeDiscarded), plan.Discarded{}},
		{rec(7, "plan-fy27", plan.TypeHorizonRolled), plan.HorizonRolled{From: mar.Add(-11), To: mar.Add(6)}},
		{rec(8, ledger.Stream(mar), ledger.TypePeriodReopened), ledger.PeriodReopened{Period: mar}},
		{rec(9, ledger.Stream(mar.Add(6)), ledger.TypePeriodClosed), ledger.PeriodClosed{Period: mar.Add(6)}}, // past fy27's first horizon
	}
	decide := func(keep func(typ string) bool) []forecast.Requested {
		m := reforecast.New()
		var out []forecast.Requested
		for _, s := range log {
			if !keep(s.rec.Type) {
				continue
			}
			reqs, err := m.Apply(s.rec, s.ev)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range reqs {
				out = append(out, r.Requested)
			}
		}
		return out
	}
	types := reforecast.New().Types()
	all := decide(func(string) bool { return true })
	if got := decide(func(typ string) bool { return slices.Contains(types, typ) }); !slices.Equal(got, all) {
		t.Errorf("given only %v: decided %+v, want %+v", types, got, all)
	}
	for _, typ := range types {
		if got := decide(func(other string) bool { return other != typ }); slices.Equal(got, all) {
			t.Errorf("without the %s events: decided the same %+v, want a change (Types lists it)", typ, got)
		}
	}
}
