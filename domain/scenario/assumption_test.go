package scenario

import (
	"testing"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/eventstore/aggregatetest"
)

func TestAssumeShock(t *testing.T) {
	pct, amt, floor := decimal.MustParse("-10"), decimal.MustParse("-2000000"), decimal.MustParse("-100")
	shock := ShockAssumed{Scenario: "s1", Metric: "revenue", Node: emea, Span: fy27, Percent: &pct, Reason: "key account lost", By: "vp"}
	with := func(f func(e *ShockAssumed)) ShockAssumed {
		e := shock
		f(&e)
		return e
	}
	tests := []struct {
		name    string
		given   []Event
		e       ShockAssumed
		then    []Event
		wantErr []error
	}{
		{name: "percent", given: []Event{opened}, e: shock, then: []Event{shock}},
		{name: "amount", given: []Event{opened}, e: with(func(e *ShockAssumed) { e.Percent, e.Amount = nil, &amt }),
			then: []Event{with(func(e *ShockAssumed) { e.Percent, e.Amount = nil, &amt })}},
		{name: "both", given: []Event{opened}, e: with(func(e *ShockAssumed) { e.Amount = &amt }), wantErr: []error{ErrInvalid}},
		{name: "neither", given: []Event{opened}, e: with(func(e *ShockAssumed) { e.Percent = nil }), wantErr: []error{ErrInvalid}},
		{name: "minus 100%", given: []Event{opened}, e: with(func(e *ShockAssumed) { e.Percent = &floor }), wantErr: []error{ErrInvalid}},
		{name: "no reason, no actor", given: []Event{opened}, e: with(func(e *ShockAssumed) { e.Reason, e.By = " ", "" }), wantErr: []error{ErrReasonRequired, ErrActorRequired}},
		{name: "holding", given: []Event{opened}, e: with(func(e *ShockAssumed) { e.Holding = []string{"price"} }),
			then: []Event{with(func(e *ShockAssumed) { e.Holding = []string{"price"} })}},
		{name: "holding with an amount", given: []Event{opened}, e: with(func(e *ShockAssumed) { e.Percent, e.Amount, e.Holding = nil, &amt, []string{"price"} }), wantErr: []error{ErrInvalid}},
		{name: "holding itself", given: []Event{opened}, e: with(func(e *ShockAssumed) { e.Holding = []string{"price", "revenue"} }), wantErr: []error{ErrInvalid}},
		{name: "holding twice", given: []Event{opened}, e: with(func(e *ShockAssumed) { e.Holding = []string{"price", "price"} }), wantErr: []error{ErrInvalid}},
		{name: "unknown scenario", e: shock, wantErr: []error{ErrUnknown}},
		{name: "discarded", given: []Event{opened, Discarded{ID: "s1", Reason: "no", By: "vp"}}, e: shock, wantErr: []error{ErrClosed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := given(tt.given...)
			err := b.AssumeShock(tt.e)
			aggregatetest.Then(t, b, err, tt.then, tt.wantErr)
			if err == nil {
				if got := b.Shocks("s1"); len(got) != 1 {
					t.Errorf("Shocks(s1) = %v, want the shock", got)
				}
				if sc, _ := b.Scenario("s1"); sc.Changes != 1 {
					t.Errorf("Changes = %d, want 1: an assumption is one of the scenario's own events", sc.Changes)
				}
			}
		})
	}
}

func TestAssumeMethod(t *testing.T) {
	method := MethodAssumed{Scenario: "s1", Metric: "revenue", Method: "snaive", Reason: "replay", By: "vp"}
	t.Run("recorded, the last of a metric wins", func(t *testing.T) {
		b := given(opened)
		err := b.AssumeMethod(method)
		aggregatetest.Then(t, b, err, []Event{method}, nil)
		b = given(opened, method)
		later := method
		later.Method = "ets"
		if err := b.AssumeMethod(later); err != nil {
			t.Fatal(err)
		}
		if got := b.Methods("s1"); len(got) != 1 || got["revenue"] != "ets" {
			t.Errorf("Methods = %v, want revenue: ets (the later)", got)
		}
		if sc, _ := b.Scenario("s1"); sc.Changes != 2 {
			t.Errorf("Changes = %d, want 2: assumptions are the scenario's own events", sc.Changes)
		}
		if got := b.Methods("s2"); got != nil {
			t.Errorf("Methods of an unknown scenario = %v, want nil", got)
		}
	})
	for _, tt := range []struct {
		name    string
		do      func(b *Book) error
		wantErr []error
	}{
		{"bad method", func(b *Book) error { m := method; m.Method = "a b"; return b.AssumeMethod(m) }, []error{ErrInvalid}},
		{"no reason", func(b *Book) error { m := method; m.Reason = ""; return b.AssumeMethod(m) }, []error{ErrReasonRequired}},
		{"closed", func(b *Book) error {
			b.Apply(Discarded{ID: "s1", Reason: "no", By: "vp"})
			return b.AssumeMethod(method)
		}, []error{ErrClosed}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := given(opened)
			err := tt.do(b)
			aggregatetest.Then(t, b, err, nil, tt.wantErr)
		})
	}
}
