package plan

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
)

// ErrIncoherent is returned (as an *IncoherentError) by CheckCoherence
// for targets that do not add up.
var ErrIncoherent = errors.New("plan: targets do not add up")

// Part is one target of an IncoherentError, with its label for people.
type Part struct {
	Node   dimension.Node
	Span   fiscal.Span
	Label  string // the member names ("Pumps × DACH"), or the span's ("FY2027-Q1")
	Amount decimal.Decimal
}

// IncoherentError reports a target and the targets of all of its parts
// — every child of one of its members, or every quarter or month of its
// span — whose sum differs from it.
type IncoherentError struct {
	Metric string
	Parent Part
	Parts  []Part
	Sum    decimal.Decimal
}

func (e *IncoherentError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plan: %s targets do not add up: ", e.Metric)
	for i, p := range e.Parts {
		if i > 0 {
			b.WriteString(" + ")
		}
		fmt.Fprintf(&b, "%s %s", p.Label, Grouped(p.Amount))
	}
	fmt.Fprintf(&b, " = %s, but %s is %s", Grouped(e.Sum), e.Parent.Label, Grouped(e.Parent.Amount))
	return b.String()
}

// Is makes errors.Is(err, ErrIncoherent) true.
func (e *IncoherentError) Is(target error) bool { return target == ErrIncoherent }

// Grouped writes d with thousands separators: "-49,575,000.50".
func Grouped(d decimal.Decimal) string {
	s := d.String()
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	b.WriteString(sign)
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if hasFrac {
		b.WriteString("." + frac)
	}
	return b.String()
}

// coherence looks targets up before and after the commands given since
// the plan was loaded.
type coherence struct {
	p      *Plan
	dims   map[string]*dimension.Dimension
	before map[targetKey]*decimal.Decimal // the amounts the commands changed, as they were (nil: not set)
	after  map[targetKey]*decimal.Decimal // proposed amounts, not yet in p (nil: not set)
}

func (c *coherence) amount(k targetKey, overlay map[targetKey]*decimal.Decimal) (decimal.Decimal, bool) {
	if a, ok := overlay[k]; ok {
		if a == nil {
			return decimal.Decimal{}, false
		}
		return *a, true
	}
	t := c.p.targets.get(k)
	if t == nil {
		return decimal.Decimal{}, false
	}
	return t.amount, true
}

// CheckCoherence checks the targets that the commands given since the
// plan was loaded or created changed — set, revised, cleared, or moved by
// a proposed reallocation as if it were approved — against the targets
// they add up to and that add up to them, in dims, the plan's dimensions:
// a target whose every part has a target (every active child of its member
// in one dimension, or every fiscal quarter or month of its span) must
// equal their sum. It returns an *IncoherentError for each sum the
// commands broke, joined; a sum that did not add up before them is not
// theirs to fix, and is not reported. It records nothing.
func (p *Plan) CheckCoherence(dims []*dimension.Dimension) error {
	c := newCoherence(p, dims)
	for _, e := range p.changes {
		c.note(e)
	}
	return c.incoherences()
}

// CheckReallocation checks, as CheckCoherence does, the targets a
// reallocation of moves over metric and span would leave if approved,
// without recording anything or changing p: the reallocation preview.
func (p *Plan) CheckReallocation(dims []*dimension.Dimension, metric string, span fiscal.Span, moves []Move) error {
	c := newCoherence(p, dims)
	c.note(ReallocationProposed{Metric: metric, Span: span, Moves: moves})
	return c.incoherences()
}

func newCoherence(p *Plan, dims []*dimension.Dimension) *coherence {
	c := &coherence{p: p, dims: map[string]*dimension.Dimension{}, before: map[targetKey]*decimal.Decimal{}, after: map[targetKey]*decimal.Decimal{}}
	for _, d := range dims {
		c.dims[d.ID()] = d
	}
	return c
}

// was notes the amount of k before the commands, the first time k is seen.
func (c *coherence) was(k targetKey, a *decimal.Decimal) {
	if _, seen := c.before[k]; !seen {
		c.before[k] = a
	}
}

// note notes what event e changes.
func (c *coherence) note(e Event) {
	switch e := e.(type) {
	case TargetSet:
		c.was(targetKey{e.Node, e.Metric, e.Span}, nil)
	case TargetRevised:
		c.was(targetKey{e.Node, e.Metric, e.Span}, &e.From)
	case TargetCleared:
		c.was(targetKey{e.Node, e.Metric, e.Span}, &e.From)
	case ReallocationProposed:
		for _, m := range e.Moves {
			k := targetKey{m.Node, e.Metric, e.Span}
			cur, ok := c.amount(k, c.after)
			if !ok {
				continue // a proposal moves set targets only
			}
			to, err := cur.Add(m.Delta)
			if err != nil {
				continue // the proposal checked its sums
			}
			c.after[k] = &to
			c.was(k, &cur)
		}
	}
}

// incoherences returns the sums the noted changes break, ordered by
// message.
func (c *coherence) incoherences() error {
	var errs []error
	seen := map[targetKey]bool{}
	for k := range c.before {
		for _, parent := range c.parents(k) {
			if seen[parent] {
				continue
			}
			seen[parent] = true
			for _, e := range c.check(parent, c.after) {
				if !c.broken(parent, e, c.before) {
					errs = append(errs, e)
				}
			}
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

// broken reports whether the sum e reports did not add up before either.
func (c *coherence) broken(parent targetKey, e *IncoherentError, before map[targetKey]*decimal.Decimal) bool {
	for _, old := range c.check(parent, before) {
		if old.Parent.Span == e.Parent.Span && len(old.Parts) == len(e.Parts) && old.Parts[0].Node == e.Parts[0].Node && old.Parts[0].Span == e.Parts[0].Span {
			return true
		}
	}
	return false
}

// parents returns k and the targets k is a part of: its node with a
// member's parent in one dimension, its span's quarter and year.
func (c *coherence) parents(k targetKey) []targetKey {
	out := []targetKey{k}
	for _, co := range k.node.Coords() {
		d := c.dims[co.Dimension]
		if d == nil {
			continue
		}
		m, ok := d.Member(co.Member)
		if !ok || m.Parent == "" {
			continue
		}
		up := k.node.Without(co.Dimension)
		if m.Parent != d.Root() {
			var err error
			if up, err = k.node.With(co.Dimension, m.Parent); err != nil {
				continue
			}
		}
		out = append(out, targetKey{up, k.metric, k.span})
	}
	cal := c.p.cal
	fy := cal.Year(k.span.First)
	switch k.span.Kind {
	case fiscal.KindMonth:
		out = append(out, targetKey{k.node, k.metric, cal.FiscalQuarter(fy, cal.Quarter(k.span.First))}, targetKey{k.node, k.metric, cal.FiscalYear(fy)})
	case fiscal.KindQuarter:
		out = append(out, targetKey{k.node, k.metric, cal.FiscalYear(fy)})
	}
	return out
}

// check returns the sums of parent's parts that differ from parent, with
// the targets as overlay leaves them.
func (c *coherence) check(parent targetKey, overlay map[targetKey]*decimal.Decimal) []*IncoherentError {
	total, ok := c.amount(parent, overlay)
	if !ok {
		return nil
	}
	var out []*IncoherentError
	for _, parts := range c.partitions(parent) {
		e := &IncoherentError{Metric: parent.metric, Parent: Part{Node: parent.node, Span: parent.span, Amount: total}}
		complete := true
		for _, k := range parts {
			a, ok := c.amount(k, overlay)
			if !ok {
				complete = false
				break
			}
			sum, err := e.Sum.Add(a)
			if err != nil {
				complete = false
				break
			}
			e.Sum = sum
			e.Parts = append(e.Parts, Part{Node: k.node, Span: k.span, Amount: a})
		}
		if !complete || e.Sum.Equal(total) {
			continue
		}
		c.label(e)
		out = append(out, e)
	}
	return out
}

// partitions returns the ways parent divides into parts: the children of
// each of its members (its node at a dimension's root counts the root's
// children), then its span's quarters and months.
func (c *coherence) partitions(parent targetKey) [][]targetKey {
	var out [][]targetKey
	for _, id := range c.p.dims {
		d := c.dims[id]
		if d == nil {
			continue
		}
		m, ok := parent.node.Member(id)
		if !ok {
			m = d.Root()
		}
		kids := d.Children(m)
		if len(kids) == 0 {
			continue
		}
		parts := make([]targetKey, 0, len(kids))
		for _, kid := range kids {
			n, err := parent.node.With(id, kid)
			if err != nil {
				parts = nil
				break
			}
			parts = append(parts, targetKey{n, parent.metric, parent.span})
		}
		if parts != nil {
			out = append(out, parts)
		}
	}
	s := parent.span
	if s.Kind == fiscal.KindYear {
		fy := c.p.cal.Year(s.First)
		quarters := make([]targetKey, 4)
		for q := range quarters {
			quarters[q] = targetKey{parent.node, parent.metric, c.p.cal.FiscalQuarter(fy, q+1)}
		}
		out = append(out, quarters)
	}
	if s.Kind == fiscal.KindYear || s.Kind == fiscal.KindQuarter {
		months := make([]targetKey, 0, s.Len())
		for _, per := range s.Periods() {
			months = append(months, targetKey{parent.node, parent.metric, fiscal.Month(per)})
		}
		out = append(out, months)
	}
	return out
}

// label names the parent and parts of e: by member names when the parts
// are the children of a member, by span otherwise ("EMEA FY2027-Q1").
func (c *coherence) label(e *IncoherentError) {
	bySpan := e.Parts[0].Span != e.Parent.Span
	e.Parent.Label = c.nodeLabel(e.Parent.Node) + " " + c.p.cal.Format(e.Parent.Span)
	for i := range e.Parts {
		if bySpan {
			e.Parts[i].Label = c.p.cal.Format(e.Parts[i].Span)
		} else {
			e.Parts[i].Label = c.nodeLabel(e.Parts[i].Node)
		}
	}
}

// nodeLabel names node by its members' names in the plan's dimension
// order ("Pumps × DACH"), "Total" for the total.
func (c *coherence) nodeLabel(n dimension.Node) string {
	var names []string
	for _, id := range c.p.dims {
		m, ok := n.Member(id)
		if !ok {
			continue
		}
		name := m
		if d := c.dims[id]; d != nil {
			if mem, ok := d.Member(m); ok {
				name = mem.Name
			}
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return "Total"
	}
	return strings.Join(names, " × ")
}

// CascadeTarget revises the target of node, metric and span to amount, as
// ReviseTarget does, and then every target that added up to it — every
// part of a partition (the children of one of its members, or the quarters
// or months of its span) whose parts all have targets summing to its old
// amount — in proportion to their current amounts (equal parts when they
// sum to zero), and so on down; each part's amount is rounded to the
// scale of amount, the last part of a partition taking the rounding. Each
// target is revised once. dims are the plan's dimensions. It returns
// ReviseTarget's errors, for the target and for any part.
func (p *Plan) CascadeTarget(dims []*dimension.Dimension, node dimension.Node, metric string, span fiscal.Span, amount decimal.Decimal, reason, by string) error {
	c := newCoherence(p, dims)
	return c.cascade(targetKey{node, metric, span}, amount, reason, by, map[targetKey]bool{})
}

func (c *coherence) cascade(k targetKey, amount decimal.Decimal, reason, by string, done map[targetKey]bool) error {
	old, ok := c.amount(k, nil)
	if err := c.p.ReviseTarget(k.node, k.metric, k.span, amount, reason, by); err != nil {
		return err
	}
	done[k] = true
	if !ok {
		return nil
	}
	var errs []error
	for _, parts := range c.partitions(k) {
		olds := make([]decimal.Decimal, len(parts))
		var sum decimal.Decimal
		complete := true
		for i, part := range parts {
			a, ok := c.amount(part, nil)
			if !ok || done[part] {
				complete = false
				break
			}
			olds[i] = a
			var err error
			if sum, err = sum.Add(a); err != nil {
				complete = false
				break
			}
		}
		if !complete || !sum.Equal(old) {
			continue // not a sum of this target's: nothing to keep
		}
		news, err := shares(olds, sum, amount)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for i, part := range parts {
			if news[i].Equal(olds[i]) {
				done[part] = true
				continue
			}
			errs = append(errs, c.cascade(part, news[i], reason, by, done))
		}
	}
	return errors.Join(errs...)
}

// shares divides amount in proportion to olds (which sum to sum; equal
// parts when sum is zero), at amount's scale, the last share taking what
// rounding leaves so that the shares add up to amount exactly.
func shares(olds []decimal.Decimal, sum, amount decimal.Decimal) ([]decimal.Decimal, error) {
	out := make([]decimal.Decimal, len(olds))
	rest := amount
	for i := range olds[:len(olds)-1] {
		w := 1 / float64(len(olds))
		if !sum.IsZero() {
			w = olds[i].Float64() / sum.Float64()
		}
		v, err := decimal.Parse(strconv.FormatFloat(amount.Float64()*w, 'f', amount.Scale(), 64))
		if err != nil {
			return nil, fmt.Errorf("%w: a share of %v: %v", ErrInvalid, amount, err)
		}
		out[i] = v
		if rest, err = rest.Sub(v); err != nil {
			return nil, fmt.Errorf("%w: a share of %v: %v", ErrInvalid, amount, err)
		}
	}
	out[len(out)-1] = rest
	return out, nil
}
