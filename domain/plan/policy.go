package plan

import (
	"errors"
	"fmt"
	"math"

	"github.com/concord-planning/concord/domain/text"
)

// TypeEstimatePolicySet is the stable type name of EstimatePolicySet.
const TypeEstimatePolicySet = "plan.EstimatePolicySet"

// The latest-estimate policies: what stands for the open months in a
// node's latest estimate.
const (
	// PolicyStatistical: the coherent statistical forecast (the default).
	PolicyStatistical = "statistical"
	// PolicyCommit: the sales commits where there are, the statistical
	// forecast elsewhere, made coherent so every level adds up.
	PolicyCommit = "commit"
	// PolicyBlend: CommitWeight × commit + (1 − CommitWeight) × the
	// statistical forecast where there are commits, made coherent.
	PolicyBlend = "blend"
)

// EstimatePolicy is how a plan's latest estimate is made for a metric:
// Kind is one of PolicyStatistical, PolicyCommit, PolicyBlend;
// CommitWeight, in (0, 1), is the commits' share of a blend.
type EstimatePolicy struct {
	Kind         string  `json:"kind"`
	CommitWeight float64 `json:"commit_weight,omitempty"`
}

// EstimatePolicySet records the latest-estimate policy of a metric of the
// plan ("" for every metric without a policy of its own), with who set it
// and why.
type EstimatePolicySet struct {
	Metric string         `json:"metric,omitempty"`
	Policy EstimatePolicy `json:"policy"`
	By     string         `json:"by"`
	Reason string         `json:"reason"`
}

func (EstimatePolicySet) planEvent() {}

// SetEstimatePolicy records (EstimatePolicySet) policy as the way the latest
// estimate of metric ("" for the plan's default) is made, by actor by, for
// reason. It returns ErrNotOpened, ErrActorRequired, ErrReasonRequired, and
// ErrInvalid naming every problem: an unknown kind, a blend weight outside
// (0, 1), a weight with another kind, a metric the plan does not measure.
// Setting the policy in force again records nothing.
func (p *Plan) SetEstimatePolicy(metric string, policy EstimatePolicy, by, reason string) error {
	if err := p.opened(); err != nil {
		return err
	}
	var errs []error
	switch policy.Kind {
	case PolicyStatistical, PolicyCommit:
		if policy.CommitWeight != 0 {
			errs = append(errs, fmt.Errorf("%w: commit_weight %v: only a %s policy has one", ErrInvalid, policy.CommitWeight, PolicyBlend))
		}
	case PolicyBlend:
		if !(policy.CommitWeight > 0 && policy.CommitWeight < 1) || math.IsNaN(policy.CommitWeight) {
			errs = append(errs, fmt.Errorf("%w: commit_weight %v: a blend weighs the commits strictly between 0 and 1 (0.5: half commit, half statistical)", ErrInvalid, policy.CommitWeight))
		}
	default:
		errs = append(errs, fmt.Errorf("%w: policy %q: want %s, %s or %s", ErrInvalid, policy.Kind, PolicyStatistical, PolicyCommit, PolicyBlend))
	}
	if metric != "" && !p.measures(metric) {
		errs = append(errs, fmt.Errorf("%w: metric %q is not a measured metric of plan %s", ErrInvalid, metric, p.id))
	}
	errs = append(errs, text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid),
		text.Check("reason", reason, MaxTextLen, ErrReasonRequired, ErrInvalid))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if cur, own := p.policies[metric]; own && cur == policy || !own && metric == "" && policy.Kind == PolicyStatistical {
		return nil
	}
	p.record(EstimatePolicySet{Metric: metric, Policy: policy, By: by, Reason: reason})
	return nil
}

// EstimatePolicy returns the latest-estimate policy of metric: its own,
// else the plan's default, else statistical.
func (p *Plan) EstimatePolicy(metric string) EstimatePolicy {
	if e, ok := p.policies[metric]; ok {
		return e
	}
	if e, ok := p.policies[""]; ok {
		return e
	}
	return EstimatePolicy{Kind: PolicyStatistical}
}
