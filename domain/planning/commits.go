package planning

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/plan"
)

// SubmitCommit is the input of Service.SubmitCommit.
type SubmitCommit struct {
	ID         string
	Node       string
	Metric     string
	Span       string // a month, fiscal quarter or fiscal year in the plan's notation
	Amount     string
	Confidence string // "commit" or "best_case"
	Comment    string
}

// SubmitCommit records a sales commit for plan planID (sales, for nodes
// its scopes cover; planner), in the plan's book of commits at
// Call.IfMatch. It returns a *ValidationError for bad input (a node, metric
// or span the plan does not have, a negative amount for a non-negative
// metric), a *ForbiddenError for a node out of scope, plan.ErrNotOpened,
// and the book's refusals (commit.ErrDuplicate, ErrCommentRequired …).
func (s *Service) SubmitCommit(ctx context.Context, c Call, planID string, in SubmitCommit) (Result, error) {
	const action = "submit commits"
	if err := authorize(c.By, action, access.RoleSales, access.RolePlanner); err != nil {
		return Result{}, err
	}
	p, _, dims, err := s.openPlan(ctx, planID)
	if err != nil {
		return Result{}, err
	}
	var ps problems
	node, okNode := parseNode(&ps, 0, "node", in.Node, dims)
	m, okMetric := parseMetric(&ps, 0, "metric", in.Metric, p)
	span, okSpan := parseSpan(&ps, 0, "span", in.Span, p)
	if okSpan && span.Kind == fiscal.KindRange {
		ps.add(0, "span", in.Span, "a commit is for a month, a fiscal quarter or a fiscal year", commit.ErrInvalid)
	}
	var metric *plan.Metric
	if okMetric {
		metric = &m
	}
	amount, _ := parseAmount(&ps, 0, "amount", in.Amount, metric)
	if err := ps.err(); err != nil {
		return Result{}, err
	}
	if okNode {
		if err := checkScope(c.By, action, []dimension.Node{node}, dims); err != nil {
			return Result{}, err
		}
	}
	stream := commit.Stream(planID)
	res, err := s.books.Update(ctx, stream, c.expected(), c.command(), func(b *commit.Book) error {
		return b.Submit(commit.Submitted{ID: in.ID, Plan: planID, Node: node, Metric: in.Metric, Span: span, Amount: amount,
			Confidence: commit.Confidence(in.Confidence), Comment: in.Comment, By: c.By.Actor})
	})
	if err != nil {
		return Result{}, err
	}
	return result(stream, res), nil
}

// WithdrawCommit withdraws current commit id of plan planID (sales, for
// nodes its scopes cover; planner). It returns commit.ErrUnknown,
// ErrNotCurrent or ErrReasonRequired, and a *ForbiddenError for a commit
// out of scope.
func (s *Service) WithdrawCommit(ctx context.Context, c Call, planID, id, reason string) (Result, error) {
	const action = "withdraw commits"
	if err := authorize(c.By, action, access.RoleSales, access.RolePlanner); err != nil {
		return Result{}, err
	}
	_, _, dims, err := s.openPlan(ctx, planID)
	if err != nil {
		return Result{}, err
	}
	stream := commit.Stream(planID)
	res, err := s.books.Update(ctx, stream, c.expected(), c.command(), func(b *commit.Book) error {
		if e, ok := b.Entry(id); ok {
			if err := checkScope(c.By, action, []dimension.Node{e.Node}, dims); err != nil {
				return err
			}
		}
		return b.Withdraw(id, c.By.Actor, reason)
	})
	if err != nil {
		return Result{}, err
	}
	return result(stream, res), nil
}

// Series is one node's forecast, as given to PublishForecast.
type Series struct {
	Node                         string
	First                        string // "YYYY-MM"
	Mean, Lo80, Hi80, Lo95, Hi95 []float64
	Model                        string
	Detail                       json.RawMessage // the forecaster's description of the series, or empty
}

// PublishForecast is the input of Service.PublishForecast.
type PublishForecast struct {
	RunID        string
	Metric       string
	DataPosition string // eventstore.Position text
	Seed         uint64
	Model        json.RawMessage
	Series       []Series
}

// PublishForecast publishes forecast run in.RunID of plan planID
// (planner), in the run's stream at Call.IfMatch. Series nodes must
// resolve against the plan's dimensions and the metric must be the plan's
// (problems of series i are numbered row i+1); the run checks the rest
// (forecast.ErrInvalidSeries, ErrAlreadyPublished, ErrMismatch …). The
// run's parts and seal are appended in appends of at most
// forecast.AppendSize bytes; the Result is that of the last (the seal).
func (s *Service) PublishForecast(ctx context.Context, c Call, planID string, in PublishForecast) (Result, error) {
	if err := authorize(c.By, "publish forecasts", access.RolePlanner); err != nil {
		return Result{}, err
	}
	p, _, dims, err := s.openPlan(ctx, planID)
	if err != nil {
		return Result{}, err
	}
	var ps problems
	parseMetric(&ps, 0, "metric", in.Metric, p)
	if !dimension.ValidID(in.RunID) {
		ps.add(0, "run_id", in.RunID, "not a valid run id", forecast.ErrInvalid)
	}
	series := make([]forecast.Series, 0, len(in.Series))
	for i, sr := range in.Series {
		n, okNode := parseNode(&ps, i+1, "node", sr.Node, dims)
		first, okFirst := parsePeriod(&ps, i+1, "first", sr.First)
		if okNode && okFirst {
			series = append(series, forecast.Series{Node: n, First: first, Mean: sr.Mean, Lo80: sr.Lo80, Hi80: sr.Hi80,
				Lo95: sr.Lo95, Hi95: sr.Hi95, Model: sr.Model, Detail: sr.Detail})
		}
	}
	if err := ps.err(); err != nil {
		return Result{}, err
	}
	stream := forecast.Stream(in.RunID)
	cmd := c.command()
	cmd.MaxAppendBytes = forecast.AppendSize
	res, err := s.runs.Update(ctx, stream, c.expected(), cmd, func(r *forecast.Run) error {
		return r.Publish(forecast.Published{RunID: in.RunID, Plan: planID, Metric: in.Metric, DataPosition: in.DataPosition,
			Seed: in.Seed, Model: in.Model, Series: series})
	})
	if err != nil {
		return Result{}, err
	}
	return result(stream, res), nil
}

// ForecastRequest is one run RequestForecasts recorded (or found recorded
// by an earlier call with the same key).
type ForecastRequest struct {
	RunID   string
	Metric  string
	Through fiscal.Period
	Result  Result
}

// RequestForecasts asks for a statistical forecast of every metric of plan
// planID from the actuals up to period through ("YYYY-MM"), without
// waiting for a period close (planner): it records one forecast.Requested
// per metric, which the reforecast process turns into a published
// forecast, as it does for the requests a period close makes. key makes
// the request idempotent: the run ids are a function of the plan, metric,
// period and key, so a call repeated with the same key records nothing
// again. reason says why (e.g. "actuals imported").
func (s *Service) RequestForecasts(ctx context.Context, c Call, planID, through, key, reason string) ([]ForecastRequest, error) {
	if err := authorize(c.By, "request forecasts", access.RolePlanner); err != nil {
		return nil, err
	}
	var ps problems
	last, _ := parsePeriod(&ps, 0, "through", through)
	if strings.TrimSpace(key) == "" {
		ps.add(0, "key", key, "a request needs a key (an import id, an Idempotency-Key)", forecast.ErrInvalid)
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	p, _, err := s.Plan(ctx, c.By, planID)
	if err != nil {
		return nil, err
	}
	var out []ForecastRequest
	for _, m := range p.Metrics() {
		sum := sha256.Sum256([]byte(planID + "\x00" + m.ID + "\x00" + last.String() + "\x00" + key))
		id := "forecast-" + hex.EncodeToString(sum[:16])
		stream := forecast.Stream(id)
		res, err := s.runs.Update(ctx, stream, eventstore.NoStream, c.command(), func(r *forecast.Run) error {
			return r.Request(id, planID, m.ID, reason, last)
		})
		if err != nil && !errors.Is(err, eventstore.ErrConflict) && !errors.Is(err, forecast.ErrAlreadyRequested) {
			return out, fmt.Errorf("planning: request a forecast of %s: %w", m.ID, err)
		}
		out = append(out, ForecastRequest{RunID: id, Metric: m.ID, Through: last, Result: result(stream, res)})
	}
	return out, nil
}
