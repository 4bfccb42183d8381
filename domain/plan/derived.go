package plan

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/text"
)

// TypeMetricDerived is the stable type name of MetricDerived.
const TypeMetricDerived = "plan.MetricDerived"

// Operator is how a derived metric combines its two operands.
type Operator string

// The operators of a formula. A ratio and a difference are left op right.
const (
	OpSum        Operator = "+"
	OpDifference Operator = "-"
	OpProduct    Operator = "*"
	OpRatio      Operator = "/"
)

// Formula is a derived metric's definition over two other metrics of the
// same node and period: Left Op Right.
//
// How it is evaluated at a node of any level (the read side follows this):
//   - a sum or a difference is linear: the same whether summed up the
//     hierarchy or computed from the node's own sums;
//   - a ratio is the ratio of the node's own sums (gross-margin % of a
//     region is its margin over its revenue), never a sum of ratios; it is
//     given as a percentage (100 × left / right);
//   - a product is the sum over the node's cells and months of each cell's
//     and month's product (revenue = price × units, summed), never the
//     product of sums. Its operands are therefore measured metrics.
//
// A ratio whose denominator is zero is undefined (null), reported per node
// and figure; it is never 0 nor infinite.
type Formula struct {
	Left  string   `json:"left"`
	Op    Operator `json:"op"`
	Right string   `json:"right"`
}

// String returns the formula as written, e.g. "margin / revenue".
func (f Formula) String() string { return f.Left + " " + string(f.Op) + " " + f.Right }

// ParseFormula reads "left op right" with op one of + - * / and two metric
// ids. Metric ids may hold '-': with spaces around the operator
// ("gross-margin - cost") the formula is read by them; without, it must
// split one way only into two ids ("price*units"). It returns ErrInvalid
// saying what is wrong.
func ParseFormula(s string) (Formula, error) {
	s = strings.TrimSpace(s)
	isOp := func(o string) bool {
		switch Operator(o) {
		case OpSum, OpDifference, OpProduct, OpRatio:
			return true
		}
		return false
	}
	if f := strings.Fields(s); len(f) == 3 && isOp(f[1]) {
		var errs []error
		for _, side := range []struct{ name, id string }{{"left", f[0]}, {"right", f[2]}} {
			if !dimension.ValidID(side.id) {
				errs = append(errs, fmt.Errorf("%w: formula %q: %s operand %q is not a metric id", ErrInvalid, s, side.name, side.id))
			}
		}
		if err := errors.Join(errs...); err != nil {
			return Formula{}, err
		}
		return Formula{Left: f[0], Op: Operator(f[1]), Right: f[2]}, nil
	}
	var found []Formula
	for i := 1; i < len(s)-1; i++ {
		f := Formula{Left: strings.TrimSpace(s[:i]), Op: Operator(s[i : i+1]), Right: strings.TrimSpace(s[i+1:])}
		if isOp(string(f.Op)) && dimension.ValidID(f.Left) && dimension.ValidID(f.Right) {
			found = append(found, f)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return Formula{}, fmt.Errorf("%w: formula %q: want \"metric op metric\" with op one of + - * / and two metric ids, e.g. \"gross-margin / net-revenue\"", ErrInvalid, s)
	}
	return Formula{}, fmt.Errorf("%w: formula %q reads as %q or %q: put spaces around the operator", ErrInvalid, s, found[0], found[1])
}

// MetricDerived records a derived metric of the plan: a metric computed by
// Formula from two others, never set nor recorded itself.
type MetricDerived struct {
	Metric  Metric  `json:"metric"`
	Formula Formula `json:"formula"`
	By      string  `json:"by"`
}

func (MetricDerived) planEvent() {}

// DerivedMetric is a derived metric as the plan holds it.
type DerivedMetric struct {
	Metric
	Formula Formula
}

// DeriveMetric records (MetricDerived) a derived metric m defined by f, by
// actor by. The operands must be metrics of the plan, measured or derived
// before; a product's operands must be measured metrics (see Formula). It
// returns ErrNotOpened, ErrActorRequired, and ErrInvalid naming every
// problem: a bad id or name, an id the plan uses already, an unknown
// operand, a formula that refers to the metric itself (a cycle), a product
// of derived metrics.
func (p *Plan) DeriveMetric(m Metric, f Formula, by string) error {
	if err := p.opened(); err != nil {
		return err
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: derived metric %q: "+format, append([]any{ErrInvalid, m.ID}, args...)...))
	}
	m.Name, m.Unit = strings.TrimSpace(m.Name), strings.TrimSpace(m.Unit)
	if !dimension.ValidID(m.ID) {
		bad("id must be 1 to %d letters, digits, '_', '.' or '-', starting with a letter or digit", dimension.MaxIDLen)
	} else if _, ok := p.Metric(m.ID); ok {
		bad("the plan has a metric %q already", m.ID)
	} else if _, ok := p.DerivedMetric(m.ID); ok {
		bad("the plan has a derived metric %q already", m.ID)
	}
	if !dimension.ValidName(m.Name) {
		bad("name %q must not be blank nor longer than %d bytes", m.Name, dimension.MaxNameLen)
	}
	if len(m.Unit) > dimension.MaxNameLen {
		bad("unit is longer than %d bytes", dimension.MaxNameLen)
	}
	switch f.Op {
	case OpSum, OpDifference, OpProduct, OpRatio:
	default:
		bad("operator %q: want one of + - * /", f.Op)
	}
	for _, side := range []struct{ name, id string }{{"left", f.Left}, {"right", f.Right}} {
		switch {
		case side.id == m.ID:
			bad("formula %s refers to the metric itself (a cycle)", f)
		case p.measures(side.id):
		case p.derives(side.id):
			if f.Op == OpProduct {
				bad("formula %s: a product's operands must be measured metrics, and %q is derived", f, side.id)
			}
		default:
			bad("formula %s: %s operand %q is not a metric of plan %s", f, side.name, side.id, p.id)
		}
	}
	m.NonNegative = false
	errs = append(errs, text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	p.record(MetricDerived{Metric: m, Formula: f, By: by})
	return nil
}

func (p *Plan) measures(id string) bool { _, ok := p.Metric(id); return ok }
func (p *Plan) derives(id string) bool  { _, ok := p.DerivedMetric(id); return ok }

// DerivedMetrics returns the plan's derived metrics in the order defined.
func (p *Plan) DerivedMetrics() []DerivedMetric { return slices.Clone(p.derived) }

// DerivedMetric returns the derived metric id and whether the plan has it.
func (p *Plan) DerivedMetric(id string) (DerivedMetric, bool) {
	for _, d := range p.derived {
		if d.ID == id {
			return d, true
		}
	}
	return DerivedMetric{}, false
}

// Scaled returns the measured metrics, in the plan's order, that a change
// of metric by a percentage scales by that percentage when the derived
// ratios holding name are kept unchanged (driver planning):
//   - a measured metric scales itself;
//   - a derived ratio scales its left operand (its right one held), a
//     derived sum or difference both its operands; a derived product is
//     ambiguous (which factor moves?) and refused;
//   - a held ratio left / right one of whose operands is scaled scales the
//     other too (units −2% holding price = revenue / units: revenue −2%).
//
// It returns ErrInvalid naming a metric the plan neither measures nor
// derives, a product to scale, and a held metric that is not a ratio.
func (p *Plan) Scaled(metric string, holding []string) ([]string, error) {
	var errs []error
	held := make([]DerivedMetric, 0, len(holding))
	for _, h := range holding {
		d, ok := p.DerivedMetric(h)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%w: holding %q: plan %s derives no such metric (a held metric is a derived ratio)", ErrInvalid, h, p.id))
		case d.Formula.Op != OpRatio:
			errs = append(errs, fmt.Errorf("%w: holding %q: %s is not a ratio (only a ratio is held by scaling its other operand)", ErrInvalid, h, d.Formula))
		default:
			held = append(held, d)
		}
	}
	seen := map[string]bool{}
	queue := []string{metric}
	for len(queue) > 0 {
		m := queue[0]
		queue = queue[1:]
		if seen[m] {
			continue
		}
		seen[m] = true
		if d, ok := p.DerivedMetric(m); ok {
			switch d.Formula.Op {
			case OpRatio:
				queue = append(queue, d.Formula.Left)
			case OpSum, OpDifference:
				queue = append(queue, d.Formula.Left, d.Formula.Right)
			default:
				errs = append(errs, fmt.Errorf("%w: metric %q is %s: a change of a product is ambiguous; change %s or %s instead", ErrInvalid, m, d.Formula, d.Formula.Left, d.Formula.Right))
			}
		} else if !p.measures(m) {
			errs = append(errs, fmt.Errorf("%w: metric %q: plan %s neither measures nor derives it", ErrInvalid, m, p.id))
		}
		for _, d := range held {
			switch m {
			case d.Formula.Left:
				queue = append(queue, d.Formula.Right)
			case d.Formula.Right:
				queue = append(queue, d.Formula.Left)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []string
	for _, m := range p.Metrics() {
		if seen[m.ID] {
			out = append(out, m.ID)
		}
	}
	return out, nil
}
