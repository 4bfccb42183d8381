package commit

import (
	"errors"
	"github.com/concord-planning/concord/domain/eventstore/aggregatetest"
	"reflect"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
)

var (
	cal  = fiscal.MustCalendar(time.April)
	q4   = cal.FiscalQuarter(2027, 4)
	emea = dimension.MustParseNode("region=emea")
	c1   = Submitted{ID: "c1", Plan: "fy27", Node: emea, Metric: "revenue", Span: q4, Amount: decimal.MustParse("250000"),
		Confidence: ConfidenceCommit, Comment: "two large deals signed", By: "vp-emea"}
)

// another returns c1 with a new id, amount and confidence.
func another(id, amount string, c Confidence) Submitted {
	s := c1
	s.ID, s.Amount, s.Confidence = id, decimal.MustParse(amount), c
	return s
}

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
			name: "submit",
			when: func(b *Book) error {
				s := c1
				s.Comment = "  two large deals signed\n"
				return b.Submit(s)
			},
			then: []Event{c1},
		},
		{
			name:  "submit a best case beside the commit",
			given: []Event{c1},
			when:  func(b *Book) error { return b.Submit(another("c2", "300000", ConfidenceBestCase)) },
			then:  []Event{another("c2", "300000", ConfidenceBestCase)},
		},
		{
			name:    "submit with a used id",
			given:   []Event{c1},
			when:    func(b *Book) error { return b.Submit(another("c1", "1", ConfidenceCommit)) },
			wantErr: []error{ErrDuplicate},
		},
		{
			name:  "submit for another plan",
			given: []Event{c1},
			when: func(b *Book) error {
				s := another("c2", "1", ConfidenceCommit)
				s.Plan = "fy28"
				return b.Submit(s)
			},
			wantErr: []error{ErrWrongPlan},
		},
		{
			name:    "submit with an unknown confidence",
			when:    func(b *Book) error { return b.Submit(another("c2", "1", "likely")) },
			wantErr: []error{ErrInvalid},
		},
		{
			name: "submit over a range",
			when: func(b *Book) error {
				s := c1
				s.Span = fiscal.Span{First: q4.First, Last: q4.Last.Add(1), Kind: fiscal.KindRange}
				return b.Submit(s)
			},
			wantErr: []error{ErrInvalid},
		},
		{
			name: "submit without comment and actor",
			when: func(b *Book) error {
				s := c1
				s.Comment, s.By = " ", ""
				return b.Submit(s)
			},
			wantErr: []error{ErrCommentRequired, ErrActorRequired},
		},
		{
			name:  "withdraw",
			given: []Event{c1},
			when:  func(b *Book) error { return b.Withdraw("c1", "vp-emea", "deal slipped") },
			then:  []Event{Withdrawn{ID: "c1", By: "vp-emea", Reason: "deal slipped"}},
		},
		{
			name:    "withdraw a superseded commit",
			given:   []Event{c1, another("c2", "200000", ConfidenceCommit)},
			when:    func(b *Book) error { return b.Withdraw("c1", "vp-emea", "x") },
			wantErr: []error{ErrNotCurrent},
		},
		{
			name:    "withdraw twice",
			given:   []Event{c1, Withdrawn{ID: "c1", By: "vp-emea", Reason: "x"}},
			when:    func(b *Book) error { return b.Withdraw("c1", "vp-emea", "x") },
			wantErr: []error{ErrNotCurrent},
		},
		{
			name:    "withdraw an unknown commit",
			when:    func(b *Book) error { return b.Withdraw("c9", "vp-emea", "x") },
			wantErr: []error{ErrUnknown},
		},
		{
			name:    "withdraw without reason",
			given:   []Event{c1},
			when:    func(b *Book) error { return b.Withdraw("c1", "vp-emea", "") },
			wantErr: []error{ErrReasonRequired},
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

func TestCurrent(t *testing.T) {
	b := given(c1, another("c2", "200000", ConfidenceCommit), another("c3", "300000", ConfidenceBestCase),
		Withdrawn{ID: "c3", By: "vp-emea", Reason: "x"})
	cur, ok := b.Current(emea, "revenue", q4, ConfidenceCommit)
	if !ok || cur.ID != "c2" {
		t.Errorf("Current(commit) = %q, %v, want c2", cur.ID, ok)
	}
	if cur, ok := b.Current(emea, "revenue", q4, ConfidenceBestCase); ok {
		t.Errorf("Current(best case) = %q, want none after withdrawal", cur.ID)
	}
	first, _ := b.Entry("c1")
	if first.Current || first.SupersededBy != "c2" {
		t.Errorf("Entry(c1) = %+v, want superseded by c2", first)
	}
	if e, _ := b.Entry("c3"); e.Current || e.WithdrawnBy != "vp-emea" {
		t.Errorf("Entry(c3) = %+v, want withdrawn", e)
	}
	if got := len(b.Entries()); got != 3 || b.Plan() != "fy27" {
		t.Errorf("len(Entries()), Plan() = %d, %q", got, b.Plan())
	}
}

func TestReplay(t *testing.T) {
	b := New()
	steps := []error{
		b.Submit(c1),
		b.Submit(another("c2", "260000", ConfidenceCommit)),
		b.Submit(another("c3", "300000", ConfidenceBestCase)),
		b.Withdraw("c3", "vp-emea", "customer lost"),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
	back := given(b.Changes()...)
	b.changes = nil
	if !reflect.DeepEqual(back, b) {
		t.Errorf("replayed state\n%+v\nwant\n%+v", back, b)
	}
}

// TestClone: a clone equals the book replayed from the same events, and
// commands on the clone (which change entries in place) leave the original
// as it was.
func TestClone(t *testing.T) {
	history := []Event{c1, another("c3", "300000", ConfidenceBestCase)}
	b := given(history...)
	c := b.Clone()
	if !reflect.DeepEqual(c, b) {
		t.Fatalf("clone\n%+v\nwant\n%+v", c, b)
	}
	steps := []error{
		c.Submit(another("c2", "260000", ConfidenceCommit)),
		c.Withdraw("c3", "vp-emea", "customer lost"),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
	if want := given(history...); !reflect.DeepEqual(b, want) {
		t.Errorf("original after commands on its clone\n%+v\nwant it unchanged\n%+v", b, want)
	}
	back := given(append(history, c.Changes()...)...)
	back.changes = c.Changes()
	if !reflect.DeepEqual(c, back) {
		t.Errorf("clone after commands\n%+v\nwant the replay of its events\n%+v", c, back)
	}
}
