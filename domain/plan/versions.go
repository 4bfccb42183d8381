package plan

import (
	"errors"
	"fmt"
	"strings"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/text"
)

// MaxTagLen is the longest version tag, in bytes.
const MaxTagLen = 100

// TagVersion records tag as the name of the plan's current version, the
// version of its last event (recorded events included), by actor by. The
// tag is trimmed. It returns ErrNotOpened, ErrInvalid (a blank tag, or one
// longer than MaxTagLen), ErrTagExists (tags are unique; case matters) or
// ErrActorRequired.
func (p *Plan) TagVersion(tag, by string) error {
	if err := p.opened(); err != nil {
		return err
	}
	tag = strings.TrimSpace(tag)
	var errs []error
	if tag == "" || len(tag) > MaxTagLen {
		errs = append(errs, fmt.Errorf("%w: tag %q must be 1 to %d bytes, not blank", ErrInvalid, tag, MaxTagLen))
	} else if v, ok := p.Tag(tag); ok {
		errs = append(errs, fmt.Errorf("%w: %q names version %d", ErrTagExists, tag, v))
	}
	errs = append(errs, text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	p.record(VersionTagged{Tag: tag, Version: p.version, By: by})
	return nil
}

// ApproveVersion records the approval, by actor by with an optional
// comment, of the plan as the approver saw it at version seen, optionally
// named by tag. The approval stands only if the plan's numbers are the ones
// seen: it returns a *StaleError (ErrStale) when an event after seen (or
// after the version tag names) changed them — tags, approvals and
// reallocation proposals or rejections do not. It also returns
// ErrNotOpened, ErrUnknownVersion (seen is 0 or beyond the plan's version),
// ErrUnknownTag or ErrActorRequired.
func (p *Plan) ApproveVersion(seen uint64, tag, by, comment string) error {
	if err := p.opened(); err != nil {
		return err
	}
	var errs []error
	if seen == 0 || seen > p.version {
		errs = append(errs, fmt.Errorf("%w: version %d (the plan is at version %d)", ErrUnknownVersion, seen, p.version))
	} else if seen < p.changedAt {
		errs = append(errs, &StaleError{Seen: seen, ChangedAt: p.changedAt, Current: p.version})
	}
	if tag != "" {
		switch v, ok := p.Tag(tag); {
		case !ok:
			errs = append(errs, fmt.Errorf("%w: %q", ErrUnknownTag, tag))
		case v < p.changedAt:
			errs = append(errs, &StaleError{Seen: v, Tag: tag, ChangedAt: p.changedAt, Current: p.version})
		}
	}
	errs = append(errs, text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid))
	if len(comment) > MaxTextLen {
		errs = append(errs, fmt.Errorf("%w: comment is longer than %d bytes", ErrInvalid, MaxTextLen))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	p.record(VersionApproved{Version: seen, Tag: tag, By: by, Comment: strings.TrimSpace(comment)})
	return nil
}

// RollHorizon moves the rolling horizon to start at the period after
// closed, keeping its length. It records nothing when the horizon already
// starts after closed. It returns ErrNotOpened, or ErrInvalid for an
// invalid period.
func (p *Plan) RollHorizon(closed fiscal.Period) error {
	if err := p.opened(); err != nil {
		return err
	}
	if !closed.Valid() || !closed.Add(1).Valid() {
		return fmt.Errorf("%w: closed period %v", ErrInvalid, closed)
	}
	to := closed.Add(1)
	if to <= p.horizonStart {
		return nil
	}
	p.record(HorizonRolled{From: p.horizonStart, To: to})
	return nil
}

// ReturnHorizon moves the rolling horizon back to start at reopened, a
// period reopened after its close rolled the horizon past it: it records
// HorizonRolled from the period after reopened to reopened. It records
// nothing when the horizon does not start right after reopened (the close
// did not roll it) or when reopened is before the horizon the plan was
// opened with. It returns ErrNotOpened, or ErrInvalid for an invalid
// period.
func (p *Plan) ReturnHorizon(reopened fiscal.Period) error {
	if err := p.opened(); err != nil {
		return err
	}
	if !reopened.Valid() || !reopened.Add(1).Valid() {
		return fmt.Errorf("%w: reopened period %v", ErrInvalid, reopened)
	}
	if p.horizonStart != reopened.Add(1) || reopened < p.openedStart {
		return nil
	}
	p.record(HorizonRolled{From: p.horizonStart, To: reopened})
	return nil
}

// Rename records a new display name for the plan, by actor by: a plan
// opened under a mistaken name is renamed at any time. Renaming to the
// current name records nothing. It returns ErrNotOpened, ErrInvalid for a
// blank or too long name, ErrActorRequired.
func (p *Plan) Rename(name, by string) error {
	if err := p.opened(); err != nil {
		return err
	}
	var errs []error
	if !dimension.ValidName(name) {
		errs = append(errs, fmt.Errorf("%w: plan name %q must not be blank nor longer than %d bytes", ErrInvalid, name, dimension.MaxNameLen))
	}
	errs = append(errs, text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if name = strings.TrimSpace(name); name == p.name {
		return nil
	}
	p.record(Renamed{From: p.name, To: name, By: by})
	return nil
}

// Discard records that the plan, opened by mistake, is given up
// (Discarded), by actor by for reason: while nothing refers to it, that
// is while it holds no targets, reallocations, version tags or approvals
// (the caller checks what lies outside the plan, such as commits). It
// returns ErrNotOpened (also for a plan discarded already), ErrInUse
// saying what the plan holds, ErrReasonRequired, ErrActorRequired.
func (p *Plan) Discard(reason, by string) error {
	if err := p.opened(); err != nil {
		return err
	}
	var held []string
	if n := p.targets.len(); n > 0 {
		held = append(held, fmt.Sprintf("%d targets (clear them first)", n))
	}
	if n := len(p.reallocs); n > 0 {
		held = append(held, fmt.Sprintf("%d reallocations", n))
	}
	if n := len(p.tags) + len(p.approved); n > 0 {
		held = append(held, fmt.Sprintf("%d version tags and approvals", n))
	}
	errs := []error{text.Check("reason", reason, MaxTextLen, ErrReasonRequired, ErrInvalid), text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid)}
	if len(held) > 0 {
		errs = append(errs, fmt.Errorf("%w: plan %q holds %s", ErrInUse, p.id, strings.Join(held, ", ")))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	p.record(Discarded{Reason: strings.TrimSpace(reason), By: by})
	return nil
}
