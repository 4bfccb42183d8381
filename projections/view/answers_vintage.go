package view

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/plan"
)

// Change is one target that differs between two versions.
type Change struct {
	Node   string  `json:"node"`
	Label  string  `json:"label"`
	Metric string  `json:"metric"`
	Span   string  `json:"span"`
	Kind   string  `json:"kind"`
	From   *string `json:"from"`
	To     *string `json:"to"`
	Delta  string  `json:"delta"`
	// The last change of the target up to the diff's "to" (for a removed
	// target: its clearing): who, when (the recorded time, RFC 3339), at
	// which log position, and why.
	ChangedBy       string `json:"changed_by"`
	ChangedAt       string `json:"changed_at"`
	ChangedPosition string `json:"changed_position"`
	Reason          string `json:"reason"`
}

// Diff is the answer of the diff query.
type Diff struct {
	From    ref      `json:"from"`
	To      ref      `json:"to"`
	Changes []Change `json:"changes"`
}

// Diff compares every target of a plan between two versions: the targets
// added or changed, in the plan's target order (metric, node, span), then
// those removed, in the same order. A difference that does not fit a
// decimal is an error (wrapping decimal.ErrOverflow), never dropped.
func (s *Service) Diff(ctx context.Context, planID, from, to string) (*Diff, error) {
	live, err := s.Live(ctx)
	if err != nil {
		return nil, err
	}
	if from == "" {
		return nil, BadParam("from", from, "required: tag:NAME, a log position, a time or a date")
	}
	if to == "" {
		to = live.Position.String()
	}
	a, err := s.state(ctx, planID, "from", from)
	if err != nil {
		return nil, err
	}
	b, err := s.state(ctx, planID, "to", to)
	if err != nil {
		return nil, err
	}
	out := &Diff{From: refOf(a, from), To: refOf(b, to), Changes: []Change{}}
	pb, err := planOf(b, planID)
	if err != nil {
		return nil, err
	}
	type key struct {
		node, metric string
		span         fiscal.Span
	}
	before := map[key]plan.Target{}
	var removable []plan.Target // the targets of a, in the plan's order
	if pa, ok := a.Plan(planID); ok {
		removable = pa.Targets()
		for _, t := range removable {
			before[key{t.Node.String(), t.Metric, t.Span}] = t
		}
	}
	cal := pb.Calendar()
	last, err := s.lastChanges(ctx, planID, a, b)
	if err != nil {
		return nil, err
	}
	if id, ok := strings.CutPrefix(to, ScenarioRef); ok {
		if err := s.scenarioChanges(ctx, planID, id, last); err != nil {
			return nil, err
		}
	}
	add := func(t plan.Target, kind string, f, to *decimal.Decimal) error {
		c := Change{Node: t.Node.String(), Label: label(b, t.Node), Metric: t.Metric, Span: cal.Format(t.Span), Kind: kind}
		if lc, ok := last[targetKey{t.Node, t.Metric, t.Span}]; ok {
			c.ChangedBy, c.ChangedAt, c.ChangedPosition, c.Reason = lc.by, lc.at.UTC().Format(time.RFC3339), lc.position.String(), lc.reason
		}
		var d decimal.Decimal
		if f != nil {
			s := f.String()
			c.From = &s
			d = f.Neg()
		}
		if to != nil {
			s := to.String()
			c.To = &s
			var err error
			if d, err = d.Add(*to); err != nil {
				return fmt.Errorf("query: diff of plan %s, target %s %s %s: %w", planID, c.Node, t.Metric, c.Span, err)
			}
		}
		c.Delta = d.String()
		out.Changes = append(out.Changes, c)
		return nil
	}
	for _, t := range pb.Targets() {
		k := key{t.Node.String(), t.Metric, t.Span}
		old, ok := before[k]
		delete(before, k)
		switch {
		case !ok:
			err = add(t, "added", nil, &t.Amount)
		case !old.Amount.Equal(t.Amount):
			err = add(t, "changed", &old.Amount, &t.Amount)
		}
		if err != nil {
			return nil, err
		}
	}
	for _, t := range removable {
		if _, ok := before[key{t.Node.String(), t.Metric, t.Span}]; !ok {
			continue // still a target at b
		}
		if err := add(t, "removed", &t.Amount, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type targetKey struct {
	node   dimension.Node
	metric string
	span   fiscal.Span
}

type lastChange struct {
	by, reason string
	at         time.Time
	position   eventstore.Position
}

// lastChanges returns the last change (set, revision or clearing) of the
// targets of plan planID that differ between states a and b, as known at
// b, read from the plan's stream in the store: only the changes after a's
// version of the stream when a holds the plan at a version up to b's
// (every target that differs was changed after it; none when the versions
// are the same), else every change up to b's version (a later a, or a
// scenario's plan).
func (s *Service) lastChanges(ctx context.Context, planID string, a, b *State) (map[targetKey]lastChange, error) {
	stream := plan.Stream(planID)
	streamVersion := func(st *State) uint64 {
		if vs := st.versions[stream]; len(vs) > 0 {
			return vs[len(vs)-1].version
		}
		return 0
	}
	from, upTo := uint64(1), streamVersion(b)
	out := map[targetKey]lastChange{}
	if upTo == 0 {
		return out, nil
	}
	if pa := a.plans[planID]; pa != nil && pa.Version() == streamVersion(a) && pa.Version() <= upTo {
		from = pa.Version() + 1
	}
	err := s.readStream(ctx, stream, from, upTo, func(r eventstore.RecordedEvent, e any) bool {
		if k, lc, ok := targetChange(r, e); ok {
			out[k] = lc
		}
		return true
	})
	return out, err
}

// VintageJSON describes one published forecast.
type VintageJSON struct {
	RunID        string         `json:"run_id"`
	Position     string         `json:"position"`
	Time         string         `json:"time"`
	DataPosition string         `json:"data_position"`
	First        string         `json:"first"`
	Horizon      int            `json:"horizon"`
	Series       int            `json:"series"`
	Models       map[string]int `json:"models"`
	// Pinned counts the series whose method a pin chose (plan.ModelPinned),
	// by the pin's description; absent when none did.
	Pinned map[string]int `json:"pinned,omitempty"`
}

// Vintages lists the published forecasts of a plan's metric, oldest first.
func (s *Service) Vintages(ctx context.Context, planID, metricID, asOf string) ([]VintageJSON, error) {
	st, _, metric, err := s.planMetric(ctx, planID, metricID, asOf)
	if err != nil {
		return nil, err
	}
	out := []VintageJSON{}
	for _, v := range st.forecasts {
		if v.Plan != planID || v.Metric != metric.ID {
			continue
		}
		vj := VintageJSON{RunID: v.RunID, Position: v.position.String(), Time: v.time.UTC().Format(time.RFC3339),
			DataPosition: v.DataPosition, Series: len(v.Series), Models: map[string]int{}}
		for _, sr := range v.Series {
			if vj.First == "" || sr.First.String() < vj.First {
				vj.First = sr.First.String()
			}
			vj.Horizon = max(vj.Horizon, sr.Len())
			if sr.Model != "" {
				vj.Models[sr.Model]++
			}
			if pin := pinnedOf(sr.Detail); pin != "" {
				if vj.Pinned == nil {
					vj.Pinned = map[string]int{}
				}
				vj.Pinned[pin]++
			}
		}
		out = append(out, vj)
	}
	return out, nil
}

// pinnedOf returns the pin a series' detail names (reforecast.Detail's
// pinned), "" when none does or the detail is another producer's.
func pinnedOf(detail json.RawMessage) string {
	if !bytes.Contains(detail, []byte(`"pinned"`)) {
		return ""
	}
	var d struct {
		Pinned string `json:"pinned"`
	}
	if json.Unmarshal(detail, &d) != nil {
		return ""
	}
	return d.Pinned
}

// Errors summarises forecast errors over a set of months.
type Errors struct {
	MAE  Num `json:"mae"`
	MAPE Num `json:"mape"`
	RMSE Num `json:"rmse"`
	Bias Num `json:"bias"`
}

func errorsOf(f, y []float64) *Errors {
	if len(f) == 0 {
		return nil
	}
	var ae, ape, se, b float64
	nAPE := 0
	for k := range f {
		e := f[k] - y[k]
		ae += math.Abs(e)
		se += e * e
		b += e
		if y[k] != 0 {
			ape += math.Abs(e / y[k])
			nAPE++
		}
	}
	n := float64(len(f))
	mape := math.NaN()
	if nAPE > 0 {
		mape = 100 * ape / float64(nAPE)
	}
	return &Errors{MAE: Num(ae / n), MAPE: Num(mape), RMSE: Num(math.Sqrt(se / n)), Bias: Num(b / n)}
}

// VintageAccuracy is the accuracy of one vintage.
type VintageAccuracy struct {
	RunID       string  `json:"run_id"`
	Time        string  `json:"time"`
	First       string  `json:"first"`
	N           int     `json:"n"`
	Statistical *Errors `json:"statistical"`
	Commit      *Errors `json:"commit"`
	Naive       *Errors `json:"naive"`
}

// FVA is the forecast value added: the reduction of MAPE, in percentage
// points, of the first forecast over the second, pooled over every month
// where both exist.
type FVA struct {
	CommitVsStatistical *Num `json:"commit_vs_statistical"`
	CommitVsNaive       *Num `json:"commit_vs_naive"`
	StatisticalVsNaive  *Num `json:"statistical_vs_naive"`
	N                   int  `json:"n"`
}

// AccuracyPoint is one forecast month with its actual.
type AccuracyPoint struct {
	RunID       string `json:"run_id"`
	Period      string `json:"period"`
	Actual      Num    `json:"actual"`
	Statistical Num    `json:"statistical"`
	Commit      *Num   `json:"commit"`
	Naive       *Num   `json:"naive"`
}

// Accuracy is the answer of the accuracy query.
type Accuracy struct {
	Node     string            `json:"node"`
	Metric   string            `json:"metric"`
	AsOf     ref               `json:"as_of"`
	Vintages []VintageAccuracy `json:"vintages"`
	FVA      FVA               `json:"fva"`
	Points   []AccuracyPoint   `json:"points"`
}

// Accuracy scores every vintage of a metric against the actuals of the
// closed periods it forecast, for one node, beside the sales commit as known
// when the vintage was published and a naive forecast (the last actual known
// at the vintage's data position, carried forward).
func (s *Service) Accuracy(ctx context.Context, planID, metricID, nodeText, asOf string) (*Accuracy, error) {
	st, p, metric, err := s.planMetric(ctx, planID, metricID, asOf)
	if err != nil {
		return nil, err
	}
	node, err := parseNode(st, p, "node", nodeText)
	if err != nil {
		return nil, err
	}
	var dims []*dimension.Dimension
	for _, id := range p.Dimensions() {
		if d := st.dims[id]; d != nil {
			dims = append(dims, d)
		}
	}
	// The node's actuals per closed month: those of the cells it contains.
	actual := map[fiscal.Period]float64{}
	for k, cells := range st.actuals {
		if k.metric != metric.ID || !st.closed[k.period] {
			continue
		}
		sum, found, err := sumUnder(cells, node, dims)
		if err != nil {
			return nil, fmt.Errorf("query: actuals of %v in %v: %w", node, k.period, err)
		}
		if found {
			actual[k.period] = sum.Float64()
		}
	}
	out := &Accuracy{Node: node.String(), Metric: metric.ID, AsOf: refOf(st, ""), Vintages: []VintageAccuracy{}, Points: []AccuracyPoint{}}
	// The pools are collected in one order (vintages in log order, periods
	// ascending), so that pairs of forecasts and actuals line up.
	var poolStat, poolCommit, poolNaive, poolY, poolCY, poolCS, poolNaiveOnCommit []float64
	for _, v := range st.forecasts {
		if v.Plan != planID || v.Metric != metric.ID {
			continue
		}
		// Statistical forecast of the node: its own series, else the sum of
		// the series of the cells it contains.
		stat := map[fiscal.Period]float64{}
		own := false
		for _, sr := range v.Series {
			if sr.Node == node {
				own = true
				clear(stat)
				for k, m := range sr.Mean {
					stat[sr.First.Add(k)] = m
				}
				break
			}
			if node.Contains(sr.Node, dims...) && sr.Node.CheckCell(dims...) == nil {
				for k, m := range sr.Mean {
					stat[sr.First.Add(k)] += m
				}
			}
		}
		_ = own
		then, err := s.At(ctx, v.position)
		if err != nil {
			return nil, err
		}
		naive, hasNaive := s.naive(ctx, st, v, node, dims, metric.ID)
		va := VintageAccuracy{RunID: v.RunID, Time: v.time.UTC().Format(time.RFC3339)}
		var fs, fc, fn, ys, ycs []float64
		var first fiscal.Period
		for _, per := range slices.Sorted(maps.Keys(stat)) {
			f := stat[per]
			if first == 0 {
				first = per
			}
			y, ok := actual[per]
			if !ok {
				continue
			}
			pt := AccuracyPoint{RunID: v.RunID, Period: per.String(), Actual: Num(y), Statistical: Num(f)}
			fs, ys = append(fs, f), append(ys, y)
			if c, ok := commitFor(then, p, node, metric.ID, per, stat); ok {
				pt.Commit = numPtr(c, true)
				fc, ycs = append(fc, c), append(ycs, y)
				poolCS = append(poolCS, f)
				if hasNaive {
					poolNaiveOnCommit = append(poolNaiveOnCommit, naive)
				}
			}
			if hasNaive {
				pt.Naive = numPtr(naive, true)
				fn = append(fn, naive)
			}
			out.Points = append(out.Points, pt)
		}
		if first != 0 {
			va.First = first.String()
		}
		va.N = len(fs)
		va.Statistical, va.Commit = errorsOf(fs, ys), errorsOf(fc, ycs)
		if len(fn) == len(fs) {
			va.Naive = errorsOf(fn, ys)
			poolNaive = append(poolNaive, fn...)
		}
		poolStat, poolY = append(poolStat, fs...), append(poolY, ys...)
		poolCommit, poolCY = append(poolCommit, fc...), append(poolCY, ycs...)
		out.Vintages = append(out.Vintages, va)
	}
	sortPoints(out.Points)
	mape := func(f, y []float64) float64 {
		if e := errorsOf(f, y); e != nil {
			return float64(e.MAPE)
		}
		return math.NaN()
	}
	out.FVA.N = len(poolY)
	if len(poolCommit) > 0 {
		// Commit against statistical on the months that have a commit.
		out.FVA.CommitVsStatistical = numPtr(mape(poolCS, poolCY)-mape(poolCommit, poolCY), true)
		if len(poolNaive) == len(poolStat) {
			out.FVA.CommitVsNaive = numPtr(mape(poolNaiveOnCommit, poolCY)-mape(poolCommit, poolCY), len(poolNaiveOnCommit) == len(poolCY))
		}
	}
	if len(poolNaive) == len(poolStat) && len(poolStat) > 0 {
		out.FVA.StatisticalVsNaive = numPtr(mape(poolNaive, poolY)-mape(poolStat, poolY), true)
	}
	return out, nil
}

// sortPoints orders accuracy points by run, then period.
func sortPoints(p []AccuracyPoint) {
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && (p[j].RunID < p[j-1].RunID || p[j].RunID == p[j-1].RunID && p[j].Period < p[j-1].Period); j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}

// naive returns the last closed actual of node known at v's data position.
func (s *Service) naive(ctx context.Context, now *State, v vintage, node dimension.Node, dims []*dimension.Dimension, metric string) (float64, bool) {
	pos, err := eventstore.ParsePosition(v.DataPosition)
	if err != nil {
		pos = v.position
	}
	then, err := s.At(ctx, pos)
	if err != nil {
		return 0, false
	}
	var last fiscal.Period
	for per := range then.closed {
		if per > last {
			last = per
		}
	}
	if last == 0 {
		return 0, false
	}
	sum, found, err := sumUnder(then.actuals[monthOf{metric, last}], node, dims)
	return sum.Float64(), found && err == nil
}

// sumUnder sums the actuals of the cells node contains, exactly (a float
// sum would depend on the map's order in its last digits); found reports
// whether there was any.
func sumUnder(cells map[string]decimal.Decimal, node dimension.Node, dims []*dimension.Dimension) (sum decimal.Decimal, found bool, err error) {
	for c, v := range cells {
		if cell, perr := dimension.ParseNode(c); perr == nil && node.Contains(cell, dims...) {
			if sum, err = sum.Add(v); err != nil {
				return sum, found, err
			}
			found = true
		}
	}
	return sum, found, nil
}

// commitFor returns the sales commit of node for period per as known in
// st: a month commit as it is, else a quarter or year commit phased by the
// statistical forecast's shape.
func commitFor(st *State, p *plan.Plan, node dimension.Node, metric string, per fiscal.Period, stat map[fiscal.Period]float64) (float64, bool) {
	b := st.books[p.ID()]
	if b == nil {
		return 0, false
	}
	cal := p.Calendar()
	fy := cal.Year(per)
	for _, sp := range []fiscal.Span{fiscal.Month(per), cal.FiscalQuarter(fy, cal.Quarter(per)), cal.FiscalYear(fy)} {
		e, ok := b.Current(node, metric, sp, commit.ConfidenceCommit)
		if !ok {
			continue
		}
		var total float64
		for _, q := range sp.Periods() {
			total += math.Max(stat[q], 0)
		}
		share := 1 / float64(sp.Len())
		if total > 0 {
			share = math.Max(stat[per], 0) / total
		}
		return e.Amount.Float64() * share, true
	}
	return 0, false
}

// targetChange reads event e, recorded as rec, as the last change of a
// target: which target, when, by whom and why; false for any other event.
func targetChange(rec eventstore.RecordedEvent, e any) (targetKey, lastChange, bool) {
	lc := lastChange{at: rec.RecordedAt, position: rec.Position}
	var k targetKey
	switch ev := e.(type) {
	case plan.TargetSet:
		k, lc.by, lc.reason = targetKey{ev.Node, ev.Metric, ev.Span}, ev.By, ev.Reason
	case plan.TargetRevised:
		k, lc.by, lc.reason = targetKey{ev.Node, ev.Metric, ev.Span}, ev.By, ev.Reason
	case plan.TargetCleared:
		k, lc.by, lc.reason = targetKey{ev.Node, ev.Metric, ev.Span}, ev.By, ev.Reason
	default:
		return targetKey{}, lastChange{}, false
	}
	return k, lc, true
}
