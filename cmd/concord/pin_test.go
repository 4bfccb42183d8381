package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/projections/reforecast"
	"github.com/concord-planning/concord/projections/view"
	"github.com/concord-planning/concord/projections/view/viewtest"
)

// TestModelPin: a planner pins EMEA's revenue to Theta; the reforecaster
// fits Theta to EMEA's four cells and still chooses for the Americas', and
// each series' detail says which pin chose its method. Before, every cell
// got the automatic choice and a pin could not be set.
func TestModelPin(t *testing.T) {
	ctx := context.Background()
	reg := viewtest.Registry()
	store, d, _ := viewtest.Seeded(t, "", reg)
	v := view.NewService(store, reg)
	defer v.Close()
	svc := planning.New(store, reg)
	call := planning.Call{By: planning.Principal{Actor: "pat", Role: access.RolePlanner}}
	if _, err := svc.PinModel(ctx, call, d.Plan, planning.PinModel{Metric: d.Metric, Node: "region=emea", Method: "theta",
		Reason: "EMEA grows steadily", Methods: []string{"ets", "theta"}}); err != nil {
		t.Fatal(err)
	}
	head, err := store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := newReforecaster(svc, reg, store, v, slog.New(slog.NewTextHandler(io.Discard, nil)))
	pub, err := r.produce(ctx, forecast.Requested{RunID: "pinned", Plan: d.Plan, Metric: d.Metric, Period: fiscal.NewPeriod(2027, time.June)}, head)
	if err != nil {
		t.Fatal(err)
	}
	emea := 0
	for _, s := range pub.Series {
		var detail reforecast.Detail
		if err := json.Unmarshal(s.Detail, &detail); err != nil {
			t.Fatal(err)
		}
		inEMEA := strings.Contains(s.Node.String(), "region=dach") || strings.Contains(s.Node.String(), "region=uk")
		switch {
		case inEMEA && (s.Model != "Theta" || detail.Pinned != "theta pinned for region=emea (revenue)"):
			t.Errorf("%v: model %q, pinned %q; want Theta, pinned for region=emea", s.Node, s.Model, detail.Pinned)
		case !inEMEA && detail.Pinned != "":
			t.Errorf("%v: pinned %q, want the automatic choice", s.Node, detail.Pinned)
		}
		if inEMEA {
			emea++
		}
	}
	if emea != 4 {
		t.Errorf("%d EMEA cells forecast, want 4", emea)
	}
	// The run is published; the forecasts answer counts the series each
	// pin decided.
	vs, err := v.Vintages(ctx, d.Plan, d.Metric, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := vs[len(vs)-1]; got.RunID != "pinned" || got.Pinned["theta pinned for region=emea (revenue)"] != 4 || len(got.Pinned) != 1 {
		t.Errorf("forecasts answer of the run: %s pinned %v, want the 4 EMEA series by the EMEA pin", got.RunID, got.Pinned)
	}
}
