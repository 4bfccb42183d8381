package plan

import (
	"errors"
	"testing"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/eventstore/aggregatetest"
)

func dp(s string) *decimal.Decimal { v := d(s); return &v }

// scenarioChanges moves 50 of FY27 revenue from EMEA to AMER and sets a
// new APAC target, as a scenario promoted at version 4 of budget would.
var scenarioChanges = []Change{
	{Node: emea, Metric: "revenue", Span: fy27, From: dp("600"), To: dp("550")},
	{Node: amer, Metric: "revenue", Span: fy27, From: dp("400"), To: dp("450")},
	{Node: apac, Metric: "revenue", Span: fy27, To: dp("70")},
}

var changesProposed = ChangesProposed{ID: "scenario-s1", Scenario: "s1", Version: 4, Changes: scenarioChanges, Reason: "AMER pipeline", By: "vp-sales"}

func TestProposeAndApproveChanges(t *testing.T) {
	const why = "scenario s1 (proposal scenario-s1): AMER pipeline"
	tests := []struct {
		name    string
		given   []Event
		when    func(p *Plan) error
		then    []Event
		wantErr []error
	}{
		{
			name:  "propose a scenario's changes at the plan's version",
			given: budget,
			when: func(p *Plan) error {
				return p.ProposeChanges("scenario-s1", "s1", scenarioChanges, " AMER pipeline ", "vp-sales")
			},
			then: []Event{changesProposed},
		},
		{
			name:  "approve: one target event per change, naming the scenario",
			given: with(budget, changesProposed),
			when:  func(p *Plan) error { return p.ApproveReallocation("scenario-s1", "cfo", "ok") },
			then: []Event{
				ReallocationApproved{ID: "scenario-s1", By: "cfo", Comment: "ok"},
				TargetRevised{Node: emea, Metric: "revenue", Span: fy27, From: d("600"), To: d("550"), Reason: why, By: "cfo"},
				TargetRevised{Node: amer, Metric: "revenue", Span: fy27, From: d("400"), To: d("450"), Reason: why, By: "cfo"},
				TargetSet{Node: apac, Metric: "revenue", Span: fy27, Amount: d("70"), Reason: why, By: "cfo"},
			},
		},
		{
			name:  "approve a clearing change",
			given: with(budget, ChangesProposed{ID: "p", Scenario: "s2", Version: 4, Changes: []Change{{Node: emea, Metric: "revenue", Span: fy27, From: dp("600")}}, Reason: "drop", By: "vp"}),
			when:  func(p *Plan) error { return p.ApproveReallocation("p", "cfo", "") },
			then: []Event{
				ReallocationApproved{ID: "p", By: "cfo"},
				TargetCleared{Node: emea, Metric: "revenue", Span: fy27, From: d("600"), Reason: "scenario s2 (proposal p): drop", By: "cfo"},
			},
		},
		{
			name:    "a target revised after the proposal stops the approval",
			given:   with(budget, changesProposed, TargetRevised{Node: amer, Metric: "revenue", Span: fy27, From: d("400"), To: d("420"), Reason: "r", By: "cfo"}),
			when:    func(p *Plan) error { return p.ApproveReallocation("scenario-s1", "cfo", "") },
			wantErr: []error{ErrTargetChanged},
		},
		{
			name:    "a target set after the proposal stops the approval",
			given:   with(budget, changesProposed, set(apac, "revenue", fy27, "1")),
			when:    func(p *Plan) error { return p.ApproveReallocation("scenario-s1", "cfo", "") },
			wantErr: []error{ErrTargetChanged},
		},
		{
			name:    "the proposer may not approve",
			given:   with(budget, changesProposed),
			when:    func(p *Plan) error { return p.ApproveReallocation("scenario-s1", "vp-sales", "") },
			wantErr: []error{ErrSelfApproval},
		},
		{
			name:  "rejected: the targets are free again",
			given: with(budget, changesProposed, ReallocationRejected{ID: "scenario-s1", By: "cfo", Reason: "no"}),
			when: func(p *Plan) error {
				return p.ProposeReallocation("r1", "revenue", fy27, proposal.Moves, "again", "vp")
			},
			then: []Event{ReallocationProposed{ID: "r1", Metric: "revenue", Span: fy27, Moves: proposal.Moves, Reason: "again", By: "vp"}},
		},
		{
			name:  "every problem at once",
			given: with(budget, proposal),
			when: func(p *Plan) error {
				return p.ProposeChanges("r1", "bad id!", []Change{
					{Node: emea, Metric: "revenue", Span: fy27, From: dp("600"), To: dp("-1")},     // pending, negative
					{Node: amer, Metric: "revenue", Span: fy27, From: dp("1"), To: dp("2")},        // pending, not 1
					{Node: apac, Metric: "revenue", Span: fy27},                                    // nothing to nothing
					{Node: total, Metric: "units", Span: fy27, To: dp("1")},                        // unknown metric
					{Node: total, Metric: "revenue", Span: fy27, From: dp("1000"), To: dp("1000")}, // unchanged
				}, "", "")
			},
			wantErr: []error{ErrReallocationExists, ErrInvalid, ErrReallocationPending, ErrNegative, ErrTargetChanged, ErrUnknownMetric, ErrReasonRequired, ErrActorRequired},
		},
		{
			name:    "no change",
			given:   budget,
			when:    func(p *Plan) error { return p.ProposeChanges("p", "s1", nil, "r", "vp") },
			wantErr: []error{ErrInvalid},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := given(tt.given...)
			err := tt.when(p)
			aggregatetest.Then(t, p, err, tt.then, tt.wantErr)
		})
	}
}

func TestChangesProposalView(t *testing.T) {
	p := given(with(budget, changesProposed)...)
	r, ok := p.Reallocation("scenario-s1")
	if !ok || r.Scenario != "s1" || r.Basis != 4 || len(r.Changes) != 3 || r.Status != StatusOpen || r.ProposedAt != 5 {
		t.Fatalf("Reallocation(scenario-s1) = %+v, %v; want the open proposal of scenario s1 made at version 4", r, ok)
	}
	if err := p.ProposeReallocation("r9", "revenue", fy27, proposal.Moves, "x", "vp"); !errors.Is(err, ErrReallocationPending) {
		t.Errorf("ProposeReallocation over a pending scenario proposal: error %v, want ErrReallocationPending", err)
	}
}

func TestReallocate(t *testing.T) {
	tests := []struct {
		name    string
		given   []Event
		when    func(p *Plan) error
		then    []Event
		wantErr []error
	}{
		{
			name:  "the moves are revisions at once, open proposals notwithstanding",
			given: with(budget, proposal),
			when:  func(p *Plan) error { return p.Reallocate("revenue", fy27, proposal.Moves, " what if ", "vp") },
			then: []Event{
				TargetRevised{Node: emea, Metric: "revenue", Span: fy27, From: d("600"), To: d("550"), Reason: "reallocation: what if", By: "vp"},
				TargetRevised{Node: amer, Metric: "revenue", Span: fy27, From: d("400"), To: d("450"), Reason: "reallocation: what if", By: "vp"},
			},
		},
		{
			name:  "the checks of a proposal",
			given: budget,
			when: func(p *Plan) error {
				return p.Reallocate("revenue", fy27, []Move{{Node: emea, Delta: d("-700")}, {Node: apac, Delta: d("600")}}, "", "vp")
			},
			wantErr: []error{ErrNegative, ErrNoTarget, ErrUnbalanced, ErrReasonRequired},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := given(tt.given...)
			err := tt.when(p)
			aggregatetest.Then(t, p, err, tt.then, tt.wantErr)
		})
	}
}
