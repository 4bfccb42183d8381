package planning

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/plan"
)

// PlanRow is one row of a plan file: the plan's fields, the same on every
// row, and one metric. Dimensions are dimension ids separated by ';'.
type PlanRow struct {
	Line                                              int // the row's line (1-based); 0 means its position
	Plan, Name, Currency, FiscalYearStart, Dimensions string
	HorizonStart, HorizonMonths                       string
	Metric, MetricName, Unit, NonNegative             string
}

// PlanFromRows reads the plan a plan file describes: the plan's fields
// from its first row (every other row must repeat them), a metric per row.
// Every problem comes back, by line, in one *ValidationError.
func PlanFromRows(rows []PlanRow) (OpenPlan, error) {
	var ps problems
	if len(rows) == 0 {
		ps.add(0, "rows", "", "the file lists no metric: a plan file has one row per metric", nil)
		return OpenPlan{}, ps.err()
	}
	for i := range rows {
		if rows[i].Line == 0 {
			rows[i].Line = i + 1
		}
	}
	first := rows[0]
	out := OpenPlan{ID: first.Plan, Name: first.Name, Currency: first.Currency, HorizonStart: first.HorizonStart}
	if first.Dimensions != "" {
		out.Dimensions = strings.Split(first.Dimensions, ";")
		for i := range out.Dimensions {
			out.Dimensions[i] = strings.TrimSpace(out.Dimensions[i])
		}
	}
	number := func(field, text string, lo, hi int, blank int) int {
		if text == "" && blank > 0 {
			return blank
		}
		n, err := strconv.Atoi(text)
		if err != nil || n < lo || n > hi {
			ps.add(first.Line, field, text, fmt.Sprintf("want a whole number from %d to %d", lo, hi), plan.ErrInvalid)
		}
		return n
	}
	out.FiscalYearStart = number("fiscal_year_start", first.FiscalYearStart, 1, 12, 0)
	out.HorizonMonths = number("horizon_months", first.HorizonMonths, 1, plan.MaxHorizonMonths, plan.DefaultHorizonMonths)
	for _, r := range rows {
		for _, f := range []struct{ field, got, want string }{
			{"plan", r.Plan, first.Plan}, {"name", r.Name, first.Name}, {"currency", r.Currency, first.Currency},
			{"fiscal_year_start", r.FiscalYearStart, first.FiscalYearStart}, {"dimensions", r.Dimensions, first.Dimensions},
			{"horizon_start", r.HorizonStart, first.HorizonStart}, {"horizon_months", r.HorizonMonths, first.HorizonMonths},
		} {
			if f.got != f.want {
				ps.add(r.Line, f.field, f.got, fmt.Sprintf("every row repeats the plan's fields; line %d has %q", first.Line, f.want), plan.ErrInvalid)
			}
		}
		nonNeg, err := strconv.ParseBool(strings.ToLower(r.NonNegative))
		if r.NonNegative == "" {
			nonNeg, err = false, nil
		}
		if err != nil {
			ps.add(r.Line, "non_negative", r.NonNegative, `want "true" or "false"`, plan.ErrInvalid)
		}
		if slices.ContainsFunc(out.Metrics, func(m plan.Metric) bool { return m.ID == r.Metric }) {
			ps.add(r.Line, "metric", r.Metric, "the metric is listed twice", plan.ErrInvalid)
		}
		out.Metrics = append(out.Metrics, plan.Metric{ID: r.Metric, Name: r.MetricName, Unit: r.Unit, NonNegative: nonNeg})
	}
	if err := ps.err(); err != nil {
		return OpenPlan{}, err
	}
	return out, nil
}

// EnsurePlan opens plan in when no plan of its id exists (planner), as
// OpenPlan does, and returns true. When the plan exists with the same
// name, currency, fiscal year, dimensions and metrics it records nothing
// and returns false; when it differs, a *ValidationError names each field
// that differs (a plan's definition does not change: open another plan).
func (s *Service) EnsurePlan(ctx context.Context, c Call, in OpenPlan) (Result, bool, error) {
	if err := authorize(c.By, "open plans", access.RolePlanner); err != nil {
		return Result{}, false, err
	}
	p, v, err := s.plans.Load(ctx, plan.Stream(in.ID))
	if err != nil || v == 0 || !dimension.ValidID(in.ID) {
		if err != nil {
			return Result{}, false, err
		}
		res, err := s.OpenPlan(ctx, c, in)
		return res, err == nil, err
	}
	if p.Discarded() {
		return Result{}, false, fmt.Errorf("%w: plan %q was opened and discarded; plan ids are not reused: give the plan another id", plan.ErrAlreadyOpened, in.ID)
	}
	var ps problems
	differ := func(field, file, store string) {
		if file != store {
			ps.add(0, field, file, fmt.Sprintf("plan %q exists with %s %q; a plan's definition does not change (open a plan of another id)", in.ID, field, store), plan.ErrAlreadyOpened)
		}
	}
	differ("name", strings.TrimSpace(in.Name), p.Name())
	differ("currency", in.Currency, p.Currency())
	differ("fiscal_year_start", strconv.Itoa(in.FiscalYearStart), strconv.Itoa(int(p.Calendar().StartMonth())))
	differ("dimensions", strings.Join(in.Dimensions, ";"), strings.Join(p.Dimensions(), ";"))
	metricText := func(ms []plan.Metric) string {
		var b []string
		for _, m := range ms {
			b = append(b, fmt.Sprintf("%s (%s, %s, non-negative %v)", m.ID, strings.TrimSpace(m.Name), strings.TrimSpace(m.Unit), m.NonNegative))
		}
		return strings.Join(b, "; ")
	}
	differ("metrics", metricText(in.Metrics), metricText(p.Metrics()))
	if err := ps.err(); err != nil {
		return Result{}, false, err
	}
	return Result{Stream: plan.Stream(in.ID), Version: v}, false, nil
}
