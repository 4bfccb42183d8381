package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/concord-planning/concord/api"
	"github.com/concord-planning/concord/api/natskv"
	apisqlite "github.com/concord-planning/concord/api/sqlite"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/audit"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/projections"
	"github.com/concord-planning/concord/projections/alerts"
	"github.com/concord-planning/concord/projections/outbound"
	"github.com/concord-planning/concord/projections/view"
)

// app is one running Concord: the store, the commands, the read side
// (the view), the reforecast process, and the HTTP server.
type app struct {
	log      *slog.Logger
	store    *openedStore
	registry *eventstore.Registry
	svc      *planning.Service
	reforec  *reforecaster
	poison   projections.PoisonStore
	server   *api.Server
	auditor  *audit.Auditor
	every    time.Duration    // how often the auditor signs a checkpoint; 0: never
	clock    func() time.Time // the command service's clock (appConfig.clock)
	view     *view.Service    // the one read side: the API, the dashboard and the reforecast read it
	viewUp   atomic.Bool      // whether the view has read the log once
	listen   string
	bus      *natsBus // nil: the embedded bus, forecasts made in process
	outbound string   // topic of the outbound relay on bus; "" for none
	alerts   *alertProcess
	snaps    *snapshotter // nil: no snapshots of the view
	// work keeps background (reforecast, dispatch, outbound relay) running;
	// working is the router of its current run, for readiness.
	work    supervisor
	working atomic.Pointer[projections.Router]
}

// appConfig is what serve and demo configure.
type appConfig struct {
	listen         string
	demo           bool
	jwtSecretFile  string
	jwtIssuer      string
	jwtAudience    string
	jwtMaxLifetime time.Duration
	corsOrigins    string
	trustedProxies string
	rateLimit      float64
	queryTimeout   time.Duration
	analysisBudget int64 // bytes of analyses the read side keeps (--analysis-cache-mb); 0: defaultAnalysisBudget
	// bus is the NATS bus of distributed mode, nil for the embedded one.
	bus *natsBus
	// outboundTopic is where domain events are published on bus ("": not).
	outboundTopic string
	// checkpointDir, checkpointKey and checkpointPublicKey configure the
	// auditor (audit.Options); checkpointEvery > 0 signs on that schedule.
	checkpointDir, checkpointKey, checkpointPublicKey string
	checkpointEvery                                   time.Duration
	// alertWebhook is where alerts are delivered (nil: nowhere).
	alertWebhook *alerts.WebhookConfig
	// snapshots configures the view's snapshots.
	snapshots snapshotConfig
	// clock tells the command service which periods have begun (nil: the
	// wall clock); the demo's history runs on its scripted clock.
	clock func() time.Time
}

// idempotencyMaxAge bounds how long the shared Idempotency-Key bucket keeps
// anything; entries expire sooner, after the API's IdempotencyTTL (24h).
const idempotencyMaxAge = 48 * time.Hour

// defaultAnalysisBudget returns the analysis cache's budget when none is
// given, for the process's soft memory limit (debug.SetMemoryLimit; MaxInt64
// when none is set): a quarter of the limit, at least 64 MB, so that a
// deployment sized for a large company keeps its large analyses; without a
// limit, view.DefaultAnalysisBudget.
func defaultAnalysisBudget(limit int64) int64 {
	if limit <= 0 || limit == math.MaxInt64 {
		return view.DefaultAnalysisBudget
	}
	return max(limit/4, 64<<20)
}

// newApp assembles an app over an opened store.
func newApp(ctx context.Context, cfg appConfig, st *openedStore, logger *slog.Logger) (*app, error) {
	a := &app{log: logger, store: st, listen: cfg.listen, bus: cfg.bus, outbound: cfg.outboundTopic, clock: cfg.clock}
	if err := a.readSide(); err != nil {
		return nil, err
	}
	budget := cfg.analysisBudget
	if budget == 0 {
		budget = defaultAnalysisBudget(debug.SetMemoryLimit(-1))
	}
	a.view.SetAnalysisBudget(budget)
	if store := snapshotStore(cfg.snapshots, st); store != nil {
		a.snaps = &snapshotter{view: a.view, store: store, cfg: cfg.snapshots, log: logger}
	}

	var err error
	if a.alerts, err = newAlertProcess(a, cfg.alertWebhook); err != nil {
		return nil, err
	}
	apiCfg := api.Config{Demo: cfg.demo, RateLimit: cfg.rateLimit, QueryTimeout: cfg.queryTimeout,
		AllowedOrigins: splitList(cfg.corsOrigins), TrustedProxies: splitList(cfg.trustedProxies)}
	if cfg.jwtSecretFile != "" {
		secret, err := os.ReadFile(cfg.jwtSecretFile)
		if err != nil {
			return nil, fmt.Errorf("--jwt-secret-file: %w", err)
		}
		apiCfg.JWT.HMACSecret = []byte(strings.TrimSpace(string(secret)))
		if len(apiCfg.JWT.HMACSecret) < 32 {
			return nil, fmt.Errorf("--jwt-secret-file %s: the secret must be at least 32 bytes", cfg.jwtSecretFile)
		}
	}
	apiCfg.JWT.Issuer, apiCfg.JWT.Audience, apiCfg.JWT.MaxLifetime = cfg.jwtIssuer, cfg.jwtAudience, cfg.jwtMaxLifetime
	if a.auditor, err = newAuditor(cfg, st, logger); err != nil {
		return nil, err
	}
	a.every = cfg.checkpointEvery
	deps := api.Deps{Store: st, Registry: a.registry, Service: a.svc, Logger: logger, Ready: a.ready, Query: a.view, Audit: a.auditor}
	switch {
	case st.sqlite != nil:
		idem, err := apisqlite.Open(ctx, st.sqlite.Path(), nil)
		if err != nil {
			return nil, err
		}
		deps.Idempotency = idem
	case cfg.bus != nil:
		// Replicas share the responses kept for Idempotency-Key retries.
		idem, err := natskv.Open(ctx, cfg.bus.JetStream, natskv.Options{MaxAge: idempotencyMaxAge, Replicas: cfg.bus.replicas})
		if err != nil {
			return nil, err
		}
		deps.Idempotency = idem
	}
	server, err := api.New(apiCfg, deps)
	if err != nil {
		return nil, err
	}
	a.server = server
	return a, nil
}

// newAuditor returns the auditor of the store: it reports the log's
// integrity, anchored to the newest checkpoint of --checkpoint-dir, and
// signs checkpoints with --checkpoint-key.
func newAuditor(cfg appConfig, st *openedStore, logger *slog.Logger) (*audit.Auditor, error) {
	opts := audit.Options{Dir: cfg.checkpointDir, Logger: logger}
	var err error
	if cfg.checkpointKey != "" {
		if opts.Key, err = readPrivateKey(cfg.checkpointKey); err != nil {
			return nil, fmt.Errorf("--checkpoint-key: %w", err)
		}
	}
	if cfg.checkpointPublicKey != "" {
		if opts.PublicKey, err = readPublicKey(cfg.checkpointPublicKey); err != nil {
			return nil, fmt.Errorf("--checkpoint-public-key: %w", err)
		}
	}
	return audit.NewAuditor(st.Store, opts), nil
}

// readSide assembles what serve and worker share: the registry, the
// command service, the view, the reforecast process (which reads the
// view) and the poison store of its worker.
func (a *app) readSide() error {
	a.registry = planning.NewRegistry()
	var opts []planning.Option
	if a.clock != nil {
		opts = append(opts, planning.WithClock(a.clock))
	}
	a.svc = planning.New(a.store, a.registry, opts...)
	a.view = view.NewService(a.store, a.registry)
	// The write side takes the plans it does not hold (at start, after an
	// eviction, a scenario's base) from the view rather than replay them.
	a.svc.PlansFrom(a.view.PlanAt)
	a.poison = projections.NewMemoryPoisonStore()
	if a.store.sqlite != nil {
		a.poison = projections.NewDurablePoisonStore(a.store.sqlite)
	}
	a.reforec = newReforecaster(a.svc, a.registry, a.store, a.view, a.log)
	return nil
}

// quiet is logger from warnings up: Watermill reports every subscriber
// start and stop at info level, which is noise for the delivery machinery.
func quiet(logger *slog.Logger) *slog.Logger {
	return slog.New(minLevel{logger.Handler(), slog.LevelWarn})
}

// background runs the process consumers of the log until ctx ends: the
// reforecast decider; the reforecast worker in process (embedded bus) or
// the dispatch of forecast requests to the workers (NATS); the alert
// process (and its webhook, when configured); and the outbound relay, when
// configured. The decider, dispatcher and alert process rebuild from the
// start of the log at every start (all are idempotent); the relay
// continues after the last message of its topic.
func (a *app) background(ctx context.Context) error {
	router, err := projections.NewRouter(projections.RouterConfig{Logger: quiet(a.log), Registry: a.registry, Poison: a.poison})
	if err != nil {
		return err
	}
	feed := projections.NewFeed(a.store, projections.FeedConfig{Checkpoints: projections.NewMemoryCheckpoints(), Logger: quiet(a.log),
		Yield: a.view.Quiet})
	defer feed.Close()
	var jobs message.Publisher
	if a.bus != nil {
		jobs = a.bus.Publisher
	}
	consumers := a.reforec.consumers(feed, jobs)
	if a.alerts != nil {
		consumers = append(consumers, a.alerts.consumers(feed)...)
		// The webhook delivers beside the router, and stops with it.
		hookCtx, stopHook := context.WithCancel(ctx)
		delivered := make(chan struct{})
		go func() { defer close(delivered); _ = a.alerts.run(hookCtx) }()
		defer func() { stopHook(); <-delivered }()
	}
	if a.bus != nil && a.outbound != "" {
		last := outbound.NewLastPublished(a.bus.JetStream, a.outbound)
		out := projections.NewFeed(a.store, projections.FeedConfig{Checkpoints: last, Logger: quiet(a.log)})
		defer out.Close()
		consumers = append(consumers, projections.Consumer{Name: "outbound", Source: out, Policy: projections.StopOnFailure,
			Handler: outbound.Handler(a.bus.Publisher, last)})
	}
	for _, c := range consumers {
		if err := router.AddConsumer(c); err != nil {
			return err
		}
	}
	a.working.Store(router)
	defer a.working.CompareAndSwap(router, nil)
	return router.Run(ctx)
}

// ready reports whether the view has read the log once (catchUp), whether
// the background work runs (its router subscribed) and none of its
// stop-on-failure consumers is stalled and, in distributed mode, whether
// the process is connected to NATS.
func (a *app) ready(context.Context) error {
	if !a.viewUp.Load() {
		return errors.New("the read side is catching up with the event log")
	}
	if err := a.work.err(); err != nil {
		return err
	}
	if a.bus != nil {
		if err := a.bus.Connected(); err != nil {
			return err
		}
	}
	// The view answers before the background work has subscribed (it
	// starts once the read side is ready): until its router runs, nothing
	// flows, and a subscription that fails (a stream without its quorum)
	// would otherwise show only after the process had answered ready.
	r := a.working.Load()
	if r == nil {
		return fmt.Errorf("%s: starting", a.work.name)
	}
	select {
	case <-r.Running():
	default:
		return fmt.Errorf("%s: subscribing to their topics", a.work.name)
	}
	return stalled(r.Health())
}

// start runs the reforecast process in the background until ctx ends,
// and waits until the view has read the log once. stop cancels it and
// waits for it to end.
func (a *app) start(ctx context.Context) (stop func() error, err error) {
	ctx, cancel := context.WithCancel(ctx)
	begin := time.Now()
	a.work.name, a.work.log = "reforecast and outbound relay", a.log // before ready reads them
	if a.snaps != nil {
		// Before the background work starts reading the log, so that the
		// restore has the cores to itself.
		a.snaps.restore(ctx)
	}
	var wg sync.WaitGroup
	var background error
	if a.every > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); a.auditor.Run(ctx, a.every) }()
	}
	ready := false // whether the view read the log once: then a snapshot is written at the end
	stop = func() error {
		cancel()
		a.view.Close() // analyses still running stop at their next step
		wg.Wait()
		if a.snaps != nil && ready {
			a.snaps.final()
		}
		return ignoreCanceled(background)
	}
	if err := a.catchUp(ctx); err != nil {
		return nil, errors.Join(err, stop())
	}
	ready = true
	a.log.Info("read models ready", "elapsed", time.Since(begin).Round(time.Millisecond))
	// The background work starts once the read side answers: it rebuilds
	// its consumers from the start of the log too, and beside the first
	// fold it took a third of the cores (the Large company: ready 77 s
	// instead of the fold's 49 s).
	wg.Add(1)
	go func() { defer wg.Done(); background = a.work.run(ctx, a.background) }()
	if a.snaps != nil {
		wg.Add(2)
		go func() { defer wg.Done(); a.snaps.run(ctx) }()
		go func() { defer wg.Done(); a.snaps.backfill(ctx) }()
	}
	return stop, nil
}

// catchUp has the view read the log once (on the first request, a large
// log outlived the query's deadline); ready reports true from then on.
func (a *app) catchUp(ctx context.Context) error {
	_, err := a.view.Live(ctx)
	a.viewUp.Store(err == nil)
	return err
}

func ignoreCanceled(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// serve runs the HTTP server and the background work until ctx ends.
func (a *app) serve(ctx context.Context) error {
	stop, err := a.start(ctx)
	if err != nil {
		return err
	}
	err = a.server.Start(ctx, a.listen)
	return errors.Join(ignoreCanceled(err), stop())
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// minLevel drops records below a level, whatever its handler's own level.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(attrs), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}
