package view

import (
	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
)

// Commit sources, as answers report them (VarianceRow.CommitSource).
const (
	// commitSubmitted: sales submitted this very node and span.
	commitSubmitted = "submitted"
	// commitRolledUp: the sum of commits below the node or within the
	// span (with the actuals of closed months that no commit covers).
	commitRolledUp = "rolled up"
)

// committed is a commit figure and where it came from.
type committed struct {
	amount decimal.Decimal
	source string // commitSubmitted or commitRolledUp
}

// commits returns the resolver of a's commits at confidence c (nil,
// resolving nothing, when there are none). Its resolve returns the commit of
// a node over a span: the one submitted for that node and span; else, when
// the span's parts each have one or are closed, the sum over the span's
// parts (a fiscal year's quarters, a quarter's months; a closed part counts
// its recorded actuals, and at least one part must be committed); else,
// when every child of the node along one of its dimensions has one, their
// sum. It is deterministic (dimensions in plan order) and exact (decimal
// sums), and false when no commit at or below the node covers the span.
func (a *analysis) commits(c commit.Confidence) *commitRollup {
	b := a.st.books[a.plan.ID()]
	if b == nil {
		return nil
	}
	r := &commitRollup{a: a, book: b, conf: c, memo: map[commitKey]commitResult{}, below: map[string][]commit.Entry{}}
	for _, e := range b.Entries() {
		if e.Current && e.Metric == a.metric.ID && e.Confidence == c {
			r.entries = append(r.entries, e)
		}
	}
	if len(r.entries) == 0 {
		return nil
	}
	return r
}

type commitKey struct {
	node string
	span fiscal.Span
}

type commitResult struct {
	v  committed
	ok bool
}

// commitRollup resolves commits of one analysis, metric and confidence,
// remembering what it resolved. It is not safe for concurrent use: each
// answer makes its own.
type commitRollup struct {
	a       *analysis
	book    *commit.Book
	conf    commit.Confidence
	entries []commit.Entry // the current commits of the metric and confidence
	memo    map[commitKey]commitResult
	below   map[string][]commit.Entry // by node: the entries at or below it (within)
	members [][]string                // per entry, its member of each dimension of the analysis (within)
}

// resolve returns the commit of node over span (see commits), remembering
// what it resolved. r may be nil.
func (r *commitRollup) resolve(node dimension.Node, span fiscal.Span) (committed, bool) {
	if r == nil {
		return committed{}, false
	}
	k := commitKey{node.String(), span}
	if res, ok := r.memo[k]; ok {
		return res.v, res.ok
	}
	v, ok := r.compute(node, span)
	r.memo[k] = commitResult{v, ok}
	return v, ok
}

func (r *commitRollup) compute(node dimension.Node, span fiscal.Span) (committed, bool) {
	if e, ok := r.book.Current(node, r.a.metric.ID, span, r.conf); ok {
		return committed{e.Amount, commitSubmitted}, true
	}
	if !r.anyWithin(node, span) {
		return committed{}, false
	}
	if v, ok := r.acrossPeriods(node, span); ok {
		return committed{v, commitRolledUp}, true
	}
	if v, ok := r.acrossChildren(node, span); ok {
		return committed{v, commitRolledUp}, true
	}
	return committed{}, false
}

// anyWithin reports whether a commit at or below node overlaps span.
func (r *commitRollup) anyWithin(node dimension.Node, span fiscal.Span) bool {
	for _, e := range r.within(node) {
		if e.Span.Overlaps(span) {
			return true
		}
	}
	return false
}

// within returns the commits at or below node, remembering them: a node's
// spans (months, quarters, the year) are resolved one after the other. The
// entries' members are read once per rollup, not once per node.
func (r *commitRollup) within(node dimension.Node) []commit.Entry {
	k := node.String()
	if es, ok := r.below[k]; ok {
		return es
	}
	if r.members == nil {
		r.members = make([][]string, len(r.entries))
		for i, e := range r.entries {
			r.members[i], _ = r.a.members(e.Node)
		}
	}
	at, _ := r.a.members(node)
	var es []commit.Entry
	for i, e := range r.entries {
		if r.covers(at, r.members[i]) {
			es = append(es, e)
		}
	}
	r.below[k] = es
	return es
}

// covers reports whether the node of members at (one per dimension of the
// analysis) is at or above the node of members m.
func (r *commitRollup) covers(at, m []string) bool {
	for d, dim := range r.a.dims {
		if at[d] != dim.Root() && at[d] != m[d] && !dim.Covers(at[d], m[d]) {
			return false
		}
	}
	return true
}

// parts splits a fiscal year into its quarters and any other span of more
// than one month into its months.
func (r *commitRollup) parts(span fiscal.Span) []fiscal.Span {
	cal := r.a.plan.Calendar()
	if span.Kind == fiscal.KindYear && span.Len() == 12 {
		fy := cal.Year(span.First)
		out := make([]fiscal.Span, 4)
		for q := range out {
			out[q] = cal.FiscalQuarter(fy, q+1)
		}
		return out
	}
	if span.Len() < 2 {
		return nil
	}
	out := make([]fiscal.Span, 0, span.Len())
	for _, p := range span.Periods() {
		out = append(out, fiscal.Month(p))
	}
	return out
}

// acrossPeriods sums node's commits over the parts of span, a closed part
// counting its recorded actuals.
func (r *commitRollup) acrossPeriods(node dimension.Node, span fiscal.Span) (decimal.Decimal, bool) {
	parts := r.parts(span)
	if len(parts) == 0 {
		return decimal.Decimal{}, false
	}
	i, indexed := r.a.index(node)
	var sum decimal.Decimal
	committedParts := 0
	for _, part := range parts {
		v, closed := r.closedActuals(i, indexed, part)
		if !closed {
			c, ok := r.resolve(node, part)
			if !ok {
				return decimal.Decimal{}, false
			}
			v = c.amount
			committedParts++
		}
		var err error
		if sum, err = sum.Add(v); err != nil {
			return decimal.Decimal{}, false
		}
	}
	return sum, committedParts > 0
}

// closedActuals returns the recorded actuals of node row i over part when
// every month of part is closed.
func (r *commitRollup) closedActuals(i int, indexed bool, part fiscal.Span) (decimal.Decimal, bool) {
	a := r.a
	q0, q1 := int(part.First-a.span.First), int(part.Last-a.span.First)
	if !indexed || q0 < 0 || q1 >= len(a.periods) || q1 >= a.closed {
		return decimal.Decimal{}, false
	}
	v, _ := a.recorded(i, q0, q1)
	return v, true
}

// acrossChildren sums the commits of node's children along the first of
// its dimensions (plan order) where every child has one.
func (r *commitRollup) acrossChildren(node dimension.Node, span fiscal.Span) (decimal.Decimal, bool) {
	for d, dim := range r.a.dims {
		id := r.a.dimIDs[d]
		m, ok := node.Member(id)
		if !ok {
			m = dim.Root()
		}
		kids := dim.Children(m)
		if len(kids) == 0 {
			continue
		}
		var sum decimal.Decimal
		all := true
		for _, kid := range kids {
			cn, err := node.With(id, kid)
			if err == nil {
				cn, err = cn.Resolve(r.a.dims...)
			}
			if err != nil {
				all = false
				break
			}
			c, ok := r.resolve(cn, span)
			if ok {
				sum, err = sum.Add(c.amount)
			}
			if !ok || err != nil {
				all = false
				break
			}
		}
		if all {
			return sum, true
		}
	}
	return decimal.Decimal{}, false
}
