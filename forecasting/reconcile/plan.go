package reconcile

import (
	"fmt"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// PlanInput is the input of BuildPlan: node forecasts over P periods, actuals
// for the closed ones and targets.
type PlanInput struct {
	Structure *Structure
	// Base holds each node's base forecast (n × P), chosen by policy (see
	// ChooseBase). Entries of closed periods are reported but not used.
	Base *mat.Dense
	// Options selects the coherence method applied to the open periods;
	// Options.NonNegative also constrains the target reconciliation.
	Options Options
	// Actual (m × P) supplies the first Closed periods of every cell.
	Actual *mat.Dense
	Closed int
	// Variance and Factor describe the cells' forecast-error covariance over
	// the open periods, as in TargetProblem.
	Variance *mat.Dense
	Factor   *mat.Dense
	Targets  []Target
	// Check, if not nil, is called between the steps of the work (see
	// TargetProblem.Check); an error stops it and is returned wrapped.
	Check func() error
}

// Plan is a reconciled plan for every node and period (n × P matrices in
// structure order). In closed periods Coherent and Reconciled hold actuals.
type Plan struct {
	Base       *mat.Dense
	Coherent   *mat.Dense
	Reconciled *mat.Dense
	Targets    []TargetOutcome
	// Lambda is the MinT shrinkage intensity (0 for other methods).
	Lambda float64
}

// CoherenceAdjustment returns Coherent − Base at node i, period p: the part
// of the change that makes the forecasts add up.
func (p *Plan) CoherenceAdjustment(i, q int) float64 { return p.Coherent.At(i, q) - p.Base.At(i, q) }

// TargetAdjustment returns Reconciled − Coherent at node i, period p: the part
// of the change that meets the targets, i.e. the node's gap to close.
func (p *Plan) TargetAdjustment(i, q int) float64 { return p.Reconciled.At(i, q) - p.Coherent.At(i, q) }

// BuildPlan makes the open periods' node forecasts coherent (Reconcile with
// in.Options) and then reconciles the coherent cell forecasts to the targets
// (ReconcileTargets); closed periods keep their actuals. It is Prepare
// followed by Prepared.Plan. Errors are those of Prepare, Reconcile and
// ReconcileTargets, and in.Check's.
func BuildPlan(in PlanInput) (*Plan, error) {
	pr, err := Prepare(in)
	if err != nil {
		return nil, err
	}
	return pr.plan(in.Base, in.Options, in.Check)
}

// Prepared is the part of BuildPlan that does not depend on the base
// forecasts: the validated targets with the actuals booked against them,
// the constraint system C, CWCᵀ + R, the targets found dependent or in
// conflict and the sparse factor of the independent ones. Base forecasts
// that differ only in their means (a scenario's shock) reconcile with it
// by a solve (Plan) at a fraction of BuildPlan's cost.
//
// When the input has no Variance, W = diag(|ŷ|) depends on the forecasts and
// only the validation is done ahead: each Plan prepares the rest.
//
// A Prepared holds copies of what it read and is never modified: it is
// safe for concurrent use.
type Prepared struct {
	problem       TargetProblem // copies of the actuals, variances, factor and targets; Forecast and Check nil
	nodes, period int           // the shape of the base forecasts (n × P)
	targets       *preparedTargets
}

// Prepare validates in as BuildPlan does and does the work that does not
// depend on in.Base, which is read for its shape only (nodes × periods).
// Conflicting targets are not an error of Prepare: Conflict reports them
// and Plan returns them. Errors are ErrInput, ErrShape and ErrTarget for
// malformed inputs, and in.Check's.
func Prepare(in PlanInput) (*Prepared, error) {
	s := in.Structure
	if s == nil || in.Base == nil {
		return nil, fmt.Errorf("%w: structure and base forecasts are required", ErrInput)
	}
	n, P := in.Base.Dims()
	if n != s.NumNodes() {
		return nil, fmt.Errorf("%w: base forecasts have %d rows, structure has %d nodes", ErrShape, n, s.NumNodes())
	}
	if in.Closed < 0 || in.Closed > P {
		return nil, fmt.Errorf("%w: %d closed periods of %d", ErrInput, in.Closed, P)
	}
	if in.Check != nil {
		if err := in.Check(); err != nil {
			return nil, fmt.Errorf("reconcile: plan stopped: %w", err)
		}
	}
	p := TargetProblem{Structure: s, Actual: copyOf(in.Actual), Closed: in.Closed, Variance: copyOf(in.Variance),
		Factor: copyOf(in.Factor), Targets: cloneTargets(in.Targets), NonNegative: in.Options.NonNegative}
	if err := checkShapes(p, P); err != nil {
		return nil, err
	}
	pr := &Prepared{problem: p, nodes: n, period: P}
	if p.Variance == nil {
		if _, err := validateTargets(s, p.Targets, P); err != nil {
			return nil, err
		}
		return pr, nil
	}
	d, err := errorVariances(p, P, nil)
	if err != nil {
		return nil, err
	}
	if pr.targets, err = prepareTargets(p, P, d, in.Check); err != nil {
		return nil, err
	}
	return pr, nil
}

// Conflict returns the conflicts among the targets Prepare found, nil when
// there are none (or when the input had no Variance: then Plan finds them).
func (pr *Prepared) Conflict() *ConflictError {
	if pr.targets == nil {
		return nil
	}
	return pr.targets.conflict
}

// Fits reports whether in differs from the input pr was prepared from at
// most in what Prepare does not read: the base forecasts' values, the
// coherence method (Options but NonNegative) and Check. The structure is
// compared by identity, actuals (closed periods), variances (open periods),
// factor and targets by value.
func (pr *Prepared) Fits(in PlanInput) bool {
	p := pr.problem
	if in.Structure != p.Structure || in.Base == nil || in.Closed != p.Closed || in.Options.NonNegative != p.NonNegative {
		return false
	}
	if n, P := in.Base.Dims(); n != pr.nodes || P != pr.period {
		return false
	}
	return sameColumns(in.Actual, p.Actual, 0, p.Closed) && sameColumns(in.Variance, p.Variance, p.Closed, pr.period) &&
		sameMatrix(in.Factor, p.Factor) && slices.EqualFunc(in.Targets, p.Targets, sameTarget)
}

// Plan reconciles in.Base (coherence by in.Options, then the prepared
// targets) as BuildPlan(in) would. in must fit pr (Fits), else ErrInput is
// returned. Errors are otherwise those of BuildPlan.
func (pr *Prepared) Plan(in PlanInput) (*Plan, error) {
	if !pr.Fits(in) {
		return nil, fmt.Errorf("%w: the plan input differs from the one prepared in more than its base forecasts", ErrInput)
	}
	return pr.plan(in.Base, in.Options, in.Check)
}

// plan is Plan for base forecasts of pr's shape.
func (pr *Prepared) plan(base *mat.Dense, opts Options, check func() error) (*Plan, error) {
	p, s := pr.problem, pr.problem.Structure
	n, P, m := pr.nodes, pr.period, s.NumCells()
	if check != nil {
		if err := check(); err != nil {
			return nil, fmt.Errorf("reconcile: plan stopped: %w", err)
		}
	}
	cellFc := mat.NewDense(m, P, nil)
	plan := &Plan{Base: mat.DenseCopyOf(base)}
	if p.Closed < P {
		res, err := Reconcile(s, base.Slice(0, n, p.Closed, P), opts)
		if err != nil {
			return nil, err
		}
		plan.Lambda = res.Lambda
		cellFc.Slice(0, m, p.Closed, P).(*mat.Dense).Copy(res.Bottom)
	}
	if p.Closed > 0 {
		cellFc.Slice(0, m, 0, p.Closed).(*mat.Dense).Copy(p.Actual.Slice(0, m, 0, p.Closed))
	}
	yhat, err := openForecasts(s, cellFc, p.Closed)
	if err != nil {
		return nil, err
	}
	pt := pr.targets
	if pt == nil {
		d, err := errorVariances(p, P, yhat)
		if err != nil {
			return nil, err
		}
		if pt, err = prepareTargets(p, P, d, check); err != nil {
			return nil, err
		}
	}
	if pt.conflict != nil {
		return nil, pt.conflict
	}
	sol, err := pt.reconcile(yhat, check)
	if err != nil {
		return nil, err
	}
	plan.Coherent = s.Aggregate(cellFc)
	plan.Reconciled = s.Aggregate(sol.Reconciled)
	plan.Targets = sol.Targets
	return plan, nil
}

// Bytes estimates the memory pr holds: its copies of the inputs, the
// constraint system and the factor.
func (pr *Prepared) Bytes() int64 {
	const f = 8
	size := f * int64(elements(pr.problem.Actual)+elements(pr.problem.Variance)+elements(pr.problem.Factor))
	for k, t := range pr.problem.Targets {
		size += 96 + int64(len(t.ID))
		if k > 0 && len(t.Node) > 0 && &t.Node[0] == &pr.problem.Targets[k-1].Node[0] {
			continue // shares its members with the target before (cloneTargets)
		}
		for _, id := range t.Node {
			size += 16 + int64(len(id))
		}
	}
	pt := pr.targets
	if pt == nil {
		return size
	}
	size += f*int64(len(pt.d)) + 160*int64(len(pt.outcomes))
	if pt.conflict != nil {
		for _, c := range pt.conflict.Conflicts {
			size += 64 + int64(len(c.Reason)) + 24*int64(len(c.Targets))
		}
	}
	cw := pt.cw
	if cw == nil {
		return size
	}
	nnz, g := int64(cw.c.NNZ()), int64(cw.gram.NNZ())
	size += f*nnz + 4*nnz + 24*int64(len(cw.cols)) // C, the column lists
	size += (2*f+4)*g + 4*f*int64(len(pt.active))  // CWCᵀ with its shared counts; diag, tReq, rDiag, active
	size += f * int64(elements(cw.cf))
	ch := pt.solution
	for i := range ch.idx {
		size += (4+f)*int64(len(ch.idx[i])) + 2*24 + 24 + 4*int64(len(ch.child[i])) + 2*f
	}
	return size
}

// copyOf returns a copy of a, nil for nil.
func copyOf(a *mat.Dense) *mat.Dense {
	if a == nil {
		return nil
	}
	return mat.DenseCopyOf(a)
}

// elements returns the number of entries of a, 0 for nil.
func elements(a *mat.Dense) int {
	if a == nil {
		return 0
	}
	r, c := a.Dims()
	return r * c
}

// sameMatrix reports whether a and b are both nil or equal in shape and
// values.
func sameMatrix(a, b *mat.Dense) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return mat.Equal(a, b)
}

// sameColumns reports whether a and b, of the same shape, agree in columns
// from..to-1, which they do when there are none; nil agrees only with nil.
func sameColumns(a, b *mat.Dense, from, to int) bool {
	if from >= to {
		return true
	}
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ra, ca := a.Dims()
	rb, cb := b.Dims()
	if ra != rb || ca != cb || to > ca {
		return false
	}
	for i := range ra {
		if !slices.Equal(a.RawRowView(i)[from:to], b.RawRowView(i)[from:to]) {
			return false
		}
	}
	return true
}

// cloneTargets returns a copy of targets that shares nothing with them.
// Consecutive targets of the same node share one copy of its members (a
// node's month, quarter and year targets come together in a plan's order).
func cloneTargets(targets []Target) []Target {
	out := slices.Clone(targets)
	for k := range out {
		if k > 0 && slices.Equal(targets[k].Node, targets[k-1].Node) {
			out[k].Node = out[k-1].Node
			continue
		}
		out[k].Node = slices.Clone(out[k].Node)
	}
	return out
}

// sameTarget reports whether a and b are equal in every field.
func sameTarget(a, b Target) bool {
	return a.ID == b.ID && slices.Equal(a.Node, b.Node) && a.From == b.From && a.To == b.To && a.Value == b.Value && a.Weight == b.Weight
}
