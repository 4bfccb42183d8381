package alert

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/aggregatetest"
	"github.com/google/uuid"
)

var (
	t0   = time.Date(2027, 1, 5, 9, 0, 0, 0, time.UTC)
	emea = dimension.MustParseNode("region=emea")
	amer = dimension.MustParseNode("region=amer")
	r1   = RuleDefined{ID: "emea-fy", Plan: "fy27", Kind: ProbabilityBelow, Nodes: []dimension.Node{emea, amer}, Metric: "revenue",
		Year: 2027, Threshold: 0.5, Severity: Warning, Owners: []string{"vp-emea", "role:planner"}, By: "alice", At: t0}
	p10 = eventstore.Position{Commit: 10, Prepare: 10}
	p20 = eventstore.Position{Commit: 20, Prepare: 20}
	p30 = eventstore.Position{Commit: 30, Prepare: 30}
)

func f(v float64) *float64 { return &v }

func raised(id string, node dimension.Node, before *float64, after float64, pos eventstore.Position) Raised {
	return Raised{ID: id, Rule: r1.ID, Kind: r1.Kind, Severity: r1.Severity, Node: node, Metric: r1.Metric, Year: r1.Year,
		Threshold: r1.Threshold, Before: before, After: after, Position: pos, At: t0}
}

func obs(node dimension.Node, holds bool, after float64, pos eventstore.Position) Observation {
	return Observation{Rule: r1.ID, Node: node, Holds: holds, Before: f(0.62), After: after, Position: pos, At: t0}
}

func given(events ...Event) *Book {
	b := New()
	for _, e := range events {
		b.Apply(e)
	}
	return b
}

func TestCommands(t *testing.T) {
	a1 := raised("a1", emea, f(0.62), 0.31, p10)
	tests := []struct {
		name    string
		given   []Event
		when    func(b *Book) error
		then    []Event
		wantErr []error
	}{
		{name: "define", when: func(b *Book) error { return b.DefineRule(r1) }, then: []Event{r1}},
		{
			name: "define with every problem",
			when: func(b *Book) error {
				r := r1
				r.ID, r.Kind, r.Nodes, r.Year, r.Severity, r.Owners, r.By = "", "drop", nil, 27, "loud", []string{"role:boss", " x"}, ""
				return b.DefineRule(r)
			},
			wantErr: []error{ErrInvalid, ErrActorRequired},
		},
		{
			name: "probability threshold out of range",
			when: func(b *Book) error {
				r := r1
				r.Threshold = 50
				return b.DefineRule(r)
			},
			wantErr: []error{ErrInvalid},
		},
		{
			name: "a node twice",
			when: func(b *Book) error {
				r := r1
				r.Nodes = []dimension.Node{emea, emea}
				return b.DefineRule(r)
			},
			wantErr: []error{ErrInvalid},
		},
		{
			name: "define the newer kinds",
			when: func(b *Book) error {
				var errs []error
				for i, r := range []struct {
					kind Kind
					t    float64
				}{{ForecastMove, 5}, {ActualOutsideInterval, 95}, {CloseOverdue, 0}} {
					rule := r1
					rule.ID, rule.Kind, rule.Threshold = "r"+string(rune('1'+i)), r.kind, r.t
					errs = append(errs, b.DefineRule(rule))
				}
				return errors.Join(errs...)
			},
			then: []Event{
				RuleDefined{ID: "r1", Plan: r1.Plan, Kind: ForecastMove, Nodes: r1.Nodes, Metric: r1.Metric, Year: r1.Year, Threshold: 5, Severity: r1.Severity, Owners: r1.Owners, By: r1.By, At: t0},
				RuleDefined{ID: "r2", Plan: r1.Plan, Kind: ActualOutsideInterval, Nodes: r1.Nodes, Metric: r1.Metric, Year: r1.Year, Threshold: 95, Severity: r1.Severity, Owners: r1.Owners, By: r1.By, At: t0},
				RuleDefined{ID: "r3", Plan: r1.Plan, Kind: CloseOverdue, Nodes: r1.Nodes, Metric: r1.Metric, Year: r1.Year, Threshold: 0, Severity: r1.Severity, Owners: r1.Owners, By: r1.By, At: t0},
			},
		},
		{
			name:  "define for another plan",
			given: []Event{r1},
			when: func(b *Book) error {
				r := r1
				r.ID, r.Plan = "other", "fy28"
				return b.DefineRule(r)
			},
			wantErr: []error{ErrWrongPlan},
		},
		{name: "condition begins", given: []Event{r1}, when: func(b *Book) error { return b.Observe(obs(emea, true, 0.31, p10)) }, then: []Event{a1}},
		{name: "condition still holds: no duplicate", given: []Event{r1, a1}, when: func(b *Book) error { return b.Observe(obs(emea, true, 0.2, p20)) }},
		{name: "condition holds for another node", given: []Event{r1, a1}, when: func(b *Book) error { return b.Observe(obs(amer, true, 0.4, p20)) },
			then: []Event{raised("a2", amer, f(0.62), 0.4, p20)}},
		{name: "condition clears", given: []Event{r1, a1}, when: func(b *Book) error { return b.Observe(obs(emea, false, 0.7, p20)) },
			then: []Event{Resolved{ID: "a1", Value: f(0.7), Position: p20, Reason: "condition cleared", At: t0}}},
		{name: "replayed observation changes nothing", given: []Event{r1, a1}, when: func(b *Book) error { return b.Observe(obs(emea, false, 0.7, p10)) }},
		{name: "condition never held", given: []Event{r1}, when: func(b *Book) error { return b.Observe(obs(emea, false, 0.7, p10)) }},
		{name: "observe an unknown rule", when: func(b *Book) error { return b.Observe(obs(emea, true, 0.1, p10)) }, wantErr: []error{ErrUnknownRule}},
		{name: "observe an unwatched node", given: []Event{r1},
			when:    func(b *Book) error { return b.Observe(obs(dimension.MustParseNode("region=apac"), true, 0.1, p10)) },
			wantErr: []error{ErrNotWatched}},
		{name: "remove resolves open alerts", given: []Event{r1, a1}, when: func(b *Book) error { return b.RemoveRule(r1.ID, "alice", t0) },
			then: []Event{Resolved{ID: "a1", Reason: "rule removed by alice", At: t0}, RuleRemoved{ID: r1.ID, By: "alice", At: t0}}},
		{name: "remove twice", given: []Event{r1, RuleRemoved{ID: r1.ID, By: "alice"}}, when: func(b *Book) error { return b.RemoveRule(r1.ID, "alice", t0) },
			wantErr: []error{ErrUnknownRule}},
		{name: "acknowledge", given: []Event{r1, a1}, when: func(b *Book) error { return b.Acknowledge("a1", "vp-emea", " on it \n", t0) },
			then: []Event{Acknowledged{ID: "a1", By: "vp-emea", Comment: "on it", At: t0}}},
		{name: "acknowledge twice", given: []Event{r1, a1, Acknowledged{ID: "a1", By: "vp-emea", Comment: "x"}},
			when: func(b *Book) error { return b.Acknowledge("a1", "bob", "me too", t0) }, wantErr: []error{ErrAcknowledged}},
		{name: "acknowledge without comment", given: []Event{r1, a1},
			when: func(b *Book) error { return b.Acknowledge("a1", "", " ", t0) }, wantErr: []error{ErrCommentRequired, ErrActorRequired}},
		{name: "acknowledge an unknown alert", when: func(b *Book) error { return b.Acknowledge("a9", "x", "y", t0) }, wantErr: []error{ErrUnknownAlert}},
		{name: "first attempt fails", given: []Event{r1, a1},
			when: func(b *Book) error { return b.Fail("a1", ChangeRaised, 1, "503", false, t0.Add(time.Second), t0) },
			then: []Event{DeliveryFailed{ID: "a1", Change: "raised", Attempt: 1, Error: "503", Next: t0.Add(time.Second), At: t0}}},
		{name: "attempt out of order", given: []Event{r1, a1},
			when:    func(b *Book) error { return b.Deliver("a1", ChangeRaised, 2, t0) },
			wantErr: []error{ErrNoDelivery}},
		{name: "last attempt dead-letters", given: []Event{r1, a1, DeliveryFailed{ID: "a1", Change: "raised", Attempt: 1, Error: "503"}},
			when: func(b *Book) error { return b.Fail("a1", ChangeRaised, 2, "timeout", true, time.Time{}, t0) },
			then: []Event{DeadLettered{ID: "a1", Change: "raised", Attempts: 2, Error: "timeout", At: t0}}},
		{name: "acknowledged alerts are not delivered", given: []Event{r1, a1, Acknowledged{ID: "a1", By: "x", Comment: "y"}},
			when: func(b *Book) error { return b.Deliver("a1", ChangeRaised, 1, t0) }, wantErr: []error{ErrNoDelivery}},
		{name: "resolution of an open alert is not news", given: []Event{r1, a1},
			when: func(b *Book) error { return b.Deliver("a1", ChangeResolved, 1, t0) }, wantErr: []error{ErrNoDelivery}},
		{name: "a resolution waits for its raise", given: []Event{r1, a1, Resolved{ID: "a1", Position: p20}},
			when: func(b *Book) error { return b.Deliver("a1", ChangeResolved, 1, t0) }, wantErr: []error{ErrNoDelivery}},
		{name: "clear a dead letter for a retry", given: []Event{r1, a1, DeadLettered{ID: "a1", Change: "raised", Attempts: 3, Error: "x"}},
			when: func(b *Book) error { return b.ClearDeadLetter("a1", ChangeRaised, true, "root", t0) },
			then: []Event{DeadLetterCleared{ID: "a1", Change: "raised", Retry: true, By: "root", At: t0}}},
		{name: "claim a delivery", given: []Event{r1, a1},
			when: func(b *Book) error { return b.Claim("a1", ChangeRaised, 1, "replica-1", t0.Add(time.Minute), t0) },
			then: []Event{DeliveryClaimed{ID: "a1", Change: "raised", Attempt: 1, By: "replica-1", Until: t0.Add(time.Minute), At: t0}}},
		{name: "a delivery another replica claimed", given: []Event{r1, a1, DeliveryClaimed{ID: "a1", Change: "raised", Attempt: 1, By: "replica-1", Until: t0.Add(time.Minute)}},
			when: func(b *Book) error {
				return b.Claim("a1", ChangeRaised, 1, "replica-2", t0.Add(2*time.Minute), t0.Add(30*time.Second))
			},
			wantErr: []error{ErrClaimed}},
		{name: "a lapsed claim is taken over", given: []Event{r1, a1, DeliveryClaimed{ID: "a1", Change: "raised", Attempt: 1, By: "replica-1", Until: t0.Add(time.Minute)}},
			when: func(b *Book) error {
				return b.Claim("a1", ChangeRaised, 1, "replica-2", t0.Add(3*time.Minute), t0.Add(2*time.Minute))
			},
			then: []Event{DeliveryClaimed{ID: "a1", Change: "raised", Attempt: 1, By: "replica-2", Until: t0.Add(3 * time.Minute), At: t0.Add(2 * time.Minute)}}},
		{name: "claim what was delivered", given: []Event{r1, a1, Delivered{ID: "a1", Change: "raised", Attempt: 1}},
			when: func(b *Book) error { return b.Claim("a1", ChangeRaised, 2, "replica-2", t0.Add(time.Minute), t0) }, wantErr: []error{ErrNoDelivery}},
		{name: "claim without a replica or a future", given: []Event{r1, a1},
			when: func(b *Book) error { return b.Claim("a1", ChangeRaised, 1, " ", t0, t0) }, wantErr: []error{ErrActorRequired}},
		{name: "a failed attempt frees the next for any replica",
			given: []Event{r1, a1, DeliveryClaimed{ID: "a1", Change: "raised", Attempt: 1, By: "replica-1", Until: t0.Add(time.Minute)},
				DeliveryFailed{ID: "a1", Change: "raised", Attempt: 1, Error: "503", Next: t0}},
			when: func(b *Book) error { return b.Claim("a1", ChangeRaised, 2, "replica-2", t0.Add(time.Minute), t0) },
			then: []Event{DeliveryClaimed{ID: "a1", Change: "raised", Attempt: 2, By: "replica-2", Until: t0.Add(time.Minute), At: t0}}},
		{name: "clear what is not dead", given: []Event{r1, a1},
			when: func(b *Book) error { return b.ClearDeadLetter("a1", ChangeRaised, true, "root", t0) }, wantErr: []error{ErrNoDelivery}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := given(tt.given...)
			err := tt.when(b)
			aggregatetest.Then(t, b, err, tt.then, tt.wantErr)
		})
	}
}

func TestThresholds(t *testing.T) {
	tests := []struct {
		kind Kind
		t    float64
		ok   bool
	}{
		{ProbabilityBelow, 0.5, true}, {ProbabilityBelow, 1, false},
		{GapAbove, 0, true}, {GapAbove, -1, false},
		{GapShareAbove, 100, true}, {GapShareAbove, 0, false},
		{CommitDivergence, 2, true}, {CommitDivergence, 0, false},
		{ForecastMove, 5, true}, {ForecastMove, 0, false},
		{ActualOutsideInterval, 95, true}, {ActualOutsideInterval, 50, true}, {ActualOutsideInterval, 100, false}, {ActualOutsideInterval, 40, false},
		{CloseOverdue, 0, true}, {CloseOverdue, 10, true}, {CloseOverdue, -1, false},
	}
	for _, tt := range tests {
		r := r1
		r.Kind, r.Threshold = tt.kind, tt.t
		err := New().DefineRule(r)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("DefineRule(%s, threshold %v) = %v, want ok %v (else ErrInvalid)", tt.kind, tt.t, err, tt.ok)
		}
	}
}

func TestDeliveryLists(t *testing.T) {
	b := given(r1, raised("a1", emea, nil, 0.3, p10), raised("a2", amer, nil, 0.4, p20),
		Resolved{ID: "a1", Value: f(0.6), Position: p30}, Delivered{ID: "a1", Change: "raised", Attempt: 1},
		DeliveryFailed{ID: "a2", Change: "raised", Attempt: 1, Error: "x", Next: t0},
		DeadLettered{ID: "a2", Change: "raised", Attempts: 2, Error: "y"})
	var got []string
	for _, p := range b.Pending() {
		got = append(got, p.Alert.ID+":"+string(p.Change))
	}
	if want := []string{"a1:resolved"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Pending() = %v, want %v", got, want)
	}
	dead := b.DeadLetters()
	if len(dead) != 1 || dead[0].Alert.ID != "a2" || dead[0].Attempts != 2 || dead[0].LastError != "y" {
		t.Errorf("DeadLetters() = %+v, want a2 after 2 attempts", dead)
	}
	if as := b.Alerts(); len(as) != 2 || as[0].ID != "a2" || as[1].Open() {
		t.Errorf("Alerts() = %+v, want a2 then a1 resolved", as)
	}
}

func TestReplay(t *testing.T) {
	b := New()
	steps := []error{
		b.DefineRule(r1),
		b.Observe(obs(emea, true, 0.3, p10)),
		b.Observe(obs(emea, true, 0.2, p20)),
		b.Fail("a1", ChangeRaised, 1, "refused", false, t0.Add(time.Second), t0),
		b.Deliver("a1", ChangeRaised, 2, t0),
		b.Acknowledge("a1", "vp-emea", "seen", t0),
		b.Observe(obs(emea, false, 0.6, p30)),
		b.RemoveRule(r1.ID, "alice", t0),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
	back := given(b.Changes()...)
	b.changes = nil
	if !reflect.DeepEqual(back, b) {
		t.Errorf("replayed state\n%+v\nwant\n%+v", back, b)
	}
	// Observing the same positions again records nothing.
	rb := given(r1)
	for range 2 {
		if err := errors.Join(rb.Observe(obs(emea, true, 0.3, p10)), rb.Observe(obs(emea, false, 0.6, p30))); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(rb.Changes()); got != 2 {
		t.Errorf("observing twice recorded %d events, want 2", got)
	}
}

// TestEventsRoundTrip encodes one sample of every event through a registry
// and expects Decode to give it back unchanged.
func TestEventsRoundTrip(t *testing.T) {
	r := eventstore.NewRegistry()
	RegisterEvents(r)
	samples := []Event{r1, RuleRemoved{ID: "x", By: "a", At: t0}, raised("a1", emea, f(0.6), 0.3, p10),
		Resolved{ID: "a1", Value: f(0.7), Position: p20, Reason: "r", At: t0}, Acknowledged{ID: "a1", By: "b", Comment: "c", At: t0},
		DeliveryFailed{ID: "a1", Change: "raised", Attempt: 1, Error: "e", Next: t0, At: t0}, Delivered{ID: "a1", Change: "raised", Attempt: 2, At: t0},
		DeadLettered{ID: "a1", Change: "resolved", Attempts: 4, Error: "e", At: t0}, DeadLetterCleared{ID: "a1", Change: "resolved", Retry: true, By: "r", At: t0},
		DeliveryClaimed{ID: "a1", Change: "raised", Attempt: 1, By: "r1", Until: t0.Add(time.Minute), At: t0}}
	covered := map[string]bool{}
	for _, e := range samples {
		data, err := r.Encode(uuid.New(), e, eventstore.Metadata{})
		if err != nil {
			t.Fatalf("Encode(%T) error %v", e, err)
		}
		covered[data.Type] = true
		back, err := r.Decode(eventstore.RecordedEvent{Type: data.Type, SchemaVersion: data.SchemaVersion, Data: data.Data})
		if err != nil || !reflect.DeepEqual(back, e) {
			t.Errorf("Decode(Encode(%#v)) = %#v, %v", e, back, err)
		}
	}
	for _, name := range r.Names() {
		if !covered[name] {
			t.Errorf("registered event type %s has no sample here", name)
		}
	}
}

func TestPlanOf(t *testing.T) {
	if p, ok := PlanOf(Stream("fy27")); !ok || p != "fy27" {
		t.Errorf("PlanOf(Stream(fy27)) = %q, %v", p, ok)
	}
	for _, s := range []string{"plan-fy27", "alerts-", ""} {
		if p, ok := PlanOf(s); ok {
			t.Errorf("PlanOf(%q) = %q, true, want false", s, p)
		}
	}
}
