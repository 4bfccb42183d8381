package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/concord-planning/concord/api/query"
	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/audit"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/projections/view"
	"github.com/labstack/echo-contrib/echoprometheus"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/time/rate"
)

// Config is the server's configuration; zero fields take the defaults
// documented on each.
type Config struct {
	// Demo restricts Start to the loopback interface (127.0.0.1): a demo
	// holds no secrets worth exposing.
	Demo bool
	// BodyLimit bounds JSON bodies, in bytes. Default 1 MiB.
	BodyLimit int64
	// UploadLimit bounds CSV and JSON batch uploads (and forecast
	// publications), in bytes. Default: what MaxBatchRows rows need,
	// UploadBytesPerRow each, plus 64 KiB (10 MiB for 10,000 rows).
	// Uploads are read as streams and refused at row MaxBatchRows+1, so
	// an upload holds at most MaxBatchRows rows, and at most UploadLimit
	// bytes where the body is kept whole (JSON, Idempotency-Key).
	UploadLimit int64
	// MaxBatchRows bounds the rows of one batch (targets, actuals). Default
	// and maximum planning.MaxRows.
	MaxBatchRows int
	// RateLimit is the sustained requests per second allowed per client
	// IP on /api; 0 turns rate limiting off. RateBurst is the burst
	// (default: twice the rate, at least 1).
	RateLimit float64
	RateBurst int
	// TrustedProxies are the networks (CIDR) of proxies whose
	// X-Forwarded-For is believed. Without any, the client IP is the
	// connection's peer (echo.ExtractIPDirect) and forwarding headers are
	// ignored.
	TrustedProxies []string
	// AllowedOrigins lists the origins allowed cross-origin requests;
	// empty (the default) sends no CORS headers at all.
	AllowedOrigins []string
	// JWT configures bearer JWTs; the zero value accepts none.
	JWT JWTConfig
	// TokenRefresh bounds how stale the view of API tokens may be: a
	// token revoked through another replica stops working here within it.
	// Default 2s.
	TokenRefresh time.Duration
	// IdempotencyTTL is how long a response is kept for retries with the
	// same Idempotency-Key. Default 24h. IdempotencyLease is how long an
	// unfinished request holds its key. Default 1 minute.
	IdempotencyTTL   time.Duration
	IdempotencyLease time.Duration
	// Clock is the server's clock (JWT expiry, idempotency expiry).
	// Default time.Now.
	Clock func() time.Time
	// QueryTimeout bounds how long a query (the routes of package query)
	// waits for its answer; past it the answer is 503 with Retry-After
	// while the computation goes on for the next request. Default 5s.
	QueryTimeout time.Duration
	// ShutdownGrace is how long Start lets requests in flight finish
	// after its context ends before it cancels them. Default 10s.
	ShutdownGrace time.Duration
}

// UploadBytesPerRow is what the default UploadLimit allows a batch's row
// on average: a cell of several dimensions, a metric, a span and a reason
// of a few hundred characters, as CSV or JSON.
const UploadBytesPerRow = 1 << 10

func (c Config) withDefaults() Config {
	if c.BodyLimit <= 0 {
		c.BodyLimit = 1 << 20
	}
	if c.MaxBatchRows <= 0 || c.MaxBatchRows > planning.MaxRows {
		c.MaxBatchRows = planning.MaxRows
	}
	if c.UploadLimit <= 0 {
		c.UploadLimit = int64(c.MaxBatchRows)*UploadBytesPerRow + 64<<10
	}
	if c.RateBurst <= 0 {
		c.RateBurst = max(1, int(2*c.RateLimit))
	}
	if c.TokenRefresh <= 0 {
		c.TokenRefresh = 2 * time.Second
	}
	if c.IdempotencyTTL <= 0 {
		c.IdempotencyTTL = 24 * time.Hour
	}
	if c.IdempotencyLease <= 0 {
		c.IdempotencyLease = time.Minute
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.QueryTimeout <= 0 {
		c.QueryTimeout = 5 * time.Second
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = 10 * time.Second
	}
	return c
}

// Deps are what the server runs on.
type Deps struct {
	Store    eventstore.Store     // the source of truth
	Registry *eventstore.Registry // every domain event (planning.NewRegistry)
	Service  *planning.Service    // the commands
	// Idempotency keeps responses for retries; nil means an in-memory
	// store (NewMemoryIdempotency).
	Idempotency Idempotency
	// Ready reports whether the server can serve (the read side caught
	// up, store reachable); nil means always ready.
	Ready func(context.Context) error
	// Metrics receives the HTTP metrics and serves /metrics; nil means a
	// registry of the server's own (with Go and process collectors).
	Metrics *prometheus.Registry
	// Logger logs server errors; nil discards.
	Logger *slog.Logger
	// Query is the read side the API answers from (/api/v1/plans/{plan}/variance,
	// readiness of uploads, …); nil means view.NewService(Store, Registry).
	Query *view.Service
	// Audit reports the log's integrity (GET /api/v1/audit/verify); nil
	// means an audit.Auditor of Store without checkpoints.
	Audit Auditor
}

// Server is Concord's HTTP API. It is safe for concurrent use.
type Server struct {
	cfg          Config
	deps         Deps
	echo         *echo.Echo
	svc          *planning.Service
	view         *view.Service   // the one read side
	query        *query.Handlers // its answers over HTTP
	idem         Idempotency
	audit        Auditor
	tokens       *tokens
	log          *slog.Logger
	routes       []route
	authFailures *authFailures
}

// New returns a server over deps, with every route registered.
func New(cfg Config, deps Deps) (*Server, error) {
	cfg = cfg.withDefaults()
	if deps.Store == nil || deps.Registry == nil || deps.Service == nil {
		return nil, errors.New("api: Deps needs Store, Registry and Service")
	}
	var err error
	var extractor echo.IPExtractor
	s := &Server{cfg: cfg, deps: deps, svc: deps.Service, view: deps.Query, idem: deps.Idempotency, audit: deps.Audit, log: deps.Logger}
	if s.audit == nil {
		s.audit = audit.NewAuditor(deps.Store, audit.Options{Clock: cfg.Clock})
	}
	if s.view == nil {
		s.view = view.NewService(deps.Store, deps.Registry)
	}
	s.query = query.New(s.view)
	if s.idem == nil {
		s.idem = NewMemoryIdempotency(0, cfg.Clock)
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if deps.Metrics == nil {
		deps.Metrics = prometheus.NewRegistry()
		deps.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		s.deps.Metrics = deps.Metrics
	}
	if s.authFailures, err = newAuthFailures(deps.Metrics); err != nil {
		return nil, fmt.Errorf("api: metrics: %w", err)
	}
	s.tokens = &tokens{store: deps.Store, registry: deps.Registry, refresh: cfg.TokenRefresh, now: cfg.Clock, set: access.New()}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	extractor, err = ipExtractor(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	e.IPExtractor = extractor
	e.Use(requestIDs, s.accessLog)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableErrorHandler: false, LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		s.log.Error("panic", "error", err, "stack", string(stack))
		return err
	}}))
	mw, err := echoprometheus.MiddlewareConfig{Subsystem: "concord_http", Registerer: deps.Metrics, DoNotUseRequestPathFor404: true,
		StatusCodeResolver: func(c echo.Context, err error) int {
			if err == nil || c.Response().Committed {
				return c.Response().Status
			}
			p, _ := problemOf(err) // the status the error handler will answer
			return p.Status
		}}.ToMiddleware()
	if err != nil {
		return nil, fmt.Errorf("api: metrics: %w", err)
	}
	e.Use(mw)
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Cache-Control", "no-store")
			return next(c)
		}
	})
	if len(cfg.AllowedOrigins) > 0 {
		e.Use(middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins:  cfg.AllowedOrigins,
			AllowMethods:  []string{http.MethodGet, http.MethodPost},
			AllowHeaders:  []string{echo.HeaderAuthorization, echo.HeaderContentType, "If-Match", HeaderIdempotencyKey},
			ExposeHeaders: []string{"ETag", echo.HeaderLocation, echo.HeaderXRequestID, HeaderClientRequestID, HeaderPosition, "Idempotent-Replayed"},
			MaxAge:        600,
		}))
	}
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echoprometheus.NewHandlerWithConfig(echoprometheus.HandlerConfig{Gatherer: deps.Metrics}))
	e.GET("/openapi.json", s.openapi)
	e.GET("/", s.dashboard)
	e.GET("/:asset", s.dashboard)

	v1 := e.Group("/api/v1")
	if cfg.RateLimit > 0 {
		v1.Use(middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
			Store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
				Rate: rate.Limit(cfg.RateLimit), Burst: cfg.RateBurst, ExpiresIn: 3 * time.Minute}),
			IdentifierExtractor: func(c echo.Context) (string, error) { return c.RealIP(), nil },
			DenyHandler: func(c echo.Context, id string, err error) error {
				return &requestError{status: http.StatusTooManyRequests, slug: "rate-limited", title: "Too many requests",
					detail: "this client sent too many requests; slow down", header: http.Header{"Retry-After": {"1"}}}
			},
		}))
	}
	v1.Use(s.authenticate)
	s.routes = s.routeTable()
	for _, r := range s.routes {
		params, err := queryParams(r.method, r.path)
		if err != nil {
			return nil, err
		}
		mws := []echo.MiddlewareFunc{allow(r.roles...), strictQuery(params)}
		if r.secret {
			mws = append(mws, noIdempotencyKey)
		} else if r.method == http.MethodPost && !r.read {
			limit := cfg.BodyLimit
			if r.upload {
				limit = cfg.UploadLimit
			}
			mws = append(mws, s.idempotent(limit))
		}
		v1.Add(r.method, r.path, r.handler, mws...)
	}
	s.echo = e
	return s, nil
}

// ipExtractor returns how the client IP is found: the peer address, or
// X-Forwarded-For from trusted proxies only.
func ipExtractor(proxies []string) (echo.IPExtractor, error) {
	if len(proxies) == 0 {
		return echo.ExtractIPDirect(), nil
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range proxies {
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			return nil, fmt.Errorf("api: trusted proxy %q is not a CIDR network: %w", p, err)
		}
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...), nil
}

// Handler returns the server as an http.Handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Start listens on addr and serves until ctx ends, then shuts down
// gracefully (10 s). With Config.Demo, addr's host must be empty or a
// loopback address; empty becomes 127.0.0.1.
func (s *Server) Start(ctx context.Context, addr string) error {
	if s.cfg.Demo {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("api: address %q: %w", addr, err)
		}
		if host == "" {
			host = "127.0.0.1"
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("api: demo mode listens on the loopback interface only, not %q", host)
		}
		addr = net.JoinHostPort(host, port)
	}
	// Requests run under base, which is cancelled when the shutdown grace
	// is over: what has not finished by then is cancelled, not waited for.
	base, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	srv := &http.Server{Addr: addr, Handler: s.echo, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return base }}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("api: listen on %s: %w", addr, err)
	}
	s.log.Info("listening", "addr", lis.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownGrace)
		defer cancel()
		if err := srv.Shutdown(shut); err != nil {
			// The grace is over: cancel what is still running and close
			// its connections.
			s.log.Warn("shutdown grace over; cancelling the requests still in flight", "grace", s.cfg.ShutdownGrace)
			cancelRequests()
			_ = srv.Close()
		}
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(c echo.Context) error {
	if s.deps.Ready != nil {
		if err := s.deps.Ready(c.Request().Context()); err != nil {
			return &requestError{status: http.StatusServiceUnavailable, slug: "not-ready", title: "Not ready", detail: err.Error()}
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// encodeJSON writes v as JSON without escaping HTML.
func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
