package forecast

import (
	"encoding/json"
	"errors"
	"github.com/concord-planning/concord/domain/eventstore/aggregatetest"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
)

var (
	mar27 = fiscal.NewPeriod(2027, time.March)
	apr27 = fiscal.NewPeriod(2027, time.April)
	req   = Requested{RunID: "fy27-revenue-2027-03", Plan: "fy27", Metric: "revenue", Reason: "period 2027-03 closed", Period: mar27}
)

func series(node string) Series {
	return Series{
		Node: dimension.MustParseNode(node), First: apr27,
		Mean: []float64{100, 110, 120}, Lo80: []float64{90, 95, 99}, Hi80: []float64{110, 125, 141},
		Lo95: []float64{85, 88, 88}, Hi95: []float64{115, 132, 152}, Model: "ETS(A,A,N)",
	}
}

func pub() Published {
	return Published{RunID: req.RunID, Plan: "fy27", Metric: "revenue", DataPosition: "1842", Seed: 1<<63 + 7,
		Model:  json.RawMessage(`{"selection":"aicc","candidates":["ets","theta"]}`),
		Series: []Series{series("region=de"), series("region=fr")}}
}

func given(events ...Event) *Run {
	r := New()
	for _, e := range events {
		r.Apply(e)
	}
	return r
}

func TestCommands(t *testing.T) {
	tests := []struct {
		name    string
		given   []Event
		when    func(r *Run) error
		then    []Event
		wantErr []error
	}{
		{
			name: "request",
			when: func(r *Run) error { return r.Request(req.RunID, "fy27", "revenue", " period 2027-03 closed ", mar27) },
			then: []Event{req},
		},
		{
			name:    "request twice",
			given:   []Event{req},
			when:    func(r *Run) error { return r.Request(req.RunID, "fy27", "revenue", "again", mar27) },
			wantErr: []error{ErrAlreadyRequested},
		},
		{
			name:    "request with bad ids, no period and no reason",
			when:    func(r *Run) error { return r.Request("run 1", "", "revenue", "", 0) },
			wantErr: []error{ErrInvalid, ErrReasonRequired},
		},
		{
			name:  "publish a requested run",
			given: []Event{req},
			when: func(r *Run) error {
				p := pub()
				p.Model = json.RawMessage("{\n  \"selection\": \"aicc\",\n  \"candidates\": [\"ets\", \"theta\"]\n}")
				return r.Publish(p)
			},
			then: []Event{pub()},
		},
		{
			name: "publish without a request",
			when: func(r *Run) error { return r.Publish(pub()) },
			then: []Event{pub()},
		},
		{
			name:    "publish twice",
			given:   []Event{req, pub()},
			when:    func(r *Run) error { return r.Publish(pub()) },
			wantErr: []error{ErrAlreadyPublished},
		},
		{
			name:  "publish for another metric than requested",
			given: []Event{req},
			when: func(r *Run) error {
				p := pub()
				p.Metric = "margin"
				return r.Publish(p)
			},
			wantErr: []error{ErrMismatch},
		},
		{
			name: "publish with a bad data position and model",
			when: func(r *Run) error {
				p := pub()
				p.DataPosition, p.Model = "latest", json.RawMessage(`{"selection":`)
				return r.Publish(p)
			},
			wantErr: []error{ErrInvalid},
		},
		{
			name: "publish no series",
			when: func(r *Run) error {
				p := pub()
				p.Series = nil
				return r.Publish(p)
			},
			wantErr: []error{ErrInvalidSeries},
		},
		{
			name: "publish a node twice",
			when: func(r *Run) error {
				p := pub()
				p.Series[1].Node = p.Series[0].Node
				return r.Publish(p)
			},
			wantErr: []error{ErrInvalidSeries},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := given(tt.given...)
			err := tt.when(r)
			aggregatetest.Then(t, r, err, tt.then, tt.wantErr)
		})
	}
}

func TestPublishChecksSeries(t *testing.T) {
	tests := []struct {
		name   string
		change func(s *Series)
		want   string // what the error must say
	}{
		{"empty", func(s *Series) { *s = Series{Node: s.Node, First: s.First} }, "no values"},
		{"short interval", func(s *Series) { s.Hi95 = s.Hi95[:2] }, "hi95 has 2 values, mean has 3"},
		{"NaN", func(s *Series) { s.Mean[1] = math.NaN() }, "mean[1] (2027-05) is NaN"},
		{"infinity", func(s *Series) { s.Lo95[2] = math.Inf(-1) }, "lo95[2] (2027-06) is -Inf"},
		{"not nested", func(s *Series) { s.Lo80[0] = 80 }, "intervals at 2027-04 are not nested"},
		{"crossed", func(s *Series) { s.Lo80[2], s.Hi80[2] = 141, 99 }, "intervals at 2027-06 are not nested"},
		{"out of range", func(s *Series) { s.First = fiscal.NewPeriod(9999, time.November) }, "periods from 9999-11 for 3 months are out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pub()
			tt.change(&p.Series[1])
			err := New().Publish(p)
			if !errors.Is(err, ErrInvalidSeries) || !strings.Contains(err.Error(), `series 2, node "region=fr": `+tt.want) {
				t.Errorf("Publish error = %v, want ErrInvalidSeries saying %q", err, tt.want)
			}
		})
	}
}

func TestPublishTooLarge(t *testing.T) {
	p := pub()
	s := series("region=de")
	n := eventstore.MaxEventSize / 16 // five values of at least 4 bytes each per period
	s.Mean, s.Lo80, s.Hi80, s.Lo95, s.Hi95 = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range n {
		s.Mean[i], s.Lo80[i], s.Hi80[i], s.Lo95[i], s.Hi95[i] = 1.5, 1.25, 1.75, 1.125, 1.875
	}
	s.First = fiscal.NewPeriod(2000, time.January)
	p.Series = []Series{s}
	r := New()
	if err := r.Publish(p); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Publish of %d periods error = %v, want ErrTooLarge", n, err)
	}
	if len(r.Changes()) != 0 {
		t.Errorf("a rejected publication recorded %d events", len(r.Changes()))
	}
}

func TestSeriesSpan(t *testing.T) {
	s := series("region=de")
	if sp := s.Span(); sp.First != apr27 || sp.Last != apr27.Add(2) || sp.Kind != fiscal.KindRange || s.Len() != 3 {
		t.Errorf("Span() = %+v, Len() = %d", sp, s.Len())
	}
	s.Mean = s.Mean[:1]
	if sp := s.Span(); sp != fiscal.Month(apr27) {
		t.Errorf("Span() of one period = %+v", sp)
	}
}

func TestReplay(t *testing.T) {
	r := New()
	if err := errors.Join(r.Request(req.RunID, req.Plan, req.Metric, req.Reason, req.Period), r.Publish(pub())); err != nil {
		t.Fatal(err)
	}
	back := given(r.Changes()...)
	r.changes = nil
	if !reflect.DeepEqual(back, r) {
		t.Errorf("replayed state\n%+v\nwant\n%+v", back, r)
	}
	if p, ok := back.Published(); !ok || p.Seed != pub().Seed || len(p.Series) != 2 {
		t.Errorf("Published() = %+v, %v", p, ok)
	}
	if q, ok := back.Requested(); !ok || q != req {
		t.Errorf("Requested() = %+v, %v", q, ok)
	}
}

// TestPublishBoundsTheModel: a model description nested 5,000 levels deep
// (issue 14: stored, and the history became unparseable for jq and
// Python) or larger than MaxModelBytes is refused; strings that look like
// nesting are not counted.
func TestPublishBoundsTheModel(t *testing.T) {
	for _, c := range []struct {
		name  string
		model string
		ok    bool
	}{
		{"flat", `{"selection":"aicc"}`, true},
		{"at the depth limit", strings.Repeat("[", MaxModelDepth) + strings.Repeat("]", MaxModelDepth), true},
		{"brackets inside strings", `{"note":"[[[[[[[[[[[[{{{{{{{{\"[[["}`, true},
		{"one level too deep", strings.Repeat("[", MaxModelDepth+1) + strings.Repeat("]", MaxModelDepth+1), false},
		{"5,000 levels", strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000), false},
		{"too large", `{"x":"` + strings.Repeat("y", MaxModelBytes) + `"}`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := pub()
			p.Model = json.RawMessage(c.model)
			err := New().Publish(p)
			if c.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Errorf("Publish(model %.40s…) = %v, want ok %v (else ErrInvalid)", c.model, err, c.ok)
			}
		})
	}
}
