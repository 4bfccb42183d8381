package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/projections"
)

// workerGroup is the NATS consumer group the forecast workers share.
const workerGroup = "concord-forecast"

// workerFlags are the flags of `concord worker` beyond the store's and the
// bus's.
type workerFlags struct {
	listen, concurrency, inFlight, ackWait *string
}

func declareWorkerFlags(fs *flag.FlagSet, env *environment) *workerFlags {
	return &workerFlags{
		listen: envFlag(fs, env, "listen", "CONCORD_LISTEN", "127.0.0.1:8081", "address of /healthz, /readyz and /metrics"),
		concurrency: envFlag(fs, env, "concurrency", "CONCORD_WORKER_CONCURRENCY", "1",
			"forecast jobs this worker runs at once (forecasting is CPU-bound: about one per core)"),
		inFlight: envFlag(fs, env, "jobs-in-flight", "CONCORD_JOBS_IN_FLIGHT", "64",
			"jobs the whole group may hold unacknowledged (set by the first worker that creates the group)"),
		ackWait: envFlag(fs, env, "job-ack-wait", "CONCORD_JOB_ACK_WAIT", "10m",
			"how long a job may stay unacknowledged before NATS hands it to another worker (a crashed worker's jobs wait this long)"),
	}
}

// options validates the flags into the bus options of the worker group.
func (f *workerFlags) options() (projections.NATSOptions, error) {
	var errs []error
	conc, err := strconv.Atoi(*f.concurrency)
	if err != nil || conc < 1 || conc > 256 {
		errs = append(errs, fmt.Errorf("--concurrency %q: want a whole number from 1 to 256", *f.concurrency))
	}
	inFlight, err := strconv.Atoi(*f.inFlight)
	if err != nil || inFlight < 1 || inFlight > 100_000 {
		errs = append(errs, fmt.Errorf("--jobs-in-flight %q: want a whole number from 1 to 100000", *f.inFlight))
	}
	wait, err := time.ParseDuration(*f.ackWait)
	if err != nil || wait < time.Second {
		errs = append(errs, fmt.Errorf("--job-ack-wait %q: want a duration of at least 1s, e.g. 10m", *f.ackWait))
	}
	return projections.NATSOptions{Group: workerGroup, Subscribers: conc, MaxInFlight: inFlight, AckWait: wait}, errors.Join(errs...)
}

// workerCommand runs a forecast worker of distributed mode: it reads the
// store through its own view, takes forecast jobs from the
// bus's consumer group, and publishes each forecast to the store.
func workerCommand(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "worker", "Usage: concord worker --store esdb://… --bus nats://… [flags]\n\n"+
		"Makes the statistical forecasts that `concord serve` processes request, sharing the jobs with the\n"+
		"other workers of the NATS consumer group "+workerGroup+". Serves /healthz, /readyz (the read side\n"+
		"caught up) and /metrics.")
	st := storeFlags(fs, env)
	bf := declareBusFlags(fs, env, false)
	wf := declareWorkerFlags(fs, env)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	opts, err := wf.options()
	busOpts, optsErr := bf.options()
	opts.Replicas, opts.Connect = busOpts.Replicas, busOpts.Connect
	url, busErr := natsURL(*bf.bus)
	if busErr == nil && url == "" {
		busErr = fmt.Errorf("--bus %s: a worker takes its jobs from NATS JetStream (--bus nats://…); with the in-process bus, serve makes the forecasts itself", embeddedBus)
	}
	if err := errors.Join(err, optsErr, busErr); err != nil {
		return err
	}
	store, logger, err := st.open(ctx, env)
	if err != nil {
		return err
	}
	defer store.close()
	bus, err := openNATS(url, quiet(logger), opts)
	if err != nil {
		return err
	}
	defer bus.Close()
	a := &app{log: logger, store: store, bus: bus}
	if err := a.readSide(); err != nil {
		return err
	}
	w := &worker{app: a, jobs: newJobMetrics()}
	logger.Info("forecast worker starting", "listen", *wf.listen, "store", redact(st.store), "bus", redact(url),
		"concurrency", opts.Subscribers, "ack_wait", opts.AckWait)
	return w.run(ctx, *wf.listen)
}

// worker is one forecast worker process.
type worker struct {
	*app
	jobs *jobMetrics
}

// run serves health and metrics on listen, has the view read the log once,
// and then handles jobs until ctx ends.
func (w *worker) run(ctx context.Context, listen string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lis, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", listen, err)
	}
	w.log.Info("listening", "addr", lis.Addr().String())
	w.work.name = "forecast jobs" // before ready reads it
	srv := &http.Server{Handler: w.routes(), ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			errs[0] = err
			cancel()
		}
	}()
	if err := w.catchUp(ctx); err != nil {
		errs[1] = ignoreCanceled(err)
	} else {
		w.log.Info("read side ready; taking forecast jobs")
		errs[1] = ignoreCanceled(w.handleJobs(ctx))
	}
	cancel()
	shutdown, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	srv.Shutdown(shutdown)
	wg.Wait()
	return errors.Join(errs...)
}

// handleJobs takes forecast jobs from the group until ctx ends.
func (w *worker) handleJobs(ctx context.Context) error {
	router, err := projections.NewRouter(projections.RouterConfig{Logger: quiet(w.log), Registry: w.registry, Poison: w.poison})
	if err != nil {
		return err
	}
	handler := projections.HandlerFunc(func(ctx context.Context, rec eventstore.RecordedEvent, event any) error {
		begin := time.Now()
		err := w.reforec.work(ctx, rec, event)
		w.jobs.observe(err, time.Since(begin))
		return err
	})
	if err := router.AddConsumer(projections.Consumer{Name: "forecast-jobs", Source: w.bus.Subscriber, Topic: jobsTopic,
		Policy: projections.PoisonOnFailure, Handler: handler, Shared: true}); err != nil {
		return err
	}
	w.working.Store(router) // readiness: ready once subscribed to the group
	defer w.working.CompareAndSwap(router, nil)
	return router.Run(ctx)
}

// routes serves the worker's health, readiness and metrics.
func (w *worker) routes() http.Handler {
	mux := http.NewServeMux()
	status := func(rw http.ResponseWriter, code int, text string) {
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(code)
		fmt.Fprintf(rw, "{\"status\":%q}\n", text)
	}
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) { status(rw, http.StatusOK, "ok") })
	mux.HandleFunc("GET /readyz", func(rw http.ResponseWriter, r *http.Request) {
		if err := w.ready(r.Context()); err != nil {
			status(rw, http.StatusServiceUnavailable, err.Error())
			return
		}
		status(rw, http.StatusOK, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(w.jobs.registry, promhttp.HandlerOpts{}))
	return mux
}

// jobMetrics are the worker's Prometheus metrics.
type jobMetrics struct {
	registry *prometheus.Registry
	handled  *prometheus.CounterVec
	seconds  prometheus.Histogram
}

func newJobMetrics() *jobMetrics {
	m := &jobMetrics{
		registry: prometheus.NewRegistry(),
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "concord_forecast_jobs_total",
			Help: "Forecast jobs handled by this worker, by outcome (ok: published or found done; error: to be retried or parked)."}, []string{"outcome"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "concord_forecast_job_seconds",
			Help: "Time to handle one forecast job.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 14)}),
	}
	m.registry.MustRegister(m.handled, m.seconds, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *jobMetrics) observe(err error, took time.Duration) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.handled.WithLabelValues(outcome).Inc()
	m.seconds.Observe(took.Seconds())
}
