package scenario

import (
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/aggregatetest"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/plan"
)

var (
	fy27    = fiscal.MustCalendar(time.April).FiscalYear(2027)
	emea    = dimension.MustParseNode("region=emea")
	base    = eventstore.Position{Commit: 40, Prepare: 40}
	opened  = Opened{Plan: "fy27", ID: "s1", Name: "APAC slips", Base: base, BaseVersion: 7, BookVersion: 2, From: "tag:Budget", By: "vp"}
	revised = plan.TargetRevised{Node: emea, Metric: "revenue", Span: fy27, From: decimal.MustParse("600"), To: decimal.MustParse("550"), Reason: "what if", By: "vp"}
	submit  = commit.Submitted{ID: "c1", Plan: "fy27", Node: emea, Metric: "revenue", Span: fy27, Amount: decimal.MustParse("500"), Confidence: commit.ConfidenceCommit, Comment: "deals", By: "vp"}
)

func given(events ...Event) *Book {
	b := New()
	for _, e := range events {
		b.Apply(e)
	}
	return b
}

func TestCommands(t *testing.T) {
	tests := []struct {
		name    string
		given   []Event
		when    func(b *Book) error
		then    []Event
		wantErr []error
	}{
		{
			name: "open",
			when: func(b *Book) error {
				o := opened
				o.Name = "  APAC slips "
				return b.Open(o)
			},
			then: []Event{opened},
		},
		{
			name:  "open: every problem at once",
			given: []Event{opened},
			when: func(b *Book) error {
				return b.Open(Opened{Plan: "fy28", ID: "s1", Name: " ", BaseVersion: 0})
			},
			wantErr: []error{ErrWrongPlan, ErrExists, ErrInvalid, ErrActorRequired},
		},
		{
			name:  "record a plan's and a book's events in the scenario",
			given: []Event{opened},
			when:  func(b *Book) error { return b.Record("s1", []any{revised, submit}) },
			then:  []Event{TargetRevised{Scenario: "s1", TargetRevised: revised}, CommitSubmitted{Scenario: "s1", Submitted: submit}},
		},
		{
			name:  "a scenario holds no other event",
			given: []Event{opened},
			when: func(b *Book) error {
				return b.Record("s1", []any{revised, plan.VersionTagged{Tag: "x", Version: 3, By: "vp"}})
			},
			wantErr: []error{ErrInvalid},
		},
		{
			name:    "unknown scenario",
			given:   []Event{opened},
			when:    func(b *Book) error { return b.Record("s2", []any{revised}) },
			wantErr: []error{ErrUnknown},
		},
		{
			name:    "a discarded scenario takes no change",
			given:   []Event{opened, Discarded{ID: "s1", Reason: "no", By: "vp"}},
			when:    func(b *Book) error { return b.Record("s1", []any{revised}) },
			wantErr: []error{ErrClosed},
		},
		{
			name:  "discard",
			given: []Event{opened},
			when:  func(b *Book) error { return b.Discard("s1", " not needed ", "cfo") },
			then:  []Event{Discarded{ID: "s1", Reason: "not needed", By: "cfo"}},
		},
		{
			name:    "discard needs a reason",
			given:   []Event{opened},
			when:    func(b *Book) error { return b.Discard("s1", "", "cfo") },
			wantErr: []error{ErrReasonRequired},
		},
		{
			name:  "promote",
			given: []Event{opened, TargetRevised{Scenario: "s1", TargetRevised: revised}},
			when:  func(b *Book) error { return b.Promote("s1", "scenario-s1", 9, "vp") },
			then:  []Event{Promoted{ID: "s1", Proposal: "scenario-s1", PlanVersion: 9, By: "vp"}},
		},
		{
			name:    "a scenario without target changes has nothing to promote",
			given:   []Event{opened, CommitSubmitted{Scenario: "s1", Submitted: submit}},
			when:    func(b *Book) error { return b.Promote("s1", "scenario-s1", 9, "vp") },
			wantErr: []error{ErrInvalid},
		},
		{
			name:    "a promoted scenario is closed",
			given:   []Event{opened, TargetRevised{Scenario: "s1", TargetRevised: revised}, Promoted{ID: "s1", Proposal: "p", PlanVersion: 9, By: "vp"}},
			when:    func(b *Book) error { return b.Discard("s1", "r", "vp") },
			wantErr: []error{ErrClosed},
		},
		{
			name:  "rebase forward",
			given: []Event{opened},
			when: func(b *Book) error {
				return b.Rebase("s1", eventstore.Position{Commit: 90, Prepare: 90}, 12, 3, "vp")
			},
			then: []Event{Rebased{ID: "s1", From: base, Base: eventstore.Position{Commit: 90, Prepare: 90}, BaseVersion: 12, BookVersion: 3, By: "vp"}},
		},
		{
			name:    "rebase backward",
			given:   []Event{opened},
			when:    func(b *Book) error { return b.Rebase("s1", eventstore.Position{Commit: 9, Prepare: 9}, 2, 0, "vp") },
			wantErr: []error{ErrInvalid},
		},
		{
			name:  "rebase to the same base records nothing",
			given: []Event{opened},
			when:  func(b *Book) error { return b.Rebase("s1", base, 7, 2, "vp") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := given(tt.given...)
			err := tt.when(b)
			aggregatetest.Then(t, b, err, tt.then, tt.wantErr)
		})
	}
}

func TestReplayAsThePlan(t *testing.T) {
	b := given(opened, TargetRevised{Scenario: "s1", TargetRevised: revised}, CommitSubmitted{Scenario: "s1", Submitted: submit},
		Opened{Plan: "fy27", ID: "s2", Name: "Empty", Base: base, BaseVersion: 7, By: "cfo"})
	if got := b.PlanEvents("s1"); len(got) != 1 || got[0] != plan.Event(revised) {
		t.Errorf("PlanEvents(s1) = %#v, want [%#v]", got, revised)
	}
	if got := b.CommitEvents("s1"); len(got) != 1 {
		t.Errorf("CommitEvents(s1) = %#v, want the submission", got)
	}
	if got := b.PlanEvents("s2"); len(got) != 0 {
		t.Errorf("PlanEvents(s2) = %#v, want none", got)
	}
	list := b.Scenarios()
	if len(list) != 2 || list[0].ID != "s1" || list[0].Changes != 2 || list[1].ID != "s2" || list[1].Status != StatusOpen {
		t.Errorf("Scenarios() = %+v, want s1 with 2 changes, then s2 open", list)
	}
}
