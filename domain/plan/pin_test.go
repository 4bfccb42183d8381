package plan

import (
	"strings"
	"testing"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore/aggregatetest"
)

func TestPinModel(t *testing.T) {
	methods := []string{"ets", "arima", "theta"}
	n := dimension.MustParseNode
	emeaETS := ModelPinned{Metric: "revenue", Node: n("region=emea"), Method: "ets", By: "cfo", Reason: "growth"}
	tests := []struct {
		name          string
		given         []Event
		metric        string
		node          dimension.Node
		method        string
		by, why       string
		then          []Event
		wantErr       string
		pinOf         dimension.Node // a cell whose pin is checked afterwards
		wantPin, none bool
		wantMethod    string
	}{
		{name: "a region", given: budget, metric: "revenue", node: n("region=emea"), method: "ets", by: "cfo", why: "growth", then: []Event{emeaETS},
			pinOf: n("region=dach;product=pumps"), wantPin: true, wantMethod: "ets"},
		{name: "a finer pin wins", given: with(budget, emeaETS), metric: "revenue", node: n("region=dach;product=pumps"), method: "theta", by: "cfo", why: "short",
			then:  []Event{ModelPinned{Metric: "revenue", Node: n("region=dach;product=pumps"), Method: "theta", By: "cfo", Reason: "short"}},
			pinOf: n("region=dach;product=pumps"), wantPin: true, wantMethod: "theta"},
		{name: "the metric's own wins over every metric's", given: with(budget, emeaETS), node: dimension.Total, method: "arima", by: "cfo", why: "x",
			then:  []Event{ModelPinned{Node: dimension.Total, Method: "arima", By: "cfo", Reason: "x"}},
			pinOf: n("region=dach;product=valves"), wantPin: true, wantMethod: "ets"},
		{name: "auto removes", given: with(budget, emeaETS), metric: "revenue", node: n("region=emea"), method: MethodAuto, by: "cfo", why: "x",
			then:  []Event{ModelPinned{Metric: "revenue", Node: n("region=emea"), Method: MethodAuto, By: "cfo", Reason: "x"}},
			pinOf: n("region=dach;product=pumps"), none: true},
		{name: "outside the pinned node", given: with(budget, emeaETS), metric: "revenue", node: n("region=emea"), method: "ets", by: "cfo", why: "again",
			pinOf: n("region=amer;product=pumps"), none: true},
		{name: "unknown method", given: budget, node: dimension.Total, method: "magic", by: "cfo", why: "x", wantErr: `method "magic": want auto or one of [ets arima theta]`},
		{name: "unknown metric", given: budget, metric: "sales", node: dimension.Total, method: "ets", by: "cfo", why: "x", wantErr: `metric "sales" is not a measured metric`},
		{name: "no reason", given: budget, node: dimension.Total, method: "ets", by: "cfo", wantErr: "reason"},
	}
	dims := coherenceDims(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := given(tt.given...)
			err := p.PinModel(tt.metric, tt.node, tt.method, methods, tt.by, tt.why)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("PinModel = %v, want an error containing %q", err, tt.wantErr)
				}
				if len(p.Changes()) != 0 {
					t.Errorf("PinModel recorded %v on error", p.Changes())
				}
				return
			}
			aggregatetest.Then(t, p, err, tt.then, nil)
			pin, ok := p.PinOf("revenue", tt.pinOf, dims)
			if tt.none && ok || !tt.none && (!ok || pin.Method != tt.wantMethod) {
				t.Errorf("PinOf(revenue, %v) = %+v, %v; want %q (none: %v)", tt.pinOf, pin, ok, tt.wantMethod, tt.none)
			}
		})
	}
}
