package forecast

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/concord-planning/concord/domain/eventstore/aggregatetest"

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

// pubDigest is the digest of pub()'s series: the SHA-256 of their encoding,
// each followed by a newline, as written out in TestDigest.
const pubDigest = "4d86fb4b4ddd2c450f453ab459c0f6e58aecff46a9171b352bae50130d291ff6"

// pubEvents are the events Publish(pub()) records: its two series fit in one
// part.
func pubEvents() []Event {
	p := pub()
	return []Event{
		PartPublished{RunID: p.RunID, Digest: pubDigest, Part: 1, Parts: 1, Series: p.Series},
		Sealed{RunID: p.RunID, Plan: p.Plan, Metric: p.Metric, DataPosition: p.DataPosition, Seed: p.Seed, Model: p.Model,
			Series: 2, Parts: 1, Digest: pubDigest},
	}
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
			then: pubEvents(),
		},
		{
			name: "publish without a request",
			when: func(r *Run) error { return r.Publish(pub()) },
			then: pubEvents(),
		},
		{
			name:    "publish twice",
			given:   append([]Event{req}, pubEvents()...),
			when:    func(r *Run) error { return r.Publish(pub()) },
			wantErr: []error{ErrAlreadyPublished},
		},
		{
			name:    "publish a run published in one event before runs had parts",
			given:   []Event{req, pub()},
			when:    func(r *Run) error { return r.Publish(pub()) },
			wantErr: []error{ErrAlreadyPublished},
		},
		{
			name:  "publish again a run whose publication stopped after a part",
			given: []Event{req, PartPublished{RunID: req.RunID, Digest: "0f", Part: 1, Parts: 2, Series: pub().Series[:1]}},
			when:  func(r *Run) error { return r.Publish(pub()) },
			then:  pubEvents(),
		},
		{
			name: "publish a series whose detail is not JSON",
			when: func(r *Run) error {
				p := pub()
				p.Series[1].Detail = json.RawMessage(`{"ets":`)
				return r.Publish(p)
			},
			wantErr: []error{ErrInvalid},
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
	t.Run("model", func(t *testing.T) {
		p := pub()
		p.Model = json.RawMessage(`"` + strings.Repeat("x", PartSize) + `"`)
		if err := New().Publish(p); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "model description") {
			t.Errorf("Publish of a %d-byte model error = %v, want ErrTooLarge naming the model description", len(p.Model), err)
		}
	})
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
	if err := r.Publish(p); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), `series 1, node "region=de"`) {
		t.Errorf("Publish of %d periods error = %v, want ErrTooLarge naming series 1", n, err)
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

func TestDigest(t *testing.T) {
	// printf '%s\n' "$de" "$fr" | sha256sum, with the two series of pub()
	// encoded as below.
	const de = `{"node":"region=de","first":"2027-04","mean":[100,110,120],"lo80":[90,95,99],"hi80":[110,125,141],"lo95":[85,88,88],"hi95":[115,132,152],"model":"ETS(A,A,N)"}`
	fr := strings.Replace(de, "region=de", "region=fr", 1)
	sum := sha256.Sum256([]byte(de + "\n" + fr + "\n"))
	want := hex.EncodeToString(sum[:])
	got, err := Digest(pub().Series)
	if err != nil || got != want {
		t.Fatalf("Digest(pub().Series) = %s, %v; want %s", got, err, want)
	}
	if got != pubDigest {
		t.Errorf("pubDigest = %s, want %s", pubDigest, got)
	}
}

// bigRun is a publication of cells series of months periods each, with a
// detail per series, as the reforecast process publishes.
func bigRun(cells, months int) Published {
	p := pub()
	p.Series = make([]Series, cells)
	for i := range p.Series {
		s := Series{Node: dimension.MustParseNode(fmt.Sprintf("region=r%d", i)), First: apr27, Model: "ETS(M,A,M)",
			Detail: json.RawMessage(`{"model":{"name":"ETS(M,A,M)","alpha":0.31234567891234,"beta":0.0123456789123,"gamma":0.1123456789123},"variance":12345.678901234567,"factor":[1.2345678901234567,-2.345678901234567,3.456789012345678,-4.567890123456789,5.678901234567891,-6.789012345678912,7.891234567891234,-8.912345678912345]}`)}
		for t := range months {
			m := 123456.78901234567 + float64(i*months+t)/7
			s.Mean = append(s.Mean, m)
			s.Lo80, s.Hi80 = append(s.Lo80, m*0.9), append(s.Hi80, m*1.1)
			s.Lo95, s.Hi95 = append(s.Lo95, m*0.8), append(s.Hi95, m*1.2)
		}
		p.Series[i] = s
	}
	return p
}

// TestPublishInParts publishes runs of the Realistic company's size (2,048
// cells, 18 months) and of 20,000 cells: every event, encoded as stored,
// stays under PartSize plus a little envelope, and replaying the events
// gives the run back whole, in order.
func TestPublishInParts(t *testing.T) {
	reg := eventstore.NewRegistry()
	RegisterEvents(reg)
	tests := []struct {
		cells, months int
		minParts      int
	}{
		{2, 3, 1},
		{2048, 18, 16},
		{20000, 18, 160},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d cells × %d months", tt.cells, tt.months), func(t *testing.T) {
			p := bigRun(tt.cells, tt.months)
			r := New()
			if err := r.Publish(p); err != nil {
				t.Fatal(err)
			}
			events := r.Changes()
			if len(events) < tt.minParts+1 {
				t.Errorf("Publish recorded %d events, want at least %d parts and a seal", len(events), tt.minParts)
			}
			back := New()
			for i, e := range events {
				data, err := reg.Encode(uuid.New(), e, eventstore.Metadata{})
				if err != nil {
					t.Fatal(err)
				}
				if len(data.Data) > PartSize+1024 {
					t.Errorf("event %d (%s) is %d bytes encoded, want at most %d", i+1, data.Type, len(data.Data), PartSize+1024)
				}
				v, err := reg.Decode(eventstore.RecordedEvent{Type: data.Type, SchemaVersion: data.SchemaVersion, Data: data.Data})
				if err != nil {
					t.Fatal(err)
				}
				if _, done := back.Published(); done {
					t.Fatalf("run published after %d of %d events", i, len(events))
				}
				back.Apply(v.(Event))
			}
			got, ok := back.Published()
			if !ok || !reflect.DeepEqual(got, p) {
				t.Errorf("replayed publication (published %v, %d series) differs from the published one (%d series)", ok, len(got.Series), len(p.Series))
			}
		})
	}
}

// TestApplyNeedsEveryPart checks that only a complete, unbroken set of
// parts is published by its seal.
func TestApplyNeedsEveryPart(t *testing.T) {
	r := New()
	if err := r.Publish(bigRun(300, 18)); err != nil {
		t.Fatal(err)
	}
	events := r.Changes()
	if len(events) < 4 {
		t.Fatalf("want a run of at least 3 parts, got %d events", len(events))
	}
	seal := events[len(events)-1].(Sealed)
	parts := events[:len(events)-1]
	other := seal
	other.Digest = "00"
	tests := []struct {
		name string
		give []Event
		want bool
	}{
		{"all parts", events, true},
		{"a part missing", append(slices.Clone(parts[:1]), append(slices.Clone(parts[2:]), seal)...), false},
		{"a part twice", append(slices.Clone(parts[:2]), append(slices.Clone(parts[1:]), seal)...), false},
		{"a seal of another digest", append(slices.Clone(parts), other), false},
		{"no seal", parts, false},
		{"an interrupted publication, then a whole one", append(slices.Clone(parts[:2]), events...), true},
		{"a seal without parts", []Event{seal}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := given(tt.give...).Published(); ok != tt.want {
				t.Errorf("Published() after %d events = %v, want %v", len(tt.give), ok, tt.want)
			}
		})
	}
}

// TestPublishBoundsTheModel: a model description nested 5,000 levels deep
// (issue 14: stored, and the history became unparseable for jq and
// Python) is refused; strings that look like nesting are not counted.
func TestPublishBoundsTheModel(t *testing.T) {
	for _, c := range []struct {
		name  string
		model string
		ok    bool
	}{
		{"flat", `{"selection":"aicc"}`, true},
		{"at the depth limit", strings.Repeat("[", MaxModelDepth) + strings.Repeat("]", MaxModelDepth), true},
		{"brackets inside strings", `{"note":"[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{{\"[[["}`, true},
		{"one level too deep", strings.Repeat("[", MaxModelDepth+1) + strings.Repeat("]", MaxModelDepth+1), false},
		{"5,000 levels", strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000), false},
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
