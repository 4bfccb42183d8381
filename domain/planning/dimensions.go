package planning

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/plan"
)

// DefineDimension is the input of Service.DefineDimension.
type DefineDimension struct {
	ID, Name         string
	RootID, RootName string
}

// DefineDimension defines a new dimension (planner). It returns the
// dimension's errors (dimension.ErrAlreadyDefined, ErrInvalidID,
// ErrInvalidName).
func (s *Service) DefineDimension(ctx context.Context, c Call, in DefineDimension) (Result, error) {
	return s.updateDimension(ctx, c, "define dimensions", in.ID, func(d *dimension.Dimension) error {
		return d.Define(in.ID, in.Name, in.RootID, in.RootName)
	})
}

// AddMember is the input of Service.AddMember.
type AddMember struct {
	Dimension, ID, Name, Parent string
}

// AddMember adds a member under a parent (planner). It returns
// dimension.ErrNotDefined for an unknown dimension, and the dimension's
// other errors.
func (s *Service) AddMember(ctx context.Context, c Call, in AddMember) (Result, error) {
	return s.updateDimension(ctx, c, "change dimensions", in.Dimension, func(d *dimension.Dimension) error {
		return d.Add(in.ID, in.Name, in.Parent)
	})
}

// RenameMember gives member id of dimension dim a new display name
// (planner).
func (s *Service) RenameMember(ctx context.Context, c Call, dim, id, name string) (Result, error) {
	return s.updateDimension(ctx, c, "change dimensions", dim, func(d *dimension.Dimension) error {
		return d.Rename(id, name)
	})
}

// MoveMember moves member id of dimension dim under parent (planner).
func (s *Service) MoveMember(ctx context.Context, c Call, dim, id, parent string) (Result, error) {
	return s.updateDimension(ctx, c, "change dimensions", dim, func(d *dimension.Dimension) error {
		return d.Move(id, parent)
	})
}

// RetireMember retires member id of dimension dim (planner).
func (s *Service) RetireMember(ctx context.Context, c Call, dim, id string) (Result, error) {
	return s.updateDimension(ctx, c, "change dimensions", dim, func(d *dimension.Dimension) error {
		return d.Retire(id)
	})
}

// RemoveMember takes member id of dimension dim, added by mistake, out of
// the hierarchy (planner), recording dimension.MemberRemoved. Nothing may
// refer to it: while a plan uses the dimension (its targets, actuals and
// commits may name the member) it returns ErrInUse naming the plans, and
// the member can be renamed or retired instead. It returns the
// dimension's errors (ErrUnknownMember, ErrRoot, ErrActiveChildren).
func (s *Service) RemoveMember(ctx context.Context, c Call, dim, id string) (Result, error) {
	if err := authorize(c.By, "change dimensions", access.RolePlanner); err != nil {
		return Result{}, err
	}
	ids, err := s.planIDsAll(ctx)
	if err != nil {
		return Result{}, err
	}
	var users []string
	for _, pid := range ids {
		p, v, err := s.plans.Load(ctx, plan.Stream(pid))
		if err != nil {
			return Result{}, err
		}
		if v > 0 && !p.Discarded() && slices.Contains(p.Dimensions(), dim) {
			users = append(users, pid)
		}
	}
	if len(users) > 0 {
		return Result{}, fmt.Errorf("%w: member %q of dimension %q cannot be removed while plans use the dimension (%s): its targets, actuals and commits may name it; rename it or retire it instead",
			ErrInUse, id, dim, strings.Join(users, ", "))
	}
	return s.updateDimension(ctx, c, "change dimensions", dim, func(d *dimension.Dimension) error {
		return d.Remove(id)
	})
}

func (s *Service) updateDimension(ctx context.Context, c Call, action, id string, decide func(*dimension.Dimension) error) (Result, error) {
	if err := authorize(c.By, action, access.RolePlanner); err != nil {
		return Result{}, err
	}
	if !dimension.ValidID(id) {
		var ps problems
		ps.add(0, "dimension", id, "not a valid dimension id", dimension.ErrInvalidID)
		return Result{}, ps.err()
	}
	stream := dimension.Stream(id)
	res, err := s.dims.Update(ctx, stream, c.expected(), c.command(), decide)
	if err != nil {
		return Result{}, err
	}
	return result(stream, res), nil
}
