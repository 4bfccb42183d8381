package forecast

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
)

// Sentinel errors of the Run commands, returned wrapped and joined when a
// command finds several problems. Check them with errors.Is.
var (
	// ErrInvalid is returned for a bad run, plan or metric id, period, data
	// position or model description.
	ErrInvalid = errors.New("forecast: invalid argument")
	// ErrReasonRequired is returned by Request without a reason.
	ErrReasonRequired = errors.New("forecast: a reason is required")
	// ErrAlreadyRequested is returned by Request on a run that exists.
	ErrAlreadyRequested = errors.New("forecast: run already requested")
	// ErrAlreadyPublished is returned by Publish on a run already published.
	ErrAlreadyPublished = errors.New("forecast: run already published")
	// ErrMismatch is returned by Publish when the run, plan or metric
	// differ from the run's request.
	ErrMismatch = errors.New("forecast: publication does not match the request")
	// ErrInvalidSeries is returned for a series with no values, unequal
	// lengths, a value that is NaN or infinite, intervals not nested, or
	// a node that appears twice.
	ErrInvalidSeries = errors.New("forecast: invalid series")
	// ErrTooLarge is returned when the publication would not fit in one
	// stored event (eventstore.MaxEventSize).
	ErrTooLarge = errors.New("forecast: publication too large for one event")
)

// Stream returns the name of the event stream of run runID.
func Stream(runID string) string { return "forecast-" + runID }

// Run is the aggregate of one forecast run. Its zero value is ready to use,
// but use New for symmetry with the other aggregates.
type Run struct {
	requested *Requested
	published *Published
	changes   []Event
}

var _ eventstore.Aggregate[Event] = (*Run)(nil)

// New returns an empty run, to replay events into or to request.
func New() *Run { return &Run{} }

// Apply changes the run's state by one event. It never validates and never
// fails: events are facts.
func (r *Run) Apply(e Event) {
	switch e := e.(type) {
	case Requested:
		r.requested = &e
	case Published:
		r.published = &e
	}
}

// Changes returns the events recorded by commands since the run was
// created or loaded.
func (r *Run) Changes() []Event { return r.changes }

func (r *Run) record(e Event) {
	r.Apply(e)
	r.changes = append(r.changes, e)
}

func checkID(what, id string) error {
	if !dimension.ValidID(id) {
		return fmt.Errorf("%w: %s %q must be 1 to %d letters, digits, '_', '.' or '-', starting with a letter or digit", ErrInvalid, what, id, dimension.MaxIDLen)
	}
	return nil
}

// Request records that run runID is to forecast metric of plan with data up
// to period, for reason. It returns ErrAlreadyRequested on a run that was
// requested or published, or every problem at once: ErrInvalid (ids,
// period) and ErrReasonRequired.
func (r *Run) Request(runID, plan, metric, reason string, period fiscal.Period) error {
	if r.requested != nil || r.published != nil {
		return fmt.Errorf("%w: %q", ErrAlreadyRequested, runID)
	}
	errs := []error{checkID("run id", runID), checkID("plan id", plan), checkID("metric", metric)}
	if !period.Valid() {
		errs = append(errs, fmt.Errorf("%w: period %v", ErrInvalid, period))
	}
	if strings.TrimSpace(reason) == "" {
		errs = append(errs, ErrReasonRequired)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	r.record(Requested{RunID: runID, Plan: plan, Metric: metric, Reason: strings.TrimSpace(reason), Period: period})
	return nil
}

// Bounds of a published model description: it describes the models (per
// series their parameters, and the error covariance the probabilities
// come from), in at most half an event, and nests no deeper than tools
// that read the history (jq, Python's json) follow.
const (
	MaxModelBytes = eventstore.MaxEventSize / 2 // compacted
	MaxModelDepth = 16                          // nested objects and arrays
)

// checkModel refuses a compacted model description beyond MaxModelBytes
// or nested deeper than MaxModelDepth (ErrInvalid).
func checkModel(b []byte) error {
	if len(b) > MaxModelBytes {
		return fmt.Errorf("%w: model description of %d bytes, at most %d", ErrInvalid, len(b), MaxModelBytes)
	}
	depth, inString, escaped := 0, false, false
	for _, c := range b {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			if depth++; depth > MaxModelDepth {
				return fmt.Errorf("%w: model description nested deeper than %d levels", ErrInvalid, MaxModelDepth)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// Publish records forecast p, its model description compacted. It returns
// ErrAlreadyPublished, or every problem at once: ErrMismatch (run, plan or
// metric differ from the request), ErrInvalid (ids, a data position that
// is not eventstore.Position text, a model description that is not a JSON
// value or is beyond MaxModelBytes or MaxModelDepth), ErrInvalidSeries (see its doc; per series and field, the first
// bad value), ErrTooLarge.
func (r *Run) Publish(p Published) error {
	if r.published != nil {
		return fmt.Errorf("%w: %q at data position %s", ErrAlreadyPublished, r.published.RunID, r.published.DataPosition)
	}
	errs := []error{checkID("run id", p.RunID), checkID("plan id", p.Plan), checkID("metric", p.Metric)}
	if q := r.requested; q != nil && (q.RunID != p.RunID || q.Plan != p.Plan || q.Metric != p.Metric) {
		errs = append(errs, fmt.Errorf("%w: requested run %q of plan %q, metric %q; got run %q of plan %q, metric %q",
			ErrMismatch, q.RunID, q.Plan, q.Metric, p.RunID, p.Plan, p.Metric))
	}
	if _, err := eventstore.ParsePosition(p.DataPosition); err != nil {
		errs = append(errs, fmt.Errorf("%w: data position: %v", ErrInvalid, err))
	}
	var model bytes.Buffer
	if err := json.Compact(&model, p.Model); err != nil || model.Len() == 0 {
		errs = append(errs, fmt.Errorf("%w: model description is not a JSON value", ErrInvalid))
	} else if err := checkModel(model.Bytes()); err != nil {
		errs = append(errs, err)
	}
	if len(p.Series) == 0 {
		errs = append(errs, fmt.Errorf("%w: a publication holds at least one series", ErrInvalidSeries))
	}
	seen := map[dimension.Node]int{}
	for i, s := range p.Series {
		if j, dup := seen[s.Node]; dup {
			errs = append(errs, fmt.Errorf("%w: series %d, node %q: same node as series %d", ErrInvalidSeries, i+1, s.Node, j+1))
		}
		seen[s.Node] = i
		errs = append(errs, checkSeries(i, s)...)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	p.Model = json.RawMessage(model.Bytes())
	p.Series = cloneSeries(p.Series)
	if b, err := json.Marshal(p); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	} else if len(b) > eventstore.MaxEventSize {
		return fmt.Errorf("%w: %d bytes encoded, at most %d; publish fewer series per run", ErrTooLarge, len(b), eventstore.MaxEventSize)
	}
	r.record(p)
	return nil
}

// checkSeries returns the problems of series i.
func checkSeries(i int, s Series) []error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: series %d, node %q: "+format, append([]any{ErrInvalidSeries, i + 1, s.Node}, args...)...)
	}
	n := len(s.Mean)
	if n == 0 {
		return []error{bad("no values")}
	}
	if !s.First.Valid() || !s.First.Add(n-1).Valid() {
		return []error{bad("periods from %v for %d months are out of range", s.First, n)}
	}
	var errs []error
	fields := []struct {
		name string
		v    []float64
	}{{"mean", s.Mean}, {"lo80", s.Lo80}, {"hi80", s.Hi80}, {"lo95", s.Lo95}, {"hi95", s.Hi95}}
	for _, f := range fields {
		if len(f.v) != n {
			errs = append(errs, bad("%s has %d values, mean has %d", f.name, len(f.v), n))
			continue
		}
		for t, x := range f.v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				errs = append(errs, bad("%s[%d] (%v) is %v", f.name, t, s.First.Add(t), x))
				break
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	for t := range n {
		if !(s.Lo95[t] <= s.Lo80[t] && s.Lo80[t] <= s.Hi80[t] && s.Hi80[t] <= s.Hi95[t]) {
			errs = append(errs, bad("intervals at %v are not nested: lo95 %v, lo80 %v, hi80 %v, hi95 %v",
				s.First.Add(t), s.Lo95[t], s.Lo80[t], s.Hi80[t], s.Hi95[t]))
			break
		}
	}
	return errs
}

func cloneSeries(in []Series) []Series {
	out := slices.Clone(in)
	for i := range out {
		s := &out[i]
		s.Mean, s.Lo80, s.Hi80 = slices.Clone(s.Mean), slices.Clone(s.Lo80), slices.Clone(s.Hi80)
		s.Lo95, s.Hi95 = slices.Clone(s.Lo95), slices.Clone(s.Hi95)
	}
	return out
}

// Requested returns the run's request and whether it was requested.
func (r *Run) Requested() (Requested, bool) {
	if r.requested == nil {
		return Requested{}, false
	}
	return *r.requested, true
}

// Published returns the run's publication and whether it was published.
// The slices are the run's own: do not modify them.
func (r *Run) Published() (Published, bool) {
	if r.published == nil {
		return Published{}, false
	}
	return *r.published, true
}
