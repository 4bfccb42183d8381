package view

import (
	"container/list"
	"context"
	"reflect"
	"slices"
	"sync"
	"unsafe"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/plan"
)

// DefaultAnalysisBudget is how many bytes of reconciled analyses a Service
// keeps unless told otherwise (SetAnalysisBudget). An analysis of the
// Realistic company (2,048 cells × 36 months) is estimated at 12–31 MB; the
// budget counts toward the resident memory of a server sized for it (1.5 GB,
// issue 12), and with the collector's headroom a kept byte costs about two.
// The analyses of past states (as-of reads) keep a quarter of it at most.
const DefaultAnalysisBudget = 256 << 20

// analysisCache keeps the reconciled analyses of a Service across its
// states, least recently used first out once their estimated size passes
// the budget. An analysis is keyed by what it is computed from (its
// inputs): the plan and dimension aggregates, the months of actuals it
// reads, the closed periods and the published forecast it uses. A state
// shares those values with the state it follows unless an event changed
// them, so after a write the analyses the write did not touch are found
// again, also by the states of as-of reads whose inputs are the same.
// The analyses computed for past states (as-of reads, State.past) are
// kept within a share of the budget of their own (pastShare), so a
// client reading the past in a loop evicts its own analyses, not those
// live readers use, and holds less: each also keeps its past state alive.
// An analysis a live state reads counts as live from then on. It is safe
// for concurrent use; its lock is held only to look up, never while an
// analysis is computed.
type analysisCache struct {
	mu       sync.Mutex
	budget   int64
	size     int64                               // the estimated bytes of the computed analyses held
	pastSize int64                               // of which those of past states' analyses
	lru      list.List                           // of *cachedAnalysis, most recently used first
	index    map[analysisKey][]*list.Element     // by plan, metric and span
	plans    map[*plan.Plan]func() []plan.Target // the targets of plan aggregates, computed once each
}

// analysisKey names what an analysis is of.
type analysisKey struct {
	plan, metric string
	span         fiscal.Span
}

// analysisInputs identifies the inputs of an analysis in one state: equal
// inputs give equal analyses.
type analysisInputs struct {
	plan    *plan.Plan
	dims    []*dimension.Dimension
	months  []uintptr // the identity of each month of actuals read (lookBack months before the span, then the span)
	closed  int       // leading closed periods of the span
	vintage eventstore.Position
	hasVint bool
	assumed *assumed // a scenario state's assumptions for the plan (assumptions.go), nil outside scenarios
}

func (a *analysisInputs) equal(b *analysisInputs) bool {
	return a.plan == b.plan && slices.Equal(a.dims, b.dims) && slices.Equal(a.months, b.months) &&
		a.closed == b.closed && a.vintage == b.vintage && a.hasVint == b.hasVint && a.assumed == b.assumed
}

// inputsOf returns the inputs an analysis of p's metric over span reads in
// st. A month of actuals is identified by its map, which a state copies
// before it changes it (State.setActual) and shares otherwise.
func inputsOf(st *State, p *plan.Plan, metric string, span fiscal.Span) analysisInputs {
	in := analysisInputs{plan: p, assumed: st.assumed[p.ID()]}
	for _, id := range p.Dimensions() {
		in.dims = append(in.dims, st.dims[id])
	}
	n := lookBack + span.Len()
	in.months = make([]uintptr, n)
	for h := range n {
		in.months[h] = reflect.ValueOf(st.actuals[monthOf{metric, span.First.Add(h - lookBack)}]).Pointer()
	}
	for q := span.First; q <= span.Last && st.closed[q]; q = q.Add(1) {
		in.closed++
	}
	if v := latestVintage(st, p.ID(), metric); v != nil {
		in.vintage, in.hasVint = v.position, true
	}
	return in
}

// latestVintage returns the latest forecast of plan and metric published
// in st, nil when none was.
func latestVintage(st *State, planID, metric string) *vintage {
	for i := len(st.forecasts) - 1; i >= 0; i-- {
		if v := &st.forecasts[i]; v.Plan == planID && v.Metric == metric {
			return v
		}
	}
	return nil
}

// cachedAnalysis is one analysis of the cache, computed once.
type cachedAnalysis struct {
	key    analysisKey
	inputs analysisInputs
	m      memo[*analysis]
	size   int64 // estimated bytes, 0 until computed
	past   bool  // computed for a past state and read by no live one since
}

// pastShare is the part of the budget the analyses of past states keep
// at most: a quarter.
const pastShare = 4

func newAnalysisCache(budget int64) *analysisCache {
	return &analysisCache{budget: budget, index: map[analysisKey][]*list.Element{}, plans: map[*plan.Plan]func() []plan.Target{}}
}

// setBudget sets the byte budget and evicts down to it.
func (c *analysisCache) setBudget(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.budget = n
	c.evict(nil)
}

// analysis returns the analysis of p's metric over span in st: the cached
// one with the same inputs, or one computed now (on a slot of work, once,
// however many callers ask; ErrBusy when ctx ends first). The analysis
// returned reads st for what is not among its inputs (commits, pending
// forecast runs).
func (c *analysisCache) analysis(ctx context.Context, work *pool, st *State, p *plan.Plan, metric plan.Metric, span fiscal.Span) (*analysis, error) {
	k := analysisKey{plan: p.ID(), metric: metric.ID, span: span}
	in := inputsOf(st, p, metric.ID, span)
	c.mu.Lock()
	var e *cachedAnalysis
	for _, el := range c.index[k] {
		if ca := el.Value.(*cachedAnalysis); ca.inputs.equal(&in) {
			e = ca
			c.lru.MoveToFront(el)
			if e.past && !st.past {
				e.past = false
				c.pastSize -= e.size
			}
			break
		}
	}
	compute := func() (*analysis, error) { return analyse(st, p, metric, span, nil) }
	if e == nil {
		if from, changed := c.patchable(k, &in); from != nil {
			compute = func() (*analysis, error) {
				if a, ok := from.withActuals(st, changed); ok {
					return a, nil
				}
				return analyse(st, p, metric, span, nil)
			}
		}
		e = &cachedAnalysis{key: k, inputs: in, past: st.past}
		c.index[k] = append(c.index[k], c.lru.PushFront(e))
	}
	c.mu.Unlock()
	a, err := e.m.get(ctx, work, func() (*analysis, error) {
		a, err := compute()
		if err == nil {
			c.computed(e, a.bytes())
		}
		return a, err
	})
	if err != nil {
		return nil, err
	}
	if a.st == st {
		return a, nil
	}
	in2 := *a
	in2.st = st
	return &in2, nil
}

// patchable returns a computed analysis of k (under c.mu) from which the
// analysis with inputs in follows by reading again the actuals of a few
// open periods (analysis.withActuals), with the indices of those months;
// nil when there is none. That is so when the inputs differ only in
// months of the span past its leading closed periods, which the
// reconciliation does not read (it reads the actuals of closed periods),
// and, unless a cell's base forecast for a later period is a stand-in (the
// mean of its last recorded months; withActuals checks), neither does the
// base forecast: a write of actuals into an open month then costs a copy
// of the analysis's actuals, not a reconciliation.
func (c *analysisCache) patchable(k analysisKey, in *analysisInputs) (*analysis, []int) {
	els := c.index[k]
	for i := len(els) - 1; i >= 0; i-- { // the most recently added first
		e := els[i].Value.(*cachedAnalysis)
		o := &e.inputs
		if o.plan != in.plan || !slices.Equal(o.dims, in.dims) || o.closed != in.closed || o.vintage != in.vintage || o.hasVint != in.hasVint || o.assumed != in.assumed {
			continue
		}
		open := lookBack + in.closed
		if !slices.Equal(o.months[:open], in.months[:open]) {
			continue
		}
		a, err, done := e.m.peek()
		if !done || err != nil {
			continue
		}
		var changed []int
		for h := open; h < len(in.months); h++ {
			if o.months[h] != in.months[h] {
				changed = append(changed, h)
			}
		}
		return a, changed
	}
	return nil, nil
}

// donorsKept is how many reconciliations of one plan, metric and span
// reconciliations offers, the most recent first.
const donorsKept = 4

// reconciliations returns the reconciliations of the computed analyses of
// k, the most recently added first: an analysis whose inputs differ from
// one of them only in the base forecasts' means (a scenario's shocks, as
// assumptions are among the inputs) reconciles with it
// (prepareReconciliation) instead of preparing its own.
func (c *analysisCache) reconciliations(k analysisKey) []*reconciliation {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*reconciliation
	els := c.index[k]
	for i := len(els) - 1; i >= 0 && len(out) < donorsKept; i-- {
		a, err, done := els[i].Value.(*cachedAnalysis).m.peek()
		if done && err == nil && a.rec != nil && !slices.Contains(out, a.rec) {
			out = append(out, a.rec)
		}
	}
	return out
}

// computed records the size of e's analysis and evicts what passes the
// budget.
func (c *analysisCache) computed(e *cachedAnalysis, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, el := range c.index[e.key] {
		if el.Value == e {
			e.size = size
			c.size += size
			if e.past {
				c.pastSize += size
			}
			c.evict(e)
			return
		}
	}
}

// evict drops the least recently used computed analyses, never keep: of
// past states until they are within their share of the budget, then of
// any state until the cache is within its budget (under c.mu).
func (c *analysisCache) evict(keep *cachedAnalysis) {
	for el := c.lru.Back(); el != nil && c.pastSize > c.budget/pastShare; {
		prev := el.Prev()
		if e := el.Value.(*cachedAnalysis); e != keep && e.size > 0 && e.past {
			c.remove(el)
		}
		el = prev
	}
	for el := c.lru.Back(); el != nil && c.size > c.budget; {
		prev := el.Prev()
		if e := el.Value.(*cachedAnalysis); e != keep && e.size > 0 {
			c.remove(el)
		}
		el = prev
	}
}

// remove drops el from the cache (under c.mu), with the targets of its
// plan aggregate when no other analysis reads them.
func (c *analysisCache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*cachedAnalysis)
	c.size -= e.size
	if e.past {
		c.pastSize -= e.size
	}
	c.index[e.key] = slices.DeleteFunc(c.index[e.key], func(x *list.Element) bool { return x == el })
	if len(c.index[e.key]) == 0 {
		delete(c.index, e.key)
	}
	for _, els := range c.index {
		for _, x := range els {
			if x.Value.(*cachedAnalysis).inputs.plan == e.inputs.plan {
				return
			}
		}
	}
	delete(c.plans, e.inputs.plan)
}

// targets returns p.Targets(), computed once per plan aggregate (a state
// shares the aggregate with the one it follows unless a plan event changed
// it); callers must not modify it. The targets of an aggregate are kept
// while an analysis of it is cached, and for the last few aggregates
// asked about otherwise.
func (c *analysisCache) targets(p *plan.Plan) []plan.Target {
	c.mu.Lock()
	f := c.plans[p]
	if f == nil {
		f = sync.OnceValue(p.Targets)
		c.plans[p] = f
		c.trimPlans(p)
	}
	c.mu.Unlock()
	return f()
}

// keptPlans is how many plan aggregates' targets the cache keeps beyond
// those of its analyses.
const keptPlans = 8

// trimPlans drops the targets of aggregates no cached analysis reads once
// more than keptPlans are kept, never those of keep (under c.mu).
func (c *analysisCache) trimPlans(keep *plan.Plan) {
	if len(c.plans) <= keptPlans {
		return
	}
	used := map[*plan.Plan]bool{keep: true}
	for _, els := range c.index {
		for _, x := range els {
			used[x.Value.(*cachedAnalysis).inputs.plan] = true
		}
	}
	for p := range c.plans {
		if !used[p] && len(c.plans) > keptPlans {
			delete(c.plans, p)
		}
	}
}

// bytes estimates the memory a holds of its own (not what it shares with
// its state): its matrices and per-cell arrays, its reconciled plan, its
// prepared reconciliation and its targets.
func (a *analysis) bytes() int64 {
	const f = 8
	m, P := int64(len(a.cells)), int64(len(a.periods))
	n := int64(a.structure.NumNodes())
	H := int64(lookBack) + P
	size := m*P*(f+int64(unsafe.Sizeof(decimal.Decimal{}))+1+f) + m*H*(f+1)
	if a.result != nil {
		size += 5 * n * P * f // base, coherent, reconciled and the adjustments
		size += int64(len(a.result.Targets)) * 256
	}
	if a.rec != nil {
		size += a.rec.bytes() // counted with each analysis that shares it: it lives while one of them does
	}
	size += int64(len(a.targetSpans)) * int64(unsafe.Sizeof(targetSpan{}))
	for _, c := range a.conflicts {
		size += int64(len(c))
	}
	return size + 4096
}
