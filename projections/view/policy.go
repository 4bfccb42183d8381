package view

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/forecasting/reconcile"
)

// The latest estimate under the plan's policy (plan.EstimatePolicy).
//
// Statistical (the default): actuals + the coherent statistical forecast,
// the statistical forecast itself. Commit: the open months are the plan
// reconciled to the sales commits instead of the targets — each current
// commit (confidence commit) of the metric whose span lies within the
// analysis and has an open month is a constraint on its node and span,
// and the solution is the coherent plan that meets every commit and stays
// as close as possible to the statistical forecast (the same machinery
// and error covariance as the plan to target: forecasting/reconcile
// BuildPlan). Commits of different levels need not add up (a region's
// commit is rarely the sum of its countries'), so only the finest count:
// a commit is left out when another covers a part of it (a node under it,
// or the same node, over a span within its span). Nodes without a commit
// that counts follow from the committed nodes below them and the forecast
// of the rest, so every level adds up; their own commit shows beside the
// estimate (gap_to_commit). Blend: as commit, each constraint being
// w × commit + (1 − w) × the node's statistical total over the span.
// Commits that contradict each other (a parent's commit that is not the
// sum of its children's) are left out and reported; the rest still
// count. The statistical forecast, its intervals, P(target) and the plan
// to target do not change with the policy: P is the calibrated
// probability under the forecast distribution, not under a commit.

// lazyEstimate is an analysis's latest estimate under a commit or blend
// policy, computed once on first use.
type lazyEstimate struct {
	once      sync.Once
	le        *mat.Dense // nodes × periods; nil under the statistical policy or when it cannot be made
	commits   int        // the commits it meets
	conflicts []string
	err       error
}

// estimate returns the analysis's policy estimate (nil for statistical).
func (a *analysis) estimate() *lazyEstimate {
	a.est.once.Do(func() {
		if a.policy.Kind == plan.PolicyStatistical || a.policy.Kind == "" {
			return
		}
		a.est.le, a.est.commits, a.est.conflicts, a.est.err = a.reconcileToCommits()
	})
	return a.est
}

// reconcileToCommits builds the coherent plan that meets the commits (or
// their blend with the statistical forecast) and returns it with the
// number of commits met and the conflicting ones left out.
func (a *analysis) reconcileToCommits() (*mat.Dense, int, []string, error) {
	rollup := a.commits(commit.ConfidenceCommit)
	if rollup == nil {
		return nil, 0, nil, nil
	}
	type use struct {
		e       commit.Entry
		members []string
	}
	var uses []use
	for _, e := range rollup.entries {
		if !a.span.Covers(e.Span) || int(e.Span.Last-a.span.First) < a.closed {
			continue // outside the analysis, or nothing open left to estimate
		}
		if members, ok := a.members(e.Node); ok {
			uses = append(uses, use{e, members})
		}
	}
	var targets []reconcile.Target
	for k, u := range uses {
		e, members := u.e, u.members
		finer := false
		for l, v := range uses {
			if l != k && u.e.Span.Covers(v.e.Span) && a.within(v.members, members) && (v.e.Span != u.e.Span || v.e.Node != u.e.Node) {
				finer = true
				break
			}
		}
		if finer {
			continue
		}
		i, _ := a.structure.NodeIndex(members)
		q0, q1 := int(e.Span.First-a.span.First), int(e.Span.Last-a.span.First)
		v := e.Amount.Float64()
		if a.policy.Kind == plan.PolicyBlend {
			w := a.policy.CommitWeight
			v = w*v + (1-w)*a.statMean(i, q0, q1)
		}
		targets = append(targets, reconcile.Target{ID: "commit " + e.ID + " " + targetID(e.Node, e.Span), Node: members, From: q0, To: q1, Value: v})
	}
	if len(targets) == 0 {
		return nil, 0, nil, nil
	}
	in := a.input
	in.Targets = targets
	res, err := reconcile.BuildPlan(in)
	var conflict *reconcile.ConflictError
	var conflicts []string
	if errors.As(err, &conflict) {
		drop := map[string]bool{}
		for _, c := range conflict.Conflicts {
			conflicts = append(conflicts, conflictText(c))
			for _, id := range c.Targets {
				drop[id] = true
			}
		}
		in.Targets = nil
		for _, t := range targets {
			if !drop[t.ID] {
				in.Targets = append(in.Targets, t)
			}
		}
		res, err = reconcile.BuildPlan(in)
	}
	if err != nil {
		return nil, 0, conflicts, err
	}
	return res.Reconciled, len(in.Targets), conflicts, nil
}

// within tells whether the node of members a (one member per dimension,
// structure order) is the node of b or under it.
func (a *analysis) within(m, of []string) bool {
	for d, dim := range a.dims {
		if m[d] != of[d] && !slices.Contains(dim.Ancestors(m[d]), of[d]) {
			return false
		}
	}
	return true
}

// statMean is node i's statistical total over periods q0..q1: actuals (and
// estimates) of closed periods, the coherent forecast of open ones.
func (a *analysis) statMean(i, q0, q1 int) float64 {
	var mean float64
	for q := q0; q <= q1; q++ {
		if q < a.closed {
			for _, j := range a.cellsOf(i) {
				mean += a.actual.At(j, q)
			}
			continue
		}
		mean += a.coherent(i, q)
	}
	return mean
}

// latest returns node i's latest estimate over periods q0..q1 under the
// plan's policy, given its statistical total stat over them.
func (a *analysis) latest(i, q0, q1 int, stat float64) float64 {
	e := a.estimate()
	if e.le == nil {
		return stat
	}
	var sum float64
	for q := q0; q <= q1; q++ {
		if q < a.closed {
			for _, j := range a.cellsOf(i) {
				sum += a.actual.At(j, q)
			}
			continue
		}
		sum += e.le.At(i, q)
	}
	return sum
}

// EstimatePolicyJSON says which policy made an answer's latest estimate.
type EstimatePolicyJSON struct {
	Kind         string   `json:"kind"`
	CommitWeight float64  `json:"commit_weight,omitempty"`
	Commits      int      `json:"commits"` // commits met (commit, blend)
	Conflicts    []string `json:"conflicts,omitempty"`
	Text         string   `json:"text"`
}

// policyJSON describes a's estimate policy.
func (a *analysis) policyJSON() *EstimatePolicyJSON {
	out := &EstimatePolicyJSON{Kind: a.policy.Kind, CommitWeight: a.policy.CommitWeight}
	if out.Kind == "" {
		out.Kind = plan.PolicyStatistical
	}
	e := a.estimate()
	out.Commits, out.Conflicts = e.commits, e.conflicts
	switch {
	case out.Kind == plan.PolicyStatistical:
		out.Text = "latest estimate: actuals + the coherent statistical forecast"
	case e.err != nil:
		out.Text = fmt.Sprintf("latest estimate: the %s policy could not be applied (%v), so it is the statistical forecast", out.Kind, e.err)
	case e.le == nil:
		out.Text = fmt.Sprintf("latest estimate: the %s policy finds no commit with an open month in these years, so it is the statistical forecast", out.Kind)
	case out.Kind == plan.PolicyCommit:
		out.Text = fmt.Sprintf("latest estimate: actuals + the coherent plan that meets the %d sales commits (the statistical forecast where there are none)", e.commits)
	default:
		out.Text = fmt.Sprintf("latest estimate: actuals + the coherent plan that meets %.0f%% of each of the %d sales commits and %.0f%% of the statistical forecast of its node and span", 100*a.policy.CommitWeight, e.commits, 100*(1-a.policy.CommitWeight))
	}
	if len(e.conflicts) > 0 {
		out.Text += fmt.Sprintf("; %d conflicting commits left out", len(e.conflicts))
	}
	return out
}
