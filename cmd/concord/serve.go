package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/concord-planning/concord/projections"
	"github.com/concord-planning/concord/projections/outbound"
	"github.com/concord-planning/concord/projections/view"
)

// outboundTopic is the default topic of the outbound relay.
const outboundTopic = outbound.Topic

// serveFlags are the flags of the HTTP server shared by serve and demo.
type serveFlags struct {
	cfg          appConfig
	rate         *string
	queryTimeout *string
	analysisMB   *string
	every        *string
	jwtLifetime  *string
	alertHook    *string
	alertSecret  *string
	snapshots    *snapshotFlags
}

// declareServeFlags declares the server's flags on fs.
func declareServeFlags(fs *flag.FlagSet, env *environment, defaultListen string) *serveFlags {
	f := &serveFlags{}
	envVar(fs, env, &f.cfg.listen, "listen", "CONCORD_LISTEN", defaultListen, "address to serve HTTP on")
	envVar(fs, env, &f.cfg.jwtSecretFile, "jwt-secret-file", "CONCORD_JWT_SECRET_FILE", "", "file holding the HS256 secret of accepted JWTs, ≥ 32 bytes")
	envVar(fs, env, &f.cfg.corsOrigins, "cors-origins", "CONCORD_CORS_ORIGINS", "", "comma-separated origins allowed cross-origin requests; none by default")
	envVar(fs, env, &f.cfg.trustedProxies, "trusted-proxies", "CONCORD_TRUSTED_PROXIES", "", "comma-separated CIDRs of proxies whose X-Forwarded-For is believed")
	envVar(fs, env, &f.cfg.jwtIssuer, "jwt-issuer", "CONCORD_JWT_ISSUER", "", "the iss a JWT must name; empty: any")
	envVar(fs, env, &f.cfg.jwtAudience, "jwt-audience", "CONCORD_JWT_AUDIENCE", "", "the aud a JWT must name; empty: any")
	f.jwtLifetime = envFlag(fs, env, "jwt-max-lifetime", "CONCORD_JWT_MAX_LIFETIME", "", "the longest a JWT may live (exp − iat, and exp − now), e.g. 1h; empty: no bound")
	f.rate = envFlag(fs, env, "rate-limit", "CONCORD_RATE_LIMIT", "50", "requests per second allowed per client IP on /api (0: unlimited)")
	f.queryTimeout = envFlag(fs, env, "query-timeout", "CONCORD_QUERY_TIMEOUT", "5s",
		"how long a query waits for its answer before answering 503 with Retry-After (the computation goes on for the retry)")
	f.analysisMB = envFlag(fs, env, "analysis-cache-mb", "CONCORD_ANALYSIS_CACHE_MB", "",
		"megabytes of reconciled analyses (plan × metric × span) the read side keeps, least recently used out first, those of as-of reads within a quarter of it; default: a quarter of the soft memory limit (GOMEMLIMIT) when one is set, else "+strconv.Itoa(view.DefaultAnalysisBudget>>20))
	envVar(fs, env, &f.cfg.checkpointDir, "checkpoint-dir", "CONCORD_CHECKPOINT_DIR", "",
		"directory of signed checkpoints: GET /api/v1/audit/verify anchors the log to the newest; --checkpoint-every adds to it")
	envVar(fs, env, &f.cfg.checkpointKey, "checkpoint-key", "CONCORD_CHECKPOINT_KEY", "",
		"Ed25519 private key (PEM) that signs checkpoints; keep it outside the event store")
	envVar(fs, env, &f.cfg.checkpointPublicKey, "checkpoint-public-key", "CONCORD_CHECKPOINT_PUBLIC_KEY", "",
		"Ed25519 public key (PEM) that checks the directory's checkpoints, for a server that does not sign (default: the private key's)")
	f.alertHook = envFlag(fs, env, "alert-webhook", "CONCORD_ALERT_WEBHOOK", "",
		"https:// URL that alerts are POSTed to, signed (Concord-Signature), retried with backoff, dead-lettered after 8 attempts; empty: none")
	f.alertSecret = envFlag(fs, env, "alert-webhook-secret-file", "CONCORD_ALERT_WEBHOOK_SECRET_FILE", "",
		"file holding the HMAC-SHA256 secret that signs alert deliveries, ≥ 32 bytes")
	f.every = envFlag(fs, env, "checkpoint-every", "CONCORD_CHECKPOINT_EVERY", "0",
		"sign a checkpoint of the log into --checkpoint-dir this often (e.g. 15m; 0: never)")
	f.snapshots = declareSnapshotFlags(fs, env)
	return f
}

// busFlags are the flags of the message bus, shared by serve and worker.
type busFlags struct {
	bus, outbound, replicas, ping *string
}

func declareBusFlags(fs *flag.FlagSet, env *environment, outbound bool) *busFlags {
	f := &busFlags{bus: envFlag(fs, env, "bus", "CONCORD_BUS", embeddedBus,
		"message bus: memory:// (in process) or nats://HOST:PORT,... (NATS JetStream: forecast jobs go to `concord worker` processes)"),
		replicas: envFlag(fs, env, "nats-replicas", "CONCORD_NATS_REPLICAS", "1",
			"with a NATS bus, how many servers of the JetStream cluster keep each stream and key-value bucket Concord creates (3 on a three-node cluster survives the loss of one node)"),
		ping: envFlag(fs, env, "nats-ping-interval", "CONCORD_NATS_PING_INTERVAL", "10s",
			"with a NATS bus, how often each connection pings its server: after two pings unanswered the connection counts as lost (/readyz reports it) and moves to another server"),
	}
	if outbound {
		f.outbound = envFlag(fs, env, "outbound-topic", "CONCORD_OUTBOUND_TOPIC", outboundTopic,
			"with a NATS bus, the topic domain events are published to for downstream systems (projections/outbound/SCHEMA.md); empty: none")
	}
	return f
}

// options validates the NATS flags into bus options: the replication of
// what Concord creates, and the connections' heartbeat.
func (f *busFlags) options() (projections.NATSOptions, error) {
	var errs []error
	replicas, err := strconv.Atoi(*f.replicas)
	if err != nil || replicas < 1 || replicas > 5 {
		errs = append(errs, fmt.Errorf("--nats-replicas %q: want a whole number from 1 to 5 (JetStream's limit)", *f.replicas))
	}
	ping, err := time.ParseDuration(*f.ping)
	if err != nil || ping < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("--nats-ping-interval %q: want a duration of at least 100ms, e.g. 10s", *f.ping))
	}
	return projections.NATSOptions{Replicas: replicas, Connect: []nats.Option{nats.PingInterval(ping), nats.MaxPingsOutstanding(2)}}, errors.Join(errs...)
}

// config validates what flag parsing cannot and returns the app's
// configuration.
func (f *serveFlags) config() (appConfig, error) {
	var errs []error
	cfg := f.cfg
	if r, err := strconv.ParseFloat(*f.rate, 64); err != nil || r < 0 {
		errs = append(errs, fmt.Errorf("--rate-limit %q: want a number of requests per second ≥ 0", *f.rate))
	} else {
		cfg.rateLimit = r
	}
	if d, err := time.ParseDuration(*f.queryTimeout); err != nil || d <= 0 {
		errs = append(errs, fmt.Errorf("--query-timeout %q: want a positive duration such as 5s", *f.queryTimeout))
	} else {
		cfg.queryTimeout = d
	}
	if *f.analysisMB != "" {
		if mb, err := strconv.ParseInt(*f.analysisMB, 10, 64); err != nil || mb < 1 || mb > 1<<20 {
			errs = append(errs, fmt.Errorf("--analysis-cache-mb %q: want a whole number of megabytes from 1 to 1048576", *f.analysisMB))
		} else {
			cfg.analysisBudget = mb << 20
		}
	}
	if d, err := time.ParseDuration(*f.every); *f.every != "0" && (err != nil || d <= 0) {
		errs = append(errs, fmt.Errorf("--checkpoint-every %q: want a duration such as 15m, or 0", *f.every))
	} else {
		cfg.checkpointEvery = d
	}
	if cfg.checkpointEvery > 0 && (cfg.checkpointKey == "" || cfg.checkpointDir == "") {
		errs = append(errs, errors.New("--checkpoint-every needs --checkpoint-key and --checkpoint-dir"))
	}
	if *f.jwtLifetime != "" {
		if d, err := time.ParseDuration(*f.jwtLifetime); err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("--jwt-max-lifetime %q: want a positive duration such as 1h or 15m", *f.jwtLifetime))
		} else {
			cfg.jwtMaxLifetime = d
		}
	}
	hook, err := alertWebhookConfig(*f.alertHook, *f.alertSecret)
	errs = append(errs, err)
	cfg.alertWebhook = hook
	cfg.snapshots, err = f.snapshots.config()
	errs = append(errs, err)
	return cfg, errors.Join(errs...)
}

// serveCommand serves the API and the dashboard over the configured store.
func serveCommand(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "serve", "Usage: concord serve [flags]\n\nServes the HTTP API, the dashboard, /healthz, /readyz and /metrics.")
	st := storeFlags(fs, env)
	sf := declareServeFlags(fs, env, "127.0.0.1:8080")
	bf := declareBusFlags(fs, env, true)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := sf.config()
	url, busErr := natsURL(*bf.bus)
	opts, optsErr := bf.options()
	if err := errors.Join(err, busErr, optsErr); err != nil {
		return err
	}
	store, logger, err := st.open(ctx, env)
	if err != nil {
		return err
	}
	defer store.close()
	if url != "" {
		if cfg.bus, err = openNATS(url, quiet(logger), opts); err != nil {
			return err
		}
		defer cfg.bus.Close()
		cfg.outboundTopic = *bf.outbound
	}
	a, err := newApp(ctx, cfg, store, logger)
	if err != nil {
		return err
	}
	logger.Info("serving", "listen", cfg.listen, "store", redact(st.store), "bus", redact(*bf.bus))
	return a.serve(ctx)
}
