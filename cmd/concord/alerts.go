package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/concord-planning/concord/domain/alert"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/projections"
	"github.com/concord-planning/concord/projections/alerts"
	"github.com/concord-planning/concord/projections/view"
)

// alertReader answers the alert process's figures from the query side: the
// one place that knows where they come from.
type alertReader struct{ q *view.Service }

var _ alerts.Reader = alertReader{}

// Figure reads the variance row of node over fiscal year year at the head
// of the log: node is the parent row of its first dimension.
func (r alertReader) Figure(ctx context.Context, planID, metric string, node dimension.Node, year int) (alerts.Figure, error) {
	q := view.VarianceQuery{Metric: metric, Year: strconv.Itoa(year), Node: node.String()}
	if cs := node.Coords(); len(cs) > 0 {
		q.Dimension, q.Parent = cs[0].Dimension, cs[0].Member
	}
	v, err := r.q.Variance(ctx, planID, q)
	if errors.Is(err, view.ErrNotFound) || errors.Is(err, view.ErrBadParameter) {
		return alerts.Figure{}, fmt.Errorf("%w: %w", alerts.ErrNoFigure, err)
	}
	if err != nil {
		return alerts.Figure{}, err
	}
	var f alerts.Figure
	if f.Position, err = eventstore.ParsePosition(v.AsOf.Position); err != nil {
		return alerts.Figure{}, fmt.Errorf("alerts: the variance answered at %q: %w", v.AsOf.Position, err)
	}
	if len(v.Rows) == 0 {
		return f, fmt.Errorf("%w: node %v", alerts.ErrNoFigure, node)
	}
	row := v.Rows[0]
	if row.Target != nil && row.Gap != nil && row.Probability != nil {
		t, err := strconv.ParseFloat(*row.Target, 64)
		if err != nil {
			return f, fmt.Errorf("alerts: target %q of %v: %w", *row.Target, node, err)
		}
		f.HasTarget, f.Target, f.Gap, f.Probability = true, t, float64(*row.Gap), float64(*row.Probability)
	}
	if row.Forecast != nil {
		f.Forecast = float64(row.Forecast.Mean)
	}
	if row.StdDev != nil {
		f.StdDev = float64(*row.StdDev)
	}
	if row.Commit != nil {
		c, err := strconv.ParseFloat(*row.Commit, 64)
		if err != nil {
			return f, fmt.Errorf("alerts: commit %q of %v: %w", *row.Commit, node, err)
		}
		f.HasCommit, f.Commit = true, c
	}
	sig, err := r.q.Signals(ctx, planID, metric, node.String(), year)
	if errors.Is(err, view.ErrNotFound) || errors.Is(err, view.ErrBadParameter) {
		return alerts.Figure{}, fmt.Errorf("%w: %w", alerts.ErrNoFigure, err)
	}
	if err != nil {
		return alerts.Figure{}, err
	}
	if f.Position.Before(sig.Position) {
		f.Position = sig.Position
	}
	if sig.Latest != nil && sig.Previous != nil {
		f.HasRuns, f.Latest, f.Previous = true, sig.Latest.Total, sig.Previous.Total
	}
	if c := sig.Closed; c != nil {
		f.HasClosed, f.ClosedActual, f.ClosedMean, f.ClosedLo95, f.ClosedHi95 = true, c.Actual, c.Mean, c.Lo95, c.Hi95
	}
	f.OpenSince = sig.OpenSince
	return f, nil
}

// alertWebhookConfig reads --alert-webhook and --alert-webhook-secret-file
// ("" URL: no webhook).
func alertWebhookConfig(rawURL, secretFile string) (*alerts.WebhookConfig, error) {
	if rawURL == "" {
		if secretFile != "" {
			return nil, errors.New("--alert-webhook-secret-file needs --alert-webhook")
		}
		return nil, nil
	}
	if u, err := url.Parse(rawURL); err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("--alert-webhook %q: want an absolute https:// URL", rawURL)
	}
	if secretFile == "" {
		return nil, errors.New("--alert-webhook needs --alert-webhook-secret-file: deliveries are signed")
	}
	secret, err := os.ReadFile(secretFile)
	if err != nil {
		return nil, fmt.Errorf("--alert-webhook-secret-file: %w", err)
	}
	cfg := &alerts.WebhookConfig{URL: rawURL, Secret: []byte(strings.TrimSpace(string(secret)))}
	if len(cfg.Secret) < alerts.MinSecretLen {
		return nil, fmt.Errorf("--alert-webhook-secret-file %s: the secret must be at least %d bytes", secretFile, alerts.MinSecretLen)
	}
	return cfg, nil
}

// alertProcess is the alert process of a serve: the manager that raises
// and resolves alerts, and the webhook that delivers them (nil: none).
type alertProcess struct {
	manager *alerts.Manager
	webhook *alerts.Webhook
	log     *slog.Logger
}

func newAlertProcess(a *app, hook *alerts.WebhookConfig) (*alertProcess, error) {
	books := eventstore.NewRepository(a.store, a.registry, alert.New)
	p := &alertProcess{manager: alerts.NewManager(books, alertReader{a.view}, time.Now), log: a.log}
	if hook != nil {
		cfg := *hook
		cfg.Logger = a.log
		var err error
		if p.webhook, err = alerts.NewWebhook(books, cfg); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// consumers returns the alert process's consumers of feed. Both rebuild
// from the start of the log at every start: the manager evaluates once,
// at the head, and observations are idempotent by position; the webhook
// learns which plans have alerts.
func (p *alertProcess) consumers(feed *projections.Feed) []projections.Consumer {
	out := []projections.Consumer{{Name: "alerts", Source: feed, Policy: projections.StopOnFailure, Handler: p.manager}}
	if p.webhook != nil {
		out = append(out, projections.Consumer{Name: "alerts-webhook", Source: feed, Policy: projections.StopOnFailure, Handler: p.webhook})
	}
	return out
}

// overdueEvery is how often the alert process looks for months whose
// close is overdue (the close_overdue rules).
const overdueEvery = time.Hour

// run delivers alerts, and evaluates the close_overdue rules every
// overdueEvery, until ctx ends.
func (p *alertProcess) run(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(overdueEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if err := p.manager.Tick(ctx); err != nil && ctx.Err() == nil {
					p.log.Warn("alert rules: close_overdue evaluation", "err", err)
				}
			}
		}
	}()
	defer func() { <-done }()
	if p.webhook == nil {
		<-ctx.Done()
		return nil
	}
	return p.webhook.Run(ctx)
}
