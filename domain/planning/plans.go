package planning

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/plan"
)

// OpenPlan is the input of Service.OpenPlan.
type OpenPlan struct {
	ID, Name, Currency string
	Metrics            []plan.Metric
	FiscalYearStart    int      // first month of the fiscal year, 1 to 12
	Dimensions         []string // ids of defined dimensions
	HorizonStart       string   // "YYYY-MM"
	HorizonMonths      int      // 0: plan.DefaultHorizonMonths
}

// OpenPlan opens a new plan (planner). Every dimension must be defined. It
// returns a *ValidationError for an unknown dimension or a bad horizon
// start, and the plan's errors (plan.ErrAlreadyOpened, plan.ErrInvalid).
func (s *Service) OpenPlan(ctx context.Context, c Call, in OpenPlan) (Result, error) {
	if err := authorize(c.By, "open plans", access.RolePlanner); err != nil {
		return Result{}, err
	}
	var ps problems
	start, _ := parsePeriod(&ps, 0, "horizon_start", in.HorizonStart)
	for _, id := range in.Dimensions {
		if !dimension.ValidID(id) {
			continue // the plan reports it
		}
		if _, _, err := s.dimension(ctx, id); err != nil {
			if !errors.Is(err, dimension.ErrNotDefined) {
				return Result{}, err
			}
			ps.add(0, "dimensions", id, "no such dimension: import the dimensions first (concord import dimensions FILE.csv, or POST /api/v1/dimensions/import)", err)
		}
	}
	if err := ps.err(); err != nil {
		return Result{}, err
	}
	stream := plan.Stream(in.ID)
	if !dimension.ValidID(in.ID) {
		ps.add(0, "id", in.ID, "not a valid plan id", plan.ErrInvalid)
		return Result{}, ps.err()
	}
	res, err := s.plans.Update(ctx, stream, c.expected(), c.command(), func(p *plan.Plan) error {
		return p.Open(plan.Opened{ID: in.ID, Name: in.Name, Currency: in.Currency, Metrics: in.Metrics,
			FiscalYearStart: time.Month(in.FiscalYearStart), Dimensions: in.Dimensions,
			HorizonStart: start, HorizonMonths: in.HorizonMonths})
	})
	if err != nil {
		return Result{}, err
	}
	return result(stream, res), nil
}

// TargetOp is what a TargetChange does.
type TargetOp string

// The target operations.
const (
	OpSet    TargetOp = "set"
	OpRevise TargetOp = "revise"
	OpClear  TargetOp = "clear"
	// OpUpsert sets the target when the plan has none for the node,
	// metric and span, revises it when it has another amount, and records
	// nothing when it has this amount: a targets file can be imported
	// again, changed, without knowing which targets exist.
	OpUpsert TargetOp = "upsert"
)

// TargetChange sets, revises or clears one target. Node is a node's text
// ("region=emea;product=pumps", "" for the total), Span is in the plan's
// calendar notation ("2027-03", "FY2027-Q2", "FY2027"), Amount a decimal
// (ignored by OpClear).
type TargetChange struct {
	Line   int // the caller's row number in a batch (1-based); 0 means its position
	Op     TargetOp
	Node   string
	Metric string
	Span   string
	Amount string
	Reason string
	// Cascade (revise only) revises the targets that add up to this one in
	// proportion, and so on down (plan.CascadeTarget).
	Cascade bool
}

// apply parses ch and gives it to p; parse problems go to ps, and the
// plan's error is returned.
func (ch TargetChange) apply(ps *problems, row int, p *plan.Plan, dims []*dimension.Dimension, by string) error {
	before := len(ps.list)
	node, _ := parseNode(ps, row, "node", ch.Node, dims)
	m, okMetric := parseMetric(ps, row, "metric", ch.Metric, p)
	span, _ := parseSpan(ps, row, "span", ch.Span, p)
	var amount decimal.Decimal
	switch ch.Op {
	case OpSet, OpRevise, OpUpsert:
		var metric *plan.Metric
		if okMetric {
			metric = &m
		}
		amount, _ = parseAmount(ps, row, "amount", ch.Amount, metric)
	case OpClear:
	default:
		ps.add(row, "op", string(ch.Op), `want "upsert", "set", "revise" or "clear"`, plan.ErrInvalid)
	}
	if ch.Cascade && ch.Op != OpRevise && ch.Op != OpUpsert {
		ps.add(row, "cascade", "true", "cascade applies to a revision only", plan.ErrInvalid)
	}
	if len(ps.list) > before {
		return nil
	}
	op := ch.Op
	if op == OpUpsert {
		t, exists := p.Target(node, ch.Metric, span)
		switch {
		case !exists:
			op = OpSet
		case t.Amount.Cmp(amount) == 0:
			return nil
		default:
			op = OpRevise
		}
	}
	switch op {
	case OpSet:
		return p.SetTarget(node, ch.Metric, span, amount, ch.Reason, by)
	case OpRevise:
		if ch.Cascade {
			return p.CascadeTarget(dims, node, ch.Metric, span, amount, ch.Reason, by)
		}
		return p.ReviseTarget(node, ch.Metric, span, amount, ch.Reason, by)
	default:
		return p.ClearTarget(node, ch.Metric, span, ch.Reason, by)
	}
}

// ChangeTarget sets, revises or clears one target of plan planID
// (planner). Input problems come back as a *ValidationError; the plan's
// own refusals (plan.ErrTargetExists, ErrNoTarget, ErrUnchanged,
// ErrNegative, ErrReasonRequired …) as the plan returns them.
func (s *Service) ChangeTarget(ctx context.Context, c Call, planID string, ch TargetChange) (Result, error) {
	if err := authorize(c.By, "change targets", access.RolePlanner); err != nil {
		return Result{}, err
	}
	return s.updatePlan(ctx, c, planID, func(p *plan.Plan, dims []*dimension.Dimension) error {
		var ps problems
		err := ch.apply(&ps, 0, p, dims, c.By.Actor)
		if e := ps.err(); e != nil {
			return e
		}
		if err != nil {
			return err
		}
		return p.CheckCoherence(dims)
	})
}

// ChangeTargets applies a batch of target changes to plan planID
// (planner), all or nothing: every row is checked, in order and each
// against the plan as the rows before it leave it, and every problem of
// every row is reported in one *ValidationError (rows numbered by Line, or
// by position); only when all rows pass are their events appended, in one
// append. It returns ErrTooManyRows beyond MaxRows.
func (s *Service) ChangeTargets(ctx context.Context, c Call, planID string, changes []TargetChange) (Result, error) {
	if err := authorize(c.By, "change targets", access.RolePlanner); err != nil {
		return Result{}, err
	}
	if len(changes) > MaxRows {
		return Result{}, fmt.Errorf("%w: %d rows, at most %d", ErrTooManyRows, len(changes), MaxRows)
	}
	if len(changes) == 0 {
		var ps problems
		ps.add(0, "rows", "", "the batch holds no rows", nil)
		return Result{}, ps.err()
	}
	return s.updatePlan(ctx, c, planID, func(p *plan.Plan, dims []*dimension.Dimension) error {
		if err := applyChanges(p, dims, changes, c.By.Actor); err != nil {
			return err
		}
		return p.CheckCoherence(dims)
	})
}

// CheckTargets checks a batch of target changes to plan planID as
// ChangeTargets would apply them, in order, on the plan as it stands, and
// records nothing (planner). Unlike ChangeTargets it takes any number of
// rows, so that a file to be applied in several batches can be checked
// whole first. It returns nil when ChangeTargets would take the changes,
// a *ValidationError listing every problem otherwise, plan.ErrNotOpened for
// an unknown plan.
func (s *Service) CheckTargets(ctx context.Context, c Call, planID string, changes []TargetChange) error {
	if err := authorize(c.By, "change targets", access.RolePlanner); err != nil {
		return err
	}
	if len(changes) == 0 {
		var ps problems
		ps.add(0, "rows", "", "the batch holds no rows", nil)
		return ps.err()
	}
	if !dimension.ValidID(planID) {
		return fmt.Errorf("%w: plan %q", plan.ErrNotOpened, planID)
	}
	shared, _, dims, err := s.openPlan(ctx, planID)
	if err != nil {
		return err
	}
	p := shared.Clone() // the changes are tried on a copy
	if err := applyChanges(p, dims, changes, c.By.Actor); err != nil {
		return err
	}
	return p.CheckCoherence(dims)
}

// applyChanges gives changes to p in order, each against the plan as the
// changes before it leave it, and returns every problem of every row in
// one *ValidationError (or plan.ErrNotOpened).
func applyChanges(p *plan.Plan, dims []*dimension.Dimension, changes []TargetChange, actor string) error {
	var ps problems
	for i, ch := range changes {
		row := ch.Line
		if row == 0 {
			row = i + 1
		}
		if err := ch.apply(&ps, row, p, dims, actor); err != nil {
			if errors.Is(err, plan.ErrNotOpened) {
				return err
			}
			ps.addErr(row, "", "", err)
		}
	}
	for i := range ps.list {
		if ps.list[i].Value == "" && ps.list[i].Field != "" {
			ps.list[i].Value = changeValue(changes, ps.list[i])
		}
	}
	return ps.err()
}

// changeValue returns the text of problem p's field in its row.
func changeValue(changes []TargetChange, p Problem) string {
	for i, ch := range changes {
		if ch.Line == p.Row || (ch.Line == 0 && i+1 == p.Row) {
			switch p.Field {
			case "node":
				return ch.Node
			case "metric":
				return ch.Metric
			case "span":
				return ch.Span
			case "amount":
				return ch.Amount
			case "reason":
				return ch.Reason
			}
		}
	}
	return ""
}

// updatePlan runs decide on plan planID with its dimensions, appending at
// the expected version.
func (s *Service) updatePlan(ctx context.Context, c Call, planID string, decide func(*plan.Plan, []*dimension.Dimension) error) (Result, error) {
	if !dimension.ValidID(planID) {
		return Result{}, fmt.Errorf("%w: plan %q", plan.ErrNotOpened, planID)
	}
	stream := plan.Stream(planID)
	res, err := s.plans.Update(ctx, stream, c.expected(), c.command(), func(p *plan.Plan) error {
		if p.Version() == 0 {
			return fmt.Errorf("%w: plan %q", plan.ErrNotOpened, planID)
		}
		dims, err := s.dimensions(ctx, p.Dimensions())
		if err != nil {
			return fmt.Errorf("planning: dimensions of plan %q: %w", planID, err)
		}
		return decide(p, dims)
	})
	if err != nil {
		return Result{}, err
	}
	return result(stream, res), nil
}

// Move is one node's part of a proposed reallocation: Delta is a decimal.
type Move struct {
	Node  string
	Delta string
}

// ProposeReallocation is the input of Service.ProposeReallocation.
type ProposeReallocation struct {
	ID     string
	Metric string
	Span   string
	Moves  []Move
	Reason string
}

// ProposeReallocation proposes moving target between nodes of plan planID
// (sales, for nodes its scopes cover; planner). Input problems come back
// as a *ValidationError (problems of move i numbered row i+1), a node
// outside the principal's scopes as a *ForbiddenError, and the plan's
// refusals as it returns them.
func (s *Service) ProposeReallocation(ctx context.Context, c Call, planID string, in ProposeReallocation) (Result, error) {
	const action = "propose reallocations"
	if err := authorize(c.By, action, access.RoleSales, access.RolePlanner); err != nil {
		return Result{}, err
	}
	return s.updatePlan(ctx, c, planID, func(p *plan.Plan, dims []*dimension.Dimension) error {
		span, moves, err := in.parse(p, dims)
		if err != nil {
			return err
		}
		if err := checkScope(c.By, action, movedNodes(moves), dims); err != nil {
			return err
		}
		if err := p.ProposeReallocation(in.ID, in.Metric, span, moves, in.Reason, c.By.Actor); err != nil {
			return err
		}
		return p.CheckCoherence(dims)
	})
}

// parse reads in's metric, span and moves against p and dims; problems
// come back as a *ValidationError (those of move i numbered row i+1).
func (in ProposeReallocation) parse(p *plan.Plan, dims []*dimension.Dimension) (fiscal.Span, []plan.Move, error) {
	var ps problems
	parseMetric(&ps, 0, "metric", in.Metric, p)
	span, _ := parseSpan(&ps, 0, "span", in.Span, p)
	moves := make([]plan.Move, 0, len(in.Moves))
	for i, m := range in.Moves {
		n, okNode := parseNode(&ps, i+1, "node", m.Node, dims)
		d, okDelta := parseAmount(&ps, i+1, "delta", m.Delta, nil)
		if okNode && okDelta {
			moves = append(moves, plan.Move{Node: n, Delta: d})
		}
	}
	return span, moves, ps.err()
}

// movedNodes returns the nodes of moves.
func movedNodes(moves []plan.Move) []dimension.Node {
	nodes := make([]dimension.Node, len(moves))
	for i, m := range moves {
		nodes[i] = m.Node
	}
	return nodes
}

// ApproveReallocation approves open reallocation id of plan planID
// (planner), with an optional comment, applying its moves in the same
// append. The proposer may not approve their own (plan.ErrSelfApproval).
func (s *Service) ApproveReallocation(ctx context.Context, c Call, planID, id, comment string) (Result, error) {
	if err := authorize(c.By, "approve reallocations", access.RolePlanner); err != nil {
		return Result{}, err
	}
	return s.updatePlan(ctx, c, planID, func(p *plan.Plan, dims []*dimension.Dimension) error {
		if err := p.ApproveReallocation(id, c.By.Actor, comment); err != nil {
			return err
		}
		return p.CheckCoherence(dims)
	})
}

// RejectReallocation rejects open reallocation id of plan planID (planner;
// a sales principal may withdraw a proposal of its own this way).
func (s *Service) RejectReallocation(ctx context.Context, c Call, planID, id, reason string) (Result, error) {
	const action = "reject reallocations"
	if err := authorize(c.By, action, access.RoleSales, access.RolePlanner); err != nil {
		return Result{}, err
	}
	return s.updatePlan(ctx, c, planID, func(p *plan.Plan, _ []*dimension.Dimension) error {
		if c.By.Role == access.RoleSales {
			if r, ok := p.Reallocation(id); ok && r.By != c.By.Actor {
				return &ForbiddenError{Actor: c.By.Actor, Role: c.By.Role, Action: action,
					Reason: fmt.Sprintf("sales may withdraw only its own proposals; %q was proposed by %s", id, r.By)}
			}
		}
		return p.RejectReallocation(id, c.By.Actor, reason)
	})
}

// TagVersion names the current version of plan planID (planner). With
// Call.IfMatch, the tag names exactly the version the caller saw.
func (s *Service) TagVersion(ctx context.Context, c Call, planID, tag string) (Result, error) {
	if err := authorize(c.By, "tag versions", access.RolePlanner); err != nil {
		return Result{}, err
	}
	return s.updatePlan(ctx, c, planID, func(p *plan.Plan, _ []*dimension.Dimension) error {
		return p.TagVersion(tag, c.By.Actor)
	})
}

// DiscardPlan gives up plan planID, opened by mistake, while nothing
// refers to it (planner): it records plan.Discarded, after which the plan
// takes no commands, is no longer listed, and its id is not reused. It
// returns ErrInUse when sales commits were submitted for it, and the
// plan's errors (plan.ErrInUse for targets, reallocations, tags or
// approvals it holds; plan.ErrNotOpened; plan.ErrReasonRequired).
func (s *Service) DiscardPlan(ctx context.Context, c Call, planID, reason string) (Result, error) {
	if err := authorize(c.By, "discard plans", access.RolePlanner); err != nil {
		return Result{}, err
	}
	if dimension.ValidID(planID) {
		if _, v, err := s.books.Load(ctx, commit.Stream(planID)); err != nil {
			return Result{}, err
		} else if v > 0 {
			return Result{}, fmt.Errorf("%w: sales commits were submitted for plan %q; it stays (clear its targets, or rename it)", ErrInUse, planID)
		}
	}
	return s.updatePlan(ctx, c, planID, func(p *plan.Plan, _ []*dimension.Dimension) error {
		return p.Discard(reason, c.By.Actor)
	})
}

// RenamePlan gives plan planID a new display name (planner), at any
// time; the plan's id stays. It returns the plan's errors
// (plan.ErrNotOpened, plan.ErrInvalid).
func (s *Service) RenamePlan(ctx context.Context, c Call, planID, name string) (Result, error) {
	if err := authorize(c.By, "rename plans", access.RolePlanner); err != nil {
		return Result{}, err
	}
	return s.updatePlan(ctx, c, planID, func(p *plan.Plan, _ []*dimension.Dimension) error {
		return p.Rename(name, c.By.Actor)
	})
}

// ApproveVersion approves plan planID as seen at version seen, optionally
// named by tag (planner). It returns a *plan.StaleError when the numbers
// changed since.
func (s *Service) ApproveVersion(ctx context.Context, c Call, planID string, seen uint64, tag, comment string) (Result, error) {
	if err := authorize(c.By, "approve versions", access.RolePlanner); err != nil {
		return Result{}, err
	}
	return s.updatePlan(ctx, c, planID, func(p *plan.Plan, _ []*dimension.Dimension) error {
		return p.ApproveVersion(seen, tag, c.By.Actor, comment)
	})
}
