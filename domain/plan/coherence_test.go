package plan

import (
	"errors"
	"strings"
	"testing"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
)

// coherenceDims returns region: world > emea (dach, nordics, uki), amer;
// product: all > pumps, valves.
func coherenceDims(t testing.TB) []*dimension.Dimension {
	t.Helper()
	region, product := dimension.New(), dimension.New()
	errs := []error{
		region.Define("region", "Region", "world", "World"),
		region.Add("emea", "EMEA", "world"), region.Add("amer", "Americas", "world"),
		region.Add("dach", "DACH", "emea"), region.Add("nordics", "Nordics", "emea"), region.Add("uki", "UKI", "emea"),
		product.Define("product", "Product", "all", "All products"),
		product.Add("pumps", "Pumps", "all"), product.Add("valves", "Valves", "all"),
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return []*dimension.Dimension{region, product}
}

func TestCheckCoherence(t *testing.T) {
	n := dimension.MustParseNode
	dach, nordics, uki := n("region=dach"), n("region=nordics"), n("region=uki")
	emeaFY := []Event{opened,
		set(emea, "revenue", fy27, "49575000"),
		set(dach, "revenue", fy27, "17100000"), set(nordics, "revenue", fy27, "15200000"), set(uki, "revenue", fy27, "17275000"),
	}
	dachProducts := with(emeaFY, set(n("region=dach;product=pumps"), "revenue", fy27, "10000000"),
		set(n("region=dach;product=valves"), "revenue", fy27, "7100000"))
	quarters := []Event{opened, set(emea, "revenue", fy27, "1000.50")}
	for q, a := range []string{"200", "300.25", "250.25", "250"} {
		quarters = append(quarters, set(emea, "revenue", cal.FiscalQuarter(2027, q+1), a))
	}
	move := ReallocationProposed{ID: "r1", Metric: "revenue", Span: fy27, Reason: "pipeline", By: "vp-sales",
		Moves: []Move{{Node: dach, Delta: d("-300000")}, {Node: nordics, Delta: d("300000")}}}
	tests := []struct {
		name  string
		given []Event
		when  func(p *Plan) error
		want  []string // the messages, in any order
	}{
		{
			name:  "children no longer add up to their parent",
			given: emeaFY,
			when:  func(p *Plan) error { return p.ReviseTarget(uki, "revenue", fy27, d("17025000"), "UKI down", "cfo") },
			want:  []string{"plan: revenue targets do not add up: DACH 17,100,000 + Nordics 15,200,000 + UKI 17,025,000 = 49,325,000, but EMEA FY2027 is 49,575,000"},
		},
		{
			name:  "a parent no longer the sum of its children",
			given: emeaFY,
			when:  func(p *Plan) error { return p.ReviseTarget(emea, "revenue", fy27, d("50000000"), "stretch", "cfo") },
			want:  []string{"DACH 17,100,000 + Nordics 15,200,000 + UKI 17,275,000 = 49,575,000, but EMEA FY2027 is 50,000,000"},
		},
		{
			name:  "children without a target of every sibling add up to nothing",
			given: emeaFY[:4],
			when:  func(p *Plan) error { return p.ReviseTarget(nordics, "revenue", fy27, d("1"), "Nordics down", "cfo") },
		},
		{
			name:  "a region-only reallocation leaves DACH's products behind",
			given: dachProducts,
			when: func(p *Plan) error {
				return p.ProposeReallocation(move.ID, move.Metric, move.Span, move.Moves, move.Reason, move.By)
			},
			want: []string{"DACH × Pumps 10,000,000 + DACH × Valves 7,100,000 = 17,100,000, but DACH FY2027 is 16,800,000"},
		},
		{
			name:  "its approval is refused too",
			given: with(dachProducts, move),
			when:  func(p *Plan) error { return p.ApproveReallocation("r1", "cfo", "") },
			want:  []string{"DACH × Pumps 10,000,000 + DACH × Valves 7,100,000 = 17,100,000, but DACH FY2027 is 16,800,000"},
		},
		{
			name:  "a reallocation between siblings keeps their parent",
			given: emeaFY,
			when: func(p *Plan) error {
				return p.ProposeReallocation(move.ID, move.Metric, move.Span, move.Moves, move.Reason, move.By)
			},
		},
		{
			name:  "quarters no longer add up to their year",
			given: quarters,
			when: func(p *Plan) error {
				return p.ReviseTarget(emea, "revenue", cal.FiscalQuarter(2027, 2), d("300"), "Q2 down", "cfo")
			},
			want: []string{"FY2027-Q1 200 + FY2027-Q2 300 + FY2027-Q3 250.25 + FY2027-Q4 250 = 1,000.25, but EMEA FY2027 is 1,000.50"},
		},
		{
			name:  "clearing a child leaves nothing to add up",
			given: emeaFY,
			when:  func(p *Plan) error { return p.ClearTarget(uki, "revenue", fy27, "UKI sold", "cfo") },
		},
		{
			name:  "a sum broken before the command is not the command's",
			given: with(emeaFY, TargetRevised{Node: uki, Metric: "revenue", Span: fy27, From: d("17275000"), To: d("1"), Reason: "old log", By: "cfo"}),
			when:  func(p *Plan) error { return p.ReviseTarget(dach, "revenue", fy27, d("17100001"), "DACH up", "cfo") },
		},
		{
			name:  "a batch that moves parent and children together",
			given: emeaFY,
			when: func(p *Plan) error {
				return errors.Join(p.ReviseTarget(emea, "revenue", fy27, d("49575001"), "up", "cfo"),
					p.ReviseTarget(dach, "revenue", fy27, d("17100001"), "up", "cfo"))
			},
		},
	}
	dims := coherenceDims(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := given(tt.given...)
			if err := tt.when(p); err != nil {
				t.Fatalf("the command: %v", err)
			}
			err := p.CheckCoherence(dims)
			var got []string
			for _, e := range leaves(err) {
				var ie *IncoherentError
				if !errors.As(e, &ie) || !errors.Is(e, ErrIncoherent) {
					t.Errorf("CheckCoherence = %v, want *IncoherentError", e)
					continue
				}
				got = append(got, e.Error())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("CheckCoherence = %q, want %q", got, tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("CheckCoherence()[%d] = %q, want it to say %q", i, got[i], w)
				}
			}
		})
	}
}

func leaves(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestGrouped(t *testing.T) {
	for in, want := range map[string]string{"0": "0", "999": "999", "1000": "1,000", "-49575000.50": "-49,575,000.50", "123456": "123,456", "1234567.001": "1,234,567.001"} {
		if got := Grouped(decimal.MustParse(in)); got != want {
			t.Errorf("Grouped(%s) = %q, want %q", in, got, want)
		}
	}
}

// TestCascadeTarget: revising EMEA with cascade moves DACH, Nordics and
// UKI in proportion, and DACH's products with DACH, so that every sum
// still adds up exactly; a partition that did not add up is left alone.
func TestCascadeTarget(t *testing.T) {
	n := dimension.MustParseNode
	dach, nordics, uki := n("region=dach"), n("region=nordics"), n("region=uki")
	pumps, valves := n("region=dach;product=pumps"), n("region=dach;product=valves")
	p := given(opened,
		set(emea, "revenue", fy27, "49575000"),
		set(dach, "revenue", fy27, "17100000"), set(nordics, "revenue", fy27, "15200000"), set(uki, "revenue", fy27, "17275000"),
		set(pumps, "revenue", fy27, "10000000"), set(valves, "revenue", fy27, "7100000"),
		set(amer, "revenue", fy27, "100"), set(n("region=amer;product=pumps"), "revenue", fy27, "30"), set(n("region=amer;product=valves"), "revenue", fy27, "30"),
	)
	dims := coherenceDims(t)
	if err := p.CascadeTarget(dims, emea, "revenue", fy27, d("50000000"), "stretch", "cfo"); err != nil {
		t.Fatal(err)
	}
	want := map[dimension.Node]string{emea: "50000000", dach: "17246596", nordics: "15330308", uki: "17423096",
		pumps: "10085729", valves: "7160867"}
	for node, w := range want {
		if got, _ := p.Target(node, "revenue", fy27); !got.Amount.Equal(d(w)) {
			t.Errorf("%v = %v, want %s", node, got.Amount, w)
		}
	}
	if err := p.CheckCoherence(dims); err != nil {
		t.Errorf("after the cascade: %v", err)
	}
	// Americas' products (30 + 30) never added up to it (100): a revision
	// of the Americas leaves them as they are.
	p.changes = nil
	if err := p.CascadeTarget(dims, amer, "revenue", fy27, d("120"), "up", "cfo"); err != nil || len(p.Changes()) != 1 {
		t.Errorf("cascade of the Americas = %v, %d events; want the Americas' revision only", err, len(p.Changes()))
	}
}
