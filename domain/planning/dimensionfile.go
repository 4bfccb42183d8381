package planning

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
)

// MemberRow is one row of a dimensions file: Member of Dimension, named
// Name, under Parent. The row with no parent is the dimension's root.
type MemberRow struct {
	Line                            int // the row's line in the file (1-based); 0 means its position
	Dimension, Member, Name, Parent string
}

// ChangeKind is what a DimensionChange does.
type ChangeKind string

// The kinds of dimension change, each recorded as the event of the same
// name.
const (
	ChangeDefine ChangeKind = "define" // dimension.Defined
	ChangeAdd    ChangeKind = "add"    // dimension.MemberAdded
	ChangeRename ChangeKind = "rename" // dimension.MemberRenamed
	ChangeMove   ChangeKind = "move"   // dimension.MemberMoved
	ChangeRetire ChangeKind = "retire" // dimension.MemberRetired
)

// DimensionChange is one change a dimensions file makes to the store: From
// is the member's name (rename) or parent (move) before; Name and Parent
// are as the file gives them.
type DimensionChange struct {
	Line      int // the file's row that calls for it (0 for a retire: no row names the member)
	Kind      ChangeKind
	Dimension string
	Member    string
	Name      string
	Parent    string
	From      string
}

// String describes the change for people, e.g. `move region/dach: emea → europe (line 7)`.
func (c DimensionChange) String() string {
	what := c.Dimension + "/" + c.Member
	var s string
	switch c.Kind {
	case ChangeDefine:
		s = fmt.Sprintf("define dimension %s with root %s %q", c.Dimension, c.Member, c.Name)
	case ChangeAdd:
		s = fmt.Sprintf("add    %s %q under %s", what, c.Name, c.Parent)
	case ChangeRename:
		s = fmt.Sprintf("rename %s: %q → %q", what, c.From, c.Name)
	case ChangeMove:
		s = fmt.Sprintf("move   %s: from %s to %s", what, c.From, c.Parent)
	case ChangeRetire:
		s = fmt.Sprintf("retire %s %q (not in the file)", what, c.Name)
	}
	if c.Line > 0 {
		s += fmt.Sprintf(" (line %d)", c.Line)
	}
	return s
}

// DimensionImport reports what ImportDimensions did (or, dry, would do):
// the changes in the order they are recorded, and a Result per dimension
// written.
type DimensionImport struct {
	Changes []DimensionChange
	Results []Result
}

// ImportDimensions makes the dimensions a file describes (rows: one or
// more hierarchies) what the store holds (planner). The whole file is
// checked first, every problem reported by line in one *ValidationError
// and nothing written: ids and names, one root per dimension (a defined
// dimension's root cannot change), members listed twice, parents the file
// does not list, cycles, and ids of retired members (never reused). Then
// each dimension is compared with the store and the differences are
// recorded as the matching events, in one append per dimension: define,
// add, rename, move (top-down, so no move passes through a cycle) and
// retire (members of the dimension the file leaves out, deepest first).
// Importing the same file again records nothing. With dry, nothing is
// recorded and the changes are returned all the same.
func (s *Service) ImportDimensions(ctx context.Context, c Call, rows []MemberRow, dry bool) (DimensionImport, error) {
	if err := authorize(c.By, "define dimensions", access.RolePlanner); err != nil {
		return DimensionImport{}, err
	}
	files, err := readHierarchies(rows)
	if err != nil {
		return DimensionImport{}, err
	}
	var ps problems
	var out DimensionImport
	loaded := make([]*dimension.Dimension, len(files))
	for i, f := range files {
		d, _, err := s.dims.Load(ctx, dimension.Stream(f.id))
		if err != nil {
			return DimensionImport{}, err
		}
		loaded[i] = d
		changes, err := f.diff(d)
		if err != nil {
			ps.addErr(f.rows[0].Line, "", "", err)
			continue
		}
		out.Changes = append(out.Changes, changes...)
	}
	if err := ps.err(); err != nil {
		return DimensionImport{}, err
	}
	if dry {
		return out, nil
	}
	for _, f := range files {
		stream := dimension.Stream(f.id)
		res, err := s.dims.Update(ctx, stream, eventstore.Any, c.command(), func(d *dimension.Dimension) error {
			changes, err := f.diff(d)
			if err != nil {
				return err
			}
			return applyDimensionChanges(d, changes)
		})
		if err != nil {
			return out, fmt.Errorf("planning: dimension %q (the dimensions before it were written; import the file again to complete): %w", f.id, err)
		}
		if res.Position != eventstore.Start {
			out.Results = append(out.Results, result(stream, res))
		}
	}
	return out, nil
}

// applyDimensionChanges gives d the commands of changes, in order.
func applyDimensionChanges(d *dimension.Dimension, changes []DimensionChange) error {
	for _, ch := range changes {
		var err error
		switch ch.Kind {
		case ChangeDefine:
			err = d.Define(ch.Dimension, dimensionName(ch.Dimension), ch.Member, ch.Name)
		case ChangeAdd:
			err = d.Add(ch.Member, ch.Name, ch.Parent)
		case ChangeRename:
			err = d.Rename(ch.Member, ch.Name)
		case ChangeMove:
			err = d.Move(ch.Member, ch.Parent)
		case ChangeRetire:
			err = d.Retire(ch.Member)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", ch, err)
		}
	}
	return nil
}

// dimensionName is the display name of a dimension a file defines: its id
// with its first letter in capitals and dashes as spaces ("sales-channel"
// is "Sales channel").
func dimensionName(id string) string {
	name := strings.NewReplacer("-", " ", "_", " ").Replace(id)
	return strings.ToUpper(name[:1]) + name[1:]
}

// hierarchy is one dimension as a file describes it.
type hierarchy struct {
	id    string
	root  MemberRow
	rows  []MemberRow          // in file order
	byID  map[string]MemberRow // member → its row
	depth map[string]int       // member → its depth below the root
}

// readHierarchies groups rows by dimension, in the order dimensions first
// appear, and checks each as a whole: every problem of every row comes
// back in one *ValidationError.
func readHierarchies(rows []MemberRow) ([]*hierarchy, error) {
	var ps problems
	if len(rows) == 0 {
		ps.add(0, "rows", "", "the file lists no members", nil)
		return nil, ps.err()
	}
	var out []*hierarchy
	byDim := map[string]*hierarchy{}
	for i, r := range rows {
		if r.Line == 0 {
			rows[i].Line, r.Line = i+1, i+1
		}
		ok := true
		if !dimension.ValidID(r.Dimension) {
			ps.add(r.Line, "dimension", r.Dimension, "not a valid dimension id: 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit", dimension.ErrInvalidID)
			ok = false
		}
		if !dimension.ValidID(r.Member) {
			ps.add(r.Line, "member", r.Member, "not a valid member id: 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit", dimension.ErrInvalidID)
			ok = false
		}
		if !dimension.ValidName(r.Name) {
			ps.add(r.Line, "name", r.Name, fmt.Sprintf("a name is 1 to %d bytes of text, not blank", dimension.MaxNameLen), dimension.ErrInvalidName)
		}
		if r.Parent != "" && !dimension.ValidID(r.Parent) {
			ps.add(r.Line, "parent", r.Parent, "not a valid member id (leave it empty for the dimension's root)", dimension.ErrInvalidID)
		}
		if !ok {
			continue
		}
		h := byDim[r.Dimension]
		if h == nil {
			h = &hierarchy{id: r.Dimension, byID: map[string]MemberRow{}, depth: map[string]int{}}
			byDim[r.Dimension] = h
			out = append(out, h)
		}
		if prev, twice := h.byID[r.Member]; twice {
			ps.add(r.Line, "member", r.Member, fmt.Sprintf("member %q of dimension %q is listed twice: also on line %d", r.Member, r.Dimension, prev.Line), dimension.ErrDuplicateMember)
			continue
		}
		h.byID[r.Member] = r
		h.rows = append(h.rows, r)
		if r.Parent == "" {
			if h.root.Member != "" {
				ps.add(r.Line, "parent", "", fmt.Sprintf("dimension %q has one root, %q on line %d; give %q a parent", r.Dimension, h.root.Member, h.root.Line, r.Member), dimension.ErrRoot)
				continue
			}
			h.root = r
		}
	}
	for _, h := range out {
		h.check(&ps)
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// check reports a missing root, parents the file does not list and cycles,
// and fills h.depth.
func (h *hierarchy) check(ps *problems) {
	if h.root.Member == "" {
		ps.add(h.rows[0].Line, "parent", h.rows[0].Parent, fmt.Sprintf("dimension %q has no root: one row of it must leave parent empty", h.id), dimension.ErrNotDefined)
		return
	}
	for _, r := range h.rows {
		if r.Parent != "" && h.byID[r.Parent].Member == "" {
			ps.add(r.Line, "parent", r.Parent, fmt.Sprintf("no row of dimension %q lists member %q; list the parent as a member too", h.id, r.Parent), dimension.ErrUnknownMember)
		}
	}
	for _, r := range h.rows {
		path := []string{r.Member}
		for m := h.byID[r.Parent]; m.Member != ""; m = h.byID[m.Parent] {
			if slices.Contains(path, m.Member) {
				ps.add(r.Line, "parent", r.Parent, fmt.Sprintf("member %q is below itself: %s", r.Member, strings.Join(append(path, m.Member), " → ")), dimension.ErrCycle)
				break
			}
			path = append(path, m.Member)
		}
		if len(path) > 0 && path[len(path)-1] == h.root.Member {
			h.depth[r.Member] = len(path) - 1
		}
	}
}

// diff returns the changes that make d (as loaded, possibly not defined)
// what h describes, in the order they are to be recorded. It returns a
// *dimension.MemberError when the file and the store cannot be reconciled:
// another root, or an id of a retired member.
func (h *hierarchy) diff(d *dimension.Dimension) ([]DimensionChange, error) {
	var out []DimensionChange
	if d.ID() == "" {
		out = append(out, DimensionChange{Line: h.root.Line, Kind: ChangeDefine, Dimension: h.id, Member: h.root.Member, Name: h.root.Name})
	} else if d.Root() != h.root.Member {
		return nil, &dimension.MemberError{Dimension: h.id, Member: h.root.Member, Err: dimension.ErrRoot,
			Reason: fmt.Sprintf("the dimension's root is %q; a file cannot change it (give %q the parent %q, or list %q as the root)", d.Root(), h.root.Member, d.Root(), d.Root())}
	}
	ordered := slices.Clone(h.rows)
	slices.SortStableFunc(ordered, func(a, b MemberRow) int { return h.depth[a.Member] - h.depth[b.Member] })
	for _, r := range ordered {
		m, exists := d.Member(r.Member)
		switch {
		case r.Parent == "" && d.ID() == "":
		case !exists:
			out = append(out, DimensionChange{Line: r.Line, Kind: ChangeAdd, Dimension: h.id, Member: r.Member, Name: strings.TrimSpace(r.Name), Parent: r.Parent})
		case m.Retired:
			return nil, &dimension.MemberError{Dimension: h.id, Member: r.Member, Err: dimension.ErrDuplicateMember,
				Reason: fmt.Sprintf("line %d: the id is used by a retired member, and member ids are never reused; give the member another id", r.Line)}
		default:
			if name := strings.TrimSpace(r.Name); name != m.Name {
				out = append(out, DimensionChange{Line: r.Line, Kind: ChangeRename, Dimension: h.id, Member: r.Member, Name: name, Parent: r.Parent, From: m.Name})
			}
			if r.Parent != m.Parent {
				out = append(out, DimensionChange{Line: r.Line, Kind: ChangeMove, Dimension: h.id, Member: r.Member, Name: m.Name, Parent: r.Parent, From: m.Parent})
			}
		}
	}
	// Members the file leaves out: retired, deepest first, so that each
	// has no active children left when its turn comes.
	var gone []dimension.Member
	for _, m := range d.Members() {
		if _, listed := h.byID[m.ID]; !listed && !m.Retired {
			gone = append(gone, m)
		}
	}
	slices.SortStableFunc(gone, func(a, b dimension.Member) int { return len(d.Ancestors(b.ID)) - len(d.Ancestors(a.ID)) })
	for _, m := range gone {
		out = append(out, DimensionChange{Kind: ChangeRetire, Dimension: h.id, Member: m.ID, Name: m.Name, Parent: m.Parent})
	}
	return out, nil
}
