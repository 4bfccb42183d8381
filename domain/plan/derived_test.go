package plan

import (
	"strings"
	"testing"

	"github.com/concord-planning/concord/domain/eventstore/aggregatetest"
)

func TestParseFormula(t *testing.T) {
	tests := []struct {
		in      string
		want    Formula
		wantErr string
	}{
		{in: "margin / revenue", want: Formula{Left: "margin", Op: OpRatio, Right: "revenue"}},
		{in: "price*units", want: Formula{Left: "price", Op: OpProduct, Right: "units"}},
		{in: " a + b ", want: Formula{Left: "a", Op: OpSum, Right: "b"}},
		{in: "gross-margin - cost", want: Formula{Left: "gross-margin", Op: OpDifference, Right: "cost"}},
		{in: "gross-margin/net-revenue", want: Formula{Left: "gross-margin", Op: OpRatio, Right: "net-revenue"}},
		{in: "a-b-c", wantErr: "put spaces around the operator"},
		{in: "revenue", wantErr: `want "metric op metric"`},
		{in: "/ revenue", wantErr: `want "metric op metric"`},
		{in: "m% / revenue", wantErr: `left operand "m%" is not a metric id`},
	}
	for _, tt := range tests {
		got, err := ParseFormula(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseFormula(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseFormula(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestDeriveMetric(t *testing.T) {
	pct := Metric{ID: "margin-pct", Name: "Gross margin %", Unit: "%"}
	ratio := Formula{Left: "margin", Op: OpRatio, Right: "revenue"}
	derived := MetricDerived{Metric: pct, Formula: ratio, By: "cfo"}
	tests := []struct {
		name    string
		given   []Event
		m       Metric
		f       Formula
		by      string
		then    []Event
		wantErr string
	}{
		{name: "ratio", given: budget, m: pct, f: ratio, by: "cfo", then: []Event{derived}},
		{name: "ratio of a derived metric", given: append(budget[:len(budget):len(budget)], derived), m: Metric{ID: "x", Name: "X"},
			f: Formula{Left: "margin-pct", Op: OpRatio, Right: "revenue"}, by: "cfo",
			then: []Event{MetricDerived{Metric: Metric{ID: "x", Name: "X"}, Formula: Formula{Left: "margin-pct", Op: OpRatio, Right: "revenue"}, By: "cfo"}}},
		{name: "unknown operand", given: budget, m: pct, f: Formula{Left: "margin", Op: OpRatio, Right: "sales"}, by: "cfo", wantErr: `right operand "sales" is not a metric of plan fy27`},
		{name: "cycle", given: budget, m: pct, f: Formula{Left: "margin-pct", Op: OpSum, Right: "revenue"}, by: "cfo", wantErr: "refers to the metric itself (a cycle)"},
		{name: "id in use", given: budget, m: Metric{ID: "revenue", Name: "R"}, f: ratio, by: "cfo", wantErr: `has a metric "revenue" already`},
		{name: "defined twice", given: append(budget[:len(budget):len(budget)], derived), m: pct, f: ratio, by: "cfo", wantErr: `has a derived metric "margin-pct" already`},
		{name: "product of a derived metric", given: append(budget[:len(budget):len(budget)], derived), m: Metric{ID: "y", Name: "Y"},
			f: Formula{Left: "margin-pct", Op: OpProduct, Right: "revenue"}, by: "cfo", wantErr: "a product's operands must be measured metrics"},
		{name: "bad operator", given: budget, m: pct, f: Formula{Left: "margin", Op: "%", Right: "revenue"}, by: "cfo", wantErr: `operator "%"`},
		{name: "no actor", given: budget, m: pct, f: ratio, wantErr: "actor"},
		{name: "not opened", m: pct, f: ratio, by: "cfo", wantErr: "not"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := given(tt.given...)
			err := p.DeriveMetric(tt.m, tt.f, tt.by)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("DeriveMetric = %v, want an error containing %q", err, tt.wantErr)
				}
				if len(p.Changes()) != 0 {
					t.Errorf("DeriveMetric recorded %v on error", p.Changes())
				}
				return
			}
			aggregatetest.Then(t, p, err, tt.then, nil)
			if d, ok := p.DerivedMetric(tt.m.ID); !ok || d.Formula != tt.f {
				t.Errorf("DerivedMetric(%q) = %v, %v; want formula %v", tt.m.ID, d, ok, tt.f)
			}
			if _, ok := p.Metric(tt.m.ID); ok {
				t.Errorf("Metric(%q) found a derived metric among the measured ones", tt.m.ID)
			}
		})
	}
}

func TestScaled(t *testing.T) {
	o := opened
	o.Metrics = append(o.Metrics[:len(o.Metrics):len(o.Metrics)], Metric{ID: "units", Name: "Units"}, Metric{ID: "cost", Name: "Cost"})
	derive := func(id, formula string) Event {
		f, err := ParseFormula(formula)
		if err != nil {
			t.Fatal(err)
		}
		return MetricDerived{Metric: Metric{ID: id, Name: id}, Formula: f, By: "cfo"}
	}
	p := given(o, derive("price", "revenue / units"), derive("margin-pct", "margin / revenue"),
		derive("rev-units", "revenue * units"), derive("profit", "margin - cost"))
	tests := []struct {
		metric  string
		holding []string
		want    string
		wantErr string
	}{
		{metric: "units", want: "units"},
		{metric: "units", holding: []string{"price"}, want: "revenue units"},
		{metric: "units", holding: []string{"price", "margin-pct"}, want: "revenue margin units"},
		{metric: "price", want: "revenue"},
		{metric: "price", holding: []string{"margin-pct"}, want: "revenue margin"},
		{metric: "margin-pct", want: "margin"},
		{metric: "profit", want: "margin cost"},
		{metric: "rev-units", wantErr: "change revenue or units instead"},
		{metric: "sales", wantErr: `metric "sales": plan fy27 neither measures nor derives it`},
		{metric: "units", holding: []string{"profit"}, wantErr: `holding "profit": margin - cost is not a ratio`},
		{metric: "units", holding: []string{"volume"}, wantErr: `holding "volume": plan fy27 derives no such metric`},
	}
	for _, tt := range tests {
		got, err := p.Scaled(tt.metric, tt.holding)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Scaled(%s, %v) = %v, %v; want an error containing %q", tt.metric, tt.holding, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != tt.want {
			t.Errorf("Scaled(%s, %v) = %v, %v; want %s", tt.metric, tt.holding, got, err, tt.want)
		}
	}
}
