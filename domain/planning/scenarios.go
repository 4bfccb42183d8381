package planning

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/scenario"
)

// scenarioBooks returns the repository of plans' scenario books.
func (s *Service) scenarioBooks() *eventstore.Repository[*scenario.Book, scenario.Event] {
	return eventstore.NewRepository[*scenario.Book, scenario.Event](s.store, s.registry, scenario.New)
}

// versionAt returns the version stream had at log position pos: the
// number of its events recorded at or before pos. Positions grow with
// versions, so it is a search over single-event reads (O(log n)), not a
// read of the stream.
func (s *Service) versionAt(ctx context.Context, stream string, pos eventstore.Position) (uint64, error) {
	// after reports whether version v exists and was recorded after pos
	// (a version beyond the stream's end counts as after).
	after := func(v uint64) (bool, error) {
		batch, err := s.store.ReadStream(ctx, stream, v, 1)
		if err != nil {
			return false, err
		}
		return len(batch) == 0 || pos.Before(batch[0].Position), nil
	}
	lo, hi := uint64(0), uint64(1) // version lo is at or before pos; find hi after it
	for {
		ok, err := after(hi)
		if err != nil {
			return 0, err
		}
		if ok {
			break
		}
		lo, hi = hi, hi*2
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := after(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			hi = mid
		} else {
			lo = mid
		}
	}
	return lo, nil
}

// basePlan returns plan planID as it was at stream version upTo, the
// caller's own to change.
func (s *Service) basePlan(ctx context.Context, planID string, upTo uint64) (*plan.Plan, error) {
	return s.plans.LoadVersion(ctx, plan.Stream(planID), upTo)
}

// scenarioPlan returns the plan of scenario sc in book b: the plan at the
// scenario's base version with the scenario's own target events applied,
// and the plan's dimensions as they stand. Commands given to it record
// what the scenario would record.
func (s *Service) scenarioPlan(ctx context.Context, b *scenario.Book, sc scenario.Scenario) (*plan.Plan, []*dimension.Dimension, error) {
	p, err := s.basePlan(ctx, sc.Plan, sc.BaseVersion)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range b.PlanEvents(sc.ID) {
		p.Apply(e)
	}
	dims, err := s.dimensions(ctx, p.Dimensions())
	if err != nil {
		return nil, nil, fmt.Errorf("planning: dimensions of plan %q: %w", sc.Plan, err)
	}
	return p, dims, nil
}

// OpenScenario is the input of Service.OpenScenario. Base is the log
// position the scenario branches from: the position of an event of the
// log (the API gives the position of the state its from names), so that
// the scenario sees the same log prefix whenever it is read. From says how
// the base was named, for people ("now", "tag:Budget FY27", a date).
type OpenScenario struct {
	ID, Name string
	Base     eventstore.Position
	From     string
}

// OpenScenario opens scenario in.ID of plan planID, branching from log
// position in.Base (planner; sales, whose changes in it stay within its
// scopes). It records scenario.Opened with the versions the plan's stream
// and its commits' stream had at the base. It returns plan.ErrNotOpened
// for a plan that does not exist now, and the book's refusals
// (scenario.ErrInvalid, for instance a base before the plan was opened;
// scenario.ErrExists).
func (s *Service) OpenScenario(ctx context.Context, c Call, planID string, in OpenScenario) (Result, error) {
	if err := authorize(c.By, "open scenarios", access.RoleSales, access.RolePlanner); err != nil {
		return Result{}, err
	}
	if _, _, _, err := s.openPlan(ctx, planID); err != nil {
		return Result{}, err
	}
	baseVersion, err := s.versionAt(ctx, plan.Stream(planID), in.Base)
	if err != nil {
		return Result{}, err
	}
	bookVersion, err := s.versionAt(ctx, commit.Stream(planID), in.Base)
	if err != nil {
		return Result{}, err
	}
	stream := scenario.Stream(planID)
	res, err := s.scenarioBooks().Update(ctx, stream, c.expected(), c.command(), func(b *scenario.Book) error {
		return b.Open(scenario.Opened{Plan: planID, ID: in.ID, Name: in.Name, Base: in.Base, BaseVersion: baseVersion,
			BookVersion: bookVersion, From: in.From, By: c.By.Actor})
	})
	if err != nil {
		return Result{}, err
	}
	return result(stream, res), nil
}

// openScenario returns scenario id of b when it is open.
func openScenario(b *scenario.Book, planID, id string) (scenario.Scenario, error) {
	sc, ok := b.Scenario(id)
	switch {
	case !ok:
		return sc, fmt.Errorf("%w: plan %q has no scenario %q", scenario.ErrUnknown, planID, id)
	case sc.Status != scenario.StatusOpen:
		return sc, fmt.Errorf("%w: scenario %q was %s by %s", scenario.ErrClosed, id, sc.Status, sc.ClosedBy)
	}
	return sc, nil
}

// updateScenario runs decide on the plan of open scenario id of plan
// planID and records in the scenario what the plan recorded, appending to
// the plan's scenario stream at the expected version. A sales principal
// may record changes only to nodes its scopes cover.
func (s *Service) updateScenario(ctx context.Context, c Call, planID, id, action string, decide func(p *plan.Plan, dims []*dimension.Dimension) error) (Result, error) {
	if !dimension.ValidID(planID) {
		return Result{}, fmt.Errorf("%w: plan %q", plan.ErrNotOpened, planID)
	}
	stream := scenario.Stream(planID)
	res, err := s.scenarioBooks().Update(ctx, stream, c.expected(), c.command(), func(b *scenario.Book) error {
		sc, err := openScenario(b, planID, id)
		if err != nil {
			return err
		}
		p, dims, err := s.scenarioPlan(ctx, b, sc)
		if err != nil {
			return err
		}
		if err := decide(p, dims); err != nil {
			return err
		}
		changes := make([]any, 0, len(p.Changes()))
		var nodes []dimension.Node
		for _, e := range p.Changes() {
			switch e := e.(type) {
			case plan.TargetSet:
				nodes = append(nodes, e.Node)
			case plan.TargetRevised:
				nodes = append(nodes, e.Node)
			case plan.TargetCleared:
				nodes = append(nodes, e.Node)
			}
			changes = append(changes, e)
		}
		if err := checkScope(c.By, action, nodes, dims); err != nil {
			return err
		}
		return b.Record(id, changes)
	})
	if err != nil {
		return Result{}, err
	}
	return result(stream, res), nil
}

// ChangeScenarioTargets applies a batch of target changes to scenario id
// of plan planID, as ChangeTargets applies them to the plan (the same
// checks, against the plan at the scenario's base with the scenario's
// earlier changes), recording them in the scenario only (planner; sales
// within its scopes). All or nothing; it returns a *ValidationError
// listing every problem, a *ForbiddenError for a node out of scope,
// scenario.ErrUnknown or ErrClosed.
func (s *Service) ChangeScenarioTargets(ctx context.Context, c Call, planID, id string, changes []TargetChange) (Result, error) {
	const action = "change targets in scenarios"
	if err := authorize(c.By, action, access.RoleSales, access.RolePlanner); err != nil {
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
	return s.updateScenario(ctx, c, planID, id, action, func(p *plan.Plan, dims []*dimension.Dimension) error {
		var nodes []dimension.Node
		for _, ch := range changes {
			if n, err := dimension.ParseNode(ch.Node); err == nil {
				if n, err = n.Resolve(dims...); err == nil {
					nodes = append(nodes, n)
				}
			}
		}
		if err := checkScope(c.By, action, nodes, dims); err != nil {
			return err
		}
		if err := applyChanges(p, dims, changes, c.By.Actor); err != nil {
			return err
		}
		return p.CheckCoherence(dims)
	})
}

// ReallocateInScenario moves target between nodes in scenario id of plan
// planID (planner; sales within its scopes), at once, without approval:
// the moves are checked as a reallocation proposed to the plan would be
// (but for its id and the reallocations open in the plan, which are the
// plan's business) and recorded in the scenario as one TargetRevised per
// move (plan.Reallocate). Errors are those of ProposeReallocation and
// ChangeScenarioTargets.
func (s *Service) ReallocateInScenario(ctx context.Context, c Call, planID, id string, in ProposeReallocation) (Result, error) {
	const action = "reallocate in scenarios"
	if err := authorize(c.By, action, access.RoleSales, access.RolePlanner); err != nil {
		return Result{}, err
	}
	return s.updateScenario(ctx, c, planID, id, action, func(p *plan.Plan, dims []*dimension.Dimension) error {
		span, moves, err := in.parse(p, dims)
		if err != nil {
			return err
		}
		if err := checkScope(c.By, action, movedNodes(moves), dims); err != nil {
			return err
		}
		if err := p.Reallocate(in.Metric, span, moves, in.Reason, c.By.Actor); err != nil {
			return err
		}
		return p.CheckCoherence(dims)
	})
}

// DiscardScenario closes open scenario id of plan planID for reason
// (planner; sales, its own scenarios only). It returns scenario.ErrUnknown,
// ErrClosed, ErrReasonRequired.
func (s *Service) DiscardScenario(ctx context.Context, c Call, planID, id, reason string) (Result, error) {
	const action = "discard scenarios"
	if err := authorize(c.By, action, access.RoleSales, access.RolePlanner); err != nil {
		return Result{}, err
	}
	stream := scenario.Stream(planID)
	res, err := s.scenarioBooks().Update(ctx, stream, c.expected(), c.command(), func(b *scenario.Book) error {
		if sc, ok := b.Scenario(id); ok && c.By.Role == access.RoleSales && sc.By != c.By.Actor {
			return &ForbiddenError{Actor: c.By.Actor, Role: c.By.Role, Action: action,
				Reason: fmt.Sprintf("sales may discard only its own scenarios; %q was opened by %s", id, sc.By)}
		}
		return b.Discard(id, reason, c.By.Actor)
	})
	if err != nil {
		return Result{}, err
	}
	return result(stream, res), nil
}

// ProposalID returns the id of the plan proposal that promoting scenario
// id makes.
func ProposalID(id string) string {
	if p := "scenario-" + id; len(p) <= dimension.MaxIDLen {
		return p
	}
	sum := sha256.Sum256([]byte(id))
	return "scenario-" + hex.EncodeToString(sum[:12])
}

// ConflictError lists the targets a scenario changed that the plan changed
// too since the scenario's base: its changes cannot be promoted (or
// rebased) without deciding which wins. It matches plan.ErrTargetChanged.
type ConflictError struct {
	Scenario string
	Targets  []*plan.TargetError
}

func (e *ConflictError) Error() string {
	msg := fmt.Sprintf("planning: scenario %q conflicts with the plan on %d targets", e.Scenario, len(e.Targets))
	for _, t := range e.Targets {
		msg += "; " + t.Error()
	}
	return msg
}

// Is makes errors.Is(err, plan.ErrTargetChanged) true.
func (e *ConflictError) Is(target error) bool { return target == plan.ErrTargetChanged }

// touched returns the targets the scenario's events change, in the order
// first changed, with their amounts in base and in sp.
func touched(events []plan.Event, base, sp *plan.Plan) []plan.Change {
	seen := map[string]bool{}
	var out []plan.Change
	for _, e := range events {
		var c plan.Change
		switch e := e.(type) {
		case plan.TargetSet:
			c = plan.Change{Node: e.Node, Metric: e.Metric, Span: e.Span}
		case plan.TargetRevised:
			c = plan.Change{Node: e.Node, Metric: e.Metric, Span: e.Span}
		case plan.TargetCleared:
			c = plan.Change{Node: e.Node, Metric: e.Metric, Span: e.Span}
		default:
			continue
		}
		k := fmt.Sprintf("%s\x00%s\x00%v", c.Node, c.Metric, c.Span)
		if seen[k] {
			continue
		}
		seen[k] = true
		c.From, c.To = amountOf(base, c), amountOf(sp, c)
		out = append(out, c)
	}
	return out
}

// amountOf returns the amount of c's target in p, nil when not set.
func amountOf(p *plan.Plan, c plan.Change) *decimal.Decimal {
	t, ok := p.Target(c.Node, c.Metric, c.Span)
	if !ok {
		return nil
	}
	return &t.Amount
}

func equalAmounts(a, b *decimal.Decimal) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// conflicts returns a *ConflictError for the changes whose target in p
// is not what it was at the scenario's base (From), nil when there is none.
func conflicts(id string, p *plan.Plan, changes []plan.Change) error {
	var out []*plan.TargetError
	for _, c := range changes {
		if now := amountOf(p, c); !equalAmounts(now, c.From) {
			out = append(out, &plan.TargetError{Node: c.Node, Metric: c.Metric, Span: c.Span, Err: plan.ErrTargetChanged,
				Reason: fmt.Sprintf("the scenario changed it from %s, but the plan has it at %s now", amountText(c.From), amountText(now))})
		}
	}
	if len(out) == 0 {
		return nil
	}
	return &ConflictError{Scenario: id, Targets: out}
}

func amountText(a *decimal.Decimal) string {
	if a == nil {
		return "no target"
	}
	return a.String()
}

// PromoteScenario proposes the target changes of open scenario id to plan
// planID as one proposal (plan.ChangesProposed, id ProposalID(id)) bound to
// the plan's current version, then closes the scenario as promoted
// (planner; sales within its scopes). The proposal is approved or rejected
// like a reallocation, and its approval says which scenario the changes
// came from. A target changed in the scenario and set back to its base
// amount is left out. It returns a *ConflictError (plan.ErrTargetChanged)
// when the plan changed a target the scenario changes since the
// scenario's base (rebase it first), scenario.ErrInvalid when the scenario
// changes no target, and the plan's refusals (plan.ErrReallocationPending
// …). The Result is the plan's: the proposal's version and position.
// A retry after the plan's append but before the scenario's does not
// propose twice.
func (s *Service) PromoteScenario(ctx context.Context, c Call, planID, id, reason string) (Result, error) {
	const action = "promote scenarios"
	if err := authorize(c.By, action, access.RoleSales, access.RolePlanner); err != nil {
		return Result{}, err
	}
	if !dimension.ValidID(planID) {
		return Result{}, fmt.Errorf("%w: plan %q", plan.ErrNotOpened, planID)
	}
	b, version, err := s.scenarioBooks().Load(ctx, scenario.Stream(planID))
	if err != nil {
		return Result{}, err
	}
	if !eventstore.Satisfied(c.expected(), version) {
		return Result{}, &eventstore.ConflictError{Stream: scenario.Stream(planID), Expected: c.expected(), Actual: version}
	}
	sc, err := openScenario(b, planID, id)
	if err != nil {
		return Result{}, err
	}
	base, err := s.basePlan(ctx, planID, sc.BaseVersion)
	if err != nil {
		return Result{}, err
	}
	sp, _, err := s.scenarioPlan(ctx, b, sc)
	if err != nil {
		return Result{}, err
	}
	var changes []plan.Change
	for _, ch := range touched(b.PlanEvents(id), base, sp) {
		if !equalAmounts(ch.From, ch.To) {
			changes = append(changes, ch)
		}
	}
	if len(changes) == 0 {
		return Result{}, fmt.Errorf("%w: scenario %q leaves every target as it was at its base; there is nothing to promote", scenario.ErrInvalid, id)
	}
	pid := ProposalID(id)
	var planVersion uint64
	call := c
	call.IfMatch = nil // IfMatch concerns the scenario stream
	res, err := s.updatePlan(ctx, call, planID, func(p *plan.Plan, dims []*dimension.Dimension) error {
		if r, ok := p.Reallocation(pid); ok && r.Scenario == id {
			planVersion = r.Basis // proposed by an earlier attempt
			return nil
		}
		if err := conflicts(id, p, changes); err != nil {
			return err
		}
		nodes := make([]dimension.Node, len(changes))
		for i, ch := range changes {
			nodes[i] = ch.Node
		}
		if err := checkScope(c.By, action, nodes, dims); err != nil {
			return err
		}
		planVersion = p.Version()
		if err := p.ProposeChanges(pid, id, changes, reason, c.By.Actor); err != nil {
			return err
		}
		return p.CheckCoherence(dims)
	})
	if err != nil {
		return Result{}, err
	}
	cmd := c.command()
	if cmd.IdempotencyKey != "" {
		cmd.IdempotencyKey += "\x00scenario"
	}
	if _, err := s.scenarioBooks().Update(ctx, scenario.Stream(planID), eventstore.Exact(version), cmd, func(b *scenario.Book) error {
		return b.Promote(id, pid, planVersion, c.By.Actor)
	}); err != nil {
		return Result{}, fmt.Errorf("planning: proposal %q was made; closing scenario %q failed (retry the promotion): %w", pid, id, err)
	}
	return res, nil
}

// RebaseScenario moves open scenario id of plan planID to branch from log
// position base (planner; sales, its own scenarios only): its own changes
// are then read on top of the plan as it stands at base. It returns a
// *ConflictError (plan.ErrTargetChanged) listing every target the scenario
// changes that the plan changed between the scenario's base and the new
// one, and records nothing then; scenario.ErrInvalid for a base before
// the scenario's.
func (s *Service) RebaseScenario(ctx context.Context, c Call, planID, id string, base eventstore.Position) (Result, error) {
	const action = "rebase scenarios"
	if err := authorize(c.By, action, access.RoleSales, access.RolePlanner); err != nil {
		return Result{}, err
	}
	baseVersion, err := s.versionAt(ctx, plan.Stream(planID), base)
	if err != nil {
		return Result{}, err
	}
	bookVersion, err := s.versionAt(ctx, commit.Stream(planID), base)
	if err != nil {
		return Result{}, err
	}
	stream := scenario.Stream(planID)
	res, err := s.scenarioBooks().Update(ctx, stream, c.expected(), c.command(), func(b *scenario.Book) error {
		sc, err := openScenario(b, planID, id)
		if err != nil {
			return err
		}
		if c.By.Role == access.RoleSales && sc.By != c.By.Actor {
			return &ForbiddenError{Actor: c.By.Actor, Role: c.By.Role, Action: action,
				Reason: fmt.Sprintf("sales may rebase only its own scenarios; %q was opened by %s", id, sc.By)}
		}
		old, err := s.basePlan(ctx, planID, sc.BaseVersion)
		if err != nil {
			return err
		}
		next, err := s.basePlan(ctx, planID, baseVersion)
		if err != nil {
			return err
		}
		if err := conflicts(id, next, touched(b.PlanEvents(id), old, old)); err != nil {
			return err
		}
		return b.Rebase(id, base, baseVersion, bookVersion, c.By.Actor)
	})
	if err != nil {
		return Result{}, err
	}
	return result(stream, res), nil
}

// Scenarios returns the scenarios of plan planID in the order opened,
// with the version of the plan's scenario stream, for any authenticated
// principal; plan.ErrNotOpened when there is no such plan.
func (s *Service) Scenarios(ctx context.Context, by Principal, planID string) ([]scenario.Scenario, uint64, error) {
	if _, _, err := s.Plan(ctx, by, planID); err != nil {
		return nil, 0, err
	}
	b, v, err := s.scenarioBooks().Load(ctx, scenario.Stream(planID))
	if err != nil {
		return nil, 0, err
	}
	return b.Scenarios(), v, nil
}
