package forecast

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
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
	// ErrTooLarge is returned when a run's model description, or one of its
	// series, does not fit in one part (PartSize).
	ErrTooLarge = errors.New("forecast: too large for one part of a publication")
)

// Stream returns the name of the event stream of run runID.
func Stream(runID string) string { return "forecast-" + runID }

// Sizes of a publication's events.
const (
	// PartSize bounds the encoded series of one PartPublished, and the
	// run's encoded model description: a quarter of
	// eventstore.MaxEventSize, so every event of a run stays well under
	// the store's limit, whatever the number of series.
	PartSize = eventstore.MaxEventSize / 4
	// AppendSize bounds the event data of one append of a publication
	// (see eventstore.Command.MaxAppendBytes): EventStoreDB refuses larger
	// appends by default (its MaxAppendSize, 1 MiB).
	AppendSize = eventstore.MaxEventSize
)

// Run is the aggregate of one forecast run. Its zero value is ready to use,
// but use New for symmetry with the other aggregates.
type Run struct {
	requested *Requested
	published *Published
	parts     []PartPublished // the parts of a publication not sealed yet
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
	case PartPublished:
		switch {
		case e.Part == 1:
			r.parts = append(r.parts[:0:0], e)
		case len(r.parts) == e.Part-1 && r.parts[0].Digest == e.Digest && r.parts[0].Parts == e.Parts:
			r.parts = append(r.parts, e)
		default: // not the next part of the publication begun: it cannot be sealed
			r.parts = nil
		}
	case Sealed:
		if r.published == nil && e.Parts > 0 && len(r.parts) == e.Parts && r.parts[0].Digest == e.Digest {
			n := 0
			for _, part := range r.parts {
				n += len(part.Series)
			}
			p := Published{RunID: e.RunID, Plan: e.Plan, Metric: e.Metric, DataPosition: e.DataPosition, Seed: e.Seed, Model: e.Model,
				Series: make([]Series, 0, n)}
			for _, part := range r.parts {
				p.Series = append(p.Series, part.Series...)
			}
			r.published = &p
		}
		r.parts = nil
	}
}

// Changes returns the events recorded by commands since the run was
// created or loaded.
func (r *Run) Changes() []Event { return r.changes }

func (r *Run) record(e Event) {
	r.Apply(e)
	r.changes = append(r.changes, e)
}

// Request records that run runID is to forecast metric of plan with data up
// to period, for reason. It returns ErrAlreadyRequested on a run that was
// requested or published, or every problem at once: ErrInvalid (ids,
// period) and ErrReasonRequired.
func (r *Run) Request(runID, plan, metric, reason string, period fiscal.Period) error {
	if r.requested != nil || r.published != nil {
		return fmt.Errorf("%w: %q", ErrAlreadyRequested, runID)
	}
	errs := []error{dimension.CheckID("run id", runID, ErrInvalid), dimension.CheckID("plan id", plan, ErrInvalid), dimension.CheckID("metric", metric, ErrInvalid)}
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

// MaxModelDepth bounds how deep a published model description nests
// (objects and arrays): no deeper than tools that read the history (jq,
// Python's json) follow. Its size is bounded by PartSize.
const MaxModelDepth = 16

// checkModel refuses a compacted model description nested deeper than
// MaxModelDepth (ErrInvalid).
func checkModel(b []byte) error {
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

// Publish records forecast p, its model description compacted: its series
// in parts (PartPublished) of at most PartSize bytes encoded, in order,
// then the Sealed that publishes them. It returns ErrAlreadyPublished, or
// every problem at once: ErrMismatch (run, plan or metric differ from the
// request), ErrInvalid (ids, a data position that is not
// eventstore.Position text, a model description or series detail that is
// not a JSON value, a model description nested deeper than
// MaxModelDepth), ErrInvalidSeries (see its doc; per series and field,
// the first bad value), ErrTooLarge (the model description or a series
// encoded beyond PartSize).
//
// The events may be appended in several appends (AppendSize): a run is
// published once its Sealed is stored, and Publish on a run whose earlier
// publication was interrupted between appends publishes it anew.
func (r *Run) Publish(p Published) error {
	if r.published != nil {
		return fmt.Errorf("%w: %q at data position %s", ErrAlreadyPublished, r.published.RunID, r.published.DataPosition)
	}
	errs := []error{dimension.CheckID("run id", p.RunID, ErrInvalid), dimension.CheckID("plan id", p.Plan, ErrInvalid), dimension.CheckID("metric", p.Metric, ErrInvalid)}
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
	} else if model.Len() > PartSize {
		errs = append(errs, fmt.Errorf("%w: the model description is %d bytes, at most %d; describe each series in its detail", ErrTooLarge, model.Len(), PartSize))
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
	series := cloneSeries(p.Series)
	sizes, digest, err := encodedSizes(series)
	if err != nil {
		return err
	}
	bounds := split(sizes)
	for i := range len(bounds) - 1 {
		r.record(PartPublished{RunID: p.RunID, Digest: digest, Part: i + 1, Parts: len(bounds) - 1, Series: series[bounds[i]:bounds[i+1]]})
	}
	r.record(Sealed{RunID: p.RunID, Plan: p.Plan, Metric: p.Metric, DataPosition: p.DataPosition, Seed: p.Seed,
		Model: json.RawMessage(model.Bytes()), Series: len(series), Parts: len(bounds) - 1, Digest: digest})
	return nil
}

// Digest returns the digest of series that Sealed.Digest holds: the hex
// SHA-256 of each series JSON-encoded and followed by a newline, in order.
func Digest(series []Series) (string, error) {
	_, d, err := encodedSizes(series)
	return d, err
}

// encodedSizes returns the encoded size of each series and their digest,
// or ErrInvalid (a detail that is not JSON) and ErrTooLarge (a series
// beyond PartSize), naming the series.
func encodedSizes(series []Series) ([]int, string, error) {
	h := sha256.New()
	sizes := make([]int, len(series))
	var errs []error
	for i, s := range series {
		b, err := json.Marshal(s)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%w: series %d, node %q: detail is not a JSON value", ErrInvalid, i+1, s.Node))
			continue
		case len(b) > PartSize:
			errs = append(errs, fmt.Errorf("%w: series %d, node %q is %d bytes encoded, at most %d", ErrTooLarge, i+1, s.Node, len(b), PartSize))
		}
		sizes[i] = len(b)
		h.Write(b)
		h.Write([]byte{'\n'})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, "", err
	}
	return sizes, hex.EncodeToString(h.Sum(nil)), nil
}

// split returns the bounds of the parts of series of the given encoded
// sizes: part i holds series bounds[i] to bounds[i+1]-1, each part as many
// whole series as fit in PartSize (at least one).
func split(sizes []int) []int {
	bounds := []int{0}
	n := 0
	for i, s := range sizes {
		if n > 0 && n+s+1 > PartSize {
			bounds = append(bounds, i)
			n = 0
		}
		n += s + 1
	}
	return append(bounds, len(sizes))
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

// compact returns detail compacted, or detail itself when it is empty or not
// JSON (encoding then reports it).
func compact(detail json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if len(detail) == 0 || json.Compact(&b, detail) != nil {
		return detail
	}
	return json.RawMessage(b.Bytes())
}

func cloneSeries(in []Series) []Series {
	out := slices.Clone(in)
	for i := range out {
		s := &out[i]
		s.Mean, s.Lo80, s.Hi80 = slices.Clone(s.Mean), slices.Clone(s.Lo80), slices.Clone(s.Hi80)
		s.Lo95, s.Hi95 = slices.Clone(s.Lo95), slices.Clone(s.Hi95)
		s.Detail = compact(s.Detail)
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

// Published returns the run's publication and whether it was published:
// a run is published by its Sealed (and the parts it names), or by a
// Published recorded before runs were split into parts. The slices are
// the run's own: do not modify them.
func (r *Run) Published() (Published, bool) {
	if r.published == nil {
		return Published{}, false
	}
	return *r.published, true
}

// Runs folds the events of many runs, in log order, as a reader of the log
// does, and hands over each run whole when it is published. It holds the
// parts of runs not sealed yet. The zero value is ready to use; a Runs is
// not safe for concurrent use.
type Runs struct {
	open map[string]*Run // runs with parts and no seal yet, by run id
}

// Apply folds e and returns the publication of its run when e publishes
// it: a Sealed that completes the parts folded before it (Run.Apply), or a
// Published recorded before runs had parts.
func (rs *Runs) Apply(e Event) (Published, bool) {
	switch e := e.(type) {
	case Published:
		return e, true
	case PartPublished:
		r := rs.open[e.RunID]
		if r == nil {
			if rs.open == nil {
				rs.open = map[string]*Run{}
			}
			r = New()
			rs.open[e.RunID] = r
		}
		r.Apply(e)
	case Sealed:
		r := rs.open[e.RunID]
		if r == nil {
			return Published{}, false
		}
		delete(rs.open, e.RunID)
		r.Apply(e)
		return r.Published()
	}
	return Published{}, false
}
