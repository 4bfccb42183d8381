package plan

import (
	"strings"
	"testing"

	"github.com/concord-planning/concord/domain/eventstore/aggregatetest"
)

func TestSetEstimatePolicy(t *testing.T) {
	commit := EstimatePolicy{Kind: PolicyCommit}
	blend := EstimatePolicy{Kind: PolicyBlend, CommitWeight: 0.25}
	set := EstimatePolicySet{Metric: "revenue", Policy: commit, By: "cfo", Reason: "sales own the number"}
	tests := []struct {
		name    string
		given   []Event
		metric  string
		policy  EstimatePolicy
		by, why string
		then    []Event
		want    EstimatePolicy // of revenue afterwards
		wantErr string
	}{
		{name: "commit for a metric", given: budget, metric: "revenue", policy: commit, by: "cfo", why: "sales own the number", then: []Event{set}, want: commit},
		{name: "blend as the plan's default", given: budget, policy: blend, by: "cfo", why: "half and half",
			then: []Event{EstimatePolicySet{Policy: blend, By: "cfo", Reason: "half and half"}}, want: blend},
		{name: "the metric's own wins over the default", given: append(budget[:len(budget):len(budget)], set), policy: blend, by: "cfo", why: "x",
			then: []Event{EstimatePolicySet{Policy: blend, By: "cfo", Reason: "x"}}, want: commit},
		{name: "back to statistical", given: append(budget[:len(budget):len(budget)], set), metric: "revenue", policy: EstimatePolicy{Kind: PolicyStatistical}, by: "cfo", why: "x",
			then: []Event{EstimatePolicySet{Metric: "revenue", Policy: EstimatePolicy{Kind: PolicyStatistical}, By: "cfo", Reason: "x"}}, want: EstimatePolicy{Kind: PolicyStatistical}},
		{name: "the policy in force records nothing", given: append(budget[:len(budget):len(budget)], set), metric: "revenue", policy: commit, by: "cfo", why: "again", want: commit},
		{name: "statistical by default records nothing", given: budget, policy: EstimatePolicy{Kind: PolicyStatistical}, by: "cfo", why: "x", want: EstimatePolicy{Kind: PolicyStatistical}},
		{name: "unknown kind", given: budget, policy: EstimatePolicy{Kind: "gut"}, by: "cfo", why: "x", wantErr: `policy "gut": want statistical, commit or blend`},
		{name: "blend weight 1", given: budget, policy: EstimatePolicy{Kind: PolicyBlend, CommitWeight: 1}, by: "cfo", why: "x", wantErr: "commit_weight 1: a blend weighs the commits strictly between 0 and 1"},
		{name: "weight without a blend", given: budget, policy: EstimatePolicy{Kind: PolicyCommit, CommitWeight: 0.5}, by: "cfo", why: "x", wantErr: "only a blend policy has one"},
		{name: "unknown metric", given: budget, metric: "sales", policy: commit, by: "cfo", why: "x", wantErr: `metric "sales" is not a measured metric of plan fy27`},
		{name: "no reason", given: budget, policy: commit, by: "cfo", wantErr: "reason"},
		{name: "no actor", given: budget, policy: commit, why: "x", wantErr: "actor"},
		{name: "not opened", policy: commit, by: "cfo", why: "x", wantErr: "not"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := given(tt.given...)
			err := p.SetEstimatePolicy(tt.metric, tt.policy, tt.by, tt.why)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("SetEstimatePolicy = %v, want an error containing %q", err, tt.wantErr)
				}
				if len(p.Changes()) != 0 {
					t.Errorf("SetEstimatePolicy recorded %v on error", p.Changes())
				}
				return
			}
			aggregatetest.Then(t, p, err, tt.then, nil)
			if got := p.EstimatePolicy("revenue"); got != tt.want {
				t.Errorf("EstimatePolicy(revenue) = %v, want %v", got, tt.want)
			}
		})
	}
}
