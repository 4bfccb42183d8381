package reconcile

import (
	"fmt"

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
// (ReconcileTargets); closed periods keep their actuals. Errors are those of
// Reconcile and ReconcileTargets, and in.Check's.
func BuildPlan(in PlanInput) (*Plan, error) {
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
	m := s.NumCells()
	cellFc := mat.NewDense(m, P, nil)
	plan := &Plan{Base: mat.DenseCopyOf(in.Base)}
	if in.Closed < P {
		res, err := Reconcile(s, in.Base.Slice(0, n, in.Closed, P), in.Options)
		if err != nil {
			return nil, err
		}
		plan.Lambda = res.Lambda
		cellFc.Slice(0, m, in.Closed, P).(*mat.Dense).Copy(res.Bottom)
	}
	if in.Closed > 0 {
		if in.Actual == nil {
			return nil, fmt.Errorf("%w: %d closed periods but no actuals", ErrInput, in.Closed)
		}
		if r, c := in.Actual.Dims(); r != m || c != P {
			return nil, fmt.Errorf("%w: actuals are %d×%d, want %d×%d", ErrShape, r, c, m, P)
		}
		cellFc.Slice(0, m, 0, in.Closed).(*mat.Dense).Copy(in.Actual.Slice(0, m, 0, in.Closed))
	}
	sol, err := ReconcileTargets(TargetProblem{
		Structure: s, Forecast: cellFc, Actual: in.Actual, Closed: in.Closed,
		Variance: in.Variance, Factor: in.Factor, Targets: in.Targets, NonNegative: in.Options.NonNegative,
		Check: in.Check,
	})
	if err != nil {
		return nil, err
	}
	plan.Coherent = s.Aggregate(cellFc)
	plan.Reconciled = s.Aggregate(sol.Reconciled)
	plan.Targets = sol.Targets
	return plan, nil
}
