package planning

import (
	"errors"
	"fmt"

	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
)

// fieldOf names the input field a domain error concerns, or "".
func fieldOf(err error) string {
	var row *ledger.RowError
	if errors.As(err, &row) {
		return row.Field
	}
	switch {
	case errors.Is(err, plan.ErrUnknownMetric), errors.Is(err, ledger.ErrInvalidMetric):
		return "metric"
	case errors.Is(err, plan.ErrInvalidSpan):
		return "span"
	case errors.Is(err, plan.ErrUnknownDimension), errors.Is(err, dimension.ErrUnknownDimension),
		errors.Is(err, dimension.ErrUnknownMember), errors.Is(err, dimension.ErrRetired),
		errors.Is(err, dimension.ErrNotLeaf), errors.Is(err, dimension.ErrNodeSyntax),
		errors.Is(err, plan.ErrTargetExists), errors.Is(err, plan.ErrNoTarget),
		errors.Is(err, plan.ErrReallocationPending):
		return "node"
	case errors.Is(err, plan.ErrNegative), errors.Is(err, plan.ErrUnchanged), errors.Is(err, ledger.ErrUnchanged):
		return "amount"
	case errors.Is(err, plan.ErrReasonRequired), errors.Is(err, ledger.ErrReasonRequired),
		errors.Is(err, commit.ErrReasonRequired), errors.Is(err, forecast.ErrReasonRequired):
		return "reason"
	case errors.Is(err, commit.ErrCommentRequired):
		return "comment"
	case errors.Is(err, ledger.ErrWrongPeriod), errors.Is(err, fiscal.ErrSyntax), errors.Is(err, fiscal.ErrRange):
		return "period"
	case errors.Is(err, ledger.ErrImportID), errors.Is(err, ledger.ErrImportReused):
		return "import_id"
	}
	return ""
}

// parseNode reads a node and resolves it against dims to its canonical
// form (roots dropped); problems go to ps.
func parseNode(ps *problems, row int, field, text string, dims []*dimension.Dimension) (dimension.Node, bool) {
	n, err := dimension.ParseNode(text)
	if err != nil {
		ps.addErr(row, field, text, err)
		return dimension.Node{}, false
	}
	r, err := n.Resolve(dims...)
	if err != nil {
		ps.addErr(row, field, text, err)
		return dimension.Node{}, false
	}
	return r, true
}

// parseCell reads a cell: a node naming a leaf of each of dims.
func parseCell(ps *problems, row int, field, text string, dims []*dimension.Dimension) (dimension.Node, bool) {
	n, err := dimension.ParseNode(text)
	if err != nil {
		ps.addErr(row, field, text, err)
		return dimension.Node{}, false
	}
	if err := n.CheckCell(dims...); err != nil {
		ps.addErr(row, field, text, err)
		return dimension.Node{}, false
	}
	r, err := n.Resolve(dims...)
	if err != nil { // CheckCell passed, so this cannot happen; report rather than panic
		ps.addErr(row, field, text, err)
		return dimension.Node{}, false
	}
	return r, true
}

// parseSpan reads a span in p's calendar notation.
func parseSpan(ps *problems, row int, field, text string, p *plan.Plan) (fiscal.Span, bool) {
	s, err := p.Calendar().ParseSpan(text)
	if err != nil {
		ps.add(row, field, text, err.Error(), err)
		return fiscal.Span{}, false
	}
	return s, true
}

// parsePeriod reads a period "YYYY-MM".
func parsePeriod(ps *problems, row int, field, text string) (fiscal.Period, bool) {
	p, err := fiscal.ParsePeriod(text)
	if err != nil {
		ps.add(row, field, text, err.Error(), err)
		return 0, false
	}
	return p, true
}

// parseMetric checks that p measures metric.
func parseMetric(ps *problems, row int, field, metric string, p *plan.Plan) (plan.Metric, bool) {
	m, ok := p.Metric(metric)
	if !ok {
		ids := make([]string, 0, len(p.Metrics()))
		for _, m := range p.Metrics() {
			ids = append(ids, m.ID)
		}
		ps.add(row, field, metric, fmt.Sprintf("plan %q measures no metric %q (it measures %v)", p.ID(), metric, ids), plan.ErrUnknownMetric)
		return plan.Metric{}, false
	}
	return m, true
}

// parseAmount reads a decimal amount; when m is known and non-negative, a
// negative amount is a problem.
func parseAmount(ps *problems, row int, field, text string, m *plan.Metric) (decimal.Decimal, bool) {
	d, err := decimal.Parse(text)
	if err != nil {
		ps.add(row, field, text, err.Error(), err)
		return decimal.Decimal{}, false
	}
	if m != nil && m.NonNegative && d.Sign() < 0 {
		ps.add(row, field, text, fmt.Sprintf("metric %q cannot be negative", m.ID), plan.ErrNegative)
		return decimal.Decimal{}, false
	}
	return d, true
}
