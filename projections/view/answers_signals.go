package view

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/forecast"
)

// Signals is what the alert rules read of one node's metric over one
// fiscal year beside its variance row: how the latest forecast run moved
// the year, how the last closed month's actual compares with the interval
// forecast for it, and since when a month of the year has waited for its
// close.
type Signals struct {
	Plan   string
	Metric string
	Node   string
	Year   int
	// Position is the log position of the state that answered.
	Position eventstore.Position
	// Latest and Previous are the year's totals by the latest published
	// forecast run of the metric and by the run before it (nil when there
	// are fewer than two runs).
	Latest, Previous *RunTotal
	// Closed is the last closed month of the year, its actual and the
	// interval that the latest run forecasting that month gave it (nil when
	// no month of the year is closed, its actual is missing, or no run
	// forecast it).
	Closed *ClosedMonth
	// OpenSince is the end of the first month of the year that is not
	// closed (the zero time when every month is closed).
	OpenSince time.Time
}

// RunTotal is a node's fiscal-year total by one forecast run: in each
// month the run forecast, its mean, and in the others the month's recorded
// actual as known at the answer's state — so two runs are compared on the
// same actuals.
type RunTotal struct {
	RunID string
	Total float64
}

// ClosedMonth is a closed month's actual beside the forecast a run gave it.
type ClosedMonth struct {
	Period     string
	Actual     float64
	RunID      string
	Mean       float64
	Lo95, Hi95 float64
}

// Signals answers the alert signals of node nodeText of plan planID's
// metric over fiscal year year, at the head of the log. It shares the
// variance query's analysis of the year, so asking both costs one.
func (s *Service) Signals(ctx context.Context, planID, metricID, nodeText string, year int) (*Signals, error) {
	st, p, metric, err := s.planMetric(ctx, planID, metricID, "")
	if err != nil {
		return nil, err
	}
	node, err := parseNode(st, p, "node", nodeText)
	if err != nil {
		return nil, err
	}
	if year < 1900 || year > 9999 {
		return nil, BadParam("year", fmt.Sprint(year), "want a fiscal year such as 2028")
	}
	a, err := st.analysis(ctx, p, metric, p.Calendar().FiscalYear(year))
	if err != nil {
		return nil, err
	}
	i, ok := a.index(node)
	if !ok {
		return nil, fmt.Errorf("%w: node %q in plan %s", ErrNotFound, nodeText, p.ID())
	}
	out := &Signals{Plan: p.ID(), Metric: metric.ID, Node: node.String(), Year: year, Position: st.Position}
	if a.closed < len(a.periods) {
		out.OpenSince = a.periods[a.closed].Add(1).Start()
	}
	var runs []*vintage // the metric's runs, newest first
	for k := len(st.forecasts) - 1; k >= 0; k-- {
		if v := &st.forecasts[k]; v.Plan == p.ID() && v.Metric == metric.ID {
			runs = append(runs, v)
		}
	}
	if len(runs) >= 2 {
		out.Latest = &RunTotal{RunID: runs[0].RunID, Total: a.runTotal(i, runs[0])}
		out.Previous = &RunTotal{RunID: runs[1].RunID, Total: a.runTotal(i, runs[1])}
	}
	if q := a.closed - 1; q >= 0 {
		if act, ok := a.recorded(i, q, q); ok {
			for _, v := range runs {
				if mean, lo, hi, ok := a.monthInterval(node, i, v, q); ok {
					out.Closed = &ClosedMonth{Period: a.periods[q].String(), Actual: act.Float64(), RunID: v.RunID, Mean: mean, Lo95: lo, Hi95: hi}
					break
				}
			}
		}
	}
	return out, nil
}

// seriesOf indexes run v's series by node text.
func seriesOf(v *vintage) map[string]*forecast.Series {
	out := make(map[string]*forecast.Series, len(v.Series))
	for k := range v.Series {
		out[v.Series[k].Node.String()] = &v.Series[k]
	}
	return out
}

// at returns series sr's mean and 95% interval in the period of index q
// of a, and whether sr forecast it.
func (a *analysis) at(sr *forecast.Series, q int) (mean, lo, hi float64, ok bool) {
	if sr == nil {
		return 0, 0, 0, false
	}
	k := int(a.periods[q] - sr.First)
	if k < 0 || k >= len(sr.Mean) || k >= len(sr.Lo95) || k >= len(sr.Hi95) {
		return 0, 0, 0, false
	}
	return sr.Mean[k], sr.Lo95[k], sr.Hi95[k], true
}

// runTotal returns node i's total over a's periods by run v: the sum of its
// cells' means where v forecast them and their recorded actuals elsewhere.
func (a *analysis) runTotal(i int, v *vintage) float64 {
	series := seriesOf(v)
	var total float64
	for _, j := range a.cellsOf(i) {
		sr := series[a.cells[j].String()]
		for q := range a.periods {
			if mean, _, _, ok := a.at(sr, q); ok {
				total += mean
			} else {
				total += a.actual.At(j, q)
			}
		}
	}
	return total
}

// monthInterval returns the mean and 95% interval run v forecast for node
// (row i) in period q: the node's own series when v has one, else the sum
// of its cells' means with the cells' standard deviations (read from their
// 95% intervals) added in quadrature. It reports false when v forecast
// none of it.
func (a *analysis) monthInterval(node dimension.Node, i int, v *vintage, q int) (mean, lo, hi float64, ok bool) {
	series := seriesOf(v)
	if mean, lo, hi, ok := a.at(series[node.String()], q); ok {
		return mean, lo, hi, true
	}
	var variance float64
	for _, j := range a.cellsOf(i) {
		m, l, h, found := a.at(series[a.cells[j].String()], q)
		if !found {
			continue
		}
		ok = true
		mean += m
		sd := (h - l) / (2 * z95)
		variance += sd * sd
	}
	sd := math.Sqrt(variance)
	return mean, mean - z95*sd, mean + z95*sd, ok
}
